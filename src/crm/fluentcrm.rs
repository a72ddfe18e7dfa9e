//! FluentCRM on another WordPress site.
//!
//! **Webhook**: an automation's *Outgoing Webhook*, `POST`, "Send as JSON", body = the full
//! subscriber: `{"id": 55, "email": "…", "first_name": "…", "last_name": "…", "tags":
//! [{"id": 3, "title": "VIP", "slug": "vip"}], "custom_values": {"slug": "value"}}`.
//! Tags are stored as ids (the payload's `tags[].id`).

use super::{clean_tags, JsonBody, Payload};
use crate::error::WebhookError;

/// Reads the subscriber out of a FluentCRM outgoing webhook body.
pub(crate) fn payload_from_json(body: JsonBody<'_>) -> Result<Payload, WebhookError> {
    let mut payload = Payload {
        contact_id: body.id.map(|t| t.0.into_owned()),
        email: body.email.map(|t| t.0.into_owned()),
        tags: body.tags.map(|tags| clean_tags(tags.iter().map(|t| t.0.as_ref()))),
        ..Payload::default()
    };
    if let Some(first_name) = body.first_name {
        payload.field("first_name", first_name.as_str());
    }
    if let Some(last_name) = body.last_name {
        payload.field("last_name", last_name.as_str());
    }
    for (key, value) in body.custom_values.unwrap_or_default().0 {
        payload.field(&key, &value);
    }
    Ok(payload)
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
