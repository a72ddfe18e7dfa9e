//! The five CRMs. Each file holds one CRM's webhook payload format and its API client, side by
//! side, so everything about a CRM's wire format is in one place; [`info`] holds the table of
//! what the site needs to know about each (names, meta keys, credentials, rate limits).
//!
//! A webhook body is read once: as a [`Form`] or as a [`JsonBody`], the union of the JSON
//! shapes the CRMs send, typed so that serde skips everything we do not name. Each CRM
//! then picks what its format means into a [`Payload`].

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use crate::contact::Contact;
use crate::error::{OptionError, WebhookError};
use crate::form::Form;
use crate::text::{trim, Text};
pub use api::check_api_url;
use api::{path_id, Api, CrmConfig, CrmError};

pub mod activecampaign;
pub mod api;
pub mod convertkit;
pub mod fluentcrm;
pub mod funnelkit;
pub mod info;
pub mod keap;

/// A CRM crmhook talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Crm {
    /// ActiveCampaign (API v3).
    ActiveCampaign,
    /// ConvertKit (API v3).
    ConvertKit,
    /// Kit, ConvertKit's new name (API v4).
    Kit,
    /// FluentCRM on another WordPress site, over REST.
    FluentCrm,
    /// FunnelKit Automations (formerly Autonami) on another WordPress site.
    FunnelKit,
    /// Infusionsoft / Keap.
    Keap,
}

impl Crm {
    /// Every CRM, in the order the settings screen lists them.
    pub const ALL: [Crm; 6] = [Crm::ActiveCampaign, Crm::ConvertKit, Crm::Kit, Crm::FluentCrm, Crm::FunnelKit, Crm::Keap];

    /// Reads the slug used in settings (`activecampaign`, `convertkit`, `kit`, `fluentcrm`,
    /// `funnelkit`, `keap`).
    pub fn from_slug(slug: &str) -> Result<Crm, OptionError> {
        let wanted = trim(slug);
        // The slug as the settings store it, matched whole; other spellings by the table.
        let exact = match wanted {
            "activecampaign" => Some(Crm::ActiveCampaign),
            "convertkit" => Some(Crm::ConvertKit),
            "kit" => Some(Crm::Kit),
            "fluentcrm" => Some(Crm::FluentCrm),
            "funnelkit" => Some(Crm::FunnelKit),
            "keap" => Some(Crm::Keap),
            _ => None,
        };
        if let Some(crm) = exact {
            return Ok(crm);
        }
        Crm::ALL.into_iter().find(|c| c.slug().eq_ignore_ascii_case(wanted)).ok_or_else(|| {
            let known: Vec<&str> = Crm::ALL.iter().map(|c| c.slug()).collect();
            let (last, rest) = known.split_last().unwrap_or((&"", &[]));
            OptionError(format!("unknown crm \"{}\": use {} or {last}", crate::text::echo(slug), rest.join(", ")))
        })
    }

    /// The slug used in settings and in the webhook result.
    pub fn slug(self) -> &'static str {
        self.info().slug
    }

    /// True for the CRMs that run inside another WordPress site and answer through its REST API
    /// (application passwords, `/wp-json/`, permalinks).
    pub fn is_wordpress(self) -> bool {
        self.info().wordpress
    }

    /// The name a site owner knows it by, as messages use it.
    pub fn name(self) -> &'static str {
        self.info().name
    }

    /// The slug in the `{crm}_contact_id` / `{crm}_tags` meta keys, as the incumbent plugin
    /// names them, so sites moving over keep their links.
    pub fn meta_slug(self) -> &'static str {
        self.info().meta_slug
    }

    /// Where this CRM puts the contact id, for the "no contact id" message.
    pub fn contact_id_hint(self) -> &'static str {
        self.info().contact_id_hint
    }

    /// The CRM's public API host, for those that have one; the others are per account or site.
    pub fn default_api_url(self) -> Option<&'static str> {
        self.info().default_api_url
    }

    /// Reads this CRM's contact out of a form body; its tags are slices of the form's values.
    pub(crate) fn payload_from_form<'f>(self, form: &'f Form<'_>) -> Result<Payload<Cow<'f, str>>, WebhookError> {
        match self {
            Crm::ActiveCampaign => activecampaign::payload_lent_from_form(form),
            Crm::Keap => keap::payload_from_form(form).map(Payload::lent),
            // FunnelKit's data is only the URL contract, which the webhook reads for every CRM;
            // ConvertKit, Kit and FluentCRM only send JSON.
            Crm::FunnelKit | Crm::ConvertKit | Crm::Kit | Crm::FluentCrm => Ok(Payload::default()),
        }
    }

    /// Reads this CRM's contact out of a JSON body. Without `with_fields`, a payload's custom
    /// fields are checked but not copied (FluentCRM can send hundreds).
    pub(crate) fn payload_from_json(self, body: JsonBody<'_>, with_fields: bool) -> Result<Payload, WebhookError> {
        match self {
            Crm::ConvertKit | Crm::Kit => convertkit::payload_from_json(body),
            Crm::FluentCrm => fluentcrm::payload_from_json_with(body, with_fields),
            Crm::ActiveCampaign | Crm::FunnelKit | Crm::Keap => Ok(Payload::default()),
        }
    }
}

