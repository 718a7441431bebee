//! The pieces of the `palisade` command that tests and tools reuse: the configuration file,
//! building the detection engine from it, and labelled request corpora.

pub mod config;
pub mod corpus;
pub mod crs_cmd;
pub mod detectors;
pub mod ips_cmd;
pub mod ml_cmd;
