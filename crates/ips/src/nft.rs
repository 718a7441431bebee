//! Palisade's own nftables table and the queue hook: `setup`, `teardown`, ban elements.
//!
//! The table (`inet <name>`, default `palisade`) holds:
//! - `allow4`/`allow6` (interval sets): matched first; such packets are accepted and marked
//!   with [`ALLOW_MARK`] so the queue hook skips them (anti-lockout: they pass even when a
//!   fail-closed queue has no daemon);
//! - `ban4`/`ban6` (`flags timeout`): bans, dropped before conntrack and before the queue;
//! - `deny4`/`deny6` (interval sets): static denies, dropped the same way;
//! - chain `pre` at prerouting priority raw doing the above.
//!
//! The hook that sends the chosen ports to NFQUEUE is tried as nftables' native `queue`
//! statement in chain `to_daemon` of the same table; kernels without `nft_queue` refuse it, and
//! we fall back to the iptables-nft `NFQUEUE` target in a chain of our own (`PALISADE` for
//! the default table) jumped to from INPUT, for IPv4 and IPv6.
//! Both hooks use `bypass` (fail-open: with no daemon bound, packets pass) unless
//! fail-closed is asked for. Over several queues they use CPU fanout (`fanout`,
//! `--queue-cpu-fanout`): a packet goes to queue `base + cpu % queues`, `cpu` being the core
//! whose softirq handles it, and the daemon pins each queue's verdict thread to those cores.
//! Compared with hashing the addresses onto the queues (`--queue-balance` alone), the load
//! follows the cores the traffic arrives on (with few sources a hash can put most of it on
//! one queue: the benchmark's 4 sources went 3:1), and the packet is judged and re-injected
//! on the core that queued it (no cross-core wakeup, no remote free). With a single-queue NIC
//! and no RPS all packets then reach one queue: spread receive work with RPS.
//!
//! Everything goes through the `nft`/`iptables-nft` commands: one small process per change
//! keeps us off the undocumented nftables netlink ABI, and a ban costs a few milliseconds.

use std::io::Write;
use std::net::IpAddr;
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use ipnet::IpNet;

use crate::nft_netlink;

/// Packet mark bit set on allow-listed packets so the queue hook lets them through.
pub const ALLOW_MARK: u32 = 0x4000_0000;

/// How packets reach the daemon.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueHook {
    /// nftables `queue` statement in Palisade's table.
    Native,
    /// iptables-nft `-j NFQUEUE` (xt target) in chain PALISADE of `ip[6] filter`.
    IptablesNft,
}

impl std::fmt::Display for QueueHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            QueueHook::Native => "nftables native queue statement",
            QueueHook::IptablesNft => "iptables-nft NFQUEUE target",
        })
    }
}

#[derive(Debug, Clone)]
pub struct SetupOptions {
    pub table: String,
    pub ports: Vec<u16>,
    /// "tcp" and/or "udp".
    pub protocols: Vec<String>,
    /// Also queue TCP SYNs to any port (port-scan detection).
    pub syn_all_ports: bool,
    pub queue_base: u16,
    pub queues: u16,
    pub fail_closed: bool,
    pub allow: Vec<IpNet>,
    pub deny: Vec<IpNet>,
    /// Try the native queue statement first (tests can force the fallback).
    pub try_native: bool,
}

/// Checks a table name: it is spliced into nft scripts and iptables chain names.
pub fn check_table_name(name: &str) -> Result<()> {
    if name.is_empty()
        || name.len() > 20
        || !name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    {
        bail!("table name {name:?} must be 1-20 characters of a-z, 0-9 and _");
    }
    Ok(())
}

/// The iptables chain used by the fallback hook.
pub fn xt_chain(table: &str) -> String {
    if table == "palisade" {
        "PALISADE".into()
    } else {
        format!("PAL_{}", table.to_ascii_uppercase())
    }
}

