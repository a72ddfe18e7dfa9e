//! The binding: the only file that knows ext-php-rs. It converts PHP arrays to the core's
//! types and back, registers the `CrmHook\` exceptions and the INI settings, and runs every
//! exported function under [`no_panic`], so even a bug reaches PHP as an exception.

use std::sync::atomic::{AtomicPtr, Ordering};

use ext_php_rs::args::ArgInfoTables;
use ext_php_rs::binary_slice::BinarySlice;

use ext_php_rs::boxed::ZBox;
use ext_php_rs::builders::ClassBuilder;
use ext_php_rs::exception::PhpException;
use ext_php_rs::flags::IniEntryPermission;
use ext_php_rs::prelude::*;
use ext_php_rs::types::{ZendHashTable, Zval};
use ext_php_rs::zend::{ce, ClassEntry, ExecutorGlobals, IniEntryDef, IniEntryDefs, ModuleEntry};
use ext_php_rs::{info_table_end, info_table_header, info_table_row, info_table_start};

use crate::access;
use crate::contact::Contact;
use crate::crm::api::{CrmConfig, CrmError};
use crate::crm::{self, CallError, CallSettings, Crm};
use crate::error::{OptionError, WebhookError};
use crate::form::Form;
use crate::guard::no_panic;
use crate::login::UsernameFormat;
use crate::plan::{self, ExistingUser, Op, PlanOptions, UserPlan};
use crate::webhook::{self, Request, Settings, Webhook, DEFAULT_MAX_BODY_BYTES};

const WEBHOOK_EXCEPTION: &str = "CrmHook\\WebhookException";
const CRM_EXCEPTION: &str = "CrmHook\\CrmException";
static WEBHOOK_CE: AtomicPtr<ClassEntry> = AtomicPtr::new(std::ptr::null_mut());
static CRM_CE: AtomicPtr<ClassEntry> = AtomicPtr::new(std::ptr::null_mut());

static INI_ENTRIES: IniEntryDefs<6> = IniEntryDefs::new([
    IniEntryDef { on_modify: Some(ini_check::<POSITIVE_NUMBER>), ..IniEntryDef::new(c"crmhook.max_body_bytes", c"1048576", IniEntryPermission::All) },
    IniEntryDef { on_modify: Some(ini_check::<POSITIVE_NUMBER>), ..IniEntryDef::new(c"crmhook.http_timeout", c"4", IniEntryPermission::All) },
    IniEntryDef { on_modify: Some(ini_check::<NUMBER>), ..IniEntryDef::new(c"crmhook.tag_cache_ttl", c"600", IniEntryPermission::All) },
    IniEntryDef { on_modify: Some(ini_check::<BOOLEAN>), ..IniEntryDef::new(c"crmhook.http_keepalive", c"1", IniEntryPermission::All) },
    IniEntryDef { on_modify: Some(ini_check::<TEXT>), ..IniEntryDef::new(c"crmhook.ca_file", c"", IniEntryPermission::All) },
    IniEntryDef::end(),
]);

/// The text PHP offers as an INI setting's new value.
///
/// # Safety
/// `value` is null or a valid `zend_string`, as PHP passes it to a change handler.
unsafe fn ini_text<'a>(value: *mut ext_php_rs::ffi::zend_string) -> Option<&'a str> {
    // SAFETY: see above.
    unsafe { value.as_ref() }.and_then(|v| std::str::from_utf8(v.as_bytes()).ok())
}

/// Which check an INI setting's change handler makes.
const POSITIVE_NUMBER: u8 = 0;
const BOOLEAN: u8 = 1;
const NUMBER: u8 = 2;
const TEXT: u8 = 3;

/// INI change handler: `POSITIVE_NUMBER` accepts a whole number above zero, `NUMBER` zero too,
/// `BOOLEAN` what CRM.md calls a boolean, `TEXT` anything. A refused value leaves the old one (`ini_set()` returns false); having a
/// handler at all is also what lets `ini_restore()` work. Returns 0 to accept, -1 to refuse.
unsafe extern "C" fn ini_check<const KIND: u8>(
    _entry: *mut ext_php_rs::ffi::zend_ini_entry,
    new_value: *mut ext_php_rs::ffi::zend_string,
    _arg1: *mut std::ffi::c_void,
    _arg2: *mut std::ffi::c_void,
    _arg3: *mut std::ffi::c_void,
    _stage: std::ffi::c_int,
) -> std::ffi::c_int {
    // SAFETY: PHP passes a valid string or null.
    let ok = unsafe { ini_text(new_value) }.is_some_and(|v| match KIND {
        POSITIVE_NUMBER => v.trim().parse::<u64>().is_ok_and(|n| n > 0),
        NUMBER => v.trim().parse::<u64>().is_ok(),
        TEXT => true,
        _ => crate::text::parse_bool("ini", v).is_ok(),
    });
    if ok {
        0
    } else {
        -1
    }
}

