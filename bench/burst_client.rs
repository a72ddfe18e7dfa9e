//! The burst benchmark's load generator (bench/burst.php runs it): sends a list of requests with a
//! fixed number in flight, each on a connection of its own as a CRM's webhooks arrive, and meanwhile
//! requests the site's home page one at a time, the way a visitor would.
//!
//! The CRMs' servers are not on the site's machine, so the generator should cost as little of it as
//! it can. PHP's curl_multi, used first, took a sixth of the two cores the site was measured on (its
//! loop walks every handle on every socket event); ureq, next, still spent ~0.13 ms of user CPU per
//! request (bench/README.md). So: one thread per request in flight, blocking I/O, and HTTP/1.1
//! written by hand — every request's bytes built before the clock starts, `Connection: close`, the
//! answer read to its end and only its status line parsed. Plain `http://` only (the harness).
//!
//! Nor should the site slow the generator's own clock. Run in a session of its own (bench/burst.php
//! starts it under `setsid`), it raises its scheduling group's priority (`/proc/self/autogroup`,
//! nice -10; root only): in its default group, sharing two cores with nginx, php-fpm and MariaDB
//! at full load, its threads waited for a CPU after their answers had arrived, so whole runs of
//! answers were timed hundreds of milliseconds late, and fewer than CONCURRENCY requests were really
//! in flight (bench/README.md, "Fifth round"). A CRM's server does not share the site's CPU.
//!
//!   burst-client SITE_URL CONCURRENCY REQUESTS_FILE [HOOK_INDEX HOOK_URL HOOK_BODY_FILE]
//!
//! REQUESTS_FILE: one request per line, `URL` or `URL<TAB>FORM_BODY` (a POST). The hook: before
//! request HOOK_INDEX starts, HOOK_BODY_FILE is POSTed as JSON to HOOK_URL (the CRM changing its
//! contacts halfway through a burst). Prints one JSON object: `statuses` (status => count, 0 for a
//! transport failure), `times` (seconds per request, in the order they finished), `home` (seconds
//! per home page request), `seconds` (the whole burst) and `raised` (whether it got its priority).

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use std::{env, fs, process, thread};

/// Longest wait for a connection, and for an answer.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
const ANSWER_TIMEOUT: Duration = Duration::from_secs(120);

/// One request, ready to send: where, and its bytes on the wire.
struct Request {
    to: SocketAddr,
    bytes: Vec<u8>,
}

struct Hook {
    index: usize,
    request: Request,
}

#[derive(Default)]
struct Results {
    statuses: BTreeMap<u16, u64>,
    times: Vec<f64>,
}

fn main() {
    let args: Vec<String> = env::args().collect();
    if args.len() != 4 && args.len() != 7 {
        eprintln!("usage: burst-client SITE_URL CONCURRENCY REQUESTS_FILE [HOOK_INDEX HOOK_URL HOOK_BODY_FILE]");
        process::exit(2);
    }
    let site = args[1].trim_end_matches('/').to_string();
    let concurrency: usize = args[2].parse().unwrap_or_else(|_| fail("CONCURRENCY must be a number"));
    let requests: Vec<Request> = read(&args[3]).lines().filter(|line| !line.is_empty()).map(parse_request).collect();
    let hook = (args.len() == 7).then(|| Hook {
        index: args[4].parse().unwrap_or_else(|_| fail("HOOK_INDEX must be a number")),
        request: request("POST", &args[5], Some(("application/json", &read(&args[6])))),
    });
    let home_page = request("GET", &format!("{site}/"), None);
    let raised = raise_own_priority();

    let requests = Arc::new(requests);
    let hook = Arc::new(hook);
    let next = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let results = Arc::new(Mutex::new(Results::default()));
    let start = Instant::now();

    let home = {
        let done = done.clone();
        thread::spawn(move || {
            let mut times = Vec::new();
            let mut buffer = Vec::new();
            while !done.load(Ordering::Relaxed) {
                let began = Instant::now();
                send(&home_page, &mut buffer);
                times.push(began.elapsed().as_secs_f64());
            }
            times
        })
    };

    let senders: Vec<_> = (0..concurrency.max(1))
        .map(|_| {
            let (requests, hook, next, results) = (requests.clone(), hook.clone(), next.clone(), results.clone());
            thread::spawn(move || {
                let mut buffer = Vec::new();
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some(request) = requests.get(index) else { break };
                    if let Some(hook) = hook.as_ref().as_ref().filter(|hook| hook.index == index) {
                        send(&hook.request, &mut buffer);
                    }
                    let began = Instant::now();
                    let status = send(request, &mut buffer);
                    let elapsed = began.elapsed().as_secs_f64();
                    let mut results = results.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                    *results.statuses.entry(status).or_default() += 1;
                    results.times.push(elapsed);
                }
            })
        })
        .collect();
    for sender in senders {
        let _ = sender.join();
    }
    let seconds = start.elapsed().as_secs_f64();
    done.store(true, Ordering::Relaxed);
    let home = home.join().unwrap_or_default();

    let results = results.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let statuses: BTreeMap<String, u64> = results.statuses.iter().map(|(status, n)| (status.to_string(), *n)).collect();
    let report = serde_json::json!({"statuses": statuses, "times": results.times, "home": home, "seconds": seconds, "raised": raised});
    println!("{report}");
}

