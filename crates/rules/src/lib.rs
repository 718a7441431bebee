//! Signature lists: files of patterns per target, compiled into multi-pattern matchers.
//!
//! This crate owns the list format (see `signatures/README.md`), loading it (built-in set,
//! user directories, bad-user-agent lists), and matching it against a request model. Patterns
//! are never run one at a time: each (target, transformation pipeline) group becomes one
//! Aho-Corasick automaton (literals) plus one multi-pattern lazy DFA (regexes), run once over
//! all of the request's values for that target joined by `\n`. A regex hit in the joined
//! haystack is only a candidate; it is confirmed on each value with that pattern alone, which
//! happens only for patterns that matched (rare on benign traffic).

mod format;
mod interleaved;
mod matcher;
mod plain;
pub mod prefilter;

pub use format::{parse_pipeline, FileKind, LoadError, SignatureSource, Target};
pub use matcher::{agent_list, builtin, from_dir, SignatureDetector, SignatureSet, SignatureStats};

include!(concat!(env!("OUT_DIR"), "/builtin.rs"));
