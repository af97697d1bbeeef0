//! [`FieldPath`]: the address of a field inside a resource's inputs or outputs.
//!
//! Syntax: keys separated by dots, list indexes in brackets, and keys that contain dots or
//! brackets quoted in brackets — `spec.replicas`, `subnets[0]`,
//! `tags["kubernetes.io/role/elb"]`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// One step of a [`FieldPath`].
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Segment {
    /// An object key.
    Key(String),
    /// A list index.
    Index(usize),
}

/// The address of a field inside a value, such as `tags.Name` or `spec.ports[0].port`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FieldPath {
    segments: Vec<Segment>,
}

impl FieldPath {
    /// The empty path: the whole value.
    pub fn root() -> FieldPath {
        FieldPath::default()
    }

    /// A path from its segments.
    pub fn from_segments(segments: Vec<Segment>) -> FieldPath {
        FieldPath { segments }
    }

    /// A one-key path, without parsing (the key may contain dots).
    pub fn key(key: impl Into<String>) -> FieldPath {
        FieldPath {
            segments: vec![Segment::Key(key.into())],
        }
    }

    /// The segments of the path.
    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// True for the root path.
    pub fn is_root(&self) -> bool {
        self.segments.is_empty()
    }

    /// This path extended by an object key.
    pub fn child(&self, key: impl Into<String>) -> FieldPath {
        let mut segments = self.segments.clone();
        segments.push(Segment::Key(key.into()));
        FieldPath { segments }
    }

    /// This path extended by a list index.
    pub fn index(&self, index: usize) -> FieldPath {
        let mut segments = self.segments.clone();
        segments.push(Segment::Index(index));
        FieldPath { segments }
    }

    /// True if `self` equals `other` or lies inside it (`a.b` is within `a`).
    pub fn starts_with(&self, other: &FieldPath) -> bool {
        self.segments.starts_with(&other.segments)
    }

    /// The first key, if the path starts with one (the top-level field name).
    pub fn top_level(&self) -> Option<&str> {
        match self.segments.first() {
            Some(Segment::Key(key)) => Some(key),
            _ => None,
        }
    }
}

/// Why a field path could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid field path `{path}`: {reason} (write keys as `a.b`, indexes as `a[0]`, and keys with dots as `a[\"k.e.y\"]`)"
)]
pub struct PathError {
    /// The text that failed to parse.
    pub path: String,
    /// What is wrong with it.
    pub reason: String,
}

impl FromStr for FieldPath {
    type Err = PathError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let fail = |reason: &str| PathError {
            path: text.to_owned(),
            reason: reason.to_owned(),
        };
        let mut segments = Vec::new();
        let chars: Vec<char> = text.chars().collect();
        let mut i = 0;
        let mut expect_key = true;
        while i < chars.len() {
            match chars[i] {
                '.' => {
                    if expect_key {
                        return Err(fail("empty key"));
                    }
                    expect_key = true;
                    i += 1;
                }
                '[' => {
                    let close = chars[i..]
                        .iter()
                        .position(|&c| c == ']')
                        .map(|p| p + i)
                        .ok_or_else(|| fail("`[` without `]`"))?;
                    let inner: String = chars[i + 1..close].iter().collect();
                    if let Some(quoted) = inner
                        .strip_prefix('"')
                        .and_then(|rest| rest.strip_suffix('"'))
                    {
                        segments.push(Segment::Key(quoted.to_owned()));
                    } else {
                        let index = inner
                            .parse::<usize>()
                            .map_err(|_| fail("an index must be a number or a quoted key"))?;
                        segments.push(Segment::Index(index));
                    }
                    expect_key = false;
                    i = close + 1;
                }
                _ => {
                    if !expect_key {
                        return Err(fail("expected `.` or `[` between segments"));
                    }
                    let start = i;
                    while i < chars.len() && chars[i] != '.' && chars[i] != '[' {
                        if chars[i] == ']' {
                            return Err(fail("`]` without `[`"));
                        }
                        i += 1;
                    }
                    segments.push(Segment::Key(chars[start..i].iter().collect()));
                    expect_key = false;
                }
            }
        }
        if expect_key && !segments.is_empty() {
            return Err(fail("path ends with `.`"));
        }
        Ok(FieldPath { segments })
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, segment) in self.segments.iter().enumerate() {
            match segment {
                Segment::Key(key) if key.contains(['.', '[', ']']) || key.is_empty() => {
                    write!(f, "[{key:?}]")?
                }
                Segment::Key(key) => {
                    if i > 0 {
                        f.write_str(".")?;
                    }
                    f.write_str(key)?;
                }
                Segment::Index(index) => write!(f, "[{index}]")?,
            }
        }
        Ok(())
    }
}

impl Serialize for FieldPath {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for FieldPath {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_round_trip() {
        for text in [
            "a",
            "a.b",
            "a[0].b",
            "tags[\"kubernetes.io/role/elb\"]",
            "spec.ports[1].port",
        ] {
            let path: FieldPath = text.parse().unwrap();
            assert_eq!(path.to_string(), text);
        }
        let path: FieldPath = "tags[\"a.b\"]".parse().unwrap();
        assert_eq!(
            path.segments(),
            &[Segment::Key("tags".into()), Segment::Key("a.b".into())]
        );
    }

    #[test]
    fn rejects_malformed_paths() {
        for text in ["a.", ".a", "a..b", "a[", "a[x]", "a]b"] {
            let err = text.parse::<FieldPath>().unwrap_err();
            assert_eq!(err.path, text);
        }
    }

    #[test]
    fn prefix_relation() {
        let a: FieldPath = "a".parse().unwrap();
        let ab: FieldPath = "a.b".parse().unwrap();
        assert!(ab.starts_with(&a));
        assert!(!a.starts_with(&ab));
    }
}