const INI_NAMES: [&str; 5] = ["crmhook.max_body_bytes", "crmhook.http_timeout", "crmhook.tag_cache_ttl", "crmhook.http_keepalive", "crmhook.ca_file"];


/// How a crmhook function can fail, and the PHP exception each becomes.
enum Failure {
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

impl From<ext_php_rs::error::Error> for Failure {
    fn from(e: ext_php_rs::error::Error) -> Self {
        Failure::Webhook(WebhookError::Internal(e.to_string()))
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

type PhpResultOf<T> = Result<T, PhpException>;

fn run<T>(f: impl FnOnce() -> Result<T, Failure>) -> PhpResultOf<T> {
    no_panic(f).map_err(PhpException::from)
}

// ---------------------------------------------------------------------------------------
// The PHP API
// ---------------------------------------------------------------------------------------

/// Parses and authenticates a CRM webhook request.
///
/// `$request`: `method`, `query` (raw query string), `body` (raw body), `content_type`,
/// `headers` (lower-case names → values), optional `form` (`$_POST`, for multipart bodies).
/// `$settings`: `crm`, `access_key`, optional `max_body_bytes`.
///
/// The access key is checked first (query, form body, JSON body or `X-Crmhook-Key` header).
/// Returns `action`, `crm`, `contact_id`, `email`, `tags` (null when the payload has none),
/// `fields`, `role`, `send_notification`, `async` (null/true/false), `initiated_from`.
///
/// @throws \CrmHook\WebhookException whose code is the HTTP status to answer with.
#[php_function]
pub fn crmhook_parse_webhook(request: &ZendHashTable, settings: &ZendHashTable) -> PhpResultOf<ZBox<ZendHashTable>> {
    run(|| {
        let crm = Crm::from_slug(&string_of(settings, "crm", "$settings")?.unwrap_or_default())?;
        let access_key = string_of(settings, "access_key", "$settings")?.unwrap_or_default();
        let max_body_bytes = match settings.get("max_body_bytes") {
            Some(v) if !v.is_null() => usize::try_from(v.long().ok_or_else(|| {
                Failure::Type("$settings['max_body_bytes'] must be an int".into())
            })?)
            .map_err(|_| Failure::Value("$settings['max_body_bytes'] must not be negative".into()))?,
            _ => ini_max_body_bytes(),
        };

        let method = string_of(request, "method", "$request")?.unwrap_or_else(|| "GET".into());
        let content_type = string_of(request, "content_type", "$request")?.unwrap_or_default();
        let query = bytes_of(request, "query", "$request")?;
        let body = bytes_of(request, "body", "$request")?;
        let key_header = match request.get("headers") {
            Some(h) if h.is_array() => h.array().and_then(header_key),
            Some(h) if !h.is_null() => return Err(Failure::Type("$request['headers'] must be an array".into())),
            _ => None,
        };
        let form = match request.get("form") {
            Some(f) if f.is_array() => {
                let mut pairs = Vec::new();
                if let Some(form) = f.array() {
                    flatten_form(entries(form), "", &mut pairs, 0)?;
                }
                Some(Form::from_pairs(pairs))
            }
            _ => None,
        };

        let request = Request { method: &method, query, body, content_type: &content_type, key_header, form };
        let settings = Settings { crm, access_key: &access_key, max_body_bytes };
        let hook = webhook::parse_webhook(&request, &settings)?;
        Ok(webhook_array(&hook)?)
    })
}

/// Compares an access key with the expected one in constant time. False when either is empty.
#[php_function]
pub fn crmhook_verify_access_key(given: BinarySlice<u8>, expected: BinarySlice<u8>) -> PhpResultOf<bool> {
    run(|| Ok(access::verify_access_key(&given, &expected)))
}

/// A new access key: 32 letters and digits (190 bits) from the OS CSPRNG, URL-safe.
#[php_function]
pub fn crmhook_generate_access_key() -> PhpResultOf<String> {
    run(|| Ok(access::generate_access_key()?))
}

/// A new password of letters and digits (at least one upper-case, one lower-case, one digit),
/// from the OS CSPRNG. `$length` is 8 to 256.
#[php_function]
#[php(defaults(length = 24))]
pub fn crmhook_generate_password(length: i64) -> PhpResultOf<String> {
    run(|| {
        let length = usize::try_from(length).map_err(|_| Failure::Value(format!("password length must be between 8 and 256, got {length}")))?;
        Ok(access::generate_password(length)?)
    })
}

/// The capabilities that make a user privileged: a webhook never grants a role that carries one,
/// and never changes a user who holds one. The plugin may add to this list (never remove).
#[php_function]
pub fn crmhook_privileged_capabilities() -> PhpResultOf<Vec<String>> {
    run(|| Ok(plan::DANGEROUS_CAPABILITIES.iter().map(|c| (*c).to_owned()).collect()))
}

/// Checks a CRM `api_url` before it is saved: `https://`, or plain `http://` only for
/// localhost and private network addresses (credentials travel in every request).
///
/// @throws \ValueError naming what is wrong.
#[php_function]
pub fn crmhook_check_api_url(api_url: String) -> PhpResultOf<()> {
    run(|| crate::crm::check_api_url(&api_url).map_err(|why| Failure::Value(format!("the api_url {why}"))))
}

/// Turns a normalized CRM contact into a user plan: `op` (`create` | `update`), `user` (the
/// `wp_insert_user` / `wp_update_user` fields), `meta`, `tags`, `password_generated`,
/// `return_password` (null or `['field' => …, 'value' => …]`) and `notices`.
///
/// `$contact`: `id`, `email`, `first_name`, `last_name`, `fields`, `tags`.
/// `$options`: `field_map`, `username_format` (`email` | `flname` | `fnamenum`), `default_role`,
/// `allowed_roles`, `requested_role`, `return_password_field`, `roles` (slug → capabilities),
/// `privileged_capabilities` (capabilities the site adds to crmhook_privileged_capabilities()),
/// `update_existing_passwords` (bool: a mapped password field may change the password of a user
/// the site did not create from this contact; off by default).
/// `$user`: null, or `ID`, `user_login`, `user_email`, `roles`, `privileged`,
/// `created_from_contact` (bool: the site created this user from this contact).
///
/// @throws \CrmHook\WebhookException (code 422) when a new user cannot be made (no email), or
/// (code 409) when the user is privileged: a webhook never changes such a user.
#[php_function]
pub fn crmhook_map_contact(contact: &ZendHashTable, options: &ZendHashTable, user: Option<&ZendHashTable>) -> PhpResultOf<ZBox<ZendHashTable>> {
    run(|| {
        let roles = roles_of(options)?;
        let options = options_from(options, &roles)?;
        let contact = contact_from(contact, &options.field_map)?;
        let user = user.map(user_from).transpose()?;
        let plan = plan::map_contact(&contact, &options, user.as_ref())?;
        Ok(plan_array(&plan)?)
    })
}

/// Loads a contact from the CRM, normalized: `id`, `email`, `first_name`, `last_name`,
/// `fields` (CRM field id → text), `tags` (names for ActiveCampaign, ids elsewhere).
///
/// `$crm`: `crm`, `api_url` (the CRM's public host by default, where it has one), and the
/// credentials: `api_key`, `api_secret` (ConvertKit v3), `username` + `password` (FluentCRM,
/// FunnelKit). Timeouts come from `crmhook.http_timeout`.
///
/// @throws \CrmHook\CrmException 401 bad credentials, 404 not found (or deleted), 429 rate
/// limited, 502 a bad answer, 504 timeout; the message names the CRM and the step.
#[php_function]
pub fn crmhook_fetch_contact(crm: &ZendHashTable, contact_id: String) -> PhpResultOf<ZBox<ZendHashTable>> {
    run(|| {
        let contact = crm::fetch_contact(&crm_config(crm)?, call_settings(), &contact_id)?;
        contact_array(&contact)
    })
}

/// The id of the CRM contact with this email, or null when there is none.
///
/// @throws \CrmHook\CrmException
#[php_function]
pub fn crmhook_find_contact(crm: &ZendHashTable, email: String) -> PhpResultOf<Option<String>> {
    run(|| Ok(crm::find_contact(&crm_config(crm)?, call_settings(), &email)?))
}

/// Writes fields (CRM field id → value) to a contact: the returned password, the username.
///
/// @throws \CrmHook\CrmException
#[php_function]
pub fn crmhook_update_contact(crm: &ZendHashTable, contact_id: String, fields: &ZendHashTable) -> PhpResultOf<()> {
    run(|| {
        let fields = text_pairs_of(fields, "$fields")?;
        Ok(crm::update_contact(&crm_config(crm)?, call_settings(), &contact_id, &fields)?)
    })
}

/// Every tag of the CRM account, id → name, for the settings screen.
///
/// @throws \CrmHook\CrmException
#[php_function]
pub fn crmhook_list_tags(crm: &ZendHashTable) -> PhpResultOf<ZBox<ZendHashTable>> {
    run(|| pairs_array(&crm::list_tags(&crm_config(crm)?, call_settings())?))
}

/// Registers a ConvertKit or Kit automation rule: when `$tag_id` is added (`$event`
/// `subscriber.tag_add`), the CRM calls `$target_url`. Returns the rule id.
///
/// @throws \CrmHook\CrmException
#[php_function]
pub fn crmhook_register_webhook(crm: &ZendHashTable, event: String, tag_id: String, target_url: String) -> PhpResultOf<String> {
    run(|| Ok(crm::register_webhook(&crm_config(crm)?, call_settings(), &event, &tag_id, &target_url)?))
}

/// Deletes a ConvertKit or Kit automation rule.
///
/// @throws \CrmHook\CrmException
#[php_function]
pub fn crmhook_unregister_webhook(crm: &ZendHashTable, rule_id: String) -> PhpResultOf<()> {
    run(|| Ok(crm::unregister_webhook(&crm_config(crm)?, call_settings(), &rule_id)?))
}

/// Removes a tag from a ConvertKit or Kit subscriber (the update tag after an `update`
/// webhook, so the rule can fire again).
///
/// @throws \CrmHook\CrmException
#[php_function]
pub fn crmhook_remove_tag(crm: &ZendHashTable, contact_id: String, tag_id: String) -> PhpResultOf<()> {
    run(|| Ok(crm::remove_tag(&crm_config(crm)?, call_settings(), &contact_id, &tag_id)?))
}

// ---------------------------------------------------------------------------------------
// Module, exceptions, INI, phpinfo
// ---------------------------------------------------------------------------------------

/// Registers the INI settings and the exception classes. Plain classes built here (not
/// `#[php_class]`) so PHP code can construct and extend them and they carry a real trace.
extern "C" fn startup(_ty: i32, module_number: i32) -> i32 {
    IniEntryDef::register(INI_ENTRIES.as_slice(), module_number);
    const FAILURE: i32 = -1;
    // SPL is built into every PHP 8, but a missing parent must fail the start, not crash.
    if runtime_exception().is_none() {
        return FAILURE;
    }
    let classes: [(&str, fn(&'static mut ClassEntry, ArgInfoTables)); 2] = [
        (WEBHOOK_EXCEPTION, |ce, _| WEBHOOK_CE.store(ce, Ordering::Release)),
        (CRM_EXCEPTION, |ce, _| CRM_CE.store(ce, Ordering::Release)),
    ];
    for (name, keep) in classes {
        let parent = || runtime_exception().unwrap_or_else(ce::exception);
        let class = ClassBuilder::new(name).extends((parent, "\\RuntimeException")).registration(keep);
        if class.register().is_err() {
            return FAILURE;
        }
    }
    0
}

/// SPL's `RuntimeException`. During MINIT the executor's class table is not set up yet, so
/// it is read from the compiler's, where SPL (built into every PHP 8) registered it.
fn runtime_exception() -> Option<&'static ClassEntry> {
    // SAFETY: the compiler globals and their class table live as long as the process.
    let globals = unsafe { ext_php_rs::ffi::ext_php_rs_compiler_globals().as_ref() }?;
    let table = unsafe { globals.class_table.as_ref() }?;
    let entry = table.get("runtimeexception").filter(|zv| zv.is_ptr())?;
    // SAFETY: class table entries are `IS_PTR` zvals holding a `zend_class_entry *`.
    unsafe { entry.value.ptr.cast::<ClassEntry>().as_ref() }
}

extern "C" fn module_info(_module: *mut ModuleEntry) {
    info_table_start!();
    info_table_row!("crmhook support", "enabled");
    info_table_row!("version", env!("CARGO_PKG_VERSION"));
    info_table_row!("git revision", env!("CRMHOOK_GIT_REV"));
    info_table_row!("built for PHP", env!("CRMHOOK_PHP_VERSION"));
    info_table_row!("PHP API", env!("CRMHOOK_PHP_API"));
    info_table_row!("compiler", env!("CRMHOOK_RUSTC"));
    info_table_row!("build profile", env!("CRMHOOK_PROFILE"));
    info_table_row!("CRMs", "ActiveCampaign, ConvertKit, Kit, FluentCRM, FunnelKit, Keap");
    info_table_end!();
    info_table_start!();
    info_table_header!("Directive", "Local Value", "Master Value");
    for name in INI_NAMES {
        let (local, master) = ini_value(name).unwrap_or_default();
        info_table_row!(name, local, master);
    }
    info_table_end!();
}

/// An INI setting's current and original value, read from the engine's INI table.
///
/// Read through `EG(ini_directives)` rather than `zend_ini_long()` so the extension links
/// only against what ext-php-rs already uses, and `cargo php stubs` can load it outside PHP.
fn ini_value(name: &str) -> Option<(String, String)> {
    let globals = ExecutorGlobals::get();
    // SAFETY: EG(ini_directives) is set up before any module starts and lives until shutdown.
    let table = unsafe { globals.ini_directives.as_ref() }?;
    let entry = table.get(name).filter(|zv| zv.is_ptr())?;
    // SAFETY: INI table entries are `IS_PTR` zvals holding a `zend_ini_entry *`.
    let entry = unsafe { entry.value.ptr.cast::<ext_php_rs::ffi::zend_ini_entry>().as_ref() }?;
    let text = |s: *mut ext_php_rs::ffi::zend_string| {
        // SAFETY: INI values are valid zend_strings or null.
        unsafe { s.as_ref() }.map(|z| String::from_utf8_lossy(z.as_bytes()).into_owned()).unwrap_or_default()
    };
    let current = text(entry.value);
    let original = if entry.modified != 0 { text(entry.orig_value) } else { current.clone() };
    Some((current, original))
}

/// A whole-number INI setting, falling back to `default` when unset, negative or not a number.
fn ini_number(name: &str, default: usize) -> usize {
    ini_value(name).and_then(|(v, _)| v.trim().parse::<usize>().ok()).filter(|&n| n > 0).unwrap_or(default)
}

fn ini_max_body_bytes() -> usize {
    ini_number("crmhook.max_body_bytes", DEFAULT_MAX_BODY_BYTES)
}

fn call_settings() -> CallSettings {
    let keep_alive = ini_value("crmhook.http_keepalive")
        .map(|(v, _)| crate::text::parse_bool("crmhook.http_keepalive", &v).unwrap_or(true))
        .unwrap_or(true);
    let default = CallSettings::default();
    let tag_cache_ttl = ini_value("crmhook.tag_cache_ttl")
        .and_then(|(v, _)| v.trim().parse::<u64>().ok())
        .map_or(default.tag_cache_ttl, std::time::Duration::from_secs);
    CallSettings {
        timeout: std::time::Duration::from_secs(ini_number("crmhook.http_timeout", default.timeout.as_secs() as usize) as u64),
        keep_alive,
        tag_cache_ttl,
        ca_file: ini_value("crmhook.ca_file").map(|(v, _)| v.trim().to_owned()).filter(|v| !v.is_empty()),
    }
}

#[php_module]
pub fn get_module(module: ModuleBuilder) -> ModuleBuilder {
    module
        .startup_function(startup)
        .info_function(module_info)
        .function(wrap_function!(crmhook_parse_webhook))
        .function(wrap_function!(crmhook_verify_access_key))
        .function(wrap_function!(crmhook_generate_access_key))
        .function(wrap_function!(crmhook_generate_password))
        .function(wrap_function!(crmhook_map_contact))
        .function(wrap_function!(crmhook_privileged_capabilities))
        .function(wrap_function!(crmhook_check_api_url))
        .function(wrap_function!(crmhook_fetch_contact))
        .function(wrap_function!(crmhook_find_contact))
        .function(wrap_function!(crmhook_update_contact))
        .function(wrap_function!(crmhook_list_tags))
        .function(wrap_function!(crmhook_register_webhook))
        .function(wrap_function!(crmhook_unregister_webhook))
        .function(wrap_function!(crmhook_remove_tag))
}

// ---------------------------------------------------------------------------------------
// PHP arrays → core types
// ---------------------------------------------------------------------------------------

/// `$arr[$key]` as text: strings (UTF-8), ints and floats; null or absent is `None`.
fn string_of(arr: &ZendHashTable, key: &str, what: &str) -> Result<Option<String>, Failure> {
    match arr.get(key) {
        None => Ok(None),
        Some(v) => scalar_text(v).map_err(|why| Failure::Type(format!("{what}['{key}'] {why}"))),
    }
}

fn scalar_text(v: &Zval) -> Result<Option<String>, &'static str> {
    if v.is_null() {
        Ok(None)
    } else if let Some(s) = v.zend_str() {
        s.as_str().map(|s| Some(s.to_owned())).map_err(|_| "must be valid UTF-8")
    } else if let Some(n) = v.long() {
        Ok(Some(n.to_string()))
    } else if let Some(f) = v.double() {
        Ok(Some(f.to_string()))
    } else if let Some(b) = v.bool() {
        Ok(Some(if b { "1".into() } else { String::new() }))
    } else {
        Err("must be a string")
    }
}

/// `$arr[$key]` as raw bytes (the query and body may hold anything).
fn bytes_of<'a>(arr: &'a ZendHashTable, key: &str, what: &str) -> Result<&'a [u8], Failure> {
    match arr.get(key) {
        None => Ok(b""),
        Some(v) if v.is_null() => Ok(b""),
        Some(v) => v.zend_str().map(|s| s.as_bytes()).ok_or_else(|| Failure::Type(format!("{what}['{key}'] must be a string"))),
    }
}

/// An array key, borrowed from the engine.
#[derive(Debug, Clone, Copy)]
enum Key<'a> {
    Int(i64),
    Str(&'a [u8]),
}

impl Key<'_> {
    fn text(&self) -> String {
        match self {
            Key::Int(n) => n.to_string(),
            Key::Str(s) => String::from_utf8_lossy(s).into_owned(),
        }
    }
    fn is(&self, name: &str) -> bool {
        matches!(self, Key::Str(s) if s.eq_ignore_ascii_case(name.as_bytes()))
    }
}

