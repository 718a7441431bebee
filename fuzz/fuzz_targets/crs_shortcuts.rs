#![no_main]
//! The CRS engine's shortcuts against its exhaustive evaluation on arbitrary requests: the
//! prefilter that skips rules (literal automata, regex DFAs, value tests, pipelines it
//! judges by a value's traits), the restriction of a candidate rule to the values that made
//! it one, folded and remembered rules. A request through CRS 4.28 at paranoia levels 1
//! and 4, request and response phases, must give the same matches (rule, target, value,
//! message, data), TX and interruption both ways, and must not panic.
//!
//! CRS is read from `PALISADE_CRS` (default `../../shared/data/crs` beside this crate);
//! `PALISADE_BEFORE` names a SecLang file loaded before it, as a deployment's exclusion
//! rules are (`config/crs/modern-apps.conf`).
//! Seeds: `cargo run --release -p palisade-seclang --example ftw_requests --
//! ../shared/data/crs/tests/regression/tests fuzz/corpus/crs_shortcuts`.
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use palisade_seclang::{ftw, CrsLoad, RuleSet};

fn rules() -> &'static RuleSet {
    static RULES: OnceLock<RuleSet> = OnceLock::new();
    RULES.get_or_init(|| {
        let dir = std::env::var_os("PALISADE_CRS").map_or_else(
            || std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/crs"),
            std::path::PathBuf::from,
        );
        CrsLoad {
            dir,
            preamble:
                "SecRuleEngine DetectionOnly\nSecRequestBodyAccess On\nSecResponseBodyAccess On\n"
                    .into(),
            before: std::env::var_os("PALISADE_BEFORE")
                .map(Into::into)
                .into_iter()
                .collect(),
            ..Default::default()
        }
        .load()
        .expect("CRS loads (set PALISADE_CRS)")
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(parsed) = ftw::parse_lenient(data) else {
        return;
    };
    for level in ["1", "4"] {
        let fast = ftw::transaction_outcome(rules(), &parsed, level, false);
        let slow = ftw::transaction_outcome(rules(), &parsed, level, true);
        assert_eq!(
            fast, slow,
            "shortcuts and exhaustive evaluation differ at PL{level}"
        );
    }
});
