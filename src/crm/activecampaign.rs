//! ActiveCampaign.
//!
//! **Webhook**: `POST`, `application/x-www-form-urlencoded`, PHP-style bracket keys:
//! `contact[id]`, `contact[email]`, `contact[first_name]`, `contact[last_name]`,
//! `contact[phone]`, `contact[tags]` (tag *names* joined by `", "`), `contact[fields][<id>]`,
//! plus `type`, `date_time`, `initiated_by`, `initiated_from`. Tags are stored as names.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

use serde::Deserialize;
use ureq::http::Method;

use super::api::{Api, CrmError, CrmFailure, Loose};
use super::{clean_tag_list_lent, next_offset, ContactPage, ListedContact, Payload};
use crate::contact::Contact;
use crate::error::WebhookError;
use crate::form::{split_key, Form};

/// Reads the contact out of an ActiveCampaign webhook form, the tags copied out of it.
#[cfg(test)]
fn payload_from_form(form: &Form<'_>) -> Result<Payload, WebhookError> {
    payload_lent_from_form(form).map(Payload::into_owned)
}

/// Reads the contact out of an ActiveCampaign webhook form; the tags are slices of the form's
/// decoded `contact[tags]`.
pub(crate) fn payload_lent_from_form<'f>(form: &'f Form<'_>) -> Result<Payload<Cow<'f, str>>, WebhookError> {
    let mut payload = Payload::default();
    for (key, value) in form.iter() {
        if key == "initiated_from" {
            payload.initiated_from = Some(value.to_owned());
            continue;
        }
        // Only `contact[…]` keys say anything of the contact (`type`, `date_time`, … do not).
        if !key.starts_with("contact[") {
            continue;
        }
        let (base, segments) = split_key(key);
        if base != "contact" {
            continue;
        }
        match segments.as_slice() {
            ["id"] => payload.contact_id = Some(value.to_owned()),
            ["email"] => payload.email = Some(value.to_owned()),
            [name @ ("first_name" | "last_name" | "phone")] => set_field(&mut payload, name, value),
            ["tags"] => payload.tags = Some(clean_tag_list_lent(value)),
            ["fields", id] if !id.is_empty() => set_field(&mut payload, id, value),
            _ => {}
        }
    }
    Ok(payload)
}

/// A repeated key's last value wins, as PHP's `parse_str` has it.
fn set_field<T>(payload: &mut Payload<T>, key: &str, value: &str) {
    match payload.fields.iter_mut().find(|(k, _)| k == key) {
        Some(slot) => slot.1 = value.to_owned(),
        None => payload.field(key, value),
    }
}

// ---------------------------------------------------------------------------------------
// API v3: `api_url` = https://ACCOUNT.api-us1.com, header `Api-Token`.
// ---------------------------------------------------------------------------------------

#[derive(Deserialize)]
struct ContactAnswer {
    contact: AcContact,
    #[serde(default, rename = "fieldValues")]
    field_values: Vec<FieldValue>,
    #[serde(default, rename = "contactTags")]
    contact_tags: Vec<ContactTag>,
}

#[derive(Deserialize)]
struct AcContact {
    id: Loose,
    #[serde(default)]
    email: Loose,
    #[serde(default, rename = "firstName")]
    first_name: Loose,
    #[serde(default, rename = "lastName")]
    last_name: Loose,
    #[serde(default)]
    phone: Loose,
}

#[derive(Deserialize)]
struct FieldValue {
    field: Loose,
    #[serde(default)]
    value: Loose,
}

#[derive(Deserialize)]
struct ContactTag {
    tag: Loose,
}

#[derive(Deserialize)]
struct TagsPage {
    #[serde(default)]
    tags: Vec<Tag>,
    #[serde(default)]
    meta: Option<Meta>,
}

#[derive(Deserialize)]
struct Tag {
    id: Loose,
    tag: Loose,
}

#[derive(Deserialize)]
struct Meta {
    total: Loose,
}

#[derive(Deserialize)]
struct Search {
    #[serde(default)]
    contacts: Vec<Found>,
}

#[derive(Deserialize)]
struct Found {
    id: Loose,
}

const PAGE: usize = 100;

