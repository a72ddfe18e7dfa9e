//! The HTTP transport for CRM API calls: one ureq agent per PHP process, so connections are
//! reused across requests; timeouts; a cap on response size; one retry with backoff.
//!
//! It knows nothing about CRMs: it sends a request and says what came back, or how it failed.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::thread::sleep;
use std::time::Duration;

use ureq::http::{self, Method};
use ureq::tls::{parse_pem, Certificate, PemItem, RootCerts, TlsConfig};
use ureq::{Agent, RequestExt};

/// How long to wait for a connection.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Default limit for a whole call (the `crmhook.http_timeout` INI setting overrides it): under
/// ActiveCampaign's 5 s webhook deadline, so a slow CRM fails here, where the site can still say
/// why, rather than at the CRM's end while the site keeps working.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(4);
/// Largest response body read: a contact with thousands of fields fits many times over.
pub const MAX_RESPONSE_BYTES: u64 = 8 * 1024 * 1024;
/// Longest `Retry-After` honoured before the one retry; longer waits would outlast the
/// CRM's own webhook timeout (ActiveCampaign gives up after 5 s).
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(2);
const BACKOFF: Duration = Duration::from_millis(250);

/// A request to send.
#[derive(Debug, Clone)]
pub struct HttpRequest {
    /// GET, POST, PUT, PATCH, DELETE.
    pub method: Method,
    /// The full URL (may carry a credential in its query: never print it).
    pub url: String,
    /// Extra headers (may carry a credential: never print them).
    pub headers: Vec<(&'static str, String)>,
    /// A JSON body.
    pub json: Option<Vec<u8>>,
}

/// What came back.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    /// The HTTP status.
    pub status: u16,
    /// The `Content-Type` header.
    pub content_type: String,
    /// The body, lossily decoded as UTF-8.
    pub body: String,
    /// `Retry-After` in seconds, bounded by [`MAX_RETRY_AFTER`], when the server sent one.
    pub retry_after: Option<Duration>,
    /// The `Location` header of a redirect (never followed: it would resend the credentials).
    pub location: String,
}

/// How a call failed before an HTTP status came back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    /// No answer in time.
    #[error("no answer within {0} s")]
    Timeout(u64),
    /// The host name does not resolve.
    #[error("the host name does not resolve")]
    HostNotFound,
    /// No connection could be made.
    #[error("could not connect ({0})")]
    Connection(String),
    /// The connection broke before a whole answer came back: worth one retry.
    #[error("the connection was dropped before an answer ({0})")]
    Dropped(String),
    /// What came back is not HTTP.
    #[error("the answer is not HTTP")]
    NotHttp,
    /// The answer was larger than [`MAX_RESPONSE_BYTES`].
    #[error("the answer is larger than {} MiB", MAX_RESPONSE_BYTES / 1024 / 1024)]
    TooLarge,
    /// TLS failed (handshake, or the trust store could not be loaded).
    #[error("TLS failed ({0})")]
    Tls(String),
    /// The server's certificate was refused: this names why, for the site owner.
    #[error("the TLS certificate was refused: {0}")]
    Certificate(&'static str),
    /// The URL cannot be used.
    #[error("the API URL is not usable")]
    BadUrl,
}

/// Sends requests; cheap to create, the connection pool is shared per process.
#[derive(Debug, Clone)]
pub struct Transport {
    timeout: Duration,
    keep_alive: bool,
    ca_file: Option<String>,
}

impl Transport {
    /// A transport whose calls give up after `timeout`. With `keep_alive` off every call opens
    /// a new connection (for hosts whose firewalls break long-lived connections). Certificates
    /// are checked against Mozilla's roots, built in, or, when `ca_file` names a PEM bundle
    /// (`crmhook.ca_file`), against the certificates in it instead, as curl's `cainfo` does.
    pub fn new(timeout: Duration, keep_alive: bool, ca_file: Option<&str>) -> Transport {
        Transport { timeout, keep_alive, ca_file: ca_file.map(str::to_owned) }
    }

    /// Sends the request; on 429, 503 or a dropped connection, waits (`Retry-After`, bounded,
    /// or a short backoff) and tries once more.
    pub fn send(&self, request: &HttpRequest) -> Result<HttpResponse, TransportError> {
        match self.send_once(request) {
            Ok(response) if response.status == 429 || response.status == 503 => {
                sleep(response.retry_after.unwrap_or(BACKOFF));
                self.send_once(request)
            }
            Err(TransportError::Dropped(_)) => {
                sleep(BACKOFF);
                self.send_once(request)
            }
            other => other,
        }
    }

    fn send_once(&self, request: &HttpRequest) -> Result<HttpResponse, TransportError> {
        let mut builder = http::Request::builder().method(request.method.clone()).uri(&request.url);
        for (name, value) in &request.headers {
            builder = builder.header(*name, value);
        }
        let agent = if self.keep_alive { shared_agent(self.ca_file.as_deref())? } else { new_agent(0, self.ca_file.as_deref())? };
        let agent = &agent;
        let result = match &request.json {
            Some(body) => {
                let req = builder.header("Content-Type", "application/json").body(body.clone()).map_err(|_| TransportError::BadUrl)?;
                req.with_agent(agent).configure().timeout_global(Some(self.timeout)).run()
            }
            None => {
                let req = builder.body(()).map_err(|_| TransportError::BadUrl)?;
                req.with_agent(agent).configure().timeout_global(Some(self.timeout)).run()
            }
        };
        let mut response = result.map_err(|e| self.classify(e))?;
        let status = response.status().as_u16();
        let header = |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
        let content_type = header("content-type");
        let location = header("location");
        let retry_after = header("retry-after").trim().parse::<u64>().ok().map(|s| Duration::from_secs(s).min(MAX_RETRY_AFTER));
        let bytes = response.body_mut().with_config().limit(MAX_RESPONSE_BYTES).read_to_vec().map_err(|e| self.classify(e))?;
        let body = String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
        Ok(HttpResponse { status, content_type, body, retry_after, location })
    }

