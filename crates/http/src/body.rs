//! Request body parsers by content type. STUB: being written.
use crate::model::Arg;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BodyKind {
    #[default]
    None,
    UrlEncoded,
    Multipart,
    Json,
    Xml,
    Raw,
}

#[derive(Debug, Clone, Default)]
pub struct FilePart {
    pub field: String,
    pub filename: String,
    pub content_type: Option<String>,
    pub size: usize,
    pub content: Vec<u8>,
}

#[derive(Debug, Clone, Default)]
pub struct ParsedBody {
    pub kind: BodyKind,
    pub args: Vec<Arg>,
    pub files: Vec<FilePart>,
    pub errors: Vec<String>,
}

pub fn parse_body(content_type: Option<&str>, raw: &[u8], truncated: bool) -> ParsedBody {
    let _ = (content_type, raw, truncated);
    ParsedBody::default()
}
