//! The scalar values every wire format shares, and the checks on the URL contract's parameters.
//!
//! Webhook values are untrusted text. A [`Text`] reads a JSON string, number or boolean as text
//! (CRMs send ids both ways) and refuses arrays and objects where a scalar belongs.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, Visitor};

use crate::crm::Crm;
use crate::error::WebhookError;

/// Longest contact id accepted, in bytes.
pub const MAX_CONTACT_ID_BYTES: usize = 64;

/// A JSON scalar read as text, borrowed from the body when it has no escapes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text<'a>(pub Cow<'a, str>);

impl<'a> Text<'a> {
    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(TextVisitor(std::marker::PhantomData))
    }
}

struct TextVisitor<'a>(std::marker::PhantomData<&'a ()>);

impl<'de: 'a, 'a> Visitor<'de> for TextVisitor<'a> {
    type Value = Text<'a>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string or a number")
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Text(Cow::Borrowed(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Text(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(Text(Cow::Owned(v)))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Text(Cow::Owned(v.to_string())))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Text(Cow::Owned(v.to_string())))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        float_text(v).map(Text)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Text(Cow::Borrowed(if v { "true" } else { "false" })))
    }
}

/// A JSON float as text. serde_json prints floats the shortest way that reads back the same
/// ("1e30" for a number too large for an integer), so an out-of-range id never looks like digits.
pub(crate) fn float_text<'a, E: de::Error>(v: f64) -> Result<Cow<'a, str>, E> {
    serde_json::Number::from_f64(v).map(|n| Cow::Owned(n.to_string())).ok_or_else(|| E::custom("a number that is not finite"))
}

/// `str::trim`, exactly, but with ASCII whitespace taken off byte by byte: the words and tags
/// crmhook trims are ASCII, for which `str::trim`'s Unicode tables cost more than the rest of the
/// check. Text that starts or ends with a non-ASCII character goes to `str::trim` itself.
///
/// ```
/// assert_eq!(crmhook::text::trim(" add\r\n"), "add");
/// assert_eq!(crmhook::text::trim("\u{a0}VIP "), "VIP");
/// ```
pub fn trim(text: &str) -> &str {
    // What `char::is_whitespace` calls whitespace below 0x80.
    let space = |b: &u8| matches!(*b, b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | b' ');
    let bytes = text.as_bytes();
    let start = bytes.iter().position(|b| !space(b)).unwrap_or(bytes.len());
    let end = bytes.iter().rposition(|b| !space(b)).map_or(start, |last| last + 1);
    match (bytes.get(start), bytes.get(end.wrapping_sub(1))) {
        (Some(&first), Some(&last)) if first < 0x80 && last < 0x80 => text.get(start..end).unwrap_or_default(),
        (None, _) => "",
        _ => text.trim(),
    }
}

/// Reads a boolean parameter the way docs/wire-formats.md defines it: `true`, `1`, `yes`, `on` are true;
/// `false`, `0`, `no`, `off` and empty are false (case-insensitive); anything else is refused.
///
/// ```
/// use crmhook::text::parse_bool;
/// assert_eq!(parse_bool("send_notification", "Yes"), Ok(true));
/// assert_eq!(parse_bool("send_notification", "false"), Ok(false));
/// assert!(parse_bool("send_notification", "maybe").is_err());
/// ```
pub fn parse_bool(name: &'static str, value: &str) -> Result<bool, WebhookError> {
    let v = trim(value);
    const TRUE: [&str; 4] = ["true", "1", "yes", "on"];
    const FALSE: [&str; 5] = ["false", "0", "no", "off", ""];
    if TRUE.iter().any(|t| v.eq_ignore_ascii_case(t)) {
        Ok(true)
    } else if FALSE.iter().any(|f| v.eq_ignore_ascii_case(f)) {
        Ok(false)
    } else {
        Err(WebhookError::invalid(name, format!("\"{}\" is not a boolean: use true or false", echo(value))))
    }
}

/// Checks a contact id: the CRMs all number their contacts, so an id is 1 to 64 ASCII digits.
/// A merge tag the CRM left unfilled (`~Contact.Id~`, `{{contact_id}}`) gets its own message,
/// because it is the usual mistake behind a bad id.
pub fn check_contact_id(crm: Crm, raw: &str) -> Result<String, WebhookError> {
    let id = trim(raw);
    if id.is_empty() {
        return Err(WebhookError::MissingContactId { crm, hint: crm.contact_id_hint() });
    }
    if id.len() > MAX_CONTACT_ID_BYTES {
        return Err(WebhookError::invalid("contact id", format!("{} bytes long, the limit is {MAX_CONTACT_ID_BYTES}", id.len())));
    }
    // The usual id: one scan says so, before the merge-field marks are looked for.
    if id.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(id.to_owned());
    }
    if id.contains('~') || id.contains("{{") || id.contains('%') && id.contains('[') {
        return Err(WebhookError::invalid(
            "contact id",
            format!("\"{}\" is a merge field {} did not fill in: check the webhook's data", echo(id), crm.name()),
        ));
    }
    Err(WebhookError::invalid("contact id", format!("\"{}\" is not a {} contact id (digits only)", echo(id), crm.name())))
}

