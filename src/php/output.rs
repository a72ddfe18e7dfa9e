//! Core types → PHP arrays, built with the engine's own calls: each array is allocated once at
//! its final size (`zend_new_array(n)`; a list filled from index 0 stays packed), each value is
//! written straight into the table as a `zval` (`zend_hash_add_new`, `zend_hash_next_index_insert`),
//! and the fixed keys and words are the interned ones of `super::interned`, so a result costs
//! one string allocation per *payload* value and none per key.

use std::borrow::Cow;
use std::ffi::{c_char, c_void};
use std::mem::{ManuallyDrop, MaybeUninit};
use std::sync::atomic::{AtomicPtr, Ordering};

use ext_php_rs::boxed::ZBox;
use ext_php_rs::ffi::{
    _zend_new_array, dtor_func_t, zend_array_dup, zend_hash_add_new, zend_hash_find_known_hash, zend_hash_index_update,
    zend_hash_next_index_insert, zend_hash_str_update, zend_ulong, HashTable, GC_FLAGS_SHIFT, GC_IMMUTABLE,
};
use ext_php_rs::types::{ArrayKey, ZendHashTable, ZendStr, Zval};

use super::input::{Lent, LentList};
use super::interned::{interned, Fixed};
use crate::contact::Contact;
use crate::crm::ContactPage;
use crate::plan::{self, Op, UserPlan};
use crate::webhook::Webhook;

/// A new PHP array with room for `size` entries, allocated once.
fn new_array(size: usize) -> ZBox<ZendHashTable> {
    let size = u32::try_from(size).unwrap_or(u32::MAX);
    // SAFETY: `_zend_new_array` returns a fresh, owned, empty array or aborts the request when
    // memory runs out (it never returns null).
    unsafe { ZBox::from_raw(_zend_new_array(size)) }
}

/// A string value: the interned empty string for `""`, otherwise one new `zend_string`.
/// Always inlined: a result builds one per tag of a list of 1,000, and a call each (which the
/// compiler chose once the parse result stopped calling `list_array` inline) was ~9 instructions
/// a tag.
#[inline(always)]
fn text_zval(text: &str) -> Zval {
    if text.is_empty() && !interned(Fixed::EMPTY).is_null() {
        return Fixed::EMPTY.zval();
    }
    let mut zv = Zval::new();
    zv.set_zend_string(ZendStr::new(text, false));
    zv
}

fn optional_text_zval(text: Option<&str>) -> Zval {
    text.map(text_zval).unwrap_or_default()
}

fn bool_zval(value: bool) -> Zval {
    let mut zv = Zval::new();
    zv.set_bool(value);
    zv
}

fn array_zval(array: ZBox<ZendHashTable>) -> Zval {
    let mut zv = Zval::new();
    zv.set_hashtable(array);
    zv
}

/// `$array[$key] = $value` for a key this array does not have yet: the keys of our results are
/// fixed and distinct, so the engine need not look for an existing entry.
fn add(array: &mut ZendHashTable, key: Fixed, value: Zval) {
    let key_ptr = interned(key);
    let mut value = ManuallyDrop::new(value);
    if key_ptr.is_null() {
        let text = key.text();
        // SAFETY: a live array we own; the engine copies the key and takes over the value.
        unsafe { zend_hash_str_update(array, text.as_ptr().cast(), text.len(), &raw mut *value) };
    } else {
        // SAFETY: as above; `key_ptr` is an interned string, so the engine neither copies nor
        // counts it. `add_new` is right because no result repeats a key.
        unsafe { zend_hash_add_new(array, key_ptr, &raw mut *value) };
    }
}

/// `zend_hash_init()` (Zend/zend_hash.h): `_zend_hash_init(ht, size, destructor, persistent)`.
type HashInit = unsafe extern "C" fn(ht: *mut HashTable, size: u32, destructor: dtor_func_t, persistent: bool);

extern "C" {
    /// The C library's symbol lookup (every PHP is linked with it).
    fn dlsym(handle: *mut c_void, symbol: *const c_char) -> *mut c_void;
}

