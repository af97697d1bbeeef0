//! The escape hatches: any `k8s-openapi` object, JSON, or raw YAML (multi-document, CRDs
//! and custom resources included) as objects of the program.

use std::collections::BTreeMap;

use girder_core::{Diagnostic, Expr, FieldPath, IntoExpr, NodeId, Segment, Stack, Value};
use serde::Deserialize;
use serde_json::Value as Json;

use super::object::{
    ClusterTarget, IntoNamespace, ObjectDecl, ObjectHandle, object_builder, provider_node,
};
use crate::error::K8sError;
use crate::kinds::Kind;

/// Fields the API server maintains; manifests copied from `kubectl get -o yaml` carry them.
const SERVER_METADATA: [&str; 7] = [
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "managedFields",
    "selfLink",
    "deletionTimestamp",
];

/// An object given as data: a `k8s-openapi` value, JSON or YAML.
///
/// ```
/// use girder_core::Stack;
/// use girder_k8s::dsl::*;
/// use k8s_openapi::api::core::v1::ConfigMap as K8sConfigMap;
/// let mut s = Stack::new("dev");
/// let typed = K8sConfigMap {
///     metadata: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
///         name: Some("typed".into()),
///         ..Default::default()
///     },
///     data: Some([("A".to_owned(), "1".to_owned())].into()),
///     ..Default::default()
/// };
/// let handle = Manifest::from_typed(&typed).unwrap().add(DefaultProvider, &mut s);
/// assert_eq!(handle.namespace(), Some("default"));
/// ```
#[derive(Clone, Debug)]
#[must_use = "a builder declares nothing until it is added to the stack with `.add(…)`"]
pub struct Manifest {
    obj: ObjectDecl,
    explicit_namespace: bool,
}

object_builder!(Manifest);

fn manifest_error(doc: Option<usize>, message: impl Into<String>) -> K8sError {
    K8sError::Manifest {
        doc,
        message: message.into(),
    }
}

/// Writes `value` at `segments` below an object expression, creating objects on the way.
fn set_expr(target: &mut Expr, segments: &[Segment], value: Expr) -> Result<(), String> {
    let Some((first, rest)) = segments.split_first() else {
        *target = value;
        return Ok(());
    };
    if let Expr::Value(Value::Object(map)) = target {
        let fields = std::mem::take(map)
            .into_iter()
            .map(|(k, v)| (k, Expr::Value(v)))
            .collect();
        *target = Expr::Object(fields);
    }
    if let Expr::Value(Value::Array(items)) = target {
        *target = Expr::Array(std::mem::take(items).into_iter().map(Expr::Value).collect());
    }
    match (first, target) {
        (Segment::Key(key), Expr::Object(map)) => {
            let child = map.entry(key.clone()).or_insert_with(Expr::object);
            set_expr(child, rest, value)
        }
        (Segment::Index(index), Expr::Array(items)) if *index < items.len() => {
            set_expr(&mut items[*index], rest, value)
        }
        (segment, _) => Err(format!("cannot descend into `{segment:?}`")),
    }
}

impl Manifest {
    fn from_json_doc(json: Json, doc: Option<usize>) -> Result<Manifest, K8sError> {
        let Json::Object(mut map) = json else {
            return Err(manifest_error(
                doc,
                "a manifest must be a mapping with apiVersion, kind and metadata",
            ));
        };
        let api_version = map
            .remove("apiVersion")
            .and_then(|v| v.as_str().map(str::to_owned))
            .ok_or_else(|| manifest_error(doc, "the manifest has no `apiVersion`"))?;
        let kind_name = map
            .remove("kind")
            .and_then(|v| v.as_str().map(str::to_owned))
            .ok_or_else(|| manifest_error(doc, "the manifest has no `kind`"))?;
        let kind = Kind::from_api_version(&api_version, &kind_name);
        let mut metadata = match map.remove("metadata") {
            Some(Json::Object(metadata)) => metadata,
            _ => {
                return Err(manifest_error(
                    doc,
                    format!("the {kind_name} has no `metadata`"),
                ));
            }
        };
        if metadata.contains_key("generateName") && !metadata.contains_key("name") {
            return Err(manifest_error(
                doc,
                format!(
                    "the {kind_name} uses `generateName`; girder tracks objects by name, so give it a fixed `metadata.name`"
                ),
            ));
        }
        let name = metadata
            .remove("name")
            .and_then(|v| v.as_str().map(str::to_owned))
            .ok_or_else(|| {
                manifest_error(doc, format!("the {kind_name} has no `metadata.name`"))
            })?;
        for key in SERVER_METADATA.iter().chain(&["generateName"]) {
            metadata.remove(*key);
        }
        map.remove("status");
        let mut obj = ObjectDecl::new(kind.clone(), name);
        let explicit_namespace = match metadata.remove("namespace") {
            Some(Json::String(namespace)) => {
                obj.set_namespace(namespace);
                true
            }
            _ => {
                // Unknown kinds (custom resources) may be cluster-scoped: leave the namespace
                // to the CRD (see `add_all`) or to the API server's answer at apply time.
                if kind.builtin().is_none() {
                    obj.namespace = None;
                }
                false
            }
        };
        for (section, target) in [
            ("labels", &mut obj.labels),
            ("annotations", &mut obj.annotations),
        ] {
            if let Some(Json::Object(entries)) = metadata.remove(section) {
                for (key, value) in entries {
                    target.insert(key, Expr::Value(Value::from_json(value)));
                }
            }
        }
        for (key, value) in metadata {
            obj.metadata_extra
                .insert(key, Expr::Value(Value::from_json(value)));
        }
        for (key, value) in map {
            obj.body.insert(key, Expr::Value(Value::from_json(value)));
        }
        Ok(Manifest {
            obj,
            explicit_namespace,
        })
    }

