//! Who may use the cluster: EKS access entries with access policies, and the cluster's
//! authentication mode.

use girder_core::{Diagnostic, Input, IntoInput, Output, Stack};

use crate::dsl::iam::IamRoleHandle;
use crate::eks::access_entry::{ACCESS_POLICY_ARN_PREFIX, AccessPolicyInput};
use crate::ids::RoleArn;

/// How the cluster authenticates IAM principals ([`Eks::authentication_mode`](super::Eks::authentication_mode)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthenticationMode {
    /// Access entries only (EKS's recommendation).
    Api,
    /// Access entries and the `aws-auth` ConfigMap.
    ApiAndConfigMap,
}

impl AuthenticationMode {
    /// The EKS name (`API`, `API_AND_CONFIG_MAP`).
    pub fn as_str(&self) -> &'static str {
        match self {
            AuthenticationMode::Api => "API",
            AuthenticationMode::ApiAndConfigMap => "API_AND_CONFIG_MAP",
        }
    }
}

/// The EKS access policies girder knows, by name.
pub const ACCESS_POLICY_NAMES: [&str; 10] = [
    "AmazonEKSAdminPolicy",
    "AmazonEKSAdminViewPolicy",
    "AmazonEKSAutoNodePolicy",
    "AmazonEKSBlockStoragePolicy",
    "AmazonEKSClusterAdminPolicy",
    "AmazonEKSComputePolicy",
    "AmazonEKSEditPolicy",
    "AmazonEKSLoadBalancingPolicy",
    "AmazonEKSNetworkingPolicy",
    "AmazonEKSViewPolicy",
];

/// An EKS access policy: what an access entry's principal may do in Kubernetes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AccessPolicy {
    /// `AmazonEKSClusterAdminPolicy`: everything (`cluster-admin`); cluster scope only.
    ClusterAdmin,
    /// `AmazonEKSAdminPolicy`: most resources, RBAC included (`admin`).
    Admin,
    /// `AmazonEKSEditPolicy`: most resources, not RBAC (`edit`).
    Edit,
    /// `AmazonEKSViewPolicy`: read most resources, not Secrets (`view`).
    View,
    /// Another policy by name (`AmazonEKSAdminViewPolicy`) or ARN, checked when the program is
    /// built.
    Named(String),
}

impl AccessPolicy {
    /// A policy by name or ARN.
    pub fn named(name: impl Into<String>) -> AccessPolicy {
        AccessPolicy::Named(name.into())
    }

    /// The policy's name (`AmazonEKSViewPolicy`).
    pub fn name(&self) -> String {
        match self {
            AccessPolicy::ClusterAdmin => "AmazonEKSClusterAdminPolicy".into(),
            AccessPolicy::Admin => "AmazonEKSAdminPolicy".into(),
            AccessPolicy::Edit => "AmazonEKSEditPolicy".into(),
            AccessPolicy::View => "AmazonEKSViewPolicy".into(),
            AccessPolicy::Named(name) => name
                .strip_prefix(ACCESS_POLICY_ARN_PREFIX)
                .unwrap_or(name)
                .to_owned(),
        }
    }

    /// The policy's ARN (`arn:aws:eks::aws:cluster-access-policy/NAME`).
    pub fn arn(&self) -> String {
        format!("{ACCESS_POLICY_ARN_PREFIX}{}", self.name())
    }

    /// Whether EKS knows the policy.
    pub fn is_known(&self) -> bool {
        ACCESS_POLICY_NAMES.contains(&self.name().as_str())
    }

    /// Whether the policy applies to the whole cluster only.
    pub fn cluster_only(&self) -> bool {
        self.name() == "AmazonEKSClusterAdminPolicy"
    }
}

/// Where an access policy applies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AccessScope {
    /// The whole cluster, cluster-scoped resources included.
    Cluster,
    /// Namespaced resources in these namespaces (a name may end in `*`).
    Namespaces(Vec<String>),
}

impl AccessScope {
    /// Namespaces scope.
    pub fn namespaces<S: Into<String>>(names: impl IntoIterator<Item = S>) -> AccessScope {
        AccessScope::Namespaces(names.into_iter().map(Into::into).collect())
    }
}