/// Tag id → name per account (`api_url`), with the time the list was loaded. A contact carries
/// only tag ids, so names come from this per-process cache, which expires after
/// `crmhook.tag_cache_ttl` so that a tag renamed in ActiveCampaign reaches WordPress.
type TagCache = HashMap<String, (Instant, HashMap<String, String>)>;

fn tag_cache() -> &'static Mutex<TagCache> {
    static CACHE: OnceLock<Mutex<TagCache>> = OnceLock::new();
    CACHE.get_or_init(Default::default)
}

fn cache_tag_names(api: &Api<'_>, all: &[(String, String)]) {
    let names = all.iter().cloned().collect();
    tag_cache().lock().unwrap_or_else(|p| p.into_inner()).insert(api.config.api_url.clone(), (Instant::now(), names));
}

pub(crate) fn fetch_contact(api: &Api<'_>, id: &str) -> Result<Contact, CrmError> {
    let step = format!("loading contact {id}");
    let answer: ContactAnswer = api.get(&step, &format!("/api/3/contacts/{id}"))?;
    let email = answer.contact.email.0;
    // A deleted contact lingers with a `deleted+…@` address: to us it is gone.
    if email.starts_with("deleted+") {
        return Err(api.fail(&step, CrmFailure::NotFound));
    }
    let mut fields: Vec<(String, String)> = Vec::with_capacity(answer.field_values.len() + 1);
    if !answer.contact.phone.0.is_empty() {
        fields.push(("phone".into(), answer.contact.phone.0));
    }
    for fv in answer.field_values {
        fields.push((fv.field.0, multi_select(&fv.value.0)));
    }
    let tag_ids: Vec<String> = answer.contact_tags.into_iter().map(|t| t.tag.0).collect();
    let tags = tag_names(api, &tag_ids)?;
    Ok(Contact {
        id: answer.contact.id.0,
        email,
        first_name: answer.contact.first_name.0,
        last_name: answer.contact.last_name.0,
        fields,
        tags,
    })
}

/// `||Red||Blue||` → `Red, Blue`: how ActiveCampaign stores a multi-select value.
fn multi_select(value: &str) -> String {
    if value.starts_with("||") {
        value.split("||").filter(|s| !s.is_empty()).collect::<Vec<_>>().join(", ")
    } else {
        value.to_owned()
    }
}

/// Names for tag ids, from the per-process cache while it is fresh; reloaded when it has expired
/// or an id is unknown (a tag created since the list was loaded).
fn tag_names(api: &Api<'_>, ids: &[String]) -> Result<Vec<String>, CrmError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let cached = {
        let cache = tag_cache().lock().unwrap_or_else(|p| p.into_inner());
        cache
            .get(&api.config.api_url)
            .filter(|(loaded, _)| loaded.elapsed() < api.tag_cache_ttl)
            .and_then(|(_, names)| ids.iter().map(|id| names.get(id).cloned()).collect::<Option<Vec<_>>>())
    };
    if let Some(names) = cached {
        return Ok(names);
    }
    let all: HashMap<String, String> = list_tags(api)?.into_iter().collect();
    Ok(ids.iter().map(|id| all.get(id).cloned().unwrap_or_else(|| id.clone())).collect())
}

/// Every tag of the account, id → name. The fresh list also refreshes the cache, so *Test
/// connection* (which lists the tags) clears stale names at once.
pub(crate) fn list_tags(api: &Api<'_>) -> Result<Vec<(String, String)>, CrmError> {
    let mut out = Vec::new();
    loop {
        let page: TagsPage = api.get("loading the tag list", &format!("/api/3/tags?limit={PAGE}&offset={}", out.len()))?;
        let got = page.tags.len();
        out.extend(page.tags.into_iter().map(|t| (t.id.0, t.tag.0)));
        let total = page.meta.and_then(|m| m.total.0.parse::<usize>().ok()).unwrap_or(0);
        if got < PAGE || out.len() >= total {
            cache_tag_names(api, &out);
            return Ok(out);
        }
    }
}

#[derive(Deserialize)]
struct TaggedPage {
    #[serde(default)]
    contacts: Vec<Listed>,
    #[serde(default)]
    meta: Option<Meta>,
}

