//! Declaring resources: [`ResourceDecl`] (what a DSL builder hands to the [`Stack`]),
//! [`ResourceOptions`] (protect, ignore_changes, …) and [`ResourceHandle`] (what it gets back).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::expr::Expr;
use crate::graph::NodeId;
use crate::output::Output;
use crate::path::FieldPath;
use crate::stack::Stack;

/// What kind of node a declaration is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeKind {
    /// A resource girder creates, updates and deletes.
    Resource,
    /// A provider configured from its inputs (which may be other resources' outputs, such as
    /// a Kubernetes provider built from an EKS cluster's endpoint).
    Provider,
    /// An existing resource girder only reads, every plan (the `id` input says which).
    Read,
}

/// Per-operation time limits for one resource; unset ones use the provider's defaults.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timeouts {
    /// Limit for create (including waiting until ready).
    #[serde(default, with = "millis_opt", skip_serializing_if = "Option::is_none")]
    pub create: Option<Duration>,
    /// Limit for update.
    #[serde(default, with = "millis_opt", skip_serializing_if = "Option::is_none")]
    pub update: Option<Duration>,
    /// Limit for delete (including waiting until gone).
    #[serde(default, with = "millis_opt", skip_serializing_if = "Option::is_none")]
    pub delete: Option<Duration>,
}

mod millis_opt {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match value {
            Some(d) => s.serialize_u64(d.as_millis() as u64),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        Ok(Option::<u64>::deserialize(d)?.map(Duration::from_millis))
    }
}

/// How the engine treats one resource beyond its inputs (Pulumi's resource options).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ResourceOptions {
    /// Hidden dependencies: resources that must exist first although no data flows from them.
    pub depends_on: Vec<NodeId>,
    /// Refuse to delete or replace this resource.
    pub protect: bool,
    /// Input fields whose changes are ignored after creation (written as field paths).
    pub ignore_changes: Vec<String>,
    /// Input fields whose changes force a replacement, beyond the provider's own list.
    pub replace_on_changes: Vec<String>,
    /// Delete the old resource before creating its replacement (create-before-destroy is the
    /// default).
    pub delete_before_replace: bool,
    /// Forget the resource instead of deleting it when it leaves the program.
    pub retain_on_delete: bool,
    /// Time limits per operation.
    pub timeouts: Timeouts,
    /// Adopt this existing cloud id instead of creating the resource.
    pub import_id: Option<String>,
}

impl ResourceOptions {
    /// The ignore_changes paths, parsed; unparsable ones are reported by the stack.
    pub fn ignore_paths(&self) -> Vec<FieldPath> {
        self.ignore_changes
            .iter()
            .filter_map(|p| p.parse().ok())
            .collect()
    }

    /// The replace_on_changes paths, parsed.
    pub fn replace_paths(&self) -> Vec<FieldPath> {
        self.replace_on_changes
            .iter()
            .filter_map(|p| p.parse().ok())
            .collect()
    }
}

/// Anything that stands for one or more graph nodes: a handle, an output, a list of them.
pub trait Dependable {
    /// The nodes.
    fn node_ids(&self) -> Vec<NodeId>;
}

impl Dependable for NodeId {
    fn node_ids(&self) -> Vec<NodeId> {
        vec![*self]
    }
}

impl<T> Dependable for Output<T> {
    fn node_ids(&self) -> Vec<NodeId> {
        self.dependencies()
    }
}

impl<D: Dependable> Dependable for &D {
    fn node_ids(&self) -> Vec<NodeId> {
        (*self).node_ids()
    }
}

impl<D: Dependable> Dependable for [D] {
    fn node_ids(&self) -> Vec<NodeId> {
        self.iter().flat_map(Dependable::node_ids).collect()
    }
}

impl<D: Dependable> Dependable for Vec<D> {
    fn node_ids(&self) -> Vec<NodeId> {
        self.as_slice().node_ids()
    }
}

/// Builders that carry [`ResourceOptions`]; gives them the option methods of
/// [`WithOptions`].
pub trait HasOptions {
    /// The builder's options.
    fn options_mut(&mut self) -> &mut ResourceOptions;
}

/// The resource options as builder methods, for every builder that [`HasOptions`].
///
/// ```
/// use girder_core::{ResourceDecl, Stack, WithOptions};
/// let mut s = Stack::new("dev");
/// let db = ResourceDecl::new("sim:resource", "db").protect().add(&mut s);
/// let app = ResourceDecl::new("sim:resource", "app")
///     .depends_on(&db)
///     .ignore_changes(["tags"])
///     .add(&mut s);
/// assert!(s.finish().is_ok());
/// # let _ = app;
/// ```
pub trait WithOptions: HasOptions + Sized {
    /// Refuses to delete or replace the resource until the option is removed.
    fn protect(mut self) -> Self {
        self.options_mut().protect = true;
        self
    }

