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

/// How many CPUs a `Cpus_allowed_list` (`0-3,8,10-11`) names.
fn count_cpus(list: &str) -> usize {
    list.split(',')
        .filter_map(|part| match part.split_once('-') {
            Some((a, b)) => {
                Some(b.trim().parse::<usize>().ok()? - a.trim().parse::<usize>().ok()? + 1)
            }
            None => part.trim().parse::<usize>().ok().map(|_| 1),
        })
        .sum()
}

/// With `pin_workers` and one worker per CPU the process may run on, each worker runs on
/// one CPU, none shared, and they serve requests; with fewer workers than CPUs none is
/// pinned. When the proxy stops, its workers are gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_worker_per_cpu_runs_on_its_own_cpu() {
    let status = std::fs::read_to_string("/proc/self/status").expect("status");
    let mine = status
        .lines()
        .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
        .expect("Cpus_allowed_list")
        .trim()
        .to_string();
    let cpus = count_cpus(&mine);
    let up = start_upstream().await;
    let mut cases = vec![(cpus + 1, false)];
    if (2..=16).contains(&cpus) {
        cases.push((cpus, true));
    }
    for (workers, pinned) in cases {
        let mut settings = settings_for(&up.url());
        settings.workers = workers;
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
        let lists = worker_cpus();
        assert_eq!(lists.len(), workers, "{lists:?}");
        if pinned {
            assert!(
                lists.iter().all(|l| l.parse::<usize>().is_ok()),
                "one CPU each: {lists:?}"
            );
            let mut distinct = lists.clone();
            distinct.dedup();
            assert_eq!(distinct.len(), workers, "{lists:?}");
        } else {
            assert!(lists.iter().all(|l| *l == mine), "unpinned: {lists:?}");
        }
        drop(client);
        proxy.trigger_shutdown();
        proxy.join(Duration::from_secs(10)).await.expect("stopped");
        assert!(worker_cpus().is_empty(), "workers ended");
    }
}
