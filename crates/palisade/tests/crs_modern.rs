//! `config/crs/modern-apps.conf`, a REQUEST-900-style CRS exclusion profile for modern web
//! applications, measured on the hand-written corpora: per benign kind, how many requests
//! CRS PL1 blocks alone and with the profile; attacks caught with and without it. And one
//! realistic false positive fixed by a targeted exclusion while the same payload in another
//! argument or on another path is still blocked (the rule is not disabled globally).
//! `cargo test -p palisade --test crs_modern -- --nocapture` prints the table.

mod crs_support;

use std::path::PathBuf;

use crs_support::{crs_engine, root};
use palisade::corpus::load;
use palisade_engine::Engine;
use palisade_http::{Headers, RequestModel};

fn profile() -> PathBuf {
    root().join("config/crs/modern-apps.conf")
}

fn plain_crs() -> Engine {
    crs_engine(1, |_| {})
}

fn with_profile() -> Engine {
    crs_engine(1, |c| c.crs.before.push(profile()))
}

fn corpus_files(sub: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join("corpus").join(sub))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    files.sort();
    files
}

/// (kind, total, blocked by plain CRS, blocked with the profile)
fn rates(sub: &str, plain: &Engine, tuned: &Engine) -> Vec<(String, usize, usize, usize)> {
    corpus_files(sub)
        .into_iter()
        .map(|f| {
            let kind = f.file_stem().unwrap().to_string_lossy().into_owned();
            let (mut n, mut a, mut b) = (0, 0, 0);
            for e in load(&f).unwrap() {
                let m = e.to_model().unwrap();
                n += 1;
                a += usize::from(plain.inspect_request(&m).over_threshold);
                let v = tuned.inspect_request(&m);
                if v.over_threshold && sub == "benign" {
                    let ids: Vec<String> = v
                        .findings
                        .iter()
                        .filter(|f| f.score > 0)
                        .map(|f| format!("{}@{}", f.id, f.target))
                        .collect();
                    eprintln!("  still blocked: {kind}: {} {} {ids:?}", e.method, e.path);
                }
                b += usize::from(v.over_threshold);
            }
            (kind, n, a, b)
        })
        .collect()
}

fn table(title: &str, rows: &[(String, usize, usize, usize)]) -> (usize, usize, usize) {
    eprintln!("\n{title}");
    eprintln!(
        "{:<18} {:>5} {:>12} {:>14}",
        "kind", "n", "CRS PL1", "+modern-apps"
    );
    let (mut n, mut a, mut b) = (0, 0, 0);
    for (k, tn, ta, tb) in rows {
        eprintln!("{k:<18} {tn:>5} {ta:>12} {tb:>14}");
        n += tn;
        a += ta;
        b += tb;
    }
    eprintln!(
        "{:<18} {n:>5} {:>12} {:>14}",
        "total",
        format!("{a} ({:.1}%)", a as f64 * 100.0 / n as f64),
        format!("{b} ({:.1}%)", b as f64 * 100.0 / n as f64)
    );
    (n, a, b)
}

/// The profile's measured effect. Benign: blocked requests per kind (false positives);
/// attacks: caught per kind. The bounds are the numbers reached (see README), so a
/// regression in either direction fails.
#[test]
fn modern_apps_profile_rates() {
    let plain = plain_crs();
    let tuned = with_profile();
    let benign = rates("benign", &plain, &tuned);
    let attacks = rates("attacks", &plain, &tuned);
    let (bn, b_plain, b_tuned) = table("benign (blocked = false positive)", &benign);
    let (an, a_plain, a_tuned) = table("attacks (blocked = caught)", &attacks);
    assert!(bn > 500 && an > 500);
    // attack detection must not drop by more than 2 percentage points
    assert!(
        (a_plain - a_tuned.min(a_plain)) * 100 <= an * 2,
        "attacks caught: {a_plain}/{an} without the profile, {a_tuned}/{an} with it"
    );
    // benign FPR with the profile: the best reached honestly (see the file's header for
    // what is left blocked on purpose)
    assert!(b_tuned < b_plain, "{b_tuned} vs {b_plain}");
    assert!(
        b_tuned * 1000 <= bn * MAX_BENIGN_FPR_PERMILLE,
        "benign blocked with the profile: {b_tuned}/{bn}"
    );
}

