//! The `crmhook.*` INI settings: their definitions, the checks a new value must pass, and
//! reading the current value from the engine's INI table.

use std::sync::atomic::{AtomicUsize, Ordering};

use ext_php_rs::ffi::{zend_ini_entry, zend_string};
use ext_php_rs::flags::IniEntryPermission;
use ext_php_rs::zend::{ExecutorGlobals, IniEntryDef, IniEntryDefs};

use crate::crm::CallSettings;
use crate::webhook::DEFAULT_MAX_BODY_BYTES;

pub(super) static INI_ENTRIES: IniEntryDefs<9> = IniEntryDefs::new([
    IniEntryDef {
        on_modify: Some(max_body_bytes_changed),
        ..IniEntryDef::new(c"crmhook.max_body_bytes", c"1048576", IniEntryPermission::All)
    },
    IniEntryDef {
        on_modify: Some(ini_check::<POSITIVE_NUMBER>),
        ..IniEntryDef::new(c"crmhook.http_timeout", c"4", IniEntryPermission::All)
    },
    IniEntryDef { on_modify: Some(ini_check::<NUMBER>), ..IniEntryDef::new(c"crmhook.tag_cache_ttl", c"600", IniEntryPermission::All) },
    IniEntryDef { on_modify: Some(ini_check::<BOOLEAN>), ..IniEntryDef::new(c"crmhook.http_keepalive", c"1", IniEntryPermission::All) },
    IniEntryDef { on_modify: Some(ini_check::<TEXT>), ..IniEntryDef::new(c"crmhook.ca_file", c"", IniEntryPermission::All) },
    // The fast lane (docs/fast-lane.md): set by the server's owner (php.ini, the php-fpm pool,
    // .user.ini), never by a script, since they decide which PHP file runs first.
    IniEntryDef { on_modify: Some(ini_check::<BOOLEAN>), ..IniEntryDef::new(c"crmhook.lane", c"0", LANE_PERMISSION) },
    IniEntryDef { on_modify: Some(ini_check::<TEXT>), ..IniEntryDef::new(c"crmhook.lane_entry", c"", LANE_PERMISSION) },
    IniEntryDef { on_modify: Some(ini_check::<TEXT>), ..IniEntryDef::new(c"crmhook.lane_config", c"", LANE_PERMISSION) },
    IniEntryDef::end(),
]);

/// The names, in the order `phpinfo()` lists them.
pub(super) const INI_NAMES: [&str; 8] = [
    "crmhook.max_body_bytes",
    "crmhook.http_timeout",
    "crmhook.tag_cache_ttl",
    "crmhook.http_keepalive",
    "crmhook.ca_file",
    "crmhook.lane",
    "crmhook.lane_entry",
    "crmhook.lane_config",
];

/// php.ini, the pool's `php_admin_value`, `.user.ini`: not `ini_set()`.
const LANE_PERMISSION: IniEntryPermission = IniEntryPermission::System.union(IniEntryPermission::PerDir);

/// Which check an INI setting's change handler makes.
const POSITIVE_NUMBER: u8 = 0;
const BOOLEAN: u8 = 1;
const NUMBER: u8 = 2;
const TEXT: u8 = 3;

/// A `zend_string`'s text, or `None` for null or invalid UTF-8.
///
/// # Safety
/// `value` is null or a valid `zend_string` that outlives `'a`.
unsafe fn zend_text<'a>(value: *const zend_string) -> Option<&'a str> {
    // SAFETY: see above.
    let value = unsafe { value.as_ref() }?;
    std::str::from_utf8(value.as_bytes()).ok()
}