/// The IAM principal of an access entry: a role made by the program (its ARN output) or a
/// literal IAM role or user ARN.
#[derive(Clone, Debug)]
pub enum Principal {
    /// A role's ARN, known after apply.
    Role(Input<RoleArn>),
    /// A literal ARN (`arn:aws:iam::111122223333:user/alice`), checked when the program is built.
    Arn(String),
}

impl From<Output<RoleArn>> for Principal {
    fn from(arn: Output<RoleArn>) -> Principal {
        Principal::Role(arn.into_input())
    }
}

impl From<&Output<RoleArn>> for Principal {
    fn from(arn: &Output<RoleArn>) -> Principal {
        Principal::Role(arn.into_input())
    }
}

impl From<&IamRoleHandle> for Principal {
    fn from(role: &IamRoleHandle) -> Principal {
        Principal::Role(role.arn().into_input())
    }
}

impl From<&str> for Principal {
    fn from(arn: &str) -> Principal {
        Principal::Arn(arn.to_owned())
    }
}

impl From<String> for Principal {
    fn from(arn: String) -> Principal {
        Principal::Arn(arn)
    }
}

/// An EKS access entry under construction ([`Eks::access_entry`](super::Eks::access_entry)).
///
/// ```
/// use girder_aws::dsl::eks::{AccessEntry, AccessPolicy, AccessScope, Eks};
/// let eks = Eks::new("prod")
///     .access_entry(
///         AccessEntry::new("auditors", "arn:aws:iam::111122223333:role/Auditor")
///             .policy(AccessPolicy::View, AccessScope::Cluster),
///     )
///     .access_entry(
///         AccessEntry::new("team-a", "arn:aws:iam::111122223333:user/alice")
///             .policy(AccessPolicy::Edit, AccessScope::namespaces(["team-a"]))
///             .kubernetes_groups(["team-a"]),
///     );
/// # let _ = eks;
/// ```
#[derive(Clone, Debug)]
#[must_use = "an access entry does nothing until it is given to `Eks::access_entry`"]
pub struct AccessEntry {
    pub(super) name: String,
    pub(super) principal: Principal,
    pub(super) groups: Vec<String>,
    pub(super) username: Option<String>,
    pub(super) policies: Vec<(AccessPolicy, AccessScope)>,
}

impl AccessEntry {
    /// An entry named `name` in the program (its resource is `<cluster>-access-<name>`) for
    /// `principal`: an IAM role handle, its ARN output, or a literal role or user ARN.
    pub fn new(name: impl Into<String>, principal: impl Into<Principal>) -> AccessEntry {
        AccessEntry {
            name: name.into(),
            principal: principal.into(),
            groups: Vec::new(),
            username: None,
            policies: Vec::new(),
        }
    }

    /// Kubernetes groups the principal is in (for RBAC bindings).
    pub fn kubernetes_groups<S: Into<String>>(
        mut self,
        groups: impl IntoIterator<Item = S>,
    ) -> AccessEntry {
        self.groups.extend(groups.into_iter().map(Into::into));
        self
    }

    /// The Kubernetes user name (default: EKS's, from the principal's ARN).
    pub fn username(mut self, username: impl Into<String>) -> AccessEntry {
        self.username = Some(username.into());
        self
    }

    /// Associates an access policy over a scope.
    pub fn policy(mut self, policy: AccessPolicy, scope: AccessScope) -> AccessEntry {
        self.policies.push((policy, scope));
        self
    }

    pub(super) fn resource(&self, cluster: &str) -> String {
        format!("{cluster}-access-{}", self.name)
    }

    pub(super) fn policy_inputs(&self) -> Vec<AccessPolicyInput> {
        self.policies
            .iter()
            .map(|(policy, scope)| AccessPolicyInput {
                policy_arn: policy.arn(),
                namespaces: match scope {
                    AccessScope::Cluster => Vec::new(),
                    AccessScope::Namespaces(names) => names.clone(),
                },
            })
            .collect()
    }

