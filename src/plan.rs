//! Contact + options + existing user → [`UserPlan`]: what WordPress should create or change.
//!
//! Every rule of docs/php-api.md's "The rules the plan enforces" lives here, in one place:
//! safe logins, passwords (given, or generated and returned to the CRM, never logged), the
//! role policy judged on capabilities, privileged users left alone, and the field map.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;

use crate::access::generate_password;
use crate::contact::Contact;
use crate::error::{OptionError, WebhookError};
use crate::login::{login_for, sanitize_login, survives_sanitize, UsernameFormat};
use crate::text::trim;

/// Length of generated passwords.
pub const GENERATED_PASSWORD_LENGTH: usize = 24;

/// Capabilities a webhook may never grant, whatever the settings say: each lets its holder
/// take over the site.
pub const DANGEROUS_CAPABILITIES: [&str; 9] = [
    "manage_options",
    "edit_users",
    "promote_users",
    "create_users",
    "delete_users",
    "edit_plugins",
    "install_plugins",
    "activate_plugins",
    "unfiltered_html",
];

/// WordPress user keys a field map may target; they go into the user, not into meta.
const USER_KEYS: [&str; 7] = ["user_login", "user_pass", "user_email", "first_name", "last_name", "display_name", "role"];

/// The site's roles and what they grant: asked lazily, so a caller can answer from the data it
/// already holds (the binding reads PHP's `wp_roles()` array in place, copying nothing).
pub trait Roles {
    /// True when the role is registered on the site.
    fn exists(&self, role: &str) -> bool;
    /// True when the role grants any of `capabilities`.
    fn grants_any(&self, role: &str, capabilities: &[&str]) -> bool;
}

/// Role slug → the capabilities it grants.
impl Roles for HashMap<String, Vec<String>> {
    fn exists(&self, role: &str) -> bool {
        self.contains_key(role)
    }
    fn grants_any(&self, role: &str, capabilities: &[&str]) -> bool {
        self.get(role).is_some_and(|caps| caps.iter().any(|c| capabilities.contains(&c.as_str())))
    }
}

/// A site without roles (the default): nothing can be granted but "no role".
#[derive(Debug, Clone, Copy, Default)]
pub struct NoRoles;

impl Roles for NoRoles {
    fn exists(&self, _role: &str) -> bool {
        false
    }
    fn grants_any(&self, _role: &str, _capabilities: &[&str]) -> bool {
        false
    }
}

/// How the site maps contacts to users. The texts borrow from the caller where they can (the
/// binding lends PHP's own strings for the call) and own where they must.
#[derive(Clone)]
pub struct PlanOptions<'r> {
    /// CRM field id → WordPress key (a user key from the list above, or a meta key).
    pub field_map: Vec<(Cow<'r, str>, Cow<'r, str>)>,
    /// How new usernames are formed.
    pub username_format: UsernameFormat,
    /// The site's default role for new users.
    pub default_role: Cow<'r, str>,
    /// Roles a webhook or CRM field may set (empty: only the default role).
    pub allowed_roles: Vec<Cow<'r, str>>,
    /// The role the webhook asked for.
    pub requested_role: Option<Cow<'r, str>>,
    /// CRM field to send a generated password back to.
    pub return_password_field: Option<Cow<'r, str>>,
    /// Every role on the site and what it grants.
    pub roles: &'r dyn Roles,
    /// Capabilities the site adds to [`DANGEROUS_CAPABILITIES`] (the plugin's filter): they can
    /// only widen what counts as privileged.
    pub privileged_capabilities: Vec<String>,
    /// Lets a mapped password field change the password of a user the site did not create from
    /// this contact (an explicit, warned setting; off by default).
    pub update_existing_passwords: bool,
}

impl Default for PlanOptions<'static> {
    fn default() -> Self {
        PlanOptions {
            field_map: Vec::new(),
            username_format: UsernameFormat::default(),
            default_role: Cow::Borrowed(""),
            allowed_roles: Vec::new(),
            requested_role: None,
            return_password_field: None,
            roles: &NoRoles,
            privileged_capabilities: Vec::new(),
            update_existing_passwords: false,
        }
    }
}

