//! ConvertKit (API v3) and Kit (API v4).
//!
//! **Webhook**: JSON `POST` from an automation rule the site registers:
//! `{"subscriber": {"id": 123, "first_name": "…", "email_address": "…", "state": "active",
//! "fields": {"key": "value"}}}`. Kit v4 may send `subscriber_id` or a top-level `id` instead.
//! Tags are not in the payload; they are stored as ids.

use serde::Deserialize;
use ureq::http::Method;

use super::api::{fields_json, Api, CrmError, Loose};
use super::{ContactPage, Crm, FieldValues, JsonBody, ListedContact, Payload};
use crate::contact::Contact;
use crate::error::WebhookError;
use crate::text::Text;

/// The `subscriber` object of a ConvertKit or Kit webhook.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct Subscriber<'a> {
    #[serde(borrow)]
    id: Option<Text<'a>>,
    #[serde(borrow)]
    first_name: Option<Text<'a>>,
    #[serde(borrow)]
    email_address: Option<Text<'a>>,
    #[serde(borrow)]
    fields: Option<FieldValues<'a>>,
}

/// Reads the subscriber out of a ConvertKit or Kit webhook body.
pub(crate) fn payload_from_json(body: JsonBody<'_>) -> Result<Payload, WebhookError> {
    let mut payload = Payload::default();
    let subscriber = body.subscriber.unwrap_or_default();
    payload.contact_id = subscriber.id.or(body.subscriber_id).or(body.id).map(|t| t.0.into_owned());
    payload.email = subscriber.email_address.map(|t| t.0.into_owned());
    if let Some(first_name) = subscriber.first_name {
        payload.field("first_name", first_name.as_str());
    }
    for (key, value) in subscriber.fields.unwrap_or_default().0 {
        payload.field(&key, &value);
    }
    Ok(payload)
}

// ---------------------------------------------------------------------------------------
// API v3 (https://api.convertkit.com, `api_secret` in the query or body) and
// API v4 (https://api.kit.com, header `X-Kit-Api-Key`, cursor pagination).
// ---------------------------------------------------------------------------------------

#[derive(Deserialize)]
struct SubscriberAnswer {
    subscriber: ApiSubscriber,
}

#[derive(Deserialize)]
struct ApiSubscriber {
    id: Loose,
    #[serde(default)]
    first_name: Loose,
    #[serde(default)]
    email_address: Loose,
    #[serde(default)]
    fields: std::collections::BTreeMap<String, Loose>,
}

#[derive(Deserialize)]
struct TagList {
    #[serde(default)]
    tags: Vec<ApiTag>,
    #[serde(default)]
    pagination: Option<Pagination>,
}

#[derive(Deserialize)]
struct ApiTag {
    id: Loose,
    #[serde(default)]
    name: Loose,
}

#[derive(Deserialize)]
struct Pagination {
    #[serde(default)]
    has_next_page: bool,
    #[serde(default)]
    end_cursor: Option<String>,
    /// Only with `include_total_count=true`.
    #[serde(default)]
    total_count: Option<Loose>,
}

#[derive(Deserialize)]
struct Search {
    #[serde(default)]
    subscribers: Vec<Found>,
}

#[derive(Deserialize)]
struct Found {
    id: Loose,
}

#[derive(Deserialize)]
struct RuleAnswer {
    #[serde(alias = "webhook")]
    rule: Found,
}

