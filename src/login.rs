//! WordPress usernames that WordPress stores unchanged.
//!
//! `wp_insert_user` runs the login through `sanitize_user($login, true)`: accents are folded,
//! `%XX` octets and `&entities;` removed, then everything but `a-z 0-9 space _ . - @` dropped.
//! A login that does not survive that is silently changed, and one over 60 characters is
//! refused. So every login made here uses only `a-z 0-9 _ . - @`, is at most 60 characters,
//! and is deterministic for a given email (the plugin adds a numeric suffix on collision).

/// The longest login WordPress accepts.
pub const MAX_LOGIN_CHARS: usize = 60;

/// How new usernames are formed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UsernameFormat {
    /// The email address (the default, as the seeds document).
    #[default]
    Email,
    /// First and last name run together: `johnsmith`.
    FirstLastName,
    /// First name and a number derived from the email: `john4821`.
    FirstNameNumber,
}

impl UsernameFormat {
    /// Every format, in the order the settings screen lists them.
    pub const ALL: [UsernameFormat; 3] = [UsernameFormat::Email, UsernameFormat::FirstLastName, UsernameFormat::FirstNameNumber];

    /// Reads `email`, `flname` or `fnamenum` (empty is the default, `email`).
    pub fn parse(raw: &str) -> Option<UsernameFormat> {
        let raw = crate::text::trim(raw);
        if raw.is_empty() {
            return Some(UsernameFormat::default());
        }
        UsernameFormat::ALL.into_iter().find(|f| f.slug() == raw)
    }

    /// The setting's value: `email`, `flname` or `fnamenum` (the incumbent plugin's names).
    pub fn slug(self) -> &'static str {
        match self {
            UsernameFormat::Email => "email",
            UsernameFormat::FirstLastName => "flname",
            UsernameFormat::FirstNameNumber => "fnamenum",
        }
    }

    /// What the settings screen calls it.
    pub fn label(self) -> &'static str {
        use crate::crm::info::l10n;
        match self {
            UsernameFormat::Email => l10n("Email address"),
            UsernameFormat::FirstLastName => l10n("First and last name"),
            UsernameFormat::FirstNameNumber => l10n("First name and a number"),
        }
    }

    /// What it makes, and what it falls back to.
    pub fn description(self) -> &'static str {
        use crate::crm::info::l10n;
        match self {
            UsernameFormat::Email => {
                l10n("The contact's email address, with characters WordPress does not keep in a username replaced by a dash.")
            }
            UsernameFormat::FirstLastName => {
                l10n("First and last name run together, lower case, accents removed; the email address when the contact has no name.")
            }
            UsernameFormat::FirstNameNumber => l10n(
                "First name and a number taken from the email address (the same for the same address); the email address when the contact has no first name.",
            ),
        }
    }

    /// The login this format makes for John Smith, john.smith@example.com: made by
    /// [`login_for`] itself, so the example on the settings screen is always what happens.
    pub fn example(self) -> String {
        login_for(self, "john.smith@example.com", "John", "Smith")
    }
}

/// The login for a new user with this email and name.
///
/// ```
/// use crmhook::login::{login_for, UsernameFormat};
/// assert_eq!(login_for(UsernameFormat::Email, "Ann+News@Example.com", "", ""), "ann-news@example.com");
/// assert_eq!(login_for(UsernameFormat::FirstLastName, "a@b.co", "José", "Núñez"), "josenunez");
/// ```
pub fn login_for(format: UsernameFormat, email: &str, first_name: &str, last_name: &str) -> String {
    let email = crate::text::trim(email).to_lowercase();
    let from_names = match format {
        UsernameFormat::Email => None,
        UsernameFormat::FirstLastName => Some(fold_name(&format!("{first_name}{last_name}"))),
        UsernameFormat::FirstNameNumber => {
            let first = fold_name(first_name);
            (!first.is_empty()).then(|| format!("{first}{}", 1000 + fnv1a(&email) % 9000))
        }
    };
    let login = match from_names {
        Some(name) if !name.is_empty() => name,
        _ => fold_email(&email),
    };
    if login.bytes().any(|b| b.is_ascii_alphanumeric()) {
        fit(login, &email)
    } else {
        // Nothing readable survived (an all-CJK address, say): a stable, unique stand-in.
        format!("user-{:010x}", fnv1a(&email) & 0xff_ffff_ffff)
    }
}

