//! ActiveCampaign.
//!
//! **Webhook**: `POST`, `application/x-www-form-urlencoded`, PHP-style bracket keys:
//! `contact[id]`, `contact[email]`, `contact[first_name]`, `contact[last_name]`,
//! `contact[phone]`, `contact[tags]` (tag *names* joined by `", "`), `contact[fields][<id>]`,
//! plus `type`, `date_time`, `initiated_by`, `initiated_from`. Tags are stored as names.

use super::{clean_tags, Payload};
use crate::error::WebhookError;
use crate::form::{split_key, Form};

/// Reads the contact out of an ActiveCampaign webhook form.
pub(crate) fn payload_from_form(form: &Form<'_>) -> Result<Payload, WebhookError> {
    let mut payload = Payload::default();
    for (key, value) in form.iter() {
        if key == "initiated_from" {
            payload.initiated_from = Some(value.to_owned());
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
            ["tags"] => payload.tags = Some(clean_tags(value.split(','))),
            ["fields", id] if !id.is_empty() => set_field(&mut payload, id, value),
            _ => {}
        }
    }
    Ok(payload)
}

/// A repeated key's last value wins, as PHP's `parse_str` has it.
fn set_field(payload: &mut Payload, key: &str, value: &str) {
    match payload.fields.iter_mut().find(|(k, _)| k == key) {
        Some(slot) => slot.1 = value.to_owned(),
        None => payload.field(key, value),
    }
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
    fn empty_tags_mean_the_contact_has_none() {
        let p = payload_from_form(&Form::parse(b"contact[id]=1&contact[tags]=").unwrap()).unwrap();
        assert_eq!(p.tags, Some(vec![]));
        let p = payload_from_form(&Form::parse(b"contact[id]=1").unwrap()).unwrap();
        assert_eq!(p.tags, None);
    }
}
