//! Fuzzes the webhook parser with every CRM's settings.
//!
//! Input layout (fuzz/README.md; `fuzz/seeds/make-seeds.sh` writes seeds in it):
//!
//! * byte 0, the shape: bit 0 picks the method (0 `POST`, 1 `GET`), `(byte >> 1) % 5` the
//!   content type (JSON, form, none, `text/plain`, multipart).
//! * byte 1, the key: bit 0 set = the right key, in the `X-Crmhook-Key` header when bit 1 is
//!   set, else appended to the query string. Bit 0 clear: `(byte >> 1) & 3` = 0 adds nothing
//!   (whatever the input carries is judged), 1 a wrong key in the header, 2 a wrong key
//!   appended to the query, 3 a wrong key in the header and the right one in the query;
//!   `(byte >> 3) % 8` picks the wrong key (one byte short, one too many, a case flipped, …).
//! * byte 2, the settings: bits 0–1 the configured key (the 32-character alphanumeric kind the
//!   plugin generates, a 56-character one, one with URL-special and non-ASCII characters, a
//!   3-character one), bits 2–3 `max_body_bytes` (4096, 0, 16, 64), bit 4 "multipart": the body
//!   becomes PHP's `$_POST` (`Request::form`) and the raw body is empty, as in PHP; bits 5–6
//!   override the method (`HEAD`, `PUT`, ` get `).
//! * then the query string and the body, split at the first 0xFF byte. Every 0xFE byte in them
//!   stands for the configured key.
//!
//! Each input is parsed twice, with two configured keys of the same shape (same length, and
//! the same kind of character at each position: digit, hex letter, other letter, the rest
//! unchanged), 0xFE standing for the configured one each time. Invariants, for every CRM:
//!
//! * no panic;
//! * the key's value does not change the outcome: both runs accept, or both refuse with the
//!   same error and status;
//! * a refusal is 400, 403, 413 or 422; its message is at most 1024 bytes and holds neither the
//!   key nor any 8 consecutive characters of it (an echo cut at 40 characters can end inside
//!   the key, where a search for the whole key misses it);
//! * a wrong key in the header, or last in the query, is refused as exactly `BadAccessKey`,
//!   whatever else the request holds (so before the body's size is judged);
//! * an accepted webhook carried the key somewhere, is for the configured CRM, and (unless it
//!   is `test`) has a contact id of 1–64 ASCII digits; its email, role, tags and fields pass the
//!   checks the parser promises.
//!
//! `FUZZ_DEBUG=1` prints every request and result.
#![no_main]

use std::borrow::Cow;
use std::mem::discriminant;
use std::sync::OnceLock;

use crmhook::crm::Crm;
use crmhook::error::WebhookError;
use crmhook::form::{encode, Form};
use crmhook::webhook::{parse_webhook, Action, Request, Settings, Webhook};
use libfuzzer_sys::fuzz_target;

/// The configured keys. The first is shaped like the ones the plugin generates.
const KEYS: [&str; 4] = [
    "Fz9Key0123456789abcdefABCDEF0123",
    "Lk7Qw2ZpX9rT4vB8nM3cJ6hG1dF5sA0eLk7Qw2ZpX9rT4vB8nM3cJ6hG",
    "k+y&=%/ é\"\\#?;Zx81Qp0Wv",
    "k3y",
];
const BODY_LIMITS: [usize; 4] = [4096, 0, 16, 64];
/// Stands for the configured key in the query and the body.
const KEY_BYTE: u8 = 0xFE;
/// No error message is longer than this: messages echo at most 40 characters of input.
const MAX_MESSAGE_BYTES: usize = 1024;
/// A message may hold no run of this many of the key's characters.
const KEY_PIECE_CHARS: usize = 8;

fuzz_target!(|data: &[u8]| {
    if data.len() < 3 {
        return;
    }
    let key = KEYS[usize::from(data[2] & 3)];
    let twin = twin_key(key);
    let a = run(data, key);
    let b = run(data, &twin);
    for ((crm, ra), (_, rb)) in a.iter().zip(&b) {
        let same = match (ra, rb) {
            (Ok(_), Ok(_)) => true,
            (Err(ea), Err(eb)) => discriminant(ea) == discriminant(eb) && ea.status() == eb.status(),
            _ => false,
        };
        assert!(same, "{crm:?}: the outcome depends on the key's value ({key:?} / {twin:?}): {ra:?} / {rb:?}");
    }
});

