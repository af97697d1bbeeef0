//! The core every builder shares: an object's metadata, body and girder settings, where it
//! goes (which provider), and adding it to the stack with its build-time checks.

use std::collections::BTreeMap;

use girder_core::{
    Diagnostic, Expr, HasOptions, IntoInput, NodeId, Output, ProviderHandle, ResourceDecl,
    ResourceHandle, ResourceOptions, Stack, Value,
};

use crate::GIRDER_SETTINGS;
use crate::kinds::{Kind, PACKAGE};

/// Where an object is applied: the default provider (the kubeconfig) or a provider node.
///
/// Implemented by [`DefaultProvider`] and by [`ProviderHandle`] (from
/// [`Kubernetes::add`](crate::dsl::Kubernetes::add) or an EKS cluster's `kubernetes(s)`).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a Kubernetes cluster to add objects to",
    label = "expected `DefaultProvider` or a Kubernetes provider's `ProviderHandle`",
    note = "pass `DefaultProvider` (the kubeconfig), the handle `Kubernetes::from_kubeconfig(..).add(s)` returns, or an EKS cluster's provider: `let k8s = eks.kubernetes(s);` then `.add(&k8s, s)`"
)]
pub trait ClusterTarget {
    /// The provider node, or `None` for the package's default provider.
    fn provider_handle(&self) -> Option<&ProviderHandle>;
}

/// The package's default provider: the kubeconfig from `$KUBECONFIG` / `~/.kube/config`
/// (or `GIRDER_KUBECONFIG`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DefaultProvider;

impl ClusterTarget for DefaultProvider {
    fn provider_handle(&self) -> Option<&ProviderHandle> {
        None
    }
}

impl ClusterTarget for ProviderHandle {
    fn provider_handle(&self) -> Option<&ProviderHandle> {
        Some(self)
    }
}

impl<T: ClusterTarget + ?Sized> ClusterTarget for &T {
    fn provider_handle(&self) -> Option<&ProviderHandle> {
        (**self).provider_handle()
    }
}

/// The provider node of a target, reporting a handle of another package.
pub(crate) fn provider_node(
    target: &dyn ClusterTarget,
    resource: &str,
    stack: &mut Stack,
) -> Option<NodeId> {
    let handle = target.provider_handle()?;
    if handle.package() != PACKAGE {
        stack.report(
            Diagnostic::error(format!(
                "the `{}` provider cannot apply Kubernetes objects",
                handle.package()
            ))
            .resource(resource)
            .field("provider")
            .fix("pass a Kubernetes provider: `Kubernetes::from_kubeconfig(..).add(s)`, an EKS cluster's `.kubernetes(s)`, or `DefaultProvider`"),
        );
        return None;
    }
    Some(handle.node())
}

/// A namespace for an object: a name, or a [`NamespaceHandle`](crate::dsl::NamespaceHandle)
/// (which also orders the object after its namespace).
///
/// Namespaces are known when the program is built, so an output known only after apply (an
/// AWS id, a Service's host) cannot place an object, and the compiler says so in these words.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot name a Kubernetes namespace",
    label = "expected a namespace name or a `&NamespaceHandle`, not `{Self}`",
    note = "pass the namespace's name (`\"apps\"`, a `String`) or the handle of a `Namespace` the program adds (`&apps`), which also orders the object after its namespace",
    note = "a namespace is known when the program is built; outputs known only after apply cannot place objects"
)]
pub trait IntoNamespace {
    /// The namespace's name and, for a namespace of the program, its node.
    fn into_namespace(self) -> (String, Option<NodeId>);
}

impl IntoNamespace for &str {
    fn into_namespace(self) -> (String, Option<NodeId>) {
        (self.to_owned(), None)
    }
}

impl IntoNamespace for String {
    fn into_namespace(self) -> (String, Option<NodeId>) {
        (self, None)
    }
}

impl IntoNamespace for &String {
    fn into_namespace(self) -> (String, Option<NodeId>) {
        (self.clone(), None)
    }
}