/// True when WordPress's `sanitize_user($login, true)` returns `login` unchanged and
/// `wp_insert_user` accepts its length.
pub fn survives_sanitize(login: &str) -> bool {
    !login.is_empty()
        && login.chars().count() <= MAX_LOGIN_CHARS
        && login == crate::text::trim(login)
        && !login.contains("  ")
        && login.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b' ' | b'_' | b'.' | b'-' | b'@'))
}

/// Makes a CRM-supplied login safe the way `sanitize_user(…, true)` would, keeping its case,
/// then fits it in 60 characters. Empty when nothing usable is left.
pub fn sanitize_login(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.trim().chars() {
        match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '_' | '.' | '-' | '@' => out.push(c),
            ' ' if !out.ends_with(' ') => out.push(' '),
            c => out.push_str(fold_char(c)),
        }
    }
    let out = out.trim().to_owned();
    if out.bytes().any(|b| b.is_ascii_alphanumeric()) {
        fit(out, raw)
    } else {
        String::new()
    }
}

/// Folds an email to `a-z 0-9 _ . - @`: accents become their base letter, any other character
/// a `-`, so `ann+news@` and `ann@` stay distinct.
fn fold_email(email: &str) -> String {
    let mut out = String::with_capacity(email.len());
    for c in email.chars() {
        match c {
            'a'..='z' | '0'..='9' | '_' | '.' | '-' | '@' => out.push(c),
            c if c.is_ascii() => out.push('-'),
            c => out.push_str(fold_char(c)),
        }
    }
    out
}

/// Folds a name to `a-z 0-9`, dropping everything else.
fn fold_name(name: &str) -> String {
    let mut out = String::new();
    for c in name.to_lowercase().chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !c.is_ascii() {
            out.push_str(fold_char(c));
        }
    }
    out
}

/// Cuts a login over 60 characters to 49 and a 10-digit hash of `seed`, so long addresses
/// that share a beginning still get different logins.
fn fit(login: String, seed: &str) -> String {
    if login.chars().count() <= MAX_LOGIN_CHARS {
        return login;
    }
    let head: String = login.chars().take(MAX_LOGIN_CHARS - 11).collect();
    let head = head.trim_end_matches(['.', '-', '_', '@', ' ']);
    format!("{head}-{:010x}", fnv1a(seed) & 0xff_ffff_ffff)
}

