//! Label selectors (`app=web,tier!=db,env in (a,b),env notin (c),gpu,!legacy`), the
//! `metav1.LabelSelector` object form used by controllers, and simple field selectors.

use serde_json::{Map, Value};

/// One requirement of a label selector.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Requirement {
    /// `key=value` / `key==value`.
    Eq(String, String),
    /// `key!=value` (also true when the key is absent).
    NotEq(String, String),
    /// `key in (a,b)`.
    In(String, Vec<String>),
    /// `key notin (a,b)` (also true when the key is absent).
    NotIn(String, Vec<String>),
    /// `key`.
    Exists(String),
    /// `!key`.
    NotExists(String),
}

/// A parsed label selector: all requirements must hold. The empty selector matches everything.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct LabelSelector(pub Vec<Requirement>);

impl LabelSelector {
    /// Parses the query-string form of a label selector.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut reqs = Vec::new();
        for part in split_top_level(text)? {
            let part = part.trim();
            if part.is_empty() {
                continue;
            }
            reqs.push(parse_requirement(part)?);
        }
        Ok(LabelSelector(reqs))
    }

    /// Builds a selector from a `metav1.LabelSelector` object (`matchLabels`, `matchExpressions`).
    pub fn from_object(sel: &Value) -> Result<Self, String> {
        let mut reqs = Vec::new();
        if let Some(ml) = sel.get("matchLabels").and_then(Value::as_object) {
            for (k, v) in ml {
                reqs.push(Requirement::Eq(
                    k.clone(),
                    v.as_str().unwrap_or_default().to_string(),
                ));
            }
        }
        if let Some(exprs) = sel.get("matchExpressions").and_then(Value::as_array) {
            for e in exprs {
                let key = e
                    .get("key")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                let values: Vec<String> = e
                    .get("values")
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .filter_map(Value::as_str)
                            .map(str::to_string)
                            .collect()
                    })
                    .unwrap_or_default();
                let op = e
                    .get("operator")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                reqs.push(match op {
                    "In" => Requirement::In(key, values),
                    "NotIn" => Requirement::NotIn(key, values),
                    "Exists" => Requirement::Exists(key),
                    "DoesNotExist" => Requirement::NotExists(key),
                    other => {
                        return Err(format!("{other:?} is not a valid label selector operator"));
                    }
                });
            }
        }
        Ok(LabelSelector(reqs))
    }

    /// Whether `labels` satisfy every requirement.
    pub fn matches(&self, labels: &Map<String, Value>) -> bool {
        let get = |k: &str| labels.get(k).and_then(Value::as_str);
        self.0.iter().all(|r| match r {
            Requirement::Eq(k, v) => get(k) == Some(v.as_str()),
            Requirement::NotEq(k, v) => get(k) != Some(v.as_str()),
            Requirement::In(k, vs) => get(k).is_some_and(|x| vs.iter().any(|v| v == x)),
            Requirement::NotIn(k, vs) => !get(k).is_some_and(|x| vs.iter().any(|v| v == x)),
            Requirement::Exists(k) => labels.contains_key(k),
            Requirement::NotExists(k) => !labels.contains_key(k),
        })
    }

    /// Whether the selector has no requirements.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

