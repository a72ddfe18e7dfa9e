//! Fuzzes the login rules and the plan with arbitrary contact text.
//! Invariants: no panic; every login WordPress would store unchanged, at most 60 characters;
//! a webhook never grants a role with administrative capabilities.
#![no_main]

use std::collections::HashMap;

use crmhook::contact::Contact;
use crmhook::login::{login_for, survives_sanitize, UsernameFormat};
use crmhook::plan::{map_contact, PlanOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.splitn(4, '\u{1}');
    let email = parts.next().unwrap_or("");
    let first = parts.next().unwrap_or("");
    let last = parts.next().unwrap_or("");
    let role = parts.next().unwrap_or("");
    for format in [UsernameFormat::Email, UsernameFormat::FirstLastName, UsernameFormat::FirstNameNumber] {
        let login = login_for(format, email, first, last);
        assert!(survives_sanitize(&login), "{login:?}");
    }
    let caps = |c: &[&str]| c.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let roles = HashMap::from([
        ("subscriber".to_owned(), caps(&["read"])),
        ("administrator".to_owned(), caps(&["manage_options"])),
        (role.to_owned(), caps(&["read", if role.len() % 2 == 0 { "edit_users" } else { "read" }])),
    ]);
    let options = PlanOptions {
        default_role: "subscriber".into(),
        allowed_roles: vec![role.to_owned(), "administrator".into()],
        requested_role: Some(role.to_owned()),
        field_map: vec![("1".into(), "user_login".into()), ("2".into(), "role".into())],
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
        assert!(survives_sanitize(&login), "{login:?}");
        let role = plan.user.role.unwrap_or_default();
        assert!(role != "administrator" && (role.is_empty() || !roles[&role].contains(&"edit_users".to_owned())), "{role}");
    }
});
