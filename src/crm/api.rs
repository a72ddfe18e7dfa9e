//! What every CRM API client shares: the `$crm` configuration, the typed failure (each mapped
//! to one HTTP-like code), and [`Api`], which sends a call, checks the answer and decodes it.
//! Each CRM's own file says which paths to call and how to read the answer.

use std::fmt;
use std::time::Duration;

use serde::de::DeserializeOwned;
use ureq::http::Method;

use super::Crm;
use crate::error::OptionError;
use crate::http::{HttpRequest, HttpResponse, Transport, TransportError};

/// The `$crm` array: which CRM, where, and the credentials. `Debug` hides the credentials.
#[derive(Clone, Default)]
pub struct CrmConfig {
    /// The CRM.
    pub crm: Option<Crm>,
    /// Base URL; empty means the CRM's public host, where it has one.
    pub api_url: String,
    /// ActiveCampaign `Api-Token`, Kit v4 API key, Keap service account key.
    pub api_key: String,
    /// ConvertKit v3 API secret.
    pub api_secret: String,
    /// FluentCRM / FunnelKit: the WordPress user.
    pub username: String,
    /// FluentCRM / FunnelKit: that user's application password.
    pub password: String,
}

impl fmt::Debug for CrmConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CrmConfig")
            .field("crm", &self.crm)
            .field("api_url", &self.api_url)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

impl CrmConfig {
    /// Every credential, for scrubbing messages.
    fn secrets(&self) -> Vec<String> {
        let mut secrets: Vec<String> =
            [&self.api_key, &self.api_secret, &self.password].into_iter().filter(|s| s.len() >= 4).cloned().collect();
        if !self.password.is_empty() {
            secrets.push(basic_token(&self.username, &self.password));
        }
        secrets
    }
}

/// How a CRM call failed. [`CrmFailure::code`] is the `CrmHook\CrmException` code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CrmFailure {
    /// The CRM refused the credentials (its 401, or a hosted CRM's 403).
    #[error("the credentials were refused (HTTP {status}): check them under Settings → CRM Webhooks")]
    BadCredentials {
        /// What the CRM answered.
        status: u16,
    },
    /// A WordPress-based CRM knows the user but the user may not use its API (HTTP 403).
    #[error("the WordPress user is not allowed to use {crm}'s API (HTTP 403): give that user {crm} access, or use the application password of a user who has it")]
    NoPermission {
        /// The CRM's name.
        crm: &'static str,
    },
    /// A field the site writes is not one the CRM has: the CRM would drop it without a word.
    #[error(
        "{crm} has no field \"{field}\" (its custom fields: {known}): create it in {crm}, or change the field in Settings → CRM Webhooks"
    )]
    UnknownField {
        /// The CRM's name.
        crm: &'static str,
        /// The field the site tried to write.
        field: String,
        /// The custom fields the CRM has.
        known: String,
    },
    /// The contact (or other object) does not exist, or was deleted.
    #[error("not found")]
    NotFound,
    /// The CRM is rate limiting us, even after one polite retry.
    #[error("rate limited (HTTP 429): too many requests, try again later")]
    RateLimited,
    /// The answer was not what this CRM's API answers: not JSON, an HTML page, a missing route.
    #[error("{0}")]
    BadAnswer(String),
    /// The CRM answered with a server error (5xx).
    #[error("the CRM is unavailable (HTTP {status})")]
    Unavailable {
        /// What the CRM answered.
        status: u16,
    },
    /// The CRM refused the request for a reason of its own (another 4xx).
    #[error("the request was refused (HTTP {status}): {message}")]
    Refused {
        /// What the CRM answered.
        status: u16,
        /// The CRM's own words, shortened and scrubbed of credentials.
        message: String,
    },
    /// No answer in time.
    #[error("no answer within {0} s")]
    Timeout(u64),
    /// No connection could be made.
    #[error("{0}")]
    Unreachable(String),
}

impl CrmFailure {
    /// The HTTP-like code: 401, 404, 429, 502 or 504.
    pub fn code(&self) -> u16 {
        match self {
            CrmFailure::BadCredentials { .. } | CrmFailure::NoPermission { .. } => 401,
            CrmFailure::NotFound => 404,
            CrmFailure::RateLimited => 429,
            CrmFailure::Timeout(_) => 504,
            CrmFailure::BadAnswer(_)
            | CrmFailure::Unavailable { .. }
            | CrmFailure::Refused { .. }
            | CrmFailure::UnknownField { .. }
            | CrmFailure::Unreachable(_) => 502,
        }
    }
}

