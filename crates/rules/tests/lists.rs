//! Loading and matching signature lists from real files.

use std::path::{Path, PathBuf};

use palisade_engine::{Finding, ResponseModel, Severity};
use palisade_http::{Headers, RequestModel};
use palisade_rules::{agent_list, from_dir, SignatureSet};

struct TempDir(PathBuf);
impl TempDir {
    fn new(tag: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!("palisade-rules-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).expect("create temp dir");
        TempDir(p)
    }
    fn write(&self, rel: &str, text: &str) {
        let path = self.0.join(rel);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    }
}
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn request(target: &str, headers: &[(&str, &str)], body: Option<(&str, &str)>) -> RequestModel {
    let mut h = Headers::default();
    for (n, v) in headers {
        h.push(*n, v.as_bytes().to_vec());
    }
    if let Some((ct, _)) = body {
        h.push("Content-Type", ct.as_bytes().to_vec());
    }
    let mut m = RequestModel::from_head(
        if body.is_some() { "POST" } else { "GET" },
        target,
        "HTTP/1.1",
        h,
    );
    if let Some((_, b)) = body {
        m.attach_body(b.as_bytes().to_vec(), false);
    }
    m
}

fn run(set: &SignatureSet, req: &RequestModel, paranoia: u8) -> Vec<Finding> {
    let mut out = Vec::new();
    set.match_request(req, paranoia, &mut out);
    out
}

fn run_response(set: &SignatureSet, status: u16, content_type: &str, body: &[u8]) -> Vec<Finding> {
    let resp = ResponseModel {
        status,
        content_type: content_type.into(),
        body: body.to_vec(),
        ..ResponseModel::default()
    };
    let mut out = Vec::new();
    set.match_response(&resp, 1, &mut out);
    out
}

fn load(dir: &Path) -> SignatureSet {
    SignatureSet::from_sources(from_dir(dir).expect("read dir")).expect("compile")
}

#[test]
fn literal_lists_match_decoded_values_case_insensitively() {
    let d = TempDir::new("literal");
    d.write(
        "args/words.txt",
        "#@ category: demo\n#@ severity: warning\nevil-token\n",
    );
    let set = load(&d.0);
    // double-encoded and upper case in a query argument
    let f = run(&set, &request("/s?q=x%2545VIL-TOKEN", &[], None), 1);
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].id, "args/words.txt:3");
    assert_eq!(f[0].target, "ARGS:q");
    assert_eq!(f[0].severity, Severity::Warning);
    assert_eq!(f[0].category, "demo");
    assert_eq!(f[0].excerpt.to_ascii_lowercase(), "evil-token");
    // a substring of a longer benign word list entry does not matter: "chrome" ≠ "chr("
    d.write("args/words.txt", "chr(\n");
    let set = load(&d.0);
    assert!(run(&set, &request("/s?ua=chrome", &[], None), 1).is_empty());
}

#[test]
fn regex_lists_see_every_location_and_report_it() {
    let d = TempDir::new("regex");
    d.write(
        "args/sqli.re",
        r"#@ message: union select
\bunion\s+select\b
",
    );
    let set = load(&d.0);
    let cases = [
        request("/p?a=1%20UNION%20SELECT%20x", &[], None),
        request("/p", &[("Cookie", "sid=1+union+select+2")], None),
        request("/p", &[("Referer", "http://x/?id=1 union select 2")], None),
        request(
            "/p",
            &[],
            Some(("application/json", r#"{"user":{"q":"1 union select pw"}}"#)),
        ),
        request(
            "/p",
            &[],
            Some((
                "application/x-www-form-urlencoded",
                "a=1&b=1+union%0a%09select+2",
            )),
        ),
    ];
    let targets = [
        "ARGS:a",
        "REQUEST_COOKIES:sid",
        "REQUEST_HEADERS:Referer",
        "ARGS:user.q",
        "ARGS:b",
    ];
    for (req, want) in cases.iter().zip(targets) {
        let f = run(&set, req, 1);
        assert_eq!(f.len(), 1, "{want}: {f:?}");
        assert_eq!(f[0].target, want);
        assert_eq!(f[0].message, "union select");
    }
    // benign prose with both words apart does not match
    assert!(run(
        &set,
        &request("/p?q=the+union+was+a+great+select", &[], None),
        1
    )
    .is_empty());
}

#[test]
fn path_segments_are_argument_values() {
    let d = TempDir::new("segments");
    d.write("args/x.re", "^1' or '1'='1$\n<svg/onload\n");
    let set = load(&d.0);
    // a REST parameter: decoded once, anchored at the segment's own start and end
    let f = run(
        &set,
        &request("/products/1%27%20or%20%271%27%3D%271/reviews", &[], None),
        1,
    );
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].target, "REQUEST_FILENAME");
    assert_eq!(f[0].excerpt, "1' or '1'='1");
    // an encoded slash stays inside its segment; a raw one separates segments
    let f = run(
        &set,
        &request("/search/%3Csvg%2Fonload%3Dalert(1)%3E", &[], None),
        1,
    );
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].target, "REQUEST_FILENAME");
    assert!(run(&set, &request("/search/%3Csvg/onload", &[], None), 1).is_empty());
    // a segment that is a plain name is no argument value, even for a whole-value pattern
    // that an argument holding the same word matches
    d.write("args/x.re", "^whoami$\n");
    let set = load(&d.0);
    assert_eq!(run(&set, &request("/s?cmd=whoami", &[], None), 1).len(), 1);
    assert!(run(&set, &request("/sessions/whoami", &[], None), 1).is_empty());
    assert!(run(&set, &request("/sessions/who%61mi", &[], None), 1).is_empty());
    // the URL target keeps its own location
    d.write("url/x.re", "svg\n");
    let set = load(&d.0);
    let f = run(&set, &request("/a/svg", &[], None), 1);
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].target, "REQUEST_URI");
}

