//! The building blocks of a mapping: what a girder resource offers ([`Source`]), the Terraform
//! resource being assembled from it ([`Attrs`]) and the result ([`TfResource`]).

use std::collections::BTreeMap;

use girder_core::Value;
use serde_json::{Map, Value as Json, json};

use super::values::masked;

/// A reference from one resource's input to another resource's attribute, as Terraform writes
/// it: the referenced resource's address and the attribute path inside it.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Reference {
    /// `aws_vpc.main`, or `data.TYPE.NAME`.
    pub address: String,
    /// The attribute path inside it: keys and list indexes (`["certificate_authority", 0, "data"]`).
    pub path: Vec<Json>,
}

impl Reference {
    /// Terraform's `references` list for this traversal: the full traversal first, then each
    /// shorter prefix down to the resource itself (`aws_vpc.main.id`, `aws_vpc.main`).
    pub fn traversals(&self) -> Vec<String> {
        let mut out = Vec::new();
        for len in (0..=self.path.len()).rev() {
            let mut text = self.address.clone();
            for segment in &self.path[..len] {
                match segment {
                    Json::Number(n) => text.push_str(&format!("[{n}]")),
                    Json::String(s) => {
                        text.push('.');
                        text.push_str(s);
                    }
                    _ => {}
                }
            }
            // Terraform does not list a traversal that ends inside a list index on its own.
            if len == 0 || matches!(self.path[len - 1], Json::String(_)) {
                out.push(text);
            }
        }
        out
    }
}

/// Everything a mapping reads of one girder resource (its planned or its recorded side).
pub(crate) struct Source<'a> {
    /// The girder type token.
    pub type_name: &'a str,
    /// The inputs (may contain unknowns and secrets).
    pub inputs: &'a Value,
    /// The outputs (planned: unknown where only apply tells).
    pub outputs: &'a Value,
    /// The cloud id: known for recorded resources, unknown for creates.
    pub id: Value,
    /// The stack, for the identity tags in `tags_all`.
    pub stack: &'a str,
    /// The girder resource name, for the identity tags in `tags_all`.
    pub resource: &'a str,
    /// The Terraform local name of the resource (shared by the resources it maps to).
    pub name: &'a str,
    /// The references of one top-level girder input.
    pub refs: &'a dyn Fn(&str) -> Vec<Reference>,
}

impl Source<'_> {
    /// The input at a dotted path (`scaling.min_size`); absent and `null` read as `None`.
    pub fn input(&self, path: &str) -> Option<&Value> {
        let mut value = self.inputs;
        for key in path.split('.') {
            value = value.get(key)?;
        }
        (!matches!(value, Value::Null)).then_some(value)
    }

    /// The input as a string, if it is a known one.
    pub fn str(&self, path: &str) -> Option<&str> {
        self.input(path).and_then(Value::as_str)
    }

    /// An output: its planned value, or unknown when the plan does not have it.
    pub fn output(&self, key: &str) -> Value {
        match self.outputs.get(key) {
            Some(Value::Null) | None => Value::Unknown,
            Some(value) => value.clone(),
        }
    }

    /// The references of the top-level input a dotted path starts with.
    pub fn refs_of(&self, path: &str) -> Vec<Reference> {
        (self.refs)(path.split('.').next().unwrap_or(path))
    }
}

/// One Terraform resource a girder resource maps to.
#[derive(Debug)]
pub(crate) struct TfResource {
    /// The Terraform type (`aws_vpc`).
    pub tf_type: String,
    /// The full provider name (`registry.terraform.io/hashicorp/aws`).
    pub provider: &'static str,
    /// Its attributes, in the Terraform provider's shape (unknowns and secrets kept).
    pub values: Value,
    /// Its `configuration` expressions.
    pub expressions: Map<String, Json>,
    /// Where each top-level girder input went: girder key → Terraform attribute path.
    pub origins: Vec<(String, Vec<String>)>,
    /// Appended to the local name when one girder resource maps to several resources of the
    /// same Terraform type (`_NAME`).
    pub name_suffix: Option<String>,
}