impl std::fmt::Debug for PlanOptions<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PlanOptions")
            .field("field_map", &self.field_map)
            .field("username_format", &self.username_format)
            .field("default_role", &self.default_role)
            .field("allowed_roles", &self.allowed_roles)
            .field("requested_role", &self.requested_role)
            .finish_non_exhaustive()
    }
}

/// The WordPress user the contact is linked to (found by the contact index, then by email).
#[derive(Debug, Clone, Default)]
pub struct ExistingUser {
    /// `ID`.
    pub id: u64,
    /// `user_login`.
    pub login: String,
    /// `user_email`.
    pub email: String,
    /// Role slugs.
    pub roles: Vec<String>,
    /// The plugin's own judgement that this user holds dangerous capabilities.
    pub privileged: bool,
    /// The site created this user from this contact (so the CRM owns the password).
    pub created_from_contact: bool,
}

/// Create, or update.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `wp_insert_user`.
    Create,
    /// `wp_update_user`.
    Update,
}

/// A password that never prints: `Debug` and `Display` show `[hidden]`.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    /// The password itself, for the one place that needs it (the binding).
    pub fn reveal(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[hidden]")
    }
}

/// The `wp_insert_user` / `wp_update_user` fields. `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserFields {
    /// `ID`, on update.
    pub id: Option<u64>,
    /// `user_login`, on create.
    pub login: Option<String>,
    /// `user_email`.
    pub email: Option<String>,
    /// `user_pass`.
    pub password: Option<Password>,
    /// `first_name`.
    pub first_name: Option<String>,
    /// `last_name`.
    pub last_name: Option<String>,
    /// `display_name`.
    pub display_name: Option<String>,
    /// `role`, when it is set or changes.
    pub role: Option<String>,
}

/// What WordPress should do for this contact. The tags borrow from the caller's when it lent
/// them ([`map_contact_lent`]): 1,000 tags are then never copied on the way through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserPlan<'t> {
    /// Create or update.
    pub op: Op,
    /// User fields.
    pub user: UserFields,
    /// Meta key → value, from the field map.
    pub meta: Vec<(String, String)>,
    /// The contact's tags, trimmed, without empties and repeats, in order.
    pub tags: Vec<Cow<'t, str>>,
    /// True when the password was generated here.
    pub password_generated: bool,
    /// CRM field and password to send back, when configured.
    pub return_password: Option<(String, Password)>,
    /// Lines for the activity log. Never a password.
    pub notices: Vec<String>,
}

/// Builds the plan. Fails when a new user cannot be made (no email) or the options are off.
pub fn map_contact(contact: &Contact, options: &PlanOptions, user: Option<&ExistingUser>) -> Result<UserPlan<'static>, PlanError> {
    plan_with_tags(contact, options, user, || {
        crate::crm::clean_tags_into(contact.tags.iter().map(String::as_str), |t| Cow::Owned(t.to_owned()))
    })
}

/// [`map_contact`] with the contact's tags lent apart from it (`contact.tags` is not read): the
/// plan's tags are slices of the lent ones, so the binding hands PHP's own strings back.
pub fn map_contact_lent<'t>(
    contact: &Contact,
    tags: impl IntoIterator<Item = &'t str>,
    options: &PlanOptions,
    user: Option<&ExistingUser>,
) -> Result<UserPlan<'t>, PlanError> {
    plan_with_tags(contact, options, user, || crate::crm::clean_tags_into(tags, Cow::Borrowed))
}

