//! The realistic webhooks in tests/fixtures/webhooks/ (shared with the PHP tests), through the
//! pure core: the same expectations hold with no PHP engine in between.

use std::fs;

use crmhook::crm::Crm;
use crmhook::form::Form;
use crmhook::webhook::{parse_webhook, Request, Settings, DEFAULT_MAX_BODY_BYTES};
use serde_json::Value;

const KEY: &str = "Fx7Qm2Lp9Rt4Wv6Yz8Bc1Dg3Hj5Kn0Ps";

/// `$_POST`-shaped JSON back into flat bracket keys, as PHP's binding does.
fn flatten(value: &Value, prefix: &str, out: &mut Vec<(String, String)>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                let name = if prefix.is_empty() { k.clone() } else { format!("{prefix}[{k}]") };
                flatten(v, &name, out);
            }
        }
        Value::String(s) => out.push((prefix.to_owned(), s.clone())),
        other => out.push((prefix.to_owned(), other.to_string())),
    }
}

#[test]
fn every_fixture_parses_as_the_php_tests_expect() {
    let mut checked = 0;
    for entry in fs::read_dir("tests/fixtures/webhooks").unwrap() {
        let path = entry.unwrap().path();
        let case: Value = serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let r = &case["request"];
        let text = |k: &str| r[k].as_str().unwrap_or("").to_owned();
        let (method, query, body, content_type) = (text("method"), text("query"), text("body"), text("content_type"));
        let key_header = r["headers"]
            .as_object()
            .and_then(|h| h.iter().find(|(k, _)| k.eq_ignore_ascii_case("x-crmhook-key")).and_then(|(_, v)| v.as_str().map(str::to_owned)));
        let form = r.get("form").map(|f| {
            let mut pairs = Vec::new();
            flatten(f, "", &mut pairs);
            Form::from_pairs(pairs)
        });
        let request = Request {
            method: &method,
            query: query.as_bytes(),
            body: body.as_bytes(),
            content_type: &content_type,
            key_header: key_header.as_deref().map(str::as_bytes),
            form,
        };
        let crm = Crm::from_slug(case["crm"].as_str().unwrap()).unwrap();
        let settings = Settings { crm, access_key: KEY, max_body_bytes: DEFAULT_MAX_BODY_BYTES };
        let result = parse_webhook(&request, &settings);

        if let Some(throws) = case.get("throws") {
            let err = result.expect_err(&name);
            assert_eq!(u64::from(err.status()), throws["code"].as_u64().unwrap(), "{name}: {err}");
            let fragment = throws["message"].as_str().unwrap();
            assert!(err.to_string().contains(fragment), "{name}: {err} lacks {fragment}");
        } else {
            let hook = result.unwrap_or_else(|e| panic!("{name}: {e}"));
            let expect = &case["expect"];
            if let Some(v) = expect.get("action") {
                assert_eq!(hook.action.as_str(), v.as_str().unwrap(), "{name}");
            }
            if let Some(v) = expect.get("contact_id") {
                assert_eq!(hook.contact_id.as_deref(), v.as_str(), "{name}");
            }
            if let Some(v) = expect.get("email") {
                assert_eq!(hook.email.as_deref(), v.as_str(), "{name}");
            }
            if let Some(v) = expect.get("tags") {
                let want: Option<Vec<String>> = v.as_array().map(|a| a.iter().map(|t| t.as_str().unwrap().to_owned()).collect());
                assert_eq!(hook.tags, want, "{name}");
            }
            if let Some(Value::Object(fields)) = expect.get("fields") {
                for (k, v) in fields {
                    let got = hook.fields.iter().find(|(fk, _)| fk == k).map(|(_, fv)| fv.as_str());
                    assert_eq!(got, v.as_str(), "{name}: field {k}");
                }
                assert_eq!(hook.fields.len(), fields.len(), "{name}: {:?}", hook.fields);
            }
            if let Some(v) = expect.get("send_notification") {
                assert_eq!(hook.send_notification, v.as_bool().unwrap(), "{name}");
            }
            if let Some(v) = expect.get("role") {
                assert_eq!(hook.role.as_deref(), v.as_str(), "{name}");
            }
            if let Some(v) = expect.get("async") {
                assert_eq!(hook.run_async, v.as_bool(), "{name}");
            }
        }
        checked += 1;
    }
    assert!(checked >= 15, "only {checked} fixtures");
}
