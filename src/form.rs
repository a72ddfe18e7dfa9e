//! `application/x-www-form-urlencoded` bodies and query strings.
//!
//! Pairs are percent-decoded (`+` is a space), borrowed from the input when nothing needed
//! decoding, and kept in order. Lookups follow PHP: a repeated key's last value wins.
//! Keys keep their PHP bracket notation (`contact[fields][12]`); [`split_key`] reads it.

use std::borrow::Cow;

/// A decoded form: the name/value pairs in the order they came.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Form<'a> {
    pairs: Vec<(Cow<'a, str>, Cow<'a, str>)>,
}

/// A form that cannot be read as text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("\"{key}\" is not valid UTF-8 once percent-decoded")]
pub struct FormError {
    /// The key (or, when the key itself is broken, a lossy rendering of it).
    pub key: String,
}

impl<'a> Form<'a> {
    /// Parses `a=1&b=two+words&c=%E2%9C%93`.
    ///
    /// ```
    /// let form = crmhook::form::Form::parse(b"contact%5Bid%5D=7&tag=a+b&tag=c").unwrap();
    /// assert_eq!(form.get("contact[id]"), Some("7"));
    /// assert_eq!(form.get("tag"), Some("c")); // the last one wins, as in PHP
    /// ```
    pub fn parse(input: &'a [u8]) -> Result<Self, FormError> {
        let mut pairs = Vec::with_capacity(memchr::memchr_iter(b'&', input).count() + 1);
        for part in input.split(|&b| b == b'&') {
            if part.is_empty() {
                continue;
            }
            let (raw_key, raw_value) = match memchr::memchr(b'=', part) {
                Some(i) => (&part[..i], &part[i + 1..]),
                None => (part, &b""[..]),
            };
            // A name that does not decode is not echoed: it could be anything, even the key.
            let key = decode(raw_key).map_err(|_| FormError { key: "(a parameter name)".to_owned() })?;
            if key.is_empty() {
                continue;
            }
            let value = decode(raw_value).map_err(|_| FormError { key: crate::text::echo(&key) })?;
            pairs.push((key, value));
        }
        Ok(Form { pairs })
    }

    /// The last value of `key` in a raw form or query string, read leniently: pairs that do not
    /// decode are skipped instead of failing the whole input. This is how the access key is found
    /// before the rest of the request is judged, so a broken neighbour never hides a right key.
    ///
    /// ```
    /// use crmhook::form::Form;
    /// assert_eq!(Form::lookup(b"role=%E9&access_key=k", "access_key").as_deref(), Some("k"));
    /// ```
    pub fn lookup(input: &'a [u8], key: &str) -> Option<Cow<'a, str>> {
        let mut found = None;
        for part in input.split(|&b| b == b'&') {
            let (raw_key, raw_value) = match memchr::memchr(b'=', part) {
                Some(i) => (&part[..i], &part[i + 1..]),
                None => (part, &b""[..]),
            };
            // A name with nothing to decode is compared as it is: no copy, no UTF-8 pass.
            let matches = if memchr::memchr2(b'%', b'+', raw_key).is_some() {
                decode(raw_key).is_ok_and(|k| k == key)
            } else {
                raw_key == key.as_bytes()
            };
            if matches {
                if let Ok(value) = decode(raw_value) {
                    found = Some(value);
                }
            }
        }
        found
    }

    /// A form from pairs already decoded (PHP's `$_POST` for a multipart body).
    pub fn from_pairs(pairs: Vec<(String, String)>) -> Form<'static> {
        Form { pairs: pairs.into_iter().map(|(k, v)| (Cow::Owned(k), Cow::Owned(v))).collect() }
    }

    /// The value of `key`; the last one when the key repeats.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.as_ref())
    }

    /// Every pair, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.pairs.iter().map(|(k, v)| (k.as_ref(), v.as_ref()))
    }
}