/// The engine's `_zend_hash_init`, the one way to make a persistent array (`_zend_new_array`
/// takes from the request's memory, which module start may not keep). ext-php-rs's bindings
/// leave it out, and `cargo php stubs` loads the library where only those exist, so it is
/// looked up in the process at module start instead of linked; `None` where it is not found.
fn zend_hash_init() -> Option<HashInit> {
    // On 32-bit x86 `ZEND_FASTCALL` is `fastcall`, not this type's C convention: no shapes there
    // (results are then built key by key).
    if cfg!(target_arch = "x86") {
        return None;
    }
    // `RTLD_DEFAULT` (a null handle on glibc and musl): the symbols of the whole process,
    // the PHP binary's among them.
    // SAFETY: `dlsym` reads a NUL-terminated name; it returns null or the symbol's address.
    let found = unsafe { dlsym(std::ptr::null_mut(), c"_zend_hash_init".as_ptr()) };
    // SAFETY: `_zend_hash_init` is this function, with this signature, in every PHP 8
    // (`ZEND_FASTCALL` is the plain C convention everywhere but 32-bit x86, excluded above).
    (!found.is_null()).then(|| unsafe { std::mem::transmute::<*mut c_void, HashInit>(found) })
}

/// A result whose keys never change: an array of those keys, each value null, made once at
/// module start and marked immutable, as opcache marks the arrays it keeps (only interned keys,
/// no counted value). The engine copies such an array in one block (`zend_array_dup`), so a
/// result is that copy with its values then set, instead of its keys inserted one by one
/// (`zend_hash_add_new`, ~40 instructions a key).
pub(super) struct Shape {
    keys: &'static [Fixed],
    array: AtomicPtr<ZendHashTable>,
}

impl Shape {
    const fn new(keys: &'static [Fixed]) -> Self {
        Shape { keys, array: AtomicPtr::new(std::ptr::null_mut()) }
    }

    /// Makes the immutable array; called once from MINIT, after the keys are interned. It lives
    /// as long as the process, as the interned keys do.
    fn make(&self) {
        let Some(hash_init) = zend_hash_init() else { return };
        if self.keys.iter().any(|key| interned(*key).is_null()) {
            return;
        }
        // The header is ours (never freed: the array is permanent); the engine fills it in.
        let array = Box::into_raw(Box::new(MaybeUninit::<HashTable>::uninit())).cast::<HashTable>();
        let size = u32::try_from(self.keys.len()).unwrap_or(u32::MAX);
        // SAFETY: `array` is a block of a `HashTable`'s size and alignment, which
        // `zend_hash_init` initialises as an empty persistent array (its slots from `malloc`).
        unsafe { hash_init(array, size, None, true) };
        for key in self.keys {
            let mut null = Zval::new();
            // SAFETY: a live persistent array of ours; the key is a permanent interned string,
            // which a persistent array may hold; the value is a null, nothing to take over.
            unsafe { zend_hash_add_new(array, interned(*key), &raw mut null) };
        }
        // SAFETY: ours and alive. Immutable (`IS_ARRAY_IMMUTABLE`) is true of it: interned keys,
        // null values, never changed from here on; the engine then never counts or frees it,
        // and `zend_array_dup` copies it whole.
        unsafe { (*array).gc.u.type_info |= GC_IMMUTABLE << GC_FLAGS_SHIFT };
        self.array.store(array, Ordering::Release);
    }

    /// A new array with the shape's keys, in order, every value null.
    fn array(&self) -> ZBox<ZendHashTable> {
        let shape = self.array.load(Ordering::Acquire);
        if shape.is_null() {
            // Before MINIT (`cargo php stubs` loads the library without starting it).
            let mut array = new_array(self.keys.len());
            for key in self.keys {
                add(&mut array, *key, Zval::new());
            }
            return array;
        }
        // SAFETY: `shape` is the permanent immutable array made by `make`, only read;
        // `zend_array_dup` returns a new, owned, mutable copy (or aborts the request when memory
        // runs out).
        unsafe { ZBox::from_raw(zend_array_dup(shape)) }
    }
}