fn plan_with_tags<'t>(
    contact: &Contact,
    options: &PlanOptions,
    user: Option<&ExistingUser>,
    tags: impl FnOnce() -> Vec<Cow<'t, str>>,
) -> Result<UserPlan<'t>, PlanError> {
    let mut notices = Vec::new();
    let mapped = MappedUserFields::read(&options.field_map, contact);

    let email = mapped.email.unwrap_or(trim(&contact.email));
    let first_name = mapped.first_name.unwrap_or(trim(&contact.first_name));
    let last_name = mapped.last_name.unwrap_or(trim(&contact.last_name));
    let given_password = mapped.password;
    let requested_role = options.requested_role.as_deref().or(mapped.role);

    let mut fields = UserFields {
        first_name: non_empty(first_name).map(str::to_owned),
        last_name: non_empty(last_name).map(str::to_owned),
        ..UserFields::default()
    };

    let mut password_generated = false;
    let mut return_password = None;

    let op = match user {
        None => {
            if email.is_empty() {
                return Err(PlanError::Unusable(format!(
                    "contact {} has no email address, and WordPress needs one to create a user",
                    contact.id
                )));
            }
            fields.email = Some(email.to_owned());
            fields.login = Some(choose_login(options, mapped.login, email, first_name, last_name, &mut notices));
            fields.display_name = Some(match (first_name, last_name) {
                ("", "") => fields.login.clone().unwrap_or_default(),
                (f, "") => f.to_owned(),
                ("", l) => l.to_owned(),
                (f, l) => [f, " ", l].concat(),
            });
            fields.password = Some(match given_password {
                Some(p) => {
                    notices.push("password taken from the CRM's password field".to_owned());
                    Password(p.to_owned())
                }
                None => {
                    password_generated = true;
                    let p = Password(generate_password(GENERATED_PASSWORD_LENGTH).map_err(PlanError::Options)?);
                    if let Some(field) = options.return_password_field.as_deref().filter(|f| !trim(f).is_empty()) {
                        // Concatenated, not `format!`: this line is in every plan of a site that returns passwords.
                        notices.push(["generated password will be sent back to CRM field ", field].concat());
                        return_password = Some((field.to_owned(), p.clone()));
                    }
                    p
                }
            });
            fields.role = Some(grant_role(options, requested_role, &mut notices));
            Op::Create
        }
        Some(existing) => {
            // Not renamed, no meta, tags, email, password or role: a contact whose email is an
            // administrator's must not be a way into the administrator's account.
            if is_privileged(options, existing) {
                return Err(PlanError::Privileged(existing.id));
            }
            fields.id = Some(existing.id);
            if !email.is_empty() && !email.eq_ignore_ascii_case(&existing.email) {
                notices.push("email updated from the CRM".to_owned());
                fields.email = Some(email.to_owned());
            }
            if let Some(p) = given_password {
                if existing.created_from_contact || options.update_existing_passwords {
                    notices.push("password updated from the CRM's password field".to_owned());
                    fields.password = Some(Password(p.to_owned()));
                } else {
                    notices.push(format!(
                        "password field ignored: user {} was not created from this contact, so the CRM does not own their password",
                        existing.id
                    ));
                }
            }
            if let Some(requested) = requested_role {
                let role = grant_role(options, Some(requested), &mut notices);
                if role == requested && !(existing.roles.len() == 1 && existing.roles[0] == role) {
                    fields.role = Some(role);
                }
            }
            Op::Update
        }
    };

    let mut meta: Vec<(String, String)> = Vec::new();
    for (crm_field, wp_key) in &options.field_map {
        let wp_key = trim(wp_key);
        if wp_key.is_empty() || USER_KEYS.contains(&wp_key) {
            continue;
        }
        if is_protected_meta(wp_key) {
            notices.push(format!("field {crm_field} is mapped to {wp_key}, which a webhook may not write: skipped"));
            continue;
        }
        if let Some(value) = contact.field(crm_field) {
            match meta.iter_mut().find(|(k, _)| k == wp_key) {
                Some(slot) => slot.1 = value.to_owned(),
                None => meta.push((wp_key.to_owned(), value.to_owned())),
            }
        }
    }

    Ok(UserPlan { op, user: fields, meta, tags: tags(), password_generated, return_password, notices })
}

/// The user fields the field map sets from the contact: for each, the first map entry that
/// targets it (its WordPress key exactly) and whose CRM field the contact has, trimmed; `None`
/// when there is no such entry or its value is empty.
#[derive(Debug, Default, PartialEq, Eq)]
struct MappedUserFields<'c> {
    email: Option<&'c str>,
    first_name: Option<&'c str>,
    last_name: Option<&'c str>,
    password: Option<&'c str>,
    role: Option<&'c str>,
    login: Option<&'c str>,
}

