//! ServiceAccounts (with IRSA), Roles, ClusterRoles and their bindings.

use girder_core::{Dependable, Diagnostic, Expr, IntoInput, NodeId, Output, Stack, Value};

use super::object::{
    Added, ClusterTarget, ObjectDecl, ObjectHandle, namespaced_builder, object_builder,
    provider_node,
};
use crate::kinds::Kind;

/// The annotation EKS reads to give a ServiceAccount's pods an IAM role (IRSA).
pub const IRSA_ANNOTATION: &str = "eks.amazonaws.com/role-arn";

/// A ServiceAccount: an identity for pods, optionally with an IAM role through IRSA.
///
/// ```
/// use girder_core::{Output, Stack};
/// use girder_k8s::dsl::*;
/// let mut s = Stack::new("dev");
/// // In a full program the ARN is an AWS role's output, such as `role.arn()`.
/// let role_arn: Output<String> = Output::known("arn:aws:iam::123456789012:role/external-dns".into());
/// let account = ServiceAccount::new("external-dns")
///     .irsa_role_arn(&role_arn)
///     .add(DefaultProvider, &mut s);
/// assert_eq!(account.object_name(), "external-dns");
/// ```
#[derive(Clone, Debug)]
#[must_use = "a builder declares nothing until it is added to the stack with `.add(…)`"]
pub struct ServiceAccount {
    obj: ObjectDecl,
}

object_builder!(ServiceAccount);
namespaced_builder!(ServiceAccount);

impl ServiceAccount {
    /// A ServiceAccount called `name`.
    pub fn new(name: impl Into<String>) -> ServiceAccount {
        ServiceAccount {
            obj: ObjectDecl::new(Kind::new("", "v1", "ServiceAccount"), name),
        }
    }

    /// The IAM role its pods assume (IRSA): the role's ARN, usually an AWS role output. The
    /// role's trust policy should be scoped to this one ServiceAccount. A typed
    /// `Output<RoleArn>` converts with `role.arn().map(|arn| arn.to_string())`.
    pub fn irsa_role_arn(self, arn: impl IntoInput<String>) -> ServiceAccount {
        self.annotation(IRSA_ANNOTATION, arn)
    }

    /// Adds it to the stack.
    pub fn add(self, target: impl ClusterTarget, stack: &mut Stack) -> ServiceAccountHandle {
        let provider = provider_node(&target, &self.obj.node_name(), stack);
        ServiceAccountHandle {
            added: self.obj.add_object(provider, stack),
        }
    }
}

/// A ServiceAccount of the program.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceAccountHandle {
    added: Added,
}

impl ServiceAccountHandle {
    /// The name, as an output (an edge to the account).
    pub fn name(&self) -> Output<String> {
        self.added.name_output()
    }

    /// The name, known when the program is built.
    pub fn object_name(&self) -> &str {
        &self.added.name
    }

    /// The namespace.
    pub fn namespace(&self) -> Option<&str> {
        self.added.namespace.as_deref()
    }

    /// The node.
    pub fn node(&self) -> NodeId {
        self.added.handle.node()
    }

    /// `{kind: ServiceAccount, name, namespace}` for a binding's subjects.
    fn subject(&self) -> Expr {
        let mut subject = std::collections::BTreeMap::new();
        subject.insert("kind".to_owned(), Expr::Value("ServiceAccount".into()));
        subject.insert("name".to_owned(), self.name().into_expr());
        subject.insert(
            "namespace".to_owned(),
            Expr::Value(Value::String(
                self.added
                    .namespace
                    .clone()
                    .unwrap_or_else(|| "default".into()),
            )),
        );
        Expr::Object(subject)
    }
}

impl Dependable for ServiceAccountHandle {
    fn node_ids(&self) -> Vec<NodeId> {
        vec![self.node()]
    }
}

/// One RBAC rule: verbs on resources of API groups.
///
/// ```
/// use girder_k8s::dsl::PolicyRule;
/// let read_pods = PolicyRule::new([""], ["pods"], ["get", "list", "watch"]);
/// # let _ = read_pods;
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyRule {
    api_groups: Vec<String>,
    resources: Vec<String>,
    resource_names: Vec<String>,
    verbs: Vec<String>,
}

