//! Worker threads and the CPUs they run on (a test binary of its own: it reads every
//! thread of the process, and other tests' proxies start workers too).

mod common;

use std::time::Duration;

use common::*;
use palisade_engine::Policy;

/// The worker threads of this process (`palisade-worker-N`, cut to 15 bytes by the kernel)
/// and the CPUs each may run on.
fn worker_cpus() -> Vec<String> {
    let mut found = Vec::new();
    for task in std::fs::read_dir("/proc/self/task").expect("tasks") {
        let path = task.expect("task").path();
        let comm = std::fs::read_to_string(path.join("comm")).unwrap_or_default();
        if !comm.starts_with("palisade-worke") {
            continue;
        }
        let status = std::fs::read_to_string(path.join("status")).unwrap_or_default();
        if let Some(list) = status
            .lines()
            .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
        {
            found.push(list.trim().to_string());
        }
    }
    found.sort();
    found
}

/// With `pin_workers`, two workers on a machine of two or more CPUs run on one CPU each,
/// not the same one, and serve requests; when the proxy stops, its workers are gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pinned_workers_run_on_one_cpu_each() {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let up = start_upstream().await;
    let mut settings = settings_for(&up.url());
    settings.workers = 2;
    settings.pin_workers = true;
    let mut proxy = start_proxy(settings, Policy::default()).await;
    let mut client = h1_connect(proxy.addr).await;
    let resp = client
        .send(
            req("GET", "/pinned", "h")
                .body(empty_body())
                .expect("request"),
        )
        .await;
    assert_eq!(resp.status, 200);
    let pinned = worker_cpus();
    assert_eq!(pinned.len(), 2, "{pinned:?}");
    if cpus >= 2 {
        assert!(
            pinned.iter().all(|l| l.parse::<usize>().is_ok()),
            "one CPU each: {pinned:?}"
        );
        assert_ne!(pinned[0], pinned[1], "{pinned:?}");
    }
    proxy.trigger_shutdown();
    proxy.join(Duration::from_secs(10)).await.expect("stopped");
    assert!(worker_cpus().is_empty(), "workers ended");
}