/// A failed CRM call: which CRM, which step, what went wrong. The message never holds a
/// credential: every message is scrubbed of them when it is made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrmError {
    /// The CRM.
    pub crm: Crm,
    /// What crmhook was doing, e.g. "loading contact 42".
    pub step: String,
    /// What went wrong.
    pub failure: CrmFailure,
}

impl CrmError {
    /// The `CrmHook\CrmException` code.
    pub fn code(&self) -> u16 {
        self.failure.code()
    }
}

impl fmt::Display for CrmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} failed: {}", self.crm.name(), self.step, self.failure)
    }
}

impl std::error::Error for CrmError {}

/// Why an API URL cannot be used, or `Ok` when it can. Credentials travel in every request, so
/// plain `http://` is refused except for hosts that never leave the machine or the private
/// network (a CRM on `localhost`, `*.localhost`, `*.test`, a loopback or private IP address):
/// a development setup keeps working, a production key is never sent in clear text.
pub fn check_api_url(url: &str) -> Result<(), String> {
    let url = url.trim();
    let starts = |scheme: &str| url.len() > scheme.len() && url.get(..scheme.len()).is_some_and(|p| p.eq_ignore_ascii_case(scheme));
    if starts("https://") {
        return Ok(());
    }
    if !starts("http://") {
        return Err("must start with https://".into());
    }
    let authority = url[7..].split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority.rsplit('@').next().unwrap_or_default();
    let host = match host_port.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => host_port.split(':').next().unwrap_or_default(),
    }
    .to_ascii_lowercase();
    if is_development_host(&host) {
        Ok(())
    } else {
        Err(format!(
            "must use https:// (plain http:// would send the CRM credentials in clear text; it is only \
             accepted for localhost and private network addresses, and {} is neither)",
            crate::text::echo(&host)
        ))
    }
}

fn is_development_host(host: &str) -> bool {
    use std::net::IpAddr;
    if host == "localhost" || host.ends_with(".localhost") || host.ends_with(".test") {
        return true;
    }
    match host.parse::<IpAddr>() {
        Ok(IpAddr::V4(ip)) => ip.is_loopback() || ip.is_private(),
        // fc00::/7 is IPv6's private range (unique local addresses).
        Ok(IpAddr::V6(ip)) => ip.is_loopback() || (ip.segments()[0] & 0xfe00) == 0xfc00,
        Err(_) => false,
    }
}

/// One CRM's API, ready to call.
pub(crate) struct Api<'c> {
    pub config: &'c CrmConfig,
    pub crm: Crm,
    base: String,
    auth: Vec<(&'static str, String)>,
    transport: Transport,
    /// How long this CRM's tag names may be served from the process's cache.
    pub tag_cache_ttl: Duration,
}

impl<'c> Api<'c> {
    /// Checks the configuration and prepares the calls. `default_url` is the CRM's public host.
    pub fn new(config: &'c CrmConfig, default_url: Option<&str>, settings: super::CallSettings) -> Result<Self, OptionError> {
        let crm = config.crm.ok_or_else(|| OptionError("$crm['crm'] is missing".into()))?;
        let base = match (config.api_url.trim(), default_url) {
            ("", Some(default)) => default.to_owned(),
            ("", None) => return Err(OptionError(format!("{} needs an api_url", crm.name()))),
            (url, _) => url.trim_end_matches('/').to_owned(),
        };
        check_api_url(&base).map_err(|why| OptionError(format!("{}'s api_url {why}", crm.name())))?;
        let auth = match crm {
            Crm::ActiveCampaign => vec![("Api-Token", config.api_key.clone())],
            Crm::Kit => vec![("X-Kit-Api-Key", config.api_key.clone())],
            Crm::Keap => vec![("X-Keap-API-Key", config.api_key.clone())],
            Crm::FluentCrm | Crm::FunnelKit => {
                vec![("Authorization", format!("Basic {}", basic_token(&config.username, &config.password)))]
            }
            // ConvertKit v3 carries its secret in the query or the JSON body: its file adds it.
            Crm::ConvertKit => Vec::new(),
        };
        Ok(Api {
            config,
            crm,
            base,
            auth,
            transport: Transport::new(settings.timeout, settings.keep_alive, settings.ca_file.as_deref()),
            tag_cache_ttl: settings.tag_cache_ttl,
        })
    }

    /// GET `path` (relative to the base URL) and decode the JSON answer.
    pub fn get<T: DeserializeOwned>(&self, step: &str, path: &str) -> Result<T, CrmError> {
        let response = self.call(step, Method::GET, path, None)?;
        self.decode(step, &response)
    }