/// `$array[$key] = $value` on an array made by [`Shape::array`] whose value under `key` is
/// still null: the value is written in place, found by the key's precomputed hash.
fn fill(array: &mut ZendHashTable, key: Fixed, value: Zval) {
    let key_ptr = interned(key);
    let slot = if key_ptr.is_null() {
        array.get_mut(key.text())
    } else {
        // SAFETY: a live array we own; `key_ptr` is a permanent interned string whose hash the
        // engine computed when interning it. The pointer, if any, is to the entry's value,
        // alive as long as the array is not changed, and it is not before the write below.
        unsafe { zend_hash_find_known_hash(array, key_ptr).as_mut() }
    };
    match slot {
        Some(slot) => {
            // What `ZVAL_COPY_VALUE` copies: the value and its type, not the rest of the
            // `zval`, which in an array entry links the entry to the next of its hash chain.
            // The null replaced holds nothing to free; the slot takes over the value.
            let value = ManuallyDrop::new(value);
            slot.value = value.value;
            slot.u1 = value.u1;
        }
        None => add(array, key, value),
    }
}

/// The keys of `crmhook_parse_webhook()`'s result, in the order PHP sees them.
static WEBHOOK: Shape = Shape::new(&[
    Fixed::ACTION,
    Fixed::CRM,
    Fixed::CONTACT_ID,
    Fixed::EMAIL,
    Fixed::TAGS,
    Fixed::ROLE,
    Fixed::SEND_NOTIFICATION,
    Fixed::ASYNC,
    Fixed::INITIATED_FROM,
]);

/// The same with `fields`, for `$settings['fields'] = true`.
static WEBHOOK_WITH_FIELDS: Shape = Shape::new(&[
    Fixed::ACTION,
    Fixed::CRM,
    Fixed::CONTACT_ID,
    Fixed::EMAIL,
    Fixed::TAGS,
    Fixed::FIELDS,
    Fixed::ROLE,
    Fixed::SEND_NOTIFICATION,
    Fixed::ASYNC,
    Fixed::INITIATED_FROM,
]);

/// Makes the results' shapes; called once from MINIT, after `intern_fixed_strings`.
pub(super) fn make_shapes() {
    WEBHOOK.make();
    WEBHOOK_WITH_FIELDS.make();
}

/// `$array[] = $value`: on an array made by [`new_array`] and filled only this way, the keys are
/// 0..n and the engine keeps it packed.
fn push(array: &mut ZendHashTable, value: Zval) {
    let mut value = ManuallyDrop::new(value);
    // SAFETY: a live array we own; the engine takes over the value.
    unsafe { zend_hash_next_index_insert(array, &raw mut *value) };
}

/// `$array[$key] = $value` for a key from the payload: a decimal key ("12") becomes the integer
/// key 12, as PHP itself would store it; a later duplicate overwrites, as in PHP.
fn set(array: &mut ZendHashTable, key: &str, value: Zval) {
    let mut value = ManuallyDrop::new(value);
    match ArrayKey::from(key) {
        ArrayKey::Long(index) => {
            // SAFETY: a live array we own; the engine takes over the value. The cast keeps the
            // bits of a negative key, as PHP's own `zend_ulong` hash of it does.
            #[allow(clippy::cast_sign_loss)]
            unsafe {
                zend_hash_index_update(array, index as zend_ulong, &raw mut *value)
            };
        }
        _ => {
            // SAFETY: a live array we own; the engine copies the key and takes over the value.
            unsafe { zend_hash_str_update(array, key.as_ptr().cast(), key.len(), &raw mut *value) };
        }
    }
}

/// `[key => value, …]` from text pairs.
pub(super) fn pairs_array<K: AsRef<str>, V: AsRef<str>>(pairs: &[(K, V)]) -> ZBox<ZendHashTable> {
    let mut array = new_array(pairs.len());
    for (key, value) in pairs {
        set(&mut array, key.as_ref(), text_zval(value.as_ref()));
    }
    array
}

/// A packed list of strings.
pub(super) fn list_array<S: AsRef<str>>(items: &[S]) -> ZBox<ZendHashTable> {
    let mut array = new_array(items.len());
    for item in items {
        push(&mut array, text_zval(item.as_ref()));
    }
    array
}

pub(super) fn contact_array(contact: &Contact) -> ZBox<ZendHashTable> {
    let mut array = new_array(6);
    add(&mut array, Fixed::ID, text_zval(&contact.id));
    add(&mut array, Fixed::EMAIL, text_zval(&contact.email));
    add(&mut array, Fixed::FIRST_NAME, text_zval(&contact.first_name));
    add(&mut array, Fixed::LAST_NAME, text_zval(&contact.last_name));
    add(&mut array, Fixed::FIELDS, array_zval(pairs_array(&contact.fields)));
    add(&mut array, Fixed::TAGS, array_zval(list_array(&contact.tags)));
    array
}