/// A Terraform resource being assembled.
pub(crate) struct Attrs<'s, 'a> {
    src: &'s Source<'a>,
    values: BTreeMap<String, Value>,
    exprs: Map<String, Json>,
    origins: Vec<(String, Vec<String>)>,
    prefix: Vec<String>,
}

/// How Terraform's configuration writes a value: the references it is computed from, else
/// the literal; nothing for a value that is neither (known only after apply).
pub(crate) fn expression(value: &Value, refs: &[Reference]) -> Option<Json> {
    if !refs.is_empty() {
        let mut all: Vec<String> = Vec::new();
        for reference in refs {
            for text in reference.traversals() {
                if !all.contains(&text) {
                    all.push(text);
                }
            }
        }
        Some(json!({ "references": all }))
    } else if value.contains_unknown() {
        None
    } else {
        Some(json!({ "constant_value": masked(value) }))
    }
}

impl<'s, 'a> Attrs<'s, 'a> {
    /// An empty resource read from `src`.
    pub fn new(src: &'s Source<'a>) -> Self {
        Attrs {
            src,
            values: BTreeMap::new(),
            exprs: Map::new(),
            origins: Vec::new(),
            prefix: Vec::new(),
        }
    }

    /// What the mapping reads.
    pub fn src(&self) -> &'s Source<'a> {
        self.src
    }

    fn origin(&mut self, girder: &str, tf: &str) {
        let key = girder.split('.').next().unwrap_or(girder).to_owned();
        if !self.origins.iter().any(|(k, _)| *k == key) {
            let mut path = self.prefix.clone();
            path.push(tf.to_owned());
            self.origins.push((key, path));
        }
    }

    /// Sets `tf` to `value`, whose configuration expression comes from the girder inputs
    /// `from` (their references, else the literal).
    pub fn set(&mut self, tf: &str, value: Value, from: &[&str]) -> &mut Self {
        let refs: Vec<Reference> = from.iter().flat_map(|f| self.src.refs_of(f)).collect();
        if let Some(expr) = expression(&value, &refs) {
            self.exprs.insert(tf.to_owned(), expr);
        }
        for girder in from {
            self.origin(girder, tf);
        }
        self.values.insert(tf.to_owned(), value);
        self
    }

    /// Copies the girder input at `path` to `tf`, if it is set.
    pub fn copy(&mut self, tf: &str, path: &str) -> &mut Self {
        if let Some(value) = self.src.input(path).cloned() {
            self.set(tf, value, &[path]);
        }
        self
    }

    /// Copies the girder input `path` to `tf` if set, else sets `tf` to `default` (what the
    /// cloud applies when nothing is said), with no configuration expression.
    pub fn copy_or(&mut self, tf: &str, path: &str, default: Value) -> &mut Self {
        if self.src.input(path).is_some() {
            self.copy(tf, path)
        } else {
            self.computed(tf, default)
        }
    }

    /// Writes the IAM policy document at `path` as Terraform does: a JSON string (unknown
    /// while any part of it is).
    pub fn policy_document(&mut self, tf: &str, path: &str) -> &mut Self {
        if let Some(document) = self.src.input(path) {
            let value = json_string(document);
            self.set(tf, value, &[path]);
        }
        self
    }

    /// Replaces the configuration expression of `tf`.
    pub fn set_expression(&mut self, tf: &str, expression: Option<Json>) -> &mut Self {
        match expression {
            Some(expression) => self.exprs.insert(tf.to_owned(), expression),
            None => self.exprs.remove(tf),
        };
        self
    }

    /// A computed attribute: in the plan, not in the configuration.
    pub fn computed(&mut self, tf: &str, value: Value) -> &mut Self {
        self.values.insert(tf.to_owned(), value);
        self
    }

    /// The `id` attribute.
    pub fn id(&mut self) -> &mut Self {
        let id = self.src.id.clone();
        self.computed("id", id)
    }

    /// Computed attributes from the girder outputs of the same name.
    pub fn outputs(&mut self, keys: &[&str]) -> &mut Self {
        for key in keys {
            let value = self.src.output(key);
            self.computed(key, value);
        }
        self
    }