impl fmt::Display for Crm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What a CRM's own payload said about the contact (beyond the URL contract). The tags are
/// `T`: owned `String`s, or `Cow`s that borrow from the decoded request while the webhook is
/// answered (1,000 ActiveCampaign tags are then never copied out of the form).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Payload<T = String> {
    /// The contact id where the CRM's format carries it.
    pub contact_id: Option<String>,
    /// The contact's email.
    pub email: Option<String>,
    /// Tags, when the payload carries them (`None` means "not in the payload", not "no tags").
    pub tags: Option<Vec<T>>,
    /// Contact fields present in the payload: `first_name`, `last_name`, `phone`, and custom
    /// fields by the CRM's field id or key.
    pub fields: Vec<(String, String)>,
    /// Where the change came from, when the CRM says (ActiveCampaign's `initiated_from`).
    pub initiated_from: Option<String>,
}

impl<T> Payload<T> {
    pub(crate) fn field(&mut self, key: &str, value: &str) {
        self.fields.push((key.to_owned(), value.to_owned()));
    }
}

impl Payload {
    /// The same payload, its owned tags as `Cow`s (moved, not copied).
    pub(crate) fn lent<'a>(self) -> Payload<Cow<'a, str>> {
        Payload {
            contact_id: self.contact_id,
            email: self.email,
            tags: self.tags.map(|tags| tags.into_iter().map(Cow::Owned).collect()),
            fields: self.fields,
            initiated_from: self.initiated_from,
        }
    }
}

#[cfg(test)]
impl Payload<Cow<'_, str>> {
    /// The same payload with its tags copied out.
    pub(crate) fn into_owned(self) -> Payload {
        Payload {
            contact_id: self.contact_id,
            email: self.email,
            tags: self.tags.map(|tags| tags.into_iter().map(Cow::into_owned).collect()),
            fields: self.fields,
            initiated_from: self.initiated_from,
        }
    }
}

/// Every JSON shape a CRM sends, in one typed pass: the URL contract's parameters (FunnelKit
/// and generic senders put them in the body) plus the ConvertKit/Kit and FluentCRM contact
/// keys. Keys not named here are skipped without being built.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct JsonBody<'a> {
    #[serde(borrow)]
    pub access_key: Option<Text<'a>>,
    #[serde(borrow)]
    pub wpf_action: Option<Text<'a>>,
    #[serde(borrow)]
    pub contact_id: Option<Text<'a>>,
    #[serde(borrow, rename = "contactId")]
    pub contact_id_camel: Option<Text<'a>>,
    #[serde(borrow)]
    pub email: Option<Text<'a>>,
    #[serde(borrow)]
    pub role: Option<Text<'a>>,
    #[serde(borrow)]
    pub send_notification: Option<Text<'a>>,
    #[serde(borrow, rename = "async")]
    pub run_async: Option<Text<'a>>,
    /// FluentCRM's subscriber id, Kit v4's top-level id.
    #[serde(borrow)]
    pub id: Option<Text<'a>>,
    /// ConvertKit v3 / Kit v4.
    #[serde(borrow)]
    pub subscriber: Option<convertkit::Subscriber<'a>>,
    /// Kit v4.
    #[serde(borrow)]
    pub subscriber_id: Option<Text<'a>>,
    /// FluentCRM.
    #[serde(borrow)]
    pub first_name: Option<Text<'a>>,
    /// FluentCRM.
    #[serde(borrow)]
    pub last_name: Option<Text<'a>>,
    /// FluentCRM: `[{"id": 3, "title": "VIP", "slug": "vip"}]`.
    #[serde(borrow)]
    pub tags: Option<Vec<TagRef<'a>>>,
    /// FluentCRM (older notes): `{"slug": "value"}` (or `[]` when empty: PHP encodes an empty
    /// array so).
    #[serde(borrow)]
    pub custom_values: Option<FieldValues<'a>>,
    /// FluentCRM Pro's Outgoing Webhook ("Full Subscriber Data"): the same object, named so.
    #[serde(borrow)]
    pub custom_field: Option<FieldValues<'a>>,
    /// FluentCRM: the subscriber's phone column.
    #[serde(borrow)]
    pub phone: Option<Text<'a>>,
}

