//! Value transformations (ModSecurity/CRS `t:` names). STUB: being written.
use std::borrow::Cow;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transform {
    None,
    UrlDecodeUni,
    Lowercase,
}

pub type Pipeline = Vec<Transform>;

impl Transform {
    pub fn from_name(name: &str) -> Option<Transform> {
        match name.to_ascii_lowercase().as_str() {
            "none" => Some(Transform::None),
            "urldecodeuni" => Some(Transform::UrlDecodeUni),
            "lowercase" => Some(Transform::Lowercase),
            _ => None,
        }
    }
    pub fn apply<'a>(&self, input: &'a [u8]) -> Cow<'a, [u8]> {
        match self {
            Transform::None => Cow::Borrowed(input),
            Transform::UrlDecodeUni => Cow::Owned(crate::urlencoded::percent_decode(input, true)),
            Transform::Lowercase => Cow::Owned(input.to_ascii_lowercase()),
        }
    }
}

pub fn apply_all<'a>(pipeline: &[Transform], input: &'a [u8]) -> Cow<'a, [u8]> {
    let mut cur: Cow<'a, [u8]> = Cow::Borrowed(input);
    for t in pipeline {
        cur = match cur {
            Cow::Borrowed(b) => t.apply(b),
            Cow::Owned(o) => Cow::Owned(t.apply(&o).into_owned()),
        };
    }
    cur
}

pub fn normalize_path(input: &[u8], windows: bool) -> Vec<u8> {
    let _ = windows;
    input.to_vec()
}