/// An object under construction.
#[derive(Clone, Debug)]
pub(crate) struct ObjectDecl {
    pub kind: Kind,
    pub name: String,
    pub namespace: Option<String>,
    /// The namespace's node, when the namespace is declared by the program.
    pub namespace_node: Option<NodeId>,
    pub labels: BTreeMap<String, Expr>,
    pub annotations: BTreeMap<String, Expr>,
    /// Other metadata fields of raw manifests (finalizers, owner references).
    pub metadata_extra: BTreeMap<String, Expr>,
    pub body: BTreeMap<String, Expr>,
    pub settings: BTreeMap<String, Expr>,
    pub options: ResourceOptions,
    pub resource_name: Option<String>,
    /// Problems found while building, reported when the object is added.
    pub problems: Vec<Diagnostic>,
}

impl ObjectDecl {
    pub fn new(kind: Kind, name: impl Into<String>) -> ObjectDecl {
        let namespace = kind.is_namespaced().then(|| "default".to_owned());
        ObjectDecl {
            kind,
            name: name.into(),
            namespace,
            namespace_node: None,
            labels: BTreeMap::new(),
            annotations: BTreeMap::new(),
            metadata_extra: BTreeMap::new(),
            body: BTreeMap::new(),
            settings: BTreeMap::new(),
            options: ResourceOptions::default(),
            resource_name: None,
            problems: Vec::new(),
        }
    }

    pub fn set_namespace(&mut self, namespace: impl IntoNamespace) {
        let (name, node) = namespace.into_namespace();
        if self.kind.is_namespaced() {
            self.namespace = Some(name);
            self.namespace_node = node;
        } else {
            self.problems.push(
                Diagnostic::error(format!(
                    "a {} is cluster-scoped and has no namespace",
                    self.kind.kind
                ))
                .field("metadata.namespace")
                .value(name)
                .fix("remove `.namespace(..)`"),
            );
        }
    }

    pub fn label(&mut self, key: impl Into<String>, value: impl Into<String>) {
        self.labels
            .insert(key.into(), Expr::Value(Value::String(value.into())));
    }

    pub fn annotation(&mut self, key: impl Into<String>, value: impl IntoInput<String>) {
        self.annotations
            .insert(key.into(), value.into_input().into_expr());
    }

    pub fn setting(&mut self, key: &str, value: bool) {
        self.settings
            .insert(key.to_owned(), Expr::Value(Value::Bool(value)));
    }

    /// The graph node's name: `deployment/default/backend`, or `clusterrole/view-pods`.
    pub fn node_name(&self) -> String {
        self.resource_name
            .clone()
            .unwrap_or_else(|| match &self.namespace {
                Some(namespace) => format!("{}/{namespace}/{}", self.kind.short(), self.name),
                None => format!("{}/{}", self.kind.short(), self.name),
            })
    }

    /// The node's inputs: the manifest plus girder's settings.
    pub fn inputs(&self) -> Expr {
        let mut metadata = self.metadata_extra.clone();
        metadata.insert(
            "name".to_owned(),
            Expr::Value(Value::String(self.name.clone())),
        );
        if let Some(namespace) = &self.namespace {
            let expr = match self.namespace_node {
                // A namespace of the program: read its name from its outputs, so the object
                // is created after the namespace and deleted before it.
                Some(node) => {
                    Output::<String>::from_ref(node, "metadata.name".parse().expect("valid path"))
                        .into_expr()
                }
                None => Expr::Value(Value::String(namespace.clone())),
            };
            metadata.insert("namespace".to_owned(), expr);
        }
        if !self.labels.is_empty() {
            metadata.insert("labels".to_owned(), Expr::Object(self.labels.clone()));
        }
        if !self.annotations.is_empty() {
            metadata.insert(
                "annotations".to_owned(),
                Expr::Object(self.annotations.clone()),
            );
        }
        let mut inputs = self.body.clone();
        inputs.insert(
            "apiVersion".to_owned(),
            Expr::Value(Value::String(self.kind.api_version())),
        );
        inputs.insert(
            "kind".to_owned(),
            Expr::Value(Value::String(self.kind.kind.clone())),
        );
        inputs.insert("metadata".to_owned(), Expr::Object(metadata));
        if !self.settings.is_empty() {
            inputs.insert(
                GIRDER_SETTINGS.to_owned(),
                Expr::Object(self.settings.clone()),
            );
        }
        Expr::Object(inputs)
    }

