//! Root-only: the verdict daemon in-process against real NFQUEUE, in namespaces made for
//! the test (a server and a client joined by a veth pair; deleted by a Drop guard).
//! Queued TCP passes with the daemon judging it, a denied client's SYNs are dropped, and
//! once the daemon stops the queue bypass lets traffic through again (fail-open).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use palisade_ips::daemon::Daemon;
use palisade_ips::netns::in_netns;
use palisade_ips::nft::{self, SetupOptions};
use palisade_ips::settings::IpsSettings;
use palisade_ips::stats::Counters;

struct Net {
    srv: String,
    cli: String,
    dir: std::path::PathBuf,
    stop: Arc<AtomicBool>,
}

impl Net {
    fn new() -> Net {
        let uid = std::fs::read_to_string("/proc/self/status")
            .unwrap_or_default()
            .lines()
            .find(|l| l.starts_with("Uid:"))
            .and_then(|l| l.split_whitespace().nth(1).map(str::to_string))
            .unwrap_or_default();
        assert_eq!(
            uid, "0",
            "this test needs root (network namespaces, nftables, NFQUEUE)"
        );
        let id = std::process::id();
        let dir = std::env::temp_dir().join(format!("palisade-ips-daemon-{id}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        let net = Net {
            srv: format!("palipsd-{id}-s"),
            cli: format!("palipsd-{id}-c"),
            dir,
            stop: Arc::new(AtomicBool::new(false)),
        };
        let ip = |args: &[&str]| {
            let ok = Command::new("ip")
                .args(args)
                .status()
                .is_ok_and(|s| s.success());
            assert!(ok, "ip {args:?} failed");
        };
        ip(&["netns", "add", &net.srv]);
        ip(&["netns", "add", &net.cli]);
        ip(&[
            "-n", &net.cli, "link", "add", "c0", "type", "veth", "peer", "name", "s0", "netns",
            &net.srv,
        ]);
        ip(&["-n", &net.srv, "addr", "add", "198.18.7.1/24", "dev", "s0"]);
        ip(&["-n", &net.cli, "addr", "add", "198.18.7.2/24", "dev", "c0"]);
        ip(&["-n", &net.srv, "link", "set", "s0", "up"]);
        ip(&["-n", &net.cli, "link", "set", "c0", "up"]);
        net
    }

    fn get(&self) -> std::io::Result<Vec<u8>> {
        let addr: SocketAddr = "198.18.7.1:8080".parse().expect("addr");
        in_netns(&self.cli, move || {
            let mut s = TcpStream::connect_timeout(&addr, Duration::from_millis(1500))?;
            s.set_read_timeout(Some(Duration::from_secs(3)))?;
            let mut buf = Vec::new();
            s.read_to_end(&mut buf)?;
            Ok(buf)
        })?
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for ns in [&self.srv, &self.cli] {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn start(net: &Net, settings: &IpsSettings) -> (Daemon, Arc<AtomicBool>) {
    let stop = Arc::new(AtomicBool::new(false));
    let (s, st) = (settings.clone(), stop.clone());
    let d = in_netns(&net.srv, move || Daemon::start(&s, st)).expect("netns");
    (d.expect("daemon starts"), stop)
}

#[test]
fn daemon_judges_queued_traffic_drops_denied_sources_and_fails_open_when_stopped() {
    let net = Net::new();
    let listener = in_netns(&net.srv, || TcpListener::bind("0.0.0.0:8080"))
        .expect("netns")
        .expect("bind");
    listener.set_nonblocking(true).expect("nonblocking");
    let stop = net.stop.clone();
    std::thread::spawn(move || {
        while !stop.load(Ordering::Relaxed) {
            match listener.accept() {
                Ok((mut s, _)) => {
                    let _ = s.write_all(b"ok");
                }
                Err(_) => std::thread::sleep(Duration::from_millis(5)),
            }
        }
    });
    let mut settings = IpsSettings {
        ports: vec![8080],
        queues: 2,
        queue_base: 40,
        state_file: net.dir.join("bans.json"),
        control_socket: net.dir.join("ips.sock"),
        ..IpsSettings::default()
    };
    let o = SetupOptions {
        table: settings.table.clone(),
        ports: settings.ports.clone(),
        protocols: settings.protocols.clone(),
        syn_all_ports: true,
        queue_base: settings.queue_base,
        queues: settings.queues,
        fail_closed: false,
        allow: vec![],
        deny: vec![],
        try_native: true,
    };
    in_netns(&net.srv, move || nft::setup(&o))
        .expect("netns")
        .expect("setup");

    let (daemon, _stop) = start(&net, &settings);
    assert_eq!(net.get().expect("passes through the queue"), b"ok");
    assert!(
        Counters::get(&daemon.counters.accepted) >= 2,
        "the daemon judged the flow"
    );
    daemon.stop();
    daemon.join();
    // No daemon: the queue bypass lets traffic through.
    assert_eq!(net.get().expect("fail-open"), b"ok");

    // A deny list with the client's network: its SYN is dropped (connect times out).
    let list = net.dir.join("deny.txt");
    std::fs::write(&list, "# test\n198.18.7.0/24\n").expect("write list");
    settings.deny_lists = vec![list];
    let (daemon, _stop) = start(&net, &settings);
    let err = net.get().expect_err("denied");
    assert_eq!(err.kind(), std::io::ErrorKind::TimedOut, "{err}");
    assert!(Counters::get(&daemon.counters.dropped_denied) >= 1);
    daemon.stop();
    daemon.join();
}
