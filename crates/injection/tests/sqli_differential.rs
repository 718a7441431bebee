//! Our SQLi engine (`src/sqli.rs`) against the `libinjectionrs` port it replaced, whose
//! verdicts matched the C library on ~1.1 million inputs: the same verdict and fingerprint on
//! every value of the attack and traffic collections in `shared/data`, on their URL-decoded
//! forms, on random mutations of the SQLi payloads and on random strings of SQL fragments
//! chosen to reach every tokenizer and folding branch (quotes and escapes, comment kinds,
//! PostgreSQL dollar strings, Oracle q-strings, MySQL variables and backticks, ...).

mod common;

use std::borrow::Cow;

use palisade_http::transform::Transform;
use palisade_injection::{port_sqli, sqli_engine};

/// Values of one line: as-is, and URL-decoded (the project's `urlDecode`) when that
/// changes it.
fn with_decoded(line: &str, out: &mut Vec<Vec<u8>>) {
    let raw = line.as_bytes();
    if let Cow::Owned(decoded) = Transform::UrlDecode.apply(raw) {
        out.push(decoded);
    }
    out.push(raw.to_vec());
}

fn lines_of(path: &std::path::Path, out: &mut Vec<Vec<u8>>) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    for line in String::from_utf8_lossy(&bytes).lines() {
        let line = line.trim_end_matches('\r');
        if !line.is_empty() {
            with_decoded(line, out);
        }
    }
}

fn files_under(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            files_under(&p, out);
        } else if p
            .extension()
            .is_some_and(|x| x == "txt" || x == "md" || x == "lst")
        {
            out.push(p);
        }
    }
}

/// `SQLI_DIFF_SCALE=N` runs N times as many random values (with other seeds), for a long
/// local run.
fn scale() -> (usize, u64) {
    let n = std::env::var("SQLI_DIFF_SCALE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1usize);
    (n, if n == 1 { 0 } else { n as u64 })
}

fn rng(mut seed: u64) -> impl FnMut() -> u64 {
    move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    }
}

/// Pieces of SQL and of its tokenizer's corner cases.
const FRAGMENTS: &[&[u8]] = &[
    b"'",
    b"\"",
    b"`",
    b"\\",
    b"\\'",
    b"''",
    b"\"\"",
    b"--",
    b"-- ",
    b"--x",
    b"#",
    b"/*",
    b"*/",
    b"/*!",
    b"/*/*",
    b" ",
    b"  ",
    b"\t",
    b"\n",
    b"\xa0",
    b"\xff",
    b"\xc3\xa9",
    b"1",
    b"0",
    b"42",
    b"1.5",
    b"1.",
    b".",
    b".5",
    b"1e5",
    b"1e",
    b"1e+",
    b"0x1f",
    b"0x",
    b"0b101",
    b"0b",
    b"2f",
    b"1d;",
    b"1fUNION",
    b"$",
    b"$1,000.00",
    b"$.",
    b"$$",
    b"$tag$",
    b"$a",
    b"@",
    b"@@",
    b"@x",
    b"@@version",
    b"@`a`",
    b"@'v'",
    b"(",
    b")",
    b"((",
    b"))",
    b"{",
    b"}",
    b"[",
    b"]",
    b"[col]",
    b",",
    b";",
    b";;",
    b":",
    b"::",
    b"=",
    b"<",
    b">",
    b"<=>",
    b"!=",
    b"!",
    b"!!",
    b"~",
    b"+",
    b"-",
    b"*",
    b"/",
    b"%",
    b"&",
    b"|",
    b"^",
    b"||",
    b"&&",
    b"?",
    b"\\N",
    b"N'",
    b"E'",
    b"e'x'",
    b"U&'",
    b"u&'a'",
    b"q'[",
    b"]'",
    b"Q'<x>'",
    b"nq'(",
    b"B'01'",
    b"X'af'",
    b"x'zz'",
    b"@user(",
    b"@@password(",
    b"u&'a' || u&'b'",
    b"`sleep`",
    b"`version`(",
    b"@@`x`",
    b"b'2'",
    b"q'!",
    b"!'",
    b"Q'\x01",
    b"q'\xe9",
    b"union",
    b"UNION",
    b"all",
    b"select",
    b"SELECT",
    b"from",
    b"where",
    b"and",
    b"or",
    b"OR",
    b"not",
    b"NOT",
    b"in",
    b"not in",
    b"like",
    b"not like",
    b"is",
    b"null",
    b"NULL",
    b"sleep",
    b"benchmark",
    b"user",
    b"USER",
    b"database",
    b"password",
    b"current_user",
    b"if",
    b"IF",
    b"ifnull",
    b"into",
    b"INTO",
    b"outfile",
    b"into outfile",
    b"INTO DUMPFILE",
    b"collate",
    b"utf8_bin",
    b"latin1",
    b"int",
    b"varchar",
    b"char",
    b"cast",
    b"convert",
    b"group by",
    b"order by",
    b"having",
    b"limit",
    b"waitfor",
    b"delay",
    b"exec",
    b"xp_cmdshell",
    b"sp_password",
    b"SP_PASSWORD",
    b"information_schema",
    b"tables",
    b"table_name",
    b"a.b",
    b"sys.",
    b"sys.dba_users",
    b"admin",
    b"x",
    b"foo_bar",
    b"version()",
    b"1=1",
    b"'a'='a",
    b"1 or 1=1",
    b"' or ''='",
    b"1;drop table t",
    b"\x00",
    b"at time zone",
    b"binary",
    b"regexp",
    b"rlike",
    b"div",
    b"mod",
    b"xor",
];

