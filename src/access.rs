//! The access key check, and access key and password generation from the OS CSPRNG.

use rand::rngs::OsRng;
use rand::TryRngCore;

use crate::error::OptionError;

const ALPHANUMERIC: &[u8; 62] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// Length of a generated access key: 32 characters of 62 = 190 bits.
pub const ACCESS_KEY_LENGTH: usize = 32;

/// Shortest and longest password [`generate_password`] makes.
pub const PASSWORD_LENGTHS: std::ops::RangeInclusive<usize> = 8..=256;

/// Compares a given key with the expected one in time that depends only on the expected
/// key's length. An empty key on either side never matches.
///
/// ```
/// use crmhook::access::verify_access_key;
/// assert!(verify_access_key(b"abc", b"abc"));
/// assert!(!verify_access_key(b"abd", b"abc"));
/// assert!(!verify_access_key(b"", b""));
/// ```
pub fn verify_access_key(given: &[u8], expected: &[u8]) -> bool {
    if given.is_empty() || expected.is_empty() {
        return false;
    }
    // Walk the whole expected key whatever the given one holds, folding every difference
    // (the length included) into one accumulator, so timing does not reveal the prefix.
    let mut diff = (given.len() ^ expected.len()) as u64;
    if given.len() == expected.len() {
        // The usual case: one pass over both without a bounds check per byte, which the
        // compiler turns into a few wide XORs and ORs (a per-byte loop was ~200 instructions of
        // every webhook). Only whether the lengths match shows in the time, as with PHP's own
        // `hash_equals`.
        diff |= u64::from(given.iter().zip(expected).fold(0u8, |acc, (g, e)| acc | (g ^ e)));
    } else {
        for (i, e) in expected.iter().enumerate() {
            let g = given.get(i).copied().unwrap_or(!*e);
            diff |= u64::from(g ^ e);
        }
    }
    std::hint::black_box(diff) == 0
}

/// A new access key: 32 letters and digits (190 bits) from the OS CSPRNG, safe in a URL
/// without encoding.
pub fn generate_access_key() -> Result<String, OptionError> {
    random_alphanumeric(ACCESS_KEY_LENGTH)
}

/// A new password of `length` letters and digits, with at least one upper-case letter, one
/// lower-case letter and one digit. Only letters and digits, because CRM merge fields and
/// email templates mangle punctuation. From rand's thread-local CSPRNG (ChaCha, seeded and
/// reseeded from the OS): a password per webhook should not cost a system call.
pub fn generate_password(length: usize) -> Result<String, OptionError> {
    if !PASSWORD_LENGTHS.contains(&length) {
        return Err(OptionError(format!(
            "password length must be between {} and {}, got {length}",
            PASSWORD_LENGTHS.start(),
            PASSWORD_LENGTHS.end()
        )));
    }
    loop {
        let password = alphanumeric_from(&mut rand::rng(), length);
        let has = |f: fn(&u8) -> bool| password.as_bytes().iter().any(f);
        if has(u8::is_ascii_uppercase) && has(u8::is_ascii_lowercase) && has(u8::is_ascii_digit) {
            return Ok(password);
        }
    }
}

fn random_alphanumeric(length: usize) -> Result<String, OptionError> {
    let mut os = OsRng.unwrap_err();
    // `unwrap_err` turns a failing OS source into a panic; make it an error instead.
    let mut probe = [0u8; 1];
    OsRng.try_fill_bytes(&mut probe).map_err(|e| OptionError(format!("the operating system's random source failed: {e}")))?;
    Ok(alphanumeric_from(&mut os, length))
}

fn alphanumeric_from(rng: &mut impl rand::RngCore, length: usize) -> String {
    let mut out = String::with_capacity(length);
    let mut buf = [0u8; 64];
    while out.len() < length {
        rng.fill_bytes(&mut buf);
        // Rejection sampling: 248 = 4 × 62, so every character is equally likely.
        for &b in buf.iter().filter(|&&b| b < 248) {
            if out.len() == length {
                break;
            }
            out.push(ALPHANUMERIC[usize::from(b % 62)] as char);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_compare_exactly() {
        assert!(verify_access_key(b"secret", b"secret"));
        assert!(!verify_access_key(b"secreT", b"secret"));
        assert!(!verify_access_key(b"secret2", b"secret"));
        assert!(!verify_access_key(b"secre", b"secret"));
        assert!(!verify_access_key(b"", b"secret"));
        assert!(!verify_access_key(b"secret", b""));
    }

    #[test]
    fn access_keys_are_long_url_safe_and_distinct() {
        let a = generate_access_key().unwrap();
        let b = generate_access_key().unwrap();
        assert_eq!(a.len(), ACCESS_KEY_LENGTH);
        assert!(a.bytes().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(a, b);
    }

    #[test]
    fn passwords_mix_classes_and_respect_length() {
        for len in [8, 24, 256] {
            let p = generate_password(len).unwrap();
            assert_eq!(p.len(), len);
            assert!(p.bytes().all(|c| c.is_ascii_alphanumeric()));
            assert!(p.bytes().any(|c| c.is_ascii_digit()));
            assert!(p.bytes().any(|c| c.is_ascii_uppercase()));
        }
        assert!(generate_password(7).is_err());
        assert!(generate_password(257).is_err());
    }
}
