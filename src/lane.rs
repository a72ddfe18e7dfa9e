//! The fast lane's one decision before any PHP runs: does this request's query string carry
//! `wpf_action`? Only then does the binding hand the request to the plugin's lane entry
//! (docs/fast-lane.md); every other request pays this scan and nothing else.
//!
//! It is a pre-filter, not the parser: the lane entry checks `$_GET['wpf_action']` again and lets
//! WordPress answer anything it does not take. So a miss (a key spelt `wpf%5Faction` or
//! `wpf.action`, which PHP also turns into `wpf_action`) only costs the normal path, and a false
//! match costs one small PHP file.

/// The parameter every CRM webhook URL carries.
const KEY: &[u8] = b"wpf_action";

/// True when the raw query string has a `wpf_action` parameter (with or without a value), split
/// on `&` as PHP splits it by default.
///
/// ```
/// use crmhook::lane::is_webhook_query;
/// assert!(is_webhook_query(b"wpf_action=add&access_key=k"));
/// assert!(is_webhook_query(b"access_key=k&wpf_action"));
/// assert!(!is_webhook_query(b"p=12&not_wpf_action=add"));
/// assert!(!is_webhook_query(b""));
/// ```
pub fn is_webhook_query(query: &[u8]) -> bool {
    // One pass, no allocation: a page request with no query costs a length check.
    query.split(|&b| b == b'&').any(|param| {
        let name = param.split(|&b| b == b'=').next().unwrap_or_default();
        name == KEY
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_parameter_anywhere_in_the_query() {
        assert!(is_webhook_query(b"wpf_action=update_tags&access_key=abc"));
        assert!(is_webhook_query(b"access_key=abc&wpf_action=add"));
        assert!(is_webhook_query(b"a=1&wpf_action=&b=2"));
        assert!(is_webhook_query(b"wpf_action"));
    }

    #[test]
    fn ignores_lookalikes_and_values() {
        assert!(!is_webhook_query(b"xwpf_action=add"));
        assert!(!is_webhook_query(b"wpf_actions=add"));
        assert!(!is_webhook_query(b"s=wpf_action"));
        assert!(!is_webhook_query(b"s=1%26wpf_action%3Dadd"));
        assert!(!is_webhook_query(b"p=2"));
        assert!(!is_webhook_query(b""));
        assert!(!is_webhook_query(b"&&&"));
    }

    #[test]
    fn any_bytes_are_safe() {
        assert!(!is_webhook_query(&[0xff, 0xfe, b'=', 0]));
        assert!(is_webhook_query(&[0xff, b'&', b'w', b'p', b'f', b'_', b'a', b'c', b't', b'i', b'o', b'n', b'=', 0xff]));
    }
}
