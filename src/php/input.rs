//! PHP arrays → the core's types, read in place: arrays are walked with the engine's own
//! iteration (`zend_hash_get_current_data_ex` / `zend_hash_move_forward_ex`, what `foreach`
//! does), so nothing here depends on how a PHP version lays an array out, and strings are
//! borrowed from the engine for the length of the call instead of copied.

use std::borrow::Cow;

use ext_php_rs::ffi::{zend_hash_get_current_data_ex, zend_hash_get_current_key_zval_ex, zend_hash_move_forward_ex, HashPosition};
use ext_php_rs::types::{ZendHashTable, Zval};

use super::args::{At, Item, NotText, Param};
use super::exceptions::Failure;
use super::interned::{find, Fixed};
use crate::contact::Contact;
use crate::crm::api::CrmConfig;
use crate::crm::Crm;
use crate::error::WebhookError;
use crate::login::UsernameFormat;
use crate::plan::{self, ExistingUser, PlanOptions};

/// An array key, borrowed from the engine.
#[derive(Debug, Clone, Copy)]
pub(super) enum Key<'a> {
    Int(i64),
    Str(&'a [u8]),
}

impl<'a> Key<'a> {
    /// The key as text: borrowed when it is a (UTF-8) string key.
    pub(super) fn text(&self) -> Cow<'a, str> {
        match *self {
            Key::Int(n) => Cow::Owned(n.to_string()),
            // The strict check first: much cheaper than the lossy scan on the usual valid key.
            Key::Str(s) => utf8(s).map_or_else(|| String::from_utf8_lossy(s), Cow::Borrowed),
        }
    }
    fn is(&self, name: &str) -> bool {
        matches!(self, Key::Str(s) if s.eq_ignore_ascii_case(name.as_bytes()))
    }
}

/// A PHP array's entries in order, as `foreach` sees them.
pub(super) struct Entries<'a> {
    array: &'a ZendHashTable,
    position: HashPosition,
}

/// `foreach ($array as $key => $value)`.
pub(super) fn entries(array: &ZendHashTable) -> Entries<'_> {
    Entries { array, position: 0 }
}

impl<'a> Entries<'a> {
    /// The value at the position, without reading the key.
    fn current(&mut self) -> Option<&'a Zval> {
        let array = std::ptr::from_ref(self.array).cast_mut();
        // SAFETY: a live array, borrowed for 'a; the engine skips deleted slots from the
        // position on and returns null past the end. It only reads the array.
        unsafe { zend_hash_get_current_data_ex(array, &raw mut self.position).as_ref() }
    }

    fn advance(&mut self) {
        let array = std::ptr::from_ref(self.array).cast_mut();
        // SAFETY: as in `current`; this only moves our position.
        unsafe { zend_hash_move_forward_ex(array, &raw mut self.position) };
    }

    /// `foreach ($array as $value)`.
    pub(super) fn values(mut self) -> impl Iterator<Item = &'a Zval> {
        std::iter::from_fn(move || {
            let value = self.current()?;
            self.advance();
            Some(value)
        })
    }
}

impl<'a> Iterator for Entries<'a> {
    type Item = (Key<'a>, &'a Zval);

    // Inlined into each walk: the key and value then stay in registers (a call returned them
    // through memory, ~30 instructions an entry of the field map).
    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        let value = self.current()?;
        let mut key_zval = Zval::new();
        // SAFETY: as in `current`; the engine writes the key at the position into our zval,
        // taking a reference on a string key, which dropping `key_zval` gives back.
        unsafe { zend_hash_get_current_key_zval_ex(self.array, &raw mut key_zval, &raw const self.position) };
        let key = match key_zval.zend_str() {
            Some(name) => {
                let bytes = name.as_bytes();
                // SAFETY: the array holds its own reference to its key for as long as it lives
                // unchanged, which is all of 'a (we borrow it, and no PHP code runs meanwhile).
                Key::Str(unsafe { std::slice::from_raw_parts(bytes.as_ptr(), bytes.len()) })
            }
            None => Key::Int(key_zval.long().unwrap_or_default()),
        };
        self.advance();
        Some((key, value))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(self.array.len()))
    }
}