    /// Sends a JSON body and decodes the answer.
    pub fn send<T: DeserializeOwned>(&self, step: &str, method: Method, path: &str, body: &serde_json::Value) -> Result<T, CrmError> {
        let response = self.call(step, method, path, Some(body))?;
        self.decode(step, &response)
    }

    /// Sends a call whose answer body does not matter (DELETE, or writes answering 204).
    pub fn send_ignoring_answer(&self, step: &str, method: Method, path: &str, body: Option<&serde_json::Value>) -> Result<(), CrmError> {
        self.call(step, method, path, body).map(|_| ())
    }

    /// Sends a call and judges the status: 2xx passes; everything else becomes a failure.
    ///
    /// A WordPress-based CRM (FluentCRM, FunnelKit) on a site with plain permalinks answers its
    /// `/wp-json/` URLs with a redirect or a web page; the same call is then made once as
    /// `/?rest_route=…`, which works with any permalinks, and the site is remembered as such.
    pub fn call(&self, step: &str, method: Method, path: &str, body: Option<&serde_json::Value>) -> Result<HttpResponse, CrmError> {
        let rest_route = self.crm.is_wordpress() && path.starts_with("/wp-json/");
        let known_plain = rest_route && plain_permalink_sites().lock().unwrap_or_else(|p| p.into_inner()).contains(&self.base);
        let mut response = self.send_to(step, &method, &self.url(path, known_plain), body)?;
        if rest_route && !known_plain && not_the_rest_api(&response) {
            let retry = self.send_to(step, &method, &self.url(path, true), body)?;
            if !not_the_rest_api(&retry) {
                plain_permalink_sites().lock().unwrap_or_else(|p| p.into_inner()).insert(self.base.clone());
                response = retry;
            }
        }
        self.judge(step, response)
    }

    /// The full URL of `path`; as `?rest_route=` when the site has plain permalinks.
    fn url(&self, path: &str, rest_route: bool) -> String {
        match path.strip_prefix("/wp-json") {
            Some(route) if rest_route => {
                let (route, query) = route.split_once('?').unwrap_or((route, ""));
                let query = if query.is_empty() { String::new() } else { format!("&{query}") };
                format!("{}/?rest_route={route}{query}", self.base)
            }
            _ => format!("{}{}", self.base, path),
        }
    }

    fn send_to(&self, step: &str, method: &Method, url: &str, body: Option<&serde_json::Value>) -> Result<HttpResponse, CrmError> {
        let request = HttpRequest {
            method: method.clone(),
            url: url.to_owned(),
            headers: self.auth.iter().cloned().chain([("Accept", "application/json".to_owned())]).collect(),
            json: body.map(|b| b.to_string().into_bytes()),
        };
        self.transport.send(&request).map_err(|e| self.fail(step, transport_failure(e)))
    }

    fn judge(&self, step: &str, response: HttpResponse) -> Result<HttpResponse, CrmError> {
        let html = is_html(&response);
        match response.status {
            200..=299 => Ok(response),
            status @ 300..=399 => {
                let to = match response.location.split('?').next().unwrap_or_default() {
                    "" => String::new(),
                    location => format!(" to {}", crate::text::echo(location)),
                };
                Err(self.fail(step, CrmFailure::BadAnswer(format!("was redirected (HTTP {status}){to}: {}", self.check_url_hint()))))
            }
            403 if self.crm.is_wordpress() && !html => Err(self.fail(step, CrmFailure::NoPermission { crm: self.crm.name() })),
            401 | 403 => Err(self.fail(step, CrmFailure::BadCredentials { status: response.status })),
            404 if response.body.contains("rest_no_route") => Err(self.fail(
                step,
                CrmFailure::BadAnswer(format!(
                    "that site has no {} REST route (rest_no_route): is {} installed and active there?",
                    self.crm.name(),
                    self.crm.name()
                )),
            )),
            // A web page, not the API's JSON: the URL leads somewhere else.
            404 if html => Err(self.fail(step, CrmFailure::BadAnswer(format!("answered 404 with a web page: {}", self.check_url_hint())))),
            404 | 410 => Err(self.fail(step, CrmFailure::NotFound)),
            // FluentCRM answers a missing subscriber with 422 "Subscriber not found".
            422 if self.crm == Crm::FluentCrm && response.body.to_ascii_lowercase().contains("not found") => {
                Err(self.fail(step, CrmFailure::NotFound))
            }
            429 => Err(self.fail(step, CrmFailure::RateLimited)),
            status @ 500..=599 => Err(self.fail(step, CrmFailure::Unavailable { status })),
            status => {
                let message = crate::text::echo(&error_words(&response.body));
                Err(self.fail(step, CrmFailure::Refused { status, message }))
            }
        }
    }