impl<'c> MappedUserFields<'c> {
    /// One walk over the map for all six (a search of the 25-entry map per field was a twentieth
    /// of a small map call).
    fn read(field_map: &[(Cow<'_, str>, Cow<'_, str>)], contact: &'c Contact) -> Self {
        // The decided ones: the first entry that targets a field and whose CRM field the
        // contact has decides it, even when its value is empty.
        let mut found: [Option<Option<&'c str>>; 6] = [None; 6];
        for (crm_field, wp_key) in field_map {
            let slot = match wp_key.as_ref() {
                "user_email" => 0,
                "first_name" => 1,
                "last_name" => 2,
                "user_pass" => 3,
                "role" => 4,
                "user_login" => 5,
                _ => continue,
            };
            if found[slot].is_none() {
                if let Some(value) = contact.field(crm_field) {
                    found[slot] = Some(non_empty(trim(value)));
                }
            }
        }
        let [email, first_name, last_name, password, role, login] = found.map(Option::flatten);
        MappedUserFields { email, first_name, last_name, password, role, login }
    }
}

/// Why no plan could be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// The contact cannot become a user (no email).
    #[error("{0}")]
    Unusable(String),
    /// The user is privileged: nothing about them may change.
    #[error("{}", WebhookError::PrivilegedUser(*.0))]
    Privileged(u64),
    /// The options cannot work.
    #[error(transparent)]
    Options(#[from] OptionError),
}

impl From<PlanError> for WebhookError {
    fn from(e: PlanError) -> Self {
        match e {
            PlanError::Privileged(id) => WebhookError::PrivilegedUser(id),
            other => WebhookError::UnusableContact(other.to_string()),
        }
    }
}

fn non_empty(s: &str) -> Option<&str> {
    (!s.is_empty()).then_some(s)
}

fn choose_login(
    options: &PlanOptions,
    mapped_login: Option<&str>,
    email: &str,
    first_name: &str,
    last_name: &str,
    notices: &mut Vec<String>,
) -> String {
    if let Some(raw) = mapped_login {
        if survives_sanitize(raw) {
            return raw.to_owned();
        }
        let safe = sanitize_login(raw);
        if !safe.is_empty() {
            notices.push(format!("username from the CRM was changed to \"{safe}\" so WordPress keeps it as is"));
            return safe;
        }
        notices.push("username from the CRM has no usable characters: using the username format".to_owned());
    }
    login_for(options.username_format, email, first_name, last_name)
}

/// The role to give: the requested one if allowed, else the default; never a dangerous one.
fn grant_role(options: &PlanOptions, requested: Option<&str>, notices: &mut Vec<String>) -> String {
    let default = trim(&options.default_role);
    if let Some(requested) = requested.map(trim).filter(|r| !r.is_empty()) {
        let allowed =
            if options.allowed_roles.is_empty() { requested == default } else { options.allowed_roles.iter().any(|r| r == requested) };
        let refusal = if !options.roles.exists(requested) {
            Some("is not registered on this site")
        } else if role_is_dangerous(options, requested) {
            Some("carries administrative capabilities, which a webhook never grants")
        } else if !allowed {
            Some("is not in the allowed roles")
        } else {
            None
        };
        match refusal {
            None => return requested.to_owned(),
            Some(why) => notices.push(format!("role \"{requested}\" refused: it {why}")),
        }
    }
    if !default.is_empty() && options.roles.exists(default) && !role_is_dangerous(options, default) {
        return default.to_owned();
    }
    let fallback = "subscriber";
    if options.roles.exists(fallback) && !role_is_dangerous(options, fallback) {
        notices.push(format!("default role \"{default}\" cannot be granted by a webhook: using subscriber"));
        return fallback.to_owned();
    }
    notices.push("no safe role is available: the user gets no role".to_owned());
    String::new()
}

fn role_is_dangerous(options: &PlanOptions, role: &str) -> bool {
    options.roles.grants_any(role, &DANGEROUS_CAPABILITIES)
        || (!options.privileged_capabilities.is_empty()
            && options.roles.grants_any(role, &options.privileged_capabilities.iter().map(String::as_str).collect::<Vec<_>>()))
}

/// The plugin's judgement (it sees per-user capabilities and super admins), or any of the
/// user's roles carrying a privileged capability.
fn is_privileged(options: &PlanOptions, user: &ExistingUser) -> bool {
    user.privileged || user.roles.iter().any(|r| role_is_dangerous(options, r))
}

/// Meta keys that hold a user's powers or sessions: writing them from CRM data would let the
/// CRM (or whoever can edit a contact there) grant capabilities.
fn is_protected_meta(key: &str) -> bool {
    // Most keys (`birthday`, `fluent_field_3`) neither end nor start like a protected one: told
    // by two bytes, before the six comparisons below.
    let (Some(first), Some(last)) = (key.as_bytes().first(), key.as_bytes().last()) else { return false };
    if !matches!(last.to_ascii_lowercase(), b's' | b'l' | b'd') && !matches!(first.to_ascii_lowercase(), b'c' | b'_') {
        return false;
    }
    // Compared without case and without allocating: this runs for every field-map entry.
    let ends_with =
        |suffix: &str| key.len() >= suffix.len() && key.as_bytes()[key.len() - suffix.len()..].eq_ignore_ascii_case(suffix.as_bytes());
    let starts_with = |prefix: &str| key.len() >= prefix.len() && key.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes());
    ends_with("capabilities")
        || ends_with("user_level")
        || key.eq_ignore_ascii_case("session_tokens")
        || ends_with("_contact_id")
        // The plugin's own marks (which user the site created from which contact) decide who
        // the CRM may set a password for: never writable from CRM data.
        || starts_with("crmhook")
        || starts_with("_crmhook")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The two-byte test in front of `is_protected_meta` refuses no key the comparisons catch.
    #[test]
    fn protected_meta_keys_pass_the_first_and_last_byte_test() {
        let protected = ["wp_capabilities", "wp_user_level", "session_tokens", "crmhook_x", "_crmhook", "keap_contact_id"];
        for key in protected {
            for spelled in [key.to_owned(), key.to_ascii_uppercase()] {
                assert!(is_protected_meta(&spelled), "{spelled}");
            }
        }
        for key in ["", "birthday", "fluent_field_3", "plan", "level", "membership_level", "capability", "c", "_", "crm", "x_contact_idx"] {
            let full = key.len() >= 12 && key.as_bytes()[key.len() - 12..].eq_ignore_ascii_case(b"capabilities")
                || key.len() >= 10 && key.as_bytes()[key.len() - 10..].eq_ignore_ascii_case(b"user_level")
                || key.eq_ignore_ascii_case("session_tokens")
                || key.len() >= 11 && key.as_bytes()[key.len() - 11..].eq_ignore_ascii_case(b"_contact_id")
                || key.len() >= 7 && key.as_bytes()[..7].eq_ignore_ascii_case(b"crmhook")
                || key.len() >= 8 && key.as_bytes()[..8].eq_ignore_ascii_case(b"_crmhook");
            assert_eq!(is_protected_meta(key), full, "{key}");
        }
    }