/// `['contacts' => [['id' => …, 'email' => ?string], …], 'next' => ?string, 'total' => ?int]`.
pub(super) fn contact_page_array(page: &ContactPage) -> ZBox<ZendHashTable> {
    let mut contacts = new_array(page.contacts.len());
    for contact in &page.contacts {
        let mut entry = new_array(2);
        add(&mut entry, Fixed::ID, text_zval(&contact.id));
        add(&mut entry, Fixed::EMAIL, optional_text_zval(Some(contact.email.as_str()).filter(|e| !e.is_empty())));
        push(&mut contacts, array_zval(entry));
    }
    let mut array = new_array(3);
    add(&mut array, Fixed::CONTACTS, array_zval(contacts));
    add(&mut array, Fixed::NEXT, optional_text_zval(page.next.as_deref()));
    let mut total = Zval::new();
    if let Some(t) = page.total {
        total.set_long(i64::try_from(t).unwrap_or(i64::MAX));
    }
    add(&mut array, Fixed::TOTAL, total);
    array
}

/// The parsed webhook; `fields` only when the caller asked for them (`$settings['fields']`):
/// a payload can carry hundreds, and the plugin reads none.
pub(super) fn webhook_array<S: AsRef<str>>(hook: &Webhook<S>, with_fields: bool) -> ZBox<ZendHashTable> {
    use crate::crm::Crm;
    use crate::webhook::Action;
    let action = match hook.action {
        Action::Test => Fixed::TEST,
        Action::Add => Fixed::ADD,
        Action::Update => Fixed::UPDATE,
        Action::UpdateTags => Fixed::UPDATE_TAGS,
        Action::CkUnsubscribed => Fixed::CK_UNSUBSCRIBED,
        Action::KitUnsubscribed => Fixed::KIT_UNSUBSCRIBED,
    };
    let crm = match hook.crm {
        Crm::ActiveCampaign => Fixed::ACTIVECAMPAIGN,
        Crm::ConvertKit => Fixed::CONVERTKIT,
        Crm::Kit => Fixed::KIT,
        Crm::FluentCrm => Fixed::FLUENTCRM,
        Crm::FunnelKit => Fixed::FUNNELKIT,
        Crm::Keap => Fixed::KEAP,
    };
    // Every value starts null: only the others are written.
    let mut array = if with_fields { WEBHOOK_WITH_FIELDS.array() } else { WEBHOOK.array() };
    fill(&mut array, Fixed::ACTION, action.zval());
    fill(&mut array, Fixed::CRM, crm.zval());
    if let Some(contact_id) = hook.contact_id.as_deref() {
        fill(&mut array, Fixed::CONTACT_ID, text_zval(contact_id));
    }
    if let Some(email) = hook.email.as_deref() {
        fill(&mut array, Fixed::EMAIL, text_zval(email));
    }
    if let Some(tags) = hook.tags.as_deref() {
        fill(&mut array, Fixed::TAGS, array_zval(list_array(tags)));
    }
    if with_fields {
        fill(&mut array, Fixed::FIELDS, array_zval(pairs_array(&hook.fields)));
    }
    if let Some(role) = hook.role.as_deref() {
        fill(&mut array, Fixed::ROLE, text_zval(role));
    }
    fill(&mut array, Fixed::SEND_NOTIFICATION, bool_zval(hook.send_notification));
    if let Some(run_async) = hook.run_async {
        fill(&mut array, Fixed::ASYNC, bool_zval(run_async));
    }
    if let Some(initiated_from) = hook.initiated_from.as_deref() {
        fill(&mut array, Fixed::INITIATED_FROM, text_zval(initiated_from));
    }
    array
}

/// True when the array's internal pointer (what `current()` reads) is at its first slot, as a
/// new array's is. Read from the engine's own struct, as `zend_hash.h` declares it: the
/// engine function that reports it is not among those `cargo php stubs` can load with us.
fn pointer_at_start(array: &ZendHashTable) -> bool {
    array.nInternalPointer == 0
}

/// True when `item` is exactly the PHP string `lent` holds (its bytes, not a copy or a slice).
fn is_whole(item: &str, lent: &Lent<'_>) -> bool {
    // Only a string value itself (not a reference to one) can be handed back as it is.
    lent.value.is_string() && lent.value.zend_str().is_some_and(|s| s.as_bytes().as_ptr() == item.as_ptr() && s.len() == item.len())
}

