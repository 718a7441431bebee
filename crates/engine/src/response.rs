//! What response detectors see: status, headers and a buffered text body.

use palisade_http::Headers;

#[derive(Debug, Clone, Default)]
pub struct ResponseModel {
    pub status: u16,
    pub headers: Headers,
    /// `Content-Type` without parameters, lowercased.
    pub content_type: String,
    /// The buffered body (only text types up to the configured size are buffered).
    pub body: Vec<u8>,
}
