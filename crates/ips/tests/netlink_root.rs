//! Root-only: the netlink paths against a real kernel, in a network namespace made for the
//! test (deleted by a Drop guard). Ban elements written over netlink must show up in
//! `nft list` with their timeout and comment; errors must surface (so the `nft` fallback
//! runs), never pass silently.

use std::process::Command;
use std::time::Duration;

use palisade_ips::netns::in_netns;
use palisade_ips::nft::{self, SetupOptions};
use palisade_ips::nft_netlink::{self, Op};

struct Ns(String);

impl Ns {
    fn new(tag: &str) -> Ns {
        let uid = std::fs::read_to_string("/proc/self/status")
            .unwrap_or_default()
            .lines()
            .find(|l| l.starts_with("Uid:"))
            .and_then(|l| l.split_whitespace().nth(1).map(str::to_string))
            .unwrap_or_default();
        assert_eq!(
            uid, "0",
            "this test needs root (network namespaces, nftables)"
        );
        let name = format!("palips-{tag}-{}", std::process::id());
        let ok = Command::new("ip")
            .args(["netns", "add", &name])
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "ip netns add {name} failed (is iproute2 installed?)");
        Ns(name)
    }

    fn nft(&self, args: &[&str]) -> String {
        let out = Command::new("ip")
            .args(["netns", "exec", &self.0, "nft"])
            .args(args)
            .output()
            .expect("nft");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for Ns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

#[test]
fn netlink_ban_elements_reach_the_kernel_with_timeout_and_comment() {
    let ns = Ns::new("nl");
    let setup = in_netns(&ns.0, || {
        nft::setup(&SetupOptions {
            table: "palisade".into(),
            ports: vec![80],
            protocols: vec!["tcp".into()],
            syn_all_ports: false,
            queue_base: 7,
            queues: 1,
            fail_closed: false,
            allow: vec![],
            deny: vec![],
            try_native: true,
        })
    })
    .expect("netns");
    setup.expect("setup");
    let r = in_netns(&ns.0, || {
        let t = std::time::Instant::now();
        let r = nft_netlink::apply(
            "palisade",
            &[
                Op {
                    set: "ban4",
                    addr: "192.0.2.77".parse().unwrap(),
                    add: true,
                    excl: false,
                    timeout: Some(Duration::from_secs(90)),
                    comment: Some("detect: port scan"),
                },
                Op {
                    set: "ban6",
                    addr: "2001:db8::77".parse().unwrap(),
                    add: true,
                    excl: false,
                    timeout: None,
                    comment: None,
                },
            ],
        );
        eprintln!("netlink apply of 2 elements took {:?}", t.elapsed());
        r
    })
    .expect("netns");
    r.expect("netlink apply");
    let v4 = ns.nft(&["list", "set", "inet", "palisade", "ban4"]);
    assert!(
        v4.contains("192.0.2.77 timeout 1m30s") && v4.contains("comment \"detect: port scan\""),
        "{v4}"
    );
    let v6 = ns.nft(&["list", "set", "inet", "palisade", "ban6"]);
    assert!(v6.contains("2001:db8::77"), "{v6}");

    // Re-banning refreshes timeout and comment (exclusive add says EEXIST, then the
    // add-delete-add path).
    for (ttl, comment) in [(60, "first"), (3600, "second")] {
        let r = in_netns(&ns.0, move || {
            nft::add_bans(
                "palisade",
                &[nft::BanElement {
                    addr: "192.0.2.80".parse().unwrap(),
                    ttl: Some(Duration::from_secs(ttl)),
                    comment: comment.into(),
                }],
            )
        })
        .expect("netns");
        r.expect("add_bans");
    }
    let v4 = ns.nft(&["list", "set", "inet", "palisade", "ban4"]);
    assert!(
        v4.contains("192.0.2.80 timeout 1h expires")
            && v4.contains("comment \"second\"")
            && !v4.contains("\"first\""),
        "{v4}"
    );

    // Deleting an absent element aborts the whole batch with ENOENT, and nothing changes.
    let r = in_netns(&ns.0, || {
        nft_netlink::apply(
            "palisade",
            &[
                Op {
                    set: "ban4",
                    addr: "192.0.2.78".parse().unwrap(),
                    add: true,
                    excl: false,
                    timeout: None,
                    comment: None,
                },
                Op {
                    set: "ban4",
                    addr: "192.0.2.79".parse().unwrap(),
                    add: false,
                    excl: false,
                    timeout: None,
                    comment: None,
                },
            ],
        )
    })
    .expect("netns");
    assert_eq!(
        r.expect_err("must fail").raw_os_error(),
        Some(libc_enoent())
    );
    assert!(!ns
        .nft(&["list", "set", "inet", "palisade", "ban4"])
        .contains("192.0.2.78"));
    // A missing table is an error too.
    let r = in_netns(&ns.0, || {
        nft_netlink::apply(
            "nosuchtable",
            &[Op {
                set: "ban4",
                addr: "192.0.2.1".parse().unwrap(),
                add: true,
                excl: false,
                timeout: None,
                comment: None,
            }],
        )
    })
    .expect("netns");
    assert!(r.is_err());
    // The native queue hook script is valid nft: where the kernel has no queue expression
    // it is refused by the kernel (ENOENT), never by the parser.
    let script = nft::native_queue_script(&SetupOptions {
        table: "palisade".into(),
        ports: vec![80, 443],
        protocols: vec!["tcp".into(), "udp".into()],
        syn_all_ports: true,
        queue_base: 7,
        queues: 2,
        fail_closed: false,
        allow: vec![],
        deny: vec![],
        try_native: true,
    });
    let path = std::env::temp_dir().join(format!("palisade-native-{}.nft", std::process::id()));
    std::fs::write(&path, &script).expect("write script");
    let out = Command::new("ip")
        .args(["netns", "exec", &ns.0, "nft", "-c", "-f"])
        .arg(&path)
        .output()
        .expect("nft -c");
    let _ = std::fs::remove_file(&path);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("syntax error"), "{script}\n{err}");

    // And teardown removes everything setup made.
    in_netns(&ns.0, || nft::teardown("palisade"))
        .expect("netns")
        .expect("teardown");
    assert_eq!(ns.nft(&["list", "ruleset"]).trim(), "");
}

fn libc_enoent() -> i32 {
    2
}
