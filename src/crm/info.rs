//! What the site needs to know about each CRM, in one table: its names, the meta keys the
//! incumbent plugin used, the credentials it takes, where its API lives, how its tags are kept
//! and how fast it may be called. The plugin reads this table through `crmhook_crms()` instead of
//! keeping a copy, so a fact about a CRM is written once, here.
//!
//! Text a site owner reads (labels) is marked with [`l10n`]: `scripts/make-pot.sh` collects it
//! into the plugin's translation template, and the plugin translates it with its text domain.

use super::Crm;

/// Marks text that the plugin shows to the site owner, so it lands in the translation template.
/// Returns its argument unchanged: the plugin translates, not the extension.
pub const fn l10n(text: &'static str) -> &'static str {
    text
}

/// One setting a CRM needs in the `$crm` array.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Credential {
    /// The `$crm` key (and the plugin's setting of the same name).
    pub key: &'static str,
    /// What the settings screen calls it.
    pub label: &'static str,
    /// A secret: never printed back into a page, never in a message.
    pub secret: bool,
    /// The CRM cannot be called without it (an API URL with a public default is optional).
    pub required: bool,
}

/// How the plugin stores a contact's tags in `{meta}_tags`, as the incumbent plugin did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TagsAs {
    /// Tag ids (the CRM's API and webhooks speak ids).
    Ids,
    /// Tag names (ActiveCampaign's webhooks carry names only).
    Names,
}

impl TagsAs {
    /// `ids` or `names`.
    pub fn slug(self) -> &'static str {
        match self {
            TagsAs::Ids => "ids",
            TagsAs::Names => "names",
        }
    }
}

/// Everything about one CRM that is not its wire format or its API calls.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CrmInfo {
    /// The CRM.
    pub crm: Crm,
    /// The slug used in settings and in the webhook result.
    pub slug: &'static str,
    /// Its short name, as messages name it ("Keap: loading contact 7 failed: …").
    pub name: &'static str,
    /// The name the settings screen lists it under.
    pub label: &'static str,
    /// The slug in the `{meta}_contact_id` / `{meta}_tags` meta keys, as the incumbent plugin
    /// names them, so sites moving over keep their links.
    pub meta_slug: &'static str,
    /// The CRM's public API host, for those that have one; the others are per account or site.
    pub default_api_url: Option<&'static str>,
    /// What an API URL of this CRM looks like (the settings field's placeholder).
    pub api_url_example: &'static str,
    /// The `$crm` keys this CRM reads, `api_url` first.
    pub credentials: &'static [Credential],
    /// How its tags are stored.
    pub tags_as: TagsAs,
    /// The site registers the CRM's automation rules itself (ConvertKit, Kit): nothing to paste.
    pub automation_rules: bool,
    /// For CRMs configured with name/value pairs instead of a URL: the pair that carries the
    /// contact id, as the CRM's own merge field writes it.
    pub contact_id_pair: Option<&'static str>,
    /// The documented API rate limit, in calls per second (a polite 10/s where none is published).
    pub rate_limit: f64,
    /// Runs inside another WordPress site and answers through its REST API (application
    /// passwords, `/wp-json/`, permalinks).
    pub wordpress: bool,
    /// Where this CRM puts the contact id, for the "no contact id" message.
    pub contact_id_hint: &'static str,
}

const API_URL: Credential = Credential { key: "api_url", label: l10n("API URL"), secret: false, required: true };
const PUBLIC_API_URL: Credential = Credential { required: false, ..API_URL };
const API_KEY: Credential = Credential { key: "api_key", label: l10n("API key"), secret: true, required: true };
const USERNAME: Credential = Credential { key: "username", label: l10n("Username"), secret: false, required: true };
const APP_PASSWORD: Credential = Credential { key: "password", label: l10n("Application password"), secret: true, required: true };