/// A tag in a JSON payload: an object with an `id` (FluentCRM), or a bare id or name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TagRef<'a>(pub Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for TagRef<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct TagVisitor<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for TagVisitor<'a> {
            type Value = TagRef<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a tag (an object with an id, or a tag id or name)")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut id = None;
                // Keys as `Text`, borrowed from the body: serde's `Cow<str>` always copies.
                while let Some(Text(key)) = map.next_key::<Text<'a>>()? {
                    if key == "id" {
                        let t: Text<'a> = map.next_value()?;
                        id = Some(t.0);
                    } else {
                        map.next_value::<de::IgnoredAny>()?;
                    }
                }
                id.map(TagRef).ok_or_else(|| de::Error::missing_field("id"))
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(TagRef(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(TagRef(Cow::Owned(v.to_owned())))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
                Ok(TagRef(Cow::Owned(v.to_string())))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
                Ok(TagRef(Cow::Owned(v.to_string())))
            }
        }
        d.deserialize_any(TagVisitor(PhantomData))
    }
}

/// A JSON object of field key → value. Values may be text, numbers, booleans, null (skipped)
/// or a list of those (a multi-select, joined with ", "). An empty JSON array is an empty map,
/// because PHP encodes an empty associative array as `[]`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct FieldValues<'a>(pub Vec<(Cow<'a, str>, Cow<'a, str>)>);

impl<'de: 'a, 'a> Deserialize<'de> for FieldValues<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct FieldsVisitor<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for FieldsVisitor<'a> {
            type Value = FieldValues<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object of field values")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::with_capacity(map.size_hint().unwrap_or(8));
                // Keys as `Text`, borrowed from the body: serde's `Cow<str>` always copies, and a
                // subscriber can carry hundreds of custom values.
                while let Some(Text(key)) = map.next_key::<Text<'a>>()? {
                    if let Some(FieldValue(v)) = map.next_value::<Option<FieldValue<'a>>>()? {
                        out.push((key, v));
                    }
                }
                Ok(FieldValues(out))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                match seq.next_element::<de::IgnoredAny>()? {
                    None => Ok(FieldValues::default()),
                    Some(_) => Err(de::Error::custom("expected an object of field values, found a list")),
                }
            }
        }
        d.deserialize_any(FieldsVisitor(PhantomData))
    }
}

struct FieldValue<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for FieldValue<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct ValueVisitor<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for ValueVisitor<'a> {
            type Value = FieldValue<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a field value (text, a number or a list of them)")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(FieldValue(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(FieldValue(Cow::Owned(v.to_owned())))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
                Ok(FieldValue(Cow::Owned(v.to_string())))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
                Ok(FieldValue(Cow::Owned(v.to_string())))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
                crate::text::float_text(v).map(FieldValue)
            }
            fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
                Ok(FieldValue(Cow::Borrowed(if v { "1" } else { "0" })))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut joined = String::new();
                while let Some(Text(item)) = seq.next_element::<Text<'a>>()? {
                    if !joined.is_empty() {
                        joined.push_str(", ");
                    }
                    joined.push_str(&item);
                }
                Ok(FieldValue(Cow::Owned(joined)))
            }
        }
        d.deserialize_any(ValueVisitor(PhantomData))
    }
}

/// Splits a list of tag names or ids: trims each, drops empties and repeats, keeps order.
pub(crate) fn clean_tags<'s>(tags: impl IntoIterator<Item = &'s str>) -> Vec<String> {
    clean_tags_into(tags, str::to_owned)
}