#[test]
fn unparsed_bodies_are_argument_values() {
    let d = TempDir::new("unparsed");
    d.write("args/x.re", "union\\s+select\\W\n");
    let set = load(&d.0);
    let attack = "1 union select name, email from users";
    // a body no parser takes apart, and one that is not what its type says
    for (ct, body) in [
        ("text/plain", attack.to_string()),
        ("text/plain; charset=utf-8", attack.to_string()),
        ("application/json", format!("{{\"q\": \"{attack}")),
    ] {
        let f = run(&set, &request("/api", &[], Some((ct, &body))), 1);
        assert_eq!(f.len(), 1, "{ct}: {f:?}");
        assert_eq!(f[0].target, "REQUEST_BODY", "{ct}");
    }
    // documents are not argument values (an HTML page, an SQL migration uploaded as such),
    // nor is a body that names a secret: its matched text would reach the audit log
    for (ct, body) in [
        ("text/html", attack.to_string()),
        ("application/sql", attack.to_string()),
        ("text/plain", format!("user=bob\npassword={attack}")),
    ] {
        assert!(
            run(&set, &request("/api", &[], Some((ct, &body))), 1).is_empty(),
            "{ct}"
        );
    }
    // a body that gave fields before its error is matched by its fields, once
    let f = run(
        &set,
        &request(
            "/api",
            &[],
            Some(("application/xml", &format!("<q>{attack}</r>"))),
        ),
        1,
    );
    assert_eq!(f.len(), 1, "{f:?}");
    // a well-formed body's fields are the values, never the text around them (the quote
    // after a value is JSON's, not the client's)
    let json = r#"{"q": "union select", "n": 1}"#;
    assert!(run(
        &set,
        &request("/api", &[], Some(("application/json", json))),
        1
    )
    .is_empty());
    // so are those of JSON sent under another type (sendBeacon's text/plain), one document
    // or one per line
    assert!(run(&set, &request("/t", &[], Some(("text/plain", json))), 1).is_empty());
    let lines = format!("{json}\n{json}\n");
    assert!(run(&set, &request("/t", &[], Some(("text/plain", &lines))), 1).is_empty());
    let f = run(
        &set,
        &request(
            "/t",
            &[],
            Some(("text/plain", r#"{"q": "union select 1,2"}"#)),
        ),
        1,
    );
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].target, "ARGS:q");
}

#[test]
fn base64_text_in_arguments_and_cookies_is_matched_decoded() {
    let d = TempDir::new("base64");
    d.write("args/x.re", "union\\s+select\\W\n");
    let set = load(&d.0);
    // "1 union select 2,3" in a query argument; unpadded in a cookie
    let f = run(
        &set,
        &request("/s?data=MSB1bmlvbiBzZWxlY3QgMiwz", &[], None),
        1,
    );
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].target, "ARGS:data");
    assert!(f[0].message.contains("base64"), "{}", f[0].message);
    let cookie = "pref=eCcgdW5pb24gc2VsZWN0IHBhc3MgZnJvbSB1c2Vycy0t";
    let f = run(&set, &request("/", &[("Cookie", cookie)], None), 1);
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].target, "REQUEST_COOKIES:pref");
    // a JSON document's fields are the values ("union select" then the encoder's quote)
    let state = "/cb?state=eyJxIjoidW5pb24gc2VsZWN0IiwibmV4dCI6Ii8ifQ";
    assert!(run(&set, &request(state, &[], None), 1).is_empty());
    let state = "/cb?state=eyJxIjoidW5pb24gc2VsZWN0IDEsMiJ9";
    assert_eq!(run(&set, &request(state, &[], None), 1).len(), 1);
    // a decoded document's secret-named field is left out (it would be reported under the
    // outer name, unredacted); a decoded text longer than 4 KB is a document, not a value
    let f = run(
        &set,
        &request(
            "/cb?state=eyJwYXNzd29yZCI6IjEgdW5pb24gc2VsZWN0IDIsMyJ9",
            &[],
            None,
        ),
        1,
    );
    assert!(f.is_empty(), "{f:?}");
    let long = format!("{}1 union select 2,3", "a ".repeat(2100));
    let long = base64_encode(long.as_bytes());
    assert!(run(&set, &request(&format!("/s?data={long}"), &[], None), 1).is_empty());
    let short = base64_encode(b"1 union select 2,3 ");
    assert_eq!(
        run(&set, &request(&format!("/s?data={short}"), &[], None), 1).len(),
        1
    );
    // header values are not decoded (Basic credentials are one)
    let header = "MSB1bmlvbiBzZWxlY3QgMiwz";
    assert!(run(&set, &request("/", &[("X-Data", header)], None), 1).is_empty());
}

