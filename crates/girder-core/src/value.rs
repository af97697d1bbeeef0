//! [`Value`]: the data that flows between resources — known, unknown ("known after apply")
//! or secret.
//!
//! The engine sees every input and output as a `Value`. It is JSON plus two markers, following
//! Pulumi's `PropertyValue`: [`Value::Unknown`] for a value that a provider only returns when
//! the resource is created, and [`Value::Secret`] for a value that must never be printed and is
//! encrypted at rest.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::path::{FieldPath, Segment};

/// Writes `value` at `segments` below `target`; on failure returns how deep it got.
fn set_at(target: &mut Value, segments: &[Segment], value: Value) -> Result<(), usize> {
    let Some((first, rest)) = segments.split_first() else {
        *target = value;
        return Ok(());
    };
    if let Value::Null = target {
        *target = match first {
            Segment::Key(_) => Value::object(),
            Segment::Index(_) => Value::Array(Vec::new()),
        };
    }
    let child = match (first, target) {
        (Segment::Key(key), Value::Object(map)) => map.entry(key.clone()).or_insert(Value::Null),
        (Segment::Index(index), Value::Array(items)) if *index < items.len() => &mut items[*index],
        (Segment::Index(index), Value::Array(items)) if *index == items.len() => {
            items.push(Value::Null);
            &mut items[*index]
        }
        _ => return Err(0),
    };
    set_at(child, rest, value).map_err(|depth| depth + 1)
}

/// The key under which a secret is marked when a [`Value`] is written as JSON.
pub const SECRET_KEY: &str = "$girder.secret";
/// The key under which an unknown is marked when a [`Value`] is written as JSON.
pub const UNKNOWN_KEY: &str = "$girder.unknown";

/// A JSON-like value that may be unknown or secret anywhere inside it.
#[derive(Clone, Debug, PartialEq, Default)]
pub enum Value {
    /// JSON `null`; also what an absent optional field reads as.
    #[default]
    Null,
    /// A boolean.
    Bool(bool),
    /// A number, kept exactly as JSON writes it.
    Number(serde_json::Number),
    /// A string.
    String(String),
    /// An ordered list.
    Array(Vec<Value>),
    /// A map with sorted keys, so that equal objects compare and print equally.
    Object(BTreeMap<String, Value>),
    /// Known only after apply: a provider computes it when the resource is created or replaced.
    Unknown,
    /// A value that is masked in every display and encrypted in the state.
    Secret(Box<Value>),
}

impl Value {
    /// An empty object.
    pub fn object() -> Value {
        Value::Object(BTreeMap::new())
    }

    /// Wraps `self` as a secret (a secret stays a single layer deep).
    pub fn into_secret(self) -> Value {
        match self {
            Value::Secret(_) | Value::Unknown => self,
            other => Value::Secret(Box::new(other)),
        }
    }

    /// True if this value, or anything inside it, is unknown.
    pub fn contains_unknown(&self) -> bool {
        match self {
            Value::Unknown => true,
            Value::Secret(inner) => inner.contains_unknown(),
            Value::Array(items) => items.iter().any(Value::contains_unknown),
            Value::Object(map) => map.values().any(Value::contains_unknown),
            _ => false,
        }
    }

    /// True if this value, or anything inside it, is secret.
    pub fn contains_secret(&self) -> bool {
        match self {
            Value::Secret(_) => true,
            Value::Array(items) => items.iter().any(Value::contains_secret),
            Value::Object(map) => map.values().any(Value::contains_secret),
            _ => false,
        }
    }

    /// True if the value is exactly [`Value::Unknown`] (not merely containing one).
    pub fn is_unknown(&self) -> bool {
        matches!(self, Value::Unknown)
    }

