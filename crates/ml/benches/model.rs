//! Cost of the built-in classifier per request on one core: the shipped model scoring every
//! location of typical requests (a browser GET with a query string, cookies and referer; a
//! 2 KB form POST; a 4 KB JSON API POST; a search with an attack payload). The request
//! model is built once outside the timed loop: this measures only what the detector adds.
//! Run: `cargo bench -p palisade-ml [-- NAME...]` (goal: ≤ 20 µs for a typical request). Times are the
//! best batch of several, so other load on the machine inflates them less.

use std::hint::black_box;
use std::time::Instant;

use palisade_http::{Headers, RequestModel};
use palisade_ml::detector::worst_location;
use palisade_ml::features::{for_each_feature, normalize, windows};

fn headers(content_type: Option<&str>) -> Headers {
    let mut h = Headers::default();
    for (n, v) in [
        ("Host", "shop.example.com"),
        ("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"),
        ("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
        ("Accept-Language", "en-US,en;q=0.9"),
        ("Accept-Encoding", "gzip, deflate"),
        ("Cookie", "session=3f2a9c1e7b6d4a58e0c1; theme=dark; cart_id=8841203; _ga=GA1.2.1234567890.1700000000"),
        ("Referer", "https://shop.example.com/category/sports?page=1&sort=price%3Aasc"),
    ] {
        h.push(n, v.as_bytes().to_vec());
    }
    if let Some(ct) = content_type {
        h.push("Content-Type", ct.as_bytes().to_vec());
    }
    h
}

fn scenarios() -> Vec<(&'static str, RequestModel)> {
    let get = RequestModel::from_head(
        "GET",
        "/search?q=trail+running+shoes+for+men&category=outdoor&page=2&sort=price%3Aasc&utm_source=newsletter&utm_campaign=bf_2024",
        "HTTP/1.1",
        headers(None),
    );
    let mut form = RequestModel::from_head(
        "POST",
        "/account/profile",
        "HTTP/1.1",
        headers(Some("application/x-www-form-urlencoded")),
    );
    let mut body = String::from("name=Anna+O%27Neil&email=anna%40example.com&bio=");
    while body.len() < 2000 {
        body.push_str("I+love+trail+running%2C+hiking+and+photography.+");
    }
    form.attach_body(body.into_bytes(), false);
    let mut json = RequestModel::from_head(
        "POST",
        "/api/v2/orders",
        "HTTP/1.1",
        headers(Some("application/json")),
    );
    let mut items = Vec::new();
    for i in 0..40 {
        items.push(format!("{{\"sku\":\"TR-{i:04}\",\"qty\":{},\"note\":\"gift wrap, please! it's for Mom\",\"price\":{}.99}}", i % 3 + 1, 10 + i));
    }
    json.attach_body(
        format!(
            "{{\"customer\":{{\"name\":\"Anna\",\"email\":\"anna@example.com\"}},\"items\":[{}]}}",
            items.join(",")
        )
        .into_bytes(),
        false,
    );
    let attack = RequestModel::from_head(
        "GET",
        "/search?q=1%27+UNION+SELECT+username%2C+password+FROM+users--&page=1",
        "HTTP/1.1",
        headers(None),
    );
    vec![
        ("GET query+cookies", get),
        ("2 KB form", form),
        ("4 KB JSON", json),
        ("GET with SQLi", attack),
    ]
}

fn main() {
    // `cargo bench -p palisade-ml -- form`: only the scenarios whose name contains an
    // argument (to profile one under callgrind; flags such as `--bench` are ignored).
    let only: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let model = palisade_ml::default_model().expect("built-in model");
    println!(
        "built-in model: 2^{} weights, threshold {:.3}",
        model.bits, model.threshold
    );
    for (name, req) in scenarios() {
        if !only.is_empty() && !only.iter().any(|o| name.contains(o.as_str())) {
            continue;
        }
        // Bytes and features of all locations (repeated values counted each time; the
        // detector scores a repeated value once), features counted window by window as a
        // fixed measure of work (the scorer extracts a long value's overlaps only once).
        let (bytes, features) = {
            let (mut n, mut f) = (0, 0);
            palisade_ml::locations::for_each_location(&req, |_, v| {
                n += v.len();
                let norm = normalize(v);
                for (s, e) in windows(norm.len()) {
                    f += for_each_feature(&norm[s..e], model.bits, |_| {});
                }
            });
            (n, f)
        };
        // Warm up, then time enough iterations for a stable mean.
        for _ in 0..200 {
            black_box(worst_location(&model, black_box(&req)));
        }
        // Best of several batches: the box is shared, and a batch that lost the core to
        // another process says nothing about the code.
        let (batches, iters) = (40, 500);
        let mut best = f64::INFINITY;
        let mut p = 0.0;
        for _ in 0..batches {
            let start = Instant::now();
            for _ in 0..iters {
                p = worst_location(&model, black_box(&req)).map_or(0.0, |w| w.probability);
            }
            best = best.min(start.elapsed().as_secs_f64() * 1e6 / iters as f64);
        }
        let us = best;
        let ns_per_feature = us * 1e3 / features.max(1) as f64;
        println!(
            "{name:<20} {bytes:>5} bytes {features:>6} features  {us:>7.2} µs/request  \
             ({ns_per_feature:.2} ns/feature, worst p={p:.3})"
        );
    }
}
