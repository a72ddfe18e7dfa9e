//! The exported `crmhook_*` functions: each reads its arguments (`super::input`), calls the
//! pure core, and builds its result (`super::output`) under `run`, so a failure or even a
//! bug reaches PHP as an exception.

use std::borrow::Cow;

use ext_php_rs::args::Arg;
use ext_php_rs::binary::Binary;
use ext_php_rs::boxed::ZBox;
use ext_php_rs::builders::FunctionBuilder;
use ext_php_rs::flags::DataType;
use ext_php_rs::prelude::*;
use ext_php_rs::types::{ZendHashTable, Zval};
use ext_php_rs::zend::ExecuteData;

use super::args::{argument, argument_count_within, ArrayArg, Param, StrArg};
use super::exceptions::{run, Failure, PhpResultOf};
use super::ini::{call_settings, ini_max_body_bytes};
use super::input::{
    bytes_of, contact_from, crm_config, flag_of, flatten_form, header_key, id_argument, options_from, roles_of, string_of, text_pairs_of,
    user_from,
};
use super::interned::{find, Fixed};
use super::output::{contact_array, contact_page_array, list_array, pairs_array, plan_array, webhook_array};
use crate::access;
use crate::crm::{self, Crm};
use crate::form::Form;
use crate::plan;
use crate::webhook::{self, Request, Settings};

/// `crmhook_parse_webhook`'s docblock, for the stubs and reflection.
const PARSE_WEBHOOK_DOCS: &[&str] = &[
    " Parses and authenticates a CRM webhook request.",
    "",
    " `$request`: `method`, `query` (raw query string), `body` (raw body), `content_type`,",
    " `headers` (lower-case names → values), optional `form` (`$_POST`, for multipart bodies).",
    " `$settings`: `crm`, `access_key`, optional `max_body_bytes`, optional `fields`.",
    "",
    " The access key is checked first (query, form body, JSON body or `X-Crmhook-Key` header).",
    " `$settings['fields'] = true` also returns `fields`, the contact fields the payload carried",
    " (CRM field id → text); without it they are left out, as the plugin reads none and a payload",
    " can carry hundreds.",
    " Returns `action`, `crm`, `contact_id`, `email`, `tags` (null when the payload has none),",
    " `fields` (only when asked for), `role`, `send_notification`, `async` (null/true/false),",
    " `initiated_from`.",
    "",
    " @throws \\CrmHook\\WebhookException whose code is the HTTP status to answer with.",
];

/// `crmhook_parse_webhook(array $request, array $settings): array` (docs above), registered by
/// hand in [`register`]: the call every webhook makes, so its arguments are read straight from
/// the call frame and its result written straight to the return value, without the generated
/// wrapper's `zend_try` (a `setjmp`), closure frames and conversions — ~100 instructions of a
/// ~4,000-instruction `test` webhook. A wrong type still reads as before (`super::args`), and
/// `run` still keeps a panic from PHP.
extern "C" fn crmhook_parse_webhook(ex: &mut ExecuteData, retval: &mut Zval) {
    // A wrong number of arguments: the engine's own ArgumentCountError is already thrown.
    if !argument_count_within(ex, 2, 2) {
        return;
    }
    let (Some(request), Some(settings)) = (argument(ex, 0), argument(ex, 1)) else {
        return;
    };
    match run(|| parse_webhook(ArrayArg::new(request), ArrayArg::new(settings))) {
        Ok(array) => retval.set_hashtable(array),
        Err(e) => e.throw(),
    }
}

