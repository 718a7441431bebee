//! Bring-your-own transformer through the `palisade` binary: `check --model-dir`,
//! `[ml.transformer]` in the config file, and `serve --model-dir` in front of a real
//! loopback upstream, with generated tiny BERT/DistilBERT sequence classifiers whose
//! decisions are known (texts with a trigger word such as `union` or `script` are attacks,
//! or — flipped — the only benign ones).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use palisade_transformer::tiny::{self, TinySpec, Weights};

fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_palisade"))
}

struct Temp(PathBuf);

impl Temp {
    fn new(tag: &str) -> Temp {
        let p = std::env::temp_dir().join(format!("palisade-tf-cli-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        Temp(p)
    }

    fn model(&self, name: &str, spec: &TinySpec) -> PathBuf {
        let dir = self.0.join(name);
        tiny::write(&dir, spec).unwrap();
        dir
    }
}

impl Drop for Temp {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn flipped(spec: TinySpec) -> TinySpec {
    TinySpec {
        weights: Weights::Trigger {
            triggered: 0,
            otherwise: 1,
        },
        ..spec
    }
}

const ATTACK: &[u8] =
    b"GET /search?q=1%27%20UNION%20SELECT%20password%20FROM%20users-- HTTP/1.1\r\nHost: shop.example.com\r\n\r\n";
const BENIGN: &[u8] =
    b"GET /search?q=trail+running+shoes%21 HTTP/1.1\r\nHost: shop.example.com\r\n\r\n";

/// `palisade check` with only the transformer deciding (no signatures, no built-in model).
fn check(args: &[&str], request: &[u8]) -> (i32, String, String) {
    let mut child = Command::new(bin())
        .args(["check", "--no-builtin-signatures", "--no-ml"])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A refused model directory ends the process before it reads the request: the write
    // may then fail with a broken pipe, which is not what these tests are about.
    let _ = child.stdin.take().unwrap().write_all(request);
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn check_with_model_dir_decides_as_the_model_does() {
    let t = Temp::new("check");
    let model = t.model("bert", &TinySpec::bert());
    let (code, out, err) = check(&["--model-dir", path(&model)], ATTACK);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("\"transformer:attack\""), "{out}");
    assert!(out.contains("\"REQUEST_URI\""), "{out}");
    let (code, out, err) = check(&["--model-dir", path(&model)], BENIGN);
    assert_eq!(code, 0, "{out}{err}");
    assert!(!out.contains("transformer:"), "{out}");

    // The flipped model decides the other way round on the same requests.
    let model = t.model("flipped", &flipped(TinySpec::bert()));
    assert_eq!(check(&["--model-dir", path(&model)], ATTACK).0, 0);
    assert_eq!(check(&["--model-dir", path(&model)], BENIGN).0, 1);

    // Thresholds from the flags: never blocking alone, the attack is only flagged.
    let model = t.model("bert2", &TinySpec::bert());
    let (code, out, _) = check(
        &[
            "--model-dir",
            path(&model),
            "--transformer-probability-block",
            "2",
        ],
        ATTACK,
    );
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("\"transformer:attack\"") && out.contains("\"flag\""),
        "{out}"
    );
}

#[test]
fn config_file_transformer_section_with_a_distilbert_and_a_benign_label() {
    let t = Temp::new("config");
    // Labels named so that the default rule cannot tell the benign one: benign_label does.
    let spec = TinySpec {
        labels: vec!["ok".into(), "injection".into()],
        ..TinySpec::distilbert()
    };
    let model = t.model("distil", &spec);
    let config = t.0.join("palisade.toml");
    std::fs::write(
        &config,
        format!(
            "[ml.transformer]\nmodel_dir = {:?}\nbenign_label = \"ok\"\nmax_tokens = 64\n",
            path(&model)
        ),
    )
    .unwrap();
    let (code, out, err) = check(&["--config", path(&config)], ATTACK);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("\"transformer:injection\""), "{out}");
    assert_eq!(check(&["--config", path(&config)], BENIGN).0, 0);
    // Without benign_label the directory is refused, naming config.json.
    std::fs::write(
        &config,
        format!("[ml.transformer]\nmodel_dir = {:?}\n", path(&model)),
    )
    .unwrap();
    let (code, _, err) = check(&["--config", path(&config)], BENIGN);
    assert_eq!(code, 2);
    assert!(
        err.contains("config.json") && err.contains("benign_label"),
        "{err}"
    );
}

#[test]
fn broken_model_dirs_are_refused_with_the_file_named() {
    let t = Temp::new("broken");
    let missing = t.0.join("nothing-here");
    let (code, _, err) = check(&["--model-dir", path(&missing)], BENIGN);
    assert_eq!(code, 2);
    assert!(
        err.contains("nothing-here") && err.contains("no such model directory"),
        "{err}"
    );

    let model = t.model("no-tokenizer", &TinySpec::bert());
    std::fs::remove_file(model.join("tokenizer.json")).unwrap();
    let (code, _, err) = check(&["--model-dir", path(&model)], BENIGN);
    assert_eq!(code, 2);
    assert!(err.contains("tokenizer.json: missing"), "{err}");

    let model = t.model("bad-config", &TinySpec::bert());
    std::fs::write(model.join("config.json"), "{ not json").unwrap();
    let (code, _, err) = check(&["--model-dir", path(&model)], BENIGN);
    assert_eq!(code, 2);
    assert!(err.contains("config.json: not valid JSON"), "{err}");

    let model = t.model("pickle", &TinySpec::bert());
    std::fs::remove_file(model.join("model.safetensors")).unwrap();
    std::fs::write(
        model.join("pytorch_model.bin"),
        b"\x80\x02c__builtin__\neval\n",
    )
    .unwrap();
    let (code, _, err) = check(&["--model-dir", path(&model)], BENIGN);
    assert_eq!(code, 2);
    assert!(
        err.contains("pytorch_model.bin") && err.contains("pickle"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
}

/// A loopback upstream that answers every request with 200 `upstream saw <request line>`.
fn upstream() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut first = String::new();
                let _ = reader.read_line(&mut first);
                let mut length = 0usize;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap_or(0);
                    }
                }
                let mut body = vec![0; length];
                let _ = reader.read_exact(&mut body);
                let text = format!("upstream saw {}", first.trim());
                let _ = write!(
                    stream,
                    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
                    text.len()
                );
            });
        }
    });
    addr
}