    /// Reports every problem of the entry.
    pub(super) fn check(&self, s: &mut Stack, cluster: &str) {
        let resource = self.resource(cluster);
        let literal = match &self.principal {
            Principal::Arn(arn) => Some(arn.clone()),
            Principal::Role(input) => input.known_value().map(|arn| arn.to_string()),
        };
        if let Some(arn) = literal
            && !principal_arn_ok(&arn)
        {
            s.report(
                Diagnostic::error("not the ARN of an IAM role or user")
                    .resource(&resource)
                    .field("principal_arn")
                    .value(&arn)
                    .fix("use a role or user ARN such as `arn:aws:iam::111122223333:role/Admin` (for an assumed role, the role's ARN), or pass a role handle"),
            );
        }
        if self.groups.iter().any(|g| g.starts_with("system:")) {
            s.report(
                Diagnostic::error("EKS refuses Kubernetes groups starting with `system:`")
                    .resource(&resource)
                    .field("kubernetes_groups")
                    .value(self.groups.join(", "))
                    .fix("bind your own group name with RBAC, or associate an access policy"),
            );
        }
        for (policy, scope) in &self.policies {
            if !policy.is_known() {
                s.report(
                    Diagnostic::error("not an EKS access policy")
                        .resource(&resource)
                        .field("policies")
                        .value(policy.name())
                        .fix(format!("use one of {}", ACCESS_POLICY_NAMES.join(", "))),
                );
            }
            match scope {
                AccessScope::Namespaces(names) if policy.cluster_only() => s.report(
                    Diagnostic::error(format!(
                        "{} applies to the whole cluster only",
                        policy.name()
                    ))
                    .resource(&resource)
                    .field("policies.scope")
                    .value(names.join(", "))
                    .fix("use `AccessScope::Cluster`, or `AccessPolicy::Admin` for namespaces"),
                ),
                AccessScope::Namespaces(names) if names.is_empty() => s.report(
                    Diagnostic::error("a namespace scope without namespaces")
                        .resource(&resource)
                        .field("policies.scope")
                        .value(policy.name())
                        .fix("name a namespace, or use `AccessScope::Cluster`"),
                ),
                _ => {}
            }
        }
        let arns: Vec<String> = self.policies.iter().map(|(p, _)| p.arn()).collect();
        if let Some(duplicate) = crate::util::first_duplicate(&arns) {
            s.report(
                Diagnostic::error("an access policy is associated twice")
                    .resource(&resource)
                    .field("policies")
                    .value(duplicate)
                    .fix("associate each policy once, with every namespace in one scope"),
            );
        }
    }
}

/// Whether `arn` names an IAM role or user as an access entry takes it.
pub(super) fn principal_arn_ok(arn: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let [prefix, partition, service, region, account, resource] = parts[..] else {
        return false;
    };
    let name_ok = resource.split_once('/').is_some_and(|(kind, path)| {
        matches!(kind, "role" | "user")
            && !path.is_empty()
            && !path.ends_with('/')
            && path
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-/".contains(c))
    });
    prefix == "arn"
        && partition.starts_with("aws")
        && service == "iam"
        && region.is_empty()
        && account.len() == 12
        && account.chars().all(|c| c.is_ascii_digit())
        && name_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn principal_arns() {
        assert!(principal_arn_ok("arn:aws:iam::111122223333:role/Admin"));
        assert!(principal_arn_ok("arn:aws:iam::111122223333:role/ops/Admin"));
        assert!(principal_arn_ok("arn:aws:iam::111122223333:user/alice"));
        for bad in [
            "arn:aws:sts::111122223333:assumed-role/Admin/session",
            "arn:aws:iam::1111:role/Admin",
            "arn:aws:iam::111122223333:group/Admins",
            "arn:aws:iam::111122223333:role/",
            "Admin",
        ] {
            assert!(!principal_arn_ok(bad), "{bad}");
        }
    }

    #[test]
    fn policies_by_name_and_arn() {
        assert_eq!(
            AccessPolicy::View.arn(),
            "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy"
        );
        assert!(AccessPolicy::named("AmazonEKSAdminViewPolicy").is_known());
        assert!(AccessPolicy::named(AccessPolicy::Edit.arn()).is_known());
        assert!(!AccessPolicy::named("AmazonEKSEverythingPolicy").is_known());
        assert!(AccessPolicy::ClusterAdmin.cluster_only());
        assert!(!AccessPolicy::Admin.cluster_only());
    }
}
