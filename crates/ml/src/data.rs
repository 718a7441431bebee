//! Training data: reading the shared data sets into labelled values, and turning values
//! into deduplicated, normalized, windowed samples with a stable train/validation split.
//!
//! Sources (paths under the data root, usually `../shared/data`):
//! * `fwaf/badqueries.txt` — attacks (URL path + query). A line labels the whole URL, but
//!   the model scores single locations, so each line contributes its worst location under a
//!   first-pass model trained without fwaf (multiple-instance labelling; see `train`).
//!   Lines with nothing but `[A-Za-z0-9/._~-]` are dropped: they are file-name probes with no
//!   payload, indistinguishable from benign paths by content (signatures cover them).
//! * `fwaf/goodqueries_*.txt` — benign paths, argument names and values. The file is
//!   noisy (it contains scanner probes), so lines with attack markers ([`FWAF_GOOD_DROP`])
//!   are dropped.
//! * `PayloadsAllTheThings/**/Intruder*/*` and XXE sample files — attack payloads, one per
//!   line (whole file for XML documents). Word lists that are not payloads are skipped.
//! * `csic2010/normalTrafficTraining.txt` — benign values from every scored location.
//! * generated modern benign traffic ([`crate::generate::benign_values`]).
//! * generated attacks of families the data sets predate: Log4Shell, Shellshock, cloud
//!   metadata SSRF, NoSQL operators, prototype pollution, template injection
//!   ([`crate::generate::attack_values`]).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::features::{decode_keeping_digits, normalize, windows};
use crate::locations::for_each_location;
use crate::model::fnv64;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Source {
    FwafBad,
    FwafGood,
    Payloads,
    Csic,
    Generated,
    /// Attack families missing from the shared data ([`crate::generate::attack_values`]).
    Crafted,
}

impl Source {
    pub fn name(self) -> &'static str {
        match self {
            Source::FwafBad => "fwaf-bad",
            Source::FwafGood => "fwaf-good",
            Source::Payloads => "payloadsallthethings",
            Source::Csic => "csic2010-normal",
            Source::Generated => "generated-benign",
            Source::Crafted => "generated-attacks",
        }
    }

    pub fn is_attack(self) -> bool {
        matches!(self, Source::FwafBad | Source::Payloads | Source::Crafted)
    }
}

/// One data file that went into training, for the model card.
#[derive(Debug, Clone)]
pub struct DataFile {
    pub path: PathBuf,
    pub sha256: String,
    pub records: usize,
}

/// A raw (un-normalized) value with its provenance.
#[derive(Debug, Clone)]
pub struct Value {
    pub source: Source,
    pub bytes: Vec<u8>,
}

/// Markers that disqualify an fwaf "good" line (its labels are known to be noisy).
pub const FWAF_GOOD_DROP: &[&str] = &[
    "<", ">", "'", "\"", "../", "..\\", "http:", "https:", "ftp:", "${", "`", "|", ";", "script",
    "select", "union", "/etc/", "passwd", "cmd", "exec", "%00", "win.ini", "alert(",
];

pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(bytes);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

fn read(path: &Path) -> std::io::Result<(Vec<u8>, String)> {
    let bytes = std::fs::read(path)
        .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
    let hash = sha256_hex(&bytes);
    Ok((bytes, hash))
}

fn lines(bytes: &[u8]) -> impl Iterator<Item = &[u8]> {
    bytes.split(|&b| b == b'\n').filter_map(|l| {
        let l = l.strip_suffix(b"\r").unwrap_or(l);
        (!l.iter().all(u8::is_ascii_whitespace)).then_some(l)
    })
}

/// Takes at most `limit` items, chosen by a fixed hash of their index (stable subsets for
/// tests and quick runs; an even stride would alias with the periodic order of some files).
fn spread<T>(items: Vec<T>, limit: Option<usize>) -> Vec<T> {
    match limit {
        Some(n) if n < items.len() => {
            let mut keys: Vec<(u64, usize)> = (0..items.len())
                .map(|i| (fnv64(&(i as u64).to_le_bytes()), i))
                .collect();
            keys.sort_unstable();
            let mut keep = vec![false; items.len()];
            for &(_, i) in keys.iter().take(n) {
                keep[i] = true;
            }
            items
                .into_iter()
                .zip(keep)
                .filter_map(|(it, k)| k.then_some(it))
                .collect()
        }
        _ => items,
    }
}

/// Locations of a URL line (`/path?query`) as values, in request order.
pub fn url_locations(line: &[u8]) -> Vec<Vec<u8>> {
    let text = String::from_utf8_lossy(line);
    let model = palisade_http::RequestModel::from_head(
        "GET",
        text.trim(),
        "HTTP/1.1",
        palisade_http::Headers::default(),
    );
    let mut out = Vec::new();
    for_each_location(&model, |_, v| out.push(v.to_vec()));
    out
}

/// fwaf bad lines: each line's candidate locations (the caller picks one per line).
pub fn fwaf_bad(
    root: &Path,
    limit: Option<usize>,
) -> std::io::Result<(Vec<Vec<Vec<u8>>>, DataFile)> {
    let path = root.join("fwaf/badqueries.txt");
    let (bytes, sha256) = read(&path)?;
    let all: Vec<&[u8]> = lines(&bytes).collect();
    let records = all.len();
    let probe_only = |l: &[u8]| {
        l.iter()
            .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'.' | b'_' | b'~' | b'-'))
    };
    let kept: Vec<Vec<Vec<u8>>> = all
        .into_iter()
        .filter(|l| !probe_only(l))
        .map(|l| {
            let mut locs = url_locations(l);
            if locs.is_empty() {
                locs.push(l.to_vec());
            }
            locs
        })
        .collect();
    Ok((
        spread(kept, limit),
        DataFile {
            path,
            sha256,
            records,
        },
    ))
}

