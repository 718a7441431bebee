//! Loading generated model directories and checking that decisions follow the model.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use palisade_engine::{Action, Detector, Engine, Policy, Severity};
use palisade_http::{Headers, RequestModel};
use palisade_transformer::tiny::{self, TinySpec, Weights};
use palisade_transformer::{
    Architecture, BatchOptions, Batcher, Classifier, DetectorOptions, ModelOptions,
    TransformerDetector,
};

struct Temp(PathBuf);

impl Temp {
    fn new(tag: &str) -> Temp {
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "palisade-tf-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Temp(dir)
    }

    fn model(tag: &str, spec: &TinySpec) -> Temp {
        let t = Temp::new(tag);
        tiny::write(&t.0, spec).unwrap();
        t
    }
}

impl Drop for Temp {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn load(dir: &Path) -> Classifier {
    Classifier::load(dir, &ModelOptions::default()).unwrap()
}

fn engine(dir: &Path, options: DetectorOptions) -> Engine {
    let classifier = Arc::new(load(dir));
    let detector =
        TransformerDetector::new(Batcher::start(classifier, BatchOptions::default()), options);
    Engine::new(vec![Arc::new(detector)], Policy::default())
}

fn get(target: &str) -> RequestModel {
    let mut h = Headers::default();
    h.push("Host", b"shop.example".to_vec());
    RequestModel::from_head("GET", target, "HTTP/1.1", h)
}

fn form(body: &str) -> RequestModel {
    let mut h = Headers::default();
    h.push("Host", b"shop.example".to_vec());
    h.push(
        "Content-Type",
        b"application/x-www-form-urlencoded".to_vec(),
    );
    let mut r = RequestModel::from_head("POST", "/login", "HTTP/1.1", h);
    r.attach_body(body.as_bytes().to_vec(), false);
    r
}

const ATTACK: &str = "/search?q=1%27+union+select+password+from+users--";
const BENIGN: &str = "/search?q=trail+running+shoes%21";

fn attack_probability(c: &Classifier, text: &str) -> f32 {
    let p = c.probabilities(&[text]).unwrap();
    1.0 - p[0][c.benign()]
}

fn decision_follows_the_model(architecture: Architecture) {
    let spec = TinySpec {
        architecture,
        ..TinySpec::bert()
    };
    let dir = Temp::model("follow", &spec);
    let c = load(&dir.0);
    assert_eq!(c.architecture(), architecture);
    assert_eq!(c.labels(), ["benign", "attack"]);
    assert_eq!(c.benign(), 0);
    assert!(attack_probability(&c, "1' union select password from users--") > 0.99);
    assert!(attack_probability(&c, "<script>alert(1)</script>") > 0.99);
    assert!(attack_probability(&c, "trail running shoes!") < 0.01);

    let e = engine(&dir.0, DetectorOptions::default());
    assert!(e.has_blocking_detectors());
    let v = e.inspect_request(&get(ATTACK));
    assert_eq!(v.action, Action::Block, "{:?}", v.findings);
    assert_eq!(v.findings.len(), 1);
    let f = &v.findings[0];
    assert_eq!(f.id, "transformer:attack");
    assert_eq!(f.source, "transformer");
    assert_eq!(f.target, "REQUEST_URI");
    assert_eq!(f.severity, Severity::Critical);
    assert!(
        f.message.contains("probability 0.99") || f.message.contains("probability 1.000"),
        "{}",
        f.message
    );
    assert!(f.excerpt.contains("union select"), "{}", f.excerpt);
    let v = e.inspect_request(&get(BENIGN));
    assert_eq!(v.action, Action::Allow);
    assert!(v.findings.is_empty());

    // The same directory with the head flipped: trigger words now mean benign, and every
    // other text is an attack. The decision follows.
    let flipped = TinySpec {
        weights: Weights::Trigger {
            triggered: 0,
            otherwise: 1,
        },
        ..spec
    };
    let dir = Temp::model("flip", &flipped);
    let e = engine(&dir.0, DetectorOptions::default());
    assert_eq!(e.inspect_request(&get(ATTACK)).action, Action::Allow);
    let v = e.inspect_request(&get(BENIGN));
    assert_eq!(v.action, Action::Block);
    assert_eq!(v.findings[0].id, "transformer:attack");
}

#[test]
fn bert_decision_follows_the_model_both_ways() {
    decision_follows_the_model(Architecture::Bert);
}

#[test]
fn distilbert_decision_follows_the_model_both_ways() {
    decision_follows_the_model(Architecture::DistilBert);
}

#[test]
fn labels_thresholds_points_and_password_fields() {
    // Class 0 is the attack here; the benign class is found by its name.
    let spec = TinySpec {
        labels: vec!["sqli".into(), "normal".into()],
        weights: Weights::Trigger {
            triggered: 0,
            otherwise: 1,
        },
        ..TinySpec::bert()
    };
    let dir = Temp::model("labels", &spec);
    let e = engine(&dir.0, DetectorOptions::default());
    let v = e.inspect_request(&get(ATTACK));
    assert_eq!(v.findings[0].id, "transformer:sqli");
    assert_eq!(v.action, Action::Block);
    assert!(e.inspect_request(&get(BENIGN)).findings.is_empty());

    // A route can disable the transformer ("transformer", or one "transformer:<label>").
    let classifier = Arc::new(load(&dir.0));
    let mut policy = Policy::default();
    policy.routes.push(
        palisade_engine::RoutePolicy::builder()
            .path_prefix("/search")
            .disable_rule("transformer")
            .build()
            .unwrap(),
    );
    let routed = Engine::new(
        vec![Arc::new(TransformerDetector::new(
            Batcher::start(classifier, BatchOptions::default()),
            DetectorOptions::default(),
        ))],
        policy,
    );
    assert_eq!(routed.inspect_request(&get(ATTACK)).action, Action::Allow);
    assert_eq!(
        routed
            .inspect_request(&get("/find?q=1%27+union+select+1--"))
            .action,
        Action::Block
    );

    // Between the two probabilities: points only (3 < threshold 5: flagged, not blocked).
    let catch_only = DetectorOptions {
        probability_block: 2.0,
        ..DetectorOptions::default()
    };
    let v = engine(&dir.0, catch_only).inspect_request(&get(ATTACK));
    assert_eq!(v.action, Action::Flag);
    assert_eq!(v.score, 3);
    // Log only: reported with 0 points.
    let log_only = DetectorOptions {
        log_only: true,
        ..DetectorOptions::default()
    };
    let v = engine(&dir.0, log_only).inspect_request(&get(ATTACK));
    assert_eq!((v.action, v.score, v.findings.len()), (Action::Flag, 0, 1));
    // A password field never blocks alone; the same text in another field does.
    let v = e.inspect_request(&form("user=anna&password=x%27+union+select+1--"));
    assert_eq!(v.findings[0].target, "ARGS:password");
    assert_eq!((v.action, v.score), (Action::Flag, 3));
    let v = e.inspect_request(&form("user=anna&comment=x%27+union+select+1--"));
    assert_eq!(v.findings[0].target, "ARGS:comment");
    assert_eq!(v.action, Action::Block);
    // benign_label overrides the rule: with "sqli" declared benign, only "normal" can be
    // reported (and the benign class never is).
    let c = Classifier::load(
        &dir.0,
        &ModelOptions {
            benign_label: Some("SQLI".into()),
            ..ModelOptions::default()
        },
    )
    .unwrap();
    assert_eq!(c.benign(), 0);
    let d = TransformerDetector::new(
        Batcher::start(Arc::new(c), BatchOptions::default()),
        DetectorOptions::default(),
    );
    let mut out = Vec::new();
    d.inspect_request(&get(ATTACK), 1, &mut out);
    assert!(out.is_empty(), "{out:?}");
    d.inspect_request(&get(BENIGN), 1, &mut out);
    assert_eq!(out[0].id, "transformer:normal");
}

#[test]
fn padding_is_masked_so_batches_give_the_same_probabilities() {
    for architecture in [Architecture::Bert, Architecture::DistilBert] {
        let spec = TinySpec {
            architecture,
            weights: Weights::Random,
            labels: vec!["benign".into(), "sqli".into(), "xss".into()],
            ..TinySpec::bert()
        };
        let dir = Temp::model("random", &spec);
        let c = load(&dir.0);
        let short = "hello world";
        let long = "the trail running shoes from www mozilla com page name login and more words";
        let alone = c.probabilities(&[short]).unwrap();
        let batched = c.probabilities(&[long, short, long]).unwrap();
        assert_eq!(batched.len(), 3);
        for (a, b) in alone[0].iter().zip(&batched[1]) {
            assert!(
                (a - b).abs() < 1e-4,
                "{architecture:?}: {alone:?} vs {batched:?}"
            );
        }
        let sum: f32 = batched[0].iter().sum();
        assert!((sum - 1.0).abs() < 1e-4);
        // A random model does distinguish texts.
        assert!(alone[0]
            .iter()
            .zip(&batched[0])
            .any(|(a, b)| (a - b).abs() > 1e-6));
    }
}

#[test]
fn long_texts_are_truncated_to_max_tokens() {
    let dir = Temp::model("long", &TinySpec::bert());
    let c = Classifier::load(
        &dir.0,
        &ModelOptions {
            max_tokens: 8,
            ..ModelOptions::default()
        },
    )
    .unwrap();
    // Beyond max_position_embeddings (512) this would fail without truncation.
    let long = "hello ".repeat(5000);
    assert!(c.probabilities(&[long.as_str()]).unwrap()[0][0] > 0.99);
    // The trigger word after the first 8 tokens is not seen.
    assert!(attack_probability(&c, "hello hello hello hello hello hello hello hello union") < 0.01);
    assert!(attack_probability(&c, "hello union") > 0.99);
}

#[test]
fn concurrent_jobs_share_one_forward_pass_and_each_gets_its_own_answer() {
    let dir = Temp::model("batch", &TinySpec::distilbert());
    let c = Arc::new(load(&dir.0));
    // The worker waits until 6 texts are queued (max_wait is only a safety ceiling).
    let batcher = Batcher::start(
        c.clone(),
        BatchOptions {
            max_batch: 6,
            max_wait: Duration::from_secs(30),
        },
    );
    let jobs = [
        vec!["union select 1".to_string(), "hello".to_string()],
        vec!["trail running shoes".to_string()],
        vec!["<script>alert(1)</script>".to_string()],
        vec!["page 2".to_string(), "login".to_string()],
    ];
    let replies: Vec<_> = jobs
        .iter()
        .map(|j| batcher.submit(j.clone()).unwrap())
        .collect();
    let answers: Vec<Vec<Vec<f32>>> = replies
        .into_iter()
        .map(|r| r.recv().unwrap().unwrap())
        .collect();
    assert_eq!(batcher.stats().passes.load(Ordering::Relaxed), 1);
    assert_eq!(batcher.stats().jobs.load(Ordering::Relaxed), 4);
    let attack: Vec<Vec<bool>> = answers
        .iter()
        .map(|a| a.iter().map(|p| p[1] > 0.5).collect())
        .collect();
    assert_eq!(
        attack,
        vec![
            vec![true, false],
            vec![false],
            vec![true],
            vec![false, false]
        ]
    );
    // From several threads at once, through the blocking API.
    let batcher = Arc::new(Batcher::start(c, BatchOptions::default()));
    let handles: Vec<_> = (0..8)
        .map(|i| {
            let b = batcher.clone();
            std::thread::spawn(move || {
                let text = if i % 2 == 0 {
                    "sleep(5)"
                } else {
                    "hello world"
                };
                let p = b.classify(vec![text.to_string()]).unwrap();
                (i, p[0][1] > 0.5)
            })
        })
        .collect();
    for h in handles {
        let (i, attack) = h.join().unwrap();
        assert_eq!(attack, i % 2 == 0);
    }
}

fn load_error(dir: &Path) -> String {
    let e = Classifier::load(dir, &ModelOptions::default())
        .unwrap_err()
        .to_string();
    eprintln!("{e}");
    e
}

#[test]
fn broken_directories_give_errors_naming_the_file() {
    let missing = std::env::temp_dir().join("palisade-tf-no-such-dir");
    let e = load_error(&missing);
    assert!(
        e.contains("palisade-tf-no-such-dir") && e.contains("no such model directory"),
        "{e}"
    );

    let dir = Temp::model("broken", &TinySpec::bert());
    std::fs::remove_file(dir.0.join("tokenizer.json")).unwrap();
    let e = load_error(&dir.0);
    assert!(e.contains("tokenizer.json") && e.contains("missing"), "{e}");

    let dir = Temp::model("broken", &TinySpec::bert());
    std::fs::write(dir.0.join("config.json"), "{\"model_type\": \"bert\",").unwrap();
    let e = load_error(&dir.0);
    assert!(
        e.contains("config.json") && e.contains("not valid JSON"),
        "{e}"
    );

    let dir = Temp::model("broken", &TinySpec::bert());
    std::fs::write(
        dir.0.join("config.json"),
        r#"{"model_type": "bert", "vocab_size": 10}"#,
    )
    .unwrap();
    let e = load_error(&dir.0);
    assert!(
        e.contains("config.json") && e.contains("missing field"),
        "{e}"
    );

    let dir = Temp::model("broken", &TinySpec::bert());
    let config = std::fs::read_to_string(dir.0.join("config.json")).unwrap();
    std::fs::write(
        dir.0.join("config.json"),
        config.replace("\"bert\"", "\"gpt2\""),
    )
    .unwrap();
    let e = load_error(&dir.0);
    assert!(
        e.contains("config.json") && e.contains("\"gpt2\" is not supported"),
        "{e}"
    );

    // Pickle only: refused, never read.
    let dir = Temp::model("broken", &TinySpec::bert());
    std::fs::remove_file(dir.0.join("model.safetensors")).unwrap();
    std::fs::write(
        dir.0.join("pytorch_model.bin"),
        b"\x80\x04not really a pickle",
    )
    .unwrap();
    let e = load_error(&dir.0);
    assert!(
        e.contains("model.safetensors") && e.contains("pytorch_model.bin") && e.contains("pickle"),
        "{e}"
    );

    // Tensor shapes that do not match config.json.
    let dir = Temp::model("broken", &TinySpec::bert());
    let config = std::fs::read_to_string(dir.0.join("config.json")).unwrap();
    std::fs::write(
        dir.0.join("config.json"),
        config.replace("\"intermediate_size\": 64", "\"intermediate_size\": 48"),
    )
    .unwrap();
    let e = load_error(&dir.0);
    assert!(
        e.contains("model.safetensors") && e.contains("shape"),
        "{e}"
    );

    // Not a safetensors file.
    let dir = Temp::model("broken", &TinySpec::bert());
    std::fs::write(dir.0.join("model.safetensors"), b"garbage").unwrap();
    let e = load_error(&dir.0);
    assert!(
        e.contains("model.safetensors") && e.contains("not a valid safetensors"),
        "{e}"
    );

    // More classes in id2label than the head has.
    let dir = Temp::model("broken", &TinySpec::bert());
    let config = std::fs::read_to_string(dir.0.join("config.json")).unwrap();
    std::fs::write(
        dir.0.join("config.json"),
        config.replace("\"1\": \"attack\"", "\"1\": \"attack\", \"2\": \"xss\""),
    )
    .unwrap();
    let e = load_error(&dir.0);
    assert!(
        e.contains("model.safetensors")
            && e.contains("classifier.weight")
            && e.contains("3 labels"),
        "{e}"
    );
    assert!(!e.contains("backtrace") && e.lines().count() == 1, "{e}");

    // A benign class that cannot be told.
    let spec = TinySpec {
        labels: vec!["sqli".into(), "xss".into()],
        ..TinySpec::bert()
    };
    let dir = Temp::model("broken", &spec);
    let e = load_error(&dir.0);
    assert!(
        e.contains("config.json") && e.contains("benign_label"),
        "{e}"
    );

    // max_tokens beyond the position table.
    let dir = Temp::model("broken", &TinySpec::distilbert());
    let e = Classifier::load(
        &dir.0,
        &ModelOptions {
            max_tokens: 1000,
            ..ModelOptions::default()
        },
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("max_position_embeddings 512"), "{e}");
}

#[test]
fn multi_label_models_use_a_sigmoid_per_class() {
    let dir = Temp::model("multi", &TinySpec::bert());
    let config = std::fs::read_to_string(dir.0.join("config.json")).unwrap();
    std::fs::write(
        dir.0.join("config.json"),
        config.replace("single_label_classification", "multi_label_classification"),
    )
    .unwrap();
    let c = load(&dir.0);
    let p = c.probabilities(&["hello world", "union select"]).unwrap();
    // Logits [0, -6] and [0, > 4]: sigmoid gives 0.5 for class 0 in both, not a softmax.
    assert!((p[0][0] - 0.5).abs() < 1e-3 && p[0][1] < 0.01, "{p:?}");
    assert!((p[1][0] - 0.5).abs() < 1e-3 && p[1][1] > 0.98, "{p:?}");
}
