//! Profiling harness for the CRS engine alone (engine development aid): the anchor
//! scenarios of `crates/palisade/benches/inspect.rs` (GET with a query, 2 KB form, 20 KB
//! JSON) through [`CrsDetector`] at paranoia 1, many times, so that `perf record` sees the
//! per-request work rather than the rule loading.
//!
//! `cargo run --release -p palisade-seclang --example crs_bench -- CRS_DIR [get|form|json] [ITERS]`
//!
//! With `RESPONSE=1` each request is followed by its response phases on the anchor
//! upstream's answer (`200`, `text/plain`, `ok`), as the proxy runs them. With
//! `FORM_BODY=path` the form scenario sends that file as its urlencoded body. With
//! `EVICT=MB` each request is preceded (untimed) by writes over MB megabytes of other
//! memory, as the proxy's own work, the kernel's and the load generator's evict the
//! caches between two inspections (in the proxy, CRS takes about twice its time here,
//! judging by req/s with and without it, for about the same instructions).
//!
//! With `GET_TARGET=/path?query` the GET scenario requests that target instead.
//!
//! With `BEFORE=path` that SecLang file is loaded before the CRS rules, as a deployment's
//! exclusion rules are (`config/crs/modern-apps.conf`: what they cost every request).
//!
//! With `OTHER_THREAD=1` the measured inspections run on a thread of their own, after the
//! main thread's first one: as on the proxy's second worker, which is not the first
//! thread to use any per-thread state (`regex-automata`'s pools locked a mutex for every
//! thread but their first, invisible here without it).
//!
//! Instructions per request (deterministic, unlike time on a shared machine):
//! `valgrind --tool=callgrind --toggle-collect=crs_bench::timed target/release/examples/crs_bench CRS_DIR get 20`,
//! total divided by ITERS.
use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

use palisade_engine::{Detector, ResponseModel};
use palisade_http::bench_scenarios::request as build;
use palisade_http::RequestModel;
use palisade_seclang::{CrsDetector, CrsLoad};

/// The binary's allocator (jemalloc), so that counts here match what the proxy runs.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// CPU time of this thread (ns), from `/proc/thread-self/schedstat`: unlike wall time it
/// does not count time the (shared) machine spent running other processes.
fn thread_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// One inspection, in µs. A function of its own so that callgrind can count the measured
/// requests only (`--toggle-collect=crs_bench::timed`), without the first one, which
/// fills the lazy DFAs' caches.
#[inline(never)]
fn timed(det: &CrsDetector, model: &RequestModel, response: Option<&ResponseModel>) -> f64 {
    let t = Instant::now();
    let mut out = Vec::new();
    det.inspect_request(black_box(model), 1, &mut out);
    if let Some(response) = response {
        det.inspect_response(black_box(model), response, 1, &mut out);
    }
    black_box(out);
    t.elapsed().as_secs_f64() * 1e6
}

/// What the anchor upstream (nginx `return 200 "ok\n"`, `default_type text/plain`) answers.
fn upstream_response() -> ResponseModel {
    let mut headers = palisade_http::Headers::default();
    for (name, value) in [
        ("Server", "nginx"),
        ("Date", "Sat, 05 Dec 2026 09:00:00 GMT"),
        ("Content-Type", "text/plain"),
        ("Content-Length", "3"),
        ("Connection", "keep-alive"),
    ] {
        headers.push(name, value.as_bytes().to_vec());
    }
    ResponseModel {
        status: 200,
        headers,
        content_type: "text/plain".into(),
        body: b"ok\n".to_vec(),
    }
}

const PREAMBLE: &str =
    "SecRuleEngine DetectionOnly\nSecRequestBodyAccess On\nSecResponseBodyAccess On\n";

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = args.next().unwrap_or_else(|| "../shared/data/crs".into());
    let scenarios = args.next().unwrap_or_else(|| "get,form,json".into());
    let iters: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(200);
    let rules = CrsLoad {
        dir: dir.into(),
        preamble: PREAMBLE.into(),
        before: std::env::var_os("BEFORE")
            .map(Into::into)
            .into_iter()
            .collect(),
        ..Default::default()
    }
    .load()
    .unwrap_or_else(|e| panic!("{e}"));
    let det = CrsDetector::new(Arc::new(rules), 0, true);
    let response = std::env::var_os("RESPONSE").map(|_| upstream_response());
    println!("rss after load {} MB", rss_mb());
    for scenario in scenarios.split(',') {
        let model = match std::env::var_os("FORM_BODY").filter(|_| scenario == "form") {
            Some(path) => form_from_file(&path),
            None => match std::env::var("GET_TARGET")
                .ok()
                .filter(|_| scenario == "get")
            {
                Some(target) => get_of(&target),
                None => build(scenario),
            },
        };
        let mut out = Vec::new();
        det.inspect_request(&model, 1, &mut out);
        if let Some(response) = &response {
            det.inspect_response(&model, response, 1, &mut out);
        }
        let ids: Vec<&str> = out.iter().map(|f| f.id.as_str()).collect();
        let evict_mb: usize = std::env::var("EVICT")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let measure = || {
            let mut elsewhere = vec![0u8; evict_mb << 20];
            let cpu0 = thread_cpu_ns();
            let times: Vec<f64> = (0..iters)
                .map(|i| {
                    for at in (0..elsewhere.len()).step_by(64) {
                        elsewhere[at] = elsewhere[at].wrapping_add(i as u8);
                    }
                    black_box(&elsewhere);
                    timed(&det, &model, response.as_ref())
                })
                .collect();
            let cpu = thread_cpu_ns().saturating_sub(cpu0) as f64 / 1e3 / iters as f64;
            (times, cpu)
        };
        let (mut times, cpu) = match std::env::var_os("OTHER_THREAD") {
            Some(_) => std::thread::scope(|s| {
                // (its first inspection fills its own caches, as the main thread's did)
                s.spawn(|| {
                    timed(&det, &model, response.as_ref());
                    measure()
                })
                .join()
                .expect("the measuring thread")
            }),
            None => measure(),
        };
        times.sort_by(f64::total_cmp);
        println!(
            "{scenario:<5} cpu {cpu:>9.1} µs  p50 {:>9.1} µs  min {:>9.1} µs  findings {ids:?}",
            times[times.len() / 2],
            times[0]
        );
    }
    println!("rss at the end {} MB", rss_mb());
}

/// The form scenario with the urlencoded body in `path` (`FORM_BODY=path`): what other
/// bodies (attack-laden text, binary) cost.
fn form_from_file(path: &std::ffi::OsStr) -> RequestModel {
    let body = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.to_string_lossy()));
    let mut model = build("form");
    model.attach_body(body, false);
    model
}

/// The GET scenario's headers with another request target (`GET_TARGET`): what each
/// argument, path or query costs.
fn get_of(target: &str) -> RequestModel {
    let headers = build("get").headers;
    RequestModel::from_head("GET", target, "HTTP/1.1", headers)
}

/// Resident memory of this process (MB), from `/proc/self/status`.
fn rss_mb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            let line = s.lines().find(|l| l.starts_with("VmRSS:"))?;
            line.split_whitespace().nth(1)?.parse::<u64>().ok()
        })
        .map_or(0, |kb| kb / 1024)
}