/// `/v3` or `/v4`.
fn version(api: &Api<'_>) -> &'static str {
    if api.crm == Crm::Kit {
        "/v4"
    } else {
        "/v3"
    }
}

/// The v3 secret as a query parameter (`?` or `&` first); nothing for v4, whose key is a header.
fn secret_query(api: &Api<'_>, first: char) -> String {
    if api.crm == Crm::Kit {
        String::new()
    } else {
        format!("{first}api_secret={}", crate::form::encode(&api.config.api_secret))
    }
}

/// A v3 JSON body carries the secret; a v4 body does not.
fn with_secret(api: &Api<'_>, mut body: serde_json::Value) -> serde_json::Value {
    if api.crm != Crm::Kit {
        body["api_secret"] = serde_json::Value::String(api.config.api_secret.clone());
    }
    body
}

pub(crate) fn fetch_contact(api: &Api<'_>, id: &str) -> Result<Contact, CrmError> {
    let v = version(api);
    let step = format!("loading subscriber {id}");
    let answer: SubscriberAnswer = api.get(&step, &format!("{v}/subscribers/{id}{}", secret_query(api, '?')))?;
    let s = answer.subscriber;
    let fields: Vec<(String, String)> = s.fields.into_iter().map(|(k, v)| (k, v.0)).collect();
    let last_name = fields.iter().find(|(k, _)| k == "last_name").map(|(_, v)| v.clone()).unwrap_or_default();
    let tags = paged_tags(api, &format!("loading the tags of subscriber {id}"), &format!("{v}/subscribers/{id}/tags"))?
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    Ok(Contact { id: s.id.0, email: s.email_address.0, first_name: s.first_name.0, last_name, fields, tags })
}

/// A tag list, following Kit's cursor pages (v3 answers in one page).
fn paged_tags(api: &Api<'_>, step: &str, path: &str) -> Result<Vec<(String, String)>, CrmError> {
    let mut out = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let mut url = format!("{path}{}", secret_query(api, '?'));
        if api.crm == Crm::Kit {
            url.push_str("?per_page=1000");
            if let Some(cursor) = &after {
                url.push_str(&format!("&after={}", crate::form::encode(cursor)));
            }
        }
        let page: TagList = api.get(step, &url)?;
        out.extend(page.tags.into_iter().map(|t| (t.id.0, t.name.0)));
        match page.pagination {
            Some(Pagination { has_next_page: true, end_cursor: Some(cursor), .. }) if after.as_ref() != Some(&cursor) => {
                after = Some(cursor)
            }
            _ => return Ok(out),
        }
    }
}

pub(crate) fn list_tags(api: &Api<'_>) -> Result<Vec<(String, String)>, CrmError> {
    paged_tags(api, "loading the tag list", &format!("{}/tags", version(api)))
}

/// ConvertKit v3's `GET /v3/tags/{id}/subscriptions`: 50 a page, numbered from 1.
#[derive(Deserialize)]
struct Subscriptions {
    #[serde(default)]
    total_subscriptions: Option<Loose>,
    #[serde(default)]
    total_pages: Option<Loose>,
    #[serde(default)]
    subscriptions: Vec<Subscription>,
}

#[derive(Deserialize)]
struct Subscription {
    subscriber: Listed,
}

/// Kit v4's `GET /v4/tags/{id}/subscribers`.
#[derive(Deserialize)]
struct TaggedSubscribers {
    #[serde(default)]
    subscribers: Vec<Listed>,
    #[serde(default)]
    pagination: Option<Pagination>,
}

#[derive(Deserialize)]
struct Listed {
    id: Loose,
    #[serde(default)]
    email_address: Loose,
}

fn listed(items: Vec<Listed>) -> Vec<ListedContact> {
    items.into_iter().map(|s| ListedContact { id: s.id.0, email: s.email_address.0 }).filter(|c| !c.id.is_empty()).collect()
}

/// ConvertKit v3: one page of a tag's subscriptions (`page` from 1); the cursor is the page
/// number. A v3 subscription names only the subscriber's id.
pub(crate) fn list_subscriptions_v3(api: &Api<'_>, tag_id: &str, page: u64) -> Result<ContactPage, CrmError> {
    let path = format!("/v3/tags/{tag_id}/subscriptions{}&page={page}", secret_query(api, '?'));
    let answer: Subscriptions = api.get(&format!("listing the subscribers with tag {tag_id}"), &path)?;
    let pages = answer.total_pages.and_then(|p| p.0.parse::<u64>().ok()).unwrap_or(page);
    let contacts = listed(answer.subscriptions.into_iter().map(|s| s.subscriber).collect());
    let next = (page < pages && !contacts.is_empty()).then(|| (page + 1).to_string());
    Ok(ContactPage { contacts, next, total: answer.total_subscriptions.and_then(|t| t.0.parse::<u64>().ok()) })
}

