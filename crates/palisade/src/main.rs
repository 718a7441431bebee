//! The `palisade` command: a thin layer over the library crates.
//!
//! `serve` runs the reverse proxy WAF; `check` inspects one raw HTTP request (or a labelled
//! corpus) offline; `default-config` prints the documented configuration.

use std::io::Read;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{anyhow, Context, Result};
use arc_swap::ArcSwap;
use clap::{Args, Parser, Subcommand};
use palisade_engine::audit::{AuditRecord, Redactor};
use palisade_engine::{Action, Mode};
use palisade_proxy::settings::{CertSettings, ListenerSettings};
use palisade_proxy::Server;

use palisade::config::{self, Config};
use palisade::{corpus, detectors};

/// jemalloc instead of the system allocator: a request allocates and frees many small
/// buffers (header copies, one name and one value per JSON leaf) on several worker threads,
/// where glibc's malloc spent ~15% of the proxy's instructions.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's options, read when it starts (the variable `_RJEM_MALLOC_CONF` still
/// overrides them). Bigger per-thread caches of small blocks: a 20 KB JSON body of 700
/// leaves frees ~1,400 small buffers at the end of its request, and with the default caches
/// (at most 200 blocks per size class) each thread kept flushing blocks to the shared arena
/// and fetching them back (bench/instructions.sh, 20 KB JSON: 2.36M -> 2.25M instructions
/// per request). The price is memory held per thread: up to ~8 slabs' worth of blocks per
/// small size class instead of ~2 (a few MiB per worker thread at most; RSS after the proxy
/// benchmark stayed at ~90 MB). jemalloc trims a thread's cache as that thread allocates,
/// so an idle thread keeps what it cached.
#[export_name = "_rjem_malloc_conf"]
pub static JEMALLOC_OPTIONS: &[u8; 52] = b"tcache_nslots_small_max:2048,lg_tcache_nslots_mul:3\0";

#[derive(Parser)]
#[command(
    name = "palisade",
    version,
    about = "Web application firewall and reverse proxy"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the reverse proxy WAF (no arguments: 127.0.0.1:8080 in front of a demo app).
    Serve(ServeArgs),
    /// Inspect one raw HTTP request from FILE (or `-` for stdin) and print the verdict as
    /// JSON. Exit status: 0 allowed, 1 blocked, 2 error.
    Check(CheckArgs),
    /// Print the documented default configuration file.
    DefaultConfig,
    /// Run the OWASP CRS go-ftw regression suite in-process.
    CrsTest(palisade::crs_cmd::CrsTestArgs),
    /// Train the built-in classifier.
    Train(palisade::ml_cmd::TrainArgs),
    /// Score labelled data with a model and print metrics.
    Eval(palisade::ml_cmd::EvalArgs),
    /// Build a per-endpoint profile of normal traffic (learning mode).
    Learn(palisade::ml_cmd::LearnArgs),
    /// The packet layer: nftables ban sets and the NFQUEUE verdict daemon.
    Ips(palisade::ips_cmd::IpsArgs),
}

/// Settings shared by `serve` and `check` (they override the config file).
#[derive(Args, Clone)]
struct EngineArgs {
    /// Configuration file (TOML). Default: the embedded defaults.
    #[arg(long, short = 'c')]
    config: Option<PathBuf>,
    /// block, detect or off.
    #[arg(long)]
    mode: Option<String>,
    /// Paranoia level 1-4.
    #[arg(long)]
    paranoia: Option<u8>,
    /// Extra signature directory (repeatable).
    #[arg(long = "signatures", value_name = "DIR")]
    signature_dirs: Vec<PathBuf>,
    /// User-agent list in the bad-bot-blocker format (repeatable).
    #[arg(long = "agent-list", value_name = "FILE")]
    agent_lists: Vec<PathBuf>,
    /// Do not load the built-in signature set.
    #[arg(long)]
    no_builtin_signatures: bool,
    #[command(flatten)]
    crs: palisade::crs_cmd::CrsArgs,
    #[command(flatten)]
    ml: palisade::ml_cmd::MlArgs,
}

