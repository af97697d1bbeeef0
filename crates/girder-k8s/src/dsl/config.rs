//! ConfigMaps and Secrets, and the typed references pods read them through.

use std::collections::BTreeMap;

use std::sync::Arc;

use girder_core::expr::Apply;
use girder_core::{Dependable, Diagnostic, Expr, IntoInput, NodeId, Output, Stack, Value};
use sha2::{Digest, Sha256};

use super::object::{
    Added, ClusterTarget, ObjectDecl, namespaced_builder, object_builder, provider_node,
};
use crate::kinds::Kind;

/// The annotation prefix of configuration checksums on pod templates.
pub const CHECKSUM_PREFIX: &str = "checksum.girder.dev/";

/// A pod-template annotation whose value is a hash of a ConfigMap's or Secret's data.
///
/// Pods read configuration when they start, so a changed ConfigMap does not reach running
/// pods. The annotation makes the changed data change the pod template, which rolls the
/// deployment; it is an expression over the object's outputs, so it is also an edge.
fn checksum(kind: &str, object: &str, content: &Expr) -> (String, Expr) {
    let prefix = if kind == "Secret" {
        "secret"
    } else {
        "configmap"
    };
    let mut name = format!("{prefix}-{object}");
    if name.len() > 63 {
        let digest = hex::encode(Sha256::digest(object.as_bytes()));
        name = format!("{prefix}-{}", &digest[..16]);
    }
    let expr = Expr::Apply(Arc::new(Apply {
        args: vec![content.clone()],
        label: "checksum",
        function: Arc::new(|args| {
            // `Value::to_json` writes objects with sorted keys: the hash is stable.
            let canonical = args[0].to_json().to_string();
            let digest = hex::encode(Sha256::digest(canonical.as_bytes()));
            Ok(Value::String(digest[..16].to_owned()))
        }),
    }));
    (format!("{CHECKSUM_PREFIX}{name}"), expr)
}

/// A reference to one key of a ConfigMap or Secret of the program, from
/// [`ConfigMapHandle::key`] or [`SecretHandle::key`]. A pod that reads it depends on the
/// object, and a key the object does not have is reported when the program is built.
#[derive(Clone, Debug)]
pub struct KeyRef {
    kind: &'static str,
    object: String,
    namespace: Option<String>,
    key: String,
    name: Output<String>,
    keys: Vec<String>,
    content: Expr,
}

impl KeyRef {
    /// The key.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The pod-template annotation that changes whenever the object's data does.
    pub(crate) fn checksum(&self) -> (String, Expr) {
        checksum(self.kind, &self.object, &self.content)
    }

    /// `{configMapKeyRef: {name, key}}` / `{secretKeyRef: ..}`.
    pub(crate) fn value_from(&self) -> Expr {
        let section = if self.kind == "Secret" {
            "secretKeyRef"
        } else {
            "configMapKeyRef"
        };
        let mut reference = BTreeMap::new();
        reference.insert("name".to_owned(), self.name.clone().into_expr());
        reference.insert(
            "key".to_owned(),
            Expr::Value(Value::String(self.key.clone())),
        );
        let mut out = BTreeMap::new();
        out.insert(section.to_owned(), Expr::Object(reference));
        Expr::Object(out)
    }

    /// The problem with reading this key from a pod in `namespace`, if any.
    pub(crate) fn problem(&self, namespace: Option<&str>, variable: &str) -> Option<Diagnostic> {
        if self.namespace.as_deref() != namespace {
            return Some(
                Diagnostic::error(format!(
                    "`{variable}` reads {} `{}` from namespace `{}`, but pods can only read {}s of their own namespace `{}`",
                    self.kind,
                    self.object,
                    self.namespace.as_deref().unwrap_or("?"),
                    self.kind,
                    namespace.unwrap_or("?")
                ))
                .field("env")
                .value(&self.key)
                .fix(format!("declare the {} in the workload's namespace", self.kind)),
            );
        }
        if !self.keys.contains(&self.key) {
            return Some(
                Diagnostic::error(format!(
                    "`{variable}` reads key `{}` of {} `{}`, which has no such key (it has {}): the pods would never start (`CreateContainerConfigError`)",
                    self.key,
                    self.kind,
                    self.object,
                    if self.keys.is_empty() { "none".into() } else { self.keys.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ") }
                ))
                .field("env")
                .value(&self.key)
                .fix("use one of its keys, or add the key to the object"),
            );
        }
        None
    }
}

/// All keys of a ConfigMap or Secret as environment variables (`envFrom`); made from a
/// handle with `.env_from(&config)`.
#[derive(Clone, Debug)]
pub struct EnvFromRef {
    kind: &'static str,
    object: String,
    namespace: Option<String>,
    name: Output<String>,
    content: Expr,
}

impl EnvFromRef {
    /// The pod-template annotation that changes whenever the object's data does.
    pub(crate) fn checksum(&self) -> (String, Expr) {
        checksum(self.kind, &self.object, &self.content)
    }

