//! ConvertKit (API v3) and Kit (API v4).
//!
//! **Webhook**: JSON `POST` from an automation rule the site registers:
//! `{"subscriber": {"id": 123, "first_name": "…", "email_address": "…", "state": "active",
//! "fields": {"key": "value"}}}`. Kit v4 may send `subscriber_id` or a top-level `id` instead.
//! Tags are not in the payload; they are stored as ids.

use serde::Deserialize;

use super::{Crm, FieldValues, JsonBody, Payload};
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
pub(crate) fn payload_from_json(_crm: Crm, body: JsonBody<'_>) -> Result<Payload, WebhookError> {
    let mut payload = Payload::default();
    let subscriber = body.subscriber.unwrap_or_default();
    payload.contact_id = subscriber
        .id
        .or(body.subscriber_id)
        .or(body.id)
        .map(|t| t.0.into_owned());
    payload.email = subscriber.email_address.map(|t| t.0.into_owned());
    if let Some(first_name) = subscriber.first_name {
        payload.field("first_name", first_name.as_str());
    }
    for (key, value) in subscriber.fields.unwrap_or_default().0 {
        payload.field(&key, &value);
    }
    Ok(payload)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Payload {
        payload_from_json(Crm::ConvertKit, serde_json::from_str(json).unwrap()).unwrap()
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
    fn reads_kit_v4_ids() {
        assert_eq!(parse(r#"{"subscriber_id":77}"#).contact_id.as_deref(), Some("77"));
        assert_eq!(parse(r#"{"id":"78"}"#).contact_id.as_deref(), Some("78"));
        assert_eq!(parse(r#"{"subscriber":{"id":79},"id":80}"#).contact_id.as_deref(), Some("79"));
    }
}
