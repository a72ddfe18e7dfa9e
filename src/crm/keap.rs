//! Infusionsoft / Keap.
//!
//! **Webhook**: a campaign's *Send HTTP Post*, form-encoded name/value pairs:
//! `contactId=~Contact.Id~` (camelCase), `wpf_action`, `access_key`, optional
//! `send_notification` and `role`. Keap adds its own merge fields (`Email`, `FirstName`,
//! `LastName`, `Phone1`, custom fields as `_Name`) when the campaign is set to.
//! Tags are stored as ids.

use serde::Deserialize;
use ureq::http::Method;

use super::api::{Api, CrmError, Loose};
use super::{ContactPage, ListedContact, Payload};
use crate::contact::Contact;
use crate::error::WebhookError;
use crate::form::Form;

/// Reads Keap's own merge fields out of an HTTP Post form. (`contactId` is read with the URL
/// contract, for every CRM.)
pub(crate) fn payload_from_form(form: &Form<'_>) -> Result<Payload, WebhookError> {
    let mut payload = Payload::default();
    for (key, value) in form.iter() {
        match key {
            "Email" => payload.email = Some(value.to_owned()),
            "FirstName" => payload.field("first_name", value),
            "LastName" => payload.field("last_name", value),
            "Phone1" => payload.field("phone", value),
            custom if custom.starts_with('_') && custom.len() > 1 => payload.field(custom, value),
            _ => {}
        }
    }
    Ok(payload)
}

// ---------------------------------------------------------------------------------------
// REST v2: https://api.infusionsoft.com/crm/rest, header `X-Keap-API-Key` (a service
// account key). 429 and 503 are retried once by the transport.
// ---------------------------------------------------------------------------------------

#[derive(Deserialize)]
struct ApiContact {
    id: Loose,
    #[serde(default)]
    given_name: Loose,
    #[serde(default)]
    family_name: Loose,
    #[serde(default)]
    email_addresses: Vec<EmailAddress>,
    #[serde(default)]
    custom_fields: Vec<CustomField>,
    #[serde(default)]
    tag_ids: Vec<Loose>,
}

#[derive(Deserialize)]
struct EmailAddress {
    #[serde(default)]
    email: Loose,
    #[serde(default)]
    field: Loose,
}

