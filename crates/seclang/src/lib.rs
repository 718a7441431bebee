//! A SecLang (ModSecurity rule language) engine that runs the OWASP Core Rule Set natively.
//!
//! Pieces, in the order data flows: [`parse`] splits configuration text into directives;
//! [`variables`], [`operators`] and [`actions`] give the three parts of a rule their
//! meaning; [`ruleset`] builds the immutable [`RuleSet`] (rules per phase, markers,
//! configuration-time exclusions); [`transaction`] runs one request and its response through
//! it and reports which rules matched.

pub mod actions;
pub mod crs;
mod dense_dfa;
pub mod detector;
pub mod ftw;
mod fxhash;
mod injection;
mod literals;
pub mod macros;
pub mod operators;
mod pair_table;
pub mod parse;
pub mod per_thread;
pub mod prefilter;
pub mod ruleset;
pub mod scan_memo;
pub mod transaction;
pub mod variables;

pub use crs::CrsLoad;
pub use detector::CrsDetector;
pub use parse::LoadError;
pub use ruleset::{PhaseGroup, Rule, RuleSet, Source};
pub use transaction::{Interruption, Response, RuleMatch, SavedRequest, Transaction};
