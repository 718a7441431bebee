//! `palisade ips run`: verdict threads (one per queue), the ban writer, the control socket
//! and the state sweeper, wired together.
//!
//! A detection drops the packet at once and marks the source in user space; the ban writer
//! puts it in the kernel ban set (batching what piled up meanwhile) and then clears the
//! user-space mark, so from then on the kernel drops the source before it is queued.

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context, Result};

use crate::bans::{new_ban, BanStore};
use crate::cidr::{load_list, PrefixSet};
use crate::control;
use crate::detect::{BanCause, Decision, Engine};
use crate::nfqueue::{self, NfQueue, QueueOptions, Verdict};
use crate::settings::IpsSettings;
use crate::stats::Counters;

static SIGNALLED: AtomicBool = AtomicBool::new(false);
static HANGUP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    SIGNALLED.store(true, Ordering::Relaxed);
}

extern "C" fn on_hangup(_: libc::c_int) {
    HANGUP.store(true, Ordering::Relaxed);
}

/// Installs SIGTERM/SIGINT handlers (the first flag turns true on either) and a SIGHUP
/// handler (the second flag; the caller clears it after reloading).
pub fn stop_on_signals() -> (&'static AtomicBool, &'static AtomicBool) {
    // SAFETY: the handlers only store to atomics, which is async-signal-safe.
    unsafe {
        libc::signal(libc::SIGTERM, on_signal as *const () as libc::sighandler_t);
        libc::signal(libc::SIGINT, on_signal as *const () as libc::sighandler_t);
        libc::signal(libc::SIGHUP, on_hangup as *const () as libc::sighandler_t);
    }
    (&SIGNALLED, &HANGUP)
}

/// Number of queues for these settings (0: one per core).
pub fn queue_count(s: &IpsSettings) -> u16 {
    if s.queues > 0 {
        s.queues
    } else {
        std::thread::available_parallelism()
            .map(|n| n.get().min(64) as u16)
            .unwrap_or(1)
    }
}

/// Loads the allow list (inline CIDRs and files) and the deny-list files.
fn load_lists(s: &IpsSettings) -> Result<(PrefixSet, PrefixSet, Vec<String>)> {
    let mut allow = PrefixSet::new();
    for n in &s.allow {
        allow.insert(*n, 0);
    }
    for path in &s.allow_lists {
        for n in load_list(path)? {
            allow.insert(n, 0);
        }
    }
    let mut deny = PrefixSet::new();
    let mut names = Vec::new();
    for (i, path) in s.deny_lists.iter().enumerate() {
        for n in load_list(path)? {
            deny.insert(n, i as u32);
        }
        names.push(
            path.file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_else(|| path.display().to_string()),
        );
    }
    Ok((allow, deny, names))
}

/// Builds the verdict engine from the settings' lists.
pub fn build_engine(s: &IpsSettings) -> Result<Engine> {
    let (allow, deny, names) = load_lists(s)?;
    Engine::new(
        allow,
        deny,
        names,
        s.ban_denied,
        s.detect.clone(),
        &s.signatures,
    )
    .map_err(|e| anyhow!("[ips]: {e}"))
}

pub struct Daemon {
    pub engine: Arc<Engine>,
    pub counters: Arc<Counters>,
    threads: Vec<std::thread::JoinHandle<()>>,
    stop: Arc<AtomicBool>,
    socket: PathBuf,
}