/// Benign requests blocked with the profile, in per mille of the benign corpus.
// 57/615 = 9.3% measured (4 of them numeric search phrases such as "2 or 3 is true"; one a
// support ticket quoting a mail log, `Mail from: …`, which 932235 reads as a command);
// 11 are corpus/benign/raw_bodies.jsonl bodies whose types the profile leaves to a per-route allowance on purpose (920420: text/plain off the beacon
// paths, CSV, markdown, YAML, iCalendar, JOSE, SPARQL, Prometheus text); application/graphql
// is accepted on /graphql endpoints. 65/644 = 10.1% since 12-02 (stop 23) added query
// syntaxes of real APIs: Strapi `filters[x][$eq]`, Parse `where={"$gte":…}` and Mongo-style
// JSON searches stay blocked by 942290 (their `$` operators are what it looks for: an
// application decision), and two OData `$filter` values with SQL-like functions by
// 942100/942151/942190; OData's `$top`-style names are excluded on OData roots (1010650).
// 68/649 = 10.5% after the review round: one more OData `$filter` (942100/942190), a
// markdown post with bash `$(printf …)` snippets (932130/932235) and one whose links follow
// the words top/parent/window (941370 reads `window [` as a JavaScript global), CRS's own calls
// 69/651 = 10.6% on 12-02 (stop 24): a support ticket naming `~/.ssh/authorized_keys` and
// Windows paths in prose, which 930120 reads as an OS file access.
// 72/665 = 10.8% on 12-02 (stop 25) with corpus/benign/lookalikes.jsonl: CRS blocks a
// CloudFormation template's `${AWS::StackName}` (932130), a spreadsheet `=IF(B2>100,…)`
// formula (942230) and a how-to comment with `dir | findstr` (932235 and friends); 74/671
// = 11.0% with six generated passwords in auth.jsonl (CRS blocks three of them: 942100
// and 941100, libinjection's SQLi and XSS verdicts, and 932340, a command); 77/696 =
// 11.1% with the review's 25 look-alikes (YAML tags, printf templates, regex literals, …);
// 79/700 = 11.3% on 12-02 (stop 26) with four look-alikes of data: URLs, array callbacks and
// page charsets (plain PL1 blocks three; with the profile, the JSON API carrying
// data:application/pdf (932235, 934170, 941130) and the comment quoting <meta charset>
// (941100, 941160) stay blocked); 79/702 with two compressed telemetry beacons (920450
// blocked them until the profile's 1010250 lifted the Content-Encoding restriction);
// 80/704 = 11.4% with a Shift_JIS form (CRS: 920480, charset not allowed, and 920250,
// invalid UTF-8) and UTF-16 JSON (passes since the profile's 1010280 allows the UTF-16/32
// charsets Palisade decodes); 81/708 = 11.4% with a post quoting JavaScript that passes
// `alert` to a promise's `catch` (941390, 942151); 83/711 = 11.7% with an upload typed
// `charset=binary` (920420, 920480) and a JSON body declaring `utf8mb4` (920480): CRS's
// charset allow-list, which the profile widens only by UTF-16/32; 85/714 = 11.9% on 12-03
// with three rich-text look-alikes of XSS tricks, two of which CRS blocks: `online = true`
// after a tag (941120 reads any `on` word before `=` as an event handler) and prose saying
// "single file (src= …" (933160 reads `file (` as a PHP call).
const MAX_BENIGN_FPR_PERMILLE: usize = 120;

fn json_post(path: &str, body: &str) -> RequestModel {
    let mut h = Headers::default();
    h.push("Host", b"code.example.com".to_vec());
    h.push(
        "User-Agent",
        b"Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0".to_vec(),
    );
    h.push("Accept", b"application/json".to_vec());
    h.push("Content-Type", b"application/json".to_vec());
    h.push("Content-Length", body.len().to_string().into_bytes());
    let mut m = RequestModel::from_head("POST", path, "HTTP/1.1", h);
    m.attach_body(body.as_bytes().to_vec(), false);
    m
}

