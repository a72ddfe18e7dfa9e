//! FunnelKit Automations (formerly Autonami) on another WordPress site.
//!
//! **Webhook**: *Send Data → HTTP Request*, `GET` (recommended: security plugins block POST)
//! or `POST` (form or JSON), whose data is only the URL contract: `contact_id={{contact_id}}`,
//! `access_key`, `wpf_action`, optional `send_notification` and `role`. The contact itself is
//! always loaded from the API. Tags are stored as ids.

use serde::Deserialize;
use ureq::http::Method;

use super::api::{fields_json, Api, CrmError, FieldObject, Loose};
use super::{next_offset, ContactPage, ListedContact};
use crate::contact::Contact;

// ---------------------------------------------------------------------------------------
// REST: `api_url` = the FunnelKit site, `/wp-json/autonami-app/`, HTTP Basic with a
// WordPress application password.
// ---------------------------------------------------------------------------------------

const BASE: &str = "/wp-json/autonami-app";

#[derive(Deserialize)]
struct ContactAnswer {
    result: ApiContact,
}

#[derive(Deserialize)]
struct ApiContact {
    id: Loose,
    #[serde(default)]
    email: Loose,
    #[serde(default)]
    f_name: Loose,
    #[serde(default)]
    l_name: Loose,
    #[serde(default)]
    fields: FieldObject,
    #[serde(default)]
    tags: Vec<ApiTag>,
}

#[derive(Deserialize)]
struct ApiTag {
    #[serde(alias = "id")]
    #[serde(rename = "ID")]
    id: Loose,
    #[serde(default)]
    name: Loose,
}

#[derive(Deserialize)]
struct ListAnswer<T> {
    #[serde(default = "Vec::new")]
    result: Vec<T>,
}

#[derive(Deserialize)]
struct Found {
    id: Loose,
    #[serde(default)]
    email: Loose,
}

pub(crate) fn fetch_contact(api: &Api<'_>, id: &str) -> Result<Contact, CrmError> {
    let answer: ContactAnswer = api.get(&format!("loading contact {id}"), &format!("{BASE}/contacts/{id}"))?;
    let c = answer.result;
    Ok(Contact {
        id: c.id.0,
        email: c.email.0,
        first_name: c.f_name.0,
        last_name: c.l_name.0,
        fields: c.fields.0,
        tags: c.tags.into_iter().map(|t| t.id.0).collect(),
    })
}

pub(crate) fn find_contact(api: &Api<'_>, email: &str) -> Result<Option<String>, CrmError> {
    // The search matches substrings: the address itself decides.
    let answer: ListAnswer<Found> =
        api.get("looking up the contact by email", &format!("{BASE}/contacts?search={}", crate::form::encode(email)))?;
    Ok(answer.result.into_iter().find(|c| c.email.0.eq_ignore_ascii_case(email)).map(|c| c.id.0))
}

pub(crate) fn update_contact(api: &Api<'_>, id: &str, fields: &[(String, String)]) -> Result<(), CrmError> {
    let body = serde_json::json!({ "fields": fields_json(fields) });
    api.send_ignoring_answer(&format!("updating contact {id}"), Method::POST, &format!("{BASE}/contacts/{id}/fields"), Some(&body))
}

/// FunnelKit pages its tags with `limit`/`offset` (WP Fusion, which speaks this API, asks 100 at a
/// time). Its default and largest page are not documented, so pages are read until one comes
/// back empty, rather than stopping at the first page shorter than what was asked.
#[derive(Deserialize)]
struct ContactsAnswer {
    #[serde(default = "Vec::new")]
    result: Vec<Found>,
    #[serde(default)]
    total_count: Option<Loose>,
}

/// `GET contacts?limit=100&offset=N&filters[tags_any][0]=ID`: the contacts listing filtered by
/// tag, as the incumbent plugin lists them; the cursor is the offset. The total is read when the
/// answer carries `total_count`; otherwise a short page is the last.
pub(crate) fn list_contacts_by_tag(api: &Api<'_>, tag_id: &str, offset: u64) -> Result<ContactPage, CrmError> {
    let limit = super::CONTACT_PAGE_SIZE;
    let answer: ContactsAnswer = api.get(
        &format!("listing the contacts with tag {tag_id}"),
        &format!("{BASE}/contacts?limit={limit}&offset={offset}&filters%5Btags_any%5D%5B0%5D={tag_id}"),
    )?;
    let total = answer.total_count.and_then(|t| t.0.parse::<u64>().ok());
    let got = answer.result.len();
    let contacts = answer.result.into_iter().map(|c| ListedContact { id: c.id.0, email: c.email.0 }).filter(|c| !c.id.is_empty()).collect();
    Ok(ContactPage { contacts, next: next_offset(offset, got, limit, total), total })
}

pub(crate) fn list_tags(api: &Api<'_>) -> Result<Vec<(String, String)>, CrmError> {
    const LIMIT: usize = 100;
    let mut out: Vec<(String, String)> = Vec::new();
    for _ in 0..1000 {
        let answer: ListAnswer<ApiTag> = api.get("loading the tag list", &format!("{BASE}/tags?limit={LIMIT}&offset={}", out.len()))?;
        let page: Vec<(String, String)> = answer.result.into_iter().map(|t| (t.id.0, t.name.0)).collect();
        // A site that ignores `offset` answers the first page again: stop rather than loop.
        if page.is_empty() || out.first().is_some_and(|first| page.first() == Some(first)) {
            break;
        }
        out.extend(page);
    }
    Ok(out)
}