/// The plan's tags as PHP sees them. When the plan kept every lent tag whole and in place, and
/// the lent array is a list (its values are found at 0, 1, … in the order `foreach` gave them),
/// the answer is that very array, shared: what `$plan['tags'] = $contact['tags']` would do.
/// Otherwise a packed list in which each whole tag is the lent string, shared, and only trimmed
/// ones are copied; the plan keeps the lent order, so one walk over them finds each.
fn tags_zval(items: &[Cow<'_, str>], lent: &LentList<'_>) -> Zval {
    if let Some(source) = lent.array.filter(|a| a.is_array()) {
        let unchanged = items.len() == lent.items.len()
            && items.iter().zip(&lent.items).all(|(item, l)| matches!(item, Cow::Borrowed(_)) && is_whole(item, l));
        let list =
            source.array().is_some_and(|array| {
                // A shared array shares its internal pointer too: only one `current()` would read as
                // a new array's.
                pointer_at_start(array)
                    && array.len() == lent.items.len()
                    && lent.items.iter().enumerate().all(|(i, l)| {
                        i64::try_from(i).ok().and_then(|i| array.get_index(i)).is_some_and(|found| std::ptr::eq(found, l.value))
                    })
            });
        if unchanged && list {
            return source.shallow_clone();
        }
    }
    let mut array = new_array(items.len());
    let mut from = 0;
    for item in items {
        let (start, end) = (item.as_ptr() as usize, item.as_ptr() as usize + item.len());
        let mut shared = None;
        if let Cow::Borrowed(_) = item {
            // The lent text this tag is a slice of, if any.
            if let Some(offset) = lent.items[from..].iter().position(|l| {
                let at = l.text.as_ptr() as usize;
                at <= start && end <= at + l.text.len()
            }) {
                let source = &lent.items[from + offset];
                from += offset + 1;
                if is_whole(item, source) {
                    shared = Some(source.value.shallow_clone());
                }
            }
        }
        push(&mut array, shared.unwrap_or_else(|| text_zval(item)));
    }
    array_zval(array)
}

pub(super) fn plan_array(plan: &UserPlan<'_>, lent_tags: &LentList<'_>) -> ZBox<ZendHashTable> {
    let u = &plan.user;
    let mut user = new_array(8);
    if let Some(id) = u.id {
        let mut zv = Zval::new();
        zv.set_long(i64::try_from(id).unwrap_or(i64::MAX));
        add(&mut user, Fixed::ID_UPPER, zv);
    }
    for (key, value) in [
        (Fixed::USER_LOGIN, u.login.as_deref()),
        (Fixed::USER_EMAIL, u.email.as_deref()),
        (Fixed::USER_PASS, u.password.as_ref().map(plan::Password::reveal)),
        (Fixed::FIRST_NAME, u.first_name.as_deref()),
        (Fixed::LAST_NAME, u.last_name.as_deref()),
        (Fixed::DISPLAY_NAME, u.display_name.as_deref()),
        (Fixed::ROLE, u.role.as_deref()),
    ] {
        if let Some(value) = value {
            add(&mut user, key, text_zval(value));
        }
    }

    let mut array = new_array(7);
    add(&mut array, Fixed::OP, if plan.op == Op::Create { Fixed::CREATE } else { Fixed::UPDATE }.zval());
    add(&mut array, Fixed::USER, array_zval(user));
    add(&mut array, Fixed::META, array_zval(pairs_array(&plan.meta)));
    add(&mut array, Fixed::TAGS, tags_zval(&plan.tags, lent_tags));
    add(&mut array, Fixed::PASSWORD_GENERATED, bool_zval(plan.password_generated));
    let returned = plan.return_password.as_ref().map(|(field, password)| {
        let mut ret = new_array(2);
        add(&mut ret, Fixed::FIELD, text_zval(field));
        add(&mut ret, Fixed::VALUE, text_zval(password.reveal()));
        array_zval(ret)
    });
    add(&mut array, Fixed::RETURN_PASSWORD, returned.unwrap_or_default());
    add(&mut array, Fixed::NOTICES, array_zval(list_array(&plan.notices)));
    array
}