/// A pull-request review comment with a shell code block: blocked by plain CRS (932xxx on
/// ARGS:body), passes with the profile; the same text in ARGS:title on the same endpoint,
/// or in ARGS:body on another endpoint, is still blocked by the same rules.
#[test]
fn a_markdown_false_positive_is_fixed_without_disabling_the_rule() {
    let plain = plain_crs();
    let tuned = with_profile();
    let text = "To reproduce:\n\n```bash\ndocker run --rm -it -v $(pwd):/app node:22 sh -c 'cd /app && npm ci && npm test'\n```\n";
    let enc = serde_json::to_string(text).unwrap();
    let comments = "/api/v3/repos/acme/web/pulls/342/comments";
    let fp = json_post(
        comments,
        &format!(r#"{{"body":{enc},"path":"src/app.ts","line":12}}"#),
    );

    let v = plain.inspect_request(&fp);
    assert!(v.is_block(), "plain CRS should block it: {:?}", v.findings);
    let rules: Vec<String> = v
        .findings
        .iter()
        .filter(|f| f.score > 0 && f.target == "ARGS:body")
        .map(|f| f.id.clone())
        .collect();
    assert!(
        rules.iter().any(|r| r.starts_with("932")),
        "{:?}",
        v.findings
    );
    eprintln!("plain CRS blocks the review comment: rules {rules:?} on ARGS:body");

    let v = tuned.inspect_request(&fp);
    assert!(
        !v.over_threshold,
        "profile should pass it: {:?}",
        v.findings
    );

    // same payload, another argument, same endpoint: still blocked, by the same rules
    let other_arg = json_post(comments, &format!(r#"{{"body":"LGTM","path":{enc}}}"#));
    let v = tuned.inspect_request(&other_arg);
    assert!(v.is_block(), "{:?}", v.findings);
    assert!(
        v.findings
            .iter()
            .any(|f| f.target == "ARGS:path" && rules.contains(&f.id)),
        "{:?}",
        v.findings
    );

    // same payload, same argument name, another endpoint: still blocked
    let other_path = json_post(
        "/api/v2/orders/884213/notes",
        &format!(r#"{{"body":{enc}}}"#),
    );
    let v = tuned.inspect_request(&other_path);
    assert!(v.is_block(), "{:?}", v.findings);
    assert!(
        v.findings
            .iter()
            .any(|f| f.target == "ARGS:body" && rules.contains(&f.id)),
        "{:?}",
        v.findings
    );
}

/// The profile's setup changes are scoped too: WebDAV methods stay disallowed, raw
/// octet-stream bodies are accepted only for PUT on the upload prefixes, and text/plain
/// only on beacon collectors (XML sent as text/plain elsewhere still scores 920420).
#[test]
fn setup_changes_stay_narrow() {
    let tuned = with_profile();
    let mut h = Headers::default();
    h.push("Host", b"files.example.com".to_vec());
    h.push("User-Agent", b"curl/8.5.0".to_vec());
    h.push("Accept", b"*/*".to_vec());
    let mut m = RequestModel::from_head("PROPFIND", "/dav/", "HTTP/1.1", h.clone());
    m.attach_body(Vec::new(), false);
    let v = tuned.inspect_request(&m);
    assert!(
        v.findings.iter().any(|f| f.id == "911100"),
        "{:?}",
        v.findings
    );

    let mut h2 = h.clone();
    h2.push("Content-Type", b"application/octet-stream".to_vec());
    h2.push("Content-Length", b"4".to_vec());
    let mut up = RequestModel::from_head("PUT", "/api/v1/blobs/abc", "HTTP/1.1", h2.clone());
    up.attach_body(b"\x00\x01\x02\x03".to_vec(), false);
    assert!(!tuned
        .inspect_request(&up)
        .findings
        .iter()
        .any(|f| f.id == "920420"));
    let mut elsewhere = RequestModel::from_head("POST", "/api/v2/import", "HTTP/1.1", h2);
    elsewhere.attach_body(b"\x00\x01\x02\x03".to_vec(), false);
    let v = tuned.inspect_request(&elsewhere);
    assert!(
        v.findings.iter().any(|f| f.id == "920420"),
        "{:?}",
        v.findings
    );

    let mut h3 = h.clone();
    h3.push("Content-Type", b"text/plain;charset=UTF-8".to_vec());
    let beacon_body = br#"{"v":2,"events":[{"n":"page_view"}]}"#.to_vec();
    let mut beacon = RequestModel::from_head("POST", "/g/collect?v=2", "HTTP/1.1", h3.clone());
    beacon.attach_body(beacon_body, false);
    assert!(!tuned
        .inspect_request(&beacon)
        .findings
        .iter()
        .any(|f| f.id == "920420"));
    let mut xml = RequestModel::from_head("POST", "/api/import", "HTTP/1.1", h3);
    xml.attach_body(b"<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]><x>&xxe;</x>".to_vec(), false);
    let v = tuned.inspect_request(&xml);
    assert!(
        v.findings.iter().any(|f| f.id == "920420"),
        "{:?}",
        v.findings
    );
}
