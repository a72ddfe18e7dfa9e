//! FluentCRM on another WordPress site.
//!
//! **Webhook**: an automation's *Outgoing Webhook* (a FluentCRM Pro action), `POST`, "Send as
//! JSON", body = the full subscriber: its columns (`{"id": 55, "email": "…", "first_name": "…",
//! "last_name": "…", "phone": "…", …}`) plus `"custom_field": {"slug": "value"}` (older
//! notes say `custom_values`: both are read); `tags` (`[{"id": 3, "title": "VIP", …}]`) only
//! when FluentCRM had loaded them, so often absent. Tags are stored as ids (`tags[].id`).

use serde::Deserialize;
use ureq::http::Method;

use super::api::{fields_json, Api, CrmError, CrmFailure, FieldObject, Loose};
use super::{clean_tags, ContactPage, JsonBody, ListedContact, Payload};
use crate::contact::Contact;
use crate::error::WebhookError;

/// Reads the subscriber out of a FluentCRM outgoing webhook body.
#[cfg(test)]
fn payload_from_json(body: JsonBody<'_>) -> Result<Payload, WebhookError> {
    payload_from_json_with(body, true)
}

/// Reads the subscriber out of a FluentCRM outgoing webhook body. Without `with_fields` the
/// custom values are not copied, only checked: the first one holding a NUL byte is kept, so the
/// webhook refuses it exactly as it would with every field read.
pub(crate) fn payload_from_json_with(body: JsonBody<'_>, with_fields: bool) -> Result<Payload, WebhookError> {
    let mut payload = Payload {
        contact_id: body.id.map(|t| t.0.into_owned()),
        email: body.email.map(|t| t.0.into_owned()),
        tags: body.tags.map(|tags| clean_tags(tags.iter().map(|t| t.0.as_ref()))),
        ..Payload::default()
    };
    // Sized once: a subscriber can carry hundreds of custom values.
    let custom =
        if with_fields { [&body.custom_values, &body.custom_field].into_iter().flatten().map(|v| v.0.len()).sum::<usize>() } else { 0 };
    payload.fields.reserve_exact(custom + 3);
    if let Some(first_name) = body.first_name {
        payload.field("first_name", first_name.as_str());
    }
    if let Some(last_name) = body.last_name {
        payload.field("last_name", last_name.as_str());
    }
    if let Some(phone) = body.phone {
        payload.field("phone", phone.as_str());
    }
    for values in [body.custom_values, body.custom_field].into_iter().flatten() {
        for (key, value) in values.0 {
            if with_fields {
                payload.field(&key, &value);
            } else if crate::text::has_nul(&key) || crate::text::has_nul(&value) {
                payload.field(&key, &value);
                return Ok(payload);
            }
        }
    }
    Ok(payload)
}

// ---------------------------------------------------------------------------------------
// REST: `api_url` = the FluentCRM site, `/wp-json/fluent-crm/v2`, HTTP Basic with a
// WordPress application password.
// ---------------------------------------------------------------------------------------

const BASE: &str = "/wp-json/fluent-crm/v2";

#[derive(Deserialize)]
struct SubscriberAnswer {
    subscriber: ApiSubscriber,
}

#[derive(Deserialize)]
struct ApiSubscriber {
    id: Loose,
    #[serde(default)]
    email: Loose,
    #[serde(default)]
    first_name: Loose,
    #[serde(default)]
    last_name: Loose,
    #[serde(default)]
    phone: Loose,
    #[serde(default)]
    tags: Vec<ApiTag>,
    /// Only with `with[]=subscriber.custom_values`, and only the fields FluentCRM defines.
    #[serde(default)]
    custom_values: FieldObject,
}

#[derive(Deserialize)]
struct ApiTag {
    id: Loose,
    #[serde(default)]
    title: Loose,
}

#[derive(Deserialize)]
struct TagsAnswer {
    tags: Paged<ApiTag>,
}

/// Laravel's paginator, as FluentCRM answers lists. An empty list says `last_page: 0`.
#[derive(Deserialize)]
struct Paged<T> {
    #[serde(default = "Vec::new")]
    data: Vec<T>,
    #[serde(default)]
    current_page: Option<Loose>,
    #[serde(default)]
    last_page: Option<Loose>,
    #[serde(default)]
    total: Option<Loose>,
}

