//! Rendering: every Kubernetes object of a program as YAML, one document per object, for
//! review, `kubectl apply -f` and GitOps.
//!
//! Objects come in dependency order (namespaces and CRDs first) and file names start with
//! that position, so `kubectl apply -f DIR` applies them in a working order. Values girder
//! only learns when applying (outputs of other providers' resources) are rendered as
//! [`UNKNOWN_PLACEHOLDER`]; secret values are masked unless
//! [`RenderOptions::reveal_secrets`] is set.

use girder_core::{Graph, Value};
use serde_json::Value as Json;

use crate::check::{self, ObjectView, ProgramObject, program_objects, program_objects_with};
use crate::error::K8sError;
use crate::{MANAGED_BY_LABEL, RESOURCE_ANNOTATION, STACK_ANNOTATION};

/// What an unknown value is rendered as.
pub const UNKNOWN_PLACEHOLDER: &str = "(known after apply)";

/// What a masked secret value is rendered as.
pub const SECRET_PLACEHOLDER: &str = "(secret: render with secrets revealed to see it)";

/// How to render.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RenderOptions {
    /// Write secret values in clear text (for piping into `kubectl apply`); masked otherwise.
    pub reveal_secrets: bool,
    /// Refuse to render a program whose wiring check finds errors.
    pub check: bool,
}

impl Default for RenderOptions {
    fn default() -> Self {
        RenderOptions {
            reveal_secrets: false,
            check: true,
        }
    }
}

/// One rendered object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RenderedManifest {
    /// A file name that sorts in apply order: `003-deployment-default-backend.yaml`.
    pub file_name: String,
    /// The YAML document.
    pub yaml: String,
    /// The graph node it comes from.
    pub resource: String,
    /// `Deployment default/backend`.
    pub object: String,
}

fn to_json(value: &Value, reveal: bool) -> Json {
    match value {
        Value::Unknown => Json::String(UNKNOWN_PLACEHOLDER.into()),
        Value::Secret(inner) if reveal => to_json(inner, reveal),
        Value::Secret(_) => Json::String(SECRET_PLACEHOLDER.into()),
        Value::Array(items) => Json::Array(items.iter().map(|v| to_json(v, reveal)).collect()),
        Value::Object(map) => Json::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), to_json(v, reveal)))
                .collect(),
        ),
        other => other.to_json(),
    }
}

/// Renders with the default options (secrets masked, wiring checked).
///
/// ```
/// use girder_core::Stack;
/// use girder_k8s::dsl::*;
/// let mut s = Stack::new("dev");
/// ConfigMap::new("settings").data("LOG_LEVEL", "info").add(DefaultProvider, &mut s);
/// let rendered = girder_k8s::render(&s.finish().unwrap()).unwrap();
/// assert_eq!(rendered[0].file_name, "001-configmap-default-settings.yaml");
/// assert!(rendered[0].yaml.contains("LOG_LEVEL: info"));
/// ```
pub fn render(graph: &Graph) -> Result<Vec<RenderedManifest>, K8sError> {
    render_with(graph, &RenderOptions::default())
}

/// Renders every Kubernetes object of `graph`.
pub fn render_with(
    graph: &Graph,
    options: &RenderOptions,
) -> Result<Vec<RenderedManifest>, K8sError> {
    render_objects(graph, program_objects(graph), options)
}

/// Renders every Kubernetes object of `graph` exactly as an apply would send it, for
/// `kubectl apply` and GitOps: values from other resources are taken from their recorded
/// outputs (`recorded(name)`, from the stack's state), and an object that would still need a
/// placeholder — a value known only after apply, or a secret while `reveal_secrets` is off —
/// is refused, naming every such field and the fix, rather than written with a placeholder
/// that `kubectl apply` would take literally.
///
/// ```
/// use girder_core::{Output, Stack};
/// use girder_k8s::dsl::*;
/// use girder_k8s::{RenderOptions, render_applicable};
/// let mut s = Stack::new("dev");
/// let password = Output::known_secret("hunter2".to_owned());
/// Secret::new("db").string_data("PASSWORD", &password).add(DefaultProvider, &mut s);
/// let graph = s.finish().unwrap();
/// let masked = render_applicable(&graph, &RenderOptions::default(), &|_| None);
/// assert!(masked.unwrap_err().to_string().contains("stringData.PASSWORD is secret"));
/// let revealed = RenderOptions { reveal_secrets: true, ..RenderOptions::default() };
/// assert_eq!(render_applicable(&graph, &revealed, &|_| None).unwrap().len(), 1);
/// ```
pub fn render_applicable(
    graph: &Graph,
    options: &RenderOptions,
    recorded: &dyn Fn(&str) -> Option<Value>,
) -> Result<Vec<RenderedManifest>, K8sError> {
    let objects = program_objects_with(graph, recorded);
    for object in &objects {
        let mut fields = Vec::new();
        placeholders(
            &object.manifest,
            String::new(),
            options.reveal_secrets,
            &mut fields,
        );
        if !fields.is_empty() {
            return Err(K8sError::Placeholders {
                object: object.view().describe(),
                fields,
            });
        }
    }
    render_objects(graph, objects, options)
}

