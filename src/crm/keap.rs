//! Infusionsoft / Keap.
//!
//! **Webhook**: a campaign's *Send HTTP Post*, form-encoded name/value pairs:
//! `contactId=~Contact.Id~` (camelCase), `wpf_action`, `access_key`, optional
//! `send_notification` and `role`. Keap adds its own merge fields (`Email`, `FirstName`,
//! `LastName`, `Phone1`, custom fields as `_Name`) when the campaign is set to.
//! Tags are stored as ids.

use super::Payload;
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