impl Daemon {
    /// Loads lists, binds every queue, restores bans and opens the control socket. When this
    /// returns, packets are being judged.
    pub fn start(s: &IpsSettings, stop: Arc<AtomicBool>) -> Result<Daemon> {
        let engine = Arc::new(build_engine(s)?);
        let counters = engine.counters.clone();
        let store = BanStore::new(&s.table, &s.state_file);
        match store.restore() {
            Ok(n) if n > 0 => tracing::warn!("restored {n} bans from {}", s.state_file.display()),
            Ok(_) => {}
            Err(e) => {
                tracing::warn!("could not restore bans (is `palisade ips setup` done?): {e:#}")
            }
        }
        let copy_range = if s.signatures.is_empty() { 256 } else { 2048 };
        let opts = QueueOptions {
            copy_range,
            fail_open: !s.fail_closed,
            ..QueueOptions::default()
        };
        let n = queue_count(s);
        let mut queues = Vec::new();
        for i in 0..n {
            let num = s.queue_base + i;
            queues.push(NfQueue::open(num, &opts).with_context(|| {
                format!("binding NFQUEUE {num} (already used by another daemon?)")
            })?);
        }
        let (ban_tx, ban_rx) = mpsc::channel::<(IpAddr, BanCause, Instant)>();
        let mut threads = Vec::new();
        threads.push(spawn_ban_writer(
            ban_rx,
            store.clone(),
            engine.clone(),
            s.ban_ttl,
        )?);
        let n_queues = queues.len();
        let batch_wait = Duration::from_micros(u64::from(s.batch_wait_us));
        for (index, mut q) in queues.into_iter().enumerate() {
            let engine = engine.clone();
            let stop = stop.clone();
            let tx = ban_tx.clone();
            threads.push(
                std::thread::Builder::new()
                    .name(format!("ips-queue-{}", q.queue_num()))
                    .spawn(move || {
                        if n_queues > 1 {
                            pin_to_fanout_cpus(index, n_queues);
                        }
                        verdict_loop(&mut q, &engine, &tx, &stop, batch_wait)
                    })?,
            );
        }
        drop(ban_tx);
        {
            let engine = engine.clone();
            let stop = stop.clone();
            threads.push(std::thread::Builder::new().name("ips-sweep".into()).spawn(
                move || {
                    while !stop.load(Ordering::Relaxed) {
                        std::thread::sleep(Duration::from_millis(500));
                        engine.sweep(Instant::now());
                    }
                },
            )?);
        }
        let handler = control::Handler {
            store,
            default_ttl: s.ban_ttl,
            counters: counters.clone(),
        };
        threads.push(control::serve(&s.control_socket, handler, stop.clone())?);
        Ok(Daemon {
            engine,
            counters,
            threads,
            stop,
            socket: s.control_socket.clone(),
        })
    }

    /// Waits until `stop` is set and every thread has finished.
    pub fn join(self) {
        for t in self.threads {
            let _ = t.join();
        }
        let _ = std::fs::remove_file(&self.socket);
    }

    /// Re-reads the allow/deny list files; on error the running lists stay.
    pub fn reload_lists(&self, s: &IpsSettings) -> Result<usize> {
        let (allow, deny, names) = load_lists(s)?;
        let n = deny.len();
        self.engine.reload_lists(allow, deny, names);
        Ok(n)
    }

    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// The cores whose packets the hook's CPU fanout sends to queue `index` of `n` (core `c`
/// goes to queue `c % n`), among `allowed`.
fn fanout_cpus(index: usize, n: usize, allowed: &[usize]) -> Vec<usize> {
    allowed
        .iter()
        .copied()
        .filter(|c| n > 0 && c % n == index)
        .collect()
}

/// Pins the calling verdict thread to the cores that feed its queue (see [`crate::nft`]):
/// the packet is then judged and re-injected on the core that queued it. Leaves the thread
/// alone when none of those cores is available to this process.
fn pin_to_fanout_cpus(index: usize, n: usize) {
    // SAFETY: cpu_set_t is plain data; zeroed is the empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: set is a valid, writable cpu_set_t of the given size; 0 is this thread.
    if unsafe { libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) } != 0
    {
        return;
    }
    let max = 8 * std::mem::size_of::<libc::cpu_set_t>();
    // SAFETY: CPU_ISSET reads within the set for c < CPU_SETSIZE.
    let allowed: Vec<usize> = (0..max)
        .filter(|&c| unsafe { libc::CPU_ISSET(c, &set) })
        .collect();
    let cpus = fanout_cpus(index, n, &allowed);
    if cpus.is_empty() {
        return;
    }
    // SAFETY: as above.
    let mut pin: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    for &c in &cpus {
        // SAFETY: c < CPU_SETSIZE (taken from the set above).
        unsafe { libc::CPU_SET(c, &mut pin) };
    }
    // SAFETY: pin is a valid cpu_set_t of the given size.
    if unsafe { libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &pin) } != 0 {
        tracing::debug!(
            "could not pin verdict thread {index} to cores {cpus:?}: {}",
            std::io::Error::last_os_error()
        );
    }
}

/// Receives less than this apart make a stream (see `batch_wait_us`).
const STREAM_GAP: Duration = Duration::from_millis(1);