#[derive(Deserialize)]
struct CustomField {
    id: Loose,
    #[serde(default)]
    content: Loose,
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

#[derive(Deserialize)]
struct TagsPage {
    #[serde(default)]
    tags: Vec<ApiTag>,
    #[serde(default)]
    next_page_token: Option<String>,
}

#[derive(Deserialize)]
struct ApiTag {
    id: Loose,
    #[serde(default)]
    name: Loose,
}

pub(crate) fn fetch_contact(api: &Api<'_>, id: &str) -> Result<Contact, CrmError> {
    let c: ApiContact = api.get(
        &format!("loading contact {id}"),
        &format!("/v2/contacts/{id}?fields=email_addresses,given_name,family_name,custom_fields,tag_ids"),
    )?;
    // The primary address is EMAIL1; fall back to the first one listed.
    let email = c
        .email_addresses
        .iter()
        .find(|e| e.field.0 == "EMAIL1")
        .or(c.email_addresses.first())
        .map(|e| e.email.0.clone())
        .unwrap_or_default();
    Ok(Contact {
        id: c.id.0,
        email,
        first_name: c.given_name.0,
        last_name: c.family_name.0,
        fields: c.custom_fields.into_iter().map(|f| (f.id.0, f.content.0)).collect(),
        tags: c.tag_ids.into_iter().map(|t| t.0).collect(),
    })
}

pub(crate) fn find_contact(api: &Api<'_>, email: &str) -> Result<Option<String>, CrmError> {
    let filter = crate::form::encode(&format!("email=={email}"));
    let search: Search = api.get("looking up the contact by email", &format!("/v2/contacts?filter={filter}"))?;
    Ok(search.contacts.into_iter().next().map(|c| c.id.0))
}

/// A contact's custom fields with their values as Keap wrote them (dates, lists…), so that the
/// ones we do not change go back untouched.
#[derive(Deserialize)]
struct CustomFieldsOnly {
    #[serde(default)]
    custom_fields: Vec<RawCustomField>,
}

#[derive(Deserialize)]
struct RawCustomField {
    id: Loose,
    #[serde(default)]
    content: serde_json::Value,
}

/// Keap's `PATCH` replaces the whole `custom_fields` list ("any item not listed here will be
/// removed"), so the contact's other custom fields are read first and sent back with ours.
/// Ids go as strings: the v2 schema types every id (`CustomFieldValue.id`) as a string.
pub(crate) fn update_contact(api: &Api<'_>, id: &str, fields: &[(String, String)]) -> Result<(), CrmError> {
    let current: CustomFieldsOnly =
        api.get(&format!("loading the custom fields of contact {id}"), &format!("/v2/contacts/{id}?fields=custom_fields"))?;
    let mut custom: Vec<(String, serde_json::Value)> =
        current.custom_fields.into_iter().map(|f| (f.id.0, f.content)).filter(|(field, _)| !field.is_empty()).collect();
    for (field, value) in fields {
        let value = serde_json::Value::String(value.clone());
        match custom.iter_mut().find(|(existing, _)| existing == field) {
            Some(slot) => slot.1 = value,
            None => custom.push((field.clone(), value)),
        }
    }
    let custom: Vec<serde_json::Value> =
        custom.into_iter().map(|(field, content)| serde_json::json!({ "id": field, "content": content })).collect();
    let body = serde_json::json!({ "custom_fields": custom });
    api.send_ignoring_answer(
        &format!("updating contact {id}"),
        Method::PATCH,
        &format!("/v2/contacts/{id}?update_mask=custom_fields"),
        Some(&body),
    )
}

#[derive(Deserialize)]
struct TaggedContacts {
    #[serde(default)]
    contacts: Vec<TaggedContact>,
    #[serde(default)]
    next_page_token: Option<String>,
}

#[derive(Deserialize)]
struct TaggedContact {
    id: Loose,
    #[serde(default)]
    email: Loose,
}

/// v2 `GET /v2/tags/{tag_id}/contacts?page_size=100&page_token=…` ("List Tagged Contacts":
/// `contacts[] {id, email, given_name, family_name, applied_time}`, `next_page_token`). Keap
/// gives no total. The cursor is Keap's page token.
pub(crate) fn list_contacts_by_tag(api: &Api<'_>, tag_id: &str, token: Option<&str>) -> Result<ContactPage, CrmError> {
    let mut path = format!("/v2/tags/{tag_id}/contacts?page_size={}", super::CONTACT_PAGE_SIZE);
    if let Some(t) = token {
        path.push_str(&format!("&page_token={}", crate::form::encode(t)));
    }
    let page: TaggedContacts = api.get(&format!("listing the contacts with tag {tag_id}"), &path)?;
    let contacts: Vec<ListedContact> =
        page.contacts.into_iter().map(|c| ListedContact { id: c.id.0, email: c.email.0 }).filter(|c| !c.id.is_empty()).collect();
    // Keap may hand out a token after the last page too: an empty page, or the token we gave, ends it.
    let next = page.next_page_token.filter(|t| !t.is_empty() && !contacts.is_empty() && Some(t.as_str()) != token);
    Ok(ContactPage { contacts, next, total: None })
}

pub(crate) fn list_tags(api: &Api<'_>) -> Result<Vec<(String, String)>, CrmError> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..100 {
        let mut path = "/v2/tags?page_size=1000".to_owned();
        if let Some(t) = &token {
            path.push_str(&format!("&page_token={}", crate::form::encode(t)));
        }
        let page: TagsPage = api.get("loading the tag list", &path)?;
        let empty = page.tags.is_empty();
        out.extend(page.tags.into_iter().map(|t| (t.id.0, t.name.0)));
        match page.next_page_token.filter(|t| !t.is_empty()) {
            Some(next) if !empty && token.as_ref() != Some(&next) => token = Some(next),
            _ => break,
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_keap_merge_fields() {
        let form = Form::parse(b"contactId=88&Email=di%40example.com&FirstName=Di&_Plan=Gold&Other=x").unwrap();
        let p = payload_from_form(&form).unwrap();
        assert_eq!(p.email.as_deref(), Some("di@example.com"));
        assert_eq!(p.fields, vec![("first_name".into(), "Di".into()), ("_Plan".into(), "Gold".into())]);
    }
}
