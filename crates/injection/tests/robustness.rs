//! Robustness: the detectors see attacker bytes first, so they must never panic, must not
//! overflow the stack, and must run in time linear in the input on any input.
//!
//! Random inputs come from a fixed-seed generator (reproducible failures) biased towards the
//! bytes and words the SQL and HTML tokenizers branch on; pathological inputs are long runs
//! of the constructs that made other libinjection ports quadratic or recursive (escaped
//! quotes, doubled quotes, comments, nested or slash-separated tags).

use std::time::{Duration, Instant};

use palisade_injection::{detect_sqli, detect_xss};

/// xorshift64*: tiny, deterministic, good enough to spread inputs.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const ALPHABET: &[u8] =
    b"'\"`-#/*();,=<>&|!@:.\\ \t\n\r\x00\x0b\x0c\xa0\xffaAbBeEfFnNoOrRsStTuUxX019$%{}[]?+~^_";
const WORDS: &[&[u8]] = &[
    b"select",
    b"union",
    b" or ",
    b"and",
    b"<script",
    b"<a href=",
    b"javascript:",
    b"onerror=",
    b"/*!",
    b"*/",
    b"--",
    b"#",
    b"0x",
    b"1e",
    b"N'",
    b"q'[",
    b"$$",
    b"<!--",
    b"-->",
    b"<svg",
    b"style=",
    b"&#x6a;",
    b"<![CDATA[",
    b"@@",
    b"\\'",
    b"''",
    b"<?",
    b"</",
    b"/>",
    b"1.e",
];

fn random_input(rng: &mut Rng) -> Vec<u8> {
    let len = rng.below(80);
    let mut v = Vec::with_capacity(len * 2);
    for _ in 0..len {
        match rng.below(10) {
            0 | 1 => v.extend_from_slice(WORDS[rng.below(WORDS.len())]),
            2 => v.push(rng.next() as u8),
            _ => v.push(ALPHABET[rng.below(ALPHABET.len())]),
        }
    }
    v
}

/// libinjection's token types, one character each (`n` bareword, `s` string, `&` logic
/// operator, `X` unparsable, ...), the only characters a fingerprint may contain.
const TOKEN_TYPES: &[u8] = b"kUBEtfn1vso&cA(){}.,:;T?X\\";

/// 20 000 random inputs (about a second unoptimised). The detectors are pure, so the same
/// input must always give the same answer; and any SQLi fingerprint must be a short string of
/// libinjection's token-type characters.
#[test]
fn random_inputs_never_panic_and_are_deterministic() {
    let mut rng = Rng(0x5EED_1234_ABCD_0001);
    let (mut sqli, mut xss) = (0, 0);
    for _ in 0..20_000 {
        let input = random_input(&mut rng);
        let fp = detect_sqli(&input);
        let x = detect_xss(&input);
        assert_eq!(fp, detect_sqli(&input), "non-deterministic on {input:?}");
        assert_eq!(x, detect_xss(&input), "non-deterministic on {input:?}");
        if let Some(fp) = fp {
            sqli += 1;
            let s = fp.as_str();
            assert!(
                (1..=5).contains(&s.len()) && s.bytes().all(|b| TOKEN_TYPES.contains(&b)),
                "odd fingerprint {s:?} for {input:?}"
            );
        }
        xss += usize::from(x);
    }
    // The generator is biased towards attack syntax: both detectors must fire on some inputs
    // and not on all, or the test would not be exercising their decision paths.
    assert!(sqli > 100 && sqli < 19_000, "sqli fired on {sqli}/20000");
    assert!(xss > 100 && xss < 19_000, "xss fired on {xss}/20000");
}

/// Every single byte and every pair of interesting bytes: the tokenizers' boundary cases
/// (input ending right after an opening quote, comment start, `<`, `&#`, ...).
#[test]
fn all_short_inputs() {
    for a in 0..=255u8 {
        detect_sqli(&[a]);
        detect_xss(&[a]);
        for &b in ALPHABET {
            detect_sqli(&[a, b]);
            detect_xss(&[a, b]);
            detect_sqli(&[b, a, b]);
            detect_xss(&[b, a, b]);
        }
    }
    for w in WORDS {
        for cut in 0..=w.len() {
            detect_sqli(&w[..cut]);
            detect_xss(&w[..cut]);
        }
    }
}

fn repeat(prefix: &[u8], unit: &[u8], len: usize) -> Vec<u8> {
    let mut v = prefix.to_vec();
    while v.len() < len {
        v.extend_from_slice(unit);
    }
    v
}

/// Unoptimised test builds are 10-30x slower than release, and the test machine is shared;
/// this budget only catches gross super-linear behaviour (a quadratic scan of 1 MB takes
/// hours).
const BUDGET_1MB: Duration = Duration::from_secs(60);

// Linear scaling (4 KiB vs 32 KiB of each pathological unit) is measured by the
// benchmark (`cargo bench -p palisade-injection`), not asserted here: wall-clock ratios
// in unit tests flake on shared machines. The 1 MiB test below keeps a generous budget
// that only a hang or a quadratic scan would exceed.

/// 1 MiB inputs, on a thread with a small stack so that recursion depending on input length
/// would overflow: runs of escaped and doubled quotes (string scanning, the construct that was
/// quadratic in another libinjection port) and of slashes inside a tag for the HTML
/// tokenizer (a recursive self-closing-tag state would overflow here).
#[test]
fn one_megabyte_inputs_on_a_small_stack() {
    let worker = std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(|| {
            for (prefix, unit) in [(&b"'"[..], &b"\\'"[..]), (b"'", b"''")] {
                let input = repeat(prefix, unit, 1 << 20);
                let t = Instant::now();
                let fp = detect_sqli(&input);
                let x = detect_xss(&input);
                let took = t.elapsed();
                println!(
                    "1 MiB of {:?}: sqli {fp:?} xss {x} in {took:?}",
                    String::from_utf8_lossy(unit)
                );
                assert!(took < BUDGET_1MB, "1 MiB of {unit:?} took {took:?}");
                // An unterminated string is not an attack.
                assert_eq!(fp, None);
                assert!(!x);
            }
            // The HTML tokenizer only on runs of nested tags and of slashes inside a tag (the
            // SQL tokenizer's cost on these is covered by the scaling test, and is the
            // slowest part of the suite unoptimised).
            for (prefix, unit) in [(&b""[..], &b"<a>"[..]), (b"<a", b"/"), (b"", b"<!--")] {
                let input = repeat(prefix, unit, 1 << 20);
                let t = Instant::now();
                let x = detect_xss(&input);
                let took = t.elapsed();
                println!(
                    "1 MiB of {:?}: xss {x} in {took:?}",
                    String::from_utf8_lossy(unit)
                );
                assert!(took < BUDGET_1MB, "1 MiB of {unit:?} took {took:?}");
                assert!(!x);
            }
        })
        .expect("spawn worker");
    worker.join().expect("worker panicked (see above)");
}

/// Realistic large values: a 1 MB JSON-ish document and 1 MB of prose must be handled
/// without panicking, and ordinary prose must not be called an attack.
#[test]
fn large_ordinary_values() {
    let prose = repeat(
        b"",
        b"The quick brown fox jumps over the lazy dog. ",
        1 << 20,
    );
    assert_eq!(detect_sqli(&prose), None);
    assert!(!detect_xss(&prose));
    let json = repeat(
        b"[",
        br#"{"id": 1, "name": "widget", "tags": ["a", "b"]},"#,
        1 << 20,
    );
    assert_eq!(detect_sqli(&json), None);
    assert!(!detect_xss(&json));
}