impl PolicyRule {
    /// Allows `verbs` on `resources` of `api_groups` (`""` is the core group).
    pub fn new<G, R, V>(api_groups: G, resources: R, verbs: V) -> PolicyRule
    where
        G: IntoIterator,
        G::Item: Into<String>,
        R: IntoIterator,
        R::Item: Into<String>,
        V: IntoIterator,
        V::Item: Into<String>,
    {
        PolicyRule {
            api_groups: api_groups.into_iter().map(Into::into).collect(),
            resources: resources.into_iter().map(Into::into).collect(),
            resource_names: Vec::new(),
            verbs: verbs.into_iter().map(Into::into).collect(),
        }
    }

    /// Limits the rule to objects with these names (least privilege: a controller's own
    /// lease or status ConfigMap rather than every one).
    ///
    /// ```
    /// use girder_k8s::dsl::PolicyRule;
    /// let own_lease = PolicyRule::new(["coordination.k8s.io"], ["leases"], ["get", "update"])
    ///     .resource_names(["cluster-autoscaler"]);
    /// # let _ = own_lease;
    /// ```
    pub fn resource_names<N>(mut self, names: N) -> PolicyRule
    where
        N: IntoIterator,
        N::Item: Into<String>,
    {
        self.resource_names = names.into_iter().map(Into::into).collect();
        self
    }

    fn to_value(&self) -> Value {
        let mut rule = girder_core::object! {
            "apiGroups" => self.api_groups.clone(),
            "resources" => self.resources.clone(),
            "verbs" => self.verbs.clone(),
        };
        if !self.resource_names.is_empty()
            && let Some(map) = rule.as_object_mut()
        {
            map.insert(
                "resourceNames".into(),
                Value::from(self.resource_names.clone()),
            );
        }
        rule
    }

    fn problem(&self) -> Option<Diagnostic> {
        (self.verbs.is_empty() || self.resources.is_empty()).then(|| {
            Diagnostic::error("an RBAC rule without verbs or resources grants nothing")
                .field("rules")
                .fix("name the resources and verbs, such as `PolicyRule::new([\"\"], [\"pods\"], [\"get\"])`")
        })
    }
}

