//! The fixed keys and words of crmhook's arrays (`action`, `contact_id`, `method`, `create`, the
//! CRM slugs, …), interned once at module start: a result then costs no allocation per key, and a
//! lookup in an argument array uses the hash the engine computed when interning.

use std::sync::atomic::{AtomicPtr, Ordering};

use ext_php_rs::ffi::{zend_hash_find_known_hash, zend_string};
use ext_php_rs::flags::ZvalTypeFlags;
use ext_php_rs::types::{ZendHashTable, ZendStr, Zval};

macro_rules! fixed_strings {
    ($($name:ident = $text:literal,)*) => {
        /// A key or word that every result carries: interned at module start.
        #[derive(Debug, Clone, Copy)]
        #[allow(non_camel_case_types, clippy::upper_case_acronyms)]
        pub(super) enum Fixed { $($name,)* }
        const FIXED_TEXT: &[&str] = &[$($text,)*];
    };
}

fixed_strings! {
    EMPTY = "",
    ACTION = "action", CRM = "crm", CONTACT_ID = "contact_id", EMAIL = "email", TAGS = "tags",
    FIELDS = "fields", ROLE = "role", SEND_NOTIFICATION = "send_notification", ASYNC = "async",
    INITIATED_FROM = "initiated_from",
    OP = "op", USER = "user", META = "meta", PASSWORD_GENERATED = "password_generated",
    RETURN_PASSWORD = "return_password", NOTICES = "notices", FIELD = "field", VALUE = "value",
    ID_UPPER = "ID", USER_LOGIN = "user_login", USER_EMAIL = "user_email", USER_PASS = "user_pass",
    FIRST_NAME = "first_name", LAST_NAME = "last_name", DISPLAY_NAME = "display_name",
    ID = "id", CREATE = "create", UPDATE = "update", TEST = "test", ADD = "add", UPDATE_TAGS = "update_tags",
    CK_UNSUBSCRIBED = "ck_unsubscribed", KIT_UNSUBSCRIBED = "kit_unsubscribed",
    ACTIVECAMPAIGN = "activecampaign", CONVERTKIT = "convertkit", KIT = "kit", FLUENTCRM = "fluentcrm",
    FUNNELKIT = "funnelkit", KEAP = "keap",
    METHOD = "method",
    QUERY = "query",
    BODY = "body",
    CONTENT_TYPE = "content_type",
    HEADERS = "headers",
    FORM = "form",
    ACCESS_KEY = "access_key",
    MAX_BODY_BYTES = "max_body_bytes",
    FIELD_MAP = "field_map",
    USERNAME_FORMAT = "username_format",
    DEFAULT_ROLE = "default_role",
    ALLOWED_ROLES = "allowed_roles",
    REQUESTED_ROLE = "requested_role",
    RETURN_PASSWORD_FIELD = "return_password_field",
    ROLES = "roles",
    CAPABILITIES = "capabilities",
    PRIVILEGED = "privileged",
    API_URL = "api_url",
    API_KEY = "api_key",
    API_SECRET = "api_secret",
    USERNAME = "username",
    PASSWORD = "password",
    PRIVILEGED_CAPABILITIES = "privileged_capabilities", UPDATE_EXISTING_PASSWORDS = "update_existing_passwords",
    CREATED_FROM_CONTACT = "created_from_contact",
    CONTACTS = "contacts", NEXT = "next", TOTAL = "total",
}

const FIXED_COUNT: usize = FIXED_TEXT.len();
static INTERNED: [AtomicPtr<zend_string>; FIXED_COUNT] = [const { AtomicPtr::new(std::ptr::null_mut()) }; FIXED_COUNT];

/// Interns the fixed strings; called once from MINIT. Interned strings made at startup are
/// permanent: they live, immutable, until the process ends, and the engine never frees them.
pub(super) fn intern_fixed_strings() {
    for (slot, text) in INTERNED.iter().zip(FIXED_TEXT) {
        slot.store(ZendStr::new_interned(text, true).into_raw(), Ordering::Release);
    }
}

/// The interned string, or null before MINIT (as when `cargo php stubs` loads the library).
pub(super) fn interned(word: Fixed) -> *mut zend_string {
    INTERNED[word as usize].load(Ordering::Acquire)
}

impl Fixed {
    pub(super) fn text(self) -> &'static str {
        FIXED_TEXT[self as usize]
    }
    /// The word as a `zval` holding the interned string: no allocation, no reference count.
    #[inline]
    pub(super) fn zval(self) -> Zval {
        let ptr = interned(self);
        let mut zv = Zval::new();
        if ptr.is_null() {
            zv.set_zend_string(ZendStr::new(self.text(), false));
            return zv;
        }
        // What `ZVAL_INTERNED_STR` writes: a permanent interned string (see
        // `intern_fixed_strings`), which a zval holds without owning or counting it. Set here
        // rather than through `set_zend_string`, which reads the string's flags and clears the
        // (null) value first: two fixed words go into every parse result.
        zv.value.str_ = ptr;
        zv.u1.type_info = ZvalTypeFlags::InternedStringEx.bits();
        zv
    }
}

/// `$array[$key]` for a fixed key, through its precomputed hash (its text before MINIT).
pub(super) fn find(array: &ZendHashTable, key: Fixed) -> Option<&Zval> {
    let key_ptr = interned(key);
    if key_ptr.is_null() {
        return array.get(key.text());
    }
    // SAFETY: a live array, only read; `key_ptr` is a permanent interned string, whose hash the
    // engine computed when interning it, as `zend_hash_find_known_hash` requires. On a packed
    // array (no string keys) the lookup finds nothing, as `zend_hash_find` would.
    unsafe { zend_hash_find_known_hash(array, key_ptr).as_ref() }
}