/// A PHP array's entries in order, keys and values borrowed from the engine: nothing is
/// allocated, unlike ext-php-rs's iterator, which copies every key into a `String`.
fn entries(ht: &ZendHashTable) -> impl Iterator<Item = (Key<'_>, &Zval)> {
    const HASH_FLAG_PACKED: u32 = 1 << 2;
    // SAFETY: reading the flags of a live array.
    let flags = unsafe { ht.u.flags };
    let used = ht.nNumUsed as usize;
    let packed = cfg!(php_packed_zvals) && flags & HASH_FLAG_PACKED != 0;
    (0..used).filter_map(move |i| {
        // SAFETY: `i < nNumUsed`, so the slot is initialised; undefined (deleted) slots are skipped.
        // PHP ≥ 8.2 keeps packed arrays as bare zvals, all others as buckets.
        unsafe {
            if packed {
                let zv = &*ht.__bindgen_anon_1.arPacked.add(i);
                (zv.u1.type_info & 0xff != 0).then_some((Key::Int(i as i64), zv))
            } else {
                let bucket = &*ht.__bindgen_anon_1.arData.add(i);
                if bucket.val.u1.type_info & 0xff == 0 {
                    return None;
                }
                let key = match bucket.key.as_ref() {
                    Some(k) => Key::Str(k.as_bytes()),
                    None => Key::Int(bucket.h as i64),
                };
                Some((key, &bucket.val))
            }
        }
    })
}

