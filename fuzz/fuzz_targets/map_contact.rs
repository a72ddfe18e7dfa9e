//! Fuzzes the login rules and the plan with arbitrary contact text.
//!
//! Input: UTF-8 (lossy) text split at U+0001 into email, first name, last name and role; the
//! email's length picks the plan's username format.
//! Invariants: no panic; every login made (`login_for` in each format, `sanitize_login`, the
//! plan's) is one WordPress stores unchanged (`survives_sanitize`) and at most 60 characters;
//! `login_for` is deterministic; `sanitize_login` is empty or safe, and idempotent; a webhook
//! never grants a role with a dangerous capability.
#![no_main]

use std::collections::HashMap;

use crmhook::contact::Contact;
use crmhook::login::{login_for, sanitize_login, survives_sanitize, UsernameFormat, MAX_LOGIN_CHARS};
use crmhook::plan::{map_contact, PlanOptions, DANGEROUS_CAPABILITIES};
use libfuzzer_sys::fuzz_target;

const FORMATS: [UsernameFormat; 3] =
    [UsernameFormat::Email, UsernameFormat::FirstLastName, UsernameFormat::FirstNameNumber];

fn safe_login(login: &str) -> bool {
    survives_sanitize(login) && login.chars().count() <= MAX_LOGIN_CHARS
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.splitn(4, '\u{1}');
    let email = parts.next().unwrap_or("");
    let first = parts.next().unwrap_or("");
    let last = parts.next().unwrap_or("");
    let role = parts.next().unwrap_or("");
    for format in FORMATS {
        let login = login_for(format, email, first, last);
        assert!(safe_login(&login), "{format:?}: {login:?}");
        assert_eq!(login, login_for(format, email, first, last), "not deterministic");
    }
    for raw in [email, first, &text] {
        let safe = sanitize_login(raw);
        assert!(safe.is_empty() || safe_login(&safe), "{raw:?} → {safe:?}");
        assert_eq!(sanitize_login(&safe), safe, "not idempotent");
    }

    // The requested role grants `edit_users` when its name has an even length: a webhook must
    // never hand that out, nor `administrator`, however the settings allow them.
    let caps = |c: &[&str]| c.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let roles = HashMap::from([
        ("subscriber".to_owned(), caps(&["read"])),
        ("administrator".to_owned(), caps(&["manage_options"])),
        (role.to_owned(), caps(&["read", if role.len() % 2 == 0 { "edit_users" } else { "read" }])),
    ]);
    let options = PlanOptions {
        default_role: "subscriber".into(),
        allowed_roles: vec![role.into(), "administrator".into()],
        requested_role: Some(role.into()),
        field_map: vec![("1".into(), "user_login".into()), ("2".into(), "role".into())],
        username_format: FORMATS[email.len() % 3],
        roles: &roles,
        ..PlanOptions::default()
    };
    let contact = Contact {
        id: "1".into(),
        email: email.to_owned(),
        first_name: first.to_owned(),
        last_name: last.to_owned(),
        fields: vec![("1".into(), first.to_owned()), ("2".into(), last.to_owned())],
        tags: vec![first.to_owned(), last.to_owned()],
    };
    if let Ok(plan) = map_contact(&contact, &options, None) {
        let login = plan.user.login.expect("a login on create");
        assert!(safe_login(&login), "{login:?}");
        let granted = plan.user.role.unwrap_or_default();
        let dangerous = roles
            .get(&granted)
            .is_some_and(|c| c.iter().any(|c| DANGEROUS_CAPABILITIES.contains(&c.as_str())));
        assert!(granted.is_empty() || (roles.contains_key(&granted) && !dangerous), "granted {granted:?}");
    }
});
