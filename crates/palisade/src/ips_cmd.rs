//! The packet layer in Palisade: `[ips]` settings and the `palisade ips ...` commands
//! (setup/teardown of the nftables table and queue hook, the verdict daemon, and bans).
//! The work is done by the `palisade-ips` crate; this module parses arguments, applies them
//! over the config file, and prints results.

use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, Context, Result};
use clap::{Args, Subcommand};
use ipnet::IpNet;
use palisade_ips::bans::{now_ms, Ban, BanStore};
use palisade_ips::control::{self, Request};
use palisade_ips::nft::{self, SetupOptions};
use palisade_ips::settings::parse_duration;

pub use palisade_ips::settings::IpsSettings;

/// Arguments of `palisade ips`.
#[derive(Args, Debug)]
pub struct IpsArgs {
    /// Configuration file (TOML); its `[ips]` section is used.
    #[arg(long, short = 'c', global = true)]
    config: Option<PathBuf>,
    /// nftables table name (default: `palisade`).
    #[arg(long, global = true)]
    table: Option<String>,
    /// Ban state file.
    #[arg(long, global = true, value_name = "FILE")]
    state_file: Option<PathBuf>,
    /// Control socket of the daemon.
    #[arg(long, global = true, value_name = "PATH")]
    socket: Option<PathBuf>,
    /// First NFQUEUE number.
    #[arg(long, global = true)]
    queue_base: Option<u16>,
    /// Number of queues / verdict threads (0: one per core).
    #[arg(long, global = true)]
    queues: Option<u16>,
    #[command(subcommand)]
    command: IpsCommand,
}