/// PHP string bytes as `&str` when they are UTF-8. Almost every key and value crmhook reads is
/// short ASCII, for which a plain ASCII scan is several times cheaper than the full UTF-8 check.
fn utf8(bytes: &[u8]) -> Option<&str> {
    if bytes.is_ascii() {
        // SAFETY: ASCII bytes are valid UTF-8.
        Some(unsafe { std::str::from_utf8_unchecked(bytes) })
    } else {
        std::str::from_utf8(bytes).ok()
    }
}

/// A scalar as text, borrowed when it is a string: strings (UTF-8), ints, floats and bools;
/// null is `None`.
pub(super) fn scalar_text(v: &Zval) -> Result<Option<Cow<'_, str>>, NotText> {
    if v.is_null() {
        Ok(None)
    } else if let Some(s) = v.zend_str() {
        utf8(s.as_bytes()).map(|s| Some(Cow::Borrowed(s))).ok_or(NotText::Utf8)
    } else if let Some(n) = v.long() {
        Ok(Some(Cow::Owned(n.to_string())))
    } else if let Some(f) = v.double() {
        Ok(Some(Cow::Owned(f.to_string())))
    } else if let Some(b) = v.bool() {
        Ok(Some(Cow::Borrowed(if b { "1" } else { "" })))
    } else {
        Err(NotText::Type)
    }
}

/// `$arr[$key]` as text; null or absent is `None`.
#[inline]
pub(super) fn string_of<'a>(arr: &'a ZendHashTable, key: Fixed, param: &'static Param) -> Result<Option<Cow<'a, str>>, Failure> {
    match find(arr, key) {
        None => Ok(None),
        // The usual value, a UTF-8 string, read here; any other goes through `scalar_text`.
        Some(v) => match v.zend_str().and_then(|s| utf8(s.as_bytes())) {
            Some(text) => Ok(Some(Cow::Borrowed(text))),
            None => scalar_text(v).map_err(|why| param.key(key.text()).not_text(None, why, v)),
        },
    }
}

/// An id argument, as a string or an integer: ConvertKit and Kit send ids as JSON numbers, so
/// `crmhook_fetch_contact($crm, $payload['subscriber']['id'])` must work either way. Anything
/// else is a TypeError worded like PHP's own.
pub(super) fn id_argument(v: &Zval, param: &'static Param) -> Result<String, Failure> {
    let v = v.dereference();
    if let Some(s) = v.zend_str() {
        return utf8(s.as_bytes()).map(str::to_owned).ok_or_else(|| param.at().not_text(None, NotText::Utf8, v));
    }
    if let Some(n) = v.long() {
        return Ok(n.to_string());
    }
    Err(param.at().wrong_type("string|int", v))
}

/// `$arr[$key]` as raw bytes (the query and body may hold anything).
#[inline]
pub(super) fn bytes_of<'a>(arr: &'a ZendHashTable, key: Fixed, param: &'static Param) -> Result<&'a [u8], Failure> {
    match find(arr, key) {
        None => Ok(b""),
        Some(v) if v.is_null() => Ok(b""),
        Some(v) => v.zend_str().map(|s| s.as_bytes()).ok_or_else(|| param.key(key.text()).wrong_type("string", v)),
    }
}

/// `$arr[$key]` as a boolean flag: absent, null or false is off.
pub(super) fn flag_of(arr: &ZendHashTable, key: Fixed) -> bool {
    find(arr, key).is_some_and(Zval::coerce_to_bool)
}

/// The `X-Crmhook-Key` header, whatever the case of its name; a list takes its first value.
pub(super) fn header_key(headers: &ZendHashTable) -> Option<&[u8]> {
    entries(headers).find_map(|(name, value)| {
        if !name.is("x-crmhook-key") {
            return None;
        }
        let value = match value.array() {
            Some(list) => entries(list).values().next()?,
            None => value,
        };
        value.zend_str().map(|s| s.as_bytes())
    })
}

/// `$_POST` back into flat bracket keys (`contact[fields][12]`), as the raw body had them.
pub(super) fn flatten_form(array: &ZendHashTable, prefix: &str, out: &mut Vec<(String, String)>, depth: usize) -> Result<(), Failure> {
    if depth > 16 {
        return Err(Failure::Webhook(WebhookError::MalformedBody { format: "form", reason: "nested too deeply".into() }));
    }
    for (key, value) in entries(array) {
        let key = key.text();
        let name = if prefix.is_empty() { key.into_owned() } else { format!("{prefix}[{key}]") };
        if let Some(inner) = value.array() {
            flatten_form(inner, &name, out, depth + 1)?;
        } else {
            let text = scalar_text(value)
                .map_err(|_| WebhookError::invalid("form", format!("\"{}\" is not text", crate::text::echo(&name))))?
                .unwrap_or_default();
            out.push((name, text.into_owned()));
        }
    }
    Ok(())
}