/// Checks an email address loosely (one `@`, something on each side, no spaces or control
/// characters, at most 254 bytes). WordPress runs its own `is_email` when it stores it.
pub fn check_email(raw: &str) -> Result<String, WebhookError> {
    let email = trim(raw);
    let ok = email.len() <= 254 && email_shaped(email);
    if ok {
        Ok(email.to_owned())
    } else {
        Err(WebhookError::invalid("email", format!("\"{}\" is not an email address", echo(email))))
    }
}

/// One `@` with something on each side, and no whitespace or control character. An ASCII
/// address (the usual one) is judged byte by byte in one pass: below 0x80, what `char` calls
/// whitespace or control is exactly the bytes up to 0x20 and 0x7F.
fn email_shaped(email: &str) -> bool {
    let bytes = email.as_bytes();
    if email.is_ascii() {
        let at_signs = bytes.iter().filter(|&&b| b == b'@').count();
        return at_signs == 1
            && bytes.first() != Some(&b'@')
            && bytes.last() != Some(&b'@')
            && !bytes.iter().any(|&b| b <= 0x20 || b == 0x7f);
    }
    email.split('@').count() == 2
        && !email.starts_with('@')
        && !email.ends_with('@')
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// Checks a role slug the way WordPress's `sanitize_key` shapes them: lower-case letters,
/// digits, `_` and `-`, at most 64 bytes. Whether the role may be granted is the plan's job.
pub fn check_role(raw: &str) -> Result<String, WebhookError> {
    let role = trim(raw).to_ascii_lowercase();
    let ok = !role.is_empty()
        && role.len() <= 64
        && role.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if ok {
        Ok(role)
    } else {
        Err(WebhookError::invalid("role", format!("\"{}\" is not a role name", echo(raw))))
    }
}

/// True when `text` holds a NUL byte. Eight bytes at a time: every tag and field is checked,
/// and `str::contains` starts a byte-by-byte search per short tag (5 % of a 1,000-tag webhook).
///
/// ```
/// assert!(crmhook::text::has_nul("VIP\0 member"));
/// assert!(!crmhook::text::has_nul("VIP member"));
/// ```
pub fn has_nul(text: &str) -> bool {
    const LOW: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let mut words = text.as_bytes().chunks_exact(8);
    // A word has a zero byte exactly when this is non-zero (the classic "has zero byte" test).
    let zero_in = |w: u64| w.wrapping_sub(LOW) & !w & HIGH != 0;
    words.by_ref().any(|w| zero_in(u64::from_le_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]))) || words.remainder().contains(&0)
}

/// Refuses NUL bytes in a value that will be stored: WordPress would cut the string there.
pub fn check_no_nul(name: &'static str, value: &str) -> Result<(), WebhookError> {
    if has_nul(value) {
        Err(WebhookError::invalid(name, "contains a NUL byte"))
    } else {
        Ok(())
    }
}

