//! Labelled request corpora in JSONL (one request per line), as used by the tests and by
//! `palisade check --corpus`:
//! `{"method":"POST","path":"/a?b=1","headers":{"Content-Type":"..."},"body":"...",
//!   "label":"benign"|"attack","category":"..."}` (`"body_base64": true` for binary bodies).

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{anyhow, Context, Result};
use base64::Engine as _;
use palisade_http::{Headers, RequestModel};
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
pub struct CorpusEntry {
    #[serde(default = "get")]
    pub method: String,
    pub path: String,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    #[serde(default)]
    pub body: String,
    #[serde(default)]
    pub body_base64: bool,
    #[serde(default)]
    pub label: String,
    #[serde(default)]
    pub category: String,
    #[serde(default)]
    pub evasion: Option<String>,
}

fn get() -> String {
    "GET".to_string()
}

impl CorpusEntry {
    pub fn is_attack(&self) -> bool {
        self.label.eq_ignore_ascii_case("attack") || self.label.eq_ignore_ascii_case("malicious")
    }

    pub fn to_model(&self) -> Result<RequestModel> {
        let mut headers = Headers::default();
        let mut has_host = false;
        for (n, v) in &self.headers {
            has_host |= n.eq_ignore_ascii_case("host");
            headers.push(n.clone(), v.as_bytes().to_vec());
        }
        if !has_host {
            headers.push("Host", b"app.example.com".to_vec());
        }
        let body = if self.body_base64 {
            base64::engine::general_purpose::STANDARD
                .decode(self.body.trim())
                .map_err(|e| anyhow!("body_base64: {e}"))?
        } else {
            self.body.clone().into_bytes()
        };
        // What a real client sends with a body: its length (CRS 920180 checks for it).
        let framed = self.headers.keys().any(|n| {
            n.eq_ignore_ascii_case("content-length") || n.eq_ignore_ascii_case("transfer-encoding")
        });
        let body_method = matches!(self.method.as_str(), "POST" | "PUT" | "PATCH");
        if !framed && (!body.is_empty() || body_method) {
            headers.push("Content-Length", body.len().to_string().into_bytes());
        }
        let mut model = RequestModel::from_head(&self.method, &self.path, "HTTP/1.1", headers);
        if !body.is_empty() {
            model.attach_body(body, false);
        }
        Ok(model)
    }
}

pub fn load(path: &Path) -> Result<Vec<CorpusEntry>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let entry: CorpusEntry =
            serde_json::from_str(line).map_err(|e| anyhow!("{}:{}: {e}", path.display(), i + 1))?;
        out.push(entry);
    }
    Ok(out)
}
