//! The built-in demo application, served behind the WAF when no upstream is configured, so
//! a newcomer can see a request pass and another get blocked without setting anything up.

use http::{HeaderValue, Response, StatusCode};
use palisade_http::RequestModel;

use crate::body::{full, ProxyBody};

const HOME: &str = r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Palisade demo shop</title></head>
<body style="font-family:sans-serif;max-width:44em;margin:3em auto">
<h1>Palisade demo shop</h1>
<p>This page is served by Palisade's built-in demo application, behind the WAF.
Configure <code>--upstream URL</code> to protect your own application instead.</p>
<form action="/search" method="get"><input name="q" placeholder="search products"> <button>Search</button></form>
<h2>Try</h2>
<ul>
<li><a href="/search?q=trail+running+shoes">/search?q=trail running shoes</a> &mdash; passes</li>
<li><a href="/search?q=1%27%20UNION%20SELECT%20password%20FROM%20users--">/search?q=1' UNION SELECT password FROM users--</a> &mdash; blocked (SQL injection)</li>
<li><a href="/search?q=%3Cscript%3Ealert(1)%3C/script%3E">/search?q=&lt;script&gt;alert(1)&lt;/script&gt;</a> &mdash; blocked (XSS)</li>
<li><a href="/download?file=../../../../etc/passwd">/download?file=../../../../etc/passwd</a> &mdash; blocked (path traversal)</li>
</ul>
</body></html>
"#;

fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

pub fn respond(request: &RequestModel, body_len: usize) -> Response<ProxyBody> {
    let (status, content_type, body) = match request.path.as_str() {
        "/" => (StatusCode::OK, "text/html; charset=utf-8", HOME.to_string()),
        "/search" => {
            let q = request
                .args_get
                .iter()
                .find(|a| a.name == "q")
                .map(|a| String::from_utf8_lossy(&a.value).into_owned())
                .unwrap_or_default();
            (
                StatusCode::OK,
                "text/html; charset=utf-8",
                format!(
                    "<!DOCTYPE html><html><body style=\"font-family:sans-serif\"><h1>Results for “{}”</h1><p>No products found (this is a demo).</p><p><a href=\"/\">Back</a></p></body></html>\n",
                    html_escape(&q)
                ),
            )
        }
        _ => (
            StatusCode::OK,
            "application/json",
            serde_json::json!({
                "demo": true,
                "method": request.method,
                "path": request.path,
                "args": request.args_get.len(),
                "body_bytes": body_len,
            })
            .to_string(),
        ),
    };
    let mut resp = Response::new(full(body));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static(content_type),
    );
    resp
}