    pub(crate) fn to_expr(&self) -> Expr {
        let section = if self.kind == "Secret" {
            "secretRef"
        } else {
            "configMapRef"
        };
        let mut reference = BTreeMap::new();
        reference.insert("name".to_owned(), self.name.clone().into_expr());
        let mut out = BTreeMap::new();
        out.insert(section.to_owned(), Expr::Object(reference));
        Expr::Object(out)
    }

    pub(crate) fn problem(&self, namespace: Option<&str>) -> Option<Diagnostic> {
        (self.namespace.as_deref() != namespace).then(|| {
            Diagnostic::error(format!(
                "the pods read {} `{}` of namespace `{}`, but live in `{}`",
                self.kind,
                self.object,
                self.namespace.as_deref().unwrap_or("?"),
                namespace.unwrap_or("?")
            ))
            .field("envFrom")
            .value(&self.object)
            .fix(format!(
                "declare the {} in the workload's namespace",
                self.kind
            ))
        })
    }
}

/// A ConfigMap: non-secret settings for pods.
///
/// ```
/// use girder_core::Stack;
/// use girder_k8s::dsl::*;
/// let mut s = Stack::new("dev");
/// let config = ConfigMap::new("frontend-configmap")
///     .data("LOG_LEVEL", "info")
///     .add(DefaultProvider, &mut s);
/// let level = config.key("LOG_LEVEL");
/// assert_eq!(level.key(), "LOG_LEVEL");
/// ```
#[derive(Clone, Debug)]
#[must_use = "a builder declares nothing until it is added to the stack with `.add(…)`"]
pub struct ConfigMap {
    obj: ObjectDecl,
    data: BTreeMap<String, Expr>,
}

object_builder!(ConfigMap);
namespaced_builder!(ConfigMap);

impl ConfigMap {
    /// A ConfigMap called `name`.
    pub fn new(name: impl Into<String>) -> ConfigMap {
        ConfigMap {
            obj: ObjectDecl::new(Kind::new("", "v1", "ConfigMap"), name),
            data: BTreeMap::new(),
        }
    }

    /// A key and its value (a literal or an output such as `service.url()`).
    pub fn data(mut self, key: impl Into<String>, value: impl IntoInput<String>) -> ConfigMap {
        self.data.insert(key.into(), value.into_input().into_expr());
        self
    }

    /// Adds it to the stack.
    pub fn add(mut self, target: impl ClusterTarget, stack: &mut Stack) -> ConfigMapHandle {
        let provider = provider_node(&target, &self.obj.node_name(), stack);
        let keys: Vec<String> = self.data.keys().cloned().collect();
        self.obj.body.insert("data".into(), Expr::Object(self.data));
        let added = self.obj.add_object(provider, stack);
        ConfigMapHandle { added, keys }
    }
}

/// A ConfigMap of the program.
#[derive(Clone, Debug)]
pub struct ConfigMapHandle {
    added: Added,
    keys: Vec<String>,
}

impl ConfigMapHandle {
    /// A reference to `key`, for `.env_from_key(..)`.
    pub fn key(&self, key: impl Into<String>) -> KeyRef {
        KeyRef {
            kind: "ConfigMap",
            object: self.added.name.clone(),
            namespace: self.added.namespace.clone(),
            key: key.into(),
            name: self.added.name_output(),
            keys: self.keys.clone(),
            content: self.added.handle.output::<Value>("data").into_expr(),
        }
    }

    /// The keys.
    pub fn keys(&self) -> &[String] {
        &self.keys
    }

    /// The name, as an output.
    pub fn name(&self) -> Output<String> {
        self.added.name_output()
    }