    /// `tags` (the user's) and `tags_all` (with girder's identity tags, as provider
    /// `default_tags` are in Terraform's).
    pub fn tags(&mut self) -> &mut Self {
        let user = self.src.input("tags").cloned();
        let mut all: BTreeMap<String, Value> = user
            .as_ref()
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        all.insert("girder:stack".into(), Value::from(self.src.stack));
        all.insert("girder:resource".into(), Value::from(self.src.resource));
        if let Some(user) = user {
            self.set("tags", user, &["tags"]);
        }
        self.computed("tags_all", Value::Object(all))
    }

    /// A nested block written once (`vpc_config = [{…}]`); left out when it sets nothing.
    pub fn block(&mut self, tf: &str, build: impl FnOnce(&mut Attrs<'s, 'a>)) -> &mut Self {
        let mut inner = Attrs::new(self.src);
        inner.prefix = self.prefix.clone();
        inner.prefix.push(tf.to_owned());
        build(&mut inner);
        if inner.values.is_empty() {
            return self;
        }
        for (key, path) in inner.origins {
            if !self.origins.iter().any(|(k, _)| *k == key) {
                self.origins.push((key, path));
            }
        }
        if !inner.exprs.is_empty() {
            self.exprs
                .insert(tf.to_owned(), Json::Array(vec![Json::Object(inner.exprs)]));
        }
        self.values.insert(
            tf.to_owned(),
            Value::Array(vec![Value::Object(inner.values)]),
        );
        self
    }

    /// A repeated nested block built from the girder list at `path`, one block per item.
    pub fn blocks(
        &mut self,
        tf: &str,
        path: &str,
        build: impl Fn(&Value) -> BTreeMap<String, Value>,
    ) -> &mut Self {
        let Some(items) = self.src.input(path).and_then(Value::as_array) else {
            return self;
        };
        if items.is_empty() {
            return self;
        }
        let blocks: Vec<Value> = items.iter().map(|i| Value::Object(build(i))).collect();
        let refs = self.src.refs_of(path);
        let exprs: Vec<Json> = blocks
            .iter()
            .map(|block| {
                let fields = block.as_object().into_iter().flatten();
                Json::Object(
                    fields
                        .filter_map(|(k, v)| expression(v, &refs).map(|e| (k.clone(), e)))
                        .collect(),
                )
            })
            .collect();
        self.exprs.insert(tf.to_owned(), Json::Array(exprs));
        self.origin(path, tf);
        self.values.insert(tf.to_owned(), Value::Array(blocks));
        self
    }

    /// The Terraform resource of type `tf_type`.
    pub fn finish(&mut self, tf_type: &str, provider: &'static str) -> TfResource {
        TfResource {
            tf_type: tf_type.to_owned(),
            provider,
            values: Value::Object(std::mem::take(&mut self.values)),
            expressions: std::mem::take(&mut self.exprs),
            origins: std::mem::take(&mut self.origins),
            name_suffix: None,
        }
    }
}

/// A JSON document as the JSON string Terraform holds it in (`jsonencode(…)`): unknown while
/// any part is unknown, secret while any part is secret.
pub(crate) fn json_string(document: &Value) -> Value {
    if document.contains_unknown() {
        Value::Unknown
    } else if let Value::String(already) = document {
        Value::String(already.clone())
    } else if document.contains_secret() {
        Value::Secret(Box::new(Value::String(unmasked(document).to_string())))
    } else {
        Value::String(document.to_json().to_string())
    }
}

fn unmasked(value: &Value) -> Json {
    match value {
        Value::Secret(inner) => unmasked(inner),
        Value::Object(map) => {
            Json::Object(map.iter().map(|(k, v)| (k.clone(), unmasked(v))).collect())
        }
        Value::Array(items) => Json::Array(items.iter().map(unmasked).collect()),
        other => other.to_json(),
    }
}

/// An object from `(key, value)` pairs, leaving out absent values.
pub(crate) fn object<const N: usize>(
    fields: [(&str, Option<Value>); N],
) -> BTreeMap<String, Value> {
    fields
        .into_iter()
        .filter_map(|(k, v)| {
            v.filter(|v| !matches!(v, Value::Null))
                .map(|v| (k.to_owned(), v))
        })
        .collect()
}
