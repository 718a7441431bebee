//! Palisade's reverse proxy: listeners (plain and TLS, HTTP/1.1 and HTTP/2), the per-request
//! inspection flow, forwarding to upstreams, and the audit log.
//!
//! The detection engine is held in an [`ArcSwap`] so a reload replaces it atomically while
//! requests in flight finish with the engine they started with.

mod affinity;
mod audit_log;
pub mod body;
mod cohort;
mod demo;
pub mod forward;
mod handler;
mod idle;
pub mod pages;
pub mod settings;
mod tls;
mod upstream;

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use anyhow::{anyhow, Context, Result};
use arc_swap::ArcSwap;
use hyper::service::service_fn;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use palisade_engine::audit::Redactor;
use palisade_engine::{Engine, Verdict};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};

pub use audit_log::AuditLog;
use handler::ConnInfo;
pub use settings::ProxySettings;

/// Counters for every outcome (exported as metrics by a later layer, logged at shutdown).
#[derive(Debug, Default)]
pub struct Stats {
    pub requests: AtomicU64,
    pub allowed: AtomicU64,
    pub flagged: AtomicU64,
    pub blocked: AtomicU64,
    pub responses_blocked: AtomicU64,
    pub upstream_errors: AtomicU64,
    pub upstream_timeouts: AtomicU64,
    pub client_timeouts: AtomicU64,
    pub rejected_too_large: AtomicU64,
    /// Requests hyper refused before Palisade saw them (malformed request line or headers,
    /// e.g. a raw `<` in the target): answered 400/431 by hyper, counted here. Also HTTP/1.1
    /// requests without a Host header or with several, which Palisade answers 400 itself.
    pub rejected_malformed: AtomicU64,
    pub connections: AtomicU64,
}

impl Stats {
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}

/// Told about every request verdict with the real client address (after trusted proxies),
/// e.g. to ban repeat offenders at the packet layer. Runs on the request path, so it must
/// not block. Returns a JSON line for the audit log when it acted.
pub trait VerdictObserver: Send + Sync {
    fn observe(&self, client: IpAddr, request_id: &str, verdict: &Verdict) -> Option<String>;
}

/// State shared by every connection.
pub struct Shared {
    pub(crate) settings: ProxySettings,
    pub(crate) engine: Arc<ArcSwap<Engine>>,
    /// This worker's upstream connections.
    pub(crate) upstream: Arc<upstream::UpstreamPool>,
    pub(crate) audit: Option<AuditLog>,
    pub(crate) redactor: Redactor,
    pub(crate) stats: Arc<Stats>,
    pub(crate) observer: Option<Arc<dyn VerdictObserver>>,
    /// `settings.upstream` parsed once (routes with their own upstream parse theirs).
    pub(crate) default_upstream: Option<Result<handler::Upstream, String>>,
}

struct BoundListener {
    listener: TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
}

/// A bound, not yet running proxy.
pub struct Server {
    shared: Arc<Shared>,
    listeners: Vec<BoundListener>,
}

impl Server {
    /// Validates settings, loads TLS material, opens the audit log and binds listeners.
    pub async fn bind(settings: ProxySettings, engine: Arc<ArcSwap<Engine>>) -> Result<Server> {
        if let Some(up) = &settings.upstream {
            validate_upstream(up)?;
        }
        for route in &engine.load().policy().routes {
            if let Some(up) = &route.upstream {
                validate_upstream(up)?;
            }
        }
        // Checked here so a bad CA file fails `bind`, not a worker.
        tls::client_config(settings.upstream_ca.as_deref(), settings.upstream_insecure)?;
        let upstream = upstream_pool(&settings)?;
        let audit = match &settings.audit_log {
            Some(path) => Some(
                AuditLog::open(path)
                    .await
                    .with_context(|| format!("opening audit log {}", path.display()))?,
            ),
            None => None,
        };
        let mut listeners = Vec::new();
        for l in &settings.listen {
            let tls = if l.tls.is_empty() {
                None
            } else {
                Some(tokio_rustls::TlsAcceptor::from(tls::server_config(&l.tls)?))
            };
            let listener = TcpListener::bind(l.addr)
                .await
                .with_context(|| format!("binding {}", l.addr))?;
            listeners.push(BoundListener { listener, tls });
        }
        let redactor = Redactor::new(&settings.redact_args);
        let settings_upstream = settings.upstream.as_deref().map(handler::parse_upstream);
        Ok(Server {
            shared: Arc::new(Shared {
                settings,
                engine,
                upstream,
                audit,
                redactor,
                stats: Arc::new(Stats::default()),
                observer: None,
                default_upstream: settings_upstream,
            }),
            listeners,
        })
    }

