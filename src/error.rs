//! Every way a webhook can be refused, and the one HTTP status each maps to.

use crate::crm::Crm;

/// Why a webhook request was refused. [`WebhookError::status`] is the HTTP status the site
/// answers with; the message is written for the site owner reading the CRM's webhook log,
/// and never contains the access key or any other secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WebhookError {
    /// The site has no access key configured, so every request is refused (fail closed).
    #[error("crmhook has no access key configured: set one under Settings → CRM Webhooks")]
    NoAccessKeyConfigured,

    /// The request carried no access key, or the wrong one.
    #[error("wrong or missing access key: copy the URL again from Settings → CRM Webhooks")]
    BadAccessKey,

    /// The body is larger than `max_body_bytes`.
    #[error("request body is {size} bytes, over the limit of {limit} bytes")]
    BodyTooLarge {
        /// Size of the body received.
        size: usize,
        /// The configured limit.
        limit: usize,
    },

    /// The body could not be read in its declared format (broken JSON, invalid UTF-8, …).
    #[error("malformed {format} body: {reason}")]
    MalformedBody {
        /// `JSON` or `form`.
        format: &'static str,
        /// What was wrong, in plain words.
        reason: String,
    },

    /// A parameter is present but its value is not acceptable.
    #[error("invalid {name}: {reason}")]
    InvalidParameter {
        /// The parameter's name as the CRM sends it.
        name: &'static str,
        /// What was wrong, in plain words.
        reason: String,
    },

    /// No `wpf_action` anywhere in the request.
    #[error("no wpf_action: add ?wpf_action=test, add, update or update_tags to the URL")]
    MissingAction,

    /// `wpf_action` is not one of the known actions.
    #[error(
        "unknown wpf_action \"{0}\": use test, add, update or update_tags (ConvertKit and Kit also ck_unsubscribed, kit_unsubscribed)"
    )]
    UnknownAction(String),

    /// A known action that the site's CRM never sends: the unsubscribe actions belong to the
    /// automation rule a ConvertKit or Kit site registers.
    #[error("wpf_action {action} is only for ConvertKit and Kit, and this site is set up for {crm}")]
    ActionNotForCrm {
        /// The action, as in URLs.
        action: &'static str,
        /// The CRM the site is configured for.
        crm: Crm,
    },

    /// `add`, `update` and `update_tags` need a contact id and none was found.
    #[error("no contact id: {hint}")]
    MissingContactId {
        /// The CRM the site is configured for.
        crm: Crm,
        /// Where that CRM puts the contact id, for the site owner.
        hint: &'static str,
    },

    /// The contact the plan was asked for cannot become a WordPress user.
    #[error("{0}")]
    UnusableContact(String),

    /// The user the contact leads to holds a privileged capability (an administrator, or anyone
    /// who can manage users, plugins or unfiltered HTML): a webhook never changes such a user.
    #[error("user {0} is privileged (administrator-level capabilities): a webhook never changes such a user, so nothing was written")]
    PrivilegedUser(u64),

    /// A bug inside crmhook (a caught panic). Never expected; reported instead of crashing PHP.
    #[error("internal error in crmhook: {0}")]
    Internal(String),
}

impl WebhookError {
    /// The HTTP status the site answers with: the one place this mapping lives.
    pub fn status(&self) -> u16 {
        match self {
            WebhookError::NoAccessKeyConfigured | WebhookError::BadAccessKey => 403,
            WebhookError::BodyTooLarge { .. } => 413,
            WebhookError::MalformedBody { .. }
            | WebhookError::InvalidParameter { .. }
            | WebhookError::MissingAction
            | WebhookError::UnknownAction(_)
            | WebhookError::ActionNotForCrm { .. } => 400,
            WebhookError::MissingContactId { .. } | WebhookError::UnusableContact(_) => 422,
            WebhookError::PrivilegedUser(_) => 409,
            WebhookError::Internal(_) => 500,
        }
    }

    /// The same error with every occurrence of `secret` in its words replaced, so an echo of
    /// the request never carries the access key into an answer or a log.
    pub(crate) fn redact(self, secret: &str) -> Self {
        if secret.is_empty() {
            return self;
        }
        // Echoes are cut at 40 characters, so a cut can leave part of the key: any run of 8 of the
        // key's characters withholds the whole text.
        let clean = |s: String| {
            let s = s.replace(secret, "[redacted]");
            let window = secret.len().min(8);
            if secret.as_bytes().windows(window).any(|w| s.as_bytes().windows(window).any(|x| x == w)) {
                "[withheld: it held part of the access key]".to_owned()
            } else {
                s
            }
        };
        match self {
            WebhookError::MalformedBody { format, reason } => WebhookError::MalformedBody { format, reason: clean(reason) },
            WebhookError::InvalidParameter { name, reason } => WebhookError::InvalidParameter { name, reason: clean(reason) },
            WebhookError::UnknownAction(a) => WebhookError::UnknownAction(clean(a)),
            WebhookError::UnusableContact(m) => WebhookError::UnusableContact(clean(m)),
            WebhookError::Internal(m) => WebhookError::Internal(clean(m)),
            other => other,
        }
    }

    pub(crate) fn invalid(name: &'static str, reason: impl Into<String>) -> Self {
        WebhookError::InvalidParameter { name, reason: reason.into() }
    }
}

/// A caller passed options that cannot work (an unknown username format, an unknown CRM).
/// This is a programming or configuration error, not bad webhook input: PHP sees a `ValueError`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct OptionError(pub String);