fn verdict_loop(
    q: &mut NfQueue,
    engine: &Engine,
    bans: &mpsc::Sender<(IpAddr, BanCause, Instant)>,
    stop: &AtomicBool,
    batch_wait: Duration,
) {
    let c = engine.counters.clone();
    // Packets of the last receive, and whether they came within STREAM_GAP of the receive
    // before (a stream, as opposed to packets now and then).
    let mut last = 0usize;
    let mut streaming = false;
    let mut prev = Instant::now();
    while !stop.load(Ordering::Relaxed) {
        // A stream is running but the last batch was small: let the queue fill a little, so
        // the next receive takes more packets for its system calls and wake-up (see
        // `batch_wait_us`). Occasional packets and full batches do not wait.
        if streaming && !batch_wait.is_zero() && last < nfqueue::BATCH / 2 {
            std::thread::sleep(batch_wait);
        }
        let now = Instant::now();
        let result = q.process_batch(|payload| match engine.decide_raw(payload, now) {
            Decision::Accept => Verdict::Accept,
            Decision::Drop => Verdict::Drop,
            Decision::Ban(addr, cause) => {
                let _ = bans.send((addr, cause, Instant::now()));
                Verdict::Drop
            }
        });
        match result {
            Ok(st) => {
                streaming =
                    st.packets > 0 && last > 0 && now.saturating_duration_since(prev) < STREAM_GAP;
                last = st.packets;
                prev = now;
                if st.messages > 0 {
                    c.verdict_messages
                        .fetch_add(st.messages as u64, Ordering::Relaxed);
                }
                if st.errors > 0 {
                    c.verdict_errors
                        .fetch_add(st.errors as u64, Ordering::Relaxed);
                }
            }
            Err(e) => {
                Counters::inc(&c.verdict_errors);
                tracing::error!(queue = q.queue_num(), "NFQUEUE receive/verdict failed: {e}");
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
}

fn spawn_ban_writer(
    rx: mpsc::Receiver<(IpAddr, BanCause, Instant)>,
    store: BanStore,
    engine: Arc<Engine>,
    ttl: Duration,
) -> Result<std::thread::JoinHandle<()>> {
    Ok(std::thread::Builder::new()
        .name("ips-bans".into())
        .spawn(move || {
            let c = engine.counters.clone();
            // Ends when every verdict thread has gone (all senders dropped).
            while let Ok(first) = rx.recv() {
                let mut batch = vec![first];
                while let Ok(more) = rx.try_recv() {
                    batch.push(more);
                }
                let bans: Vec<_> = batch
                    .iter()
                    .map(|(addr, cause, _)| new_ban(*addr, Some(ttl), &cause.to_string(), "detect"))
                    .collect();
                let picked_up = Instant::now();
                let result = store.ban_many(&bans);
                tracing::debug!(
                    bans = bans.len(),
                    queued_us = picked_up.saturating_duration_since(batch[0].2).as_micros() as u64,
                    write_us = picked_up.elapsed().as_micros() as u64,
                    "ban batch written"
                );
                match result {
                    Ok(in_kernel) => {
                        c.bans_applied
                            .fetch_add(bans.len() as u64, Ordering::Relaxed);
                        for (_, _, detected) in &batch {
                            let us =
                                in_kernel.saturating_duration_since(*detected).as_micros() as u64;
                            c.ban_latency_us_last.store(us, Ordering::Relaxed);
                            c.ban_latency_us_max.fetch_max(us, Ordering::Relaxed);
                            c.ban_latency_us_sum.fetch_add(us, Ordering::Relaxed);
                        }
                    }
                    Err(e) => {
                        c.bans_failed
                            .fetch_add(bans.len() as u64, Ordering::Relaxed);
                        tracing::error!("could not write bans to the kernel: {e:#}");
                    }
                }
                for (addr, _, _) in &batch {
                    engine.ban_settled(*addr);
                }
            }
        })?)
}

#[cfg(test)]
mod tests {
    use super::fanout_cpus;

    #[test]
    fn fanout_cpus_follow_the_kernel_mapping() {
        let all: Vec<usize> = (0..8).collect();
        assert_eq!(fanout_cpus(0, 2, &all), vec![0, 2, 4, 6]);
        assert_eq!(fanout_cpus(1, 2, &all), vec![1, 3, 5, 7]);
        assert_eq!(fanout_cpus(3, 4, &[0, 1, 2]), Vec::<usize>::new());
        assert_eq!(fanout_cpus(0, 0, &all), Vec::<usize>::new());
    }
}