    /// The one walk against a search per field, as the plan made them before: every map of up
    /// to three entries over a few CRM fields (present, absent, empty, padded) and the targets.
    #[test]
    fn mapped_user_fields_are_the_first_entry_found_per_field() {
        let contact = Contact {
            email: "e@x.io".into(),
            fields: vec![("a".into(), " A ".into()), ("b".into(), "  ".into()), ("c".into(), "C".into())],
            ..Contact::default()
        };
        let search = |map: &[(Cow<'_, str>, Cow<'_, str>)], target: &str| {
            map.iter()
                .filter(|(_, wp)| wp == target)
                .find_map(|(crm_field, _)| contact.field(crm_field))
                .map(trim)
                .filter(|v| !v.is_empty())
        };
        let crm_fields = ["a", "b", "c", "d", "email"];
        let targets = ["user_email", "first_name", "last_name", "user_pass", "role", "user_login", " role", "meta_key"];
        let mut entries = Vec::new();
        for crm in crm_fields {
            for wp in targets {
                entries.push((Cow::Borrowed(crm), Cow::Borrowed(wp)));
            }
        }
        let mut maps: Vec<Vec<(Cow<'_, str>, Cow<'_, str>)>> = vec![Vec::new()];
        for first in &entries {
            maps.push(vec![first.clone()]);
            for second in entries.iter().step_by(3) {
                maps.push(vec![first.clone(), second.clone()]);
                maps.push(vec![second.clone(), first.clone(), entries[entries.len() - 1 - maps.len() % entries.len()].clone()]);
            }
        }
        for map in &maps {
            let want = MappedUserFields {
                email: search(map, "user_email"),
                first_name: search(map, "first_name"),
                last_name: search(map, "last_name"),
                password: search(map, "user_pass"),
                role: search(map, "role"),
                login: search(map, "user_login"),
            };
            assert_eq!(MappedUserFields::read(map, &contact), want, "{map:?}");
        }
    }

