//! How crmhook's failures reach PHP: `CrmHook\WebhookException` (code = the HTTP status),
//! `CrmHook\CrmException` (code HTTP-like), `\ValueError` and `\TypeError`; and the
//! registration of our two classes at module start.

use std::sync::atomic::{AtomicPtr, Ordering};

use ext_php_rs::args::ArgInfoTables;
use ext_php_rs::builders::ClassBuilder;
use ext_php_rs::exception::PhpException;
use ext_php_rs::zend::{ce, ClassEntry};

use crate::crm::api::CrmError;
use crate::crm::CallError;
use crate::error::{OptionError, WebhookError};
use crate::guard::no_panic;
use crate::plan;

const WEBHOOK_EXCEPTION: &str = "CrmHook\\WebhookException";
const CRM_EXCEPTION: &str = "CrmHook\\CrmException";
static WEBHOOK_CE: AtomicPtr<ClassEntry> = AtomicPtr::new(std::ptr::null_mut());
static CRM_CE: AtomicPtr<ClassEntry> = AtomicPtr::new(std::ptr::null_mut());

/// How a crmhook function can fail, and the PHP exception each becomes.
pub(super) enum Failure {
    /// `CrmHook\WebhookException`, its code the HTTP status.
    Webhook(WebhookError),
    /// `CrmHook\CrmException`, its code HTTP-like (401, 404, 429, 502, 504).
    Crm(CrmError),
    /// `\ValueError`: an argument that cannot work.
    Value(String),
    /// `\TypeError`: an argument of the wrong shape.
    Type(String),
}

impl From<WebhookError> for Failure {
    fn from(e: WebhookError) -> Self {
        Failure::Webhook(e)
    }
}

impl From<CallError> for Failure {
    fn from(e: CallError) -> Self {
        match e {
            CallError::Options(o) => Failure::Value(o.0),
            CallError::Crm(c) => Failure::Crm(c),
        }
    }
}

impl From<OptionError> for Failure {
    fn from(e: OptionError) -> Self {
        Failure::Value(e.0)
    }
}

impl From<plan::PlanError> for Failure {
    fn from(e: plan::PlanError) -> Self {
        match e {
            plan::PlanError::Options(o) => Failure::Value(o.0),
            unusable => Failure::Webhook(unusable.into()),
        }
    }
}

impl From<Failure> for PhpException {
    fn from(f: Failure) -> Self {
        match f {
            Failure::Webhook(e) => {
                let status = i32::from(e.status());
                PhpException::new(e.to_string(), status, exception_class(&WEBHOOK_CE))
            }
            Failure::Crm(e) => PhpException::new(e.to_string(), i32::from(e.code()), exception_class(&CRM_CE)),
            Failure::Value(m) => PhpException::new(m, 0, ce::value_error()),
            Failure::Type(m) => PhpException::new(m, 0, ce::type_error()),
        }
    }
}

/// Our exception classes, kept when MINIT registers them. `\Exception` is only a last resort
/// should that ever not have happened.
fn exception_class(class: &AtomicPtr<ClassEntry>) -> &'static ClassEntry {
    // SAFETY: the pointer is null or a class entry that lives as long as the process.
    unsafe { class.load(Ordering::Acquire).as_ref() }.unwrap_or_else(ce::exception)
}

pub(super) type PhpResultOf<T> = Result<T, PhpException>;

/// Runs an exported function's body: a failure becomes its exception, a panic (a bug) a
/// `WebhookException` 500 instead of unwinding into the engine.
pub(super) fn run<T>(f: impl FnOnce() -> Result<T, Failure>) -> PhpResultOf<T> {
    no_panic(f).map_err(PhpException::from)
}

/// Registers the exception classes. Plain classes built here (not `#[php_class]`) so PHP code
/// can construct and extend them and they carry a real trace. False when that failed.
pub(super) fn register_exceptions() -> bool {
    // SPL is built into every PHP 8, but a missing parent must fail the start, not crash.
    if runtime_exception().is_none() {
        return false;
    }
    type Keep = fn(&'static mut ClassEntry, ArgInfoTables);
    let classes: [(&str, Keep); 2] = [
        (WEBHOOK_EXCEPTION, |ce, _| WEBHOOK_CE.store(ce, Ordering::Release)),
        (CRM_EXCEPTION, |ce, _| CRM_CE.store(ce, Ordering::Release)),
    ];
    for (name, keep) in classes {
        let parent = || runtime_exception().unwrap_or_else(ce::exception);
        let class = ClassBuilder::new(name).extends((parent, "\\RuntimeException")).registration(keep);
        if class.register().is_err() {
            return false;
        }
    }
    true
}

/// SPL's `RuntimeException`. During MINIT the executor's class table is not set up yet, so
/// it is read from the compiler's, where SPL (built into every PHP 8) registered it.
fn runtime_exception() -> Option<&'static ClassEntry> {
    // SAFETY: the compiler globals and their class table live as long as the process.
    let globals = unsafe { ext_php_rs::ffi::ext_php_rs_compiler_globals().as_ref() }?;
    // SAFETY: as above.
    let table = unsafe { globals.class_table.as_ref() }?;
    let entry = table.get("runtimeexception").filter(|zv| zv.is_ptr())?;
    // SAFETY: class table entries are `IS_PTR` zvals holding a `zend_class_entry *`.
    unsafe { entry.value.ptr.cast::<ClassEntry>().as_ref() }
}