    /// Adds the object: reports the builder's problems and the object's own checks (on the
    /// values known now), and returns its handle.
    pub fn add(self, provider: Option<NodeId>, stack: &mut Stack) -> ResourceHandle {
        let resource = self.node_name();
        let inputs = self.inputs();
        for problem in &self.problems {
            stack.report(problem.clone().resource(resource.clone()));
        }
        let known = inputs.resolve(&|_| None).unwrap_or(Value::Unknown);
        for diagnostic in crate::check::check_object(&self.kind.type_token(), &resource, &known) {
            stack.report(diagnostic);
        }
        let mut options = self.options;
        if let Some(node) = self.namespace_node {
            options.depends_on.push(node);
        }
        let mut decl = ResourceDecl::new(self.kind.type_token(), resource).options(options);
        if let Expr::Object(fields) = inputs {
            for (key, value) in fields {
                decl.set_input(key, value);
            }
        }
        if let Some(provider) = provider {
            decl = decl.provider(provider);
        }
        decl.add(stack)
    }
}

impl ObjectDecl {
    /// Adds the object and returns what its handle needs.
    pub fn add_object(self, provider: Option<NodeId>, stack: &mut Stack) -> Added {
        let name = self.name.clone();
        let namespace = self.namespace.clone();
        let handle = self.add(provider, stack);
        Added {
            handle,
            name,
            namespace,
            provider,
        }
    }
}

impl HasOptions for ObjectDecl {
    fn options_mut(&mut self) -> &mut ResourceOptions {
        &mut self.options
    }
}

/// Implements the shared builder methods on a builder with an `obj: ObjectDecl` field.
macro_rules! object_builder {
    ($builder:ty) => {
        impl $builder {
            /// Adds a label to the object's metadata.
            pub fn label(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
                self.obj.label(key, value);
                self
            }

            /// Adds an annotation to the object's metadata (the value may be an output).
            pub fn annotation(
                mut self,
                key: impl Into<String>,
                value: impl girder_core::IntoInput<String>,
            ) -> Self {
                self.obj.annotation(key, value);
                self
            }

            /// Takes over fields other field managers own when applying (server-side apply
            /// with `force`); without it such conflicts fail the apply and name the manager.
            pub fn force_conflicts(mut self) -> Self {
                self.obj.setting("forceConflicts", true);
                self
            }

            /// Names the graph node (the resource's address in plans and state) instead of
            /// `kind/namespace/name`.
            pub fn resource_name(mut self, name: impl Into<String>) -> Self {
                self.obj.resource_name = Some(name.into());
                self
            }
        }

        impl girder_core::HasOptions for $builder {
            fn options_mut(&mut self) -> &mut girder_core::ResourceOptions {
                &mut self.obj.options
            }
        }
    };
}

/// Implements `namespace(..)` on a builder of a namespaced kind.
macro_rules! namespaced_builder {
    ($builder:ty) => {
        impl $builder {
            /// The namespace (`default` unless set): a name or a
            /// [`NamespaceHandle`](crate::dsl::NamespaceHandle).
            pub fn namespace(mut self, namespace: impl $crate::dsl::IntoNamespace) -> Self {
                self.obj.set_namespace(namespace);
                self
            }
        }
    };
}

pub(crate) use {namespaced_builder, object_builder};

/// What every handle of an added object knows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Added {
    pub handle: ResourceHandle,
    pub name: String,
    pub namespace: Option<String>,
    pub provider: Option<NodeId>,
}

impl Added {
    /// The object's name as an output (known when planning; depends on the object).
    pub fn name_output(&self) -> Output<String> {
        self.handle.output("metadata.name")
    }
}

/// The handle of an object of the program that others rarely reference (bindings, budgets,
/// policies, raw manifests): its node and outputs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectHandle {
    added: Added,
}

impl ObjectHandle {
    pub(crate) fn new(added: Added) -> ObjectHandle {
        ObjectHandle { added }
    }

    /// The object's name.
    pub fn object_name(&self) -> &str {
        &self.added.name
    }

    /// The namespace, for namespaced objects.
    pub fn namespace(&self) -> Option<&str> {
        self.added.namespace.as_deref()
    }

    /// The name, as an output (an edge to the object).
    pub fn name(&self) -> Output<String> {
        self.added.name_output()
    }

    /// Any output field (the manifest's fields, `uid`).
    pub fn output<T>(&self, path: &str) -> Output<T> {
        self.added.handle.output(path)
    }

    /// The node.
    pub fn node(&self) -> NodeId {
        self.added.handle.node()
    }
}

impl girder_core::Dependable for ObjectHandle {
    fn node_ids(&self) -> Vec<NodeId> {
        vec![self.node()]
    }
}
