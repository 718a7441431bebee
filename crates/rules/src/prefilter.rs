//! Required literals of a regex: a set of strings such that every match of the regex
//! contains at least one of them.
//!
//! The matcher scans a request once with one Aho-Corasick automaton over the required
//! literals of all patterns; only patterns whose literal occurred are then run. Patterns with
//! no usable literal go into a multi-pattern DFA that always runs. This is the decomposition
//! Hyperscan uses, kept simple: literals are compared ASCII case-insensitively, as patterns are.

use regex_syntax::hir::{Hir, HirKind};

/// Literals shorter than this are too common to filter anything.
const MIN_LITERAL: usize = 3;
/// An alternation of more literals than this is not worth a prefilter.
const MAX_LITERALS: usize = 64;

/// The required literals of `pattern` (lowercased), or None when no useful set exists.
pub fn required_literals(pattern: &str) -> Option<Vec<Vec<u8>>> {
    let hir = regex_syntax::ParserBuilder::new()
        .unicode(false)
        .utf8(false)
        .case_insensitive(false)
        .build()
        .parse(pattern)
        .ok()?;
    let set = required(&hir)?;
    if set.iter().all(|l| l.len() >= MIN_LITERAL) && set.len() <= MAX_LITERALS {
        let mut set: Vec<Vec<u8>> = set.into_iter().map(|l| l.to_ascii_lowercase()).collect();
        set.sort();
        set.dedup();
        Some(set)
    } else {
        None
    }
}

/// Quality of a literal set: the shortest member's length (longer is more selective).
fn score(set: &[Vec<u8>]) -> usize {
    set.iter().map(Vec::len).min().unwrap_or(0)
}

fn required(hir: &Hir) -> Option<Vec<Vec<u8>>> {
    match hir.kind() {
        HirKind::Literal(lit) => Some(vec![lit.0.to_vec()]),
        HirKind::Capture(cap) => required(&cap.sub),
        HirKind::Repetition(rep) if rep.min >= 1 => required(&rep.sub),
        HirKind::Alternation(alts) => {
            let mut out = Vec::new();
            for alt in alts {
                out.extend(required(alt)?);
                if out.len() > MAX_LITERALS {
                    return None;
                }
            }
            Some(out)
        }
        HirKind::Concat(parts) => {
            // Candidates: each run of adjacent literals joined, and each part's own set.
            let mut best: Option<Vec<Vec<u8>>> = None;
            let mut consider = |set: Vec<Vec<u8>>| {
                if best.as_ref().is_none_or(|b| score(&set) > score(b)) {
                    best = Some(set);
                }
            };
            let mut run: Vec<u8> = Vec::new();
            for part in parts {
                if let HirKind::Literal(lit) = part.kind() {
                    run.extend_from_slice(&lit.0);
                    continue;
                }
                if !run.is_empty() {
                    consider(vec![std::mem::take(&mut run)]);
                }
                if let Some(set) = required(part) {
                    consider(set);
                }
            }
            if !run.is_empty() {
                consider(vec![run]);
            }
            best
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lits(p: &str) -> Option<Vec<String>> {
        required_literals(p).map(|v| {
            v.into_iter()
                .map(|l| String::from_utf8_lossy(&l).into_owned())
                .collect()
        })
    }

    #[test]
    fn extracts_the_most_selective_required_literals() {
        assert_eq!(
            lits(r"\bunion\s+(?:all\s+)?select\b"),
            Some(vec!["select".into()])
        );
        assert_eq!(lits(r"<script[\s>/]"), Some(vec!["<script".into()]));
        assert_eq!(
            lits(r"(?:sleep|benchmark)\s*\("),
            Some(vec!["benchmark".into(), "sleep".into()])
        );
        assert_eq!(lits(r"\$\{jndi:"), Some(vec!["${jndi:".into()]));
        assert_eq!(lits(r"WAITFOR\s+DELAY"), Some(vec!["waitfor".into()]));
    }

    #[test]
    fn gives_up_when_a_branch_or_optional_part_has_none() {
        assert_eq!(lits(r"(?:abc|\d+)x"), None);
        assert_eq!(lits(r"(?:select)?\s+from"), Some(vec!["from".into()]));
        assert_eq!(lits(r"[a-z]+=[0-9]"), None);
        assert_eq!(lits(r"on\w+="), None); // "on" is too short to filter anything
        assert_eq!(lits(r"(unclosed"), None);
    }

    #[test]
    fn every_match_contains_a_literal() {
        // property check on a few patterns and inputs: whenever the regex matches, one of
        // the literals occurs (case-insensitively) in the input
        let patterns = [
            r"\bunion\s+(?:all\s+)?select\b",
            r"(?:sleep|benchmark)\s*\(",
            r"<(?:script|iframe|svg)[^>]*>",
            r"\.\./(?:etc|proc)/",
        ];
        let inputs = [
            "1 UNION ALL SELECT 2",
            "x' AND SLEEP(5)",
            "<SvG onload=x>",
            "../../etc/passwd",
            "benchmark (",
            "nothing",
        ];
        for p in patterns {
            let re = regex::bytes::RegexBuilder::new(p)
                .case_insensitive(true)
                .build()
                .expect("valid");
            let set = required_literals(p).expect("has literals");
            for i in inputs {
                if re.is_match(i.as_bytes()) {
                    let lower = i.to_ascii_lowercase();
                    assert!(
                        set.iter()
                            .any(|l| lower.as_bytes().windows(l.len()).any(|w| w == &l[..])),
                        "{p} matched {i} without any of its literals"
                    );
                }
            }
        }
    }
}
