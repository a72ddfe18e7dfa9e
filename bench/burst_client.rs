//! The burst benchmark's load generator (bench/burst.php runs it): sends a list of requests with a
//! fixed number in flight, each on a connection of its own as a CRM's webhooks arrive, and meanwhile
//! requests the site's home page one at a time, the way a visitor would.
//!
//! Why not PHP's curl_multi, which bench/burst.php used first: with 200 requests in flight its loop
//! walks every handle on every socket event, and it took a sixth of the two cores the site was
//! being measured on. The CRMs' servers are not on the site's machine, so the generator should cost
//! as little of it as it can: one thread per request in flight, blocking I/O, ureq (already the
//! extension's HTTP client).
//!
//!   burst-client SITE_URL CONCURRENCY REQUESTS_FILE [HOOK_INDEX HOOK_URL HOOK_BODY_FILE]
//!
//! REQUESTS_FILE: one request per line, `URL` or `URL<TAB>FORM_BODY` (a POST). The hook: before
//! request HOOK_INDEX starts, HOOK_BODY_FILE is POSTed as JSON to HOOK_URL (the CRM changing its
//! contacts halfway through a burst). Prints one JSON object: `statuses` (status => count, 0 for a
//! transport failure), `times` (seconds per request, in the order they finished), `home` (seconds
//! per home page request) and `seconds` (the whole burst).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use std::{env, fs, process, thread};

use ureq::Agent;

struct Request {
    url: String,
    form_body: Option<String>,
}

struct Hook {
    index: usize,
    url: String,
    json_body: String,
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
        url: args[5].clone(),
        json_body: read(&args[6]),
    });

    let agent = agent();
    let requests = Arc::new(requests);
    let hook = Arc::new(hook);
    let next = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let results = Arc::new(Mutex::new(Results::default()));
    let start = Instant::now();

    let home = {
        let (agent, done, url) = (agent.clone(), done.clone(), format!("{site}/"));
        thread::spawn(move || {
            let mut times = Vec::new();
            while !done.load(Ordering::Relaxed) {
                let began = Instant::now();
                if let Ok(mut response) = agent.get(&url).call() {
                    let _ = response.body_mut().read_to_vec();
                }
                times.push(began.elapsed().as_secs_f64());
            }
            times
        })
    };

    let senders: Vec<_> = (0..concurrency.max(1))
        .map(|_| {
            let (agent, requests, hook, next, results) = (agent.clone(), requests.clone(), hook.clone(), next.clone(), results.clone());
            thread::spawn(move || loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                let Some(request) = requests.get(index) else { break };
                if let Some(hook) = hook.as_ref().as_ref().filter(|hook| hook.index == index) {
                    let _ = agent.post(&hook.url).header("Content-Type", "application/json").send(hook.json_body.as_str());
                }
                let began = Instant::now();
                let status = send(&agent, request);
                let elapsed = began.elapsed().as_secs_f64();
                let mut results = results.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                *results.statuses.entry(status).or_default() += 1;
                results.times.push(elapsed);
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
    let report = serde_json::json!({"statuses": statuses, "times": results.times, "home": home, "seconds": seconds});
    println!("{report}");
}

/// A client that opens a new connection for every request (no keep-alive: each CRM webhook comes
/// on a connection of its own), reads every status as an answer, and gives up after two minutes.
fn agent() -> Agent {
    Agent::config_builder()
        .http_status_as_error(false)
        .max_idle_connections(0)
        .timeout_global(Some(Duration::from_secs(120)))
        .timeout_connect(Some(Duration::from_secs(30)))
        .build()
        .new_agent()
}

/// Sends one request and reads its answer; the HTTP status, or 0 when there was none.
fn send(agent: &Agent, request: &Request) -> u16 {
    let answer = match &request.form_body {
        Some(body) => agent.post(&request.url).header("Content-Type", "application/x-www-form-urlencoded").send(body.as_str()),
        None => agent.get(&request.url).call(),
    };
    match answer {
        Ok(mut response) => {
            let _ = response.body_mut().read_to_vec();
            response.status().as_u16()
        }
        Err(_) => 0,
    }
}

fn parse_request(line: &str) -> Request {
    match line.split_once('\t') {
        Some((url, body)) => Request { url: url.to_string(), form_body: Some(body.to_string()) },
        None => Request { url: line.to_string(), form_body: None },
    }
}

fn read(path: &str) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| fail(&format!("cannot read {path}: {e}")))
}

fn fail(message: &str) -> ! {
    eprintln!("burst-client: {message}");
    process::exit(2);
}