fn parse_webhook(request: ArrayArg, settings: ArrayArg) -> Result<ZBox<ZendHashTable>, Failure> {
    const REQUEST: Param = Param::new("crmhook_parse_webhook", 1, "request");
    const SETTINGS: Param = Param::new("crmhook_parse_webhook", 2, "settings");
    let request = request.get(&REQUEST)?;
    let settings = settings.get(&SETTINGS)?;
    let crm = Crm::from_slug(&string_of(settings, Fixed::CRM, &SETTINGS)?.unwrap_or_default())?;
    let access_key = string_of(settings, Fixed::ACCESS_KEY, &SETTINGS)?.unwrap_or_default();
    let max_body_bytes = match find(settings, Fixed::MAX_BODY_BYTES) {
        Some(v) if !v.is_null() => {
            let at = SETTINGS.key("max_body_bytes");
            usize::try_from(v.long().ok_or_else(|| at.wrong_type("int", v))?).map_err(|_| at.value_error("must not be negative"))?
        }
        _ => ini_max_body_bytes(),
    };
    let with_fields = flag_of(settings, Fixed::FIELDS);

    let method = string_of(request, Fixed::METHOD, &REQUEST)?.unwrap_or(Cow::Borrowed("GET"));
    let content_type = string_of(request, Fixed::CONTENT_TYPE, &REQUEST)?.unwrap_or_default();
    let query = bytes_of(request, Fixed::QUERY, &REQUEST)?;
    let body = bytes_of(request, Fixed::BODY, &REQUEST)?;
    let key_header = match find(request, Fixed::HEADERS) {
        Some(h) if h.is_array() => h.array().and_then(header_key),
        Some(h) if !h.is_null() => return Err(REQUEST.key("headers").wrong_type("?array", h)),
        _ => None,
    };
    let form = match find(request, Fixed::FORM).filter(|f| !f.is_null()) {
        Some(form) => {
            let form = form.array().ok_or_else(|| REQUEST.key("form").wrong_type("?array", form))?;
            let mut pairs = Vec::new();
            flatten_form(form, "", &mut pairs, 0)?;
            Some(Form::from_pairs(pairs))
        }
        None => None,
    };

    let request = Request { method: &method, query, body, content_type: &content_type, key_header, form };
    let settings = Settings { crm, access_key: &access_key, max_body_bytes };
    // The array is built while the decoded request is alive: the tags go from it to PHP
    // strings without a Rust copy in between.
    Ok(webhook::parse_webhook_lent(&request, &settings, with_fields, |hook| webhook_array(&hook, with_fields))?)
}

/// Compares an access key with the expected one in constant time. False when either is empty.
#[php_function]
pub fn crmhook_verify_access_key(given: StrArg, expected: StrArg) -> PhpResultOf<bool> {
    const GIVEN: Param = Param::new("crmhook_verify_access_key", 1, "given");
    const EXPECTED: Param = Param::new("crmhook_verify_access_key", 2, "expected");
    run(|| Ok(access::verify_access_key(given.bytes(&GIVEN)?, expected.bytes(&EXPECTED)?)))
}

/// A new access key: 32 letters and digits (190 bits) from the OS CSPRNG, URL-safe.
#[php_function]
pub fn crmhook_generate_access_key() -> PhpResultOf<String> {
    run(|| Ok(access::generate_access_key()?))
}

/// A new password of letters and digits (at least one upper-case, one lower-case, one digit),
/// from the OS CSPRNG. `$length` is 8 to 256.
const GENERATE_PASSWORD_DOCS: &[&str] = &[
    " A new password of letters and digits (at least one upper-case, one lower-case, one digit),",
    " from the OS CSPRNG. `$length` is 8 to 256.",
];