/// The `X-Crmhook-Key` header, whatever the case of its name; a list takes its first value.
fn header_key(headers: &ZendHashTable) -> Option<&[u8]> {
    entries(headers).find_map(|(name, value)| {
        if !name.is("x-crmhook-key") {
            return None;
        }
        let value = match value.array() {
            Some(list) => list.values().next()?,
            None => value,
        };
        value.zend_str().map(|s| s.as_bytes())
    })
}

/// `$_POST` back into flat bracket keys (`contact[fields][12]`), as the raw body had them.
fn flatten_form<'a>(
    items: impl Iterator<Item = (Key<'a>, &'a Zval)>,
    prefix: &str,
    out: &mut Vec<(String, String)>,
    depth: usize,
) -> Result<(), Failure> {
    if depth > 16 {
        return Err(Failure::Webhook(WebhookError::MalformedBody { format: "form", reason: "nested too deeply".into() }));
    }
    for (key, value) in items {
        let key = key.text();
        let name = if prefix.is_empty() { key } else { format!("{prefix}[{key}]") };
        if let Some(inner) = value.array() {
            flatten_form(entries(inner), &name, out, depth + 1)?;
        } else {
            let text = scalar_text(value)
                .map_err(|_| WebhookError::invalid("form", format!("\"{}\" is not text", crate::text::echo(&name))))?
                .unwrap_or_default();
            out.push((name, text));
        }
    }
    Ok(())
}

