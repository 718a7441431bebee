//! The `palisade` binary as a user runs it: `check` on raw request files, `serve` with the
//! embedded defaults (demo app), hot reload on SIGHUP, and shutdown on SIGTERM.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_palisade"))
}

struct Temp(PathBuf);
impl Temp {
    fn new(tag: &str) -> Temp {
        let p = std::env::temp_dir().join(format!("palisade-cli-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).expect("temp dir");
        Temp(p)
    }
    fn write(&self, rel: &str, text: &[u8]) -> PathBuf {
        let p = self.0.join(rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(&p, text).expect("write");
        p
    }
}
impl Drop for Temp {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn check(args: &[&str], stdin: &[u8]) -> (i32, String, String) {
    let mut child = Command::new(bin())
        .arg("check")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn palisade check");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin)
        .expect("write stdin");
    let out = child.wait_with_output().expect("wait");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn check_blocks_an_attack_and_passes_a_benign_request() {
    let attack = b"GET /search?q=1%27%20UNION%20SELECT%20password%20FROM%20users-- HTTP/1.1\r\nHost: shop.example.com\r\n\r\n";
    let (code, out, err) = check(&[], attack);
    assert_eq!(code, 1, "stdout: {out}\nstderr: {err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("JSON verdict");
    assert_eq!(v["action"], "block");
    assert!(v["score"].as_u64().unwrap_or(0) >= 5);
    let findings = v["findings"].as_array().expect("findings");
    assert!(findings.iter().any(|f| f["target"] == "ARGS:q"), "{out}");

    let benign = b"GET /search?q=trail+running+shoes&page=2 HTTP/1.1\r\nHost: shop.example.com\r\nUser-Agent: Mozilla/5.0\r\n\r\n";
    let (code, out, _) = check(&[], benign);
    assert_eq!(code, 0, "{out}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("JSON verdict");
    assert_eq!(v["action"], "allow");
}

#[test]
fn a_closed_stdout_ends_a_one_shot_command_without_a_panic() {
    // `palisade check --corpus F | head -1`: the reader is gone before the summary is
    // written. The command ends as Unix tools do (SIGPIPE), not with a panic and status 101.
    use std::os::unix::process::ExitStatusExt;
    let dir = Temp::new("pipe");
    let corpus = dir.write(
        "corpus.jsonl",
        br#"{"method": "GET", "path": "/?q=1%27%20or%201=1--", "label": "attack"}
"#,
    );
    let mut child = Command::new(bin())
        .args(["check", "--corpus"])
        .arg(&corpus)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn palisade check");
    // the command loads its detectors first (most of a second): the reader closes long before
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("wait");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.signal(), Some(13), "{:?}", out.status);
}

#[test]
fn check_reports_bad_input_and_bad_rule_files_clearly() {
    let (code, _, err) = check(&[], b"GET / HTTP/1.1\r\nHost: x\r\n");
    assert_eq!(code, 2);
    assert!(err.contains("incomplete request head"), "{err}");

    let t = Temp::new("badrules");
    t.write("sigs/args/mine.re", b"# ok\nfine\n(unclosed\n");
    let dir = t.0.join("sigs");
    let (code, _, err) = check(
        &["--signatures", dir.to_str().expect("utf8")],
        b"GET / HTTP/1.1\r\n\r\n",
    );
    assert_eq!(code, 2);
    assert!(err.contains("mine.re:3"), "{err}");

    let cfg = t.write("bad.toml", b"[policy]\nmode = \"bloc\"\n");
    let (code, _, err) = check(
        &["--config", cfg.to_str().expect("utf8")],
        b"GET / HTTP/1.1\r\n\r\n",
    );
    assert_eq!(code, 2);
    assert!(err.contains("bad.toml"), "{err}");
}

#[test]
fn check_applies_route_exclusions_from_the_config() {
    let t = Temp::new("exclusion");
    let body = b"content=%3Cp%3EHello%3C%2Fp%3E%3Cscript%3Ealert(1)%3C%2Fscript%3E";
    let req = format!(
        "POST /wp-admin/post.php HTTP/1.1\r\nHost: blog.example.com\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    let mut raw = req.into_bytes();
    raw.extend_from_slice(body);
    let (code, out, _) = check(&[], &raw);
    assert_eq!(code, 1, "without the exclusion the post is blocked: {out}");
    let cfg = t.write(
        "excl.toml",
        b"[[policy.routes]]\npath_prefix = \"/wp-admin/post.php\"\nexcluded_targets = [\"ARGS:content\"]\n",
    );
    let (code, out, _) = check(&["--config", cfg.to_str().expect("utf8")], &raw);
    assert_eq!(code, 0, "{out}");
    // the same payload in another argument or on another path is still blocked
    let other = String::from_utf8_lossy(&raw).replace("content=", "title=");
    let other = other.replace(
        &format!("Content-Length: {}", body.len()),
        &format!("Content-Length: {}", body.len() - 2),
    );
    let (code, _, _) = check(&["--config", cfg.to_str().expect("utf8")], other.as_bytes());
    assert_eq!(code, 1);
}

struct Server {
    child: Child,
    addr: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `palisade serve` on an ephemeral port and reads the bound address from its log.
fn serve(args: &[&str]) -> Server {
    let mut child = Command::new(bin())
        .arg("serve")
        .args(["--listen", "127.0.0.1:0"])
        .args(args)
        .env("PALISADE_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn palisade serve");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(rest) = line.split("listening on http://").nth(1) {
                let _ = tx.send(rest.trim().to_string());
            }
        }
    });
    let addr = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("server did not report its address");
    Server { child, addr }
}

fn http_get(addr: &str, target: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    write!(
        s,
        "GET {target} HTTP/1.1\r\nHost: shop.example.com\r\nConnection: close\r\n\r\n"
    )
    .expect("write");
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).expect("read");
    let text = String::from_utf8_lossy(&buf).into_owned();
    let status = text.get(9..12).and_then(|c| c.parse().ok()).unwrap_or(0);
    (status, text)
}

#[test]
fn serve_with_defaults_fronts_the_demo_app_and_reloads_and_stops_cleanly() {
    let t = Temp::new("serve");
    let sigs = t.0.join("sigs");
    t.write("sigs/args/custom.txt", b"forbidden-word\n");
    let mut server = serve(&["--signatures", sigs.to_str().expect("utf8")]);
    let (status, body) = http_get(&server.addr, "/search?q=trail+running+shoes");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("Results for"));
    let (status, body) = http_get(&server.addr, "/search?q=%3Cscript%3Ealert(1)%3C/script%3E");
    assert_eq!(status, 403, "{body}");
    assert!(
        !body.contains("alert(1)"),
        "block page must not reflect the request"
    );
    assert_eq!(http_get(&server.addr, "/search?q=forbidden-word").0, 403);

    // reload with a broken file keeps the old rules
    t.write(
        "sigs/args/custom.txt",
        b"#@ severity: loud\nforbidden-word\n",
    );
    kill(&server.child, "HUP");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(http_get(&server.addr, "/search?q=forbidden-word").0, 403);
    // a good reload takes effect
    t.write("sigs/args/custom.txt", b"another-word\n");
    kill(&server.child, "HUP");
    let deadline = Instant::now() + Duration::from_secs(10);
    while http_get(&server.addr, "/search?q=forbidden-word").0 == 403 {
        assert!(Instant::now() < deadline, "reload did not take effect");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(http_get(&server.addr, "/search?q=another-word").0, 403);

    kill(&server.child, "TERM");
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Some(status) = server.child.try_wait().expect("wait") {
            assert!(status.success(), "exit status {status:?}");
            break;
        }
        assert!(Instant::now() < deadline, "server did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn kill(child: &Child, signal: &str) {
    let ok = Command::new("kill")
        .args([format!("-{signal}"), child.id().to_string()])
        .status()
        .expect("run kill")
        .success();
    assert!(ok, "kill -{signal} failed");
}

/// `serve --crs`: the OWASP CRS (from ../shared/data) in front of the demo app, end to end
/// over HTTP; a reload with a broken exclusion file keeps the running rules.
#[test]
fn serve_with_the_crs_blocks_attacks_and_survives_a_bad_reload() {
    let crs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/crs");
    assert!(
        crs.join("rules").is_dir(),
        "CRS not found at {}",
        crs.display()
    );
    let t = Temp::new("serve-crs");
    let after = t.write("after.conf", b"SecRuleRemoveById 920350\n");
    let mut server = serve(&[
        "--crs",
        crs.to_str().expect("utf8"),
        "--crs-after",
        after.to_str().expect("utf8"),
        "--no-builtin-signatures",
        "--no-ml",
    ]);
    let sqli = "/search?q=1%27%20union%20select%20password%20from%20users--";
    let (status, body) = http_get(&server.addr, "/search?q=trail+running+shoes");
    assert_eq!(status, 200, "{body}");
    let (status, body) = http_get(&server.addr, sqli);
    assert_eq!(status, 403, "{body}");
    assert!(
        !body.contains("union"),
        "block page must not reflect the request"
    );

    t.write(
        "after.conf",
        b"SecRule ARGS \"@nosuchop x\" \"id:77,phase:2,pass\"\n",
    );
    kill(&server.child, "HUP");
    std::thread::sleep(Duration::from_millis(800));
    assert_eq!(
        http_get(&server.addr, sqli).0,
        403,
        "old rules must stay after a failed reload"
    );
    assert_eq!(
        http_get(&server.addr, "/search?q=trail+running+shoes").0,
        200
    );
    kill(&server.child, "TERM");
    let deadline = Instant::now() + Duration::from_secs(15);
    while server.child.try_wait().expect("wait").is_none() {
        assert!(Instant::now() < deadline, "server did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }
}