/// The fields of `value` (under `at`) that would be rendered as a placeholder, with the fix.
fn placeholders(value: &Value, at: String, reveal: bool, found: &mut Vec<String>) {
    match value {
        Value::Unknown => found.push(format!(
            "{at} is known only after apply (it comes from another resource's outputs): apply first, so the state records it, then render"
        )),
        Value::Secret(inner) if reveal => placeholders(inner, at, reveal, found),
        Value::Secret(_) => found.push(format!(
            "{at} is secret: pass --show-secrets to write it (and keep the files out of version control)"
        )),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                placeholders(item, format!("{at}[{i}]"), reveal, found);
            }
        }
        Value::Object(map) => {
            for (key, item) in map {
                let path = if at.is_empty() { key.clone() } else { format!("{at}.{key}") };
                placeholders(item, path, reveal, found);
            }
        }
        _ => {}
    }
}

fn render_objects(
    graph: &Graph,
    objects: Vec<ProgramObject>,
    options: &RenderOptions,
) -> Result<Vec<RenderedManifest>, K8sError> {
    if options.check {
        let mut diagnostics = check::check(graph);
        for object in &objects {
            diagnostics.extend(check::check_object(
                &object.kind.type_token(),
                &object.resource,
                &object.inputs,
            ));
        }
        if diagnostics.has_errors() {
            return Err(K8sError::Wiring(diagnostics));
        }
    }
    objects
        .iter()
        .enumerate()
        .map(|(index, object)| {
            let view: ObjectView<'_> = object.view();
            let mut json = to_json(&object.manifest, options.reveal_secrets);
            if let Some(map) = json.as_object_mut() {
                map.insert("apiVersion".into(), object.kind.api_version().into());
                map.insert("kind".into(), object.kind.kind.clone().into());
                let metadata = map
                    .entry("metadata")
                    .or_insert_with(|| Json::Object(Default::default()));
                if let Some(metadata) = metadata.as_object_mut() {
                    if let Some(namespace) = view.namespace() {
                        metadata
                            .entry("namespace")
                            .or_insert_with(|| namespace.into());
                    }
                    if let Some(labels) = metadata
                        .entry("labels")
                        .or_insert_with(|| Json::Object(Default::default()))
                        .as_object_mut()
                    {
                        labels.insert(MANAGED_BY_LABEL.0.into(), MANAGED_BY_LABEL.1.into());
                    }
                    if let Some(annotations) = metadata
                        .entry("annotations")
                        .or_insert_with(|| Json::Object(Default::default()))
                        .as_object_mut()
                    {
                        annotations.insert(STACK_ANNOTATION.into(), graph.stack().into());
                        annotations
                            .insert(RESOURCE_ANNOTATION.into(), object.resource.clone().into());
                    }
                }
            }
            let described = view.describe();
            let yaml = serde_yaml_ng::to_string(&json).map_err(|e| K8sError::Yaml {
                object: described.clone(),
                message: e.to_string(),
            })?;
            let name = view.name().unwrap_or("unnamed");
            let file_name = match view.namespace() {
                Some(namespace) => format!(
                    "{:03}-{}-{namespace}-{name}.yaml",
                    index + 1,
                    object.kind.short()
                ),
                None => format!("{:03}-{}-{name}.yaml", index + 1, object.kind.short()),
            };
            Ok(RenderedManifest {
                file_name: file_name.replace([':', '/'], "_"),
                yaml,
                resource: object.resource.clone(),
                object: described,
            })
        })
        .collect()
}
