//! The HTTP transport for CRM API calls: one ureq agent per PHP process, so connections are
//! reused across requests; timeouts; a cap on response size; one retry with backoff.
//!
//! It knows nothing about CRMs: it sends a request and says what came back, or how it failed.

use std::sync::OnceLock;
use std::thread::sleep;
use std::time::Duration;

use ureq::http::{self, Method};
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
    /// TLS failed (certificate, handshake).
    #[error("TLS failed ({0})")]
    Tls(String),
    /// The URL cannot be used.
    #[error("the API URL is not usable")]
    BadUrl,
}

/// Sends requests; cheap to create, the connection pool is shared per process.
#[derive(Debug, Clone)]
pub struct Transport {
    timeout: Duration,
    keep_alive: bool,
}

impl Transport {
    /// A transport whose calls give up after `timeout`. With `keep_alive` off every call opens
    /// a new connection (for hosts whose firewalls break long-lived connections).
    pub fn new(timeout: Duration, keep_alive: bool) -> Transport {
        Transport { timeout, keep_alive }
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
        let fresh_agent;
        let agent = if self.keep_alive {
            shared_agent()
        } else {
            fresh_agent = new_agent(0);
            &fresh_agent
        };
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
        let retry_after = header("retry-after").trim().parse::<u64>().ok().map(|s| Duration::from_secs(s).min(MAX_RETRY_AFTER));
        let bytes = response
            .body_mut()
            .with_config()
            .limit(MAX_RESPONSE_BYTES)
            .read_to_vec()
            .map_err(|e| self.classify(e))?;
        let body = String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
        Ok(HttpResponse { status, content_type, body, retry_after })
    }

    fn classify(&self, e: ureq::Error) -> TransportError {
        match e {
            ureq::Error::Timeout(_) => TransportError::Timeout(self.timeout.as_secs().max(1)),
            ureq::Error::HostNotFound => TransportError::HostNotFound,
            ureq::Error::BodyExceedsLimit(_) => TransportError::TooLarge,
            ureq::Error::Tls(why) => TransportError::Tls(why.to_owned()),
            ureq::Error::BadUri(_) | ureq::Error::Http(_) => TransportError::BadUrl,
            ureq::Error::Io(io) => {
                use std::io::ErrorKind::*;
                match io.kind() {
                    TimedOut | WouldBlock => TransportError::Timeout(self.timeout.as_secs().max(1)),
                    ConnectionReset | ConnectionAborted | BrokenPipe | UnexpectedEof => {
                        TransportError::Dropped(io.kind().to_string())
                    }
                    kind => TransportError::Connection(kind.to_string()),
                }
            }
            ureq::Error::Protocol(_) => TransportError::NotHttp,
            ureq::Error::ConnectionFailed => TransportError::Connection("connection failed".into()),
            other => TransportError::Connection(other.to_string()),
        }
    }
}

fn shared_agent() -> &'static Agent {
    static AGENT: OnceLock<Agent> = OnceLock::new();
    AGENT.get_or_init(|| new_agent(4))
}

fn new_agent(idle_per_host: usize) -> Agent {
    Agent::config_builder()
        .http_status_as_error(false)
        .timeout_connect(Some(CONNECT_TIMEOUT))
        .max_redirects(0)
        .max_idle_connections_per_host(idle_per_host.max(1))
        .user_agent(concat!("crmhook/", env!("CARGO_PKG_VERSION")))
        .build()
        .new_agent()
}
