//! Graceful shutdown: requests in flight finish, new connections are refused, idle
//! keep-alive connections do not hold the process, and the grace period is a hard bound.

mod common;

use std::time::{Duration, Instant};

use common::*;
use palisade_engine::Policy;
use tokio::net::TcpStream;

/// Polls until a connect to `addr` is refused (bounded).
async fn wait_refused(addr: std::net::SocketAddr, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        match tokio::time::timeout(Duration::from_millis(500), TcpStream::connect(addr)).await {
            Ok(Err(_)) => return true,
            _ => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_flight_request_completes_and_new_connections_are_refused() {
    let up = start_upstream().await;
    let mut settings = settings_for(&up.url());
    settings.timeouts.shutdown_grace = Duration::from_secs(5);
    let mut proxy = start_proxy(settings, Policy::default()).await;
    let addr = proxy.addr;

    // An idle keep-alive connection must not delay shutdown.
    let mut idle = h1_connect(addr).await;
    assert_eq!(
        idle.send(
            req("GET", "/before", "h")
                .body(empty_body())
                .expect("request")
        )
        .await
        .status,
        200
    );

    let in_flight = tokio::spawn(async move {
        let mut c = h1_connect(addr).await;
        c.try_send(
            req("GET", "/slow?ms=1000", "h")
                .body(empty_body())
                .expect("request"),
            Duration::from_secs(10),
        )
        .await
    });
    assert!(
        eventually(Duration::from_secs(5), || up.hit_count("GET /slow") == 1).await,
        "slow request never reached the upstream"
    );
    let started = Instant::now();
    proxy.trigger_shutdown();

    assert!(
        wait_refused(addr, Duration::from_secs(3)).await,
        "new connections still accepted after shutdown"
    );
    let r = tokio::time::timeout(WAIT, in_flight)
        .await
        .expect("in-flight request hung")
        .expect("in-flight task")
        .expect("in-flight request failed during shutdown");
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "slow done");
    proxy
        .join(Duration::from_secs(10))
        .await
        .expect("proxy stopped cleanly");
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(4),
        "shutdown took {took:?}: waited for the idle connection or the full grace period"
    );
    // The idle connection was closed by the proxy.
    let after = idle
        .try_send(
            req("GET", "/after", "h")
                .body(empty_body())
                .expect("request"),
            Duration::from_secs(2),
        )
        .await;
    assert!(
        after.is_err(),
        "idle connection still served after shutdown"
    );
    assert_eq!(up.hit_count("GET /after"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grace_period_bounds_shutdown() {
    let up = start_upstream().await;
    let mut settings = settings_for(&up.url());
    settings.timeouts.shutdown_grace = Duration::from_millis(300);
    let mut proxy = start_proxy(settings, Policy::default()).await;
    let addr = proxy.addr;
    let stuck = tokio::spawn(async move {
        let mut c = h1_connect(addr).await;
        c.try_send(
            req("GET", "/slow?ms=8000", "h")
                .body(empty_body())
                .expect("request"),
            Duration::from_secs(10),
        )
        .await
    });
    assert!(eventually(Duration::from_secs(5), || up.hit_count("GET /slow") == 1).await);
    let started = Instant::now();
    proxy.trigger_shutdown();
    proxy
        .join(Duration::from_secs(5))
        .await
        .expect("proxy stopped");
    let took = started.elapsed();
    // run() waits grace for the accept loops plus at most one more second.
    assert!(took < Duration::from_millis(2500), "shutdown took {took:?}");
    // ...and the connections still open then are closed, not left running detached.
    let outcome = tokio::time::timeout(Duration::from_secs(2), stuck)
        .await
        .expect("the stuck connection was not closed when the grace period ended")
        .expect("client task");
    assert!(outcome.is_err(), "request survived shutdown: {outcome:?}");
}
