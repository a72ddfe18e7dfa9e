//! The fast lane's hook into every request (docs/fast-lane.md). At request start (RINIT), when
//! `crmhook.lane` is on and the raw query string carries `wpf_action`, PHP's
//! `auto_prepend_file` is pointed at the plugin's lane entry (`crmhook.lane_entry`) for this
//! request only; the site's own prepend file, if it has one, is remembered for the entry to
//! include first. At request end (RSHUTDOWN) the setting gets its own value back. Any other
//! request costs one INI lookup and, when the lane is on, one scan of its query string.
//!
//! It also keeps the lane's memo: what the lane entry last read from the database, kept in this
//! process from one webhook to the next, so that most webhooks need no read before they are
//! stored (the lane confirms the memo in the statement that stores the job; docs/fast-lane.md).

use std::cell::RefCell;
use std::collections::HashMap;
use std::ffi::{c_char, CStr, CString};

use ext_php_rs::boxed::ZBox;
use ext_php_rs::ffi::{ext_php_rs_process_globals, ext_php_rs_sapi_globals};
use ext_php_rs::types::ZendHashTable;

use super::ini::{ini_current, ini_flag};
use crate::lane::is_webhook_query;

/// What RINIT changed in this request, for RSHUTDOWN to put back.
struct Prepended {
    /// `PG(auto_prepend_file)` as it was: the engine's own string (from the INI), not ours.
    saved: *mut c_char,
    /// The site's prepend file, if it had one, for the lane entry to include.
    site_prepend: Option<String>,
    /// The lane entry's path, which `PG(auto_prepend_file)` points into until RSHUTDOWN.
    entry: CString,
}

thread_local! {
    // A thread runs one request at a time (php-fpm: one per process; ZTS: one per thread).
    static PREPENDED: RefCell<Option<Prepended>> = const { RefCell::new(None) };
    // The lane's memos, one per site: keyed by the site's `crmhook.lane_config` (a pool or
    // `.user.ini` may serve several sites, each with its own file).
    static MEMOS: RefCell<HashMap<String, Vec<u8>>> = RefCell::new(HashMap::new());
}

/// The largest memo kept: the lane's holds a few options (about 2 KiB).
pub(super) const MEMO_MAX_BYTES: usize = 64 * 1024;

/// Sites with a memo in one process at most: more means a misconfiguration, not a need.
const MEMO_MAX_SITES: usize = 16;

/// This process's memo for the site whose `crmhook.lane_config` this request has, if any.
pub(super) fn memo() -> Option<Vec<u8>> {
    let site = lane_config()?;
    MEMOS.with(|m| m.borrow().get(site).cloned())
}

/// Keeps `value` as this site's memo (an empty value forgets it). False when the site has no
/// `crmhook.lane_config` or the value is larger than [`MEMO_MAX_BYTES`].
pub(super) fn remember(value: &[u8]) -> bool {
    let Some(site) = lane_config() else {
        return false;
    };
    if value.len() > MEMO_MAX_BYTES {
        return false;
    }
    MEMOS.with(|m| {
        let mut memos = m.borrow_mut();
        if value.is_empty() {
            memos.remove(site);
        } else {
            if memos.len() >= MEMO_MAX_SITES && !memos.contains_key(site) {
                memos.clear();
            }
            memos.insert(site.to_owned(), value.to_vec());
        }
    });
    true
}

fn lane_config() -> Option<&'static str> {
    ini_current("crmhook.lane_config").map(str::trim).filter(|c| !c.is_empty())
}

/// RINIT: hands a webhook request to the lane entry. Never fails the request: anything amiss
/// (the lane off, no entry file) leaves the request to WordPress.
pub(super) extern "C" fn request_startup(_ty: i32, _module_number: i32) -> i32 {
    let _ = std::panic::catch_unwind(prepend_lane_entry);
    0
}

/// RSHUTDOWN: `auto_prepend_file` gets its own value back before the engine's INI clean-up.
pub(super) extern "C" fn request_shutdown(_ty: i32, _module_number: i32) -> i32 {
    let _ = std::panic::catch_unwind(|| {
        if let Some(done) = PREPENDED.with(|p| p.borrow_mut().take()) {
            // SAFETY: the process globals live as long as the process; this thread's request owns them now.
            unsafe { (*ext_php_rs_process_globals()).auto_prepend_file = done.saved };
            drop(done.entry);
        }
    });
    0
}

fn prepend_lane_entry() {
    if !ini_flag("crmhook.lane") {
        return;
    }
    // SAFETY: SG(request_info) is filled in by the SAPI before RINIT; query_string is null or a
    // NUL-terminated string that lives until the request ends.
    let query = unsafe {
        let q = (*ext_php_rs_sapi_globals()).request_info.query_string;
        if q.is_null() {
            return;
        }
        CStr::from_ptr(q).to_bytes()
    };
    if !is_webhook_query(query) {
        return;
    }
    let Some(entry) = ini_current("crmhook.lane_entry").map(str::trim).filter(|e| !e.is_empty()) else {
        return;
    };
    // A missing entry must not turn every webhook into a "Failed opening required" fatal error.
    if !std::path::Path::new(entry).is_file() {
        return;
    }
    let Ok(entry) = CString::new(entry) else {
        return;
    };
    // SAFETY: as above; PG(auto_prepend_file) is read by php_execute_script after RINIT, and the
    // CString it now points to lives in PREPENDED until RSHUTDOWN has put the old pointer back.
    unsafe {
        let pg = ext_php_rs_process_globals();
        let saved = (*pg).auto_prepend_file;
        let site_prepend =
            if saved.is_null() { None } else { Some(CStr::from_ptr(saved).to_string_lossy().into_owned()).filter(|p| !p.is_empty()) };
        (*pg).auto_prepend_file = entry.as_ptr().cast_mut();
        PREPENDED.with(|p| *p.borrow_mut() = Some(Prepended { saved, site_prepend, entry }));
    }
}

/// The lane as this PHP sees it, for `crmhook_lane_status()`.
pub(super) fn status() -> ZBox<ZendHashTable> {
    let entry = ini_current("crmhook.lane_entry").map(str::trim).unwrap_or_default();
    let config = ini_current("crmhook.lane_config").map(str::trim).unwrap_or_default();
    let (this_request, prepend) = PREPENDED.with(|p| match &*p.borrow() {
        Some(done) => (true, done.site_prepend.clone()),
        None => {
            // SAFETY: as above.
            let current = unsafe { (*ext_php_rs_process_globals()).auto_prepend_file };
            // SAFETY: null or the engine's NUL-terminated INI string.
            let current = (!current.is_null()).then(|| unsafe { CStr::from_ptr(current) }.to_string_lossy().into_owned());
            (false, current.filter(|p| !p.is_empty()))
        }
    });
    let mut out = ZendHashTable::with_capacity(7);
    // Inserting into a fresh array cannot fail for these key and value types.
    let _ = out.insert("enabled", ini_flag("crmhook.lane"));
    let _ = out.insert("entry", entry);
    let _ = out.insert("entry_found", !entry.is_empty() && std::path::Path::new(entry).is_file());
    let _ = out.insert("config", config);
    let _ = out.insert("this_request", this_request);
    let _ = out.insert("prepend", prepend);
    out
}