/// Parses the input with `key` configured, checks every invariant but the two-key comparison,
/// and returns each CRM's result.
fn run(data: &[u8], key: &str) -> Vec<(Crm, Result<Webhook, WebhookError>)> {
    let (shape, key_mode, knobs, rest) = (data[0], data[1], data[2], &data[3..]);
    let max_body_bytes = BODY_LIMITS[usize::from((knobs >> 2) & 3)];
    let multipart = knobs & 0x10 != 0;
    let method = match (knobs >> 5) & 3 {
        1 => "HEAD",
        2 => "PUT",
        3 => " get ",
        _ if shape & 1 == 0 => "POST",
        _ => "GET",
    };
    let content_type = match (shape >> 1) % 5 {
        _ if multipart => "multipart/form-data; boundary=x",
        0 => "application/json",
        1 => "application/x-www-form-urlencoded",
        2 => "",
        3 => "text/plain; charset=utf-8",
        _ => "multipart/form-data; boundary=x",
    };

    let split = rest.iter().position(|&b| b == 0xFF).unwrap_or(rest.len());
    let mut query = expand(&rest[..split], key);
    let raw_body = expand(rest.get(split + 1..).unwrap_or(&[]), key);
    // PHP keeps no raw body for multipart requests, only `$_POST`.
    let (body, form_pairs) = if multipart { (Vec::new(), Some(php_post(&raw_body))) } else { (raw_body, None) };

    let wrong = wrong_key(key, key_mode >> 3);
    let mut header: Option<Vec<u8>> = None;
    let right_key_given = key_mode & 1 == 1;
    let expect_refusal = if right_key_given {
        if key_mode & 2 == 2 {
            header = Some(key.as_bytes().to_vec());
        } else {
            append_query_key(&mut query, key.as_bytes());
        }
        false
    } else {
        match (key_mode >> 1) & 3 {
            0 => false,
            // An empty header is no key (0c27c3a): it neither refuses the request nor stands in
            // for a key elsewhere, so only a non-empty wrong header must be refused.
            1 => {
                header = Some(wrong.clone());
                !wrong.is_empty()
            }
            2 => {
                append_query_key(&mut query, &wrong);
                true
            }
            _ => {
                header = Some(wrong.clone());
                append_query_key(&mut query, key.as_bytes());
                !wrong.is_empty()
            }
        }
    };

    let mut results = Vec::with_capacity(Crm::ALL.len());
    for crm in Crm::ALL {
        let request = Request {
            method,
            query: &query,
            body: &body,
            content_type,
            key_header: header.as_deref(),
            form: form_pairs.clone().map(Form::from_pairs),
        };
        let settings = Settings { crm, access_key: key, max_body_bytes };
        let result = parse_webhook(&request, &settings);
        if debug() {
            eprintln!(
                "{crm:?} key={key:?} {method:?} {content_type:?} header={:?}\n  query={:?}\n  body={:?}\n  → {result:?}",
                header.as_deref().map(String::from_utf8_lossy),
                String::from_utf8_lossy(&query),
                String::from_utf8_lossy(&body),
            );
        }
        if expect_refusal {
            assert_eq!(result, Err(WebhookError::BadAccessKey), "a wrong key ({wrong:?}) must be refused first");
        }
        match &result {
            Ok(hook) => {
                assert!(
                    right_key_given || carries_key(&query, &body, form_pairs.as_deref(), header.as_deref(), key),
                    "accepted a request that does not carry the key: {hook:?}"
                );
                check_webhook(hook, crm);
            }
            Err(e) => {
                assert!(matches!(e.status(), 400 | 403 | 413 | 422), "{e:?}");
                let message = e.to_string();
                assert!(message.len() <= MAX_MESSAGE_BYTES, "{} bytes: {message}", message.len());
                assert!(!holds_key_piece(&message, key), "the message shows the key {key:?}, or part of it: {message}");
                assert!(!holds_key_piece(&format!("{e:?}"), key), "Debug shows the key {key:?}, or part of it: {e:?}");
            }
        }
        results.push((crm, result));
    }
    results
}

/// What the parser promises about a webhook it accepts.
fn check_webhook(hook: &Webhook, crm: Crm) {
    assert_eq!(hook.crm, crm);
    if hook.action == Action::Test {
        assert!(hook.contact_id.is_none() && hook.email.is_none() && hook.fields.is_empty(), "{hook:?}");
        return;
    }
    let id = hook.contact_id.as_deref().expect("a contact id");
    assert!(!id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_digit()), "{id:?}");
    if let Some(email) = &hook.email {
        assert!(
            email.len() <= 254
                && email.matches('@').count() == 1
                && !email.starts_with('@')
                && !email.ends_with('@')
                && !email.chars().any(|c| c.is_whitespace() || c.is_control()),
            "{email:?}"
        );
    }
    if let Some(role) = &hook.role {
        assert!(
            !role.is_empty()
                && role.len() <= 64
                && role.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-'),
            "{role:?}"
        );
    }
    for (k, v) in &hook.fields {
        assert!(!k.contains('\0') && !v.contains('\0'), "{k:?} = {v:?}");
    }
    if let Some(tags) = &hook.tags {
        for (i, t) in tags.iter().enumerate() {
            assert!(!t.is_empty() && t.trim() == t && !t.contains('\0'), "{t:?}");
            assert!(!tags[..i].contains(t), "repeated tag {t:?}");
        }
    }
}