#[test]
fn a_match_never_spans_two_values() {
    let d = TempDir::new("span");
    d.write("args/x.re", "foo.*bar\n^bar\n");
    let set = load(&d.0);
    assert!(run(&set, &request("/p?a=foo&b=bar1", &[], None), 1)
        .iter()
        .all(|f| f.id != "args/x.re:1"));
    // `^` anchors at the start of each value, not only of the first one
    let f = run(&set, &request("/p?a=x&b=barx", &[], None), 1);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].target, "ARGS:b");
    assert!(run(&set, &request("/p?a=x&b=xbar", &[], None), 1).is_empty());
}

#[test]
fn paranoia_levels_and_targets_are_respected() {
    let d = TempDir::new("paranoia");
    d.write("headers/h.txt", "#@ paranoia: 2\n${jndi:\n");
    d.write("url/u.txt", "/.git/\n");
    d.write("body/b.re", r"<!entity\s+\w+\s+system");
    d.write(
        "response/leak.txt",
        "#@ severity: error\nYou have an error in your SQL syntax\n",
    );
    let set = load(&d.0);
    let jndi = request("/", &[("X-Api-Version", "${jndi:ldap://x/a}")], None);
    assert!(run(&set, &jndi, 1).is_empty());
    assert_eq!(
        run(&set, &jndi, 2)[0].target,
        "REQUEST_HEADERS:X-Api-Version"
    );
    assert_eq!(
        run(&set, &request("/a/%2egit/config", &[], None), 1)[0].target,
        "REQUEST_URI"
    );
    let xxe = request(
        "/x",
        &[],
        Some((
            "application/xml",
            "<!DOCTYPE a [<!ENTITY  xxe SYSTEM \"file:///etc/passwd\">]><a>&xxe;</a>",
        )),
    );
    assert_eq!(run(&set, &xxe, 1)[0].target, "REQUEST_BODY");
    // binary uploads are not scanned as text
    let bin = request(
        "/x",
        &[],
        Some(("application/octet-stream", "<!ENTITY x SYSTEM")),
    );
    assert!(run(&set, &bin, 1).is_empty());
    let out = run_response(
        &set,
        500,
        "text/html",
        b"<b>You have an error in your SQL syntax; check the manual</b>",
    );
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].target, "RESPONSE_BODY");
    assert_eq!(out[0].severity, Severity::Error);
}

#[test]
fn load_errors_name_the_file_and_line() {
    let d = TempDir::new("errors");
    d.write("args/bad.re", "# fine\nok\n(unclosed\n");
    let err = SignatureSet::from_sources(from_dir(&d.0).expect("read"))
        .err()
        .expect("must fail");
    assert_eq!(err.line, 3);
    assert!(err.file.ends_with("args/bad.re"), "{err}");
    assert!(err.to_string().contains("bad.re:3"), "{err}");

    d.write("args/bad.re", "#@ severity: apocalyptic\nx\n");
    let err = SignatureSet::from_sources(from_dir(&d.0).expect("read"))
        .err()
        .expect("must fail");
    assert_eq!(err.line, 1);
    d.write("args/bad.re", "#@ transforms: default frobnicate\nx\n");
    let err = SignatureSet::from_sources(from_dir(&d.0).expect("read"))
        .err()
        .expect("must fail");
    assert!(err.message.contains("frobnicate"), "{err}");

    let d2 = TempDir::new("errors2");
    d2.write("nonsense/x.txt", "a\n");
    let err = from_dir(&d2.0).expect_err("unknown dir must fail");
    assert!(err.message.contains("unknown target directory"), "{err}");
}