#[derive(Deserialize)]
struct CustomFieldsAnswer {
    #[serde(default)]
    fields: Vec<CustomField>,
}

#[derive(Deserialize)]
struct CustomField {
    slug: Loose,
    #[serde(default)]
    label: Loose,
}

/// The subscriber's own columns: written at the top of `subscriber`, never as custom fields.
pub(crate) const STANDARD_FIELDS: [&str; 16] = [
    "prefix",
    "first_name",
    "last_name",
    "email",
    "timezone",
    "address_line_1",
    "address_line_2",
    "postal_code",
    "city",
    "state",
    "country",
    "phone",
    "status",
    "contact_type",
    "source",
    "date_of_birth",
];

pub(crate) fn fetch_contact(api: &Api<'_>, id: &str) -> Result<Contact, CrmError> {
    let answer: SubscriberAnswer =
        api.get(&format!("loading subscriber {id}"), &format!("{BASE}/subscribers/{id}?with%5B%5D=subscriber.custom_values"))?;
    let s = answer.subscriber;
    let mut fields = Vec::with_capacity(s.custom_values.0.len() + 1);
    if !s.phone.0.is_empty() {
        fields.push(("phone".to_owned(), s.phone.0));
    }
    fields.extend(s.custom_values.0);
    Ok(Contact {
        id: s.id.0,
        email: s.email.0,
        first_name: s.first_name.0,
        last_name: s.last_name.0,
        fields,
        tags: s.tags.into_iter().map(|t| t.id.0).collect(),
    })
}