    fn roles() -> HashMap<String, Vec<String>> {
        let caps = |c: &[&str]| c.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        HashMap::from([
            ("subscriber".to_owned(), caps(&["read"])),
            ("customer".to_owned(), caps(&["read"])),
            ("editor".to_owned(), caps(&["read", "edit_posts", "unfiltered_html"])),
            ("shop_boss".to_owned(), caps(&["read", "promote_users"])),
            ("administrator".to_owned(), caps(&["read", "manage_options"])),
        ])
    }

    fn options() -> PlanOptions<'static> {
        // Leaked once per test: the tests' roles live as long as the test process.
        let roles: &'static HashMap<String, Vec<String>> = Box::leak(Box::new(roles()));
        PlanOptions { default_role: "subscriber".into(), roles, ..PlanOptions::default() }
    }

    fn contact() -> Contact {
        Contact {
            id: "42".into(),
            email: "Ann+vip@Example.com".into(),
            first_name: "Ann".into(),
            last_name: "Lee".into(),
            fields: vec![("12".into(), "Gold".into()), ("13".into(), "annlee".into()), ("14".into(), "Secret123".into())],
            tags: vec![" VIP".into(), "Customer".into(), "VIP ".into(), "".into()],
        }
    }

    fn existing(roles: &[&str]) -> ExistingUser {
        ExistingUser {
            id: 7,
            login: "ann".into(),
            email: "old@example.com".into(),
            roles: roles.iter().map(|r| r.to_string()).collect(),
            ..ExistingUser::default()
        }
    }

    #[test]
    fn create_uses_an_email_login_that_survives_sanitize_user() {
        let plan = map_contact(&contact(), &options(), None).unwrap();
        assert_eq!(plan.op, Op::Create);
        assert_eq!(plan.user.login.as_deref(), Some("ann-vip@example.com"));
        assert_eq!(plan.user.email.as_deref(), Some("Ann+vip@Example.com"));
        assert_eq!(plan.user.display_name.as_deref(), Some("Ann Lee"));
        assert_eq!(plan.user.role.as_deref(), Some("subscriber"));
    }

    #[test]
    fn create_generates_a_password_and_returns_it_when_asked() {
        let mut o = options();
        o.return_password_field = Some("15".into());
        let plan = map_contact(&contact(), &o, None).unwrap();
        assert!(plan.password_generated);
        let pass = plan.user.password.as_ref().unwrap();
        assert_eq!(pass.reveal().len(), GENERATED_PASSWORD_LENGTH);
        assert_eq!(plan.return_password, Some(("15".to_owned(), pass.clone())));
        assert!(!format!("{plan:?}").contains(pass.reveal()));
        assert!(plan.notices.iter().all(|n| !n.contains(pass.reveal())));
    }

    #[test]
    fn no_return_password_without_a_field() {
        let plan = map_contact(&contact(), &options(), None).unwrap();
        assert!(plan.password_generated);
        assert_eq!(plan.return_password, None);
    }

    #[test]
    fn mapped_login_and_password_are_used_as_given() {
        let mut o = options();
        o.field_map = vec![("13".into(), "user_login".into()), ("14".into(), "user_pass".into())];
        o.return_password_field = Some("15".into());
        let plan = map_contact(&contact(), &o, None).unwrap();
        assert_eq!(plan.user.login.as_deref(), Some("annlee"));
        assert_eq!(plan.user.password.as_ref().map(Password::reveal), Some("Secret123"));
        assert!(!plan.password_generated);
        assert_eq!(plan.return_password, None);
    }

    #[test]
    fn mapped_login_that_wordpress_would_change_is_sanitized() {
        let mut c = contact();
        c.fields[1].1 = "Ann+Lée".into();
        let mut o = options();
        o.field_map = vec![("13".into(), "user_login".into())];
        let plan = map_contact(&c, &o, None).unwrap();
        assert_eq!(plan.user.login.as_deref(), Some("AnnLee"));
    }

    #[test]
    fn username_formats_apply() {
        let mut o = options();
        o.username_format = UsernameFormat::FirstLastName;
        assert_eq!(map_contact(&contact(), &o, None).unwrap().user.login.as_deref(), Some("annlee"));
        o.username_format = UsernameFormat::FirstNameNumber;
        let login = map_contact(&contact(), &o, None).unwrap().user.login.unwrap();
        assert!(login.starts_with("ann") && login.len() == 7, "{login}");
    }

    #[test]
    fn create_without_email_is_refused() {
        let mut c = contact();
        c.email = " ".into();
        let err = map_contact(&c, &options(), None).unwrap_err();
        assert_eq!(WebhookError::from(err).status(), 422);
    }

    #[test]
    fn an_allowed_registered_role_is_granted() {
        let mut o = options();
        o.allowed_roles = vec!["subscriber".into(), "customer".into()];
        o.requested_role = Some("customer".into());
        assert_eq!(map_contact(&contact(), &o, None).unwrap().user.role.as_deref(), Some("customer"));
    }

    #[test]
    fn a_role_not_allowed_falls_back_to_the_default() {
        let mut o = options();
        o.requested_role = Some("customer".into());
        let plan = map_contact(&contact(), &o, None).unwrap();
        assert_eq!(plan.user.role.as_deref(), Some("subscriber"));
        assert!(plan.notices.iter().any(|n| n.contains("not in the allowed roles")));
    }

    #[test]
    fn dangerous_roles_are_never_granted_even_when_allowed() {
        for role in ["administrator", "editor", "shop_boss"] {
            let mut o = options();
            o.allowed_roles = vec![role.into()];
            o.requested_role = Some(role.into());
            let plan = map_contact(&contact(), &o, None).unwrap();
            assert_eq!(plan.user.role.as_deref(), Some("subscriber"), "{role}");
        }
    }

    #[test]
    fn unregistered_roles_are_refused() {
        let mut o = options();
        o.allowed_roles = vec!["ghost".into()];
        o.requested_role = Some("ghost".into());
        let plan = map_contact(&contact(), &o, None).unwrap();
        assert_eq!(plan.user.role.as_deref(), Some("subscriber"));
        assert!(plan.notices.iter().any(|n| n.contains("not registered")));
    }

    #[test]
    fn a_dangerous_default_role_is_not_granted() {
        let mut o = options();
        o.default_role = "administrator".into();
        assert_eq!(map_contact(&contact(), &o, None).unwrap().user.role.as_deref(), Some("subscriber"));
    }

    #[test]
    fn a_role_from_a_crm_field_follows_the_same_policy() {
        let mut c = contact();
        c.fields.push(("16".into(), "administrator".into()));
        let mut o = options();
        o.field_map = vec![("16".into(), "role".into())];
        o.allowed_roles = vec!["administrator".into()];
        assert_eq!(map_contact(&c, &o, None).unwrap().user.role.as_deref(), Some("subscriber"));
    }

    #[test]
    fn update_changes_email_names_and_an_allowed_role() {
        let mut o = options();
        o.allowed_roles = vec!["customer".into()];
        o.requested_role = Some("customer".into());
        let plan = map_contact(&contact(), &o, Some(&existing(&["subscriber"]))).unwrap();
        assert_eq!(plan.op, Op::Update);
        assert_eq!(plan.user.id, Some(7));
        assert_eq!(plan.user.login, None);
        assert_eq!(plan.user.email.as_deref(), Some("Ann+vip@Example.com"));
        assert_eq!(plan.user.role.as_deref(), Some("customer"));
        assert_eq!(plan.user.password, None);
        assert!(!plan.password_generated);
    }

    #[test]
    fn update_without_a_requested_role_keeps_the_role() {
        let plan = map_contact(&contact(), &options(), Some(&existing(&["customer"]))).unwrap();
        assert_eq!(plan.user.role, None);
    }

    #[test]
    fn privileged_users_are_never_changed() {
        let mut o = options();
        o.field_map = vec![("14".into(), "user_pass".into()), ("12".into(), "membership_level".into())];
        o.allowed_roles = vec!["subscriber".into()];
        o.requested_role = Some("subscriber".into());
        for user in [existing(&["administrator"]), ExistingUser { privileged: true, ..existing(&["subscriber"]) }] {
            let err = map_contact(&contact(), &o, Some(&user)).unwrap_err();
            assert_eq!(err, PlanError::Privileged(7));
            let webhook: WebhookError = err.into();
            assert_eq!(webhook.status(), 409);
            assert!(webhook.to_string().contains("user 7 is privileged"), "{webhook}");
        }
    }

    #[test]
    fn capabilities_the_site_adds_make_a_role_privileged() {
        let mut roles = roles();
        roles.insert("shop_manager".into(), vec!["read".into(), "manage_woocommerce".into()]);
        let roles: &'static HashMap<String, Vec<String>> = Box::leak(Box::new(roles));
        let mut o = PlanOptions { default_role: "subscriber".into(), roles, ..PlanOptions::default() };
        let manager = existing(&["shop_manager"]);
        assert!(map_contact(&contact(), &o, Some(&manager)).is_ok());
        o.privileged_capabilities = vec!["manage_woocommerce".into()];
        assert_eq!(map_contact(&contact(), &o, Some(&manager)).unwrap_err(), PlanError::Privileged(7));
        o.allowed_roles = vec!["shop_manager".into()];
        assert_eq!(map_contact(&contact(), &o, None).unwrap().user.role.as_deref(), Some("subscriber"));
    }

    #[test]
    fn a_mapped_password_changes_only_users_created_from_the_contact() {
        let mut o = options();
        o.field_map = vec![("14".into(), "user_pass".into())];
        let matched_by_email = existing(&["subscriber"]);
        let plan = map_contact(&contact(), &o, Some(&matched_by_email)).unwrap();
        assert_eq!(plan.user.password, None);
        assert!(plan.notices.iter().any(|n| n.contains("password field ignored")), "{:?}", plan.notices);

        let created_here = ExistingUser { created_from_contact: true, ..existing(&["subscriber"]) };
        let plan = map_contact(&contact(), &o, Some(&created_here)).unwrap();
        assert_eq!(plan.user.password.as_ref().map(Password::reveal), Some("Secret123"));

        o.update_existing_passwords = true;
        let plan = map_contact(&contact(), &o, Some(&matched_by_email)).unwrap();
        assert_eq!(plan.user.password.as_ref().map(Password::reveal), Some("Secret123"));
    }

    #[test]
    fn field_map_fills_meta_but_not_protected_keys() {
        let mut o = options();
        o.field_map = vec![
            ("12".into(), "membership_level".into()),
            ("13".into(), "wp_capabilities".into()),
            ("13".into(), "wp_user_level".into()),
            ("13".into(), "crmhook_created_from".into()),
            ("99".into(), "absent".into()),
        ];
        let plan = map_contact(&contact(), &o, None).unwrap();
        assert_eq!(plan.meta, vec![("membership_level".to_owned(), "Gold".to_owned())]);
        assert_eq!(plan.notices.iter().filter(|n| n.contains("may not write")).count(), 3);
    }

    #[test]
    fn tags_are_trimmed_deduplicated_in_order() {
        let plan = map_contact(&contact(), &options(), None).unwrap();
        assert_eq!(plan.tags, vec!["VIP", "Customer"]);
    }
}
