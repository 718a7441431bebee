//! The packet layer end to end, as root: each test builds its own network namespaces (a
//! server and two clients joined by veth pairs, IPv4 and IPv6), installs the real nftables
//! table and queue hook in the server namespace with `palisade ips setup`, runs the verdict
//! daemon there with `palisade ips run`, and sends real TCP/UDP traffic from the clients.
//! Namespaces (and with them every veth, rule and queue) are deleted by a Drop guard, so a
//! failing test leaves nothing behind. Names carry the process id and a sequence number, so
//! tests run in parallel.

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use palisade_ips::netns::in_netns;

const PORT: u16 = 8080;
const SRV_A: &str = "198.18.1.1";
const CLI_A: &str = "198.18.1.2";
const SRV_B: &str = "198.18.2.1";
const CLI_B: &str = "198.18.2.2";
const SRV_A6: &str = "fd00:1::1";
const CLI_A6: &str = "fd00:1::2";
const SRV_B6: &str = "fd00:2::1";
const REPLY: &[u8] = b"palisade-ok\n";

static SEQ: AtomicU32 = AtomicU32::new(0);

fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_palisade"))
}

fn require_root() {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let uid = status
        .lines()
        .find(|l| l.starts_with("Uid:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap_or("?");
    assert_eq!(
        uid, "0",
        "the packet-layer tests need root (network namespaces, nftables, NFQUEUE); run them as root as .ci/run does"
    );
    for (tool, arg) in [
        ("ip", "-V"),
        ("nft", "--version"),
        ("iptables-nft", "--version"),
    ] {
        let ok = Command::new(tool)
            .arg(arg)
            .output()
            .is_ok_and(|o| o.status.success());
        assert!(
            ok,
            "{tool} is missing: apt-get install iproute2 nftables iptables"
        );
    }
}

fn run(cmd: &str, args: &[&str]) -> Output {
    let out = Command::new(cmd)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("running {cmd}: {e}"));
    out
}

fn must(cmd: &str, args: &[&str]) -> String {
    let out = run(cmd, args);
    assert!(
        out.status.success(),
        "{cmd} {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A server namespace with two clients, A and B, plus a temp dir with config and state.
struct Lab {
    srv: String,
    a: String,
    b: String,
    dir: PathBuf,
    config: PathBuf,
    daemon: Option<Child>,
    /// Other processes started in the namespaces (killed on drop).
    children: Vec<Child>,
    stop: Arc<AtomicBool>,
}

#[derive(Default)]
struct LabOptions<'a> {
    deny_lists: &'a [&'a str],
    extra: &'a str,
}

impl Lab {
    fn new(opts: LabOptions<'_>) -> Lab {
        require_root();
        let id = format!(
            "{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::SeqCst)
        );
        let dir = std::env::temp_dir().join(format!("palisade-ips-test-{id}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        let lab = Lab {
            srv: format!("pal-{id}-s"),
            a: format!("pal-{id}-a"),
            b: format!("pal-{id}-b"),
            config: dir.join("palisade.toml"),
            dir,
            daemon: None,
            children: Vec::new(),
            stop: Arc::new(AtomicBool::new(false)),
        };
        for ns in [&lab.srv, &lab.a, &lab.b] {
            must("ip", &["netns", "add", ns]);
            must("ip", &["-n", ns, "link", "set", "lo", "up"]);
        }
        // veths are created inside the namespaces, so their names need not be unique.
        for (cli, srv_if, cli_if, srv4, cli4, srv6, cli6) in [
            (&lab.a, "sa", "ca", SRV_A, CLI_A, SRV_A6, CLI_A6),
            (&lab.b, "sb", "cb", SRV_B, CLI_B, SRV_B6, "fd00:2::2"),
        ] {
            must(
                "ip",
                &[
                    "-n", cli, "link", "add", cli_if, "type", "veth", "peer", "name", srv_if,
                    "netns", &lab.srv,
                ],
            );
            must(
                "ip",
                &[
                    "-n",
                    cli,
                    "addr",
                    "add",
                    &format!("{cli4}/24"),
                    "dev",
                    cli_if,
                ],
            );
            must(
                "ip",
                &[
                    "-n",
                    &lab.srv,
                    "addr",
                    "add",
                    &format!("{srv4}/24"),
                    "dev",
                    srv_if,
                ],
            );
            must(
                "ip",
                &[
                    "-n",
                    cli,
                    "addr",
                    "add",
                    &format!("{cli6}/64"),
                    "dev",
                    cli_if,
                    "nodad",
                ],
            );
            must(
                "ip",
                &[
                    "-n",
                    &lab.srv,
                    "addr",
                    "add",
                    &format!("{srv6}/64"),
                    "dev",
                    srv_if,
                    "nodad",
                ],
            );
            must("ip", &["-n", cli, "link", "set", cli_if, "up"]);
            must("ip", &["-n", &lab.srv, "link", "set", srv_if, "up"]);
        }
        let lists: Vec<String> = opts
            .deny_lists
            .iter()
            .enumerate()
            .map(|(i, text)| {
                let p = lab.dir.join(format!("deny{i}.txt"));
                std::fs::write(&p, text).expect("write deny list");
                format!("{:?}", p.display().to_string())
            })
            .collect();
        let config = format!(
            "[ips]\nports = [{PORT}]\nprotocols = [\"tcp\", \"udp\"]\nqueues = 2\nqueue_base = 100\n\
             state_file = {:?}\ncontrol_socket = {:?}\nban_ttl = \"30s\"\ndeny_lists = [{}]\n{}\n\
             [ips.detect]\nwindow = \"10s\"\npackets_per_sec = 0\nnew_conns_per_sec = 0\n\
             syn_per_window = 100\ndistinct_ports = 15\n",
            lab.dir.join("bans.json").display().to_string(),
            lab.dir.join("ips.sock").display().to_string(),
            lists.join(", "),
            opts.extra,
        );
        std::fs::write(&lab.config, config).expect("write config");
        lab.serve_tcp();
        lab.serve_udp();
        lab
    }

    fn ips(&self, args: &[&str]) -> Output {
        let mut full = vec!["netns", "exec", &self.srv];
        let bin = bin();
        let bin = bin.to_str().expect("utf-8 path");
        let config = self.config.to_str().expect("utf-8 path");
        full.extend([bin, "ips", "-c", config]);
        full.extend(args);
        run("ip", &full)
    }

    fn ips_ok(&self, args: &[&str]) -> String {
        let out = self.ips(args);
        assert!(
            out.status.success(),
            "palisade ips {args:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn setup(&self, extra: &[&str]) -> String {
        let mut args = vec!["setup"];
        args.extend(extra);
        self.ips_ok(&args)
    }

    fn start_daemon(&mut self) {
        let bin = bin();
        let log = std::fs::File::create(self.dir.join("daemon.log")).expect("log file");
        let child = Command::new("ip")
            .args(["netns", "exec", &self.srv])
            .arg(&bin)
            .args(["ips", "-c"])
            .arg(&self.config)
            .arg("run")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("spawn palisade ips run");
        self.daemon = Some(child);
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if self.ips(&["stats"]).status.success() {
                return;
            }
            if let Some(Ok(Some(status))) = self.daemon.as_mut().map(|c| c.try_wait()) {
                panic!("daemon exited with {status}: {}", self.daemon_log());
            }
            assert!(
                Instant::now() < deadline,
                "daemon not ready: {}",
                self.daemon_log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn kill_daemon(&mut self) {
        if let Some(mut c) = self.daemon.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    fn daemon_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("daemon.log")).unwrap_or_default()
    }

    fn counter(&self, name: &str) -> u64 {
        let out = self.ips_ok(&["stats"]);
        out.lines()
            .find_map(|l| l.strip_prefix(&format!("{name} ")))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("no counter {name} in {out}"))
    }

    /// TCP server in the server namespace: answers REPLY to every connection.
    fn serve_tcp(&self) {
        let listener = in_netns(&self.srv, || TcpListener::bind(("::", PORT)))
            .expect("netns")
            .expect("bind tcp");
        listener.set_nonblocking(true).expect("nonblocking");
        let stop = self.stop.clone();
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((mut s, _)) => {
                        let _ = s.set_nonblocking(false);
                        let _ = s.write_all(REPLY);
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
    }

    /// UDP echo server in the server namespace.
    fn serve_udp(&self) {
        let sock = in_netns(&self.srv, || UdpSocket::bind(("::", PORT)))
            .expect("netns")
            .expect("bind udp");
        sock.set_read_timeout(Some(Duration::from_millis(100)))
            .expect("timeout");
        let stop = self.stop.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 1500];
            while !stop.load(Ordering::Relaxed) {
                if let Ok((n, peer)) = sock.recv_from(&mut buf) {
                    let _ = sock.send_to(&buf[..n], peer);
                }
            }
        });
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        self.kill_daemon();
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        for ns in [&self.srv, &self.a, &self.b] {
            let _ = Command::new("ip").args(["netns", "del", ns]).output();
        }
        if std::thread::panicking() {
            eprintln!("daemon log:\n{}", self.daemon_log());
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Connects from namespace `ns` and reads the server's reply.
fn tcp_get(ns: &str, ip: &str, port: u16, timeout: Duration) -> std::io::Result<Vec<u8>> {
    let addr = SocketAddr::new(ip.parse::<IpAddr>().expect("ip"), port);
    in_netns(ns, move || {
        let mut s = TcpStream::connect_timeout(&addr, timeout)?;
        s.set_read_timeout(Some(timeout))?;
        let mut buf = Vec::new();
        s.read_to_end(&mut buf)?;
        Ok(buf)
    })?
}

fn assert_passes(ns: &str, ip: &str) {
    match tcp_get(ns, ip, PORT, Duration::from_secs(3)) {
        Ok(data) => assert_eq!(data, REPLY, "{ns} -> {ip}"),
        Err(e) => panic!("{ns} -> {ip}:{PORT} should pass, got {e}"),
    }
}

/// A dropped SYN shows as a connect timeout (a refused port would answer RST at once).
fn assert_dropped(ns: &str, ip: &str) {
    match tcp_get(ns, ip, PORT, Duration::from_millis(1500)) {
        Ok(d) => panic!(
            "{ns} -> {ip}:{PORT} should be dropped, got {:?}",
            String::from_utf8_lossy(&d)
        ),
        Err(e) => assert!(
            matches!(
                e.kind(),
                std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
            ),
            "{ns} -> {ip}:{PORT}: expected a timeout (dropped), got {e}"
        ),
    }
}

fn udp_echo(ns: &str, ip: &str) -> bool {
    let addr = SocketAddr::new(ip.parse::<IpAddr>().expect("ip"), PORT);
    in_netns(ns, move || -> std::io::Result<bool> {
        let bind: SocketAddr = if addr.is_ipv4() {
            "0.0.0.0:0"
        } else {
            "[::]:0"
        }
        .parse()
        .expect("addr");
        let s = UdpSocket::bind(bind)?;
        s.set_read_timeout(Some(Duration::from_millis(700)))?;
        let mut buf = [0u8; 64];
        for _ in 0..2 {
            s.send_to(b"ping", addr)?;
            if let Ok((n, _)) = s.recv_from(&mut buf) {
                return Ok(&buf[..n] == b"ping");
            }
        }
        Ok(false)
    })
    .expect("netns")
    .unwrap_or(false)
}

fn wait_for(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn kernel_ban_set(lab: &Lab) -> String {
    let out = run(
        "ip",
        &[
            "netns", "exec", &lab.srv, "nft", "list", "set", "inet", "palisade", "ban4",
        ],
    );
    let mut s = String::from_utf8_lossy(&out.stdout).into_owned();
    let out = run(
        "ip",
        &[
            "netns", "exec", &lab.srv, "nft", "list", "set", "inet", "palisade", "ban6",
        ],
    );
    s.push_str(&String::from_utf8_lossy(&out.stdout));
    s
}

#[test]
fn allowed_flows_pass_and_a_denied_cidr_is_dropped_v4_v6_tcp_udp() {
    let mut lab = Lab::new(LabOptions {
        deny_lists: &["# ET-style list\n203.0.113.9\n198.18.1.0/24\nfd00:1::/64\n"],
        ..Default::default()
    });
    let out = lab.setup(&[]);
    assert!(out.contains("queue hook:"), "{out}");
    lab.start_daemon();
    assert_passes(&lab.b, SRV_B);
    assert_passes(&lab.b, SRV_B6);
    assert!(udp_echo(&lab.b, SRV_B), "UDP from B should pass");
    assert_dropped(&lab.a, SRV_A);
    assert_dropped(&lab.a, SRV_A6);
    assert!(
        !udp_echo(&lab.a, SRV_A),
        "UDP from denied A should be dropped"
    );
    assert!(lab.counter("dropped_denied") >= 3);
    assert!(lab.counter("accepted") >= 3);

    // SIGHUP re-reads the list files: A is no longer listed, so it passes.
    std::fs::write(lab.dir.join("deny0.txt"), "203.0.113.9\n").expect("rewrite deny list");
    let pid = lab.daemon.as_ref().expect("daemon").id();
    must("bash", &["-c", &format!("kill -HUP {pid}")]);
    wait_for("the reloaded list", Duration::from_secs(5), || {
        lab.daemon_log()
            .contains("reloaded allow/deny lists (1 deny prefixes)")
    });
    assert_passes(&lab.a, SRV_A);
    assert_passes(&lab.a, SRV_A6);
}

#[test]
fn syn_flood_gets_the_source_banned_in_the_kernel_while_another_source_works() {
    let mut lab = Lab::new(LabOptions::default());
    lab.setup(&[]);
    lab.start_daemon();
    assert_passes(&lab.a, SRV_A);
    // Far more SYNs than syn_per_window (100), fast; stop as soon as they stop being answered.
    let target: SocketAddr = format!("{SRV_A}:{PORT}").parse().expect("addr");
    let sent = in_netns(&lab.a, move || {
        let mut n = 0;
        for _ in 0..400 {
            n += 1;
            if TcpStream::connect_timeout(&target, Duration::from_millis(1000)).is_err() {
                break;
            }
        }
        n
    })
    .expect("netns");
    assert!(
        (100..400).contains(&sent),
        "the flood should have been cut after ~100 SYNs, sent {sent}"
    );
    wait_for("the kernel ban", Duration::from_secs(3), || {
        kernel_ban_set(&lab).contains(CLI_A)
    });
    let list = lab.ips_ok(&["list"]);
    assert!(list.contains(CLI_A) && list.contains("SYN flood"), "{list}");
    // Banned in the kernel: A's packets no longer reach the daemon.
    let before = lab.counter("packets");
    assert_dropped(&lab.a, SRV_A);
    assert_eq!(
        lab.counter("packets"),
        before,
        "banned packets reached user space"
    );
    assert_passes(&lab.b, SRV_B);
    assert!(lab.counter("bans_syn_flood") >= 1);
    assert!(lab.daemon_log().contains("banned"), "{}", lab.daemon_log());
}

#[test]
fn port_scan_gets_the_source_banned_while_another_source_works() {
    let mut lab = Lab::new(LabOptions::default());
    lab.setup(&[]);
    lab.start_daemon();
    // Closed ports answer RST at once; once banned, SYNs go unanswered (timeout).
    let scanned = in_netns(&lab.a, || {
        let mut n = 0;
        for port in 20_000..20_060u16 {
            n += 1;
            let addr: SocketAddr = format!("{SRV_A}:{port}").parse().expect("addr");
            match TcpStream::connect_timeout(&addr, Duration::from_millis(1000)) {
                Err(e) if e.kind() == std::io::ErrorKind::TimedOut => break,
                _ => {}
            }
        }
        n
    })
    .expect("netns");
    assert!(
        (15..60).contains(&scanned),
        "scan should be cut after ~15 ports, ran {scanned}"
    );
    wait_for("the kernel ban", Duration::from_secs(3), || {
        kernel_ban_set(&lab).contains(CLI_A)
    });
    let list = lab.ips_ok(&["list"]);
    assert!(list.contains("port scan"), "{list}");
    assert_dropped(&lab.a, SRV_A);
    assert_passes(&lab.b, SRV_B);
}

#[test]
fn a_ban_expires_and_access_returns_and_bans_persist_across_restarts() {
    let mut lab = Lab::new(LabOptions::default());
    lab.setup(&[]);
    lab.start_daemon();
    // Through the control socket (daemon running), IPv4 with a short TTL.
    let out = lab.ips_ok(&["ban", CLI_A, "--ttl", "2s", "--reason", "test expiry"]);
    assert!(out.contains("test expiry"), "{out}");
    let banned_at = Instant::now();
    assert_dropped(&lab.a, SRV_A);
    assert_passes(&lab.b, SRV_B);
    let wait = Duration::from_millis(2600).saturating_sub(banned_at.elapsed());
    std::thread::sleep(wait);
    assert_passes(&lab.a, SRV_A);
    assert!(!lab.ips_ok(&["list"]).contains(CLI_A));

    // IPv6, long TTL: survives a daemon restart and a new setup (restored from the state file).
    lab.ips_ok(&["ban", CLI_A6, "--ttl", "10m", "--reason", "persisted"]);
    assert_dropped(&lab.a, SRV_A6);
    lab.kill_daemon();
    lab.ips_ok(&["teardown"]);
    assert_passes(&lab.a, SRV_A6);
    let out = lab.setup(&[]);
    assert!(out.contains("restored 1 bans"), "{out}");
    assert_dropped(&lab.a, SRV_A6);
    // Without a daemon the CLI works on the kernel set and the state file directly.
    let list = lab.ips_ok(&["list", "--json"]);
    assert!(
        list.contains("persisted") && list.contains("\"origin\": \"cli\""),
        "{list}"
    );
    lab.ips_ok(&["unban", CLI_A6]);
    assert_passes(&lab.a, SRV_A6);
    let state = std::fs::read_to_string(lab.dir.join("bans.json")).expect("state file");
    assert!(!state.contains("fd00:1::2"), "{state}");
}

#[test]
fn killed_daemon_fails_open_and_fail_closed_keeps_the_allow_list_working() {
    let mut lab = Lab::new(LabOptions::default());
    lab.setup(&[]);
    lab.start_daemon();
    assert_passes(&lab.a, SRV_A);
    lab.kill_daemon();
    assert_passes(&lab.a, SRV_A);
    assert_passes(&lab.b, SRV_B);
    assert!(udp_echo(&lab.a, SRV_A));

    // Fail-closed, explicitly: no daemon, no traffic, except the allow list (anti-lockout).
    let out = lab.setup(&["--fail-closed", "--allow", "198.18.2.0/24"]);
    assert!(out.contains("fail-closed"), "{out}");
    assert_dropped(&lab.a, SRV_A);
    assert_passes(&lab.b, SRV_B);
    lab.start_daemon();
    assert_passes(&lab.a, SRV_A);
}

#[test]
fn teardown_leaves_the_ruleset_as_it_was() {
    let lab = Lab::new(LabOptions::default());
    let ns = lab.srv.clone();
    must(
        "ip",
        &["netns", "exec", &ns, "nft", "add table inet user_t; add chain inet user_t c { type filter hook input priority 10; }; add rule inet user_t c tcp dport 22 accept"],
    );
    let before = must("ip", &["netns", "exec", &ns, "nft", "list", "ruleset"]);
    let out = lab.setup(&["--ports", "80,443,8080"]);
    assert!(out.contains("NFQUEUE"), "{out}");
    let during = must("ip", &["netns", "exec", &ns, "nft", "list", "ruleset"]);
    assert!(
        during.contains("table inet palisade") && during.contains("flags timeout"),
        "{during}"
    );
    lab.ips_ok(&["ban", CLI_A, "--ttl", "1m"]);
    lab.ips_ok(&["teardown"]);
    let after = must("ip", &["netns", "exec", &ns, "nft", "list", "ruleset"]);
    assert_eq!(before, after);
    // And a second teardown is not an error.
    lab.ips_ok(&["teardown"]);
}

/// One HTTP/1.1 request from namespace `ns`; returns the status line.
fn http_get(ns: &str, ip: &str, port: u16, target: &str) -> std::io::Result<String> {
    let addr = SocketAddr::new(ip.parse::<IpAddr>().expect("ip"), port);
    let req =
        format!("GET {target} HTTP/1.1\r\nHost: shop.example.com\r\nConnection: close\r\n\r\n");
    in_netns(ns, move || {
        let mut s = TcpStream::connect_timeout(&addr, Duration::from_millis(1500))?;
        s.set_read_timeout(Some(Duration::from_secs(5)))?;
        s.write_all(req.as_bytes())?;
        let mut buf = Vec::new();
        s.read_to_end(&mut buf)?;
        Ok(String::from_utf8_lossy(&buf)
            .lines()
            .next()
            .unwrap_or("")
            .to_string())
    })?
}

#[test]
fn a_burst_of_attacks_through_serve_gets_the_attackers_next_connection_dropped() {
    const WAF_PORT: u16 = 8081;
    let mut lab = Lab::new(LabOptions {
        extra: "[ips.waf]\nenabled = true\nblocked_requests = 3\nwindow = \"60s\"\nttl = \"5m\"\n",
        ..Default::default()
    });
    lab.setup(&[]);
    lab.start_daemon();
    let audit = lab.dir.join("audit.jsonl");
    let bin = bin();
    let serve = Command::new("ip")
        .args(["netns", "exec", &lab.srv])
        .arg(&bin)
        .args(["serve", "-c"])
        .arg(&lab.config)
        .args(["--listen", &format!("0.0.0.0:{WAF_PORT}"), "--audit-log"])
        .arg(&audit)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(lab.dir.join("serve.log")).expect("log"))
        .spawn()
        .expect("spawn palisade serve");
    lab.children.push(serve);
    wait_for("palisade serve", Duration::from_secs(120), || {
        http_get(&lab.b, SRV_B, WAF_PORT, "/").is_ok()
    });
    let attack = "/search?q=1%27%20UNION%20SELECT%20password%20FROM%20users--";
    for i in 0..3 {
        let status = http_get(&lab.a, SRV_A, WAF_PORT, attack).expect("attack request answered");
        assert!(status.contains(" 403"), "attack {i}: {status}");
    }
    wait_for(
        "the WAF ban in the kernel set",
        Duration::from_secs(3),
        || kernel_ban_set(&lab).contains(CLI_A),
    );
    // The attacker's next TCP connection is dropped at the packet layer (connect times out),
    // on every port; the other client is served.
    match http_get(&lab.a, SRV_A, WAF_PORT, "/") {
        Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::TimedOut, "{e}"),
        Ok(s) => panic!("banned attacker was answered: {s}"),
    }
    assert_dropped(&lab.a, SRV_A);
    let ok = http_get(&lab.b, SRV_B, WAF_PORT, "/").expect("B served");
    assert!(ok.contains(" 200"), "{ok}");
    let list = lab.ips_ok(&["list"]);
    assert!(
        list.contains(CLI_A) && list.contains("waf") && list.contains("3 blocked requests"),
        "{list}"
    );
    wait_for("the audit line", Duration::from_secs(3), || {
        std::fs::read_to_string(&audit).is_ok_and(|t| t.contains("\"ip_ban\"") && t.contains(CLI_A))
    });
}

#[test]
fn a_payload_signature_in_the_first_packets_of_a_flow_bans_the_source() {
    let mut lab = Lab::new(LabOptions {
        extra: "[[ips.signatures]]\nname = \"shellshock\"\ncontent = \"() {|20|:;\"\n",
        ..Default::default()
    });
    lab.setup(&[]);
    lab.start_daemon();
    let send = |ns: &str, ip: &str, payload: &'static [u8]| {
        let addr = SocketAddr::new(ip.parse::<IpAddr>().expect("ip"), PORT);
        in_netns(ns, move || -> std::io::Result<()> {
            let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
            s.write_all(payload)?;
            Ok(())
        })
        .expect("netns")
    };
    send(&lab.b, SRV_B, b"GET / HTTP/1.1\r\nUser-Agent: curl\r\n\r\n").expect("benign send");
    send(
        &lab.a,
        SRV_A,
        b"GET / HTTP/1.1\r\nUser-Agent: () { :; }; /bin/id\r\n\r\n",
    )
    .expect("attack send");
    wait_for("the signature ban", Duration::from_secs(3), || {
        kernel_ban_set(&lab).contains(CLI_A)
    });
    let list = lab.ips_ok(&["list"]);
    assert!(list.contains("payload signature: shellshock"), "{list}");
    assert!(!list.contains(CLI_B), "{list}");
    assert_dropped(&lab.a, SRV_A);
    assert_passes(&lab.b, SRV_B);
}