    /// What to check when the API URL leads to the wrong place.
    fn check_url_hint(&self) -> String {
        if self.crm.is_wordpress() {
            format!(
                "check the API URL: the address of the WordPress site that runs {}, with its subfolder if it has one (and no /wp-json)",
                self.crm.name()
            )
        } else {
            format!("check the API URL: {}'s API address for your account", self.crm.name())
        }
    }

    fn decode<T: DeserializeOwned>(&self, step: &str, response: &HttpResponse) -> Result<T, CrmError> {
        let body = response.body.trim_start();
        if body.starts_with('<') {
            let why = if matches!(self.crm, Crm::FluentCrm | Crm::FunnelKit) {
                "answered with an HTML page, not JSON: a firewall or bot challenge, or plain permalinks on that WordPress site (Settings → Permalinks must not be Plain)"
            } else {
                "answered with an HTML page, not JSON: a firewall or proxy is in the way"
            };
            return Err(self.fail(step, CrmFailure::BadAnswer(why.into())));
        }
        serde_json::from_str(body).map_err(|e| {
            let why = if body.starts_with('{') || body.starts_with('[') {
                format!("answered with JSON of an unexpected shape ({})", crate::text::echo(&e.to_string()))
            } else {
                "answered with something that is not JSON".to_owned()
            };
            self.fail(step, CrmFailure::BadAnswer(why))
        })
    }

    /// A failure for this CRM and step, with every credential scrubbed from its words.
    pub fn fail(&self, step: &str, failure: CrmFailure) -> CrmError {
        let secrets = self.config.secrets();
        let scrub = |text: &str| secrets.iter().fold(text.to_owned(), |t, s| t.replace(s.as_str(), "[redacted]"));
        let failure = match failure {
            CrmFailure::BadAnswer(m) => CrmFailure::BadAnswer(scrub(&m)),
            CrmFailure::Refused { status, message } => CrmFailure::Refused { status, message: scrub(&message) },
            CrmFailure::Unreachable(m) => CrmFailure::Unreachable(scrub(&m)),
            other => other,
        };
        CrmError { crm: self.crm, step: scrub(step), failure }
    }
}

fn transport_failure(e: TransportError) -> CrmFailure {
    match e {
        TransportError::Timeout(s) => CrmFailure::Timeout(s),
        TransportError::TooLarge | TransportError::NotHttp => CrmFailure::BadAnswer(e.to_string()),
        other => CrmFailure::Unreachable(other.to_string()),
    }
}

/// The CRM's own error words, from the usual JSON error shapes, or the start of the body.
fn error_words(body: &str) -> String {
    #[derive(serde::Deserialize)]
    struct Shape {
        message: Option<String>,
        error: Option<serde_json::Value>,
        errors: Option<serde_json::Value>,
    }
    match serde_json::from_str::<Shape>(body) {
        Ok(Shape { message: Some(m), .. }) => m,
        Ok(Shape { error: Some(e), .. }) => e.as_str().map(str::to_owned).unwrap_or_else(|| e.to_string()),
        Ok(Shape { errors: Some(e), .. }) => e.to_string(),
        _ => body.to_owned(),
    }
}

/// Sites (by API URL) found to answer only `?rest_route=` (plain permalinks), for the life of
/// the PHP process: the `/wp-json/` attempt is skipped for them.
fn plain_permalink_sites() -> &'static std::sync::Mutex<std::collections::HashSet<String>> {
    static SITES: std::sync::OnceLock<std::sync::Mutex<std::collections::HashSet<String>>> = std::sync::OnceLock::new();
    SITES.get_or_init(Default::default)
}

/// An answer that cannot be the WordPress REST API's: a redirect, or a web page where JSON was
/// expected (WordPress serves its front page or 404 page for `/wp-json/…` with plain permalinks).
fn not_the_rest_api(response: &HttpResponse) -> bool {
    (300..=399).contains(&response.status) || (is_html(response) && matches!(response.status, 200 | 404))
}

fn is_html(response: &HttpResponse) -> bool {
    response.content_type.to_ascii_lowercase().contains("text/html") || response.body.trim_start().starts_with('<')
}