/// Raises the priority of this process's scheduling group (the kernel's autogroup: one per session)
/// to nice -10, when this process leads a session of its own — otherwise the group is its caller's
/// too, which must keep its priority. Needs root; false when it did not happen.
fn raise_own_priority() -> bool {
    let Ok(stat) = fs::read_to_string("/proc/self/stat") else { return false };
    // `pid (comm) state ppid pgrp session …`: the fields after the command's closing parenthesis.
    let session = stat.rsplit_once(')').and_then(|(_, rest)| rest.split_whitespace().nth(3)).and_then(|s| s.parse::<u32>().ok());
    session == Some(process::id()) && fs::write("/proc/self/autogroup", "-10").is_ok()
}

/// Sends one request on a new connection and reads the answer to its end (the server closes
/// the connection after it): the HTTP status, or 0 when there was none.
fn send(request: &Request, buffer: &mut Vec<u8>) -> u16 {
    buffer.clear();
    let answered = TcpStream::connect_timeout(&request.to, CONNECT_TIMEOUT).and_then(|mut stream| {
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(ANSWER_TIMEOUT))?;
        stream.write_all(&request.bytes)?;
        stream.read_to_end(buffer)
    });
    match answered {
        Ok(_) => status_of(buffer),
        Err(_) => 0,
    }
}

/// The status of an answer that starts `HTTP/1.x NNN`, or 0.
fn status_of(answer: &[u8]) -> u16 {
    let code = answer.strip_prefix(b"HTTP/1.").and_then(|rest| rest.get(2..5));
    code.and_then(|digits| std::str::from_utf8(digits).ok()).and_then(|digits| digits.parse().ok()).unwrap_or(0)
}

fn parse_request(line: &str) -> Request {
    match line.split_once('\t') {
        Some((url, body)) => request("POST", url, Some(("application/x-www-form-urlencoded", body))),
        None => request("GET", line, None),
    }
}

/// The request's bytes: `METHOD /path?query HTTP/1.1`, `Host`, `Connection: close`, and a body
/// with its type and length when there is one.
fn request(method: &str, url: &str, body: Option<(&str, &str)>) -> Request {
    let rest = url.strip_prefix("http://").unwrap_or_else(|| fail(&format!("only http:// URLs: {url}")));
    let (host, path) = match rest.find('/') {
        Some(slash) => (&rest[..slash], &rest[slash..]),
        None => (rest, "/"),
    };
    let to = if host.contains(':') { host.to_string() } else { format!("{host}:80") }
        .to_socket_addrs()
        .ok()
        .and_then(|mut addresses| addresses.next())
        .unwrap_or_else(|| fail(&format!("cannot resolve {host}")));
    let mut text = format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: crmhook-burst\r\nConnection: close\r\n");
    if let Some((content_type, body)) = body {
        text.push_str(&format!("Content-Type: {content_type}\r\nContent-Length: {}\r\n\r\n{body}", body.len()));
    } else {
        text.push_str("\r\n");
    }
    Request { to, bytes: text.into_bytes() }
}

fn read(path: &str) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| fail(&format!("cannot read {path}: {e}")))
}

fn fail(message: &str) -> ! {
    eprintln!("burst-client: {message}");
    process::exit(2);
}
