//! FluentCRM on another WordPress site.
//!
//! **Webhook**: an automation's *Outgoing Webhook*, `POST`, "Send as JSON", body = the full
//! subscriber: `{"id": 55, "email": "…", "first_name": "…", "last_name": "…", "tags":
//! [{"id": 3, "title": "VIP", "slug": "vip"}], "custom_values": {"slug": "value"}}`.
//! Tags are stored as ids (the payload's `tags[].id`).

use serde::Deserialize;
use ureq::http::Method;

use crate::contact::Contact;
use crate::error::WebhookError;
use super::api::{fields_json, Api, CrmError, FieldObject, Loose};
use super::{clean_tags, JsonBody, Payload};

/// Reads the subscriber out of a FluentCRM outgoing webhook body.
pub(crate) fn payload_from_json(body: JsonBody<'_>) -> Result<Payload, WebhookError> {
    let mut payload = Payload {
        contact_id: body.id.map(|t| t.0.into_owned()),
        email: body.email.map(|t| t.0.into_owned()),
        tags: body.tags.map(|tags| clean_tags(tags.iter().map(|t| t.0.as_ref()))),
        ..Payload::default()
    };
    let custom_values = body.custom_values.unwrap_or_default().0;
    // Sized once: a subscriber can carry hundreds of custom values.
    payload.fields.reserve_exact(custom_values.len() + 2);
    if let Some(first_name) = body.first_name {
        payload.field("first_name", first_name.as_str());
    }
    if let Some(last_name) = body.last_name {
        payload.field("last_name", last_name.as_str());
    }
    for (key, value) in custom_values {
        payload.field(&key, &value);
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
    tags: Vec<ApiTag>,
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
struct SearchAnswer {
    subscribers: Paged<Found>,
}

#[derive(Deserialize)]
struct TagsAnswer {
    tags: Paged<ApiTag>,
}

/// Laravel's paginator, as FluentCRM answers lists.
#[derive(Deserialize)]
struct Paged<T> {
    #[serde(default = "Vec::new")]
    data: Vec<T>,
    #[serde(default)]
    current_page: Option<Loose>,
    #[serde(default)]
    last_page: Option<Loose>,
}

#[derive(Deserialize)]
struct Found {
    id: Loose,
    #[serde(default)]
    email: Loose,
}

pub(crate) fn fetch_contact(api: &Api<'_>, id: &str) -> Result<Contact, CrmError> {
    let answer: SubscriberAnswer = api.get(
        &format!("loading subscriber {id}"),
        &format!("{BASE}/subscribers/{id}?with%5B%5D=subscriber.custom_values"),
    )?;
    let s = answer.subscriber;
    Ok(Contact {
        id: s.id.0,
        email: s.email.0,
        first_name: s.first_name.0,
        last_name: s.last_name.0,
        fields: s.custom_values.0,
        tags: s.tags.into_iter().map(|t| t.id.0).collect(),
    })
}

pub(crate) fn find_contact(api: &Api<'_>, email: &str) -> Result<Option<String>, CrmError> {
    // FluentCRM's search matches substrings, newest first: `ann@x.com` also finds `leeann@x.com`,
    // so the address itself decides.
    let answer: SearchAnswer = api.get(
        "looking up the subscriber by email",
        &format!("{BASE}/subscribers?search={}&per_page=50", crate::form::encode(email)),
    )?;
    Ok(answer.subscribers.data.into_iter().find(|s| s.email.0.eq_ignore_ascii_case(email)).map(|s| s.id.0))
}

pub(crate) fn update_contact(api: &Api<'_>, id: &str, fields: &[(String, String)]) -> Result<(), CrmError> {
    let body = serde_json::json!({ "subscriber": { "custom_values": fields_json(fields) } });
    api.send_ignoring_answer(&format!("updating subscriber {id}"), Method::PUT, &format!("{BASE}/subscribers/{id}"), Some(&body))
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
    fn empty_custom_values_arrive_as_a_list() {
        let body = serde_json::from_str(r#"{"id":1,"tags":[],"custom_values":[]}"#).unwrap();
        let p = payload_from_json(body).unwrap();
        assert_eq!(p.tags, Some(vec![]));
        assert!(p.fields.is_empty());
    }
}