    /// The same value with every secret marker removed (what a provider receives).
    pub fn reveal(&self) -> Value {
        match self {
            Value::Secret(inner) => inner.reveal(),
            Value::Array(items) => Value::Array(items.iter().map(Value::reveal).collect()),
            Value::Object(map) => {
                Value::Object(map.iter().map(|(k, v)| (k.clone(), v.reveal())).collect())
            }
            other => other.clone(),
        }
    }

    /// The string, if this is a known string (secret or not).
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            Value::Secret(inner) => inner.as_str(),
            _ => None,
        }
    }

    /// The integer, if this is a known integer (secret or not).
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Number(n) => n.as_i64(),
            Value::Secret(inner) => inner.as_i64(),
            _ => None,
        }
    }

    /// The boolean, if this is a known boolean (secret or not).
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            Value::Secret(inner) => inner.as_bool(),
            _ => None,
        }
    }

    /// The map, if this is an object.
    pub fn as_object(&self) -> Option<&BTreeMap<String, Value>> {
        match self {
            Value::Object(map) => Some(map),
            _ => None,
        }
    }

    /// The mutable map, if this is an object.
    pub fn as_object_mut(&mut self) -> Option<&mut BTreeMap<String, Value>> {
        match self {
            Value::Object(map) => Some(map),
            _ => None,
        }
    }

    /// The list, if this is an array.
    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Array(items) => Some(items),
            _ => None,
        }
    }

    /// The field of an object (`None` for other kinds or absent keys).
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Object(map) => map.get(key),
            Value::Secret(inner) => inner.get(key),
            _ => None,
        }
    }

    /// Reads the value at `path`.
    ///
    /// Returns [`Value::Unknown`] when the path passes through an unknown (the part is not known
    /// yet), `None` when it does not exist. A secret on the way makes the result secret.
    pub fn lookup(&self, path: &FieldPath) -> Option<Value> {
        let mut current = self;
        let mut secret = false;
        for segment in path.segments() {
            loop {
                match current {
                    Value::Secret(inner) => {
                        secret = true;
                        current = inner;
                    }
                    Value::Unknown => return Some(Value::Unknown),
                    _ => break,
                }
            }
            current = match (segment, current) {
                (Segment::Key(key), Value::Object(map)) => map.get(key.as_str())?,
                (Segment::Index(index), Value::Array(items)) => items.get(*index)?,
                _ => return None,
            };
        }
        let found = current.clone();
        Some(if secret { found.into_secret() } else { found })
    }

    /// Writes `value` at `path`, creating intermediate objects; fails if the path crosses a
    /// scalar or an array index that is out of range.
    pub fn set(&mut self, path: &FieldPath, value: Value) -> Result<(), String> {
        set_at(self, path.segments(), value).map_err(|depth| {
            format!(
                "cannot set `{path}`: `{}` is neither an object nor a list with that index",
                FieldPath::from_segments(path.segments()[..depth].to_vec())
            )
        })
    }

    /// Removes the value at `path`, returning it.
    pub fn remove(&mut self, path: &FieldPath) -> Option<Value> {
        let (last, parents) = path.segments().split_last()?;
        let mut current = self;
        for segment in parents {
            current = match (segment, current) {
                (Segment::Key(key), Value::Object(map)) => map.get_mut(key.as_str())?,
                (Segment::Index(index), Value::Array(items)) => items.get_mut(*index)?,
                _ => return None,
            };
        }
        match (last, current) {
            (Segment::Key(key), Value::Object(map)) => map.remove(key.as_str()),
            _ => None,
        }
    }

    /// A short name of the kind of value, for error messages.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Number(_) => "a number",
            Value::String(_) => "a string",
            Value::Array(_) => "a list",
            Value::Object(_) => "an object",
            Value::Unknown => "unknown until apply",
            Value::Secret(_) => "a secret",
        }
    }

    /// Converts plain JSON into a value (marker objects become secrets and unknowns).
    pub fn from_json(json: serde_json::Value) -> Value {
        match json {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(b),
            serde_json::Value::Number(n) => Value::Number(n),
            serde_json::Value::String(s) => Value::String(s),
            serde_json::Value::Array(items) => {
                Value::Array(items.into_iter().map(Value::from_json).collect())
            }
            serde_json::Value::Object(mut map) => {
                if map.len() == 1 {
                    if let Some(inner) = map.remove(SECRET_KEY) {
                        return Value::from_json(inner).into_secret();
                    }
                    if map.contains_key(UNKNOWN_KEY) {
                        return Value::Unknown;
                    }
                }
                Value::Object(
                    map.into_iter()
                        .map(|(k, v)| (k, Value::from_json(v)))
                        .collect(),
                )
            }
        }
    }

    /// Converts to plain JSON with secret and unknown markers kept as marker objects
    /// (`{"$girder.secret": ...}`, `{"$girder.unknown": true}`).
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Number(n) => serde_json::Value::Number(n.clone()),
            Value::String(s) => serde_json::Value::String(s.clone()),
            Value::Array(items) => {
                serde_json::Value::Array(items.iter().map(Value::to_json).collect())
            }
            Value::Object(map) => serde_json::Value::Object(
                map.iter().map(|(k, v)| (k.clone(), v.to_json())).collect(),
            ),
            Value::Unknown => serde_json::json!({ UNKNOWN_KEY: true }),
            Value::Secret(inner) => serde_json::json!({ SECRET_KEY: inner.to_json() }),
        }
    }

    /// Converts to plain JSON with secrets revealed; fails on an unknown.
    pub fn to_revealed_json(&self) -> Result<serde_json::Value, ValueError> {
        Ok(match self {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Number(n) => serde_json::Value::Number(n.clone()),
            Value::String(s) => serde_json::Value::String(s.clone()),
            Value::Array(items) => serde_json::Value::Array(
                items
                    .iter()
                    .map(Value::to_revealed_json)
                    .collect::<Result<_, _>>()?,
            ),
            Value::Object(map) => serde_json::Value::Object(
                map.iter()
                    .map(|(k, v)| Ok((k.clone(), v.to_revealed_json()?)))
                    .collect::<Result<_, ValueError>>()?,
            ),
            Value::Unknown => return Err(ValueError::Unknown),
            Value::Secret(inner) => inner.to_revealed_json()?,
        })
    }

    /// Serializes any `serde` value into a [`Value`].
    pub fn from_serialize<T: Serialize + ?Sized>(value: &T) -> Result<Value, ValueError> {
        serde_json::to_value(value)
            .map(Value::from_json)
            .map_err(|e| ValueError::Serialize(e.to_string()))
    }

    /// Deserializes a known value (secrets revealed) into `T`.
    pub fn deserialize_into<T: DeserializeOwned>(&self) -> Result<T, ValueError> {
        let json = self.to_revealed_json()?;
        serde_json::from_value(json).map_err(|e| ValueError::Deserialize(e.to_string()))
    }

    /// Renders the value for people: secrets as `[secret]`, unknowns as `(known after apply)`,
    /// strings quoted, on one line.
    pub fn display(&self) -> DisplayValue<'_> {
        DisplayValue(self)
    }
}