pub fn fwaf_good(
    root: &Path,
    limit: Option<usize>,
) -> std::io::Result<(Vec<Value>, DataFile, usize)> {
    let path = root.join("fwaf/goodqueries_SUBSET_from_liuzc188_UrlDetect.txt");
    let (bytes, sha256) = read(&path)?;
    let all: Vec<&[u8]> = lines(&bytes).collect();
    let records = all.len();
    let mut dropped = 0;
    let mut kept = Vec::new();
    for l in all {
        let lower = String::from_utf8_lossy(&decode_keeping_digits(l)).into_owned();
        if FWAF_GOOD_DROP.iter().any(|m| lower.contains(m)) {
            dropped += 1;
            continue;
        }
        kept.push(l);
    }
    let kept = spread(kept, limit);
    let mut out = Vec::new();
    for l in kept {
        for v in url_locations(l) {
            out.push(Value {
                source: Source::FwafGood,
                bytes: v,
            });
        }
    }
    Ok((
        out,
        DataFile {
            path,
            sha256,
            records,
        },
        dropped,
    ))
}

/// Files of PayloadsAllTheThings that are word lists rather than payloads.
const PATT_SKIP: &[&str] = &[
    "extensions.lst",
    "LDAP_attributes.txt",
    "param_miner_lowercase_headers.txt",
    "springboot_actuator.txt",
    "LICENSE",
];

pub fn payloads(root: &Path, limit: Option<usize>) -> std::io::Result<(Vec<Value>, Vec<DataFile>)> {
    let base = root.join("PayloadsAllTheThings");
    let mut files = Vec::new();
    collect_files(&base, &mut files)?;
    files.sort();
    let mut values = Vec::new();
    let mut cards = Vec::new();
    for path in files {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if PATT_SKIP.contains(&name.as_str()) {
            continue;
        }
        let (bytes, sha256) = read(&path)?;
        let whole_file = path.components().any(|c| c.as_os_str() == "Files")
            && path.to_string_lossy().contains("XXE");
        let before = values.len();
        if whole_file {
            values.push(Value {
                source: Source::Payloads,
                bytes: bytes.clone(),
            });
        } else {
            for l in lines(&bytes) {
                values.push(Value {
                    source: Source::Payloads,
                    bytes: l.to_vec(),
                });
            }
        }
        cards.push(DataFile {
            path,
            sha256,
            records: values.len() - before,
        });
    }
    Ok((spread(values, limit), cards))
}

fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", dir.display())))?
        .flatten()
        .map(|e| e.path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            collect_files(&p, out)?;
        } else {
            out.push(p);
        }
    }
    Ok(())
}

pub fn csic(root: &Path, limit: Option<usize>) -> std::io::Result<(Vec<Value>, DataFile)> {
    let path = root.join("csic2010/normalTrafficTraining.txt");
    let (bytes, sha256) = read(&path)?;
    let (requests, _) = crate::csic::parse(&String::from_utf8_lossy(&bytes));
    let records = requests.len();
    let requests = spread(requests, limit);
    let mut out = Vec::new();
    for r in &requests {
        for_each_location(r, |_, v| {
            out.push(Value {
                source: Source::Csic,
                bytes: v.to_vec(),
            })
        });
    }
    Ok((
        out,
        DataFile {
            path,
            sha256,
            records,
        },
    ))
}

/// A training or validation sample: one normalized window.
#[derive(Debug, Clone)]
pub struct Sample {
    pub text: Vec<u8>,
    pub attack: bool,
    pub source: Source,
}

/// Which split a normalized text belongs to, by a hash of the text itself: identical texts
/// never straddle the split, and the split does not depend on input order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    Train,
    /// Fits the calibration and chooses the threshold.
    Calibrate,
    /// Reported metrics only.
    Test,
}

pub fn split_of(text: &[u8], seed: u64) -> Split {
    match (fnv64(text) ^ seed.wrapping_mul(0x9e37_79b9_7f4a_7c15)) % 100 {
        0..=7 => Split::Calibrate,
        8..=15 => Split::Test,
        _ => Split::Train,
    }
}

/// Normalizes, windows and deduplicates values. A text seen with both labels is dropped
/// from both (returned count): it carries no signal, only label noise.
pub fn build_samples(values: &[Value]) -> (Vec<Sample>, usize) {
    let mut seen: HashMap<Vec<u8>, (bool, bool, Source, usize)> = HashMap::new();
    let mut order = Vec::new();
    for v in values {
        let norm = normalize(&v.bytes);
        for (s, e) in windows(norm.len()) {
            let text = &norm[s..e];
            if text.is_empty() {
                continue;
            }
            let entry = seen.entry(text.to_vec()).or_insert_with(|| {
                order.push(text.to_vec());
                (false, false, v.source, order.len() - 1)
            });
            if v.source.is_attack() {
                entry.0 = true;
            } else {
                entry.1 = true;
            }
        }
    }
    let mut conflicts = 0;
    let mut out = Vec::with_capacity(order.len());
    for text in order {
        let (attack, benign, source, _) = seen[&text];
        if attack && benign {
            conflicts += 1;
            continue;
        }
        out.push(Sample {
            text,
            attack,
            source,
        });
    }
    (out, conflicts)
}
