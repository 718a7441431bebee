//! `%{collection.key}` macro expansion in operator arguments, `msg`, `logdata` and
//! `setvar`: parsed once at load time into a [`Template`], expanded per transaction.

use std::borrow::Cow;

/// One part of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    /// `%{TX.foo}` → collection `TX`, key `foo` (key empty for scalars like `MATCHED_VAR`).
    Var {
        collection: String,
        key: String,
    },
}

/// Looks variables up for expansion.
pub trait Resolve {
    /// The first value of `collection` (upper case) under `key` (as written), if any.
    fn resolve(&self, collection: &str, key: &str) -> Option<Vec<u8>>;

    /// The value when the context holds it as it is (no copy), else None: callers then
    /// [`Resolve::resolve`] it.
    fn resolve_ref(&self, _collection: &str, _key: &str) -> Option<&[u8]> {
        None
    }

    /// [`Resolve::resolve`] appended to `out`; false (and `out` as it was) when there is
    /// none. A value the context holds ([`Resolve::resolve_ref`]) is copied straight from
    /// it, without a vector of its own.
    fn resolve_into(&self, collection: &str, key: &str, out: &mut Vec<u8>) -> bool {
        if let Some(v) = self.resolve_ref(collection, key) {
            out.extend_from_slice(v);
            return true;
        }
        match self.resolve(collection, key) {
            Some(v) => {
                out.extend_from_slice(&v);
                true
            }
            None => false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Template {
    parts: Vec<Part>,
    /// Room to reserve for an expansion: the literal text and a few bytes per macro (most
    /// expand to a short TX value), so that most expansions allocate once.
    size_hint: usize,
}

impl Template {
    pub fn parse(text: &str) -> Template {
        let mut parts = Vec::new();
        let mut rest = text;
        while let Some(start) = rest.find("%{") {
            let Some(len) = rest[start + 2..].find('}') else {
                break;
            };
            if start > 0 {
                parts.push(Part::Literal(rest[..start].to_string()));
            }
            let inner = &rest[start + 2..start + 2 + len];
            let (collection, key) = match inner.find(['.', ':']) {
                Some(dot) => (
                    inner[..dot].to_ascii_uppercase(),
                    inner[dot + 1..].to_string(),
                ),
                None => (inner.to_ascii_uppercase(), String::new()),
            };
            parts.push(Part::Var { collection, key });
            rest = &rest[start + 2 + len + 1..];
        }
        if !rest.is_empty() {
            parts.push(Part::Literal(rest.to_string()));
        }
        let size_hint = parts
            .iter()
            .map(|p| match p {
                Part::Literal(s) => s.len(),
                Part::Var { .. } => 16,
            })
            .sum();
        Template { parts, size_hint }
    }

    /// The text when the template is one literal with no macro (no allocation).
    pub fn literal(&self) -> Option<&str> {
        match self.parts.as_slice() {
            [] => Some(""),
            [Part::Literal(s)] => Some(s),
            _ => None,
        }
    }

    /// True when the template contains no macro (its expansion is constant).
    pub fn is_constant(&self) -> bool {
        self.parts.iter().all(|p| matches!(p, Part::Literal(_)))
    }

    /// The text when constant.
    pub fn constant(&self) -> Option<String> {
        if !self.is_constant() {
            return None;
        }
        Some(
            self.parts
                .iter()
                .map(|p| match p {
                    Part::Literal(s) => s.as_str(),
                    Part::Var { .. } => "",
                })
                .collect(),
        )
    }

    /// The `(collection, key)` of each macro, collection upper-case, key as written.
    pub fn vars(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        self.parts.iter().filter_map(|p| match p {
            Part::Var { collection, key } => Some((collection.as_str(), key.as_str())),
            Part::Literal(_) => None,
        })
    }

    /// The literal text before the first macro (all of it when there is none).
    pub fn literal_prefix(&self) -> &str {
        match self.parts.first() {
            Some(Part::Literal(s)) => s,
            _ => "",
        }
    }

    /// [`Template::expand`], borrowed from `ctx` when the template is one variable the
    /// context holds as it is (`%{tx.allowed_http_versions}`, the common operand): no
    /// copy of a policy list per rule evaluation.
    pub fn expand_cow<'c>(&self, ctx: &'c dyn Resolve) -> Cow<'c, [u8]> {
        if let [Part::Var { collection, key }] = self.parts.as_slice() {
            if let Some(v) = ctx.resolve_ref(collection, key) {
                return Cow::Borrowed(v);
            }
        }
        Cow::Owned(self.expand(ctx))
    }

    pub fn expand(&self, ctx: &dyn Resolve) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.size_hint);
        for part in &self.parts {
            match part {
                Part::Literal(s) => out.extend_from_slice(s.as_bytes()),
                Part::Var { collection, key } => {
                    ctx.resolve_into(collection, key, &mut out);
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Ctx;
    impl Resolve for Ctx {
        fn resolve(&self, collection: &str, key: &str) -> Option<Vec<u8>> {
            match (collection, key.to_ascii_lowercase().as_str()) {
                ("TX", "score") => Some(b"5".to_vec()),
                ("MATCHED_VAR", "") => Some(b"abc".to_vec()),
                _ => None,
            }
        }
    }

    /// A context holding its values: a one-variable template borrows the value.
    struct Held(Vec<u8>);
    impl Resolve for Held {
        fn resolve(&self, collection: &str, key: &str) -> Option<Vec<u8>> {
            self.resolve_ref(collection, key).map(<[u8]>::to_vec)
        }
        fn resolve_ref(&self, collection: &str, key: &str) -> Option<&[u8]> {
            (collection == "TX" && key == "list").then_some(&self.0[..])
        }
    }

    #[test]
    fn a_held_variable_expands_borrowed_and_anything_else_owned() {
        let ctx = Held(b"GET POST".to_vec());
        let one = Template::parse("%{tx.list}");
        assert!(matches!(one.expand_cow(&ctx), Cow::Borrowed(b"GET POST")));
        let more = Template::parse("<%{tx.list}>");
        assert!(matches!(more.expand_cow(&ctx), Cow::Owned(v) if v == b"<GET POST>"));
        // not held: resolved and copied as `expand` does (unknown: empty)
        assert!(
            matches!(Template::parse("%{tx.score}").expand_cow(&Ctx), Cow::Owned(v) if v == b"5")
        );
        assert!(
            matches!(Template::parse("%{tx.none}").expand_cow(&ctx), Cow::Owned(v) if v.is_empty())
        );
    }

    #[test]
    fn expands_known_and_drops_unknown() {
        let t = Template::parse("s=%{tx.score} m=%{MATCHED_VAR} u=%{tx.none}!");
        assert_eq!(t.expand(&Ctx), b"s=5 m=abc u=!");
        assert!(!t.is_constant());
        assert_eq!(
            Template::parse("plain").constant().as_deref(),
            Some("plain")
        );
    }
}