    /// Actual bound addresses (useful with port 0), with whether each uses TLS.
    pub fn local_addrs(&self) -> Vec<(SocketAddr, bool)> {
        self.listeners
            .iter()
            .filter_map(|l| l.listener.local_addr().ok().map(|a| (a, l.tls.is_some())))
            .collect()
    }

    /// Installs a verdict observer (before `run`).
    pub fn set_verdict_observer(&mut self, observer: Arc<dyn VerdictObserver>) {
        match Arc::get_mut(&mut self.shared) {
            Some(shared) => shared.observer = Some(observer),
            None => tracing::warn!("verdict observer set after the server started; ignored"),
        }
    }

    pub fn stats(&self) -> Arc<Stats> {
        self.shared.stats.clone()
    }

    /// Serves until `shutdown` resolves, then stops accepting and gives in-flight
    /// connections `timeouts.shutdown_grace` to finish.
    ///
    /// Connections are accepted on the caller's runtime and handed round-robin to worker
    /// threads; each worker runs a single-threaded event loop with its own upstream pool, so
    /// one request's client socket, inspection and upstream connection stay on one thread.
    pub async fn run(self, shutdown: impl std::future::Future<Output = ()>) -> Result<()> {
        let (stop_tx, stop_rx) = watch::channel(false);
        let mut builder = auto::Builder::new(TokioExecutor::new());
        let s = &self.shared.settings;
        builder
            .http1()
            .timer(TokioTimer::new())
            .header_read_timeout(s.timeouts.client_header)
            .max_buf_size(s.limits.max_header_bytes.max(8192))
            .max_headers(s.limits.max_headers);
        builder
            .http2()
            .timer(TokioTimer::new())
            .max_header_list_size(s.limits.max_header_bytes.min(u32::MAX as usize) as u32)
            .keep_alive_interval(Some(std::time::Duration::from_secs(30)));
        let builder = Arc::new(builder);
        let count = match s.workers {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        };
        let mut workers = Vec::with_capacity(count);
        let allowed = Arc::new(affinity::allowed_cpus());
        if s.pin_workers && allowed.is_empty() {
            tracing::warn!("this process's CPUs are unknown: workers run unpinned");
        }
        let cpus = affinity::worker_cpus(&allowed, count, s.pin_workers);
        for (i, cpu) in cpus.into_iter().enumerate() {
            workers.push(Worker::start(
                i,
                cpu.map(|cpu| (cpu, allowed.clone())),
                Arc::new(self.shared.for_worker()?),
                builder.clone(),
            )?);
        }
        let dispatch = Arc::new(Dispatch {
            senders: workers.iter().map(|w| w.jobs.clone()).collect(),
            next: AtomicU64::new(0),
        });
        let mut tasks = Vec::new();
        for bound in self.listeners {
            tasks.push(tokio::spawn(accept_loop(
                bound,
                self.shared.clone(),
                dispatch.clone(),
                stop_rx.clone(),
            )));
        }
        shutdown.await;
        tracing::info!("shutting down: no new connections, waiting for requests in flight");
        let _ = stop_tx.send(true);
        let grace = self.shared.settings.timeouts.shutdown_grace;
        for t in tasks {
            let _ = tokio::time::timeout(grace + std::time::Duration::from_secs(1), t).await;
        }
        // Every connection has finished or was closed: let the workers' loops end.
        drop(dispatch);
        for w in workers {
            drop(w.jobs);
            let joined = tokio::task::spawn_blocking(move || w.thread.join());
            let _ = tokio::time::timeout(grace, joined).await;
        }
        let st = &self.shared.stats;
        tracing::info!(
            requests = Stats::get(&st.requests),
            blocked = Stats::get(&st.blocked),
            flagged = Stats::get(&st.flagged),
            malformed = Stats::get(&st.rejected_malformed),
            audit_dropped = self.shared.audit.as_ref().map_or(0, |a| a.dropped()),
            "stopped"
        );
        Ok(())
    }
}

/// An accepted connection on its way to a worker.
struct Job {
    stream: std::net::TcpStream,
    peer: SocketAddr,
    tls: Option<tokio_rustls::TlsAcceptor>,
    watcher: hyper_util::server::graceful::Watcher,
    kill: watch::Receiver<bool>,
}

/// A worker thread: a single-threaded tokio runtime serving the connections sent to it.
struct Worker {
    jobs: mpsc::UnboundedSender<Job>,
    thread: std::thread::JoinHandle<()>,
}