/// `user:password` in base64, for HTTP Basic.
pub(crate) fn basic_token(user: &str, password: &str) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let input = format!("{user}:{password}");
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.as_bytes().chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn api_urls_need_https_except_on_development_hosts() {
        for ok in [
            "https://acct.api-us1.com",
            "HTTPS://crm.example.com/",
            "http://127.0.0.1:8790/activecampaign",
            "http://localhost/wp",
            "http://crm.localhost",
            "http://shop.test",
            "http://10.1.2.3",
            "http://192.168.0.5:8080/x",
            "http://172.20.0.1",
            "http://[::1]:8080/",
            "http://[fd00::1]/",
            "http://user:pw@127.0.0.1/",
        ] {
            assert_eq!(super::check_api_url(ok), Ok(()), "{ok}");
        }
        for bad in [
            "http://crm.example.com",
            "http://8.8.8.8",
            "http://172.32.0.1",
            "http://127.0.0.1.example.com",
            "http://localhost.example.com",
            "http://127.0.0.1@evil.example.com",
            "ftp://127.0.0.1",
            "crm.example.com",
            "http://",
            "htt€://x",
        ] {
            assert!(super::check_api_url(bad).is_err(), "{bad}");
        }
        let why = super::check_api_url("http://crm.example.com/api").unwrap_err();
        assert!(why.contains("https://") && why.contains("crm.example.com"), "{why}");
    }

    use super::*;

    #[test]
    fn basic_tokens_are_base64() {
        assert_eq!(basic_token("Aladdin", "open sesame"), "QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
        assert_eq!(basic_token("a", "b"), "YTpi");
        assert_eq!(basic_token("ab", "c"), "YWI6Yw==");
    }

    #[test]
    fn failures_map_to_codes() {
        assert_eq!(CrmFailure::BadCredentials { status: 403 }.code(), 401);
        assert_eq!(CrmFailure::NotFound.code(), 404);
        assert_eq!(CrmFailure::RateLimited.code(), 429);
        assert_eq!(CrmFailure::BadAnswer("x".into()).code(), 502);
        assert_eq!(CrmFailure::Timeout(10).code(), 504);
    }

    #[test]
    fn debug_hides_credentials() {
        let config = CrmConfig { api_key: "sekrit-key".into(), password: "pass word".into(), ..CrmConfig::default() };
        let shown = format!("{config:?}");
        assert!(!shown.contains("sekrit") && !shown.contains("pass word"), "{shown}");
    }

    #[test]
    fn error_words_read_common_shapes() {
        assert_eq!(error_words(r#"{"message":"Invalid email"}"#), "Invalid email");
        assert_eq!(error_words(r#"{"error":"Bad request"}"#), "Bad request");
        assert_eq!(error_words("plain"), "plain");
    }
}

/// Any JSON value read as text, for API answers whose types vary by CRM and field: strings as
/// they are, numbers as written, booleans as `1`/`0`, null as empty, lists joined with ", ".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Loose(pub String);

impl<'de> serde::Deserialize<'de> for Loose {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        fn text(v: serde_json::Value) -> String {
            match v {
                serde_json::Value::Null => String::new(),
                serde_json::Value::Bool(b) => if b { "1" } else { "0" }.to_owned(),
                serde_json::Value::Number(n) => n.to_string(),
                serde_json::Value::String(s) => s,
                serde_json::Value::Array(items) => items.into_iter().map(text).filter(|s| !s.is_empty()).collect::<Vec<_>>().join(", "),
                object @ serde_json::Value::Object(_) => object.to_string(),
            }
        }
        serde_json::Value::deserialize(d).map(|v| Loose(text(v)))
    }
}

/// A JSON object of field id → value as the WordPress-based CRMs answer it, or `[]` when empty
/// (PHP's encoding of an empty array).
#[derive(Debug, Default)]
pub(crate) struct FieldObject(pub Vec<(String, String)>);

impl<'de> serde::Deserialize<'de> for FieldObject {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match serde_json::Value::deserialize(d)? {
            serde_json::Value::Object(map) => Ok(FieldObject(
                map.into_iter().map(|(k, v)| (k, serde_json::from_value::<Loose>(v).map(|l| l.0).unwrap_or_default())).collect(),
            )),
            _ => Ok(FieldObject::default()),
        }
    }
}

/// Fields to write, as the JSON object `{"id": "value"}` most CRMs take.
pub(crate) fn fields_json(fields: &[(String, String)]) -> serde_json::Value {
    serde_json::Value::Object(fields.iter().map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone()))).collect())
}

/// Checks an id before it goes into a URL path: the CRMs number everything.
pub(crate) fn path_id(what: &str, id: &str) -> Result<String, OptionError> {
    let id = id.trim();
    if !id.is_empty() && id.len() <= crate::text::MAX_CONTACT_ID_BYTES && id.bytes().all(|b| b.is_ascii_digit()) {
        Ok(id.to_owned())
    } else {
        Err(OptionError(format!("{what} must be digits, got \"{}\"", crate::text::echo(id))))
    }
}
