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
        // A form that is UTF-8 as a whole is checked once: its pieces, cut at ASCII `&` and `=`,
        // are UTF-8 too, so only pieces with escapes need a check of their own once decoded.
        // Otherwise each piece is checked alone, so the error names the piece that is broken.
        let whole = std::str::from_utf8(input).ok();
        // The pieces before the form's first `%` or `+` have nothing to decode: one search finds
        // where that is for all of them (all of a usual query string), instead of one per piece.
        let plain_up_to = find_escape(input).unwrap_or(input.len());
        // Room for every pair at once; a short form gets a list that holds the contract's few
        // parameters without counting its `&`s (memchr's count costs more set-up than such a
        // form has bytes).
        let room = if input.len() < SHORT_FORM_BYTES { SHORT_FORM_PAIRS.max(input.len() / 8) } else { count_byte(b'&', input) + 1 };
        let mut pairs = Vec::with_capacity(room);
        let mut at = 0;
        while at <= input.len() {
            let end = find_byte(b'&', &input[at..]).map_or(input.len(), |i| at + i);
            let part = at..end;
            at = end + 1;
            if part.is_empty() {
                continue;
            }
            let (key_at, value_at) = match find_byte(b'=', &input[part.clone()]) {
                Some(i) => (part.start..part.start + i, part.start + i + 1..part.end),
                None => (part.clone(), part.end..part.end),
            };
            let piece = |range: std::ops::Range<usize>| match whole {
                Some(text) if range.end <= plain_up_to => Ok(Cow::Borrowed(text.get(range).unwrap_or_default())),
                Some(text) => decode_text(text.get(range).unwrap_or_default()),
                None if range.end <= plain_up_to => std::str::from_utf8(&input[range]).map(Cow::Borrowed),
                None => decode(&input[range]),
            };
            // A name that does not decode is not echoed: it could be anything, even the key.
            let key = piece(key_at).map_err(|_| FormError { key: "(a parameter name)".to_owned() })?;
            if key.is_empty() {
                continue;
            }
            let value = piece(value_at).map_err(|_| FormError { key: crate::text::echo(&key) })?;
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
            let (raw_key, raw_value) = match find_byte(b'=', part) {
                Some(i) => (&part[..i], &part[i + 1..]),
                None => (part, &b""[..]),
            };
            // A name with nothing to decode is compared as it is: no copy, no UTF-8 pass.
            let matches = if find_escape(raw_key).is_some() { decode(raw_key).is_ok_and(|k| k == key) } else { raw_key == key.as_bytes() };
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

/// Below this many bytes a form's pairs are not counted before the list is made
/// ([`SHORT_FORM_PAIRS`], or one per eight bytes, is room enough or one growth short of it).
const SHORT_FORM_BYTES: usize = 256;

/// The room a short form's list starts with: the URL contract's parameters and a small body's.
const SHORT_FORM_PAIRS: usize = 8;

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
    // Brackets are ASCII: found as bytes, without `str::find`'s char-pattern machinery.
    let find = |text: &str, b: u8| text.as_bytes().iter().position(|&c| c == b);
    let Some(open) = find(key, b'[') else { return (key, Vec::new()) };
    let (base, mut rest) = key.split_at(open);
    let mut segments = Vec::with_capacity(2);
    while let Some(inner) = rest.strip_prefix('[') {
        match find(inner, b']') {
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

/// Below this many bytes a plain loop finds a byte sooner than memchr, whose vector set-up
/// outweighs the scan of a short name or value (callgrind: 13 % of a `test` webhook went to
/// memchr's AVX2 entry on 10-byte names).
const SHORT: usize = 32;

const LOW_BITS: u64 = 0x0101_0101_0101_0101;
const HIGH_BITS: u64 = 0x8080_8080_8080_8080;

/// The bytes of `word` that are zero, as their high bits; the lowest one set marks the first
/// zero byte exactly (a borrow can only mark bytes after it).
#[inline]
fn zero_bytes(word: u64) -> u64 {
    word.wrapping_sub(LOW_BITS) & !word & HIGH_BITS
}

/// The first byte of `haystack` for which `marks` (of the word read little-endian) sets a high
/// bit: eight bytes at a time for the first [`SHORT`] bytes, where the next delimiter or escape
/// usually is (a tag list has a comma every dozen bytes), then memchr's vector scan via `far`
/// when [`SHORT`] bytes or more are left, else words again down to the last seven bytes (a
/// byte at a time from 32 bytes on cost a 58-byte query string ~150 instructions a search).
#[inline]
fn find_by_words(haystack: &[u8], marks: impl Fn(u64) -> u64, far: impl Fn(&[u8]) -> Option<usize>) -> Option<usize> {
    let word_at = |at: usize| match haystack.get(at..at + 8) {
        Some(&[b0, b1, b2, b3, b4, b5, b6, b7]) => Some(marks(u64::from_le_bytes([b0, b1, b2, b3, b4, b5, b6, b7]))),
        _ => None,
    };
    let mut at = 0;
    // A fixed number of rounds, which the compiler unrolls.
    while at < SHORT {
        let Some(found) = word_at(at) else { break };
        if found != 0 {
            return Some(at + (found.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    let rest = haystack.get(at..).unwrap_or_default();
    if rest.len() >= SHORT {
        return far(rest).map(|i| at + i);
    }
    while let Some(found) = word_at(at) {
        if found != 0 {
            return Some(at + (found.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    let rest = haystack.get(at..).unwrap_or_default();
    let mut found = None;
    for (i, &b) in rest.iter().enumerate() {
        if marks(u64::from(b)) & 0x80 != 0 {
            found = Some(i);
            break;
        }
    }
    found.map(|i| at + i)
}

/// The first `needle` in `haystack`.
#[inline]
pub(crate) fn find_byte(needle: u8, haystack: &[u8]) -> Option<usize> {
    let repeated = u64::from(needle) * LOW_BITS;
    find_by_words(haystack, |word| zero_bytes(word ^ repeated), |rest| memchr::memchr(needle, rest))
}

/// The first `%` or `+`: where decoding has work to do.
fn find_escape(haystack: &[u8]) -> Option<usize> {
    const PERCENT: u64 = 0x25 * LOW_BITS;
    const PLUS: u64 = 0x2B * LOW_BITS;
    find_by_words(haystack, |word| zero_bytes(word ^ PERCENT) | zero_bytes(word ^ PLUS), |rest| memchr::memchr2(b'%', b'+', rest))
}

/// How many `needle`s `haystack` holds.
fn count_byte(needle: u8, haystack: &[u8]) -> usize {
    if haystack.len() < SHORT {
        haystack.iter().filter(|&&b| b == needle).count()
    } else {
        memchr::memchr_iter(needle, haystack).count()
    }
}

/// Percent-decodes one key or value. A `%` not followed by two hex digits stays as it is,
/// as PHP's `urldecode` does.
fn decode(raw: &[u8]) -> Result<Cow<'_, str>, std::str::Utf8Error> {
    match find_escape(raw) {
        None => std::str::from_utf8(raw).map(Cow::Borrowed),
        Some(first) => String::from_utf8(decode_from(raw, first)).map(Cow::Owned).map_err(|e| e.utf8_error()),
    }
}

/// [`decode`] of a piece already known to be UTF-8: without escapes it is borrowed unchecked.
fn decode_text(raw: &str) -> Result<Cow<'_, str>, std::str::Utf8Error> {
    match find_escape(raw.as_bytes()) {
        None => Ok(Cow::Borrowed(raw)),
        Some(first) => String::from_utf8(decode_from(raw.as_bytes(), first)).map(Cow::Owned).map_err(|e| e.utf8_error()),
    }
}

/// The bytes of `raw` decoded, from its first escape at `first` on. The runs between `%`
/// escapes are copied with `+` made a space (a loop the compiler vectorizes), and each `%` is
/// found with [`find_byte`]: a list of 1,000 tags took 15 instructions a byte decoded one byte
/// at a time. The output never grows past its first allocation (decoding only shortens).
fn decode_from(raw: &[u8], first: usize) -> Vec<u8> {
    if raw.len() < SHORT {
        decode_short_from(raw, first)
    } else {
        decode_runs_from(raw, first)
    }
}

/// [`decode_from`] of a short name (`contact%5Bid%5D`): byte by byte is cheaper than a search
/// per escape.
fn decode_short_from(raw: &[u8], first: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    out.extend_from_slice(&raw[..first]);
    let digit = |at: usize| raw.get(at).map_or(0xFF, |&b| HEX[usize::from(b)]);
    {
        let mut at = first;
        while let Some(&b) = raw.get(at) {
            at += 1;
            let byte = match b {
                b'+' => b' ',
                b'%' if digit(at) < 16 && digit(at + 1) < 16 => {
                    at += 2;
                    digit(at - 2) << 4 | digit(at - 1)
                }
                other => other,
            };
            out.push(byte);
        }
    }
    out
}

/// [`decode_from`] of a long value, a run between escapes at a time.
fn decode_runs_from(raw: &[u8], first: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    out.extend_from_slice(&raw[..first]);
    let digit = |at: usize| raw.get(at).map_or(0xFF, |&b| HEX[usize::from(b)]);
    let copy_run = |out: &mut Vec<u8>, run: &[u8]| out.extend(run.iter().map(|&b| if b == b'+' { b' ' } else { b }));
    let mut run_start = first;
    while let Some(percent) = find_byte(b'%', &raw[run_start..]).map(|i| run_start + i) {
        copy_run(&mut out, &raw[run_start..percent]);
        let (high, low) = (digit(percent + 1), digit(percent + 2));
        if high < 16 && low < 16 {
            out.push(high << 4 | low);
            run_start = percent + 3;
        } else {
            // Not an escape: the `%` stands for itself, as PHP reads it.
            out.push(b'%');
            run_start = percent + 1;
        }
    }
    copy_run(&mut out, &raw[run_start..]);
    out
}

/// Each byte's value as a hex digit; 0xFF for a byte that is not one.
const HEX: [u8; 256] = {
    let mut table = [0xFF; 256];
    let mut i = 0;
    while i < 10 {
        table[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        table[b'a' as usize + i] = 10 + i as u8;
        table[b'A' as usize + i] = 10 + i as u8;
        i += 1;
    }
    table
};

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

    /// The decoder before the one-pass rewrite, kept as the reference.
    fn reference_decode(raw: &[u8]) -> Result<String, std::str::Utf8Error> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < raw.len() {
            let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
            match raw[i] {
                b'+' => out.push(b' '),
                b'%' if i + 2 < raw.len() && hex(raw[i + 1]).is_some() && hex(raw[i + 2]).is_some() => {
                    out.push(hex(raw[i + 1]).unwrap() << 4 | hex(raw[i + 2]).unwrap());
                    i += 2;
                }
                b => out.push(b),
            }
            i += 1;
        }
        String::from_utf8(out).map_err(|e| e.utf8_error())
    }

    /// Bytes from a fixed seed: escapes, broken escapes, UTF-8 and not, delimiters.
    fn samples() -> Vec<Vec<u8>> {
        let alphabet: &[&[u8]] = &[
            b"a",
            b"Z",
            b"0",
            b"+",
            b"%",
            b"%2",
            b"%2C",
            b"%e9",
            b"%C3%A9",
            b"%FF",
            b"&",
            b"=",
            "é".as_bytes(),
            b"\xff",
            b" ",
            b"%%",
            b"%g1",
        ];
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        let mut out = vec![Vec::new()];
        for len in [1, 2, 3, 5, 8, 20, 40, 70, 200] {
            for _ in 0..60 {
                let mut s = Vec::new();
                for _ in 0..len {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    s.extend_from_slice(alphabet[(seed % alphabet.len() as u64) as usize]);
                }
                out.push(s);
            }
        }
        out
    }

    #[test]
    fn decoding_matches_the_reference() {
        for raw in samples() {
            let want = reference_decode(&raw);
            assert_eq!(decode(&raw).map(Cow::into_owned).ok(), want.clone().ok(), "{raw:?}");
            if let Ok(text) = std::str::from_utf8(&raw) {
                assert_eq!(decode_text(text).map(Cow::into_owned).ok(), want.ok(), "{raw:?}");
            }
        }
    }

    #[test]
    fn the_short_scans_find_what_memchr_finds() {
        for raw in samples() {
            assert_eq!(find_byte(b'&', &raw), memchr::memchr(b'&', &raw), "{raw:?}");
            assert_eq!(count_byte(b'&', &raw), memchr::memchr_iter(b'&', &raw).count(), "{raw:?}");
            assert_eq!(find_escape(&raw), memchr::memchr2(b'%', b'+', &raw), "{raw:?}");
        }
    }

    #[test]
    fn a_form_parses_like_splitting_and_decoding_each_piece() {
        for raw in samples() {
            let want: Result<Vec<(String, String)>, ()> = raw
                .split(|&b| b == b'&')
                .filter(|p| !p.is_empty())
                .filter_map(|p| {
                    let (k, v) = match p.iter().position(|&b| b == b'=') {
                        Some(i) => (&p[..i], &p[i + 1..]),
                        None => (p, &b""[..]),
                    };
                    match reference_decode(k) {
                        Err(_) => Some(Err(())),
                        Ok(k) if k.is_empty() => None,
                        Ok(k) => Some(reference_decode(v).map(|v| (k, v)).map_err(|_| ())),
                    }
                })
                .collect();
            let got = Form::parse(&raw).map(|f| f.iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect::<Vec<_>>()).map_err(|_| ());
            assert_eq!(got, want, "{raw:?}");
        }
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