impl Worker {
    /// Starts worker `index`, pinned to `cpu`'s CPU when given (with the CPUs the
    /// process may run on, which the threads its runtime starts get back).
    fn start(
        index: usize,
        cpu: Option<(usize, Arc<Vec<usize>>)>,
        shared: Arc<Shared>,
        builder: Arc<auto::Builder<TokioExecutor>>,
    ) -> Result<Worker> {
        let mut runtime = tokio::runtime::Builder::new_current_thread();
        runtime.enable_all();
        if let Some((_, allowed)) = &cpu {
            // (a thread inherits its creator's CPUs: the blocking pool's threads would
            // all run on the worker's one CPU)
            let allowed = allowed.clone();
            runtime.on_thread_start(move || {
                let _ = affinity::run_current_thread_on(&allowed);
            });
        }
        let runtime = runtime.build().context("starting a worker's event loop")?;
        let cpu = cpu.map(|(cpu, _)| cpu);
        let (jobs, mut rx) = mpsc::unbounded_channel::<Job>();
        let thread = std::thread::Builder::new()
            .name(format!("palisade-worker-{index}"))
            .spawn(move || {
                if let Some(cpu) = cpu {
                    if let Err(e) = affinity::run_current_thread_on(&[cpu]) {
                        tracing::warn!("worker {index} runs unpinned (CPU {cpu}: {e})");
                    }
                }
                runtime.block_on(async move {
                    let ticker = tokio::spawn(keep_timer_wheel_due());
                    let mut live = tokio::task::JoinSet::new();
                    while let Some(job) = rx.recv().await {
                        live.spawn(serve_connection(job, shared.clone(), builder.clone()));
                        // reap finished connections so the set stays small
                        while live.try_join_next().is_some() {}
                    }
                    while live.join_next().await.is_some() {}
                    ticker.abort();
                })
            })
            .context("starting a worker thread")?;
        Ok(Worker { jobs, thread })
    }
}

/// How often a worker's timer wheel is made to come due (see [`keep_timer_wheel_due`]).
const TIMER_WHEEL_TICK: std::time::Duration = std::time::Duration::from_millis(500);

/// Keeps a timer due within [`TIMER_WHEEL_TICK`] on the worker's event loop, for as long
/// as the worker runs.
///
/// Every request on a kept-alive connection arms timers (hyper's header-read timeout
/// while it waits for the next request head, the upstream response timeout), and tokio's
/// time driver writes to its eventfd to wake the event loop whenever a timer is armed
/// earlier than the earliest one it last went to sleep with — even when, as here, the
/// timer is armed on the event loop's own thread, which is awake. With a tick always due
/// sooner than those timeouts (seconds), arming them wakes nothing, save in the turn
/// right after a tick fired: measured with `strace -c` on kept-alive requests, 0.54
/// `write(eventfd)` calls per request before, 36 in 2,877 requests after (about one
/// syscall in seven of a proxied request). The cost is about one wake-up per tick per
/// worker, idle ones included.
async fn keep_timer_wheel_due() {
    let mut tick = tokio::time::interval(TIMER_WHEEL_TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
    }
}

/// Round-robin hand-off of accepted connections to workers.
struct Dispatch {
    senders: Vec<mpsc::UnboundedSender<Job>>,
    next: AtomicU64,
}

impl Dispatch {
    fn send(&self, job: Job) {
        let n = self.senders.len() as u64;
        let i = self.next.fetch_add(1, Ordering::Relaxed) % n;
        if let Err(e) = self.senders[i as usize].send(job) {
            tracing::error!(peer = %e.0.peer, "worker {i} is gone; connection dropped");
        }
    }
}

/// An upstream connection pool. Each worker has its own, so a pooled connection is always
/// driven by the thread that uses it.
fn upstream_pool(settings: &ProxySettings) -> Result<Arc<upstream::UpstreamPool>> {
    let tls_client =
        tls::client_config(settings.upstream_ca.as_deref(), settings.upstream_insecure)?;
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_connect_timeout(Some(settings.timeouts.upstream_connect));
    http.set_nodelay(true);
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls_client)
        .https_or_http()
        .enable_http1()
        .wrap_connector(http);
    Ok(Arc::new(upstream::UpstreamPool::new(
        connector,
        settings.timeouts.upstream_idle,
    )))
}

impl Shared {
    /// The same state with a fresh upstream pool (for another worker thread).
    fn for_worker(&self) -> Result<Shared> {
        Ok(Shared {
            settings: self.settings.clone(),
            engine: self.engine.clone(),
            upstream: upstream_pool(&self.settings)?,
            audit: self.audit.clone(),
            redactor: self.redactor.clone(),
            stats: self.stats.clone(),
            observer: self.observer.clone(),
            default_upstream: self.default_upstream.clone(),
        })
    }
}