/// `crmhook_generate_password(int $length = 24): string`, registered by hand in [`register`]:
/// the macro answers an explicit `null` for an argument with a default in words of its own, and
/// this one must read like every other TypeError (see `super::args`).
extern "C" fn crmhook_generate_password(ex: &mut ExecuteData, retval: &mut Zval) {
    const LENGTH: Param = Param::new("crmhook_generate_password", 1, "length");
    let mut length = Arg::new("length", DataType::Long).default("24");
    // A wrong number of arguments: the engine's own ArgumentCountError is already thrown.
    if ex.parser().not_required().arg(&mut length).parse().is_err() {
        return;
    }
    let given = length.zval().map(|zv| &**zv);
    let result = run(|| {
        let length = match given {
            None => 24,
            Some(zv) => zv.dereference().long().ok_or_else(|| LENGTH.at().wrong_type("int", zv))?,
        };
        let length =
            usize::try_from(length).map_err(|_| Failure::Value(format!("password length must be between 8 and 256, got {length}")))?;
        Ok(access::generate_password(length)?)
    });
    match result {
        Ok(password) => retval.set_zend_string(ext_php_rs::types::ZendStr::new(&password, false)),
        Err(e) => e.throw(),
    }
}

/// The capabilities that make a user privileged: a webhook never grants a role that carries one,
/// and never changes a user who holds one. The plugin may add to this list (never remove).
#[php_function]
pub fn crmhook_privileged_capabilities() -> PhpResultOf<ZBox<ZendHashTable>> {
    run(|| Ok(list_array(&plan::DANGEROUS_CAPABILITIES)))
}

/// The CRMs, slug → `slug`, `name` (as messages name it), `label` (as the settings screen lists
/// it), `meta_slug` (the `{meta_slug}_contact_id` / `{meta_slug}_tags` user meta keys),
/// `default_api_url` (null where the API is per account or site), `api_url_example`,
/// `credentials` (the `$crm` keys it reads, `api_url` first: key → `label`, `secret`, `required`),
/// `tags_as` (`ids` | `names`), `automation_rules` (the site registers ConvertKit/Kit rules),
/// `contact_id_pair` (null, or the name/value pair that carries the contact id), `rate_limit`
/// (documented calls per second), `wordpress` (runs on another WordPress site).
///
/// The plugin's one source for these facts; labels are English, for the plugin to translate.
#[php_function]
pub fn crmhook_crms() -> PhpResultOf<ZBox<ZendHashTable>> {
    run(super::tables::crms_array)
}

/// The username formats of new users, slug → `label`, `description`, `example` (the login the
/// format makes for John Smith, john.smith@example.com). The slugs are the values of
/// `crmhook_map_contact()`'s `$options['username_format']`.
#[php_function]
pub fn crmhook_username_formats() -> PhpResultOf<ZBox<ZendHashTable>> {
    run(super::tables::username_formats_array)
}