/// INI change handler: `POSITIVE_NUMBER` accepts a whole number above zero, `NUMBER` zero too,
/// `BOOLEAN` what docs/wire-formats.md calls a boolean, `TEXT` anything. A refused value leaves the old one (`ini_set()` returns false); having a
/// handler at all is also what lets `ini_restore()` work. Returns 0 to accept, -1 to refuse.
///
/// # Safety
/// Only PHP calls it, as an INI change handler: `new_value` is null or a valid `zend_string`.
unsafe extern "C" fn ini_check<const KIND: u8>(
    _entry: *mut zend_ini_entry,
    new_value: *mut zend_string,
    _arg1: *mut std::ffi::c_void,
    _arg2: *mut std::ffi::c_void,
    _arg3: *mut std::ffi::c_void,
    _stage: std::ffi::c_int,
) -> std::ffi::c_int {
    // SAFETY: PHP passes a valid string or null, alive for the call.
    let ok = unsafe { zend_text(new_value) }.is_some_and(|v| match KIND {
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

/// `crmhook.max_body_bytes` as its change handler last accepted it; 0 before the first call.
///
/// Every webhook needs it, and looking it up in the INI table (a hash lookup and a number parse)
/// was 7 % of a small call. The engine calls the handler for every change: at start-up with the
/// php.ini value, on `ini_set()` and `ini_restore()`, and when a request ends and its changes are
/// undone, so the copy is always the current value. One copy serves the whole process, which is
/// right for the NTS PHP of php-fpm and the CLI; a thread-safe (ZTS) PHP runs requests with their
/// own INI values side by side, so there the table is read on every call as before.
static MAX_BODY_BYTES: AtomicUsize = AtomicUsize::new(0);

/// INI change handler of `crmhook.max_body_bytes`: the check of [`ini_check`], then the copy.
///
/// # Safety
/// As for [`ini_check`].
unsafe extern "C" fn max_body_bytes_changed(
    entry: *mut zend_ini_entry,
    new_value: *mut zend_string,
    arg1: *mut std::ffi::c_void,
    arg2: *mut std::ffi::c_void,
    arg3: *mut std::ffi::c_void,
    stage: std::ffi::c_int,
) -> std::ffi::c_int {
    // SAFETY: our caller's promise, passed on unchanged.
    let verdict = unsafe { ini_check::<POSITIVE_NUMBER>(entry, new_value, arg1, arg2, arg3, stage) };
    if verdict == 0 {
        // SAFETY: as in `ini_check`.
        let value = unsafe { zend_text(new_value) }.and_then(|v| v.trim().parse::<usize>().ok()).unwrap_or(DEFAULT_MAX_BODY_BYTES);
        MAX_BODY_BYTES.store(value, Ordering::Relaxed);
    }
    verdict
}

/// An INI setting's entry in the engine's INI table.
///
/// Read through `EG(ini_directives)` rather than `zend_ini_long()` so the extension links
/// only against what ext-php-rs already uses, and `cargo php stubs` can load it outside PHP.
fn ini_entry(name: &str) -> Option<&'static zend_ini_entry> {
    let globals = ExecutorGlobals::get();
    // SAFETY: EG(ini_directives) is set up before any module starts and lives until shutdown.
    let table = unsafe { globals.ini_directives.as_ref() }?;
    let entry = table.get(name).filter(|zv| zv.is_ptr())?;
    // SAFETY: INI table entries are `IS_PTR` zvals holding a `zend_ini_entry *` that lives
    // until the module shuts down.
    unsafe { entry.value.ptr.cast::<zend_ini_entry>().as_ref() }
}

/// The current value, borrowed (read on every call, so it allocates nothing).
pub(super) fn ini_current(name: &str) -> Option<&'static str> {
    let entry = ini_entry(name)?;
    // SAFETY: the entry's value is a valid zend_string or null; we use it within the call, while
    // no `ini_set()` can run.
    unsafe { zend_text(entry.value) }
}

/// An INI setting's current and original value, for `phpinfo()`.
pub(super) fn ini_value(name: &str) -> Option<(String, String)> {
    let entry = ini_entry(name)?;
    // SAFETY: INI values are valid zend_strings or null.
    let text = |s: *mut zend_string| unsafe { zend_text(s) }.unwrap_or_default().to_owned();
    let current = text(entry.value);
    let original = if entry.modified != 0 { text(entry.orig_value) } else { current.clone() };
    Some((current, original))
}

/// A whole-number INI setting, falling back to `default` when unset, negative or not a number.
fn ini_number(name: &str, default: usize) -> usize {
    ini_current(name).and_then(|v| v.trim().parse::<usize>().ok()).filter(|&n| n > 0).unwrap_or(default)
}

pub(super) fn ini_max_body_bytes() -> usize {
    let cached = MAX_BODY_BYTES.load(Ordering::Relaxed);
    if ext_php_rs::PHP_ZTS || cached == 0 {
        return ini_number("crmhook.max_body_bytes", DEFAULT_MAX_BODY_BYTES);
    }
    cached
}

pub(super) fn call_settings() -> CallSettings {
    let keep_alive =
        ini_current("crmhook.http_keepalive").map(|v| crate::text::parse_bool("crmhook.http_keepalive", v).unwrap_or(true)).unwrap_or(true);
    let default = CallSettings::default();
    let tag_cache_ttl = ini_current("crmhook.tag_cache_ttl")
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map_or(default.tag_cache_ttl, std::time::Duration::from_secs);
    CallSettings {
        timeout: std::time::Duration::from_secs(ini_number("crmhook.http_timeout", default.timeout.as_secs() as usize) as u64),
        keep_alive,
        tag_cache_ttl,
        ca_file: ini_value("crmhook.ca_file").map(|(v, _)| v.trim().to_owned()).filter(|v| !v.is_empty()),
    }
}

/// A boolean INI setting; false when unset or not a boolean.
pub(super) fn ini_flag(name: &'static str) -> bool {
    ini_current(name).is_some_and(|v| crate::text::parse_bool(name, v).unwrap_or(false))
}