    /// Adds hidden dependencies: these resources are created first and deleted last.
    fn depends_on(mut self, on: impl Dependable) -> Self {
        self.options_mut().depends_on.extend(on.node_ids());
        self
    }

    /// Ignores changes to these input fields after creation (paths like `tags.Owner`).
    fn ignore_changes<I, P>(mut self, paths: I) -> Self
    where
        I: IntoIterator<Item = P>,
        P: Into<String>,
    {
        self.options_mut()
            .ignore_changes
            .extend(paths.into_iter().map(Into::into));
        self
    }

    /// Replaces the resource when these input fields change.
    fn replace_on_changes<I, P>(mut self, paths: I) -> Self
    where
        I: IntoIterator<Item = P>,
        P: Into<String>,
    {
        self.options_mut()
            .replace_on_changes
            .extend(paths.into_iter().map(Into::into));
        self
    }

    /// Deletes the old resource before creating its replacement (for resources whose names
    /// must be unique, for example).
    fn delete_before_replace(mut self) -> Self {
        self.options_mut().delete_before_replace = true;
        self
    }

    /// Leaves the cloud resource in place when it is removed from the program.
    fn retain_on_delete(mut self) -> Self {
        self.options_mut().retain_on_delete = true;
        self
    }

    /// Sets the time limits for create, update and delete.
    fn timeouts(mut self, timeouts: Timeouts) -> Self {
        self.options_mut().timeouts = timeouts;
        self
    }

    /// Adopts an existing cloud resource with this id instead of creating one.
    fn import(mut self, cloud_id: impl Into<String>) -> Self {
        self.options_mut().import_id = Some(cloud_id.into());
        self
    }
}

impl<B: HasOptions> WithOptions for B {}

/// One node of the program, as the stack records it.
#[derive(Clone, Debug)]
pub struct NodeSpec {
    /// The stack-unique name (the resource's address in state and on the command line).
    pub name: String,
    /// The type token, `package:module/kind` (for example `aws:ec2/vpc`).
    pub type_name: String,
    /// Resource, provider or read.
    pub kind: NodeKind,
    /// The provider node to use; `None` means the package's default provider.
    pub provider: Option<NodeId>,
    /// The inputs: an object expression.
    pub inputs: Expr,
    /// Engine behaviour.
    pub options: ResourceOptions,
}

impl NodeSpec {
    /// The package part of the type token (`aws` for `aws:ec2/vpc`).
    pub fn package(&self) -> &str {
        package_of(&self.type_name)
    }
}

/// The package part of a type token (`aws` for `aws:ec2/vpc`).
pub fn package_of(type_name: &str) -> &str {
    type_name.split(':').next().unwrap_or(type_name)
}

/// A declaration of one resource, built by a DSL builder and added to a [`Stack`].
///
/// ```
/// use girder_core::{ResourceDecl, Stack, Output};
/// let mut s = Stack::new("dev");
/// let a = ResourceDecl::new("sim:resource", "a").input("size", 3).add(&mut s);
/// let a_id: Output<String> = a.output("id");
/// let b = ResourceDecl::new("sim:resource", "b").input("parent", &a_id).add(&mut s);
/// let graph = s.finish().unwrap();
/// assert_eq!(graph.node(b.node()).dependencies, vec![a.node().index()]);
/// ```
#[derive(Clone, Debug)]
#[must_use = "a builder declares nothing until it is added to the stack with `.add(…)`"]
pub struct ResourceDecl {
    spec: NodeSpec,
}

impl ResourceDecl {
    /// A resource of `type_name` called `name`, with no inputs yet.
    pub fn new(type_name: impl Into<String>, name: impl Into<String>) -> ResourceDecl {
        ResourceDecl {
            spec: NodeSpec {
                name: name.into(),
                type_name: type_name.into(),
                kind: NodeKind::Resource,
                provider: None,
                inputs: Expr::object(),
                options: ResourceOptions::default(),
            },
        }
    }

    /// A provider node of `type_name` (by convention `package:provider`) called `name`.
    pub fn provider_node(type_name: impl Into<String>, name: impl Into<String>) -> ResourceDecl {
        let mut decl = ResourceDecl::new(type_name, name);
        decl.spec.kind = NodeKind::Provider;
        decl
    }

    /// A read-only node: the existing resource whose id is `id` is read on every plan.
    pub fn read(
        type_name: impl Into<String>,
        name: impl Into<String>,
        id: impl Into<Expr>,
    ) -> ResourceDecl {
        let mut decl = ResourceDecl::new(type_name, name);
        decl.spec.kind = NodeKind::Read;
        decl.spec.inputs.insert("id", id.into());
        decl
    }

