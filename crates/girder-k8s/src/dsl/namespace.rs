//! Namespaces and the provider nodes objects are applied through.

use std::collections::BTreeMap;

use girder_core::{
    Dependable, Expr, IntoExpr, IntoInput, NodeId, Output, ProviderHandle, ResourceDecl, Stack,
    Value,
};

use super::object::{
    Added, ClusterTarget, IntoNamespace, ObjectDecl, object_builder, provider_node,
};
use crate::kinds::{Kind, PACKAGE, PROVIDER_TYPE};

/// The Pod Security Admission level a namespace enforces.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PodSecurity {
    /// The hardened profile (what girder's containers meet by default).
    #[default]
    Restricted,
    /// Known privilege escalations blocked.
    Baseline,
    /// No restrictions.
    Privileged,
}

impl PodSecurity {
    fn as_str(&self) -> &'static str {
        match self {
            PodSecurity::Restricted => "restricted",
            PodSecurity::Baseline => "baseline",
            PodSecurity::Privileged => "privileged",
        }
    }
}

/// A Namespace. It enforces the `restricted` Pod Security Standard unless told otherwise,
/// which the DSL's secure container defaults satisfy.
///
/// ```
/// use girder_core::Stack;
/// use girder_k8s::dsl::*;
/// let mut s = Stack::new("dev");
/// let apps = Namespace::new("apps").add(DefaultProvider, &mut s);
/// let config = ConfigMap::new("settings").namespace(&apps).data("MODE", "prod").add(DefaultProvider, &mut s);
/// let graph = s.finish().unwrap();
/// // The ConfigMap depends on its namespace: created after it, deleted before it.
/// assert_eq!(graph.node(config.node()).dependencies, vec![apps.node().index()]);
/// ```
#[derive(Clone, Debug)]
#[must_use = "a builder declares nothing until it is added to the stack with `.add(…)`"]
pub struct Namespace {
    obj: ObjectDecl,
    pod_security: PodSecurity,
}

object_builder!(Namespace);

impl Namespace {
    /// A Namespace called `name`.
    pub fn new(name: impl Into<String>) -> Namespace {
        Namespace {
            obj: ObjectDecl::new(Kind::new("", "v1", "Namespace"), name),
            pod_security: PodSecurity::Restricted,
        }
    }

    /// The Pod Security Standard its pods must meet (default `Restricted`).
    pub fn pod_security(mut self, level: PodSecurity) -> Namespace {
        self.pod_security = level;
        self
    }

    /// Adds it to the stack.
    pub fn add(mut self, target: impl ClusterTarget, stack: &mut Stack) -> NamespaceHandle {
        let provider = provider_node(&target, &self.obj.node_name(), stack);
        self.obj.label(
            "pod-security.kubernetes.io/enforce",
            self.pod_security.as_str(),
        );
        NamespaceHandle {
            added: self.obj.add_object(provider, stack),
        }
    }
}

/// A Namespace of the program; pass `&handle` to `.namespace(..)` of other builders.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NamespaceHandle {
    added: Added,
}

impl NamespaceHandle {
    /// The name, as an output.
    pub fn name(&self) -> Output<String> {
        self.added.name_output()
    }

    /// The name, known when the program is built.
    pub fn object_name(&self) -> &str {
        &self.added.name
    }

    /// The node.
    pub fn node(&self) -> NodeId {
        self.added.handle.node()
    }
}

impl IntoNamespace for &NamespaceHandle {
    fn into_namespace(self) -> (String, Option<NodeId>) {
        (self.added.name.clone(), Some(self.node()))
    }
}

impl Dependable for NamespaceHandle {
    fn node_ids(&self) -> Vec<NodeId> {
        vec![self.node()]
    }
}

