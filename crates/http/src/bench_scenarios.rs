//! The proxy benchmark's three requests (bench/proxy.sh, `../shared/anchors/wrk/scenario.lua`)
//! as request models, for the crates' examples that count what inspecting them costs under
//! callgrind or a stopwatch (`flatten_bench`, `match_bench`, `locations_bench`,
//! `crs_bench`, and the `palisade` crate's `inspect` benchmark): a browser GET with a query
//! string, a 2 KB urlencoded contact form, a 20 KB JSON order of 140 items.

use crate::{Headers, RequestModel};

/// The browser headers every scenario sends, and its content type.
fn headers(content_type: Option<&str>) -> Headers {
    let mut h = Headers::default();
    for (n, v) in [
        ("Host", "shop.example.com"),
        ("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"),
        ("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
        ("Accept-Language", "en-US,en;q=0.9"),
        ("Accept-Encoding", "gzip, deflate"),
        ("Cookie", "session=3f2a9c1e7b6d4a58e0c1; theme=dark; cart_id=8841203"),
        ("Referer", "https://shop.example.com/category/sports?page=1"),
    ] {
        h.push(n, v.as_bytes().to_vec());
    }
    if let Some(ct) = content_type {
        h.push("Content-Type", ct.as_bytes().to_vec());
    }
    h
}

/// The form scenario's body: 2,048 bytes of a contact form, most of it one long message.
pub fn form_body() -> Vec<u8> {
    let mut body = String::from("first_name=Jane&last_name=Doe&email=jane.doe%40example.com&phone=5550100&subject=Delivery+address&order=A10293&message=");
    while body.len() < 2048 {
        body.push_str(
            "Hello+team+I+would+like+to+change+the+delivery+address+for+my+last+order+thanks+",
        );
    }
    body.truncate(2048);
    body.into_bytes()
}

/// The JSON scenario's body: a 20,145-byte order of 140 items (703 leaves).
pub fn json_order() -> Vec<u8> {
    let (mut items, mut len, mut i) = (Vec::new(), 0, 0);
    while len < 20_000 {
        i += 1;
        let item = format!(
            r#"{{"sku":"SKU{i:05}","name":"Trail running shoe model {i}","qty":{},"price":{}.99,"note":"Please deliver to the side door and ring the bell twice"}}"#,
            i % 5 + 1,
            40 + i % 60
        );
        len += item.len() + 1;
        items.push(item);
    }
    format!(
        r#"{{"order_id":"A10293","customer":{{"name":"Jane Doe","email":"jane.doe@example.com"}},"items":[{}]}}"#,
        items.join(",")
    )
    .into_bytes()
}

/// The request of scenario `get`, `form` or anything else (`json`), its body attached and
/// parsed.
pub fn request(scenario: &str) -> RequestModel {
    match scenario {
        "get" => RequestModel::from_head(
            "GET",
            "/search?q=trail+running+shoes&category=sports&size=42&color=blue&sort=price_asc&page=2&utm_source=newsletter&utm_medium=email",
            "HTTP/1.1",
            headers(None),
        ),
        "form" => {
            let ct = Some("application/x-www-form-urlencoded");
            let mut m = RequestModel::from_head("POST", "/contact", "HTTP/1.1", headers(ct));
            m.attach_body(form_body(), false);
            m
        }
        _ => {
            let ct = Some("application/json");
            let mut m = RequestModel::from_head("POST", "/api/orders", "HTTP/1.1", headers(ct));
            m.attach_body(json_order(), false);
            m
        }
    }
}