/// [`clean_tags`], each kept tag made by `keep` from the trimmed text (a slice of the input):
/// the plan borrows them, where a webhook copies them.
pub(crate) fn clean_tags_into<'s, T>(tags: impl IntoIterator<Item = &'s str>, keep: impl Fn(&'s str) -> T) -> Vec<T> {
    // A plain loop into a Vec sized once (a list of lent PHP strings knows its length): the
    // `map(trim).filter(…).collect()` it replaces grew from nothing, and whether the trim was
    // inlined into it changed from build to build (callgrind: 50 to 85 instructions a tag).
    let tags = tags.into_iter();
    let mut trimmed = Vec::with_capacity(tags.size_hint().0);
    for tag in tags {
        let tag = trim(tag);
        if !tag.is_empty() {
            trimmed.push(tag);
        }
    }
    distinct_into(trimmed, keep)
}

/// Trimmed, non-empty tags without their repeats, in order, each made by `keep`.
fn distinct_into<'s, T>(tags: Vec<&'s str>, keep: impl Fn(&'s str) -> T) -> Vec<T> {
    // A handful (the usual webhook) is cheaper to compare pairwise than to hash.
    const PAIRWISE_UP_TO: usize = 16;
    let mut out: Vec<T> = Vec::with_capacity(tags.len());
    if tags.len() <= PAIRWISE_UP_TO {
        for (i, tag) in tags.iter().enumerate() {
            if !tags[..i].contains(tag) {
                out.push(keep(tag));
            }
        }
        return out;
    }
    // foldhash, seeded at random per process like std's SipHash (the tags come from outside, so
    // an unkeyed hash could be flooded with colliding names), at a fraction of its cost: with
    // 1,000 tags std's hashing was ~20 % of a whole parse call.
    let mut seen = std::collections::HashSet::with_capacity_and_hasher(tags.len(), foldhash::fast::RandomState::default());
    for tag in tags {
        if seen.insert(TagKey(tag)) {
            out.push(keep(tag));
        }
    }
    out
}

/// A tag as a set key, hashed as its bytes alone: `str`'s own `Hash` adds a terminator byte
/// (a second round of the hasher) so that strings written one after another stay apart, which a
/// key of one string does not need.
#[derive(PartialEq, Eq)]
struct TagKey<'s>(&'s str);

impl std::hash::Hash for TagKey<'_> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write(self.0.as_bytes());
    }
}

/// [`clean_tag_list_lent`], the tags copied out.
#[cfg(test)]
pub(crate) fn clean_tag_list(list: &str) -> Vec<String> {
    clean_tag_list_lent(list).into_iter().map(Cow::into_owned).collect()
}

/// [`clean_tags`] of a comma-separated list (ActiveCampaign's `contact[tags]`), each tag a
/// slice of the list.
pub(crate) fn clean_tag_list_lent(list: &str) -> Vec<Cow<'_, str>> {
    // Split at the commas found eight bytes at a time: `str::split(',')` goes through the
    // char-pattern machinery per piece, a byte-by-byte split costs 4 instructions a byte, and
    // memchr's set-up outweighs the dozen bytes between two tags. Each piece is trimmed and
    // kept in the same loop: through an iterator of pieces, then `map` and `filter`, the
    // adapters cost more than the trim (callgrind, 1,000 tags).
    let mut tags = Vec::with_capacity(list.len() / 16 + 1);
    let mut rest = list;
    loop {
        let (piece, next) = match crate::form::find_byte(b',', rest.as_bytes()) {
            Some(comma) => (rest.get(..comma).unwrap_or_default(), rest.get(comma + 1..)),
            None => (rest, None),
        };
        let piece = trim(piece);
        if !piece.is_empty() {
            tags.push(piece);
        }
        match next {
            Some(next) => rest = next,
            None => break,
        }
    }
    distinct_into(tags, Cow::Borrowed)
}

// ---------------------------------------------------------------------------------------
// The API clients: one entry point per call, dispatching to the CRM's own file.
// ---------------------------------------------------------------------------------------

/// How CRM calls are made: the timeout (`crmhook.http_timeout`), connection reuse, the tag
/// cache and the TLS trust store.
#[derive(Debug, Clone)]
pub struct CallSettings {
    /// Limit for one whole call.
    pub timeout: std::time::Duration,
    /// Reuse connections across calls and requests (one pool per PHP process).
    pub keep_alive: bool,
    /// How long a CRM's tag names stay cached in the PHP process (`crmhook.tag_cache_ttl`);
    /// zero loads them on every call that needs them.
    pub tag_cache_ttl: std::time::Duration,
    /// A PEM bundle whose certificates are the trusted roots instead of the built-in ones
    /// (`crmhook.ca_file`): for a self-hosted FluentCRM or FunnelKit behind a private CA.
    pub ca_file: Option<String>,
}

