//! The CRM transport against a scripted HTTP server on 127.0.0.1: retries, timeouts, bad
//! answers, connection reuse, and credentials kept out of every message.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use crmhook::crm::api::CrmConfig;
use crmhook::crm::{fetch_contact, CallError, CallSettings, Crm};

/// What the server does with one request.
#[derive(Clone)]
enum Reply {
    Status(u16, &'static str, String),
    Sleep(Duration),
    Drop,
}

struct Server {
    url: String,
    requests: Arc<AtomicUsize>,
    connections: Arc<AtomicUsize>,
}

/// Serves `replies` in order (the last one repeats), keeping connections alive.
fn serve(replies: Vec<Reply>) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let requests = Arc::new(AtomicUsize::new(0));
    let connections = Arc::new(AtomicUsize::new(0));
    let replies = Arc::new(Mutex::new(replies));
    let (r, c) = (requests.clone(), connections.clone());
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            c.fetch_add(1, Ordering::SeqCst);
            let (r, replies) = (r.clone(), replies.clone());
            thread::spawn(move || handle(stream, &r, &replies));
        }
    });
    Server { url, requests, connections }
}

fn handle(stream: TcpStream, count: &AtomicUsize, replies: &Mutex<Vec<Reply>>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut stream = stream;
    loop {
        let mut length = 0usize;
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).unwrap_or(0) == 0 {
                return;
            }
            if header == "\r\n" {
                break;
            }
            if let Some(v) = header.to_ascii_lowercase().strip_prefix("content-length:") {
                length = v.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        let n = count.fetch_add(1, Ordering::SeqCst);
        let reply = {
            let replies = replies.lock().unwrap();
            replies.get(n).or(replies.last()).cloned().unwrap()
        };
        match reply {
            Reply::Drop => return,
            Reply::Sleep(d) => {
                thread::sleep(d);
                return;
            }
            Reply::Status(status, extra_headers, body) => {
                let head = format!(
                    "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{extra_headers}\r\n",
                    body.len()
                );
                if stream.write_all(head.as_bytes()).and_then(|_| stream.write_all(body.as_bytes())).is_err() {
                    return;
                }
            }
        }
    }
}

const KEY: &str = "ac-secret-key-0123";

fn config(url: &str) -> CrmConfig {
    CrmConfig { crm: Some(Crm::ActiveCampaign), api_url: url.to_owned(), api_key: KEY.into(), ..CrmConfig::default() }
}

fn ok_contact() -> Reply {
    Reply::Status(
        200,
        "",
        r#"{"contact":{"id":"7","email":"ann@example.com","firstName":"Ann","lastName":"Lee","phone":""},"fieldValues":[{"field":"3","value":"||Red||Blue||"}],"contactTags":[]}"#.into(),
    )
}

fn settings() -> CallSettings {
    CallSettings { timeout: Duration::from_secs(2), ..CallSettings::default() }
}

fn crm_code(result: Result<crmhook::contact::Contact, CallError>) -> (u16, String) {
    match result {
        Err(CallError::Crm(e)) => (e.code(), e.to_string()),
        other => panic!("expected a CRM failure, got {other:?}"),
    }
}

#[test]
fn fetch_contact_reads_activecampaign_and_joins_multi_selects() {
    let server = serve(vec![ok_contact()]);
    let contact = fetch_contact(&config(&server.url), settings(), "7").unwrap();
    assert_eq!(contact.email, "ann@example.com");
    assert_eq!(contact.fields, vec![("3".to_owned(), "Red, Blue".to_owned())]);
}

#[test]
fn retries_once_after_503_with_retry_after() {
    let server = serve(vec![Reply::Status(503, "Retry-After: 1\r\n", "{}".into()), ok_contact()]);
    let contact = fetch_contact(&config(&server.url), settings(), "7").unwrap();
    assert_eq!(contact.id, "7");
    assert_eq!(server.requests.load(Ordering::SeqCst), 2);
}