fn text_list(v: Option<&Zval>, what: &str) -> Result<Vec<String>, Failure> {
    let Some(v) = v.filter(|v| !v.is_null()) else { return Ok(Vec::new()) };
    let list = v.array().ok_or_else(|| Failure::Type(format!("{what} must be an array")))?;
    list.values()
        .map(|item| {
            scalar_text(item)
                .map(Option::unwrap_or_default)
                .map_err(|why| Failure::Type(format!("each of {what} {why}")))
        })
        .collect()
}

fn text_pairs(v: Option<&Zval>, what: &str) -> Result<Vec<(String, String)>, Failure> {
    let Some(v) = v.filter(|v| !v.is_null()) else { return Ok(Vec::new()) };
    let map = v.array().ok_or_else(|| Failure::Type(format!("{what} must be an array")))?;
    let mut out = Vec::with_capacity(map.len());
    for (key, item) in entries(map) {
        out.push((key.text(), field_text(item, what, &key.text())?));
    }
    Ok(out)
}

/// A field value as text; a multi-select arrives as a list and is joined the way CRMs show it.
fn field_text(item: &Zval, what: &str, key: &str) -> Result<String, Failure> {
    Ok(match item.array() {
        Some(list) => list.values().filter_map(|x| scalar_text(x).ok().flatten()).collect::<Vec<_>>().join(", "),
        None => scalar_text(item).map_err(|why| Failure::Type(format!("{what}['{key}'] {why}")))?.unwrap_or_default(),
    })
}