/// Tag names are cached this long by default: a tag renamed in the CRM reaches WordPress within
/// ten minutes, and a burst of webhooks costs one tag-list load, not one per webhook.
pub const DEFAULT_TAG_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(600);

impl Default for CallSettings {
    fn default() -> Self {
        CallSettings { timeout: crate::http::DEFAULT_TIMEOUT, keep_alive: true, tag_cache_ttl: DEFAULT_TAG_CACHE_TTL, ca_file: None }
    }
}

/// A CRM call that could not be made (bad options) or that failed at the CRM.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    /// The arguments cannot work: PHP sees a `ValueError`.
    #[error(transparent)]
    Options(#[from] OptionError),
    /// The CRM call failed: PHP sees `CrmHook\CrmException`.
    #[error(transparent)]
    Crm(#[from] CrmError),
}

fn api<'c>(config: &'c CrmConfig, settings: CallSettings) -> Result<(Crm, Api<'c>), OptionError> {
    let crm = config.crm.ok_or_else(|| OptionError("$crm['crm'] is missing".into()))?;
    Ok((crm, Api::new(config, crm.default_api_url(), settings)?))
}

fn only_convertkit(crm: Crm, what: &str) -> OptionError {
    OptionError(format!("{} has no {what}: only ConvertKit and Kit rules are registered by the site", crm.name()))
}

/// Loads a contact with its fields and tags, normalized.
pub fn fetch_contact(config: &CrmConfig, settings: CallSettings, contact_id: &str) -> Result<Contact, CallError> {
    let (crm, api) = api(config, settings)?;
    let id = path_id("contact id", contact_id)?;
    Ok(match crm {
        Crm::ActiveCampaign => activecampaign::fetch_contact(&api, &id)?,
        Crm::ConvertKit | Crm::Kit => convertkit::fetch_contact(&api, &id)?,
        Crm::FluentCrm => fluentcrm::fetch_contact(&api, &id)?,
        Crm::FunnelKit => funnelkit::fetch_contact(&api, &id)?,
        Crm::Keap => keap::fetch_contact(&api, &id)?,
    })
}

/// The id of the contact with this email, if any.
pub fn find_contact(config: &CrmConfig, settings: CallSettings, email: &str) -> Result<Option<String>, CallError> {
    let (crm, api) = api(config, settings)?;
    let email = crate::text::check_email(email).map_err(|e| OptionError(e.to_string()))?;
    Ok(match crm {
        Crm::ActiveCampaign => activecampaign::find_contact(&api, &email)?,
        Crm::ConvertKit | Crm::Kit => convertkit::find_contact(&api, &email)?,
        Crm::FluentCrm => fluentcrm::find_contact(&api, &email)?,
        Crm::FunnelKit => funnelkit::find_contact(&api, &email)?,
        Crm::Keap => keap::find_contact(&api, &email)?,
    })
}

/// Writes fields (CRM field id → value) to a contact: the returned password, the username.
pub fn update_contact(config: &CrmConfig, settings: CallSettings, contact_id: &str, fields: &[(String, String)]) -> Result<(), CallError> {
    let (crm, api) = api(config, settings)?;
    let id = path_id("contact id", contact_id)?;
    if fields.is_empty() {
        return Ok(());
    }
    match crm {
        Crm::ActiveCampaign => activecampaign::update_contact(&api, &id, fields)?,
        Crm::ConvertKit | Crm::Kit => convertkit::update_contact(&api, &id, fields)?,
        Crm::FluentCrm => fluentcrm::update_contact(&api, &id, fields)?,
        Crm::FunnelKit => funnelkit::update_contact(&api, &id, fields)?,
        Crm::Keap => keap::update_contact(&api, &id, fields)?,
    }
    Ok(())
}

/// Every tag of the account: id → name, for the settings screen.
pub fn list_tags(config: &CrmConfig, settings: CallSettings) -> Result<Vec<(String, String)>, CallError> {
    let (crm, api) = api(config, settings)?;
    Ok(match crm {
        Crm::ActiveCampaign => activecampaign::list_tags(&api)?,
        Crm::ConvertKit | Crm::Kit => convertkit::list_tags(&api)?,
        Crm::FluentCrm => fluentcrm::list_tags(&api)?,
        Crm::FunnelKit => funnelkit::list_tags(&api)?,
        Crm::Keap => keap::list_tags(&api)?,
    })
}