#[test]
fn rate_limit_after_the_retry_is_429() {
    let server = serve(vec![Reply::Status(429, "", r#"{"message":"slow down"}"#.into())]);
    let (code, message) = crm_code(fetch_contact(&config(&server.url), settings(), "7"));
    assert_eq!(code, 429);
    assert!(message.starts_with("ActiveCampaign: loading contact 7 failed"), "{message}");
    assert_eq!(server.requests.load(Ordering::SeqCst), 2);
}

#[test]
fn no_answer_in_time_is_504() {
    let server = serve(vec![Reply::Sleep(Duration::from_secs(4))]);
    let quick = CallSettings { timeout: Duration::from_secs(1), ..CallSettings::default() };
    let (code, message) = crm_code(fetch_contact(&config(&server.url), quick, "7"));
    assert_eq!(code, 504, "{message}");
}

#[test]
fn an_html_page_is_502_and_says_so() {
    let server = serve(vec![Reply::Status(200, "", "<html><body>Checking your browser…</body></html>".into())]);
    let (code, message) = crm_code(fetch_contact(&config(&server.url), settings(), "7"));
    assert_eq!(code, 502);
    assert!(message.contains("HTML page"), "{message}");
}

#[test]
fn garbage_is_502() {
    let server = serve(vec![Reply::Status(200, "", "%%%garbage".into())]);
    let (code, message) = crm_code(fetch_contact(&config(&server.url), settings(), "7"));
    assert_eq!(code, 502);
    assert!(message.contains("not JSON"), "{message}");
}

#[test]
fn a_dropped_connection_is_retried_once_then_502() {
    let server = serve(vec![Reply::Drop]);
    let (code, message) = crm_code(fetch_contact(&config(&server.url), settings(), "7"));
    assert_eq!(code, 502, "{message}");
    assert_eq!(server.requests.load(Ordering::SeqCst), 2);
}

#[test]
fn a_dropped_connection_then_an_answer_succeeds() {
    let server = serve(vec![Reply::Drop, ok_contact()]);
    assert!(fetch_contact(&config(&server.url), settings(), "7").is_ok());
}

#[test]
fn refused_credentials_are_401() {
    let server = serve(vec![Reply::Status(403, "", r#"{"message":"No Result found"}"#.into())]);
    let (code, _) = crm_code(fetch_contact(&config(&server.url), settings(), "7"));
    assert_eq!(code, 401);
}

#[test]
fn not_found_and_deleted_contacts_are_404() {
    let server = serve(vec![Reply::Status(404, "", r#"{"message":"No Result found for Subscriber with id 9"}"#.into())]);
    assert_eq!(crm_code(fetch_contact(&config(&server.url), settings(), "9")).0, 404);
    let deleted = Reply::Status(200, "", r#"{"contact":{"id":"8","email":"deleted+8@example.com"}}"#.into());
    let server = serve(vec![deleted]);
    assert_eq!(crm_code(fetch_contact(&config(&server.url), settings(), "8")).0, 404);
}

#[test]
fn credentials_never_appear_in_messages() {
    let echo = Reply::Status(400, "", format!(r#"{{"message":"bad token {KEY} given"}}"#));
    let server = serve(vec![echo]);
    let (code, message) = crm_code(fetch_contact(&config(&server.url), settings(), "7"));
    assert_eq!(code, 502);
    assert!(!message.contains(KEY), "{message}");
    assert!(message.contains("[redacted]"), "{message}");
}

#[test]
fn connections_are_reused_with_keep_alive_and_not_without() {
    let server = serve(vec![ok_contact()]);
    for _ in 0..5 {
        fetch_contact(&config(&server.url), settings(), "7").unwrap();
    }
    assert_eq!(server.connections.load(Ordering::SeqCst), 1);

    let server = serve(vec![ok_contact()]);
    let fresh = CallSettings { keep_alive: false, ..settings() };
    for _ in 0..5 {
        fetch_contact(&config(&server.url), fresh.clone(), "7").unwrap();
    }
    assert_eq!(server.connections.load(Ordering::SeqCst), 5);
}

#[test]
fn ids_that_are_not_digits_never_reach_a_url() {
    let server = serve(vec![ok_contact()]);
    let result = fetch_contact(&config(&server.url), settings(), "7/../../admin");
    assert!(matches!(result, Err(CallError::Options(_))), "{result:?}");
    assert_eq!(server.requests.load(Ordering::SeqCst), 0);
}

fn contact_with_tag() -> Reply {
    Reply::Status(
        200,
        "",
        r#"{"contact":{"id":"7","email":"ann@example.com","firstName":"Ann","lastName":"Lee","phone":""},"fieldValues":[],"contactTags":[{"tag":"5"}]}"#.into(),
    )
}

fn tag_list(name: &str) -> Reply {
    Reply::Status(200, "", format!(r#"{{"tags":[{{"id":"5","tag":"{name}"}}],"meta":{{"total":"1"}}}}"#))
}

#[test]
fn activecampaign_tag_names_are_cached_only_for_the_ttl() {
    // contact, tag list ("Gold"), contact (cached: no list), contact, tag list again ("Platinum").
    let server = serve(vec![contact_with_tag(), tag_list("Gold"), contact_with_tag(), contact_with_tag(), tag_list("Platinum")]);
    let config = config(&server.url);
    let long = CallSettings { tag_cache_ttl: Duration::from_secs(600), ..settings() };
    assert_eq!(fetch_contact(&config, long.clone(), "7").unwrap().tags, vec!["Gold"]);
    assert_eq!(fetch_contact(&config, long.clone(), "7").unwrap().tags, vec!["Gold"]);
    assert_eq!(server.requests.load(Ordering::SeqCst), 3, "the second fetch used the cached names");

    // The tag was renamed in ActiveCampaign: once the cache is older than the TTL, the new name comes.
    let expired = CallSettings { tag_cache_ttl: Duration::ZERO, ..settings() };
    assert_eq!(fetch_contact(&config, expired.clone(), "7").unwrap().tags, vec!["Platinum"]);
    assert_eq!(server.requests.load(Ordering::SeqCst), 5);
}

#[test]
fn listing_the_tags_refreshes_the_cached_names() {
    let server = serve(vec![contact_with_tag(), tag_list("Gold"), tag_list("Renamed"), contact_with_tag()]);
    let config = config(&server.url);
    let long = CallSettings { tag_cache_ttl: Duration::from_secs(600), ..settings() };
    assert_eq!(fetch_contact(&config, long.clone(), "7").unwrap().tags, vec!["Gold"]);
    // Test connection lists the tags: the fresh list replaces the cache at once.
    assert_eq!(crmhook::crm::list_tags(&config, long.clone()).unwrap(), vec![("5".to_owned(), "Renamed".to_owned())]);
    assert_eq!(fetch_contact(&config, long.clone(), "7").unwrap().tags, vec!["Renamed"]);
    assert_eq!(server.requests.load(Ordering::SeqCst), 4);
}
