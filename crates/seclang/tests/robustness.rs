//! Bad input never panics: mutated rule text gives a load result (rules or an error naming
//! file and line), and arbitrary requests run through the whole CRS.

use std::path::{Path, PathBuf};

use palisade_http::{Headers, RequestModel};
use palisade_seclang::{CrsLoad, RuleSet, Transaction};

/// A small deterministic generator (xorshift64*), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn crs_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/crs")
}

const ALPHABET: &[u8] = b"\"'\\|:,;!@&%{}()[]/ \n\t=+-*.#$^<>0aZ\x00\xff";

fn mutate(rng: &mut Rng, text: &str) -> String {
    let mut bytes = text.as_bytes().to_vec();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(bytes.len() + 1);
        match rng.below(3) {
            0 => bytes.insert(at, ALPHABET[rng.below(ALPHABET.len())]),
            1 if at < bytes.len() => {
                bytes.remove(at);
            }
            _ => bytes.truncate(at),
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

#[test]
fn mutated_rules_load_or_fail_with_file_and_line() {
    let text =
        std::fs::read_to_string(crs_dir().join("rules/REQUEST-942-APPLICATION-ATTACK-SQLI.conf"))
            .expect("CRS rules in ../shared/data");
    // one rule at a time (directive blocks separated by blank lines)
    let blocks: Vec<&str> = text
        .split("\n\n")
        .filter(|b| b.contains("SecRule"))
        .collect();
    assert!(blocks.len() > 50);
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let (mut ok, mut errors) = (0, 0);
    for i in 0..3000 {
        let block = blocks[i % blocks.len()];
        let mutated = mutate(&mut rng, block);
        match RuleSet::from_text(&mutated, Path::new("mutated.conf")) {
            Ok(_) => ok += 1,
            Err(e) => {
                errors += 1;
                let msg = e.to_string();
                assert!(msg.starts_with("mutated.conf:"), "{msg}");
                assert!(!e.message.is_empty());
            }
        }
    }
    assert!(ok > 0 && errors > 0, "ok {ok}, errors {errors}");
}

#[test]
fn arbitrary_requests_run_through_the_crs() {
    let rules = CrsLoad {
        dir: crs_dir(),
        preamble: "SecRuleEngine On\nSecAction \"id:900000,phase:1,pass,nolog,setvar:tx.blocking_paranoia_level=4\"\n".into(),
        ..Default::default()
    }
    .load()
    .expect("CRS loads");
    let mut rng = Rng(0xfeed_0bad_c0de_0002);
    let pieces: [&[u8]; 12] = [
        b"%",
        b"%u",
        b"&#x",
        b"\\x",
        b"'",
        b"\"",
        b"<",
        b"/*",
        b"..",
        b"\xc0\xae",
        b"\x00",
        b"=",
    ];
    for _ in 0..300 {
        let mut junk = Vec::new();
        for _ in 0..rng.below(40) {
            if rng.below(3) == 0 {
                junk.extend_from_slice(pieces[rng.below(pieces.len())]);
            } else {
                junk.push(rng.next() as u8);
            }
        }
        let text = String::from_utf8_lossy(&junk).into_owned();
        let target = format!(
            "/p{}?a={}&{}=b",
            text.replace(['?', '#', ' '], ""),
            text,
            text
        );
        let mut h = Headers::default();
        h.push("Host", b"h".to_vec());
        h.push("Cookie", junk.clone());
        h.push("X-Junk", junk.clone());
        let ct: &[u8] = match rng.below(4) {
            0 => b"application/json",
            1 => b"application/xml",
            2 => b"multipart/form-data; boundary=x",
            _ => b"application/x-www-form-urlencoded",
        };
        h.push("Content-Type", ct.to_vec());
        let mut model = RequestModel::from_head("POST", &target, "HTTP/1.1", h);
        model.attach_body(junk.clone(), false);
        let mut tx = Transaction::new(&rules, &model, &junk);
        tx.process_request();
        // every reported match names a rule that exists
        for m in &tx.matches {
            assert!(rules.rules().any(|r| r.id == m.id), "unknown id {}", m.id);
        }
    }
}
