//! Required literals of CRS-style regexes, for the rule set's prefilter.
//!
//! CRS regexes are large, prefix-factored alternations (`s(?:elect|how)\b`) under `(?i)`,
//! so the useful literals only appear after recombining factored prefixes and folding case.
//! For each sub-expression we compute its exact language when it is a small finite set
//! (case folded to lowercase) and a set of literals one of which every match contains;
//! concatenations combine exact sets by cross product. Sets are capped in size, and a set
//! with a member shorter than three bytes is useless as a filter.

use regex_syntax::hir::{Class, Hir, HirKind};

const MAX_SET: usize = 256;
const MIN_LEN: usize = 3;

#[derive(Clone)]
struct Info {
    /// The complete (lowercased) language, when small and finite.
    exact: Option<Vec<Vec<u8>>>,
    /// Literals of which every match contains one.
    required: Option<Vec<Vec<u8>>>,
}

fn normalize(mut set: Vec<Vec<u8>>) -> Option<Vec<Vec<u8>>> {
    for s in &mut set {
        s.make_ascii_lowercase();
    }
    set.sort();
    set.dedup();
    (set.len() <= MAX_SET).then_some(set)
}

/// Score of a required set: its shortest member (longer filters better); unusable sets
/// score 0.
fn score(set: &[Vec<u8>]) -> usize {
    let min = set.iter().map(Vec::len).min().unwrap_or(0);
    if min < MIN_LEN {
        0
    } else {
        min
    }
}

fn better(a: Option<Vec<Vec<u8>>>, b: Option<Vec<Vec<u8>>>) -> Option<Vec<Vec<u8>>> {
    match (a, b) {
        (None, x) | (x, None) => x,
        (Some(a), Some(b)) => {
            let (sa, sb) = (score(&a), score(&b));
            if sb > sa || (sb == sa && sb > 0 && b.len() < a.len()) {
                Some(b)
            } else {
                Some(a)
            }
        }
    }
}

fn cross(a: &[Vec<u8>], b: &[Vec<u8>]) -> Option<Vec<Vec<u8>>> {
    if a.len().saturating_mul(b.len()) > MAX_SET {
        return None;
    }
    let mut out = Vec::with_capacity(a.len() * b.len());
    for x in a {
        for y in b {
            let mut v = x.clone();
            v.extend_from_slice(y);
            out.push(v);
        }
    }
    normalize(out)
}

fn info(h: &Hir) -> Info {
    match h.kind() {
        HirKind::Empty | HirKind::Look(_) => Info {
            exact: Some(vec![Vec::new()]),
            required: None,
        },
        HirKind::Literal(l) => {
            let set = normalize(vec![l.0.to_vec()]);
            Info {
                exact: set.clone(),
                required: set,
            }
        }
        HirKind::Class(c) => {
            let mut bytes: Vec<Vec<u8>> = Vec::new();
            let mut too_big = false;
            match c {
                Class::Bytes(b) => {
                    for r in b.ranges() {
                        if bytes.len() + (r.end() - r.start()) as usize + 1 > 16 {
                            too_big = true;
                            break;
                        }
                        for x in r.start()..=r.end() {
                            bytes.push(vec![x]);
                        }
                    }
                }
                Class::Unicode(u) => {
                    for r in u.ranges() {
                        if bytes.len() + (r.end() as u32 - r.start() as u32) as usize + 1 > 16 {
                            too_big = true;
                            break;
                        }
                        for x in r.start()..=r.end() {
                            let mut buf = [0u8; 4];
                            bytes.push(x.encode_utf8(&mut buf).as_bytes().to_vec());
                        }
                    }
                }
            }
            if too_big {
                return Info {
                    exact: None,
                    required: None,
                };
            }
            let set = normalize(bytes);
            Info {
                exact: set.clone(),
                required: set,
            }
        }
        HirKind::Capture(c) => info(&c.sub),
        HirKind::Repetition(r) => {
            let sub = info(&r.sub);
            let exact = match (r.min, r.max) {
                (1, Some(1)) => sub.exact.clone(),
                (0, Some(1)) => sub.exact.as_ref().and_then(|e| {
                    let mut v = e.clone();
                    v.push(Vec::new());
                    normalize(v)
                }),
                _ => None,
            };
            let required = if r.min >= 1 {
                better(sub.required, sub.exact)
            } else {
                None
            };
            Info { exact, required }
        }
        HirKind::Alternation(alts) => {
            let infos: Vec<Info> = alts.iter().map(info).collect();
            let exact = infos
                .iter()
                .map(|i| i.exact.clone())
                .collect::<Option<Vec<_>>>()
                .and_then(|sets| normalize(sets.concat()));
            let required = infos
                .iter()
                .map(|i| better(i.required.clone(), i.exact.clone()).filter(|s| score(s) > 0))
                .collect::<Option<Vec<_>>>()
                .and_then(|sets| normalize(sets.concat()));
            Info { exact, required }
        }
        HirKind::Concat(parts) => {
            let infos: Vec<Info> = parts.iter().map(info).collect();
            let mut best: Option<Vec<Vec<u8>>> = None;
            for i in &infos {
                best = better(best, i.required.clone());
            }
            // runs of parts with exact languages: their cross product is required
            let mut run: Option<Vec<Vec<u8>>> = None;
            for i in &infos {
                match (&i.exact, run.take()) {
                    (Some(e), None) => run = Some(e.clone()),
                    (Some(e), Some(r)) => {
                        run = cross(&r, e);
                        if run.is_none() {
                            // too many combinations: restart the run here
                            run = Some(e.clone());
                        }
                    }
                    (None, Some(r)) => {
                        best = better(best, Some(r));
                    }
                    (None, None) => {}
                }
                if let Some(r) = &run {
                    best = better(best, Some(r.clone()));
                }
            }
            if let Some(r) = run {
                best = better(best, Some(r));
            }
            let exact = infos
                .iter()
                .map(|i| i.exact.clone())
                .try_fold(vec![Vec::new()], |acc, e| cross(&acc, &e?));
            Info {
                exact,
                required: best,
            }
        }
    }
}

