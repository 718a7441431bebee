//! Reading the CSIC 2010 raw HTTP format: requests separated by blank lines, each starting
//! with `METHOD http://host/...`, a POST body on the line after its head's blank line.

use palisade_http::{Headers, RequestModel};

/// Splits a CSIC file into request models (body attached). Malformed heads are skipped and
/// counted in the second value.
pub fn parse(text: &str) -> (Vec<RequestModel>, usize) {
    let mut out = Vec::new();
    let mut skipped = 0;
    let lines: Vec<&str> = text.lines().map(|l| l.trim_end_matches('\r')).collect();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let Some((method, rest)) = line.split_once(' ') else {
            i += 1;
            continue;
        };
        if !matches!(
            method,
            "GET" | "POST" | "PUT" | "DELETE" | "HEAD" | "OPTIONS" | "PATCH"
        ) || !rest.starts_with("http")
        {
            i += 1;
            continue;
        }
        let (target, protocol) = match rest.rsplit_once(' ') {
            Some((t, p)) if p.starts_with("HTTP/") => (t, p),
            _ => (rest, "HTTP/1.1"),
        };
        let mut headers = Headers::default();
        i += 1;
        while i < lines.len() && !lines[i].is_empty() {
            match lines[i].split_once(':') {
                Some((n, v)) => headers.push(n.trim(), v.trim().as_bytes().to_vec()),
                None => skipped += 1,
            }
            i += 1;
        }
        i += 1; // the blank line ending the head
        let mut model = RequestModel::from_head(method, target, protocol, headers);
        let has_body = model
            .headers
            .get_str("content-length")
            .and_then(|l| l.trim().parse::<usize>().ok())
            .is_some_and(|l| l > 0);
        if has_body && i < lines.len() {
            model.attach_body(lines[i].as_bytes().to_vec(), false);
            i += 1;
        }
        out.push(model);
    }
    (out, skipped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_requests_and_attaches_post_bodies() {
        let text = "GET http://localhost:8080/a.jsp?x=1 HTTP/1.1\r\nHost: localhost:8080\r\n\r\n\r\n\
POST http://localhost:8080/b.jsp HTTP/1.1\r\nHost: localhost:8080\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 7\r\n\r\nid=3&n=\r\n\r\n";
        let (reqs, skipped) = parse(text);
        assert_eq!(skipped, 0);
        assert_eq!(reqs.len(), 2);
        assert_eq!(reqs[0].path_raw, "/a.jsp");
        assert_eq!(reqs[0].args_get.len(), 1);
        assert_eq!(reqs[1].method, "POST");
        let body = reqs[1].body.as_ref().expect("body");
        assert_eq!(body.args.len(), 2);
    }
}