    /// The node.
    pub fn node(&self) -> NodeId {
        self.added.handle.node()
    }
}

impl From<&ConfigMapHandle> for EnvFromRef {
    fn from(handle: &ConfigMapHandle) -> EnvFromRef {
        EnvFromRef {
            kind: "ConfigMap",
            object: handle.added.name.clone(),
            namespace: handle.added.namespace.clone(),
            name: handle.added.name_output(),
            content: handle.added.handle.output::<Value>("data").into_expr(),
        }
    }
}

impl Dependable for ConfigMapHandle {
    fn node_ids(&self) -> Vec<NodeId> {
        vec![self.node()]
    }
}

/// A Secret: its values are secret outputs, masked in plans and renders and encrypted in the
/// state.
///
/// ```
/// use girder_core::{Output, Stack};
/// use girder_k8s::dsl::*;
/// let mut s = Stack::new("dev");
/// let password = Output::known_secret("hunter2".to_owned());
/// let db = Secret::new("db").string_data("password", &password).add(DefaultProvider, &mut s);
/// let _ = db.key("password");
/// ```
#[derive(Clone, Debug)]
#[must_use = "a builder declares nothing until it is added to the stack with `.add(…)`"]
pub struct Secret {
    obj: ObjectDecl,
    data: BTreeMap<String, Expr>,
    secret_type: Option<String>,
}

object_builder!(Secret);
namespaced_builder!(Secret);

impl Secret {
    /// A Secret called `name` (type `Opaque`).
    pub fn new(name: impl Into<String>) -> Secret {
        Secret {
            obj: ObjectDecl::new(Kind::new("", "v1", "Secret"), name),
            data: BTreeMap::new(),
            secret_type: None,
        }
    }

    /// A key and its value; the value is marked secret whatever it is.
    pub fn string_data(mut self, key: impl Into<String>, value: impl IntoInput<String>) -> Secret {
        self.data.insert(
            key.into(),
            Expr::Secret(Box::new(value.into_input().into_expr())),
        );
        self
    }

    /// The Secret's type, such as `kubernetes.io/dockerconfigjson` (default `Opaque`).
    pub fn secret_type(mut self, secret_type: impl Into<String>) -> Secret {
        self.secret_type = Some(secret_type.into());
        self
    }

    /// Adds it to the stack.
    pub fn add(mut self, target: impl ClusterTarget, stack: &mut Stack) -> SecretHandle {
        let provider = provider_node(&target, &self.obj.node_name(), stack);
        let keys: Vec<String> = self.data.keys().cloned().collect();
        self.obj
            .body
            .insert("stringData".into(), Expr::Object(self.data));
        self.obj.body.insert(
            "type".into(),
            Expr::Value(Value::String(
                self.secret_type.unwrap_or_else(|| "Opaque".into()),
            )),
        );
        let added = self.obj.add_object(provider, stack);
        SecretHandle { added, keys }
    }
}

/// A Secret of the program.
#[derive(Clone, Debug)]
pub struct SecretHandle {
    added: Added,
    keys: Vec<String>,
}

impl SecretHandle {
    /// A reference to `key`, for `.env_from_key(..)`.
    pub fn key(&self, key: impl Into<String>) -> KeyRef {
        KeyRef {
            kind: "Secret",
            object: self.added.name.clone(),
            namespace: self.added.namespace.clone(),
            key: key.into(),
            name: self.added.name_output(),
            keys: self.keys.clone(),
            content: self.added.handle.output::<Value>("stringData").into_expr(),
        }
    }

    /// The name, as an output.
    pub fn name(&self) -> Output<String> {
        self.added.name_output()
    }

    /// The node.
    pub fn node(&self) -> NodeId {
        self.added.handle.node()
    }
}

impl From<&SecretHandle> for EnvFromRef {
    fn from(handle: &SecretHandle) -> EnvFromRef {
        EnvFromRef {
            kind: "Secret",
            object: handle.added.name.clone(),
            namespace: handle.added.namespace.clone(),
            name: handle.added.name_output(),
            content: handle
                .added
                .handle
                .output::<Value>("stringData")
                .into_expr(),
        }
    }
}

impl Dependable for SecretHandle {
    fn node_ids(&self) -> Vec<NodeId> {
        vec![self.node()]
    }
}