fn run(cmd: &str, args: &[&str], stdin: Option<&str>) -> Result<String> {
    let mut c = Command::new(cmd);
    c.args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().with_context(|| {
        format!("running {cmd} (is it installed? apt-get install nftables iptables)")
    })?;
    if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
        pipe.write_all(text.as_bytes())
            .with_context(|| format!("writing to {cmd}"))?;
    }
    let out = child
        .wait_with_output()
        .with_context(|| format!("waiting for {cmd}"))?;
    if !out.status.success() {
        bail!(
            "{cmd} {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Runs an nft script as one atomic transaction.
pub fn nft_script(script: &str) -> Result<()> {
    run("nft", &["-f", "-"], Some(script)).map(|_| ())
}

fn elements(nets: &[IpNet], v4: bool) -> String {
    let v: Vec<String> = nets
        .iter()
        .filter(|n| matches!(n, IpNet::V4(_)) == v4)
        .map(|n| n.trunc().to_string())
        .collect();
    if v.is_empty() {
        String::new()
    } else {
        format!(" elements = {{ {} }};", v.join(", "))
    }
}

fn queue_range(o: &SetupOptions) -> (u16, u16) {
    let n = o.queues.max(1);
    (o.queue_base, o.queue_base.saturating_add(n - 1))
}

fn table_script(o: &SetupOptions) -> String {
    let t = &o.table;
    format!(
        "table inet {t} {{}}\n\
         delete table inet {t}\n\
         table inet {t} {{\n\
         \x20 set allow4 {{ type ipv4_addr; flags interval; auto-merge;{a4} }}\n\
         \x20 set allow6 {{ type ipv6_addr; flags interval; auto-merge;{a6} }}\n\
         \x20 set deny4 {{ type ipv4_addr; flags interval; auto-merge;{d4} }}\n\
         \x20 set deny6 {{ type ipv6_addr; flags interval; auto-merge;{d6} }}\n\
         \x20 set ban4 {{ type ipv4_addr; flags timeout; }}\n\
         \x20 set ban6 {{ type ipv6_addr; flags timeout; }}\n\
         \x20 chain pre {{\n\
         \x20   type filter hook prerouting priority raw; policy accept;\n\
         \x20   ip saddr @allow4 meta mark set meta mark | {mark:#x} counter accept\n\
         \x20   ip6 saddr @allow6 meta mark set meta mark | {mark:#x} counter accept\n\
         \x20   ip saddr @ban4 counter drop\n\
         \x20   ip6 saddr @ban6 counter drop\n\
         \x20   ip saddr @deny4 counter drop\n\
         \x20   ip6 saddr @deny6 counter drop\n\
         \x20 }}\n\
         }}\n",
        a4 = elements(&o.allow, true),
        a6 = elements(&o.allow, false),
        d4 = elements(&o.deny, true),
        d6 = elements(&o.deny, false),
        mark = ALLOW_MARK,
    )
}

fn port_list(ports: &[u16]) -> String {
    ports
        .iter()
        .map(|p| p.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

fn check_options(o: &SetupOptions) -> Result<()> {
    check_table_name(&o.table)?;
    if o.ports.is_empty() {
        bail!("no ports to queue");
    }
    for p in &o.protocols {
        if p != "tcp" && p != "udp" {
            bail!("protocol {p:?}: only tcp and udp can be queued");
        }
    }
    if o.protocols.is_empty() {
        bail!("no protocols to queue");
    }
    Ok(())
}

/// Installs (or replaces) Palisade's table and queue hook. Returns the hook used.
pub fn setup(o: &SetupOptions) -> Result<QueueHook> {
    check_options(o)?;
    // Replace, not add to, a previous setup.
    remove_xt_hook(&o.table);
    nft_script(&table_script(o)).context("creating the nftables table")?;
    let (lo, hi) = queue_range(o);
    if o.try_native {
        let script = native_queue_script(o);
        match nft_script(&script) {
            Ok(()) => return Ok(QueueHook::Native),
            Err(e) => {
                tracing::info!(
                    "nftables queue statement refused ({e:#}); using iptables-nft NFQUEUE"
                );
                // A half-made chain must not stay behind.
                let _ = nft_script(&format!("delete chain inet {} to_daemon\n", o.table));
            }
        }
    }
    if let Err(e) = add_xt_hook(o, lo, hi) {
        remove_xt_hook(&o.table);
        let _ = nft_script(&format!("delete table inet {}\n", o.table));
        return Err(e);
    }
    Ok(QueueHook::IptablesNft)
}

/// The nft script adding the native queue hook (chain `to_daemon`) to an existing table.
pub fn native_queue_script(o: &SetupOptions) -> String {
    let (lo, hi) = queue_range(o);
    let (queue, flags) = if lo == hi {
        let flags = if o.fail_closed { "" } else { " bypass" };
        (format!("queue num {lo}"), flags)
    } else {
        let flags = if o.fail_closed {
            " fanout"
        } else {
            " bypass,fanout"
        };
        (format!("queue num {lo}-{hi}"), flags)
    };
    let mut rules = String::new();
    for proto in &o.protocols {
        rules.push_str(&format!(
            "add rule inet {t} to_daemon meta l4proto {proto} {proto} dport {{ {ports} }} {queue}{flags}\n",
            t = o.table,
            ports = port_list(&o.ports).replace(',', ", ")
        ));
    }
    if o.syn_all_ports {
        rules.push_str(&format!(
            "add rule inet {t} to_daemon tcp flags & (syn | ack) == syn {queue}{flags}\n",
            t = o.table
        ));
    }
    format!(
        "add chain inet {t} to_daemon {{ type filter hook input priority filter; policy accept; }}\n\
         add rule inet {t} to_daemon meta mark & {mark:#x} == {mark:#x} accept\n{rules}",
        t = o.table,
        mark = ALLOW_MARK
    )
}

fn add_xt_hook(o: &SetupOptions, lo: u16, hi: u16) -> Result<()> {
    let chain = xt_chain(&o.table);
    let mark = format!("{ALLOW_MARK:#x}/{ALLOW_MARK:#x}");
    let queue: Vec<String> = if lo == hi {
        vec!["--queue-num".into(), lo.to_string()]
    } else {
        vec![
            "--queue-balance".into(),
            format!("{lo}:{hi}"),
            "--queue-cpu-fanout".into(),
        ]
    };
    for ipt in ["iptables-nft", "ip6tables-nft"] {
        run(ipt, &["-w", "-N", &chain], None)?;
        run(
            ipt,
            &[
                "-w", "-A", &chain, "-m", "mark", "--mark", &mark, "-j", "RETURN",
            ],
            None,
        )?;
        for proto in &o.protocols {
            // multiport takes at most 15 ports per rule
            for chunk in o.ports.chunks(15) {
                let ports = port_list(chunk);
                let mut args: Vec<&str> = vec![
                    "-w",
                    "-A",
                    &chain,
                    "-p",
                    proto,
                    "-m",
                    "multiport",
                    "--dports",
                    &ports,
                    "-j",
                    "NFQUEUE",
                ];
                args.extend(queue.iter().map(String::as_str));
                if !o.fail_closed {
                    args.push("--queue-bypass");
                }
                run(ipt, &args, None)?;
            }
        }
        if o.syn_all_ports {
            let mut args: Vec<&str> =
                vec!["-w", "-A", &chain, "-p", "tcp", "--syn", "-j", "NFQUEUE"];
            args.extend(queue.iter().map(String::as_str));
            if !o.fail_closed {
                args.push("--queue-bypass");
            }
            run(ipt, &args, None)?;
        }
        run(ipt, &["-w", "-I", "INPUT", "1", "-j", &chain], None)?;
    }
    Ok(())
}

/// Removes the fallback hook; absent pieces are fine. If that leaves `ip[6] filter` with no
/// rule at all and accepting policies, the table was most likely created by iptables-nft for
/// us, and is removed so the ruleset is as before setup.
fn remove_xt_hook(table: &str) {
    let chain = xt_chain(table);
    for (ipt, family) in [("iptables-nft", "ip"), ("ip6tables-nft", "ip6")] {
        let present = run(ipt, &["-w", "-S", &chain], None).is_ok();
        if !present {
            continue;
        }
        for _ in 0..16 {
            if run(ipt, &["-w", "-D", "INPUT", "-j", &chain], None).is_err() {
                break;
            }
        }
        let _ = run(ipt, &["-w", "-F", &chain], None);
        let _ = run(ipt, &["-w", "-X", &chain], None);
        if let Ok(rules) = run(ipt, &["-w", "-S"], None) {
            let only_defaults = rules
                .lines()
                .all(|l| l.starts_with("-P ") && l.ends_with(" ACCEPT"));
            if only_defaults {
                let _ = nft_script(&format!("delete table {family} filter\n"));
            }
        }
    }
}

/// Removes Palisade's table and queue hook. Not an error when they are absent.
pub fn teardown(table: &str) -> Result<()> {
    check_table_name(table)?;
    remove_xt_hook(table);
    nft_script(&format!(
        "table inet {table} {{}}\ndelete table inet {table}\n"
    ))
    .context("deleting the nftables table")
}

/// Whether Palisade's table exists.
pub fn table_exists(table: &str) -> bool {
    run("nft", &["list", "table", "inet", table], None).is_ok()
}

/// One element for the ban set.
#[derive(Debug, Clone)]
pub struct BanElement {
    pub addr: IpAddr,
    /// None: no timeout (until unbanned).
    pub ttl: Option<Duration>,
    pub comment: String,
}

fn set_for(addr: &IpAddr) -> &'static str {
    match addr {
        IpAddr::V4(_) => "ban4",
        IpAddr::V6(a) if a.to_ipv4_mapped().is_some() => "ban4",
        IpAddr::V6(_) => "ban6",
    }
}

fn canonical(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V6(a) => a.to_ipv4_mapped().map_or(addr, IpAddr::V4),
        a => a,
    }
}

/// nft comments are quoted strings of at most 128 bytes.
fn comment_text(c: &str) -> String {
    let mut s: String = c
        .chars()
        .map(|ch| {
            if ch == '"' || ch == '\\' || ch.is_control() {
                '\''
            } else {
                ch
            }
        })
        .collect();
    while s.len() > 120 {
        s.pop();
    }
    s
}

fn ttl_text(ttl: Duration) -> String {
    // nft's minimum useful unit is ms; round up so a ban never becomes permanent by accident
    format!("{}ms", ttl.as_millis().max(1))
}

/// Adds (or refreshes the timeout of) bans in one transaction. The add-delete-add sequence
/// makes an existing element take the new timeout and comment. Netlink first (fast); the
/// `nft` command if that fails.
pub fn add_bans(table: &str, bans: &[BanElement]) -> Result<()> {
    if bans.is_empty() {
        return Ok(());
    }
    let comments: Vec<String> = bans.iter().map(|b| comment_text(&b.comment)).collect();
    fn op<'a>(
        b: &BanElement,
        add: bool,
        excl: bool,
        last: Option<&'a String>,
    ) -> nft_netlink::Op<'a> {
        let addr = canonical(b.addr);
        nft_netlink::Op {
            set: set_for(&addr),
            addr,
            add,
            excl,
            timeout: if last.is_some() { b.ttl } else { None },
            comment: last.map(String::as_str),
        }
    }
    // Fast path: the elements are new (the usual case: a banned source's packets never
    // reach the daemon again).
    let fresh: Vec<_> = bans
        .iter()
        .zip(&comments)
        .map(|(b, c)| op(b, true, true, Some(c)))
        .collect();
    let refresh: Vec<_> = bans
        .iter()
        .zip(&comments)
        .flat_map(|(b, c)| {
            [
                op(b, true, false, None),
                op(b, false, false, None),
                op(b, true, false, Some(c)),
            ]
        })
        .collect();
    let result = match nft_netlink::apply(table, &fresh) {
        Err(e) if e.raw_os_error() == Some(libc::EEXIST) => nft_netlink::apply(table, &refresh),
        r => r,
    };
    match result {
        Ok(()) => return Ok(()),
        Err(e) => tracing::debug!("netlink ban failed ({e}); trying the nft command"),
    }
    let mut script = String::new();
    for b in bans {
        let addr = canonical(b.addr);
        let set = set_for(&addr);
        let elem = match b.ttl {
            Some(t) => format!(
                "{addr} timeout {} comment \"{}\"",
                ttl_text(t),
                comment_text(&b.comment)
            ),
            None => format!("{addr} comment \"{}\"", comment_text(&b.comment)),
        };
        script.push_str(&format!(
            "add element inet {table} {set} {{ {addr} }}\n\
             delete element inet {table} {set} {{ {addr} }}\n\
             add element inet {table} {set} {{ {elem} }}\n"
        ));
    }
    nft_script(&script).with_context(|| {
        format!("adding bans to the ban set of table inet {table} (has `palisade ips setup` run?)")
    })
}

