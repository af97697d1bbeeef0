//! Field-by-field differences between recorded and desired inputs.

use girder_core::{FieldPath, Value};
use serde::{Deserialize, Serialize};

/// One changed field.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FieldDiff {
    /// The field.
    pub path: FieldPath,
    /// The recorded value (`None`: absent).
    pub before: Option<Value>,
    /// The desired value (`None`: removed; may be unknown).
    pub after: Option<Value>,
    /// This change forces the resource to be replaced.
    #[serde(default)]
    pub forces_replacement: bool,
}

/// The differences between `before` and `after`, as leaf fields in key order.
///
/// Objects are compared key by key and lists of equal length item by item; a list that changes
/// length is one change. A missing key equals `null`; secrets compare by their content.
pub fn diff(before: &Value, after: &Value) -> Vec<FieldDiff> {
    let mut out = Vec::new();
    diff_at(&FieldPath::root(), Some(before), Some(after), &mut out);
    out
}

fn same(before: Option<&Value>, after: Option<&Value>) -> bool {
    fn strip(v: Option<&Value>) -> Option<&Value> {
        match v {
            None | Some(Value::Null) => None,
            Some(Value::Secret(inner)) => strip(Some(inner)),
            other => other,
        }
    }
    match (strip(before), strip(after)) {
        (None, None) => true,
        (Some(a), Some(b)) => a == b || a.reveal() == b.reveal(),
        _ => false,
    }
}

fn unwrap_secret(v: Option<&Value>) -> Option<&Value> {
    match v {
        Some(Value::Secret(inner)) => Some(inner),
        other => other,
    }
}

fn diff_at(
    path: &FieldPath,
    before: Option<&Value>,
    after: Option<&Value>,
    out: &mut Vec<FieldDiff>,
) {
    if same(before, after) {
        return;
    }
    match (unwrap_secret(before), unwrap_secret(after)) {
        (Some(Value::Object(old)), Some(Value::Object(new))) => {
            let mut keys: Vec<&String> = old.keys().chain(new.keys()).collect();
            keys.sort_unstable();
            keys.dedup();
            for key in keys {
                diff_at(&path.child(key.clone()), old.get(key), new.get(key), out);
            }
        }
        (Some(Value::Array(old)), Some(Value::Array(new))) if old.len() == new.len() => {
            for (i, (o, n)) in old.iter().zip(new).enumerate() {
                diff_at(&path.index(i), Some(o), Some(n), out);
            }
        }
        _ => out.push(FieldDiff {
            path: path.clone(),
            before: before.filter(|v| !matches!(v, Value::Null)).cloned(),
            after: after.filter(|v| !matches!(v, Value::Null)).cloned(),
            forces_replacement: false,
        }),
    }
}

/// True if a change at `changed` touches the field `field` (one lies within the other).
pub fn touches(changed: &FieldPath, field: &FieldPath) -> bool {
    changed.starts_with(field) || field.starts_with(changed)
}

/// Copies the recorded values of `paths` into `desired` (ignore_changes): a field whose changes
/// are ignored keeps the value it had.
pub fn keep_recorded(desired: &mut Value, recorded: &Value, paths: &[FieldPath]) {
    for path in paths {
        match recorded.lookup(path) {
            Some(value) => {
                // A path that cannot be written (through a scalar) is left as desired.
                let _ = desired.set(path, value);
            }
            None => {
                desired.remove(path);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use girder_core::object;

    #[test]
    fn reports_leaf_changes_in_order() {
        let before =
            object! { "a" => 1, "tags" => object!{ "x" => "1", "y" => "2" }, "list" => vec![1, 2] };
        let after = object! { "a" => 1, "tags" => object!{ "x" => "1", "z" => "3" }, "list" => vec![1, 2, 3] };
        let paths: Vec<String> = diff(&before, &after)
            .iter()
            .map(|d| d.path.to_string())
            .collect();
        assert_eq!(paths, ["list", "tags.y", "tags.z"]);
    }

    #[test]
    fn null_equals_missing_and_secrets_compare_by_content() {
        let before = object! { "a" => Value::Null, "pw" => Value::from("x").into_secret() };
        let after = object! { "pw" => Value::from("x") };
        assert!(diff(&before, &after).is_empty());
    }

    #[test]
    fn unknown_is_a_change() {
        let d = diff(
            &object! { "id" => "a" },
            &object! { "id" => Value::Unknown },
        );
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].after, Some(Value::Unknown));
    }

    #[test]
    fn ignore_changes_keeps_recorded_values() {
        let recorded = object! { "tags" => object!{ "owner" => "ops" }, "size" => 1 };
        let mut desired = object! { "tags" => object!{ "owner" => "dev" }, "size" => 2 };
        keep_recorded(&mut desired, &recorded, &["tags.owner".parse().unwrap()]);
        let changed: Vec<String> = diff(&recorded, &desired)
            .iter()
            .map(|d| d.path.to_string())
            .collect();
        assert_eq!(changed, ["size"]);
    }
}