/// FNV-1a: a small hash that is the same on every platform and every run.
fn fnv1a(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

/// The lower-case ASCII a letter from Latin-1 or Latin Extended-A folds to, as WordPress's
/// `remove_accents` does; other characters fold to nothing.
fn fold_char(c: char) -> &'static str {
    const LATIN1: [&str; 64] = [
        "a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i", "i", "d", "n", "o", "o", "o", "o", "o", "", "o", "u",
        "u", "u", "u", "y", "th", "s", "a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i", "i", "d", "n", "o", "o",
        "o", "o", "o", "", "o", "u", "u", "u", "u", "y", "th", "y",
    ];
    const EXTENDED_A: [&str; 128] = [
        "a", "a", "a", "a", "a", "a", "c", "c", "c", "c", "c", "c", "c", "c", "d", "d", "d", "d", "e", "e", "e", "e", "e", "e", "e", "e",
        "e", "e", "g", "g", "g", "g", "g", "g", "g", "g", "h", "h", "h", "h", "i", "i", "i", "i", "i", "i", "i", "i", "i", "i", "ij", "ij",
        "j", "j", "k", "k", "k", "l", "l", "l", "l", "l", "l", "l", "l", "l", "l", "n", "n", "n", "n", "n", "n", "n", "n", "n", "o", "o",
        "o", "o", "o", "o", "oe", "oe", "r", "r", "r", "r", "r", "r", "s", "s", "s", "s", "s", "s", "s", "s", "t", "t", "t", "t", "t", "t",
        "u", "u", "u", "u", "u", "u", "u", "u", "u", "u", "u", "u", "w", "w", "y", "y", "y", "z", "z", "z", "z", "z", "z", "s",
    ];
    match c as u32 {
        cp @ 0xC0..=0xFF => LATIN1[(cp - 0xC0) as usize],
        cp @ 0x100..=0x17F => EXTENDED_A[(cp - 0x100) as usize],
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use UsernameFormat::*;

    #[test]
    fn formats_round_trip_and_show_what_they_make() {
        for format in UsernameFormat::ALL {
            assert_eq!(UsernameFormat::parse(format.slug()), Some(format));
            assert!(survives_sanitize(&format.example()), "{}", format.example());
        }
        assert_eq!(UsernameFormat::parse(""), Some(Email));
        assert_eq!(UsernameFormat::parse("nickname"), None);
        assert_eq!(Email.example(), "john.smith@example.com");
        assert_eq!(FirstLastName.example(), "johnsmith");
        assert!(FirstNameNumber.example().starts_with("john"));
    }

    #[test]
    fn email_logins_survive_sanitize_user() {
        for email in ["ann@example.com", "Ann.Lee@Example.COM", "a+b+c@x.io", "o'neil@x.ie", "jörg@bücher.de"] {
            let login = login_for(Email, email, "", "");
            assert!(survives_sanitize(&login), "{email} → {login}");
        }
    }

    #[test]
    fn plus_addresses_keep_their_tag_distinct() {
        assert_eq!(login_for(Email, "ann+news@x.com", "", ""), "ann-news@x.com");
        assert_ne!(login_for(Email, "ann+news@x.com", "", ""), login_for(Email, "ann@x.com", "", ""));
    }

    #[test]
    fn upper_case_emails_give_the_same_login() {
        assert_eq!(login_for(Email, "ANN@X.COM", "", ""), login_for(Email, "ann@x.com", "", ""));
    }

    #[test]
    fn unicode_is_folded_or_replaced() {
        assert_eq!(login_for(Email, "jörg@bücher.de", "", ""), "jorg@bucher.de");
        let cjk = login_for(Email, "用户@例子.中国", "", "");
        assert!(cjk.starts_with("user-") && survives_sanitize(&cjk), "{cjk}");
        assert_eq!(cjk, login_for(Email, "用户@例子.中国", "", ""));
    }

    #[test]
    fn long_emails_fit_in_60_characters_and_stay_distinct() {
        let a = format!("{}a@example.com", "x".repeat(70));
        let b = format!("{}b@example.com", "x".repeat(70));
        let (la, lb) = (login_for(Email, &a, "", ""), login_for(Email, &b, "", ""));
        assert_eq!(la.chars().count(), 60);
        assert!(survives_sanitize(&la));
        assert_ne!(la, lb);
        assert_eq!(la, login_for(Email, &a, "", ""));
    }

    #[test]
    fn name_formats() {
        assert_eq!(login_for(FirstLastName, "j@x.co", "John", "Smith"), "johnsmith");
        let num = login_for(FirstNameNumber, "j@x.co", "John", "");
        assert!(num.starts_with("john") && num.len() == 8, "{num}");
        assert_eq!(num, login_for(FirstNameNumber, "J@X.co", "John", ""));
        // No usable name: the email format.
        assert_eq!(login_for(FirstLastName, "j@x.co", "", ""), "j@x.co");
        assert_eq!(login_for(FirstNameNumber, "j@x.co", "李", ""), "j@x.co");
    }

    #[test]
    fn crm_supplied_logins_are_made_safe() {
        assert_eq!(sanitize_login("Ann_Lee"), "Ann_Lee");
        assert_eq!(sanitize_login("Zoë O'Hara"), "Zoe OHara");
        assert!(survives_sanitize(&sanitize_login("Zoë O'Hara")));
        assert_eq!(sanitize_login("!!!"), "");
        assert_eq!(sanitize_login(&"a".repeat(80)).chars().count(), 60);
    }

    #[test]
    fn survives_sanitize_matches_wordpress_rules() {
        assert!(survives_sanitize("ann lee"));
        assert!(!survives_sanitize("ann+lee"));
        assert!(!survives_sanitize(" ann"));
        assert!(!survives_sanitize("ann  lee"));
        assert!(!survives_sanitize("ännlee"));
        assert!(!survives_sanitize(&"a".repeat(61)));
    }
}