/// Kit v4: one page of a tag's subscribers, following Kit's `after` cursor. The total is asked
/// for on the first page only (`include_total_count=true`), as Kit advises: it slows the answer.
pub(crate) fn list_subscribers_v4(api: &Api<'_>, tag_id: &str, after: Option<&str>) -> Result<ContactPage, CrmError> {
    let mut path = format!("/v4/tags/{tag_id}/subscribers?per_page={}", super::CONTACT_PAGE_SIZE);
    match after {
        Some(cursor) => path.push_str(&format!("&after={}", crate::form::encode(cursor))),
        None => path.push_str("&include_total_count=true"),
    }
    let answer: TaggedSubscribers = api.get(&format!("listing the subscribers with tag {tag_id}"), &path)?;
    let contacts = listed(answer.subscribers);
    let (next, total) = match answer.pagination {
        Some(p) => {
            let total = p.total_count.and_then(|t| t.0.parse::<u64>().ok());
            let next = match p.end_cursor {
                Some(cursor) if p.has_next_page && !contacts.is_empty() && after != Some(cursor.as_str()) => Some(cursor),
                _ => None,
            };
            (next, total)
        }
        None => (None, None),
    };
    Ok(ContactPage { contacts, next, total })
}

pub(crate) fn find_contact(api: &Api<'_>, email: &str) -> Result<Option<String>, CrmError> {
    // Kit v4 lists only `active` subscribers unless told otherwise; an unsubscribed (cancelled)
    // or unconfirmed subscriber is still the CRM's contact for that address.
    let status = if api.crm == Crm::Kit { "&status=all" } else { "" };
    let path = format!("{}/subscribers?email_address={}{status}{}", version(api), crate::form::encode(email), secret_query(api, '&'));
    let search: Search = api.get("looking up the subscriber by email", &path)?;
    Ok(search.subscribers.into_iter().next().map(|s| s.id.0))
}

pub(crate) fn update_contact(api: &Api<'_>, id: &str, fields: &[(String, String)]) -> Result<(), CrmError> {
    let mut body = with_secret(api, serde_json::json!({ "fields": fields_json(fields) }));
    if api.crm == Crm::Kit {
        // Kit v4's `PUT /v4/subscribers/{id}` requires `email_address`; the subscriber's own
        // address is sent back unchanged.
        let answer: SubscriberAnswer = api.get(&format!("loading subscriber {id}"), &format!("/v4/subscribers/{id}"))?;
        body["email_address"] = serde_json::Value::String(answer.subscriber.email_address.0);
    }
    api.send_ignoring_answer(&format!("updating subscriber {id}"), Method::PUT, &format!("{}/subscribers/{id}", version(api)), Some(&body))
}

/// Registers the automation rule that calls `target_url` on `event` (for `tag_id`, when the event
/// is about a tag); the rule id.
pub(crate) fn register_webhook(api: &Api<'_>, event: &str, tag_id: Option<&str>, target_url: &str) -> Result<String, CrmError> {
    let body = with_secret(api, rule_body(event, tag_id, target_url));
    let path = if api.crm == Crm::Kit { "/v4/webhooks" } else { "/v3/automations/hooks" };
    let step = match tag_id {
        Some(tag_id) => format!("registering the {event} rule for tag {tag_id}"),
        None => format!("registering the {event} rule"),
    };
    let answer: RuleAnswer = api.send(&step, Method::POST, path, &body)?;
    Ok(answer.rule.id.0)
}

/// `{"target_url", "event": {"name", "tag_id"?}}`: the same in v3 (plus the secret) and v4.
fn rule_body(event: &str, tag_id: Option<&str>, target_url: &str) -> serde_json::Value {
    let mut event = serde_json::json!({ "name": event });
    if let Some(tag_id) = tag_id {
        event["tag_id"] = tag_id.parse::<u64>().map(Into::into).unwrap_or_else(|_| tag_id.into());
    }
    serde_json::json!({ "target_url": target_url, "event": event })
}

