//! FunnelKit Automations (formerly Autonami) on another WordPress site.
//!
//! **Webhook**: *Send Data → HTTP Request*, `GET` (recommended: security plugins block POST)
//! or `POST` (form or JSON), whose data is only the URL contract: `contact_id={{contact_id}}`,
//! `access_key`, `wpf_action`, optional `send_notification` and `role`. The contact itself is
//! always loaded from the API. Tags are stored as ids.

use super::Payload;
use crate::error::WebhookError;
use crate::form::Form;

/// FunnelKit's data carries nothing beyond the URL contract, which the webhook reads for
/// every CRM; this is where a FunnelKit-only key would go.
pub(crate) fn payload_from_form(_form: &Form<'_>) -> Result<Payload, WebhookError> {
    Ok(Payload::default())
}