    /// Any `k8s-openapi` object (the typed escape hatch for kinds without a builder).
    pub fn from_typed<T>(object: &T) -> Result<Manifest, K8sError>
    where
        T: k8s_openapi::Resource + serde::Serialize,
    {
        let mut json =
            serde_json::to_value(object).map_err(|e| manifest_error(None, e.to_string()))?;
        if let Some(map) = json.as_object_mut() {
            map.insert("apiVersion".into(), T::API_VERSION.into());
            map.insert("kind".into(), T::KIND.into());
        }
        Manifest::from_json_doc(json, None)
    }

    /// An object from JSON (`apiVersion`, `kind`, `metadata.name` required).
    pub fn from_json(json: Json) -> Result<Manifest, K8sError> {
        Manifest::from_json_doc(json, None)
    }

    /// Every object of a YAML stream (documents separated by `---`; `kind: List` expanded;
    /// empty documents skipped).
    ///
    /// ```
    /// let yaml = "
    /// apiVersion: v1
    /// kind: Namespace
    /// metadata: {name: tools}
    /// ---
    /// apiVersion: v1
    /// kind: ConfigMap
    /// metadata: {name: settings, namespace: tools}
    /// data: {MODE: dev}
    /// ";
    /// let manifests = girder_k8s::dsl::Manifest::from_yaml(yaml).unwrap();
    /// assert_eq!(manifests.len(), 2);
    /// ```
    pub fn from_yaml(text: &str) -> Result<Vec<Manifest>, K8sError> {
        let mut out = Vec::new();
        for (i, document) in serde_yaml_ng::Deserializer::from_str(text).enumerate() {
            let doc = Some(i + 1);
            let json = Json::deserialize(document)
                .map_err(|e| manifest_error(doc, format!("not valid YAML: {e}")))?;
            match json {
                Json::Null => {}
                Json::Object(ref map) if map.get("kind").and_then(Json::as_str) == Some("List") => {
                    for item in map
                        .get("items")
                        .and_then(Json::as_array)
                        .cloned()
                        .unwrap_or_default()
                    {
                        out.push(Manifest::from_json_doc(item, doc)?);
                    }
                }
                other => out.push(Manifest::from_json_doc(other, doc)?),
            }
        }
        Ok(out)
    }

    /// The object's kind.
    pub fn kind(&self) -> &Kind {
        &self.obj.kind
    }

    /// The object's name.
    pub fn object_name(&self) -> &str {
        &self.obj.name
    }

    /// Places it in a namespace.
    pub fn namespace(mut self, namespace: impl IntoNamespace) -> Manifest {
        let (name, node) = namespace.into_namespace();
        self.obj.namespace = Some(name);
        self.obj.namespace_node = node;
        self.explicit_namespace = true;
        self
    }

    /// Sets a field to a value or an output (`"data.BACKEND_URL"`, `"spec.replicas"`): the
    /// way to wire typed outputs into raw manifests.
    pub fn set(mut self, path: &str, value: impl IntoExpr) -> Manifest {
        let parsed: Result<FieldPath, _> = path.parse();
        let result = match parsed {
            Ok(path) if path.top_level() == Some("metadata") => Err(
                "set metadata with `.label(..)`, `.annotation(..)` and `.namespace(..)`".to_owned(),
            ),
            Ok(path) => {
                let mut root = Expr::Object(std::mem::take(&mut self.obj.body));
                let result = set_expr(&mut root, path.segments(), value.into_expr());
                if let Expr::Object(body) = root {
                    self.obj.body = body;
                }
                result
            }
            Err(error) => Err(error.to_string()),
        };
        if let Err(problem) = result {
            self.obj.problems.push(
                Diagnostic::error(format!("cannot set `{path}`: {problem}"))
                    .field(path)
                    .fix(
                        "use a path such as `data.KEY` or `spec.template.spec.containers[0].image`",
                    ),
            );
        }
        self
    }