/// A Kubernetes provider node: objects given its handle are applied to that cluster. It is a
/// graph node, so a provider configured from a cluster's outputs waits for the cluster.
///
/// `GIRDER_KUBECONFIG` (the CLI's `--kubeconfig`) overrides every provider's configuration.
///
/// ```
/// use girder_core::{Output, Stack};
/// use girder_k8s::dsl::*;
/// let mut s = Stack::new("dev");
/// let staging = Kubernetes::from_kubeconfig("/etc/girder/staging.yaml").context("staging").add(&mut s);
/// // A cluster the program creates (what `eks.kubernetes(s)` builds):
/// let endpoint: Output<String> = Output::known("https://ABC.gr7.eu-west-1.eks.amazonaws.com".into());
/// let ca: Output<String> = Output::known("LS0tLS1CRUdJTi...".into());
/// let prod = Kubernetes::cluster(&endpoint, &ca).eks_auth("yolo", "eu-west-1").named("prod-k8s").add(&mut s);
/// ConfigMap::new("settings").data("MODE", "staging").add(&staging, &mut s);
/// ConfigMap::new("settings").data("MODE", "prod").resource_name("prod-settings").add(&prod, &mut s);
/// assert!(s.finish().is_ok());
/// ```
#[derive(Clone, Debug)]
#[must_use = "a builder declares nothing until it is added to the stack with `.add(…)`"]
pub struct Kubernetes {
    name: String,
    inputs: BTreeMap<String, Expr>,
}

impl Kubernetes {
    fn with(inputs: BTreeMap<String, Expr>) -> Kubernetes {
        Kubernetes {
            name: "kubernetes".into(),
            inputs,
        }
    }

    /// The kubeconfig from `$KUBECONFIG` / `~/.kube/config` (like the default provider, but a
    /// node of its own, for example to pick another context).
    pub fn from_default_kubeconfig() -> Kubernetes {
        Kubernetes::with(BTreeMap::new())
    }

    /// The kubeconfig file at `path`.
    pub fn from_kubeconfig(path: impl Into<String>) -> Kubernetes {
        let mut inputs = BTreeMap::new();
        inputs.insert(
            "kubeconfig".to_owned(),
            Expr::Value(Value::String(path.into())),
        );
        Kubernetes::with(inputs)
    }

    /// A cluster by its API server URL and base64-encoded PEM CA certificates (typically a
    /// cluster's outputs); authenticate it with [`Kubernetes::eks_auth`],
    /// [`Kubernetes::auth`] or [`Kubernetes::token`].
    pub fn cluster(
        server: impl IntoInput<String>,
        certificate_authority_data: impl IntoInput<String>,
    ) -> Kubernetes {
        let mut inputs = BTreeMap::new();
        inputs.insert("server".to_owned(), server.into_input().into_expr());
        inputs.insert(
            "certificate_authority_data".to_owned(),
            certificate_authority_data.into_input().into_expr(),
        );
        Kubernetes::with(inputs)
    }

    /// The kubeconfig context to use instead of the current one.
    pub fn context(mut self, context: impl Into<String>) -> Kubernetes {
        self.inputs.insert(
            "context".to_owned(),
            Expr::Value(Value::String(context.into())),
        );
        self
    }

    /// Authenticates with bearer tokens from the token source registered for `auth.kind`.
    pub fn auth(mut self, auth: impl IntoExpr) -> Kubernetes {
        self.inputs.insert("auth".to_owned(), auth.into_expr());
        self
    }

    /// Authenticates to an EKS cluster with tokens from the `aws-eks` token source.
    pub fn eks_auth(
        self,
        cluster: impl IntoInput<String>,
        region: impl IntoInput<String>,
    ) -> Kubernetes {
        let mut auth = BTreeMap::new();
        auth.insert("kind".to_owned(), Expr::Value("aws-eks".into()));
        auth.insert("cluster".to_owned(), cluster.into_input().into_expr());
        auth.insert("region".to_owned(), region.into_input().into_expr());
        self.auth(Expr::Object(auth))
    }

    /// Authenticates with a static bearer token (kept secret).
    pub fn token(mut self, token: impl IntoInput<String>) -> Kubernetes {
        self.inputs.insert(
            "token".to_owned(),
            Expr::Secret(Box::new(token.into_input().into_expr())),
        );
        self
    }

    /// Names the provider node (default `kubernetes`).
    pub fn named(mut self, name: impl Into<String>) -> Kubernetes {
        self.name = name.into();
        self
    }

    /// Adds the provider node.
    pub fn add(self, stack: &mut Stack) -> ProviderHandle {
        let mut decl = ResourceDecl::provider_node(PROVIDER_TYPE, self.name);
        for (key, value) in self.inputs {
            decl.set_input(key, value);
        }
        ProviderHandle::new(decl.add(stack).node(), PACKAGE)
    }
}