struct Server(Child, String);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn serve(args: &[&str]) -> Server {
    let mut child = Command::new(bin())
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--no-builtin-signatures",
            "--no-ml",
        ])
        .args(args)
        .env("PALISADE_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(rest) = line.split("listening on http://").nth(1) {
                let _ = tx.send(rest.trim().to_string());
            }
        }
    });
    let addr = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("server did not report its address");
    Server(child, addr)
}

fn send(addr: &str, request: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).unwrap();
    let text = String::from_utf8_lossy(&buf).into_owned();
    let status = text.get(9..12).and_then(|c| c.parse().ok()).unwrap_or(0);
    (status, text)
}

fn get(addr: &str, target: &str) -> (u16, String) {
    send(
        addr,
        &format!("GET {target} HTTP/1.1\r\nHost: shop.example.com\r\nConnection: close\r\n\r\n"),
    )
}

fn post_form(addr: &str, body: &str) -> (u16, String) {
    send(
        addr,
        &format!(
            "POST /comment HTTP/1.1\r\nHost: shop.example.com\r\nConnection: close\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        ),
    )
}

#[test]
fn serve_with_model_dir_blocks_and_forwards_as_the_model_decides() {
    let t = Temp::new("serve");
    let up = format!("http://{}", upstream());
    let model = t.model("bert", &TinySpec::bert());
    let server = serve(&["--upstream", &up, "--model-dir", path(&model)]);
    let addr = server.1.clone();
    let (status, body) = get(&addr, "/search?q=trail+running+shoes");
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains("upstream saw GET /search?q=trail+running+shoes"),
        "{body}"
    );
    let (status, body) = get(&addr, "/search?q=1%27+union+select+password+from+users--");
    assert_eq!(status, 403, "{body}");
    assert!(!body.contains("upstream saw"), "{body}");
    // A body field is scored too.
    assert_eq!(post_form(&addr, "name=anna&text=nice+shoes%21").0, 200);
    assert_eq!(
        post_form(&addr, "name=anna&text=%3Cscript%3Ealert(1)%3C/script%3E").0,
        403
    );

    // Concurrent requests (inspected off the async executor, batched by the worker) each
    // get their own decision.
    let handles: Vec<_> = (0..12)
        .map(|i| {
            let addr = addr.clone();
            std::thread::spawn(move || {
                let target = if i % 3 == 0 {
                    format!("/item?id={i}&q=sleep(5)")
                } else {
                    format!("/item?id={i}&q=hello+world!")
                };
                (i, get(&addr, &target).0)
            })
        })
        .collect();
    for h in handles {
        let (i, status) = h.join().unwrap();
        assert_eq!(status, if i % 3 == 0 { 403 } else { 200 }, "request {i}");
    }
    drop(server);

    // The flipped model, same requests: the decisions flip.
    let model = t.model("flipped", &flipped(TinySpec::distilbert()));
    let server = serve(&["--upstream", &up, "--model-dir", path(&model)]);
    assert_eq!(get(&server.1, "/search?q=trail+running+shoes").0, 403);
    assert_eq!(
        get(
            &server.1,
            "/search?q=1%27+union+select+password+from+users--"
        )
        .0,
        200
    );
}