fn validate_upstream(url: &str) -> Result<()> {
    let uri: http::Uri = url
        .parse()
        .map_err(|e| anyhow!("invalid upstream URL {url:?}: {e}"))?;
    match uri.scheme_str() {
        Some("http") | Some("https") => {}
        _ => {
            return Err(anyhow!(
                "upstream {url:?} must start with http:// or https://"
            ))
        }
    }
    if uri.authority().is_none() {
        return Err(anyhow!("upstream {url:?} has no host"));
    }
    if uri.path() != "/" && !uri.path().is_empty() {
        return Err(anyhow!(
            "upstream {url:?}: a path prefix is not supported; give scheme://host:port"
        ));
    }
    Ok(())
}

async fn accept_loop(
    bound: BoundListener,
    shared: Arc<Shared>,
    dispatch: Arc<Dispatch>,
    mut stop: watch::Receiver<bool>,
) {
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    // Set when the grace period is over: connections still open then are dropped (their
    // sockets closed) instead of being left running detached from the stopped server.
    let (kill_tx, kill_rx) = watch::channel(false);
    loop {
        let accepted = tokio::select! {
            a = bound.listener.accept() => a,
            _ = stop.changed() => break,
        };
        let (stream, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                // EMFILE and friends: back off briefly instead of spinning.
                tracing::warn!("accept failed: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        // Deregistered from this runtime; the worker registers it with its own.
        let stream = match stream.into_std() {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(%peer, "cannot hand the connection to a worker: {e}");
                continue;
            }
        };
        shared.stats.connections.fetch_add(1, Ordering::Relaxed);
        dispatch.send(Job {
            stream,
            peer,
            tls: bound.tls.clone(),
            watcher: graceful.watcher(),
            kill: kill_rx.clone(),
        });
    }
    drop(bound.listener);
    let grace = shared.settings.timeouts.shutdown_grace;
    if tokio::time::timeout(grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("grace period over; closing remaining connections");
        let _ = kill_tx.send(true);
    }
}

/// Serves one client connection on the current worker until it ends, or until the grace
/// period after a shutdown is over.
async fn serve_connection(
    job: Job,
    shared: Arc<Shared>,
    builder: Arc<auto::Builder<TokioExecutor>>,
) {
    let Job {
        stream,
        peer,
        tls,
        watcher,
        mut kill,
    } = job;
    let stream = match tokio::net::TcpStream::from_std(stream) {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(%peer, "cannot register the connection: {e}");
            return;
        }
    };
    let connection = async move {
        let conn_info = ConnInfo {
            peer,
            tls: tls.is_some(),
        };
        // hyper's header timeout starts only once a first byte arrived
        let first_byte = shared.settings.timeouts.client_header;
        let svc_shared = shared.clone();
        let service = service_fn(move |req| {
            let shared = svc_shared.clone();
            async move { Ok::<_, Infallible>(handler::handle(shared, conn_info, req).await) }
        });
        let result = match tls {
            None => {
                let io = idle::FirstByteDeadline::new(stream, first_byte);
                let conn = builder.serve_connection_with_upgrades(TokioIo::new(io), service);
                watcher.watch(conn.into_owned()).await
            }
            Some(acceptor) => {
                let handshake = tokio::time::timeout(
                    shared.settings.timeouts.client_header,
                    acceptor.accept(stream),
                )
                .await;
                let tls_stream = match handshake {
                    Ok(Ok(s)) => s,
                    Ok(Err(e)) => {
                        tracing::debug!(%peer, "TLS handshake failed: {e}");
                        return;
                    }
                    Err(_) => {
                        tracing::debug!(%peer, "TLS handshake timed out");
                        return;
                    }
                };
                let io = idle::FirstByteDeadline::new(tls_stream, first_byte);
                let conn = builder.serve_connection_with_upgrades(TokioIo::new(io), service);
                watcher.watch(conn.into_owned()).await
            }
        };
        if let Err(e) = result {
            let parse = e
                .downcast_ref::<hyper::Error>()
                .is_some_and(|h| h.is_parse() || h.is_parse_too_large());
            if parse {
                shared
                    .stats
                    .rejected_malformed
                    .fetch_add(1, Ordering::Relaxed);
                tracing::info!(%peer, "malformed request rejected before inspection: {e}");
            } else {
                tracing::debug!(%peer, "connection ended: {e}");
            }
        }
    };
    tokio::select! {
        _ = connection => {}
        _ = kill.wait_for(|k| *k) => {}
    }
}