    fn classify(&self, e: ureq::Error) -> TransportError {
        match e {
            ureq::Error::Timeout(_) => TransportError::Timeout(self.timeout.as_secs().max(1)),
            ureq::Error::HostNotFound => TransportError::HostNotFound,
            ureq::Error::BodyExceedsLimit(_) => TransportError::TooLarge,
            ureq::Error::Tls(why) => TransportError::Tls(why.to_owned()),
            ureq::Error::Rustls(e) => {
                certificate_problem(&e).map_or_else(|| TransportError::Tls(e.to_string()), TransportError::Certificate)
            }
            ureq::Error::BadUri(_) | ureq::Error::Http(_) => TransportError::BadUrl,
            ureq::Error::Io(io) => {
                use std::io::ErrorKind::*;
                // rustls reports a refused certificate through the socket's io::Error.
                if let Some(why) = io.get_ref().and_then(|e| e.downcast_ref::<rustls::Error>()).and_then(certificate_problem) {
                    return TransportError::Certificate(why);
                }
                match io.kind() {
                    TimedOut | WouldBlock => TransportError::Timeout(self.timeout.as_secs().max(1)),
                    ConnectionReset | ConnectionAborted | BrokenPipe | UnexpectedEof => TransportError::Dropped(io.kind().to_string()),
                    kind => TransportError::Connection(kind.to_string()),
                }
            }
            ureq::Error::Protocol(_) => TransportError::NotHttp,
            ureq::Error::ConnectionFailed => TransportError::Connection("connection failed".into()),
            other => TransportError::Connection(other.to_string()),
        }
    }
}

/// Why a certificate was refused, in the site owner's words; `None` for other TLS failures.
fn certificate_problem(e: &rustls::Error) -> Option<&'static str> {
    use rustls::CertificateError as C;
    let rustls::Error::InvalidCertificate(cert) = e else { return None };
    Some(match cert {
        C::Expired | C::ExpiredContext { .. } => "it has expired",
        C::NotValidYet | C::NotValidYetContext { .. } => "it is not valid yet (or this server's clock is wrong)",
        C::NotValidForName | C::NotValidForNameContext { .. } => "it is not valid for this host name: check the API URL",
        C::UnknownIssuer => {
            "it is issued by an authority this site does not trust (a private or self-signed CA? set crmhook.ca_file to a PEM bundle that holds it)"
        }
        C::Revoked => "it has been revoked",
        C::BadSignature | C::BadEncoding => "it is malformed or its signature is bad",
        _ => "it failed verification",
    })
}

/// One agent (and so one connection pool) per trust store for the life of the PHP process.
fn shared_agent(ca_file: Option<&str>) -> Result<Agent, TransportError> {
    static AGENTS: OnceLock<Mutex<HashMap<Option<String>, Agent>>> = OnceLock::new();
    let agents = AGENTS.get_or_init(Default::default);
    if let Some(agent) = agents.lock().unwrap_or_else(|p| p.into_inner()).get(&ca_file.map(str::to_owned)) {
        return Ok(agent.clone());
    }
    let agent = new_agent(4, ca_file)?;
    agents.lock().unwrap_or_else(|p| p.into_inner()).insert(ca_file.map(str::to_owned), agent.clone());
    Ok(agent)
}

fn new_agent(idle_per_host: usize, ca_file: Option<&str>) -> Result<Agent, TransportError> {
    let roots = match ca_file {
        None => RootCerts::WebPki,
        Some(path) => RootCerts::new_with_certs(&read_ca_file(path)?),
    };
    Ok(Agent::config_builder()
        .http_status_as_error(false)
        .timeout_connect(Some(CONNECT_TIMEOUT))
        .max_redirects(0)
        .max_idle_connections_per_host(idle_per_host.max(1))
        .user_agent(concat!("crmhook/", env!("CARGO_PKG_VERSION")))
        .tls_config(TlsConfig::builder().root_certs(roots).build())
        .build()
        .new_agent())
}

/// The certificates of a PEM bundle (`crmhook.ca_file`).
fn read_ca_file(path: &str) -> Result<Vec<Certificate<'static>>, TransportError> {
    let pem =
        std::fs::read(path).map_err(|e| TransportError::Tls(format!("cannot read crmhook.ca_file {}: {e}", crate::text::echo(path))))?;
    let certs: Vec<Certificate<'static>> = parse_pem(&pem)
        .filter_map(|item| match item {
            Ok(PemItem::Certificate(cert)) => Some(cert),
            _ => None,
        })
        .collect();
    if certs.is_empty() {
        return Err(TransportError::Tls(format!("crmhook.ca_file {} holds no PEM certificate", crate::text::echo(path))));
    }
    Ok(certs)
}