/// Lowercase literals one of which every match of `pattern` (a `regex` crate pattern,
/// bytes, Unicode off) contains; None when no useful set is found.
pub fn required(pattern: &str) -> Option<Vec<Vec<u8>>> {
    let hir = regex_syntax::ParserBuilder::new()
        .unicode(false)
        .utf8(false)
        .dot_matches_new_line(true)
        .build()
        .parse(pattern)
        .ok()?;
    let i = info(&hir);
    let set = better(i.required, i.exact)?;
    (score(&set) > 0).then_some(set)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lits(p: &str) -> Option<Vec<String>> {
        required(p).map(|v| {
            v.into_iter()
                .map(|l| String::from_utf8_lossy(&l).into_owned())
                .collect()
        })
    }

    #[test]
    fn recombines_factored_prefixes_and_folds_case() {
        assert_eq!(
            lits(r"(?i)\bs(?:elect|how)\b"),
            Some(vec!["select".into(), "show".into()])
        );
        let script = lits(r"(?i)<script[\s>]").expect("literals");
        assert!(
            script.iter().all(|l| l.starts_with("<script")),
            "{script:?}"
        );
        assert_eq!(lits(r"union\s+select"), Some(vec!["select".into()]));
    }

    #[test]
    fn no_set_when_a_branch_has_none() {
        assert_eq!(lits(r"(?:abc|\d+)x"), None);
        assert_eq!(lits(r"[a-z]+=[0-9]"), None);
        assert_eq!(lits(r"a|bc"), None); // too short to filter
    }

    #[test]
    fn every_match_contains_a_literal() {
        let cases = [
            (
                r"(?i)\bs(?:elect|how)\b",
                ["x SELECT y", "show", "nothing", "ShOw me"],
            ),
            (
                r"(?i)(?:sleep|benchmark)\s*\(",
                ["SLEEP (1)", "benchmark(", "zz", "sleepy"],
            ),
            (
                r"(?i)\.\./(?:etc|proc)/",
                ["../ETC/passwd", "../proc/self", "x", "../etc"],
            ),
        ];
        for (p, inputs) in cases {
            let re = regex::bytes::RegexBuilder::new(p)
                .unicode(false)
                .build()
                .unwrap();
            let set = required(p).expect("has literals");
            for i in inputs {
                if re.is_match(i.as_bytes()) {
                    let lower = i.to_ascii_lowercase();
                    assert!(
                        set.iter()
                            .any(|l| lower.as_bytes().windows(l.len()).any(|w| w == &l[..])),
                        "{p} matched {i} without any of {set:?}"
                    );
                }
            }
        }
    }
}