macro_rules! role_builder {
    ($(#[$doc:meta])* $builder:ident, $handle:ident, $kind:literal) => {
        $(#[$doc])*
        #[derive(Clone, Debug)]
        #[must_use = "a builder declares nothing until it is added to the stack with `.add(…)`"]
        pub struct $builder {
            obj: ObjectDecl,
            rules: Vec<PolicyRule>,
        }

        object_builder!($builder);

        impl $builder {
            #[doc = concat!("A ", $kind, " called `name`.")]
            pub fn new(name: impl Into<String>) -> $builder {
                $builder {
                    obj: ObjectDecl::new(Kind::new("rbac.authorization.k8s.io", "v1", $kind), name),
                    rules: Vec::new(),
                }
            }

            /// Adds a rule.
            pub fn rule(mut self, rule: PolicyRule) -> $builder {
                self.rules.push(rule);
                self
            }

            /// Adds it to the stack.
            pub fn add(mut self, target: impl ClusterTarget, stack: &mut Stack) -> $handle {
                let resource = self.obj.node_name();
                let provider = provider_node(&target, &resource, stack);
                for problem in self.rules.iter().filter_map(PolicyRule::problem) {
                    stack.report(problem.resource(resource.clone()));
                }
                self.obj.body.insert(
                    "rules".into(),
                    Expr::Value(Value::Array(self.rules.iter().map(PolicyRule::to_value).collect())),
                );
                $handle {
                    added: self.obj.add_object(provider, stack),
                }
            }
        }

        #[doc = concat!("A ", $kind, " of the program.")]
        #[derive(Clone, Debug, PartialEq, Eq)]
        pub struct $handle {
            added: Added,
        }

        impl $handle {
            /// The name, as an output.
            pub fn name(&self) -> Output<String> {
                self.added.name_output()
            }

            /// The node.
            pub fn node(&self) -> NodeId {
                self.added.handle.node()
            }
        }

        impl Dependable for $handle {
            fn node_ids(&self) -> Vec<NodeId> {
                vec![self.node()]
            }
        }
    };
}

role_builder!(
    /// A namespaced Role.
    ///
    /// ```
    /// use girder_core::Stack;
    /// use girder_k8s::dsl::*;
    /// let mut s = Stack::new("dev");
    /// let reader = Role::new("pod-reader")
    ///     .rule(PolicyRule::new([""], ["pods"], ["get", "list"]))
    ///     .add(DefaultProvider, &mut s);
    /// let account = ServiceAccount::new("monitor").add(DefaultProvider, &mut s);
    /// RoleBinding::new("monitor-reads-pods", &reader).subject(&account).add(&mut s);
    /// assert!(s.finish().is_ok());
    /// ```
    Role,
    RoleHandle,
    "Role"
);
namespaced_builder!(Role);

role_builder!(
    /// A cluster-wide ClusterRole.
    ///
    /// ```
    /// use girder_core::Stack;
    /// use girder_k8s::dsl::*;
    /// let mut s = Stack::new("dev");
    /// let dns = ClusterRole::new("external-dns")
    ///     .rule(PolicyRule::new(["", "networking.k8s.io"], ["services", "ingresses", "pods", "nodes"], ["get", "watch", "list"]))
    ///     .add(DefaultProvider, &mut s);
    /// let account = ServiceAccount::new("external-dns").add(DefaultProvider, &mut s);
    /// ClusterRoleBinding::new("external-dns-viewer", &dns).subject(&account).add(&mut s);
    /// assert!(s.finish().is_ok());
    /// ```
    ClusterRole,
    ClusterRoleHandle,
    "ClusterRole"
);

macro_rules! binding_builder {
    ($(#[$doc:meta])* $builder:ident, $role:ident, $kind:literal, $role_kind:literal) => {
        $(#[$doc])*
        #[derive(Clone, Debug)]
        #[must_use = "a builder declares nothing until it is added to the stack with `.add(…)`"]
        pub struct $builder {
            obj: ObjectDecl,
            role: $role,
            subjects: Vec<Expr>,
        }

        object_builder!($builder);

        impl $builder {
            #[doc = concat!("A ", $kind, " called `name` granting `role`.")]
            pub fn new(name: impl Into<String>, role: &$role) -> $builder {
                let mut obj = ObjectDecl::new(Kind::new("rbac.authorization.k8s.io", "v1", $kind), name);
                if let Some(namespace) = role.added.namespace.clone() {
                    obj.namespace = Some(namespace);
                }
                $builder {
                    obj,
                    role: role.clone(),
                    subjects: Vec::new(),
                }
            }

            /// Grants the role to a ServiceAccount of the program.
            pub fn subject(mut self, account: &ServiceAccountHandle) -> $builder {
                self.subjects.push(account.subject());
                self
            }

            /// Adds it to the stack, with the role's provider.
            pub fn add(mut self, stack: &mut Stack) -> ObjectHandle {
                if self.subjects.is_empty() {
                    stack.report(
                        Diagnostic::error("the binding has no subjects, so it grants nothing")
                            .resource(self.obj.node_name())
                            .field("subjects")
                            .fix("add `.subject(&service_account)`"),
                    );
                }
                let mut role_ref = std::collections::BTreeMap::new();
                role_ref.insert("apiGroup".to_owned(), Expr::Value("rbac.authorization.k8s.io".into()));
                role_ref.insert("kind".to_owned(), Expr::Value($role_kind.into()));
                role_ref.insert("name".to_owned(), self.role.name().into_expr());
                self.obj.body.insert("roleRef".into(), Expr::Object(role_ref));
                self.obj.body.insert("subjects".into(), Expr::Array(self.subjects));
                let provider = self.role.added.provider;
                ObjectHandle::new(self.obj.add_object(provider, stack))
            }
        }
    };
}

binding_builder!(
    /// A RoleBinding: grants a Role of its namespace to ServiceAccounts (see [`Role`]).
    RoleBinding,
    RoleHandle,
    "RoleBinding",
    "Role"
);

binding_builder!(
    /// A ClusterRoleBinding: grants a ClusterRole everywhere (see [`ClusterRole`]).
    ClusterRoleBinding,
    ClusterRoleHandle,
    "ClusterRoleBinding",
    "ClusterRole"
);