fn text_list<'a>(v: Option<&'a Zval>, at: At<'_>) -> Result<Vec<Cow<'a, str>>, Failure> {
    let Some(v) = v.filter(|v| !v.is_null()) else { return Ok(Vec::new()) };
    let list = v.array().ok_or_else(|| at.wrong_type("array", v))?;
    let mut out = Vec::with_capacity(list.len());
    for (i, item) in entries(list).values().enumerate() {
        let text = scalar_text(item).map_err(|why| at.not_text(Some(Item::Index(i)), why, item))?;
        out.push(text.unwrap_or_default());
    }
    Ok(out)
}

/// A text PHP lent for the call, beside the value it came from: a result that holds the same
/// text can then hold the same PHP string (a reference more) instead of a copy.
pub(super) struct Lent<'a> {
    pub(super) text: Cow<'a, str>,
    pub(super) value: &'a Zval,
}

/// A list of texts PHP lent, and the array value they came from.
pub(super) struct LentList<'a> {
    pub(super) items: Vec<Lent<'a>>,
    pub(super) array: Option<&'a Zval>,
}

/// [`text_list`], each text kept with its value.
fn lent_list<'a>(v: Option<&'a Zval>, at: At<'_>) -> Result<LentList<'a>, Failure> {
    let Some(v) = v.filter(|v| !v.is_null()) else { return Ok(LentList { items: Vec::new(), array: None }) };
    let list = v.array().ok_or_else(|| at.wrong_type("array", v))?;
    let mut items = Vec::with_capacity(list.len());
    for (i, value) in entries(list).values().enumerate() {
        let text = scalar_text(value).map_err(|why| at.not_text(Some(Item::Index(i)), why, value))?;
        items.push(Lent { text: text.unwrap_or_default(), value });
    }
    Ok(LentList { items, array: Some(v) })
}

fn owned_list(list: Vec<Cow<'_, str>>) -> Vec<String> {
    list.into_iter().map(Cow::into_owned).collect()
}

/// Text pairs lent by PHP for the call.
type Pairs<'a> = Vec<(Cow<'a, str>, Cow<'a, str>)>;

fn text_pairs<'a>(v: Option<&'a Zval>, at: At<'_>) -> Result<Pairs<'a>, Failure> {
    let Some(v) = v.filter(|v| !v.is_null()) else { return Ok(Vec::new()) };
    let map = v.array().ok_or_else(|| at.wrong_type("array", v))?;
    let mut out = Vec::with_capacity(map.len());
    for (key, item) in entries(map) {
        let key = key.text();
        // The usual value, a UTF-8 string, read here; any other goes through `field_text`.
        let value = match item.zend_str().and_then(|s| utf8(s.as_bytes())) {
            Some(text) => Cow::Borrowed(text),
            None => field_text(item, at, &key)?,
        };
        out.push((key, value));
    }
    Ok(out)
}

/// A field value as text; a multi-select arrives as a list and is joined the way CRMs show it.
fn field_text<'a>(item: &'a Zval, at: At<'_>, key: &str) -> Result<Cow<'a, str>, Failure> {
    Ok(match item.array() {
        Some(list) => Cow::Owned(entries(list).values().filter_map(|x| scalar_text(x).ok().flatten()).collect::<Vec<_>>().join(", ")),
        None => scalar_text(item).map_err(|why| at.not_text(Some(Item::Key(key)), why, item))?.unwrap_or_default(),
    })
}

/// `$fields` of `crmhook_update_contact`: field id → scalar.
pub(super) fn text_pairs_of(arr: &ZendHashTable, param: &'static Param) -> Result<Vec<(String, String)>, Failure> {
    let mut out = Vec::with_capacity(arr.len());
    for (key, item) in entries(arr) {
        let value = scalar_text(item).map_err(|why| param.key(&key.text()).not_text(None, why, item))?;
        out.push((key.text().into_owned(), value.map(Cow::into_owned).unwrap_or_default()));
    }
    Ok(out)
}

