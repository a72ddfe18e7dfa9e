//! Fuzzes the webhook parser with every CRM's settings.
//!
//! Input layout: byte 0 picks the method and content type, byte 1 whether the key is right and
//! where it goes, then the query and the body separated by the first 0xFF byte.
//! Invariants: no panic; an accepted webhook had the right key and a 1–64 digit contact id;
//! a refusal is 400, 403, 413 or 422; no message contains the key.
#![no_main]

use crmhook::crm::Crm;
use crmhook::webhook::{parse_webhook, Action, Request, Settings};
use libfuzzer_sys::fuzz_target;

const KEY: &str = "Fz9Key0123456789abcdefABCDEF0123";

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let (shape, key_mode, rest) = (data[0], data[1], &data[2..]);
    let split = rest.iter().position(|&b| b == 0xFF).unwrap_or(rest.len());
    let raw_query = &rest[..split];
    let body = rest.get(split + 1..).unwrap_or(&[]);
    let method = if shape & 1 == 0 { "POST" } else { "GET" };
    let content_type = match (shape >> 1) % 5 {
        0 => "application/json",
        1 => "application/x-www-form-urlencoded",
        2 => "",
        3 => "text/plain; charset=utf-8",
        _ => "multipart/form-data; boundary=x",
    };
    // Half the inputs carry the right key, in the query or the header, to get past the check.
    let mut query = raw_query.to_vec();
    let right_key = key_mode & 1 == 1;
    let header = right_key && key_mode & 2 == 2;
    if right_key && !header {
        query.extend_from_slice(b"&access_key=");
        query.extend_from_slice(KEY.as_bytes());
    }
    for crm in Crm::ALL {
        let request = Request {
            method,
            query: &query,
            body,
            content_type,
            key_header: header.then_some(KEY.as_bytes()),
            form: None,
        };
        let settings = Settings { crm, access_key: KEY, max_body_bytes: 4096 };
        match parse_webhook(&request, &settings) {
            Ok(hook) => {
                if hook.action != Action::Test {
                    let id = hook.contact_id.as_deref().expect("a contact id");
                    assert!(!id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_digit()), "{id:?}");
                }
                let given_right = right_key
                    || memfind(&query, KEY.as_bytes())
                    || memfind(body, KEY.as_bytes());
                assert!(given_right, "accepted without the key");
            }
            Err(e) => {
                assert!(matches!(e.status(), 400 | 403 | 413 | 422), "{e:?}");
                assert!(!e.to_string().contains(KEY), "{e}");
            }
        }
    }
});

fn memfind(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}