fn text_pairs_of(arr: &ZendHashTable, what: &str) -> Result<Vec<(String, String)>, Failure> {
    let mut out = Vec::with_capacity(arr.len());
    for (key, item) in entries(arr) {
        let value = scalar_text(item).map_err(|why| Failure::Type(format!("{what}['{}'] {why}", key.text())))?;
        out.push((key.text(), value.unwrap_or_default()));
    }
    Ok(out)
}

fn crm_config(arr: &ZendHashTable) -> Result<CrmConfig, Failure> {
    let text = |key: &str| string_of(arr, key, "$crm").map(Option::unwrap_or_default);
    Ok(CrmConfig {
        crm: Some(Crm::from_slug(&text("crm")?)?),
        api_url: text("api_url")?,
        api_key: text("api_key")?,
        api_secret: text("api_secret")?,
        username: text("username")?,
        password: text("password")?,
    })
}

/// The contact, with only the fields the field map names: the plan reads no others, and a
/// contact can carry hundreds.
fn contact_from(arr: &ZendHashTable, field_map: &[(String, String)]) -> Result<Contact, Failure> {
    let text = |key: &str| string_of(arr, key, "$contact").map(Option::unwrap_or_default);
    let mut fields = Vec::with_capacity(field_map.len());
    if let Some(all) = arr.get("fields").filter(|v| !v.is_null()) {
        let all = all.array().ok_or_else(|| Failure::Type("$contact['fields'] must be an array".into()))?;
        for (crm_field, _) in field_map {
            if let Some(item) = all.get(crm_field.as_str()) {
                fields.push((crm_field.clone(), field_text(item, "$contact['fields']", crm_field)?));
            }
        }
    }
    Ok(Contact {
        id: text("id")?,
        email: text("email")?,
        first_name: text("first_name")?,
        last_name: text("last_name")?,
        fields,
        tags: text_list(arr.get("tags"), "$contact['tags']")?,
    })
}