    /// Adds it to the stack.
    pub fn add(self, target: impl ClusterTarget, stack: &mut Stack) -> ObjectHandle {
        let provider = provider_node(&target, &self.obj.node_name(), stack);
        ObjectHandle::new(self.obj.add_object(provider, stack))
    }

    /// Adds a set of manifests in a working order: Namespaces first, then
    /// CustomResourceDefinitions, then everything else; each object depends on the Namespace
    /// and the CRD of the set it needs (so CRDs are applied before their custom resources and
    /// deleted after them). Custom resources without a namespace get `default` when their
    /// CRD in the set is namespaced.
    ///
    /// ```
    /// use girder_core::Stack;
    /// use girder_k8s::dsl::*;
    /// let yaml = r#"
    /// apiVersion: example.com/v1
    /// kind: Widget
    /// metadata: {name: w1}
    /// spec: {size: 3}
    /// ---
    /// apiVersion: apiextensions.k8s.io/v1
    /// kind: CustomResourceDefinition
    /// metadata: {name: widgets.example.com}
    /// spec:
    ///   group: example.com
    ///   scope: Namespaced
    ///   names: {kind: Widget, plural: widgets, singular: widget, listKind: WidgetList}
    ///   versions:
    ///   - name: v1
    ///     served: true
    ///     storage: true
    ///     schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
    /// "#;
    /// let mut s = Stack::new("dev");
    /// let handles = Manifest::add_all(Manifest::from_yaml(yaml).unwrap(), DefaultProvider, &mut s);
    /// let graph = s.finish().unwrap();
    /// let (crd, widget) = (&handles[0], &handles[1]);
    /// assert_eq!(crd.object_name(), "widgets.example.com");
    /// assert_eq!(graph.node(widget.node()).dependencies, vec![crd.node().index()]);
    /// ```
    pub fn add_all(
        manifests: Vec<Manifest>,
        target: impl ClusterTarget,
        stack: &mut Stack,
    ) -> Vec<ObjectHandle> {
        let rank = |m: &Manifest| match (m.obj.kind.group.as_str(), m.obj.kind.kind.as_str()) {
            ("", "Namespace") => 0,
            ("apiextensions.k8s.io", "CustomResourceDefinition") => 1,
            _ => 2,
        };
        let mut ordered = manifests;
        ordered.sort_by_key(rank);
        let mut namespaces: BTreeMap<String, NodeId> = BTreeMap::new();
        let mut crds: BTreeMap<(String, String), (NodeId, bool)> = BTreeMap::new();
        let mut handles = Vec::with_capacity(ordered.len());
        for mut manifest in ordered {
            let kind = manifest.obj.kind.clone();
            if let Some((node, namespaced)) = crds.get(&(kind.group.clone(), kind.kind.clone())) {
                manifest.obj.options.depends_on.push(*node);
                if *namespaced && manifest.obj.namespace.is_none() {
                    manifest.obj.namespace = Some("default".into());
                }
                if !*namespaced && !manifest.explicit_namespace {
                    manifest.obj.namespace = None;
                }
            }
            if let Some(node) = manifest
                .obj
                .namespace
                .as_ref()
                .and_then(|ns| namespaces.get(ns))
            {
                manifest.obj.options.depends_on.push(*node);
            }
            let crd_key = (kind.group == "apiextensions.k8s.io"
                && kind.kind == "CustomResourceDefinition")
                .then(|| {
                    let spec = manifest
                        .obj
                        .body
                        .get("spec")
                        .and_then(Expr::as_literal)
                        .unwrap_or_default();
                    let text = |path: &[&str]| {
                        path.iter()
                            .try_fold(&spec, |v, k| v.get(k))
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_owned()
                    };
                    (
                        (text(&["group"]), text(&["names", "kind"])),
                        text(&["scope"]) != "Cluster",
                    )
                });
            let handle = Manifest::add(manifest, &target, stack);
            if let Some((key, namespaced)) = crd_key {
                crds.insert(key, (handle.node(), namespaced));
            }
            if kind.group.is_empty() && kind.kind == "Namespace" {
                namespaces.insert(handle.object_name().to_owned(), handle.node());
            }
            handles.push(handle);
        }
        handles
    }
}