pub(crate) fn unregister_webhook(api: &Api<'_>, rule_id: &str) -> Result<(), CrmError> {
    let step = format!("deleting automation rule {rule_id}");
    if api.crm == Crm::Kit {
        api.send_ignoring_answer(&step, Method::DELETE, &format!("/v4/webhooks/{rule_id}"), None)
    } else {
        let body = with_secret(api, serde_json::json!({}));
        api.send_ignoring_answer(&step, Method::DELETE, &format!("/v3/automations/hooks/{rule_id}"), Some(&body))
    }
}

/// Takes the update tag off a subscriber so the rule can fire again next time.
pub(crate) fn remove_tag(api: &Api<'_>, id: &str, tag_id: &str) -> Result<(), CrmError> {
    let step = format!("removing tag {tag_id} from subscriber {id}");
    if api.crm == Crm::Kit {
        api.send_ignoring_answer(&step, Method::DELETE, &format!("/v4/tags/{tag_id}/subscribers/{id}"), None)
    } else {
        api.send_ignoring_answer(&step, Method::DELETE, &format!("/v3/subscribers/{id}/tags/{tag_id}{}", secret_query(api, '?')), None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Payload {
        payload_from_json(serde_json::from_str(json).unwrap()).unwrap()
    }

    #[test]
    fn reads_the_v3_subscriber() {
        let p = parse(
            r#"{"subscriber":{"id":1234567,"first_name":"Bo","email_address":"bo@example.com",
            "state":"active","created_at":"2024-01-01T00:00:00Z","fields":{"last_name":"Lee","plan":null}}}"#,
        );
        assert_eq!(p.contact_id.as_deref(), Some("1234567"));
        assert_eq!(p.email.as_deref(), Some("bo@example.com"));
        assert_eq!(p.fields, vec![("first_name".into(), "Bo".into()), ("last_name".into(), "Lee".into())]);
        assert_eq!(p.tags, None);
    }

    #[test]
    fn rule_bodies_name_a_tag_only_for_tag_events() {
        let tagged = rule_body("subscriber.tag_add", Some("12"), "https://site/?wpf_action=add");
        assert_eq!(
            tagged,
            serde_json::json!({"target_url": "https://site/?wpf_action=add", "event": {"name": "subscriber.tag_add", "tag_id": 12}})
        );
        let unsubscribe = rule_body("subscriber.subscriber_unsubscribe", None, "https://site/?wpf_action=kit_unsubscribed");
        assert_eq!(
            unsubscribe,
            serde_json::json!({"target_url": "https://site/?wpf_action=kit_unsubscribed", "event": {"name": "subscriber.subscriber_unsubscribe"}})
        );
    }

    #[test]
    fn tag_listings_read_both_versions() {
        let v3: Subscriptions = serde_json::from_str(
            r#"{"total_subscriptions":120,"page":1,"total_pages":3,"subscriptions":[{"id":1,"state":"active","subscribable_id":5,"subscribable_type":"tag","subscriber":{"id":1001}}]}"#,
        )
        .unwrap();
        let got = listed(v3.subscriptions.into_iter().map(|s| s.subscriber).collect());
        assert_eq!(got, vec![ListedContact { id: "1001".into(), email: String::new() }]);
        let v4: TaggedSubscribers = serde_json::from_str(
            r#"{"subscribers":[{"id":1002,"email_address":"bo@example.com","tagged_at":"x"}],
               "pagination":{"has_previous_page":false,"has_next_page":true,"start_cursor":"a","end_cursor":"b","per_page":100,"total_count":250}}"#,
        )
        .unwrap();
        let p = v4.pagination.unwrap();
        assert!(p.has_next_page && p.end_cursor.as_deref() == Some("b") && p.total_count.unwrap().0 == "250");
    }

    #[test]
    fn reads_kit_v4_ids() {
        assert_eq!(parse(r#"{"subscriber_id":77}"#).contact_id.as_deref(), Some("77"));
        assert_eq!(parse(r#"{"id":"78"}"#).contact_id.as_deref(), Some("78"));
        assert_eq!(parse(r#"{"subscriber":{"id":79},"id":80}"#).contact_id.as_deref(), Some("79"));
    }
}