/// The fields a contact can be written to, field → label, where the CRM can tell (FluentCRM: its
/// columns and defined custom fields, which are the only keys it stores); `None` for CRMs whose
/// writes need no such check. Lets *Test connection* catch a return-password field that the
/// CRM would drop without a word.
pub fn list_fields(config: &CrmConfig, settings: CallSettings) -> Result<Option<Vec<(String, String)>>, CallError> {
    let (crm, api) = api(config, settings)?;
    Ok(match crm {
        Crm::FluentCrm => {
            let mut fields: Vec<(String, String)> = fluentcrm::STANDARD_FIELDS.iter().map(|f| ((*f).to_owned(), (*f).to_owned())).collect();
            fields.extend(fluentcrm::list_fields(&api)?);
            Some(fields)
        }
        _ => None,
    })
}

/// Registers a ConvertKit/Kit automation rule: `event` → `target_url`. Tag events
/// (`subscriber.tag_add`, `subscriber.tag_remove`) name their tag; events about the subscriber
/// alone (`subscriber.subscriber_unsubscribe`) take an empty `tag_id`, and the rule then carries
/// only the event's name, as the CRM's API expects.
pub fn register_webhook(
    config: &CrmConfig,
    settings: CallSettings,
    event: &str,
    tag_id: &str,
    target_url: &str,
) -> Result<String, CallError> {
    let (crm, api) = api(config, settings)?;
    if !matches!(crm, Crm::ConvertKit | Crm::Kit) {
        return Err(only_convertkit(crm, "automation rules to register").into());
    }
    let event = event.trim();
    if event.is_empty() {
        return Err(OptionError("the event name is empty".into()).into());
    }
    let tag_id = rule_tag(event, tag_id)?;
    if !(target_url.starts_with("https://") || target_url.starts_with("http://")) {
        return Err(OptionError("the target URL must start with https:// or http://".into()).into());
    }
    Ok(convertkit::register_webhook(&api, event, tag_id.as_deref(), target_url)?)
}

/// The tag a rule's event names: required (digits) for the tag events, none for the others.
fn rule_tag(event: &str, tag_id: &str) -> Result<Option<String>, OptionError> {
    let needs_tag = event.starts_with("subscriber.tag_");
    match (needs_tag, tag_id.trim().is_empty()) {
        (true, true) => Err(OptionError(format!("the event {} needs a tag id", crate::text::echo(event)))),
        (true, false) => Ok(Some(path_id("tag id", tag_id)?)),
        (false, true) => Ok(None),
        (false, false) => Err(OptionError(format!("the event {} takes no tag id: pass an empty one", crate::text::echo(event)))),
    }
}

/// Deletes a ConvertKit/Kit automation rule.
pub fn unregister_webhook(config: &CrmConfig, settings: CallSettings, rule_id: &str) -> Result<(), CallError> {
    let (crm, api) = api(config, settings)?;
    if !matches!(crm, Crm::ConvertKit | Crm::Kit) {
        return Err(only_convertkit(crm, "automation rules to delete").into());
    }
    let rule_id = path_id("rule id", rule_id)?;
    Ok(convertkit::unregister_webhook(&api, &rule_id)?)
}

/// Removes a tag from a ConvertKit/Kit subscriber (the update tag, so it can fire again).
pub fn remove_tag(config: &CrmConfig, settings: CallSettings, contact_id: &str, tag_id: &str) -> Result<(), CallError> {
    let (crm, api) = api(config, settings)?;
    if !matches!(crm, Crm::ConvertKit | Crm::Kit) {
        return Err(only_convertkit(crm, "update tag to remove").into());
    }
    let id = path_id("contact id", contact_id)?;
    let tag_id = path_id("tag id", tag_id)?;
    Ok(convertkit::remove_tag(&api, &id, &tag_id)?)
}

/// Contacts a listing asks the CRM for at once, where the CRM lets us choose (ConvertKit v3
/// always answers 50 a page).
pub const CONTACT_PAGE_SIZE: u32 = 100;

/// A contact as a tag listing names it: enough to queue its import, which loads it in full.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListedContact {
    /// The CRM's contact id.
    pub id: String,
    /// The email, when the listing carries it (ConvertKit v3's does not: empty).
    pub email: String,
}