/// Refuses a key the function does not read: a misspelt one (`default_rol`, `apikey`) would
/// otherwise be ignored without a word. The known keys are counted through their precomputed
/// hashes first: when they account for every entry there is nothing to refuse, and the array's
/// keys need not be read one by one.
fn only_known_keys(arr: &ZendHashTable, what: &str, known: &[Fixed]) -> Result<(), Failure> {
    if known.iter().filter(|&&key| find(arr, key).is_some()).count() == arr.len() {
        return Ok(());
    }
    for (key, _) in entries(arr) {
        if !matches!(key, Key::Str(name) if known.iter().any(|k| k.text().as_bytes() == name)) {
            let names: Vec<&str> = known.iter().map(|k| k.text()).collect();
            return Err(Failure::Value(format!(
                "unknown key \"{}\" in {what}: the known ones are {}",
                crate::text::echo(&key.text()),
                names.join(", ")
            )));
        }
    }
    Ok(())
}

/// The keys of `$crm`.
const CRM_KEYS: [Fixed; 6] = [Fixed::CRM, Fixed::API_URL, Fixed::API_KEY, Fixed::API_SECRET, Fixed::USERNAME, Fixed::PASSWORD];

/// The keys of `crmhook_map_contact`'s `$options`.
const OPTION_KEYS: [Fixed; 9] = [
    Fixed::FIELD_MAP,
    Fixed::USERNAME_FORMAT,
    Fixed::DEFAULT_ROLE,
    Fixed::ALLOWED_ROLES,
    Fixed::REQUESTED_ROLE,
    Fixed::RETURN_PASSWORD_FIELD,
    Fixed::ROLES,
    Fixed::PRIVILEGED_CAPABILITIES,
    Fixed::UPDATE_EXISTING_PASSWORDS,
];

pub(super) fn crm_config(arr: &ZendHashTable, param: &'static Param) -> Result<CrmConfig, Failure> {
    only_known_keys(arr, "$crm", &CRM_KEYS)?;
    let text = |key: Fixed| string_of(arr, key, param).map(|v| v.map(Cow::into_owned).unwrap_or_default());
    Ok(CrmConfig {
        crm: Some(Crm::from_slug(&text(Fixed::CRM)?)?),
        api_url: text(Fixed::API_URL)?,
        api_key: text(Fixed::API_KEY)?,
        api_secret: text(Fixed::API_SECRET)?,
        username: text(Fixed::USERNAME)?,
        password: text(Fixed::PASSWORD)?,
    })
}

/// The contact, with only the fields the field map names: the plan reads no others, and a
/// contact can carry hundreds. Its tags are lent apart (`Contact::tags` stays empty), for
/// `plan::map_contact_lent`.
pub(super) fn contact_from<'a>(
    arr: &'a ZendHashTable,
    param: &'static Param,
    field_map: &[(Cow<'_, str>, Cow<'_, str>)],
) -> Result<(Contact, LentList<'a>), Failure> {
    let text = |key: Fixed| string_of(arr, key, param).map(|v| v.map(Cow::into_owned).unwrap_or_default());
    let mut fields = Vec::with_capacity(field_map.len());
    if let Some(all) = find(arr, Fixed::FIELDS).filter(|v| !v.is_null()) {
        let all = all.array().ok_or_else(|| param.key("fields").wrong_type("array", all))?;
        let mut keep = |crm_field: &str, item: &Zval| -> Result<(), Failure> {
            fields.push((crm_field.to_owned(), field_text(item, param.key("fields"), crm_field)?.into_owned()));
            Ok(())
        };
        if all.len() <= field_map.len() {
            // Fewer fields than mapped ones (the usual webhook): walk the fields once and match
            // their keys against the map, instead of one hash lookup per map entry. An integer
            // key matches the map's decimal spelling of it, the one PHP stores as that integer.
            for (key, item) in entries(all) {
                let number;
                let name = match key {
                    Key::Str(name) => name,
                    Key::Int(n) => {
                        number = n.to_string();
                        number.as_bytes()
                    }
                };
                if let Some((crm_field, _)) = field_map.iter().find(|(f, _)| f.as_bytes() == name) {
                    keep(crm_field, item)?;
                }
            }
        } else {
            for (crm_field, _) in field_map {
                if let Some(item) = all.get(crm_field.as_ref()) {
                    keep(crm_field, item)?;
                }
            }
        }
    }
    let contact = Contact {
        id: text(Fixed::ID)?,
        email: text(Fixed::EMAIL)?,
        first_name: text(Fixed::FIRST_NAME)?,
        last_name: text(Fixed::LAST_NAME)?,
        fields,
        tags: Vec::new(),
    };
    Ok((contact, lent_list(find(arr, Fixed::TAGS), param.key("tags"))?))
}

