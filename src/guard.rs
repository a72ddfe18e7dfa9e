//! Keeps a panic from ever reaching PHP: a bug becomes an error the caller can report.

use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::error::WebhookError;

/// Runs `f`, turning a panic into [`WebhookError::Internal`].
///
/// ```
/// use crmhook::error::WebhookError;
/// use crmhook::guard::no_panic;
/// let caught: Result<(), WebhookError> = no_panic(|| panic!("bug"));
/// assert_eq!(caught.unwrap_err().status(), 500);
/// ```
pub fn no_panic<T, E: From<WebhookError>>(f: impl FnOnce() -> Result<T, E>) -> Result<T, E> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(result) => result,
        Err(payload) => {
            let what = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_owned());
            Err(WebhookError::Internal(crate::text::echo(&what)).into())
        }
    }
}