#[derive(Args)]
struct ServeArgs {
    #[command(flatten)]
    engine: EngineArgs,
    /// Listen address (repeatable); replaces the config's listeners.
    #[arg(long, value_name = "ADDR")]
    listen: Vec<SocketAddr>,
    /// PEM certificate for the --listen addresses (enables TLS, HTTP/2 by ALPN).
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// PEM private key for --tls-cert.
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Upstream URL (http:// or https://).
    #[arg(long)]
    upstream: Option<String>,
    /// Do not verify upstream TLS certificates.
    #[arg(long)]
    upstream_insecure: bool,
    /// Append a JSON line per blocked or flagged request to FILE.
    #[arg(long, value_name = "FILE")]
    audit_log: Option<PathBuf>,
}

#[derive(Args)]
struct CheckArgs {
    #[command(flatten)]
    engine: EngineArgs,
    /// Raw HTTP request file, or `-` for standard input.
    #[arg(default_value = "-")]
    file: String,
    /// Treat FILE as a labelled JSONL corpus and print detection rates.
    #[arg(long)]
    corpus: bool,
    /// With --corpus: list misclassified requests (`fp`, `fn`, or `fp,fn`).
    #[arg(long, default_value = "")]
    show: String,
}

/// A one-shot command whose reader went away (`palisade check --corpus F | head`) ends as
/// other Unix tools do, killed by SIGPIPE, instead of panicking in `println!`: Rust ignores
/// the signal, which only servers want (their socket writes then fail with EPIPE, which
/// they handle), so `serve` and the packet engine keep it ignored.
fn stop_quietly_on_a_closed_stdout() {
    // SAFETY: setting a signal's disposition to the default touches no Rust state, and no
    // other thread exists yet.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if !matches!(cli.command, Command::Serve(_) | Command::Ips(_)) {
        stop_quietly_on_a_closed_stdout();
    }
    let default_level = match &cli.command {
        Command::Serve(_) => "info",
        _ => "warn",
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("PALISADE_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level)),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let result = match cli.command {
        Command::Serve(args) => serve(args).map(|_| ExitCode::SUCCESS),
        Command::Check(args) => check(args),
        Command::DefaultConfig => {
            print!("{}", config::DEFAULT_CONFIG);
            Ok(ExitCode::SUCCESS)
        }
        Command::CrsTest(args) => palisade::crs_cmd::crs_test(args),
        Command::Train(args) => palisade::ml_cmd::train(args),
        Command::Eval(args) => palisade::ml_cmd::eval(args),
        Command::Learn(args) => palisade::ml_cmd::learn(args),
        Command::Ips(args) => palisade::ips_cmd::run(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("palisade: error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn load_config(args: &EngineArgs) -> Result<Config> {
    let mut config = Config::load(args.config.as_deref())?;
    if let Some(mode) = &args.mode {
        config.policy.mode = match mode.as_str() {
            "block" => Mode::Block,
            "detect" => Mode::Detect,
            "off" => Mode::Off,
            other => {
                return Err(anyhow!(
                    "--mode must be block, detect or off, not {other:?}"
                ))
            }
        };
    }
    if let Some(p) = args.paranoia {
        config.policy.paranoia = p;
    }
    config
        .signatures
        .dirs
        .extend(args.signature_dirs.iter().cloned());
    config
        .signatures
        .agent_lists
        .extend(args.agent_lists.iter().cloned());
    if args.no_builtin_signatures {
        config.signatures.builtin = false;
    }
    args.crs.apply(&mut config)?;
    args.ml.apply(&mut config)?;
    config
        .policy
        .compile()
        .map_err(|e| anyhow!("policy: {e}"))?;
    Ok(config)
}

fn serve(args: ServeArgs) -> Result<()> {
    let mut config = load_config(&args.engine)?;
    if !args.listen.is_empty() {
        let tls = match (&args.tls_cert, &args.tls_key) {
            (Some(cert), Some(key)) => vec![CertSettings {
                cert: cert.clone(),
                key: key.clone(),
                names: Vec::new(),
            }],
            _ => Vec::new(),
        };
        config.proxy.listen = args
            .listen
            .iter()
            .map(|addr| ListenerSettings {
                addr: *addr,
                tls: tls.clone(),
            })
            .collect();
    } else if let (Some(cert), Some(key)) = (&args.tls_cert, &args.tls_key) {
        for l in &mut config.proxy.listen {
            l.tls = vec![CertSettings {
                cert: cert.clone(),
                key: key.clone(),
                names: Vec::new(),
            }];
        }
    }
    if args.upstream.is_some() {
        config.proxy.upstream = args.upstream.clone();
    }
    if args.upstream_insecure {
        config.proxy.upstream_insecure = true;
    }
    if args.audit_log.is_some() {
        config.proxy.audit_log = args.audit_log.clone();
    }
    let engine = Arc::new(ArcSwap::from_pointee(detectors::build_engine(&config)?));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async move {
        let mut server = Server::bind(config.proxy.clone(), engine.clone()).await?;
        if let Some(observer) = palisade::ips_cmd::waf_observer(&config)? {
            server.set_verdict_observer(observer);
        }
        for (addr, tls) in server.local_addrs() {
            tracing::info!(
                "listening on {}://{addr}",
                if tls { "https" } else { "http" }
            );
        }
        match &config.proxy.upstream {
            Some(up) => tracing::info!(upstream = %up, mode = ?config.policy.mode, "proxying"),
            None => tracing::info!(
                mode = ?config.policy.mode,
                "no upstream configured: serving the built-in demo application behind the WAF \
                 (try /search?q=1'+UNION+SELECT+password+FROM+users--)"
            ),
        }
        spawn_reloader(args.engine.clone(), engine);
        server.run(shutdown_signal()).await
    })
}

/// SIGHUP rebuilds the engine from the config file and flags; a failed reload keeps the
/// running engine.
fn spawn_reloader(args: EngineArgs, engine: Arc<ArcSwap<palisade_engine::Engine>>) {
    tokio::spawn(async move {
        let Ok(mut hup) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        else {
            tracing::warn!("cannot listen for SIGHUP; hot reload disabled");
            return;
        };
        while hup.recv().await.is_some() {
            match load_config(&args).and_then(|c| detectors::build_engine(&c)) {
                Ok(new_engine) => {
                    engine.store(Arc::new(new_engine));
                    tracing::info!("reloaded configuration and signatures");
                }
                Err(e) => {
                    tracing::error!("reload failed, keeping the running configuration: {e:#}")
                }
            }
        }
    });
}

async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let term = signal(SignalKind::terminate());
    let int = signal(SignalKind::interrupt());
    match (term, int) {
        (Ok(mut term), Ok(mut int)) => {
            tokio::select! {
                _ = term.recv() => {},
                _ = int.recv() => {},
            }
        }
        _ => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

fn check(args: CheckArgs) -> Result<ExitCode> {
    let config = load_config(&args.engine)?;
    let engine = detectors::build_engine(&config)?;
    if args.corpus {
        return check_corpus(&engine, Path::new(&args.file), &args.show);
    }
    let mut raw = Vec::new();
    if args.file == "-" {
        std::io::stdin()
            .read_to_end(&mut raw)
            .context("reading standard input")?;
    } else {
        raw = std::fs::read(&args.file).with_context(|| format!("reading {}", args.file))?;
    }
    let (mut model, body) = palisade_http::raw::parse_request(&raw).map_err(|e| {
        anyhow!(
            "{}: {e}",
            if args.file == "-" {
                "<stdin>"
            } else {
                &args.file
            }
        )
    })?;
    if !body.is_empty() {
        model.attach_body(body, false);
    }
    let verdict = engine.inspect_request(&model);
    let redactor = Redactor::new(&config.proxy.redact_args);
    let record = AuditRecord::new("check", &model, &verdict, "request", &redactor);
    println!(
        "{}",
        serde_json::to_string_pretty(&record).context("serializing the verdict")?
    );
    Ok(if verdict.action == Action::Block {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn check_corpus(engine: &palisade_engine::Engine, path: &Path, show: &str) -> Result<ExitCode> {
    let entries = corpus::load(path)?;
    let (mut tp, mut fneg, mut fp, mut tn) = (0usize, 0usize, 0usize, 0usize);
    for (i, e) in entries.iter().enumerate() {
        let model = e
            .to_model()
            .with_context(|| format!("{}: entry {}", path.display(), i + 1))?;
        let v = engine.inspect_request(&model);
        let blocked = v.over_threshold;
        let ids: Vec<&str> = v.findings.iter().map(|f| f.id.as_str()).collect();
        match (e.is_attack(), blocked) {
            (true, true) => tp += 1,
            (true, false) => {
                fneg += 1;
                if show.contains("fn") {
                    println!(
                        "FN {} {} {} score={} {:?}",
                        e.category, e.method, e.path, v.score, ids
                    );
                }
            }
            (false, true) => {
                fp += 1;
                if show.contains("fp") {
                    println!(
                        "FP {} {} {} score={} {:?}",
                        e.category, e.method, e.path, v.score, ids
                    );
                    for f in &v.findings {
                        println!("     {} {} {:?}", f.id, f.target, f.excerpt);
                    }
                }
            }
            (false, false) => tn += 1,
        }
    }
    let rate = |a: usize, b: usize| {
        if a + b == 0 {
            0.0
        } else {
            a as f64 / (a + b) as f64
        }
    };
    println!(
        "{}: {} requests; attacks blocked {tp}/{} (TPR {:.3}); benign blocked {fp}/{} (FPR {:.3})",
        path.display(),
        entries.len(),
        tp + fneg,
        rate(tp, fneg),
        fp + tn,
        rate(fp, tn)
    );
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    /// The options above reach jemalloc (a wrong symbol name or a typo in an option would
    /// be ignored silently, with the default caches).
    #[test]
    fn jemalloc_reads_the_built_in_options() {
        // SAFETY: the names are NUL-terminated mallctl names of the given types.
        let (max, mul) = unsafe {
            (
                tikv_jemalloc_ctl::raw::read::<u32>(b"opt.tcache_nslots_small_max\0"),
                tikv_jemalloc_ctl::raw::read::<isize>(b"opt.lg_tcache_nslots_mul\0"),
            )
        };
        if std::env::var_os("_RJEM_MALLOC_CONF").is_none() {
            assert_eq!(max.expect("opt.tcache_nslots_small_max"), 2048);
            assert_eq!(mul.expect("opt.lg_tcache_nslots_mul"), 3);
        }
    }
}
