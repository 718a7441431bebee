//! Inspection in cohorts: a worker with several requests in flight runs their inspections
//! back to back, instead of interleaving each one with its own network work.
//!
//! Why: inspecting a request with the Core Rule Set reads a few hundred kilobytes of code
//! and tables (its automata, rules and memos), and forwarding a request runs the kernel's
//! network path (a loopback send also delivers the packet to the receiver). Alternated
//! request by request on one core, each evicts the other from the caches: under load the
//! CRS engine took about twice its warm time and the proxy path about half as much again
//! (perf sampling: writev, hyper, the handler and recv 45 → 71 µs per GET). Grouped,
//! the requests of one turn of the event loop share warm caches (the design of vector
//! packet processing). Measured through the proxy with CRS PL1 (2-core VM, 64 connections,
//! two alternating rounds): CPU per request on the anchor GET 155.3 → 134.3 and
//! 157.2 → 122.0 µs, on the 2 KB form 259.7 → 196.8 and 278.3 → 196.9 µs; on one
//! connection (nothing to group) no change beyond the noise.
//!
//! How: each inspection yields to the worker's other ready tasks before it starts (so the
//! requests whose heads arrived in the same turn reach their inspections together) and
//! after it ends (so their forwarding follows together). A request alone on its worker
//! does not yield: nothing is added at low load. The worker's runtime is single-threaded
//! (see `Worker`), so "this thread's requests" are the worker's.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

thread_local! {
    /// The requests in flight on this thread (between `InFlight::enter` and its drop).
    static IN_FLIGHT: Arc<AtomicUsize> = Arc::new(AtomicUsize::new(0));
}

/// A request in flight on the current thread, counted until dropped. Holds its thread's
/// counter, so that it is given back to the right one wherever it is dropped.
pub(crate) struct InFlight(Arc<AtomicUsize>);

impl InFlight {
    pub(crate) fn enter() -> InFlight {
        let count = IN_FLIGHT.with(Arc::clone);
        count.fetch_add(1, Ordering::Relaxed);
        InFlight(count)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Runs `inspect` in this thread's cohort: when other requests are in flight here, after
/// the ready ones have had their turn, and handing the thread back once it is done.
pub(crate) async fn inspect<T>(inspect: impl FnOnce() -> T) -> T {
    let crowded = IN_FLIGHT.with(|c| c.load(Ordering::Relaxed) > 1);
    if crowded {
        tokio::task::yield_now().await;
    }
    let out = inspect();
    if crowded {
        tokio::task::yield_now().await;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
    }

    /// A request's life as the handler sees it: it arrives (a read that waits once), is
    /// parsed, inspected in the cohort, then forwarded.
    async fn request(name: &'static str, log: Arc<Mutex<Vec<String>>>) {
        let _in_flight = InFlight::enter();
        tokio::task::yield_now().await;
        let note = |what: &str| log.lock().expect("log").push(format!("{what} {name}"));
        note("parse");
        inspect(|| note("inspect")).await;
        note("forward");
    }

    #[test]
    fn requests_in_flight_together_are_inspected_back_to_back() {
        let log = Arc::new(Mutex::new(Vec::new()));
        runtime().block_on(async {
            let tasks: Vec<_> = ["a", "b", "c"]
                .into_iter()
                .map(|name| tokio::spawn(request(name, log.clone())))
                .collect();
            for t in tasks {
                t.await.expect("request task");
            }
        });
        let log = log.lock().expect("log").clone();
        // (the runtime may resume them in any order; what counts is that no request is
        // inspected or forwarded before the others were parsed and inspected)
        let steps: Vec<&str> = log.iter().filter_map(|l| l.split(' ').next()).collect();
        assert_eq!(
            steps,
            [
                "parse", "parse", "parse", "inspect", "inspect", "inspect", "forward", "forward",
                "forward"
            ],
            "{log:?}"
        );
        assert_eq!(IN_FLIGHT.with(|c| c.load(Ordering::Relaxed)), 0);
    }

    #[test]
    fn a_request_alone_on_its_thread_is_inspected_without_yielding() {
        let log = Arc::new(Mutex::new(Vec::new()));
        runtime().block_on(async {
            let alone = tokio::spawn(request("a", log.clone()));
            // a task that is no request, ready at every turn of the loop: it must not get
            // a turn between the lone request's steps
            let other = {
                let log = log.clone();
                tokio::spawn(async move {
                    for _ in 0..3 {
                        tokio::task::yield_now().await;
                        log.lock().expect("log").push("other".to_string());
                    }
                })
            };
            alone.await.expect("request task");
            other.await.expect("other task");
        });
        let log = log.lock().expect("log").clone();
        let parsed = log.iter().position(|l| l == "parse a").expect("parsed");
        assert_eq!(
            log[parsed..parsed + 3],
            ["parse a", "inspect a", "forward a"],
            "{log:?}"
        );
        assert_eq!(log.iter().filter(|l| *l == "other").count(), 3);
    }

    #[test]
    fn the_count_is_given_back_to_the_thread_that_took_it() {
        let taken = InFlight::enter();
        assert_eq!(IN_FLIGHT.with(|c| c.load(Ordering::Relaxed)), 1);
        std::thread::spawn(move || drop(taken))
            .join()
            .expect("thread");
        assert_eq!(IN_FLIGHT.with(|c| c.load(Ordering::Relaxed)), 0);
    }
}