fn split_top_level(text: &str) -> Result<Vec<String>, String> {
    let mut parts = Vec::new();
    let mut depth = 0i32;
    let mut cur = String::new();
    for c in text.chars() {
        match c {
            '(' => {
                depth += 1;
                cur.push(c);
            }
            ')' => {
                depth -= 1;
                if depth < 0 {
                    return Err(format!("unbalanced ')' in label selector {text:?}"));
                }
                cur.push(c);
            }
            ',' if depth == 0 => parts.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    if depth != 0 {
        return Err(format!("unbalanced '(' in label selector {text:?}"));
    }
    parts.push(cur);
    Ok(parts)
}

fn valid_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= 317
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'))
}

fn valid_value(v: &str) -> bool {
    v.len() <= 63
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

fn parse_requirement(part: &str) -> Result<Requirement, String> {
    let bad = |why: &str| Err(format!("unable to parse requirement {part:?}: {why}"));
    if let Some(key) = part.strip_prefix('!') {
        let key = key.trim();
        if !valid_key(key) {
            return bad("invalid label key");
        }
        return Ok(Requirement::NotExists(key.to_string()));
    }
    let key_end = part
        .find(|c: char| c.is_whitespace() || matches!(c, '=' | '!' | '<' | '>' | '('))
        .unwrap_or(part.len());
    let key = &part[..key_end];
    if !valid_key(key) {
        return bad("invalid label key");
    }
    let rest = part[key_end..].trim_start();
    if rest.is_empty() {
        return Ok(Requirement::Exists(key.to_string()));
    }
    let value_of = |v: &str| -> Result<String, String> {
        let v = v.trim();
        if valid_value(v) {
            Ok(v.to_string())
        } else {
            Err(format!(
                "unable to parse requirement {part:?}: invalid label value {v:?}"
            ))
        }
    };
    if let Some(v) = rest.strip_prefix("!=") {
        return Ok(Requirement::NotEq(key.to_string(), value_of(v)?));
    }
    if let Some(v) = rest.strip_prefix("==") {
        return Ok(Requirement::Eq(key.to_string(), value_of(v)?));
    }
    if let Some(v) = rest.strip_prefix('=') {
        return Ok(Requirement::Eq(key.to_string(), value_of(v)?));
    }
    let (negated, list) = if let Some(l) = rest.strip_prefix("notin") {
        (true, l)
    } else if let Some(l) = rest.strip_prefix("in") {
        (false, l)
    } else {
        return bad("expected one of '=', '==', '!=', 'in', 'notin'");
    };
    let list = list.trim();
    let Some(inner) = list.strip_prefix('(').and_then(|l| l.strip_suffix(')')) else {
        return bad("expected a parenthesised value list");
    };
    let values = inner
        .split(',')
        .map(value_of)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(if negated {
        Requirement::NotIn(key.to_string(), values)
    } else {
        Requirement::In(key.to_string(), values)
    })
}

/// A field selector: `metadata.name=x,metadata.namespace!=y,status.phase=Running`.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct FieldSelector(Vec<(Vec<String>, bool, String)>);

impl FieldSelector {
    /// Parses a field selector (equality and inequality on dotted paths).
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut out = Vec::new();
        for part in text.split(',') {
            let part = part.trim();
            if part.is_empty() {
                continue;
            }
            let (path, negated, value) = if let Some((p, v)) = part.split_once("!=") {
                (p, true, v)
            } else if let Some((p, v)) = part.split_once("==") {
                (p, false, v)
            } else if let Some((p, v)) = part.split_once('=') {
                (p, false, v)
            } else {
                return Err(format!(
                    "invalid field selector {part:?}: expected path=value or path!=value"
                ));
            };
            out.push((
                path.trim().split('.').map(str::to_string).collect(),
                negated,
                value.trim().to_string(),
            ));
        }
        Ok(FieldSelector(out))
    }

    /// Whether the object satisfies every requirement (missing fields compare as `""`).
    pub fn matches(&self, obj: &Value) -> bool {
        self.0.iter().all(|(path, negated, want)| {
            let mut cur = Some(obj);
            for seg in path {
                cur = cur.and_then(|c| c.get(seg));
            }
            let have = match cur {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Null) | None => String::new(),
                Some(other) => other.to_string(),
            };
            (have == *want) != *negated
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn labels(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn parses_all_forms() {
        let s = LabelSelector::parse(
            "app=web, tier!=db,env in (prod, staging),zone notin (a),gpu,!legacy,x==y",
        )
        .unwrap();
        assert_eq!(s.0.len(), 7);
        let ok = labels(json!({"app": "web", "env": "prod", "gpu": "1", "x": "y"}));
        assert!(s.matches(&ok));
        let legacy =
            labels(json!({"app": "web", "env": "prod", "gpu": "1", "x": "y", "legacy": "true"}));
        assert!(!s.matches(&legacy));
        let wrong_env = labels(json!({"app": "web", "env": "dev", "gpu": "1", "x": "y"}));
        assert!(!s.matches(&wrong_env));
    }

    #[test]
    fn rejects_garbage() {
        assert!(LabelSelector::parse("app in (a").is_err());
        assert!(LabelSelector::parse("app ~ b").is_err());
        assert!(LabelSelector::parse("=x").is_err());
    }

    #[test]
    fn object_form() {
        let s = LabelSelector::from_object(&json!({"matchLabels": {"app": "x"}, "matchExpressions": [{"key": "t", "operator": "In", "values": ["a"]}]})).unwrap();
        assert!(s.matches(&labels(json!({"app": "x", "t": "a"}))));
        assert!(!s.matches(&labels(json!({"app": "x"}))));
    }

    #[test]
    fn field_selector() {
        let f = FieldSelector::parse("metadata.name=a,status.phase!=Failed").unwrap();
        assert!(f.matches(&json!({"metadata": {"name": "a"}, "status": {"phase": "Running"}})));
        assert!(!f.matches(&json!({"metadata": {"name": "b"}})));
    }
}