#[test]
fn bad_user_agent_list_format_is_accepted() {
    let shared = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/bad-user-agents/apache-ultimate-bad-bot-blocker/_generator_lists/bad-user-agents.list");
    let source = if shared.exists() {
        agent_list(&shared).expect("load shared list")
    } else {
        let d = TempDir::new("ua");
        d.write("bad.list", "1h4x\\.com\nBlack\\ Hole\nsqlmap\n");
        agent_list(&d.0.join("bad.list")).expect("load list")
    };
    let set = SignatureSet::from_sources(vec![source]).expect("compile");
    let hit = run(
        &set,
        &request(
            "/",
            &[("User-Agent", "Mozilla/5.0 (compatible; Black Hole)")],
            None,
        ),
        1,
    );
    assert!(!hit.is_empty());
    assert_eq!(hit[0].target, "REQUEST_HEADERS:User-Agent");
    let browser = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36";
    assert!(run(&set, &request("/", &[("User-Agent", browser)], None), 1).is_empty());
    // A set of agent lists alone reads the User-Agent header, not arguments or cookies
    // (it skips building their locations): the agent is found beside a JSON body, and the
    // same words in a query argument, a JSON field and a cookie are not.
    let body = r#"{"items":[{"ua":"sqlmap"},{"ua":"Black Hole"}]}"#;
    let with_body = |agent: &str| {
        request(
            "/api?client=sqlmap",
            &[("User-Agent", agent), ("Cookie", "via=sqlmap")],
            Some(("application/json", body)),
        )
    };
    let hit = run(&set, &with_body("sqlmap/1.7"), 1);
    assert_eq!(
        hit.iter().map(|f| f.target.as_str()).collect::<Vec<_>>(),
        vec!["REQUEST_HEADERS:User-Agent"]
    );
    assert!(run(&set, &with_body(browser), 1).is_empty());
}

#[test]
fn each_pattern_matches_only_its_own_pipeline_variant() {
    let d = TempDir::new("pipelines");
    // raw view: a literal quote must not be found in the decoded variant of `%27`
    d.write("args/raw.txt", "#@ transforms: none\n'\n");
    d.write("args/decoded.txt", "#@ transforms: default\nzz'zz\n");
    d.write(
        "args/cmd.re",
        "#@ transforms: default cmdLine\n\\bcat\\s*/etc/passwd\n",
    );
    let set = load(&d.0);
    // `%2527` → parser → `%27` → default → `'`; raw view still `%27`
    let f = run(&set, &request("/p?a=zz%2527zz", &[], None), 1);
    let ids: Vec<&str> = f.iter().map(|f| f.id.as_str()).collect();
    assert_eq!(ids, vec!["args/decoded.txt:2"], "{f:?}");
    // the raw view does see a literal quote sent as is
    let f = run(&set, &request("/p?a=x'y", &[], None), 1);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].id, "args/raw.txt:2");
    // quote-split command only in the cmdLine view
    let f = run(
        &set,
        &request("/p?cmd=c%5Ea%5Et%20/etc/pa%22%22sswd", &[], None),
        1,
    );
    assert_eq!(
        f.iter().filter(|f| f.id == "args/cmd.re:2").count(),
        1,
        "{f:?}"
    );
    let f = run(
        &set,
        &request("/p?cmd=concatenate%20/etc/passwords", &[], None),
        1,
    );
    assert!(f.iter().all(|f| f.id != "args/cmd.re:2"), "{f:?}");
}

/// Response bodies shorter than every response pattern are not scanned; the bound must
/// not hide a match at exactly that length, nor one that a lengthening pipeline makes.
#[test]
fn short_response_bodies_skip_the_scan_only_when_nothing_can_match() {
    let d = TempDir::new("short-response");
    d.write("response/oracle.re", "ORA-\\d{5}\n");
    let set = load(&d.0);
    let found = |body: &[u8]| run_response(&set, 500, "text/plain", body).len();
    assert_eq!(found(b"ORA-01756"), 1, "a body exactly the shortest match");
    assert_eq!(found(b"ORA-0175"), 0);
    assert_eq!(found(b"ok\n"), 0);
    // hexEncode doubles a value: `AB` (2 bytes) becomes `4142`, which the 4-byte literal
    // matches although the body is shorter than it
    let d = TempDir::new("short-response-hex");
    d.write("response/hex.txt", "#@ transforms: hexEncode\n4142\n");
    let out = run_response(&load(&d.0), 200, "text/plain", b"AB");
    assert_eq!(out.len(), 1, "{out:?}");
}

/// Standard base64 with padding (test inputs only).
fn base64_encode(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().fold(0u32, |n, &b| n << 8 | u32::from(b)) << (8 * (3 - chunk.len()));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}