/// `$options['roles']`, read in place: slug → capabilities (`cap => true`, as `wp_roles()` keeps
/// them, a whole `wp_roles()->roles` entry with `capabilities`, or a plain list of names).
struct PhpRoles<'a>(Option<&'a ZendHashTable>);

impl PhpRoles<'_> {
    fn capabilities(&self, role: &str) -> Option<&ZendHashTable> {
        let caps = self.0?.get(role)?.array()?;
        Some(caps.get("capabilities").and_then(Zval::array).unwrap_or(caps))
    }
}

impl plan::Roles for PhpRoles<'_> {
    fn exists(&self, role: &str) -> bool {
        self.capabilities(role).is_some()
    }
    fn grants_any(&self, role: &str, wanted: &[&str]) -> bool {
        let Some(caps) = self.capabilities(role) else { return false };
        entries(caps).any(|(key, value)| {
            let name = match (key, value.zend_str()) {
                (Key::Int(_), Some(name)) => name.as_bytes(),
                (Key::Str(name), _) if value.coerce_to_bool() => name,
                _ => return false,
            };
            wanted.iter().any(|w| w.as_bytes() == name)
        })
    }
}

fn options_from<'a>(arr: &'a ZendHashTable, roles: &'a PhpRoles<'a>) -> Result<PlanOptions<'a>, Failure> {
    let text = |key: &str| string_of(arr, key, "$options");
    let format_raw = text("username_format")?.unwrap_or_default();
    let username_format = UsernameFormat::parse(&format_raw).ok_or_else(|| {
        Failure::Value(format!("unknown username_format \"{}\": use email, flname or fnamenum", crate::text::echo(&format_raw)))
    })?;
    Ok(PlanOptions {
        field_map: text_pairs(arr.get("field_map"), "$options['field_map']")?,
        username_format,
        default_role: text("default_role")?.unwrap_or_else(|| "subscriber".into()),
        allowed_roles: text_list(arr.get("allowed_roles"), "$options['allowed_roles']")?,
        requested_role: text("requested_role")?.filter(|r| !r.trim().is_empty()),
        return_password_field: text("return_password_field")?.filter(|r| !r.trim().is_empty()),
        roles,
        privileged_capabilities: text_list(arr.get("privileged_capabilities"), "$options['privileged_capabilities']")?,
        update_existing_passwords: arr.get("update_existing_passwords").is_some_and(Zval::coerce_to_bool),
    })
}

/// `$options['roles']` checked for shape once, then read lazily by [`PhpRoles`].
fn roles_of(arr: &ZendHashTable) -> Result<PhpRoles<'_>, Failure> {
    match arr.get("roles") {
        None => Ok(PhpRoles(None)),
        Some(v) if v.is_null() => Ok(PhpRoles(None)),
        Some(v) => {
            let all = v.array().ok_or_else(|| Failure::Type("$options['roles'] must be an array".into()))?;
            if entries(all).any(|(_, caps)| !caps.is_array()) {
                return Err(Failure::Type("each of $options['roles'] must be an array".into()));
            }
            Ok(PhpRoles(Some(all)))
        }
    }
}