pub(crate) fn find_contact(api: &Api<'_>, email: &str) -> Result<Option<String>, CrmError> {
    // The exact lookup: `?search=` matches substrings of many columns, newest first, so the
    // address asked for can be pages away behind `jo{n}ann@…`. None answers 422.
    let found: Result<SubscriberAnswer, CrmError> =
        api.get("looking up the subscriber by email", &format!("{BASE}/subscribers/0?get_by_email={}", crate::form::encode(email)));
    match found {
        Ok(answer) if answer.subscriber.email.0.eq_ignore_ascii_case(email) => Ok(Some(answer.subscriber.id.0)),
        Ok(_) => Ok(None),
        Err(e) if e.failure == CrmFailure::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// The custom fields FluentCRM defines for contacts: slug → label.
pub(crate) fn list_fields(api: &Api<'_>) -> Result<Vec<(String, String)>, CrmError> {
    let answer: CustomFieldsAnswer = api.get("loading the custom fields", &format!("{BASE}/custom-fields/contacts"))?;
    Ok(answer.fields.into_iter().map(|f| (f.slug.0, f.label.0)).collect())
}

/// Writes fields: the subscriber's own columns at the top, custom fields under
/// `custom_values`. FluentCRM answers 200 and silently drops a key that is no defined custom
/// field, so such a key is refused here, with the fields that do exist.
pub(crate) fn update_contact(api: &Api<'_>, id: &str, fields: &[(String, String)]) -> Result<(), CrmError> {
    let step = format!("updating subscriber {id}");
    let (standard, custom): (Vec<_>, Vec<_>) = fields.iter().partition(|(k, _)| STANDARD_FIELDS.contains(&k.as_str()));
    if !custom.is_empty() {
        let defined = list_fields(api)?;
        if let Some((missing, _)) = custom.iter().find(|(k, _)| !defined.iter().any(|(slug, _)| slug == k)) {
            // Each slug is the CRM's text: echoed (cut, control characters shown) one by one.
            let known = defined.iter().take(20).map(|(slug, _)| crate::text::echo(slug)).collect::<Vec<_>>().join(", ");
            return Err(api.fail(
                &step,
                CrmFailure::UnknownField {
                    crm: api.crm.name(),
                    field: crate::text::echo(missing),
                    known: if known.is_empty() { "none".into() } else { known },
                },
            ));
        }
    }
    let mut subscriber = serde_json::Map::new();
    for (key, value) in standard {
        subscriber.insert(key.clone(), serde_json::Value::String(value.clone()));
    }
    if !custom.is_empty() {
        let custom: Vec<(String, String)> = custom.into_iter().cloned().collect();
        subscriber.insert("custom_values".into(), fields_json(&custom));
    }
    let body = serde_json::json!({ "subscriber": subscriber });
    api.send_ignoring_answer(&step, Method::PUT, &format!("{BASE}/subscribers/{id}"), Some(&body))
}

#[derive(Deserialize)]
struct SubscribersAnswer {
    subscribers: Paged<Listed>,
}

#[derive(Deserialize)]
struct Listed {
    id: Loose,
    #[serde(default)]
    email: Loose,
}

/// `GET /subscribers?tags[]=ID&per_page=100&page=N` (Laravel's pagination: `data`, `total`,
/// `current_page`, `last_page`); the cursor is the page number.
pub(crate) fn list_contacts_by_tag(api: &Api<'_>, tag_id: &str, page: u64) -> Result<ContactPage, CrmError> {
    let per_page = super::CONTACT_PAGE_SIZE;
    let answer: SubscribersAnswer = api.get(
        &format!("listing the subscribers with tag {tag_id}"),
        &format!("{BASE}/subscribers?tags%5B%5D={tag_id}&per_page={per_page}&page={page}"),
    )?;
    let paged = answer.subscribers;
    let last = paged.last_page.and_then(|l| l.0.parse::<u64>().ok()).unwrap_or(page);
    let contacts: Vec<ListedContact> =
        paged.data.into_iter().map(|c| ListedContact { id: c.id.0, email: c.email.0 }).filter(|c| !c.id.is_empty()).collect();
    let next = (page < last && !contacts.is_empty()).then(|| (page + 1).to_string());
    Ok(ContactPage { contacts, next, total: paged.total.and_then(|t| t.0.parse::<u64>().ok()) })
}

pub(crate) fn list_tags(api: &Api<'_>) -> Result<Vec<(String, String)>, CrmError> {
    let mut out = Vec::new();
    for page in 1..=100 {
        let answer: TagsAnswer = api.get("loading the tag list", &format!("{BASE}/tags?per_page=100&page={page}"))?;
        let last = answer.tags.last_page.and_then(|l| l.0.parse::<u32>().ok()).unwrap_or(1);
        let current = answer.tags.current_page.and_then(|c| c.0.parse::<u32>().ok()).unwrap_or(page);
        let empty = answer.tags.data.is_empty();
        out.extend(answer.tags.data.into_iter().map(|t| (t.id.0, t.title.0)));
        if empty || current >= last {
            break;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_full_subscriber() {
        let body = serde_json::from_str(
            r#"{"id":55,"email":"cy@example.com","first_name":"Cy","last_name":"Ng","status":"subscribed",
            "tags":[{"id":3,"title":"VIP","slug":"vip"},{"id":"9","title":"Lead"},{"id":3}],
            "lists":[{"id":1,"title":"Main"}],"custom_values":{"plan":"gold","interests":["a","b"]}}"#,
        )
        .unwrap();
        let p = payload_from_json(body).unwrap();
        assert_eq!(p.contact_id.as_deref(), Some("55"));
        assert_eq!(p.tags, Some(vec!["3".to_owned(), "9".to_owned()]));
        assert_eq!(p.fields.len(), 4);
        assert_eq!(p.fields[3], ("interests".to_owned(), "a, b".to_owned()));
    }

    #[test]
    fn a_subscriber_page_reads_laravel_pagination() {
        let answer: SubscribersAnswer = serde_json::from_str(
            r#"{"subscribers":{"total":56,"per_page":50,"current_page":1,"last_page":2,"data":[{"id":7,"email":"ann@example.com","first_name":"Ann"}]}}"#,
        )
        .unwrap();
        assert_eq!(answer.subscribers.data.len(), 1);
        assert_eq!(answer.subscribers.total.unwrap().0, "56");
    }

    #[test]
    fn empty_custom_values_arrive_as_a_list() {
        let body = serde_json::from_str(r#"{"id":1,"tags":[],"custom_values":[]}"#).unwrap();
        let p = payload_from_json(body).unwrap();
        assert_eq!(p.tags, Some(vec![]));
        assert!(p.fields.is_empty());
    }
}