/// Why a [`Value`] could not be converted.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ValueError {
    /// The value is not known until apply.
    #[error("the value is not known until apply")]
    Unknown,
    /// The value does not have the shape of the requested type.
    #[error("the value does not have the expected shape: {0}")]
    Deserialize(String),
    /// The Rust value could not be written as data.
    #[error("the value cannot be written as data: {0}")]
    Serialize(String),
}

/// People-facing rendering of a [`Value`]; see [`Value::display`].
pub struct DisplayValue<'a>(&'a Value);

impl fmt::Display for DisplayValue<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Value::Null => f.write_str("null"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Number(n) => write!(f, "{n}"),
            Value::String(s) => write!(f, "{s:?}"),
            Value::Array(items) => {
                f.write_str("[")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{}", item.display())?;
                }
                f.write_str("]")
            }
            Value::Object(map) => {
                f.write_str("{")?;
                for (i, (key, value)) in map.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{key}: {}", value.display())?;
                }
                f.write_str("}")
            }
            Value::Unknown => f.write_str("(known after apply)"),
            Value::Secret(_) => f.write_str("[secret]"),
        }
    }
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        serde_json::Value::deserialize(deserializer).map(Value::from_json)
    }
}

impl From<serde_json::Value> for Value {
    fn from(json: serde_json::Value) -> Self {
        Value::from_json(json)
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::String(s.to_owned())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::String(s)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

impl From<i64> for Value {
    fn from(n: i64) -> Self {
        Value::Number(n.into())
    }
}

impl From<u64> for Value {
    fn from(n: u64) -> Self {
        Value::Number(n.into())
    }
}

impl From<i32> for Value {
    fn from(n: i32) -> Self {
        Value::Number(n.into())
    }
}

impl From<u32> for Value {
    fn from(n: u32) -> Self {
        Value::Number(n.into())
    }
}

impl From<u16> for Value {
    fn from(n: u16) -> Self {
        Value::Number(n.into())
    }
}

impl<V: Into<Value>> From<Vec<V>> for Value {
    fn from(items: Vec<V>) -> Self {
        Value::Array(items.into_iter().map(Into::into).collect())
    }
}

impl<V: Into<Value>> From<BTreeMap<String, V>> for Value {
    fn from(map: BTreeMap<String, V>) -> Self {
        Value::Object(map.into_iter().map(|(k, v)| (k, v.into())).collect())
    }
}

/// Builds an object [`Value`] from `key => value` pairs.
///
/// ```
/// use girder_core::{object, Value};
/// let v = object! { "name" => "web", "port" => 80 };
/// assert_eq!(v.get("port").and_then(Value::as_i64), Some(80));
/// ```
#[macro_export]
macro_rules! object {
    ($($key:expr => $value:expr),* $(,)?) => {{
        #[allow(unused_mut)]
        let mut map = ::std::collections::BTreeMap::<String, $crate::Value>::new();
        $( map.insert(($key).to_string(), $crate::Value::from($value)); )*
        $crate::Value::Object(map)
    }};
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_round_trip_keeps_markers() {
        let v = object! { "a" => Value::Unknown, "b" => Value::from("x").into_secret(), "c" => 3 };
        let json = serde_json::to_string(&v).unwrap();
        let back: Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v, back);
    }

    #[test]
    fn lookup_through_unknown_and_secret() {
        let v = object! { "a" => Value::Unknown, "s" => object!{ "k" => "v" }.into_secret() };
        assert_eq!(v.lookup(&"a.b".parse().unwrap()), Some(Value::Unknown));
        assert_eq!(
            v.lookup(&"s.k".parse().unwrap()),
            Some(Value::from("v").into_secret())
        );
        assert_eq!(v.lookup(&"missing".parse().unwrap()), None);
    }

    #[test]
    fn set_creates_objects_and_remove_deletes() {
        let mut v = Value::Null;
        v.set(&"a.b".parse().unwrap(), 1.into()).unwrap();
        assert_eq!(v, object! { "a" => object! { "b" => 1 } });
        assert_eq!(v.remove(&"a.b".parse().unwrap()), Some(Value::from(1)));
        assert!(v.set(&"a.b.c".parse().unwrap(), 1.into()).is_ok());
        let mut scalar = object! { "a" => 1 };
        assert!(scalar.set(&"a.b".parse().unwrap(), 2.into()).is_err());
    }

    #[test]
    fn display_masks_secrets() {
        let v =
            object! { "password" => Value::from("hunter2").into_secret(), "id" => Value::Unknown };
        let shown = v.display().to_string();
        assert!(!shown.contains("hunter2"));
        assert_eq!(shown, "{id: (known after apply), password: [secret]}");
    }
}
