//! Values as Terraform's plan JSON writes them: unknowns and secrets as `null`, flagged in
//! mirrored objects.

use girder_core::Value;
use serde_json::{Value as Json, json};

/// The value with secrets and unknowns as `null` (a resource change's `before`/`after`).
pub(super) fn masked(value: &Value) -> Json {
    match value {
        Value::Secret(_) | Value::Unknown => Json::Null,
        Value::Object(map) => {
            Json::Object(map.iter().map(|(k, v)| (k.clone(), masked(v))).collect())
        }
        Value::Array(items) => Json::Array(items.iter().map(masked).collect()),
        other => other.to_json(),
    }
}
/// The value without its unknowns (`planned_values`): unknown attributes are left out, unknown
/// list items are `null`; secrets are `null`.
pub(super) fn known(value: &Value) -> Json {
    match value {
        Value::Object(map) => Json::Object(
            map.iter()
                .filter(|(_, v)| !v.is_unknown())
                .map(|(k, v)| (k.clone(), known(v)))
                .collect(),
        ),
        Value::Array(items) => Json::Array(items.iter().map(known).collect()),
        other => masked(other),
    }
}
/// `true` where `flag` holds, mirrored into objects and lists; `false` where nothing does.
pub(super) fn mirror(value: &Value, flag: &dyn Fn(&Value) -> bool) -> Json {
    if flag(value) {
        return Json::Bool(true);
    }
    match value {
        Value::Object(map) => Json::Object(
            map.iter()
                .filter_map(|(k, v)| {
                    let m = mirror(v, flag);
                    (m != Json::Bool(false)).then(|| (k.clone(), m))
                })
                .collect(),
        ),
        Value::Array(items) => Json::Array(items.iter().map(|v| mirror(v, flag)).collect()),
        _ => Json::Bool(false),
    }
}
pub(super) fn is_secret(value: &Value) -> bool {
    matches!(value, Value::Secret(_))
}
/// `sensitive_values`: an object that mirrors the value's secrets (`{}` when none).
pub(super) fn sensitive_values(values: &Value) -> Json {
    match mirror(values, &is_secret) {
        Json::Bool(_) => json!({}),
        other => other,
    }
}