/// Checks a CRM `api_url` before it is saved: `https://`, or plain `http://` only for
/// localhost and private network addresses (credentials travel in every request).
///
/// @throws \ValueError naming what is wrong.
#[php_function]
pub fn crmhook_check_api_url(api_url: StrArg) -> PhpResultOf<()> {
    const API_URL: Param = Param::new("crmhook_check_api_url", 1, "api_url");
    run(|| crate::crm::check_api_url(api_url.text(&API_URL)?).map_err(|why| Failure::Value(format!("the api_url {why}"))))
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
pub fn crmhook_map_contact(contact: ArrayArg, options: ArrayArg, user: Option<ArrayArg>) -> PhpResultOf<ZBox<ZendHashTable>> {
    const CONTACT: Param = Param::new("crmhook_map_contact", 1, "contact");
    const OPTIONS: Param = Param::new("crmhook_map_contact", 2, "options");
    const USER: Param = Param::new("crmhook_map_contact", 3, "user");
    run(|| {
        let contact = contact.get(&CONTACT)?;
        let options = options.get(&OPTIONS)?;
        let user = match user {
            Some(user) => user.nullable(&USER)?,
            None => None,
        };
        let roles = roles_of(options, &OPTIONS)?;
        let options = options_from(options, &OPTIONS, &roles)?;
        let (contact, tags) = contact_from(contact, &CONTACT, &options.field_map)?;
        let user = user.map(|u| user_from(u, &USER)).transpose()?;
        let plan = plan::map_contact_lent(&contact, tags.items.iter().map(|t| t.text.as_ref()), &options, user.as_ref())?;
        Ok(plan_array(&plan, &tags))
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
pub fn crmhook_fetch_contact(crm: ArrayArg, contact_id: &Zval) -> PhpResultOf<ZBox<ZendHashTable>> {
    const CRM: Param = Param::new("crmhook_fetch_contact", 1, "crm");
    const CONTACT_ID: Param = Param::new("crmhook_fetch_contact", 2, "contact_id");
    run(|| {
        let crm = crm_config(crm.get(&CRM)?, &CRM)?;
        let contact_id = id_argument(contact_id, &CONTACT_ID)?;
        let contact = crm::fetch_contact(&crm, call_settings(), &contact_id)?;
        Ok(contact_array(&contact))
    })
}

/// The id of the CRM contact with this email, or null when there is none.
///
/// @throws \CrmHook\CrmException
#[php_function]
pub fn crmhook_find_contact(crm: ArrayArg, email: StrArg) -> PhpResultOf<Option<String>> {
    const CRM: Param = Param::new("crmhook_find_contact", 1, "crm");
    const EMAIL: Param = Param::new("crmhook_find_contact", 2, "email");
    run(|| {
        let crm = crm_config(crm.get(&CRM)?, &CRM)?;
        Ok(crm::find_contact(&crm, call_settings(), email.text(&EMAIL)?)?)
    })
}

/// Writes fields (CRM field id → value) to a contact: the returned password, the username.
///
/// @throws \CrmHook\CrmException
#[php_function]
pub fn crmhook_update_contact(crm: ArrayArg, contact_id: &Zval, fields: ArrayArg) -> PhpResultOf<()> {
    const CRM: Param = Param::new("crmhook_update_contact", 1, "crm");
    const CONTACT_ID: Param = Param::new("crmhook_update_contact", 2, "contact_id");
    const FIELDS: Param = Param::new("crmhook_update_contact", 3, "fields");
    run(|| {
        let crm = crm_config(crm.get(&CRM)?, &CRM)?;
        let contact_id = id_argument(contact_id, &CONTACT_ID)?;
        let fields = text_pairs_of(fields.get(&FIELDS)?, &FIELDS)?;
        Ok(crm::update_contact(&crm, call_settings(), &contact_id, &fields)?)
    })
}

/// Every tag of the CRM account, id → name, for the settings screen.
///
/// @throws \CrmHook\CrmException
#[php_function]
pub fn crmhook_list_tags(crm: ArrayArg) -> PhpResultOf<ZBox<ZendHashTable>> {
    const CRM: Param = Param::new("crmhook_list_tags", 1, "crm");
    run(|| Ok(pairs_array(&crm::list_tags(&crm_config(crm.get(&CRM)?, &CRM)?, call_settings())?)))
}

/// One page of the contacts that carry a tag, for a bulk import:
/// `['contacts' => [['id' => string, 'email' => ?string], …], 'next' => ?string, 'total' => ?int]`.
///
/// Pass `$cursor = null` for the first page, then each answer's `next` until it is null. The
/// cursor is opaque (an offset or page number for most CRMs, the CRM's own token for Kit and
/// Keap): only pass back one this function returned. `total` is how many contacts carry the tag
/// in all where the CRM says (null for Keap, for Kit after the first page, and for FunnelKit
/// when its answer has no count).
/// `email` is null where the listing does not name it (ConvertKit v3): load the contact for it.
/// Pages hold up to 100 contacts (ConvertKit v3: 50).
///
/// @throws \CrmHook\CrmException 401, 404 (no such tag, where the CRM says so), 429, 502, 504;
/// a \ValueError for a tag id that is not digits or a cursor this function did not return.
#[php_function]
pub fn crmhook_list_contacts_by_tag(crm: ArrayArg, tag_id: &Zval, cursor: Option<StrArg>) -> PhpResultOf<ZBox<ZendHashTable>> {
    const CRM: Param = Param::new("crmhook_list_contacts_by_tag", 1, "crm");
    const TAG_ID: Param = Param::new("crmhook_list_contacts_by_tag", 2, "tag_id");
    const CURSOR: Param = Param::new("crmhook_list_contacts_by_tag", 3, "cursor");
    run(|| {
        let crm = crm_config(crm.get(&CRM)?, &CRM)?;
        let tag_id = id_argument(tag_id, &TAG_ID)?;
        let cursor = match &cursor {
            Some(cursor) => cursor.nullable_text(&CURSOR)?,
            None => None,
        };
        let page = crm::list_contacts_by_tag(&crm, call_settings(), &tag_id, cursor)?;
        Ok(contact_page_array(&page))
    })
}

/// The fields a contact can be written to, field → label, where the CRM can tell: FluentCRM's
/// columns and defined custom fields (it silently drops any other key). Null for the CRMs whose
/// writes need no such check. *Test connection* uses it to catch a return-password field that
/// would never reach the CRM.
///
/// @throws \CrmHook\CrmException
#[php_function]
pub fn crmhook_list_fields(crm: ArrayArg) -> PhpResultOf<Option<ZBox<ZendHashTable>>> {
    const CRM: Param = Param::new("crmhook_list_fields", 1, "crm");
    run(|| Ok(crm::list_fields(&crm_config(crm.get(&CRM)?, &CRM)?, call_settings())?.map(|fields| pairs_array(&fields))))
}

/// Registers a ConvertKit or Kit automation rule: on `$event` the CRM calls `$target_url`.
/// Returns the rule id. Tag events (`subscriber.tag_add`, `subscriber.tag_remove`) need the
/// `$tag_id`; events about the subscriber alone (`subscriber.subscriber_unsubscribe`) take `''`.
///
/// @throws \CrmHook\CrmException
#[php_function]
pub fn crmhook_register_webhook(crm: ArrayArg, event: StrArg, tag_id: &Zval, target_url: StrArg) -> PhpResultOf<String> {
    const CRM: Param = Param::new("crmhook_register_webhook", 1, "crm");
    const EVENT: Param = Param::new("crmhook_register_webhook", 2, "event");
    const TAG_ID: Param = Param::new("crmhook_register_webhook", 3, "tag_id");
    const TARGET_URL: Param = Param::new("crmhook_register_webhook", 4, "target_url");
    run(|| {
        let crm = crm_config(crm.get(&CRM)?, &CRM)?;
        let event = event.text(&EVENT)?;
        let tag_id = id_argument(tag_id, &TAG_ID)?;
        let target_url = target_url.text(&TARGET_URL)?;
        Ok(crm::register_webhook(&crm, call_settings(), event, &tag_id, target_url)?)
    })
}

/// Deletes a ConvertKit or Kit automation rule.
///
/// @throws \CrmHook\CrmException
#[php_function]
pub fn crmhook_unregister_webhook(crm: ArrayArg, rule_id: &Zval) -> PhpResultOf<()> {
    const CRM: Param = Param::new("crmhook_unregister_webhook", 1, "crm");
    const RULE_ID: Param = Param::new("crmhook_unregister_webhook", 2, "rule_id");
    run(|| {
        let crm = crm_config(crm.get(&CRM)?, &CRM)?;
        let rule_id = id_argument(rule_id, &RULE_ID)?;
        Ok(crm::unregister_webhook(&crm, call_settings(), &rule_id)?)
    })
}

/// Removes a tag from a ConvertKit or Kit subscriber (the update tag after an `update`
/// webhook, so the rule can fire again).
///
/// @throws \CrmHook\CrmException
#[php_function]
pub fn crmhook_remove_tag(crm: ArrayArg, contact_id: &Zval, tag_id: &Zval) -> PhpResultOf<()> {
    const CRM: Param = Param::new("crmhook_remove_tag", 1, "crm");
    const CONTACT_ID: Param = Param::new("crmhook_remove_tag", 2, "contact_id");
    const TAG_ID: Param = Param::new("crmhook_remove_tag", 3, "tag_id");
    run(|| {
        let crm = crm_config(crm.get(&CRM)?, &CRM)?;
        let contact_id = id_argument(contact_id, &CONTACT_ID)?;
        let tag_id = id_argument(tag_id, &TAG_ID)?;
        Ok(crm::remove_tag(&crm, call_settings(), &contact_id, &tag_id)?)
    })
}

/// The fast lane as this PHP sees it (docs/fast-lane.md): `enabled` (`crmhook.lane`), `entry`
/// (`crmhook.lane_entry`) and `entry_found`, `config` (`crmhook.lane_config`), `this_request`
/// (this request was handed to the lane entry) and `prepend` (the site's own `auto_prepend_file`,
/// which the lane entry includes first; null when there is none).
#[php_function]
pub fn crmhook_lane_status() -> PhpResultOf<ZBox<ZendHashTable>> {
    run(|| Ok(super::lane::status()))
}

/// The fast lane's memo for this site in this PHP process (keyed by `crmhook.lane_config`), or
/// null when there is none: what the lane entry last read from the site's database, kept from one
/// webhook to the next. Only the lane entry uses it; see docs/fast-lane.md.
#[php_function]
pub fn crmhook_lane_memo() -> PhpResultOf<Option<Binary<u8>>> {
    run(|| Ok(super::lane::memo().map(Binary::from)))
}

/// Keeps `$memo` as the fast lane's memo for this site in this PHP process (an empty string
/// forgets it). False when `crmhook.lane_config` is not set or the memo is over 64 KiB.
#[php_function]
pub fn crmhook_lane_remember(memo: StrArg) -> PhpResultOf<bool> {
    const MEMO: Param = Param::new("crmhook_lane_remember", 1, "memo");
    run(|| Ok(super::lane::remember(memo.bytes(&MEMO)?)))
}

/// Adds every exported function to the module (the macro must see them by their bare names).
pub(super) fn register(module: ModuleBuilder) -> ModuleBuilder {
    module
        .function(
            FunctionBuilder::new("crmhook_parse_webhook", crmhook_parse_webhook)
                .arg(Arg::new("request", DataType::Array))
                .arg(Arg::new("settings", DataType::Array))
                .returns(DataType::Array, false, false)
                .docs(PARSE_WEBHOOK_DOCS),
        )
        .function(wrap_function!(crmhook_verify_access_key))
        .function(wrap_function!(crmhook_generate_access_key))
        .function(
            FunctionBuilder::new("crmhook_generate_password", crmhook_generate_password)
                .not_required()
                .arg(Arg::new("length", DataType::Long).default("24"))
                .returns(DataType::String, false, false)
                .docs(GENERATE_PASSWORD_DOCS),
        )
        .function(wrap_function!(crmhook_map_contact))
        .function(wrap_function!(crmhook_privileged_capabilities))
        .function(wrap_function!(crmhook_check_api_url))
        .function(wrap_function!(crmhook_crms))
        .function(wrap_function!(crmhook_username_formats))
        .function(wrap_function!(crmhook_fetch_contact))
        .function(wrap_function!(crmhook_find_contact))
        .function(wrap_function!(crmhook_update_contact))
        .function(wrap_function!(crmhook_list_tags))
        .function(wrap_function!(crmhook_list_fields))
        .function(wrap_function!(crmhook_list_contacts_by_tag))
        .function(wrap_function!(crmhook_register_webhook))
        .function(wrap_function!(crmhook_unregister_webhook))
        .function(wrap_function!(crmhook_remove_tag))
        .function(wrap_function!(crmhook_lane_status))
        .function(wrap_function!(crmhook_lane_memo))
        .function(wrap_function!(crmhook_lane_remember))
}