#[derive(Deserialize)]
struct Listed {
    id: Loose,
    #[serde(default)]
    email: Loose,
}

/// `GET /api/3/contacts?tagid=ID&limit=100&offset=N`: the contacts that carry the tag, with
/// `meta.total` for all pages. The cursor is the offset.
pub(crate) fn list_contacts_by_tag(api: &Api<'_>, tag_id: &str, offset: u64) -> Result<ContactPage, CrmError> {
    let limit = super::CONTACT_PAGE_SIZE;
    let page: TaggedPage = api.get(
        &format!("listing the contacts with tag {tag_id}"),
        &format!("/api/3/contacts?tagid={tag_id}&limit={limit}&offset={offset}"),
    )?;
    let total = page.meta.and_then(|m| m.total.0.parse::<u64>().ok());
    let got = page.contacts.len();
    let contacts = page.contacts.into_iter().map(|c| ListedContact { id: c.id.0, email: c.email.0 }).filter(|c| !c.id.is_empty()).collect();
    Ok(ContactPage { contacts, next: next_offset(offset, got, limit, total), total })
}

pub(crate) fn find_contact(api: &Api<'_>, email: &str) -> Result<Option<String>, CrmError> {
    let search: Search = api.get("looking up the contact by email", &format!("/api/3/contacts?email={}", crate::form::encode(email)))?;
    Ok(search.contacts.into_iter().next().map(|c| c.id.0))
}

pub(crate) fn update_contact(api: &Api<'_>, id: &str, fields: &[(String, String)]) -> Result<(), CrmError> {
    let values: Vec<serde_json::Value> =
        fields.iter().map(|(field, value)| serde_json::json!({ "field": field, "value": value })).collect();
    let body = serde_json::json!({ "contact": { "fieldValues": values } });
    api.send_ignoring_answer(&format!("updating contact {id}"), Method::PUT, &format!("/api/3/contacts/{id}"), Some(&body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_bracketed_contact() {
        let body = b"type=update&date_time=2024-01-01&initiated_from=admin&contact%5Bid%5D=42\
&contact%5Bemail%5D=ann%40example.com&contact%5Bfirst_name%5D=Ann&contact%5Bphone%5D=%2B1+555\
&contact%5Btags%5D=Customer%2C+VIP%2C+Customer&contact%5Bfields%5D%5B12%5D=Gold\
&contact%5Bfields%5D%5BPLAN%5D=pro&contact%5Bfields%5D%5B12%5D=Platinum";
        let p = payload_from_form(&Form::parse(body).unwrap()).unwrap();
        assert_eq!(p.contact_id.as_deref(), Some("42"));
        assert_eq!(p.email.as_deref(), Some("ann@example.com"));
        assert_eq!(p.tags, Some(vec!["Customer".to_owned(), "VIP".to_owned()]));
        assert_eq!(p.initiated_from.as_deref(), Some("admin"));
        assert_eq!(
            p.fields,
            vec![
                ("first_name".to_owned(), "Ann".to_owned()),
                ("phone".to_owned(), "+1 555".to_owned()),
                ("12".to_owned(), "Platinum".to_owned()),
                ("PLAN".to_owned(), "pro".to_owned()),
            ]
        );
    }

    #[test]
    fn a_tag_page_reads_ids_emails_and_the_total() {
        let page: TaggedPage = serde_json::from_str(
            r#"{"contacts":[{"id":"1001","email":"ann@example.com","cdate":"x"},{"id":"1002","email":"bo@example.com"}],"meta":{"total":"2","page_input":{}}}"#,
        )
        .unwrap();
        assert_eq!(page.contacts.len(), 2);
        assert_eq!(page.meta.unwrap().total.0, "2");
    }

    #[test]
    fn empty_tags_mean_the_contact_has_none() {
        let p = payload_from_form(&Form::parse(b"contact[id]=1&contact[tags]=").unwrap()).unwrap();
        assert_eq!(p.tags, Some(vec![]));
        let p = payload_from_form(&Form::parse(b"contact[id]=1").unwrap()).unwrap();
        assert_eq!(p.tags, None);
    }
}