/// `$options['roles']`, read in place: slug → capabilities (`cap => true`, as `wp_roles()` keeps
/// them, a whole `wp_roles()->roles` entry with `capabilities`, or a plain list of names).
pub(super) struct PhpRoles<'a>(Option<&'a ZendHashTable>);

impl PhpRoles<'_> {
    fn capabilities(&self, role: &str) -> Option<&ZendHashTable> {
        let caps = self.0?.get(role)?.array()?;
        Some(find(caps, Fixed::CAPABILITIES).and_then(Zval::array).unwrap_or(caps))
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

pub(super) fn options_from<'a>(arr: &'a ZendHashTable, param: &'static Param, roles: &'a PhpRoles<'a>) -> Result<PlanOptions<'a>, Failure> {
    only_known_keys(arr, "$options", &OPTION_KEYS)?;
    let text = |key: Fixed| string_of(arr, key, param);
    let format_raw = text(Fixed::USERNAME_FORMAT)?.unwrap_or_default();
    let username_format = UsernameFormat::parse(&format_raw).ok_or_else(|| {
        let known: Vec<&str> = UsernameFormat::ALL.iter().map(|f| f.slug()).collect();
        Failure::Value(format!("unknown username_format \"{}\": use {}", crate::text::echo(&format_raw), known.join(", ")))
    })?;
    Ok(PlanOptions {
        field_map: text_pairs(find(arr, Fixed::FIELD_MAP), param.key("field_map"))?,
        username_format,
        default_role: text(Fixed::DEFAULT_ROLE)?.unwrap_or(Cow::Borrowed("subscriber")),
        allowed_roles: text_list(find(arr, Fixed::ALLOWED_ROLES), param.key("allowed_roles"))?,
        requested_role: text(Fixed::REQUESTED_ROLE)?.filter(|r| !crate::text::trim(r).is_empty()),
        return_password_field: text(Fixed::RETURN_PASSWORD_FIELD)?.filter(|r| !crate::text::trim(r).is_empty()),
        roles,
        privileged_capabilities: owned_list(text_list(find(arr, Fixed::PRIVILEGED_CAPABILITIES), param.key("privileged_capabilities"))?),
        update_existing_passwords: flag_of(arr, Fixed::UPDATE_EXISTING_PASSWORDS),
    })
}

/// `$options['roles']` checked for shape once, then read lazily by [`PhpRoles`].
pub(super) fn roles_of<'a>(arr: &'a ZendHashTable, param: &'static Param) -> Result<PhpRoles<'a>, Failure> {
    match find(arr, Fixed::ROLES) {
        None => Ok(PhpRoles(None)),
        Some(v) if v.is_null() => Ok(PhpRoles(None)),
        Some(v) => {
            let at = param.key("roles");
            let all = v.array().ok_or_else(|| at.wrong_type("array", v))?;
            // Values only on the way (no key reads); the key is looked up for the message.
            if entries(all).values().any(|caps| !caps.is_array()) {
                if let Some((role, caps)) = entries(all).find(|(_, caps)| !caps.is_array()) {
                    return Err(at.wrong_item_type(Some(Item::Key(&role.text())), "array", caps));
                }
            }
            Ok(PhpRoles(Some(all)))
        }
    }
}

pub(super) fn user_from(arr: &ZendHashTable, param: &'static Param) -> Result<ExistingUser, Failure> {
    let id = match find(arr, Fixed::ID_UPPER) {
        Some(v) => v.coerce_to_long().and_then(|n| u64::try_from(n).ok()).filter(|&n| n > 0),
        None => None,
    }
    .ok_or_else(|| Failure::Value("$user['ID'] must be a positive user id".into()))?;
    let text = |key: Fixed| string_of(arr, key, param).map(|v| v.map(Cow::into_owned).unwrap_or_default());
    Ok(ExistingUser {
        id,
        login: text(Fixed::USER_LOGIN)?,
        email: text(Fixed::USER_EMAIL)?,
        roles: owned_list(text_list(find(arr, Fixed::ROLES), param.key("roles"))?),
        privileged: flag_of(arr, Fixed::PRIVILEGED),
        created_from_contact: flag_of(arr, Fixed::CREATED_FROM_CONTACT),
    })
}