fn random_fragments(next: &mut impl FnMut() -> u64, out: &mut Vec<Vec<u8>>, count: usize) {
    for _ in 0..count {
        let parts = 1 + (next() % 9) as usize;
        let mut v = Vec::new();
        for _ in 0..parts {
            let f = FRAGMENTS[(next() % FRAGMENTS.len() as u64) as usize];
            v.extend_from_slice(f);
            if next().is_multiple_of(3) {
                v.push(b' ');
            }
        }
        out.push(v);
    }
}

fn mutations(
    next: &mut impl FnMut() -> u64,
    seeds: &[Vec<u8>],
    out: &mut Vec<Vec<u8>>,
    count: usize,
) {
    if seeds.is_empty() {
        return;
    }
    for _ in 0..count {
        let mut v = seeds[(next() % seeds.len() as u64) as usize].clone();
        for _ in 0..1 + next() % 4 {
            let at = if v.is_empty() {
                0
            } else {
                (next() % v.len() as u64) as usize
            };
            match next() % 5 {
                0 if !v.is_empty() => {
                    v.remove(at);
                }
                1 if !v.is_empty() => v[at] ^= 0x20,
                2 => {
                    let f = FRAGMENTS[(next() % FRAGMENTS.len() as u64) as usize];
                    v.splice(at..at, f.iter().copied());
                }
                3 if !v.is_empty() => v[at] = (next() & 0xff) as u8,
                _ => v.insert(at, b"'\" -#/*()`\\"[(next() % 11) as usize]),
            }
        }
        out.push(v);
    }
}

fn compare(values: &[Vec<u8>]) -> (usize, Vec<String>) {
    let mut differences = Vec::new();
    let mut flagged = 0;
    for v in values {
        let ours = sqli_engine(v);
        let port = port_sqli(v);
        flagged += usize::from(port.is_some());
        if ours != port {
            differences.push(format!(
                "{:?}: ours {:?}, port {:?}",
                String::from_utf8_lossy(v),
                ours.map(|f| f.to_string()),
                port.map(|f| f.to_string())
            ));
        }
    }
    (flagged, differences)
}

fn assert_same(what: &str, values: &[Vec<u8>], min_flagged: usize) {
    let (flagged, differences) = compare(values);
    assert!(
        differences.is_empty(),
        "{what}: {} of {} values differ, e.g.\n{}",
        differences.len(),
        values.len(),
        differences[..differences.len().min(25)].join("\n")
    );
    // the set must exercise the SQLi verdicts, not only the benign path
    assert!(
        flagged >= min_flagged,
        "{what}: only {flagged} of {} values are SQLi",
        values.len()
    );
}

#[test]
fn same_verdicts_on_payload_collections() {
    let data = common::shared_data();
    let mut files = Vec::new();
    files_under(&data.join("PayloadsAllTheThings"), &mut files);
    let mut values = Vec::new();
    for f in &files {
        lines_of(f, &mut values);
    }
    lines_of(&data.join("fwaf/badqueries.txt"), &mut values);
    assert_same("payload collections and fwaf bad queries", &values, 2_000);
}

#[test]
fn same_verdicts_on_benign_traffic() {
    let data = common::shared_data();
    let mut values = Vec::new();
    lines_of(
        &data.join("fwaf/goodqueries_SUBSET_from_liuzc188_UrlDetect.txt"),
        &mut values,
    );
    // CSIC's normal requests: every line (request lines, headers, bodies)
    let mut csic = Vec::new();
    files_under(&data.join("csic2010"), &mut csic);
    for f in &csic {
        lines_of(f, &mut values);
    }
    // (libinjection flags none of these: the test guards against new false positives)
    assert_same("benign traffic", &values, 0);
}

#[test]
fn same_verdicts_on_mutated_payloads() {
    let data = common::shared_data();
    let mut files = Vec::new();
    files_under(&data.join("PayloadsAllTheThings/SQL Injection"), &mut files);
    let mut seeds = Vec::new();
    for f in &files {
        lines_of(f, &mut seeds);
    }
    seeds.retain(|s| s.len() <= 200);
    let (n, salt) = scale();
    let mut next = rng(0x5eed_0001 ^ salt << 32);
    let mut values = Vec::new();
    mutations(&mut next, &seeds, &mut values, 150_000 * n);
    assert_same("mutated SQLi payloads", &values, 20_000);
}

#[test]
fn same_verdicts_on_random_sql_fragments() {
    let (n, salt) = scale();
    let mut next = rng(0x5eed_0002 ^ salt << 32);
    let mut values = Vec::new();
    random_fragments(&mut next, &mut values, 300_000 * n);
    assert_same("random SQL fragments", &values, 20_000);
}