/// One page of the contacts that carry a tag.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContactPage {
    /// This page's contacts, in the CRM's order.
    pub contacts: Vec<ListedContact>,
    /// Where the next page starts (pass it back as the cursor), or `None` on the last page. An
    /// offset or page number for the CRMs that count, the CRM's own token for Kit and Keap.
    pub next: Option<String>,
    /// How many contacts carry the tag in all, where the CRM says (ActiveCampaign, ConvertKit,
    /// FluentCRM; Kit on the first page; FunnelKit when its answer carries `total_count`; never
    /// Keap).
    pub total: Option<u64>,
}

/// A cursor that counts (an offset or a page number), read back: digits, as this crate made it.
fn counting_cursor(cursor: Option<&str>, first: u64) -> Result<u64, OptionError> {
    match cursor.map(str::trim) {
        None | Some("") => Ok(first),
        Some(c) if c.len() <= 9 && c.bytes().all(|b| b.is_ascii_digit()) => c.parse::<u64>().map_err(|_| bad_cursor(c)),
        Some(c) => Err(bad_cursor(c)),
    }
}

/// A CRM's own page token (Kit, Keap), passed back untouched: printable ASCII of a sane length.
fn token_cursor(cursor: Option<&str>) -> Result<Option<String>, OptionError> {
    match cursor.map(str::trim) {
        None | Some("") => Ok(None),
        Some(c) if c.len() <= 1024 && c.bytes().all(|b| b.is_ascii_graphic()) => Ok(Some(c.to_owned())),
        Some(c) => Err(bad_cursor(c)),
    }
}

fn bad_cursor(cursor: &str) -> OptionError {
    OptionError(format!(
        "the cursor \"{}\" is not one this listing returned: pass null for the first page, then each page's 'next'",
        crate::text::echo(cursor)
    ))
}

/// The next offset after a page of `got` contacts from `offset`, or `None` when that was the
/// last one: past the total where the CRM gives it, else a short or empty page.
pub(crate) fn next_offset(offset: u64, got: usize, page_size: u32, total: Option<u64>) -> Option<String> {
    let next = offset + got as u64;
    let more = got > 0 && total.map_or(got >= page_size as usize, |t| next < t);
    more.then(|| next.to_string())
}

