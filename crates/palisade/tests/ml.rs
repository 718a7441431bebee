//! The machine-learned detectors as a user meets them: the shipped classifier on the
//! hand-written corpora (held out from training) together with the signatures, `[ml]`
//! settings, a clear error for a bad model file, `palisade train`/`eval` on a small subset,
//! and learning mode on the CSIC 2010 normal traffic.

use std::path::{Path, PathBuf};
use std::process::Command;

use palisade::config::Config;
use palisade::corpus::load;
use palisade::detectors::build_engine;
use palisade_engine::Engine;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn data() -> PathBuf {
    let d = root().join("../shared/data");
    assert!(
        d.join("csic2010").is_dir(),
        "shared data not found at {}",
        d.display()
    );
    d
}

fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_palisade"))
}

fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(bin())
        .args(args)
        .current_dir(root())
        .output()
        .expect("run palisade");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn temp(tag: &str) -> PathBuf {
    let p = std::env::temp_dir().join(format!("palisade-ml-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&p);
    std::fs::create_dir_all(&p).expect("temp dir");
    p
}

fn corpus_files(sub: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(root().join("corpus").join(sub))
        .expect("corpus dir")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    v.sort();
    v
}

/// (requests, blocked) over every file of `corpus/<sub>`.
fn blocked(engine: &Engine, sub: &str, only: Option<&[&str]>) -> (usize, usize) {
    let (mut n, mut b) = (0, 0);
    for f in corpus_files(sub) {
        let stem = f
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        if only.is_some_and(|o| !o.contains(&stem.as_str())) {
            continue;
        }
        for e in load(&f).expect("corpus") {
            n += 1;
            b += usize::from(
                engine
                    .inspect_request(&e.to_model().expect("model"))
                    .over_threshold,
            );
        }
    }
    (n, b)
}

fn engines(ml: impl Fn(&mut Config)) -> (Engine, Engine) {
    let mut config = Config::load(None).expect("default config");
    config.ml.enabled = false;
    let signatures = build_engine(&config).expect("engine");
    config.ml.enabled = true;
    ml(&mut config);
    (signatures, build_engine(&config).expect("engine"))
}

#[test]
fn model_with_signatures_keeps_benign_traffic_passing_and_blocks_no_less() {
    let (signatures, combined) = engines(|_| {});
    let (nb, sig_fp) = blocked(&signatures, "benign", None);
    let (_, comb_fp) = blocked(&combined, "benign", None);
    let (na, sig_tp) = blocked(&signatures, "attacks", None);
    let (_, comb_tp) = blocked(&combined, "attacks", None);
    println!("benign {nb}: blocked by signatures {sig_fp}, signatures+model {comb_fp}");
    println!("attacks {na}: blocked by signatures {sig_tp}, signatures+model {comb_tp}");
    assert!(
        comb_fp as f64 <= 0.005 * nb as f64,
        "model adds false positives: {comb_fp}/{nb}"
    );
    assert!(
        comb_tp > sig_tp,
        "signatures+model must beat signatures alone"
    );
}

#[test]
fn model_alone_blocks_held_out_injection_attacks_at_high_confidence() {
    // Only the model, blocking alone from probability_catch (no signatures).
    let mut config = Config::load(None).expect("default config");
    config.signatures.builtin = false;
    let catch = palisade_ml::default_model().expect("model").threshold;
    config.ml.probability_block = catch;
    let engine = build_engine(&config).expect("engine");
    let injections: &[&str] = &["sqli", "xss", "ssti", "traversal_lfi", "xxe"];
    let (n, b) = blocked(&engine, "attacks", Some(injections));
    let tpr = b as f64 / n as f64;
    println!("model alone on {injections:?}: {b}/{n} (TPR {tpr:.3}) at p >= {catch:.3}");
    assert!(tpr >= 0.9, "model alone TPR {tpr:.3}");
    let (nb, fp) = blocked(&engine, "benign", None);
    let fpr = fp as f64 / nb as f64;
    println!("model alone on benign: {fp}/{nb} (FPR {fpr:.3})");
    assert!(fpr <= 0.1, "model alone FPR {fpr:.3}");
}

#[test]
fn ml_settings_choose_how_the_probability_scores() {
    let sqli = palisade_http::RequestModel::from_head(
        "GET",
        "/search?q=1%27+AND+1%3D0+UNION+SELECT+username%2C+password+FROM+users--",
        "HTTP/1.1",
        Default::default(),
    );
    let no_sigs = "[signatures]\nbuiltin = false\n";
    let verdict = |extra: &str| {
        let c =
            Config::parse(&format!("{no_sigs}[ml]\n{extra}"), Path::new("t.toml")).expect("config");
        build_engine(&c).expect("engine").inspect_request(&sqli)
    };
    let v = verdict("");
    assert!(v.over_threshold, "{:?}", v.findings);
    assert_eq!(v.findings[0].target, "ARGS:q");
    assert_eq!(v.findings[0].source, "ml");
    let v = verdict("log_only = true\n");
    assert_eq!(v.score, 0);
    assert_eq!(v.findings.len(), 1);
    let v = verdict("probability_block = 2.0\ncatch_points = 3\n");
    assert_eq!(v.score, 3);
    assert!(!v.over_threshold);
    let v = verdict("enabled = false\n");
    assert!(v.findings.is_empty());
    let c = Config::parse("[ml]\nprobability_catch = 1.5\n", Path::new("t.toml")).expect("parses");
    let err = build_engine(&c).err().expect("rejected").to_string();
    assert!(err.contains("probability_catch"), "{err}");
}

#[test]
fn a_bad_model_file_is_a_clear_error() {
    let dir = temp("bad-model");
    std::fs::write(dir.join("model.bin"), b"\x80\x04\x95pickle").expect("write");
    let req = dir.join("req.txt");
    std::fs::write(&req, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").expect("write");
    let dir_s = dir.to_string_lossy().into_owned();
    let (code, _, err) = run(&["check", "--ml-model", &dir_s, &req.to_string_lossy()]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("not a Palisade model file"), "{err}");
    assert!(err.contains("model.bin"), "{err}");
    let (code, _, err) = run(&[
        "check",
        "--ml-model",
        "/nonexistent/model",
        &req.to_string_lossy(),
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("cannot read the model file"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn train_on_a_subset_then_eval_with_the_new_model() {
    let dir = temp("train");
    let out = dir.join("model");
    let data = data();
    let (code, stdout, err) = run(&[
        "train",
        "--quiet",
        "--data",
        &data.to_string_lossy(),
        "--out",
        &out.to_string_lossy(),
        "--limit",
        "1500",
        "--generated",
        "3000",
        "--epochs",
        "2",
        "--bits",
        "16",
    ]);
    assert_eq!(code, 0, "{err}");
    for metric in ["precision=", "recall=", "F1=", "ROC-AUC=", "FPR="] {
        assert!(stdout.contains(metric), "{stdout}");
    }
    let card = std::fs::read_to_string(out.join("MODEL_CARD.md")).expect("card");
    assert!(
        card.contains("--limit 1500") && card.contains("sha256"),
        "{card}"
    );
    let labelled = dir.join("labelled.txt");
    std::fs::write(
        &labelled,
        "attack\t<script>alert(document.cookie)</script>\nattack\t/index.php?id=1'+or+'1'='1\nbenign\thello world\nbenign\t/products/shoes?page=2\n",
    )
    .expect("write");
    let (code, stdout, err) = run(&[
        "eval",
        "--model",
        &out.to_string_lossy(),
        &labelled.to_string_lossy(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(stdout.contains("n=4 (attacks 2)"), "{stdout}");
    let (code, _, err) = run(&[
        "eval",
        &root().join("corpus/benign/search.jsonl").to_string_lossy(),
    ]);
    assert_eq!(code, 0, "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn learning_mode_on_csic_normal_traffic() {
    let dir = temp("learn");
    let profile = dir.join("profile.json");
    let csic = data().join("csic2010/normalTrafficTraining.txt");
    let (code, stdout, err) = run(&[
        "learn",
        &csic.to_string_lossy(),
        "--out",
        &profile.to_string_lossy(),
        "--holdout",
        "0.2",
    ]);
    assert_eq!(code, 0, "{err}");
    println!("{stdout}");
    let number_after = |tag: &str| -> f64 {
        let i = stdout
            .find(tag)
            .unwrap_or_else(|| panic!("{tag} in {stdout}"))
            + tag.len();
        stdout[i..]
            .split(|c: char| c != '.' && !c.is_ascii_digit())
            .next()
            .unwrap_or("")
            .parse()
            .expect("number")
    };
    assert!(number_after("(FPR ") <= 0.01, "{stdout}");
    assert!(number_after("(detection ") >= 0.9, "{stdout}");
    // The profile is readable JSON, and `check --profile` enforces it.
    let text = std::fs::read_to_string(&profile).expect("profile");
    assert!(text.contains("\"/tienda1/publico/anadir.jsp\""));
    let check = |target: &str| {
        let req = dir.join("req.txt");
        std::fs::write(
            &req,
            format!("GET {target} HTTP/1.1\r\nHost: localhost:8080\r\n\r\n"),
        )
        .expect("write");
        run(&[
            "check",
            "--no-builtin-signatures",
            "--no-ml",
            "--profile",
            &profile.to_string_lossy(),
            &req.to_string_lossy(),
        ])
    };
    let (code, _, err) = check("/tienda1/publico/anadir.jsp?id=3&nombre=Vino+Rioja&precio=100&cantidad=55&B1=A%F1adir+al+carrito");
    assert_eq!(code, 0, "{err}");
    let (code, out, _) = check("/tienda1/publico/anadir.jsp?id=3%27%20OR%20%271%27%3D%271&nombre=Vino+Rioja&precio=100&cantidad=55&B1=A%F1adir+al+carrito");
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("profile:"), "{out}");
    let _ = std::fs::remove_dir_all(&dir);
}