/// Every CRM, in [`Crm::ALL`] order (the order the settings screen lists them).
pub static CRMS: [CrmInfo; 6] = [
    CrmInfo {
        crm: Crm::ActiveCampaign,
        slug: "activecampaign",
        name: "ActiveCampaign",
        label: "ActiveCampaign",
        meta_slug: "activecampaign",
        default_api_url: None,
        api_url_example: "https://ACCOUNT.api-us1.com",
        credentials: &[API_URL, API_KEY],
        tags_as: TagsAs::Names,
        automation_rules: false,
        contact_id_pair: None,
        rate_limit: 5.0,
        wordpress: false,
        contact_id_hint: "ActiveCampaign sends it as contact[id] — is this URL on an automation's webhook step?",
    },
    CrmInfo {
        crm: Crm::ConvertKit,
        slug: "convertkit",
        name: "ConvertKit",
        label: "ConvertKit",
        meta_slug: "convertkit",
        default_api_url: Some("https://api.convertkit.com"),
        api_url_example: "https://api.convertkit.com",
        credentials: &[PUBLIC_API_URL, Credential { key: "api_secret", label: l10n("API secret"), secret: true, required: true }],
        tags_as: TagsAs::Ids,
        automation_rules: true,
        contact_id_pair: None,
        // 120 requests a minute.
        rate_limit: 2.0,
        wordpress: false,
        contact_id_hint: "ConvertKit sends it as subscriber.id — is this URL on an automation rule's webhook?",
    },
    CrmInfo {
        crm: Crm::Kit,
        slug: "kit",
        name: "Kit",
        label: "Kit",
        meta_slug: "kit",
        default_api_url: Some("https://api.kit.com"),
        api_url_example: "https://api.kit.com",
        credentials: &[PUBLIC_API_URL, API_KEY],
        tags_as: TagsAs::Ids,
        automation_rules: true,
        contact_id_pair: None,
        rate_limit: 2.0,
        wordpress: false,
        contact_id_hint: "Kit sends it as subscriber.id (or subscriber_id) — is this URL on a webhook Kit registered?",
    },
    CrmInfo {
        crm: Crm::FluentCrm,
        slug: "fluentcrm",
        name: "FluentCRM",
        label: "FluentCRM",
        meta_slug: "fluentcrm-rest",
        default_api_url: None,
        api_url_example: "https://crm.example.com",
        credentials: &[API_URL, USERNAME, APP_PASSWORD],
        tags_as: TagsAs::Ids,
        automation_rules: false,
        contact_id_pair: None,
        rate_limit: 10.0,
        wordpress: true,
        contact_id_hint: "FluentCRM sends it as id — set the outgoing webhook's body to Full Subscriber Data, as JSON",
    },
    CrmInfo {
        crm: Crm::FunnelKit,
        slug: "funnelkit",
        name: "FunnelKit",
        label: "FunnelKit",
        meta_slug: "autonami",
        default_api_url: None,
        api_url_example: "https://crm.example.com",
        credentials: &[API_URL, USERNAME, APP_PASSWORD],
        tags_as: TagsAs::Ids,
        automation_rules: false,
        contact_id_pair: Some("contact_id = {{contact_id}}"),
        rate_limit: 10.0,
        wordpress: true,
        contact_id_hint: "add contact_id = {{contact_id}} to the HTTP request's data",
    },
    CrmInfo {
        crm: Crm::Keap,
        slug: "keap",
        name: "Keap",
        label: "Infusionsoft / Keap",
        meta_slug: "infusionsoft",
        default_api_url: Some("https://api.infusionsoft.com/crm/rest"),
        api_url_example: "https://api.infusionsoft.com/crm/rest",
        credentials: &[PUBLIC_API_URL, Credential { key: "api_key", label: l10n("Service account key"), secret: true, required: true }],
        tags_as: TagsAs::Ids,
        automation_rules: false,
        contact_id_pair: Some("contactId = ~Contact.Id~"),
        // Keap answers 429/503 without a published figure.
        rate_limit: 10.0,
        wordpress: false,
        contact_id_hint: "add contactId = ~Contact.Id~ to the HTTP Post's name/value pairs",
    },
];

impl Crm {
    /// This CRM's row of [`CRMS`].
    pub fn info(self) -> &'static CrmInfo {
        // `CRMS` is in declaration order (a test holds it so), and the enum has no explicit
        // discriminants, so the discriminant is the index.
        &CRMS[self as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_in_enum_order_and_complete() {
        assert_eq!(CRMS.len(), Crm::ALL.len());
        for (row, crm) in CRMS.iter().zip(Crm::ALL) {
            assert_eq!(row.crm, crm);
            assert_eq!(crm.info().slug, row.slug);
        }
    }

    #[test]
    fn every_crm_takes_an_api_url_first_and_one_secret() {
        for row in &CRMS {
            assert_eq!(row.credentials[0].key, "api_url", "{}", row.slug);
            assert_eq!(row.credentials[0].required, row.default_api_url.is_none(), "{}", row.slug);
            assert!(row.credentials.iter().any(|c| c.secret), "{} has a secret", row.slug);
            assert!(row.rate_limit > 0.0);
        }
    }

    #[test]
    fn credential_keys_are_ones_the_crm_array_knows() {
        for row in &CRMS {
            for c in row.credentials {
                assert!(["api_url", "api_key", "api_secret", "username", "password"].contains(&c.key), "{}: {}", row.slug, c.key);
            }
        }
    }
}
