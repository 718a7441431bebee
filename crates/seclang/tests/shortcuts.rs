//! Differential test of the engine's shortcuts: the prefilter that skips rules, and the
//! restriction of a candidate rule to the values that made it a candidate, must not change
//! what a transaction does. Every request of CRS 4.28's regression suite (5,000 requests
//! written to trigger rules, plus their near misses) goes through the CRS at paranoia
//! levels 1 and 4, once with the shortcuts and once exhaustively (every rule on every
//! value); matches (rule, target, value, message, data), TX and the interruption must agree.

use std::path::PathBuf;

use palisade_seclang::{ftw, CrsLoad, RuleSet, Transaction};

fn crs() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/crs")
}

#[test]
fn shortcuts_agree_with_exhaustive_evaluation_on_the_crs_suite() {
    let crs = crs();
    assert!(
        crs.join("rules").is_dir(),
        "CRS not found at {}",
        crs.display()
    );
    let rules = CrsLoad {
        dir: crs.clone(),
        preamble:
            "SecRuleEngine DetectionOnly\nSecRequestBodyAccess On\nSecResponseBodyAccess On\n"
                .into(),
        ..Default::default()
    }
    .load()
    .expect("CRS loads");
    let tests = ftw::load_dir(&crs.join("tests/regression/tests")).expect("suite loads");
    let mut requests = 0;
    let mut disagreements = Vec::new();
    for test in &tests {
        for stage in &test.stages {
            let Ok(parsed) = ftw::parse_lenient(&stage.request) else {
                continue;
            };
            requests += 1;
            for level in ["1", "4"] {
                let fast = ftw::transaction_outcome(&rules, &parsed, level, false);
                let slow = ftw::transaction_outcome(&rules, &parsed, level, true);
                if fast != slow {
                    disagreements.push(format!(
                        "{} at PL{level}:\n  shortcuts:  {:?}\n  exhaustive: {:?}",
                        test.name, fast, slow
                    ));
                }
            }
        }
    }
    assert!(requests > 4000, "only {requests} requests");
    assert!(
        disagreements.is_empty(),
        "{} of {requests} requests differ; first:\n{}",
        disagreements.len(),
        disagreements
            .iter()
            .take(3)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// JSON arrays repeat their argument names but for the index (`items.7.sku`): the scan sees
/// only the first of each and a rule's later elements go by its credit. Same differential
/// check on bodies whose repeated names hold attacks, benign words, digit keys and nesting.
#[test]
fn shortcuts_agree_with_exhaustive_evaluation_on_repeated_json_names() {
    let rules = CrsLoad {
        dir: crs(),
        preamble: "SecRuleEngine DetectionOnly\nSecRequestBodyAccess On\n".into(),
        ..Default::default()
    }
    .load()
    .expect("CRS loads");
    let keys = [
        "sku",
        "union select password from users",
        "1 or 1",
        "etc passwd",
        "cat etc shadow",
        "javascript:alert",
        "0",
        "a.b",
        "document.cookie",
        "system",
        "sleep 10",
        "note",
    ];
    let mut repeated_matches = 0;
    for (n, window) in keys.windows(3).enumerate() {
        let item = |i: usize| {
            let fields: Vec<String> = window
                .iter()
                .enumerate()
                .map(|(f, k)| {
                    format!(
                        r#""{k}":{}"#,
                        if f == 1 {
                            format!("[{i},{{\"x\":{i}}}]")
                        } else {
                            i.to_string()
                        }
                    )
                })
                .collect();
            format!("{{{}}}", fields.join(","))
        };
        let items: Vec<String> = (0..4 + n % 3).map(item).collect();
        let body = format!(
            r#"{{"order":"A1","items":[{}],"grid":[[1,2],[3,4]]}}"#,
            items.join(",")
        );
        let raw = format!(
            "POST /api/orders HTTP/1.1\r\nHost: shop.example.com\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\n\r\n{body}",
            body.len()
        );
        let parsed = ftw::parse_lenient(raw.as_bytes()).expect("request parses");
        let mut args = Vec::new();
        palisade_http::json::flatten(body.as_bytes(), 10_000, &mut args).expect("JSON");
        let repeats = args.iter().filter(|a| a.name_repeats.is_some()).count();
        assert!(repeats > 6, "{repeats} repeated names in {body}");
        for level in ["1", "4"] {
            let fast = ftw::transaction_outcome(&rules, &parsed, level, false);
            let slow = ftw::transaction_outcome(&rules, &parsed, level, true);
            assert_eq!(fast, slow, "PL{level}: {body}");
            repeated_matches += fast
                .0
                .iter()
                .filter(|m| m.contains("ARGS_NAMES:items.") && !m.contains("ARGS_NAMES:items.0."))
                .count();
        }
    }
    // rules did match repeated names (a rule reports the last value it matched: a later
    // element's), else the check above would prove little
    assert!(
        repeated_matches > 5,
        "{repeated_matches} matches on repeated names"
    );
}

/// The prefilter of every paranoia level stays small: its literal automaton was an 83 MB
/// DFA (most of the resident memory of a CRS deployment) before it became an NFA.
#[test]
fn crs_prefilters_fit_the_memory_budget() {
    let rules = CrsLoad {
        dir: crs(),
        ..Default::default()
    }
    .load()
    .expect("CRS loads");
    for level in 1..=4 {
        let pf = rules.prefilter(level).expect("levels 1-4");
        let ac = pf.ac.as_ref().expect("a literal automaton");
        assert!(
            ac.memory_usage() < 16 << 20,
            "PL{level}: literal automaton of {} bytes",
            ac.memory_usage()
        );
    }
}

/// The prefilter works out each pipeline's result once per value, reusing the result of the
/// step it found changing the value: a decoder that is not idempotent (`%2541` decodes to
/// `%41`, which decodes again to `A`) must run once, after the steps that left the value as
/// it was, or a rule looking for what the single decoding leaves is skipped wrongly.
#[test]
fn shortcuts_agree_with_exhaustive_evaluation_on_pipelines_of_decoders() {
    let rules = RuleSet::from_text(
        // one rule per decoder: a literal found in any pipeline's result counts for every
        // rule that has it, so a second pipeline decoding the same way would hide a mistake
        "SecRule ARGS \"@rx %41\" \"id:1,phase:1,pass,t:none,t:lowercase,t:urlDecodeUni\"\n\
         SecRule ARGS \"@rx &lt;\" \"id:2,phase:1,pass,t:none,t:removeNulls,t:htmlEntityDecode\"\n",
        std::path::Path::new("pipelines.conf"),
    )
    .expect("rules load");
    let mut matched = 0;
    for query in [
        "a=%252541",
        "a=X%252541",
        "a=%26amp;lt;",
        "a=%26amp;amp;lt;",
        "a=plain",
    ] {
        let (fast, slow) = ids_both_ways(&rules, &format!("/?{query}"));
        assert_eq!(fast, slow, "{query}");
        matched += slow.len();
    }
    assert_eq!(matched, 3, "the requests exercise the rules");
}

/// The prefilter leaves out results too short for a pipeline's patterns (a Base64 decoder
/// stops at the first byte outside its alphabet, so most values decode to a few bytes) and
/// the results of pipelines that only lowercase a plain value (the raw pass read it
/// ignoring case); neither may lose a match.
#[test]
fn shortcuts_agree_with_exhaustive_evaluation_on_short_and_lowercased_results() {
    let rules = RuleSet::from_text(
        // base64 chains as CRS 934100 (multiMatch) and 934160 build them, with literals
        // of four and five bytes; lowercasing pipelines with a literal, a lowered regex, a
        // regex that cmdLine's comma rule decides, and a value test; a decoder followed by
        // a step that lengthens (whose parent pipeline is a rule's too); a regex the raw pass
        // cannot hold lowered; literals in base64-decoded binary (scanned by its runs)
        "SecRule ARGS \"@rx eval\\(|env\\[\" \"id:1,phase:1,pass,multiMatch,t:none,t:urlDecodeUni,t:jsDecode,t:removeWhitespace,t:base64Decode,t:urlDecodeUni,t:jsDecode,t:removeWhitespace\"\n\
         SecRule ARGS \"@rx while\\s*\\(\" \"id:2,phase:1,pass,t:none,t:urlDecodeUni,t:jsDecode,t:base64Decode,t:urlDecodeUni,t:jsDecode,t:replaceComments\"\n\
         SecRule ARGS \"@rx select\" \"id:3,phase:1,pass,t:none,t:cmdLine\"\n\
         SecRule ARGS \"@rx ^ab cd$\" \"id:4,phase:1,pass,t:none,t:cmdLine\"\n\
         SecRule ARGS \"@rx \\bunion\\b\" \"id:5,phase:1,pass,t:none,t:lowercase,t:urlDecodeUni\"\n\
         SecRule ARGS \"@detectSQLi\" \"id:6,phase:1,pass,t:none,t:lowercase,t:removeWhitespace\"\n\
         SecRule ARGS \"@rx ^x$\" \"id:7,phase:1,pass,t:none,t:utf8toUnicode,t:base64Decode\"\n\
         SecRule ARGS \"@rx ^%u00e9$\" \"id:8,phase:1,pass,t:none,t:base64Decode,t:utf8toUnicode\"\n\
         SecRule ARGS \"@rx ^(?u:[a-cé])d$\" \"id:9,phase:1,pass,t:none,t:lowercase\"\n\
         SecRule ARGS \"@rx ^zzzzzzzz$\" \"id:10,phase:1,pass,t:none,t:base64Decode\"\n\
         SecRule ARGS \"@rx union select\" \"id:11,phase:1,pass,t:none,t:cmdLine\"\n\
         SecRule ARGS \"@pm eval( env[ while\" \"id:12,phase:1,pass,t:none,t:base64Decode,t:lowercase\"\n",
        std::path::Path::new("short.conf"),
    )
    .expect("rules load");
    use base64::Engine as _;
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    // long binary with text planted in it (a decoded result is scanned by its runs of the
    // literals' bytes, see `LiteralRuns`): at the start, in the middle, at the end, none
    let binary = |n: usize| {
        (0..n)
            .map(|i| 0x80 | (i * 37 % 128) as u8)
            .collect::<Vec<u8>>()
    };
    let planted = |before: usize, text: &str, after: usize| {
        let mut v = binary(before);
        v.extend_from_slice(text.as_bytes());
        v.extend(binary(after));
        base64::engine::general_purpose::STANDARD.encode(v)
    };
    let values = [
        planted(90, "eval(1)", 90),
        planted(0, "env[", 120),
        planted(120, "while (", 0),
        planted(70, "ev al(", 70),
        planted(200, "", 0),
        // decodes to exactly the shortest literal, one byte less, and to garbage
        b64("env["),
        b64("env"),
        b64("eval(1)"),
        b64("eva"),
        b64("while(1)"),
        b64("whil"),
        format!("{}.tail", b64("while (true)")),
        "SKU-0001".into(),
        "ORD12345".into(),
        "42".into(),
        "Trail running shoe model 99".into(),
        // lowercasing pipelines on plain values, with capitals and commas
        "SELECT".into(),
        "Select name".into(),
        "AB,CD".into(),
        "ab cd".into(),
        "AB CD".into(),
        "Union all".into(),
        "UNION".into(),
        "1'OR'1'='1".into(),
        "x".into(),
        "eA".into(),
        // a step after the decoder that lengthens; a regex the raw pass cannot lower
        b64("é"),
        "AD".into(),
        b64("zzzzzzzz"),
        // long plain prose (its traits are read whole): cmdLine turns its comma into a
        // space, which it only lowercases without one
        "Please Union,Select the blue one if it is still in stock and update my account \
         when you can thanks for the great service and the quick delivery as always"
            .into(),
        "Please Union Select the blue one if it is still in stock and update my account \
         when you can thanks for the great service and the quick delivery as always"
            .into(),
        "Please Union Select the blue one if it is still in stock, and update my account \
         when you can thanks for the great service and the quick delivery as always"
            .into(),
    ];
    let mut matched = std::collections::BTreeSet::new();
    for value in &values {
        let (fast, slow) = ids_both_ways(&rules, &format!("/?a={}", urlencode(value)));
        assert_eq!(fast, slow, "{value}");
        matched.extend(slow);
    }
    assert_eq!(
        matched.into_iter().collect::<Vec<_>>(),
        [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
        "every rule matches some value"
    );
}

/// The ids of the rules a GET of `target` matches in its request phases, with the
/// shortcuts and exhaustively.
fn ids_both_ways(rules: &RuleSet, target: &str) -> (Vec<u64>, Vec<u64>) {
    let req = palisade_http::RequestModel::from_head(
        "GET",
        target,
        "HTTP/1.1",
        palisade_http::Headers::default(),
    );
    let ids = |exhaustive: bool| {
        let mut tx = Transaction::new(rules, &req, &[]);
        tx.set_exhaustive(exhaustive);
        tx.process_request();
        tx.matches.iter().map(|m| m.id).collect::<Vec<u64>>()
    };
    (ids(false), ids(true))
}

/// `s` with every byte but ASCII letters and digits percent-encoded.
fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Rules whose outcome is remembered by the request head they read (CRS's protocol rules;
/// see `transaction::head_memo`) do on a repeated head what evaluation does: the TX a chain's
/// first link writes before its second fails (920450's captured header names), what it
/// leaves in MATCHED_VAR and TX:0-9 for the rules after it; and a rule that reads a TX
/// key written from other request data, or whose target a `ctl` removed, is not replayed by
/// its head alone. Each request is checked against exhaustive evaluation, twice.
#[test]
fn remembered_head_rules_agree_with_exhaustive_evaluation() {
    let rules = RuleSet::from_text(
        "SecAction \"id:1,phase:1,pass,nolog,setvar:tx.restricted_list=/x-debug/ /x-forwarded-host/\"\n\
         SecRule ARGS:mode \"@streq strict\" \"id:2,phase:1,pass,nolog,setvar:tx.strict=1\"\n\
         SecRule REQUEST_METHOD \"@streq GET\" \"id:3,phase:1,pass,log,msg:'strict get',chain\"\n\
           SecRule TX:strict \"@eq 1\" \"setvar:tx.strict_gets=+1\"\n\
         SecRule REQUEST_HEADERS_NAMES \"@rx ^.*$\" \"id:4,phase:1,pass,log,capture,t:none,t:lowercase,setvar:'tx.hdr_%{tx.0}=/%{tx.0}/',chain\"\n\
           SecRule TX:/^hdr_/ \"@within %{tx.restricted_list}\" \"setvar:tx.restricted=+1\"\n\
         SecRule ARGS:want \"@rx ^(\\w+)$\" \"id:12,phase:1,pass,nolog,capture,setvar:tx.want_method=%{tx.1}\"\n\
         SecRule REQUEST_METHOD \"@streq %{tx.want_method}\" \"id:13,phase:1,pass,log\"\n\
         SecRule ARGS:flag \"@rx ^(\\w+)$\" \"id:16,phase:1,pass,nolog,capture,setvar:tx.h2_%{tx.1}=/x-debug/\"\n\
         SecRule REQUEST_HEADERS_NAMES \"@rx ^.*$\" \"id:17,phase:1,pass,log,capture,t:none,t:lowercase,setvar:'tx.h2_%{tx.0}=/%{tx.0}/',chain\"\n\
           SecRule TX:/^h2_/ \"@within %{tx.restricted_list}\" \"setvar:tx.restricted=+1\"\n\
         SecRule ARGS:two \"@rx ^(a)(b)$\" \"id:14,phase:1,pass,nolog,capture\"\n\
         SecRule REQUEST_HEADERS:User-Agent \"@rx (bot|crawler)\" \"id:5,phase:1,pass,log,capture,chain\"\n\
           SecRule REQUEST_METHOD \"@streq POST\" \"t:none\"\n\
         SecRule MATCHED_VAR \"@rx bot\" \"id:6,phase:1,pass,log\"\n\
         SecRule TX:1 \"@rx bot\" \"id:8,phase:1,pass,log\"\n\
         SecRule &TX:2 \"@eq 1\" \"id:15,phase:1,pass,log\"\n\
         SecRule ARGS:skipua \"@streq 1\" \"id:9,phase:1,pass,nolog,ctl:ruleRemoveTargetById=10;REQUEST_HEADERS:User-Agent\"\n\
         SecRule REQUEST_HEADERS:User-Agent \"!@rx mozilla\" \"id:10,phase:1,pass,log,t:lowercase\"\n",
        std::path::Path::new("head.conf"),
    )
    .expect("rules load");
    // (method, target, headers after `Host: a`)
    type Head<'h> = (&'h str, &'h str, &'h [(&'h str, &'h str)]);
    const MOZILLA: (&str, &str) = ("User-Agent", "Mozilla/5.0");
    const BOT: (&str, &str) = ("User-Agent", "somebot/1.0");
    const CURL: (&str, &str) = ("User-Agent", "curl/8");
    let requests: [Head<'_>; 12] = [
        ("GET", "/", &[MOZILLA]),
        ("GET", "/?mode=strict", &[MOZILLA]),
        ("GET", "/", &[BOT]),
        ("GET", "/", &[MOZILLA, ("X-Debug", "1")]),
        ("GET", "/?skipua=1", &[CURL]),
        ("GET", "/", &[CURL]),
        ("POST", "/", &[BOT]),
        ("GET", "/", &[("user-agent", "somebot/1.0")]),
        ("GET", "/?want=GET", &[MOZILLA]),
        ("GET", "/?flag=zz", &[MOZILLA]),
        ("GET", "/?two=ab", &[BOT]),
        ("GET", "/?two=ab", &[MOZILLA]),
    ];
    let outcome = |(method, target, headers): Head<'_>, exhaustive| {
        let mut h = palisade_http::Headers::default();
        for (n, v) in std::iter::once(&("Host", "a")).chain(headers) {
            h.push(*n, v.as_bytes().to_vec());
        }
        let req = palisade_http::RequestModel::from_head(method, target, "HTTP/1.1", h);
        let mut tx = Transaction::new(&rules, &req, &[]);
        tx.set_exhaustive(exhaustive);
        tx.process_request();
        let matches: Vec<String> = tx
            .matches
            .iter()
            .map(|m| {
                format!(
                    "{} {} {:?}",
                    m.id,
                    m.target,
                    String::from_utf8_lossy(&m.value)
                )
            })
            .collect();
        (matches, ftw::comparable_tx_vars(&tx))
    };
    let mut ids = std::collections::BTreeSet::new();
    for round in 0..2 {
        for r in requests {
            let slow = outcome(r, true);
            assert_eq!(outcome(r, false), slow, "round {round}: {r:?}");
            ids.extend(
                slow.0
                    .iter()
                    .filter_map(|m| m.split(' ').next()?.parse::<u64>().ok()),
            );
        }
    }
    assert_eq!(
        ids.into_iter().collect::<Vec<_>>(),
        [1, 2, 3, 4, 5, 6, 8, 9, 10, 12, 13, 14, 15, 16, 17],
        "every rule matches some request"
    );
}