/// Removes a ban from the kernel set; not an error when it is not there.
pub fn del_ban(table: &str, addr: IpAddr) -> Result<()> {
    let addr = canonical(addr);
    let set = set_for(&addr);
    let op = |add| nft_netlink::Op {
        set,
        addr,
        add,
        excl: false,
        timeout: None,
        comment: None,
    };
    if nft_netlink::apply(table, &[op(true), op(false)]).is_ok() {
        return Ok(());
    }
    // add-then-delete: deleting an absent element would fail the transaction
    nft_script(&format!(
        "add element inet {table} {set} {{ {addr} }}\ndelete element inet {table} {set} {{ {addr} }}\n"
    ))
    .context("removing a ban from the nftables ban set")
}

/// Addresses currently in the kernel ban sets.
pub fn kernel_bans(table: &str) -> Result<Vec<IpAddr>> {
    let mut out = Vec::new();
    for set in ["ban4", "ban6"] {
        let json = run("nft", &["-j", "list", "set", "inet", table, set], None)?;
        let v: serde_json::Value =
            serde_json::from_str(&json).map_err(|e| anyhow!("parsing nft -j output: {e}"))?;
        let elems = v["nftables"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|o| o.get("set"))
            .filter_map(|s| s.get("elem"))
            .filter_map(|e| e.as_array())
            .flatten();
        for e in elems {
            let val = e.get("elem").and_then(|x| x.get("val")).or(Some(e));
            if let Some(a) = val.and_then(|v| v.as_str()).and_then(|s| s.parse().ok()) {
                out.push(a);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_script_puts_allow_before_ban_and_splits_families() {
        let o = SetupOptions {
            table: "palisade".into(),
            ports: vec![80, 443],
            protocols: vec!["tcp".into()],
            syn_all_ports: true,
            queue_base: 10,
            queues: 2,
            fail_closed: false,
            allow: vec![
                "192.0.2.0/24".parse().unwrap(),
                "2001:db8::/32".parse().unwrap(),
            ],
            deny: vec!["198.51.100.0/24".parse().unwrap()],
            try_native: true,
        };
        let s = table_script(&o);
        assert!(s.contains("set allow4 { type ipv4_addr; flags interval; auto-merge; elements = { 192.0.2.0/24 }; }"));
        assert!(s.contains("set allow6 { type ipv6_addr; flags interval; auto-merge; elements = { 2001:db8::/32 }; }"));
        assert!(s.contains("set ban4 { type ipv4_addr; flags timeout; }"));
        assert!(s.find("@allow4").unwrap() < s.find("@ban4").unwrap());
        assert_eq!(queue_range(&o), (10, 11));
        // Several queues: CPU fanout; one queue: none.
        let q = native_queue_script(&o);
        assert!(q.contains("queue num 10-11 bypass,fanout\n"), "{q}");
        let q = native_queue_script(&SetupOptions {
            fail_closed: true,
            ..o.clone()
        });
        assert!(q.contains("queue num 10-11 fanout\n"), "{q}");
        let q = native_queue_script(&SetupOptions {
            queues: 1,
            ..o.clone()
        });
        assert!(q.contains("queue num 10 bypass\n"), "{q}");
        assert!(check_table_name("bad name").is_err());
        assert!(check_table_name("palisade_t1").is_ok());
    }

    #[test]
    fn comments_cannot_break_out_of_the_script() {
        assert_eq!(comment_text("a\"b\\c\nd"), "a'b'c'd");
        assert!(comment_text(&"x".repeat(500)).len() <= 120);
        assert_eq!(set_for(&"::ffff:1.2.3.4".parse().unwrap()), "ban4");
        assert_eq!(ttl_text(Duration::from_secs(30)), "30000ms");
    }
}