fn user_from(arr: &ZendHashTable) -> Result<ExistingUser, Failure> {
    let id = match arr.get("ID") {
        Some(v) => v.coerce_to_long().and_then(|n| u64::try_from(n).ok()).filter(|&n| n > 0),
        None => None,
    }
    .ok_or_else(|| Failure::Value("$user['ID'] must be a positive user id".into()))?;
    let text = |key: &str| string_of(arr, key, "$user").map(Option::unwrap_or_default);
    Ok(ExistingUser {
        id,
        login: text("user_login")?,
        email: text("user_email")?,
        roles: text_list(arr.get("roles"), "$user['roles']")?,
        privileged: arr.get("privileged").is_some_and(Zval::coerce_to_bool),
        created_from_contact: arr.get("created_from_contact").is_some_and(Zval::coerce_to_bool),
    })
}

// ---------------------------------------------------------------------------------------
// Core types → PHP arrays
// ---------------------------------------------------------------------------------------

fn pairs_array(pairs: &[(String, String)]) -> Result<ZBox<ZendHashTable>, Failure> {
    let mut ht = ZendHashTable::with_capacity(u32::try_from(pairs.len()).unwrap_or(u32::MAX));
    for (k, v) in pairs {
        // `From<&str>` turns "12" into the integer key 12, as PHP itself would.
        ht.insert(k.as_str(), v.as_str())?;
    }
    Ok(ht)
}

fn list_array(items: &[String]) -> Result<ZBox<ZendHashTable>, Failure> {
    let mut ht = ZendHashTable::with_capacity(u32::try_from(items.len()).unwrap_or(u32::MAX));
    for item in items {
        ht.push(item.as_str())?;
    }
    Ok(ht)
}

fn contact_array(contact: &Contact) -> Result<ZBox<ZendHashTable>, Failure> {
    let mut ht = ZendHashTable::with_capacity(6);
    ht.insert("id", contact.id.as_str())?;
    ht.insert("email", contact.email.as_str())?;
    ht.insert("first_name", contact.first_name.as_str())?;
    ht.insert("last_name", contact.last_name.as_str())?;
    ht.insert("fields", pairs_array(&contact.fields)?)?;
    ht.insert("tags", list_array(&contact.tags)?)?;
    Ok(ht)
}

fn webhook_array(hook: &Webhook) -> Result<ZBox<ZendHashTable>, Failure> {
    let mut ht = ZendHashTable::with_capacity(10);
    ht.insert("action", hook.action.as_str())?;
    ht.insert("crm", hook.crm.slug())?;
    ht.insert("contact_id", hook.contact_id.as_deref())?;
    ht.insert("email", hook.email.as_deref())?;
    match &hook.tags {
        Some(tags) => ht.insert("tags", list_array(tags)?)?,
        None => ht.insert("tags", ())?,
    }
    ht.insert("fields", pairs_array(&hook.fields)?)?;
    ht.insert("role", hook.role.as_deref())?;
    ht.insert("send_notification", hook.send_notification)?;
    ht.insert("async", hook.run_async)?;
    ht.insert("initiated_from", hook.initiated_from.as_deref())?;
    Ok(ht)
}

fn plan_array(plan: &UserPlan) -> Result<ZBox<ZendHashTable>, Failure> {
    let mut user = ZendHashTable::with_capacity(8);
    let u = &plan.user;
    if let Some(id) = u.id {
        user.insert("ID", i64::try_from(id).unwrap_or(i64::MAX))?;
    }
    for (key, value) in [
        ("user_login", u.login.as_deref()),
        ("user_email", u.email.as_deref()),
        ("user_pass", u.password.as_ref().map(plan::Password::reveal)),
        ("first_name", u.first_name.as_deref()),
        ("last_name", u.last_name.as_deref()),
        ("display_name", u.display_name.as_deref()),
        ("role", u.role.as_deref()),
    ] {
        if let Some(value) = value {
            user.insert(key, value)?;
        }
    }

    let mut ht = ZendHashTable::with_capacity(7);
    ht.insert("op", if plan.op == Op::Create { "create" } else { "update" })?;
    ht.insert("user", user)?;
    ht.insert("meta", pairs_array(&plan.meta)?)?;
    ht.insert("tags", list_array(&plan.tags)?)?;
    ht.insert("password_generated", plan.password_generated)?;
    match &plan.return_password {
        Some((field, password)) => {
            let mut ret = ZendHashTable::with_capacity(2);
            ret.insert("field", field.as_str())?;
            ret.insert("value", password.reveal())?;
            ht.insert("return_password", ret)?;
        }
        None => ht.insert("return_password", ())?,
    }
    ht.insert("notices", list_array(&plan.notices)?)?;
    Ok(ht)
}