/// One page of the contacts that carry `tag_id`, from `cursor` (`None`: the first page).
pub fn list_contacts_by_tag(
    config: &CrmConfig,
    settings: CallSettings,
    tag_id: &str,
    cursor: Option<&str>,
) -> Result<ContactPage, CallError> {
    let (crm, api) = api(config, settings)?;
    let tag_id = path_id("tag id", tag_id)?;
    Ok(match crm {
        Crm::ActiveCampaign => activecampaign::list_contacts_by_tag(&api, &tag_id, counting_cursor(cursor, 0)?)?,
        Crm::ConvertKit => convertkit::list_subscriptions_v3(&api, &tag_id, counting_cursor(cursor, 1)?.max(1))?,
        Crm::Kit => convertkit::list_subscribers_v4(&api, &tag_id, token_cursor(cursor)?.as_deref())?,
        Crm::FluentCrm => fluentcrm::list_contacts_by_tag(&api, &tag_id, counting_cursor(cursor, 1)?.max(1))?,
        Crm::FunnelKit => funnelkit::list_contacts_by_tag(&api, &tag_id, counting_cursor(cursor, 0)?)?,
        Crm::Keap => keap::list_contacts_by_tag(&api, &tag_id, token_cursor(cursor)?.as_deref())?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_are_read_back_or_refused() {
        assert_eq!(counting_cursor(None, 1), Ok(1));
        assert_eq!(counting_cursor(Some(""), 0), Ok(0));
        assert_eq!(counting_cursor(Some("200"), 0), Ok(200));
        assert!(counting_cursor(Some("-1"), 0).is_err());
        assert!(counting_cursor(Some("1e9"), 0).is_err());
        assert!(counting_cursor(Some("9999999999"), 0).is_err());
        assert_eq!(token_cursor(Some("WzEwMDJd")), Ok(Some("WzEwMDJd".into())));
        assert!(token_cursor(Some("a b")).is_err());
        assert!(token_cursor(Some(&"x".repeat(2000))).is_err());
        let why = counting_cursor(Some("<abc>"), 0).unwrap_err().0;
        assert!(why.contains("cursor") && why.contains("next"), "{why}");
    }

    #[test]
    fn offsets_stop_at_the_total_or_a_short_page() {
        assert_eq!(next_offset(0, 100, 100, Some(250)), Some("100".into()));
        assert_eq!(next_offset(200, 50, 100, Some(250)), None);
        assert_eq!(next_offset(0, 100, 100, None), Some("100".into()));
        assert_eq!(next_offset(100, 99, 100, None), None);
        assert_eq!(next_offset(0, 0, 100, Some(5)), None);
    }

    #[test]
    fn listing_by_tag_checks_its_arguments_before_calling() {
        let config = CrmConfig { crm: Some(Crm::ActiveCampaign), api_url: "http://127.0.0.1:9".into(), ..CrmConfig::default() };
        let err = list_contacts_by_tag(&config, CallSettings::default(), "7; drop", None).unwrap_err();
        assert!(matches!(err, CallError::Options(_)), "{err:?}");
        let err = list_contacts_by_tag(&config, CallSettings::default(), "7", Some("next please")).unwrap_err();
        assert!(matches!(err, CallError::Options(_)), "{err:?}");
    }

    #[test]
    fn slugs_round_trip() {
        for crm in Crm::ALL {
            assert_eq!(Crm::from_slug(crm.slug()), Ok(crm));
        }
        assert!(Crm::from_slug("hubspot").is_err());
    }

    #[test]
    fn meta_slugs_match_the_incumbent() {
        assert_eq!(Crm::FluentCrm.meta_slug(), "fluentcrm-rest");
        assert_eq!(Crm::FunnelKit.meta_slug(), "autonami");
        assert_eq!(Crm::Keap.meta_slug(), "infusionsoft");
    }

    #[test]
    fn tag_events_need_a_tag_and_subscriber_events_take_none() {
        assert_eq!(rule_tag("subscriber.tag_add", "12"), Ok(Some("12".to_owned())));
        assert!(rule_tag("subscriber.tag_add", "").is_err());
        assert!(rule_tag("subscriber.tag_remove", "x1").is_err());
        assert_eq!(rule_tag("subscriber.subscriber_unsubscribe", " "), Ok(None));
        assert!(rule_tag("subscriber.subscriber_unsubscribe", "12").is_err());
    }

    #[test]
    fn tags_are_trimmed_deduplicated_and_kept_in_order() {
        assert_eq!(clean_tags([" b", "a", "b ", "", "c", "a"]), vec!["b", "a", "c"]);
    }

    #[test]
    fn many_tags_are_deduplicated_like_a_few() {
        // Past 16 tags a hash set of the bytes alone takes over from comparing pairwise: the
        // same answer, for prefixes, spaces and look-alike spellings too.
        let words = ["a", "ab", "abc", "b", "ba", "a b", "ab c", "é", "e\u{301}", "A", "\u{0}", "\u{0}\u{0}"];
        let many: Vec<&str> = (0..60).map(|i| words[(i * 7) % words.len()]).collect();
        let mut want: Vec<&str> = Vec::new();
        for tag in &many {
            if !want.contains(tag) {
                want.push(tag);
            }
        }
        assert_eq!(clean_tags(many.iter().copied()), want);
    }

    #[test]
    fn a_tag_list_splits_like_str_split() {
        let list = " VIP, Newsletter,,VIP ,Customer - Gold, \u{a0}x ,,";
        assert_eq!(clean_tag_list(list), clean_tags(list.split(',')));
        assert_eq!(clean_tag_list(list), vec!["VIP", "Newsletter", "Customer - Gold", "x"]);
        let many: Vec<String> = (0..40).map(|i| format!(" t{} ", i % 25)).collect();
        assert_eq!(clean_tag_list(&many.join(",")), (0..25).map(|i| format!("t{i}")).collect::<Vec<_>>());
    }

    #[test]
    fn field_values_accept_lists_numbers_and_empty_arrays() {
        let v: FieldValues = serde_json::from_str(r#"{"a":"x","b":2,"c":[1,"y"],"d":null,"e":true}"#).unwrap();
        let got: Vec<(&str, &str)> = v.0.iter().map(|(k, v)| (k.as_ref(), v.as_ref())).collect();
        assert_eq!(got, vec![("a", "x"), ("b", "2"), ("c", "1, y"), ("e", "1")]);
        let empty: FieldValues = serde_json::from_str("[]").unwrap();
        assert!(empty.0.is_empty());
        assert!(serde_json::from_str::<FieldValues>("[1]").is_err());
    }
}