    /// Sets an input field (a literal, an output, an input or an expression).
    pub fn input(mut self, key: impl Into<String>, value: impl IntoExpr) -> ResourceDecl {
        self.spec.inputs.insert(key, value.into_expr());
        self
    }

    /// Sets an input field in place.
    pub fn set_input(&mut self, key: impl Into<String>, value: impl IntoExpr) {
        self.spec.inputs.insert(key, value.into_expr());
    }

    /// Uses an explicit provider node instead of the package's default provider.
    pub fn provider(mut self, provider: NodeId) -> ResourceDecl {
        self.spec.provider = Some(provider);
        self
    }

    /// Replaces the options.
    pub fn options(mut self, options: ResourceOptions) -> ResourceDecl {
        self.spec.options = options;
        self
    }

    /// The name.
    pub fn name(&self) -> &str {
        &self.spec.name
    }

    /// Adds the declaration to the stack and returns its handle.
    pub fn add(self, stack: &mut Stack) -> ResourceHandle {
        ResourceHandle {
            node: stack.add_node(self.spec),
        }
    }

    /// The declaration's spec.
    pub fn into_spec(self) -> NodeSpec {
        self.spec
    }
}

impl HasOptions for ResourceDecl {
    fn options_mut(&mut self) -> &mut ResourceOptions {
        &mut self.spec.options
    }
}

/// Values a [`ResourceDecl::input`] accepts.
pub trait IntoExpr {
    /// Converts into an expression.
    fn into_expr(self) -> Expr;
}

impl IntoExpr for Expr {
    fn into_expr(self) -> Expr {
        self
    }
}

impl<T> IntoExpr for Output<T> {
    fn into_expr(self) -> Expr {
        Output::into_expr(self)
    }
}

impl<T> IntoExpr for &Output<T> {
    fn into_expr(self) -> Expr {
        self.expr().clone()
    }
}

impl<T> IntoExpr for crate::Input<T> {
    fn into_expr(self) -> Expr {
        crate::Input::into_expr(self)
    }
}

macro_rules! into_expr_via_value {
    ($($t:ty),*) => {$(
        impl IntoExpr for $t {
            fn into_expr(self) -> Expr {
                Expr::Value(crate::Value::from(self))
            }
        }
    )*};
}
into_expr_via_value!(
    &str,
    String,
    bool,
    i32,
    i64,
    u16,
    u32,
    u64,
    crate::Value,
    serde_json::Value
);

/// The handle of a provider node: resources given it use that provider instead of their
/// package's default one. Providers are graph nodes, so a provider configured from another
/// resource's outputs (a Kubernetes provider from an EKS cluster) waits for that resource.
///
/// ```
/// use girder_core::{ProviderHandle, ResourceDecl, Stack};
/// let mut s = Stack::new("dev");
/// let node = ResourceDecl::provider_node("k8s:provider", "cluster")
///     .input("server", "https://example.invalid")
///     .add(&mut s)
///     .node();
/// let provider = ProviderHandle::new(node, "k8s");
/// let app = ResourceDecl::new("k8s:apps/v1:Deployment", "web").provider(provider.node()).add(&mut s);
/// assert_eq!(s.finish().unwrap().node(app.node()).dependencies, vec![node.index()]);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ProviderHandle {
    node: NodeId,
    package: String,
}

impl ProviderHandle {
    /// A handle for the provider node `node` of `package`.
    pub fn new(node: NodeId, package: impl Into<String>) -> ProviderHandle {
        ProviderHandle {
            node,
            package: package.into(),
        }
    }

    /// The provider node.
    pub fn node(&self) -> NodeId {
        self.node
    }

    /// The package it configures (`k8s`, `aws`).
    pub fn package(&self) -> &str {
        &self.package
    }
}

impl Dependable for ProviderHandle {
    fn node_ids(&self) -> Vec<NodeId> {
        vec![self.node]
    }
}

/// The handle of a node in the stack: reads its outputs as typed [`Output`]s.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ResourceHandle {
    node: NodeId,
}

impl ResourceHandle {
    /// A handle for a node id.
    pub fn from_node(node: NodeId) -> ResourceHandle {
        ResourceHandle { node }
    }

    /// The node id.
    pub fn node(&self) -> NodeId {
        self.node
    }

    /// The output field at `path` (`id`, `arn`, `status.endpoint`, …), typed as `T`.
    ///
    /// An invalid path reads as an absent field (`null`); DSL authors use fixed paths.
    pub fn output<T>(&self, path: &str) -> Output<T> {
        let path = path.parse().unwrap_or_else(|_| FieldPath::key(path));
        Output::from_ref(self.node, path)
    }
}

impl Dependable for ResourceHandle {
    fn node_ids(&self) -> Vec<NodeId> {
        vec![self.node]
    }
}