/// Splits a PHP bracket key into its base and segments: `contact[fields][12]` →
/// `("contact", ["fields", "12"])`. A key without well-formed brackets is all base.
///
/// ```
/// use crmhook::form::split_key;
/// assert_eq!(split_key("contact[fields][12]"), ("contact", vec!["fields", "12"]));
/// assert_eq!(split_key("tags[]"), ("tags", vec![""]));
/// assert_eq!(split_key("odd[key"), ("odd[key", vec![]));
/// ```
pub fn split_key(key: &str) -> (&str, Vec<&str>) {
    let Some(open) = key.find('[') else { return (key, Vec::new()) };
    let (base, mut rest) = key.split_at(open);
    let mut segments = Vec::new();
    while let Some(inner) = rest.strip_prefix('[') {
        match inner.find(']') {
            Some(close) => {
                segments.push(&inner[..close]);
                rest = &inner[close + 1..];
            }
            None => return (key, Vec::new()),
        }
    }
    if !rest.is_empty() || base.is_empty() {
        return (key, Vec::new());
    }
    (base, segments)
}

/// Percent-decodes one key or value. A `%` not followed by two hex digits stays as it is,
/// as PHP's `urldecode` does.
fn decode(raw: &[u8]) -> Result<Cow<'_, str>, std::str::Utf8Error> {
    // memchr finds the first escape a word at a time; most names and values have none.
    let Some(first) = memchr::memchr2(b'%', b'+', raw) else {
        return std::str::from_utf8(raw).map(Cow::Borrowed);
    };
    // One pass from the first escape on, byte by byte (runs between escapes are short in the
    // values that have any, e.g. `Course+1%2C+Course+2`); `out` never grows.
    let mut out = Vec::with_capacity(raw.len());
    out.extend_from_slice(&raw[..first]);
    let mut rest = &raw[first..];
    while let [b, tail @ ..] = rest {
        rest = match (*b, tail) {
            (b'+', _) => {
                out.push(b' ');
                tail
            }
            (b'%', [high, low, after @ ..]) if hex(*high).is_some() && hex(*low).is_some() => {
                out.push(hex(*high).unwrap_or_default() << 4 | hex(*low).unwrap_or_default());
                after
            }
            // Not an escape: the `%` stands for itself, as PHP reads it.
            (other, _) => {
                out.push(other);
                tail
            }
        };
    }
    String::from_utf8(out).map(Cow::Owned).map_err(|e| e.utf8_error())
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Percent-encodes a query value: everything but RFC 3986's unreserved characters.
///
/// ```
/// assert_eq!(crmhook::form::encode("ann+x@example.com"), "ann%2Bx%40example.com");
/// ```
pub fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len() * 3);
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_percent_and_plus() {
        let f = Form::parse(b"a=one+two&b=%C3%A9t%C3%A9&c=100%25&d=%zz&e=%4").unwrap();
        assert_eq!(f.get("a"), Some("one two"));
        assert_eq!(f.get("b"), Some("été"));
        assert_eq!(f.get("c"), Some("100%"));
        assert_eq!(f.get("d"), Some("%zz"));
        assert_eq!(f.get("e"), Some("%4"));
    }

    #[test]
    fn borrows_when_nothing_is_encoded() {
        let f = Form::parse(b"contactId=12&wpf_action=add").unwrap();
        assert!(matches!(f.pairs[0].1, Cow::Borrowed(_)));
    }

    #[test]
    fn skips_empty_parts_and_keeps_valueless_keys() {
        let f = Form::parse(b"&&a&=x&b=").unwrap();
        assert_eq!(f.get("a"), Some(""));
        assert_eq!(f.get("b"), Some(""));
        assert_eq!(f.iter().count(), 2);
    }

    #[test]
    fn invalid_utf8_is_an_error() {
        assert!(Form::parse(b"a=%FF%FE").is_err());
        assert!(Form::parse(b"a=\xff").is_err());
        assert!(Form::parse(b"%FF=1").is_err());
    }

    #[test]
    fn nul_bytes_survive_decoding_for_the_caller_to_refuse() {
        assert_eq!(Form::parse(b"a=x%00y").unwrap().get("a"), Some("x\0y"));
    }

    #[test]
    fn repeated_keys_last_wins() {
        assert_eq!(Form::parse(b"k=1&k=2&k=3").unwrap().get("k"), Some("3"));
    }

    #[test]
    fn bracket_keys_split() {
        assert_eq!(split_key("a[b][c]"), ("a", vec!["b", "c"]));
        assert_eq!(split_key("a[b]x"), ("a[b]x", vec![]));
        assert_eq!(split_key("[b]"), ("[b]", vec![]));
        assert_eq!(split_key("plain"), ("plain", vec![]));
    }
}