#[derive(Subcommand, Debug)]
enum IpsCommand {
    /// Install Palisade's nftables table (allow, deny and ban sets) and the NFQUEUE hook.
    Setup(SetupArgs),
    /// Remove Palisade's table and queue hook.
    Teardown,
    /// Run the verdict daemon (until SIGTERM/SIGINT; SIGHUP re-reads the list files).
    Run(RunArgs),
    /// Ban an address (through the daemon if it runs, else directly).
    Ban(BanArgs),
    /// Lift a ban.
    Unban { addr: IpAddr },
    /// List active bans.
    List {
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Print the running daemon's counters.
    Stats,
}

#[derive(Args, Debug)]
struct SetupArgs {
    /// Ports sent to the daemon, comma separated (default: the config's `ports`).
    #[arg(long, value_delimiter = ',')]
    ports: Vec<u16>,
    /// Protocols sent to the daemon: tcp, udp (comma separated).
    #[arg(long, value_delimiter = ',')]
    protocols: Vec<String>,
    /// Drop queued traffic when no daemon runs (default: fail-open, traffic passes).
    #[arg(long)]
    fail_closed: bool,
    /// Allowed source (repeatable): never dropped or banned.
    #[arg(long, value_name = "CIDR")]
    allow: Vec<IpNet>,
    /// Denied source (repeatable): dropped in the kernel on every port.
    #[arg(long, value_name = "CIDR")]
    deny: Vec<IpNet>,
    /// Queue only the chosen ports (no SYNs to other ports: no port-scan detection).
    #[arg(long)]
    ports_only: bool,
    /// Do not try the native nftables queue statement (use iptables-nft NFQUEUE).
    #[arg(long)]
    no_native_queue: bool,
}

#[derive(Args, Debug)]
struct RunArgs {
    /// Deny-list file (repeatable; plain or Emerging Threats format).
    #[arg(long = "deny-list", value_name = "FILE")]
    deny_lists: Vec<PathBuf>,
    /// Allow-list file (repeatable).
    #[arg(long = "allow-list", value_name = "FILE")]
    allow_lists: Vec<PathBuf>,
}

#[derive(Args, Debug)]
struct BanArgs {
    addr: IpAddr,
    /// How long (e.g. 30s, 10m, 1h; 0: until unbanned). Default: the config's `ban_ttl`.
    #[arg(long)]
    ttl: Option<String>,
    /// Why (recorded with the ban).
    #[arg(long, default_value = "manual ban")]
    reason: String,
}

fn settings(args: &IpsArgs) -> Result<IpsSettings> {
    let mut s = crate::config::Config::load(args.config.as_deref())?.ips;
    if let Some(t) = &args.table {
        s.table = t.clone();
    }
    if let Some(p) = &args.state_file {
        s.state_file = p.clone();
    }
    if let Some(p) = &args.socket {
        s.control_socket = p.clone();
    }
    if let Some(q) = args.queue_base {
        s.queue_base = q;
    }
    if let Some(q) = args.queues {
        s.queues = q;
    }
    nft::check_table_name(&s.table)?;
    Ok(s)
}

pub fn run(args: IpsArgs) -> Result<ExitCode> {
    let mut s = settings(&args)?;
    match args.command {
        IpsCommand::Setup(a) => setup(&mut s, a),
        IpsCommand::Teardown => {
            nft::teardown(&s.table)?;
            println!("removed nftables table inet {} and its queue hook", s.table);
            Ok(ExitCode::SUCCESS)
        }
        IpsCommand::Run(a) => {
            s.deny_lists.extend(a.deny_lists);
            s.allow_lists.extend(a.allow_lists);
            run_daemon(&s)
        }
        IpsCommand::Ban(a) => ban(&s, a),
        IpsCommand::Unban { addr } => {
            let found = match control::request(&s.control_socket, &Request::Unban { addr }) {
                Ok(r) => reply(r)?.found.unwrap_or(false),
                Err(_) => BanStore::new(&s.table, &s.state_file).unban(addr)?,
            };
            println!(
                "unbanned {addr}{}",
                if found {
                    ""
                } else {
                    " (it had no recorded ban)"
                }
            );
            Ok(ExitCode::SUCCESS)
        }
        IpsCommand::List { json } => {
            let bans = match control::request(&s.control_socket, &Request::List) {
                Ok(r) => reply(r)?.bans,
                Err(_) => BanStore::new(&s.table, &s.state_file).list()?,
            };
            if json {
                println!("{}", serde_json::to_string_pretty(&bans)?);
            } else {
                print_bans(&bans);
            }
            Ok(ExitCode::SUCCESS)
        }
        IpsCommand::Stats => {
            let r = reply(
                control::request(&s.control_socket, &Request::Stats)
                    .context("is `palisade ips run` running?")?,
            )?;
            for (k, v) in r.counters {
                println!("{k} {v}");
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn reply(r: control::Response) -> Result<control::Response> {
    if r.ok {
        Ok(r)
    } else {
        Err(anyhow!(
            "daemon: {}",
            r.error.unwrap_or_else(|| "failed".into())
        ))
    }
}

fn setup(s: &mut IpsSettings, a: SetupArgs) -> Result<ExitCode> {
    if !a.ports.is_empty() {
        s.ports = a.ports;
    }
    if !a.protocols.is_empty() {
        s.protocols = a.protocols;
    }
    s.fail_closed |= a.fail_closed;
    s.allow.extend(a.allow);
    s.deny.extend(a.deny);
    let queues = palisade_ips::daemon::queue_count(s);
    let o = SetupOptions {
        table: s.table.clone(),
        ports: s.ports.clone(),
        protocols: s.protocols.clone(),
        syn_all_ports: s.syn_all_ports && !a.ports_only,
        queue_base: s.queue_base,
        queues,
        fail_closed: s.fail_closed,
        allow: s.allow.clone(),
        deny: s.deny.clone(),
        try_native: !a.no_native_queue,
    };
    let hook = nft::setup(&o)?;
    let why = if hook == nft::QueueHook::IptablesNft && o.try_native {
        " (the kernel refused the nftables queue statement: no nft_queue support)"
    } else {
        ""
    };
    println!(
        "installed nftables table inet {}: allow/deny/ban sets; {} ports {:?} -> NFQUEUE {}-{} ({}); queue hook: {hook}{why}",
        s.table,
        s.protocols.join("/"),
        s.ports,
        s.queue_base,
        s.queue_base + queues - 1,
        if s.fail_closed {
            "fail-closed: traffic stops while no daemon runs"
        } else {
            "fail-open: traffic passes while no daemon runs"
        },
    );
    match BanStore::new(&s.table, &s.state_file).restore() {
        Ok(0) => {}
        Ok(n) => println!("restored {n} bans from {}", s.state_file.display()),
        Err(e) => eprintln!("palisade: warning: bans not restored: {e:#}"),
    }
    Ok(ExitCode::SUCCESS)
}

fn ban(s: &IpsSettings, a: BanArgs) -> Result<ExitCode> {
    let ttl = match &a.ttl {
        None => Some(s.ban_ttl),
        Some(t) => match parse_duration(t) {
            Some(d) if d.is_zero() => None,
            Some(d) => Some(d),
            None => return Err(anyhow!("--ttl {t:?}: use e.g. 30s, 10m, 1h, or 0")),
        },
    };
    let req = Request::Ban {
        addr: a.addr,
        ttl_ms: Some(ttl.map_or(0, |d| d.as_millis().max(1) as u64)),
        reason: a.reason.clone(),
        origin: Some("cli".into()),
    };
    let b = match control::request(&s.control_socket, &req) {
        Ok(r) => reply(r)?
            .bans
            .into_iter()
            .next()
            .ok_or_else(|| anyhow!("daemon returned no ban"))?,
        Err(_) => BanStore::new(&s.table, &s.state_file).ban(a.addr, ttl, &a.reason, "cli")?,
    };
    print_bans(std::slice::from_ref(&b));
    Ok(ExitCode::SUCCESS)
}

fn print_bans(bans: &[Ban]) {
    let now = now_ms();
    for b in bans {
        let left = match b.remaining(now) {
            Some(d) => format!("{}s left", d.as_secs()),
            None => "until unbanned".into(),
        };
        println!("{}\t{left}\t{}\t{}", b.addr, b.origin, b.reason);
    }
}

fn run_daemon(s: &IpsSettings) -> Result<ExitCode> {
    let stop = Arc::new(AtomicBool::new(false));
    let (signalled, hangup) = palisade_ips::daemon::stop_on_signals();
    let daemon = palisade_ips::daemon::Daemon::start(s, stop.clone())?;
    println!(
        "palisade ips: judging NFQUEUE {}-{} ({} deny prefixes, {}); control socket {}",
        s.queue_base,
        s.queue_base + palisade_ips::daemon::queue_count(s) - 1,
        daemon.engine.deny_len(),
        if s.fail_closed {
            "fail-closed"
        } else {
            "fail-open"
        },
        s.control_socket.display()
    );
    while !signalled.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(100));
        if hangup.swap(false, Ordering::Relaxed) {
            match daemon.reload_lists(s) {
                Ok(n) => tracing::warn!("reloaded allow/deny lists ({n} deny prefixes)"),
                Err(e) => tracing::error!("list reload failed, keeping the running lists: {e:#}"),
            }
        }
    }
    daemon.stop();
    let counters = daemon.counters.clone();
    daemon.join();
    let summary: Vec<String> = counters
        .snapshot()
        .into_iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    println!("palisade ips: stopped; {}", summary.join(" "));
    Ok(ExitCode::SUCCESS)
}

/// Turns WAF verdicts into packet-level bans (`[ips.waf]`): counts per real client, and
/// hands bans to a background thread (the daemon's control socket if it runs, else the
/// kernel set and state file directly) so requests never wait for nft.
struct WafBanObserver {
    tracker: palisade_ips::waf::WafBanTracker,
    tx: std::sync::Mutex<std::sync::mpsc::Sender<palisade_ips::waf::WafBan>>,
}

impl palisade_proxy::VerdictObserver for WafBanObserver {
    fn observe(
        &self,
        client: IpAddr,
        request_id: &str,
        verdict: &palisade_engine::Verdict,
    ) -> Option<String> {
        // Detect mode observes only; it never bans.
        if verdict.mode != palisade_engine::Mode::Block {
            return None;
        }
        let points = if verdict.action == palisade_engine::Action::Allow {
            0
        } else {
            verdict.score
        };
        let ban = self.tracker.record(
            client,
            verdict.is_block(),
            points,
            std::time::Instant::now(),
        )?;
        let line = serde_json::json!({
            "event": "ip_ban",
            "time_ms": now_ms(),
            "request_id": request_id,
            "client_ip": ban.addr.to_string(),
            "ttl_s": ban.ttl.as_secs(),
            "reason": ban.reason,
        })
        .to_string();
        if let Ok(tx) = self.tx.lock() {
            let _ = tx.send(ban);
        }
        Some(line)
    }
}

/// The verdict observer for `palisade serve`, when `[ips.waf] enabled = true`. The allow
/// list and the proxy's trusted proxies are never banned.
pub fn waf_observer(
    config: &crate::config::Config,
) -> Result<Option<Arc<dyn palisade_proxy::VerdictObserver>>> {
    let s = &config.ips;
    if !s.waf.enabled {
        return Ok(None);
    }
    let mut exempt: Vec<IpNet> = s.allow.clone();
    for path in &s.allow_lists {
        exempt.extend(palisade_ips::cidr::load_list(path)?);
    }
    exempt.extend(config.proxy.trusted_proxies.iter().copied());
    let tracker = palisade_ips::waf::WafBanTracker::new(s.waf.clone(), s.ban_ttl, &exempt);
    let (tx, rx) = std::sync::mpsc::channel::<palisade_ips::waf::WafBan>();
    let store = BanStore::new(&s.table, &s.state_file);
    let socket = s.control_socket.clone();
    std::thread::Builder::new()
        .name("waf-bans".into())
        .spawn(move || {
            for ban in rx {
                let req = Request::Ban {
                    addr: ban.addr,
                    ttl_ms: Some(ban.ttl.as_millis().max(1) as u64),
                    reason: ban.reason.clone(),
                    origin: Some("waf".into()),
                };
                let result = match control::request(&socket, &req) {
                    Ok(r) => reply(r).map(|_| ()),
                    Err(_) => store
                        .ban(ban.addr, Some(ban.ttl), &ban.reason, "waf")
                        .map(|_| ()),
                };
                if let Err(e) = result {
                    tracing::error!(addr = %ban.addr, "WAF ban failed: {e:#}");
                }
            }
        })
        .context("starting the WAF ban thread")?;
    tracing::info!(
        blocked_requests = s.waf.blocked_requests,
        anomaly_points = s.waf.anomaly_points,
        window_s = s.waf.window.as_secs(),
        "WAF verdicts can ban clients at the packet layer"
    );
    Ok(Some(Arc::new(WafBanObserver {
        tracker,
        tx: std::sync::Mutex::new(tx),
    })))
}