/// A short, printable echo of untrusted input for an error message: at most 40 characters,
/// control characters escaped, so a message never carries a payload or breaks a log line.
pub fn echo(value: &str) -> String {
    let mut out = String::new();
    for (i, c) in value.chars().enumerate() {
        if i == 40 {
            out.push('…');
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fast_trim_is_str_trim() {
        let samples = [
            "",
            " ",
            "a",
            " a ",
            "\ta\x0b",
            "\u{a0}a",
            "a\u{3000}",
            " \u{2003}é ",
            "\x0cé",
            "é\r\n",
            "\x1fa\x1f",
            "a b",
            "\u{85}x",
            "x\u{85}",
            " \u{2028}",
            "\r\n\t\x0b\x0c ",
            "add",
            "  update_tags\n",
        ];
        for text in samples {
            assert_eq!(trim(text), text.trim(), "{text:?}");
        }
        // Every pair of one- and two-byte characters around a word.
        let chars: Vec<char> = (0u32..0x800).filter_map(char::from_u32).collect();
        for &a in &chars {
            for b in [' ', '\u{a0}', 'x', '\t', '\u{85}', a] {
                let text = format!("{a}w{b}");
                assert_eq!(trim(&text), text.trim(), "{text:?}");
            }
        }
    }

    #[test]
    fn has_nul_is_contains_nul() {
        let mut samples = vec![String::new()];
        for len in 0..40 {
            let plain: String = (0..len).map(|i| char::from(b'a' + (i % 26) as u8)).collect();
            samples.push(plain.clone());
            for at in 0..len {
                for odd in ['\0', '\u{80}', '\u{100}', '\u{ff}', '\x01'] {
                    let mut s: Vec<char> = plain.chars().collect();
                    s[at] = odd;
                    samples.push(s.into_iter().collect());
                }
            }
        }
        for s in samples {
            assert_eq!(has_nul(&s), s.contains('\0'), "{s:?}");
        }
    }

    #[test]
    fn booleans_follow_crm_md() {
        for t in ["true", "TRUE", "1", "yes", "On", " true "] {
            assert_eq!(parse_bool("x", t), Ok(true), "{t}");
        }
        for f in ["false", "False", "0", "no", "OFF", ""] {
            assert_eq!(parse_bool("x", f), Ok(false), "{f}");
        }
        for bad in ["2", "maybe", "truee", "null"] {
            assert_eq!(parse_bool("x", bad).unwrap_err().status(), 400, "{bad}");
        }
    }

    #[test]
    fn the_string_false_is_false() {
        assert_eq!(parse_bool("send_notification", "false"), Ok(false));
    }

    #[test]
    fn contact_ids_are_digits_up_to_64_bytes() {
        assert_eq!(check_contact_id(Crm::Keap, " 42 ").unwrap(), "42");
        assert!(check_contact_id(Crm::Keap, &"9".repeat(64)).is_ok());
        assert_eq!(check_contact_id(Crm::Keap, &"9".repeat(65)).unwrap_err().status(), 400);
        assert_eq!(check_contact_id(Crm::Keap, "12a").unwrap_err().status(), 400);
        assert_eq!(check_contact_id(Crm::Keap, "1e30").unwrap_err().status(), 400);
        assert_eq!(check_contact_id(Crm::Keap, "").unwrap_err().status(), 422);
    }

    #[test]
    fn unfilled_merge_fields_are_named() {
        let err = check_contact_id(Crm::Keap, "~Contact.Id~").unwrap_err();
        assert!(err.to_string().contains("merge field"), "{err}");
        let err = check_contact_id(Crm::FunnelKit, "{{contact_id}}").unwrap_err();
        assert!(err.to_string().contains("merge field"), "{err}");
    }

    #[test]
    fn emails_and_roles_are_checked() {
        assert_eq!(check_email(" a@b.co ").unwrap(), "a@b.co");
        for bad in ["a", "@b", "a@", "a b@c.d", "a@b@c", "a\0@b.c"] {
            assert!(check_email(bad).is_err(), "{bad:?}");
        }
        assert_eq!(check_role("Customer").unwrap(), "customer");
        assert!(check_role("shop manager").is_err());
        assert!(check_role("").is_err());
    }

    /// The ASCII pass of `email_shaped` against the char-by-char reading it stands for: every
    /// ASCII byte, at the start, inside and at the end of an address, and a second `@`.
    #[test]
    fn the_ascii_email_check_is_the_char_check() {
        let by_chars = |email: &str| {
            email.split('@').count() == 2
                && !email.starts_with('@')
                && !email.ends_with('@')
                && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        };
        for b in 0u8..0x80 {
            let c = char::from(b);
            for email in [format!("{c}a@b.c"), format!("a{c}@b.c"), format!("a@b{c}c"), format!("a@b.c{c}"), format!("{c}")] {
                assert_eq!(email_shaped(&email), by_chars(&email), "{email:?}");
            }
        }
        for email in ["a@@b", "@", "a@b@c", "\u{a0}a@b", "é@b.c", "a@b\u{2028}c"] {
            assert_eq!(email_shaped(email), by_chars(email), "{email:?}");
        }
    }

    #[test]
    fn digit_ids_and_every_other_id_are_judged_as_before() {
        for id in ["1", "007", " 42\t", "~1~", "{{1}}", "1%[", "1 2", "١٢"] {
            let fast = check_contact_id(Crm::Keap, id);
            let raw = trim(id);
            let slow_ok = !raw.is_empty() && raw.len() <= MAX_CONTACT_ID_BYTES && raw.bytes().all(|b| b.is_ascii_digit());
            assert_eq!(fast.is_ok(), slow_ok, "{id:?}");
        }
    }

    #[test]
    fn echo_is_short_and_printable() {
        assert_eq!(echo("a\nb"), "a\\nb");
        assert_eq!(echo(&"x".repeat(100)).chars().count(), 41);
    }
}