/// True when `text` holds the key, or `KEY_PIECE_CHARS` consecutive characters of it.
fn holds_key_piece(text: &str, key: &str) -> bool {
    let bounds: Vec<usize> = key.char_indices().map(|(i, _)| i).chain([key.len()]).collect();
    let n = (bounds.len() - 1).min(KEY_PIECE_CHARS);
    bounds.windows(n + 1).any(|w| text.contains(&key[w[0]..w[n]]))
}

/// A key of the same shape: each digit, hex letter and other letter replaced by a different
/// one of its kind (so percent-decoding, JSON escapes, case and digit checks treat both alike).
fn twin_key(key: &str) -> String {
    let rotate = |c: char, first: u8, len: u8, by: u8| char::from(first + (c as u8 - first + by) % len);
    key.chars()
        .map(|c| match c {
            '0'..='9' => rotate(c, b'0', 10, 5),
            'a'..='f' => rotate(c, b'a', 6, 3),
            'A'..='F' => rotate(c, b'A', 6, 3),
            'g'..='z' => rotate(c, b'g', 20, 10),
            'G'..='Z' => rotate(c, b'G', 20, 10),
            c => c,
        })
        .collect()
}

/// Every 0xFE byte replaced by the key.
fn expand(raw: &[u8], key: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    for &b in raw {
        if b == KEY_BYTE {
            out.extend_from_slice(key.as_bytes());
        } else {
            out.push(b);
        }
    }
    out
}

/// The wrong keys a CRM or an attacker might send: near misses of the right one.
fn wrong_key(key: &str, pick: u8) -> Vec<u8> {
    let k = key.as_bytes();
    let mut w = k.to_vec();
    match pick % 8 {
        0 => {
            w.pop();
        }
        1 => w.push(b'x'),
        2 => w[0] ^= 0x20, // one letter's case flipped (or another byte)
        3 => w.push(b' '),
        4 => w.insert(0, b' '),
        5 => w = Vec::new(),
        6 => w = key.to_uppercase().into_bytes(),
        _ => w[k.len() - 1] ^= 1,
    }
    if w == k {
        w.push(b'!');
    }
    w
}

/// Appends `&access_key=…`, last, so it is the value the parser looks up.
fn append_query_key(query: &mut Vec<u8>, k: &[u8]) {
    query.extend_from_slice(b"&access_key=");
    query.extend_from_slice(encode(&String::from_utf8_lossy(k)).as_bytes());
}

/// Loose independent oracle: the key appears, as given or decoded, somewhere the parser reads.
fn carries_key(query: &[u8], body: &[u8], form: Option<&[(String, String)]>, header: Option<&[u8]>, key: &str) -> bool {
    let k = key.as_bytes();
    let in_bytes = |b: &[u8]| find(b, k) || find(&percent_decode(b), k);
    header.is_some_and(|h| find(h, k))
        || in_bytes(query)
        || in_bytes(body)
        || form.is_some_and(|f| f.iter().any(|(a, b)| a.contains(key) || b.contains(key)))
        || json_strings_contain(body, key)
}

fn json_strings_contain(body: &[u8], key: &str) -> bool {
    fn walk(v: &serde_json::Value, key: &str) -> bool {
        match v {
            serde_json::Value::String(s) => s.contains(key),
            serde_json::Value::Array(a) => a.iter().any(|x| walk(x, key)),
            serde_json::Value::Object(o) => o.iter().any(|(k, x)| k.contains(key) || walk(x, key)),
            _ => false,
        }
    }
    serde_json::from_slice::<serde_json::Value>(body).is_ok_and(|v| walk(&v, key))
}

fn percent_decode(raw: &[u8]) -> Vec<u8> {
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        match (raw[i], raw.get(i + 1).copied().and_then(hex), raw.get(i + 2).copied().and_then(hex)) {
            (b'%', Some(h), Some(l)) => {
                out.push(h << 4 | l);
                i += 3;
            }
            (b'+', _, _) => {
                out.push(b' ');
                i += 1;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

fn find(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

/// The body as PHP's `$_POST` would hold it: `&`-separated `name=value` pairs, not decoded
/// (PHP decoded them already), invalid UTF-8 replaced.
fn php_post(body: &[u8]) -> Vec<(String, String)> {
    body.split(|&b| b == b'&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = match p.iter().position(|&b| b == b'=') {
                Some(i) => (&p[..i], &p[i + 1..]),
                None => (p, &b""[..]),
            };
            (lossy(k), lossy(v))
        })
        .collect()
}

fn lossy(b: &[u8]) -> String {
    match String::from_utf8_lossy(b) {
        Cow::Borrowed(s) => s.to_owned(),
        Cow::Owned(s) => s,
    }
}

/// `FUZZ_DEBUG=1`: print every request and result (to read a reproducer or check a seed).
fn debug() -> bool {
    static DEBUG: OnceLock<bool> = OnceLock::new();
    *DEBUG.get_or_init(|| std::env::var_os("FUZZ_DEBUG").is_some_and(|v| v == "1"))
}
