//! Cluster add-ons as typed components: [`MetricsServer`], [`ClusterAutoscaler`] and
//! [`ExternalDns`], written in Rust with pinned images and the upstream manifests' settings
//! (no Helm, nothing fetched when the program runs).
//!
//! Each add-on is a builder whose `.add(&k8s, s)` declares its ServiceAccount, RBAC,
//! Deployment (secure defaults, probes, requests and limits) and whatever else it needs, and
//! returns a handle with the objects' handles; every handle is [`Dependable`], so a workload
//! can wait for an add-on with `.depends_on(&handle)`.
//!
//! The AWS side (the IRSA roles, the Route 53 zone) belongs to the AWS package: the add-ons
//! take the role's ARN as an input (`impl IntoInput<String>`, which a typed `RoleArn` output
//! satisfies), so the two packages stay independent. `irsa_service_account()` on the builders
//! says which service account the role's trust must name.
//!
//! ```
//! use std::time::Duration;
//! use girder_core::Stack;
//! use girder_k8s::addons::{ClusterAutoscaler, ExternalDns, MetricsServer};
//! use girder_k8s::dsl::*;
//!
//! let mut s = Stack::new("prod");
//! let k8s = DefaultProvider; // or an EKS cluster's `eks.kubernetes(&mut s)`
//! // In a full program the ARNs are IRSA role outputs, such as `role.arn()`.
//! let autoscaler_role = "arn:aws:iam::123456789012:role/prod-cluster-autoscaler";
//! let dns_role = "arn:aws:iam::123456789012:role/prod-external-dns";
//!
//! let metrics = MetricsServer::new().add(&k8s, &mut s);
//! let autoscaler = ClusterAutoscaler::new("prod")
//!     .region("us-east-1")
//!     .role_arn(autoscaler_role)
//!     .scale_down_unneeded(Duration::from_secs(10 * 60))
//!     .add(&k8s, &mut s);
//! let dns = ExternalDns::new()
//!     .domain_filter("example.com")
//!     .txt_owner_id("prod")
//!     .role_arn(dns_role)
//!     .add(&k8s, &mut s);
//! assert_eq!(metrics.service().host_name(), "metrics-server.kube-system.svc.cluster.local");
//! # let _ = (autoscaler, dns);
//! let graph = s.finish().expect("the add-ons build");
//! assert!(girder_k8s::check::check(&graph).is_empty());
//! ```
//!
//! [`Dependable`]: girder_core::Dependable

mod cluster_autoscaler;
mod external_dns;
mod metrics_server;

use std::collections::BTreeMap;
use std::time::Duration;

use girder_core::{Expr, NodeId, Stack, Value};

use crate::dsl::ServiceAccountHandle;
use crate::dsl::object::{IntoNamespace, ObjectDecl, ObjectHandle};
use crate::kinds::Kind;

pub use cluster_autoscaler::{ClusterAutoscaler, ClusterAutoscalerHandle, Expander};
pub use external_dns::{DnsPolicy, ExternalDns, ExternalDnsHandle, ZoneType};
pub use metrics_server::{MetricsServer, MetricsServerHandle};

/// The namespace add-ons run in unless told otherwise.
pub const ADDON_NAMESPACE: &str = "kube-system";

/// The PriorityClass of add-ons the cluster cannot work without.
pub const CRITICAL_PRIORITY: &str = "system-cluster-critical";

/// A namespace an add-on's objects share: a name, and the namespace's node when the program
/// declares it (so every object is ordered after it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct AddonNamespace {
    name: String,
    node: Option<NodeId>,
}

impl AddonNamespace {
    pub(crate) fn new(namespace: impl IntoNamespace) -> AddonNamespace {
        let (name, node) = namespace.into_namespace();
        AddonNamespace { name, node }
    }

    pub(crate) fn name(&self) -> &str {
        &self.name
    }
}

impl IntoNamespace for &AddonNamespace {
    fn into_namespace(self) -> (String, Option<NodeId>) {
        (self.name.clone(), self.node)
    }
}

/// The IRSA subject of a service account: `system:serviceaccount:NAMESPACE:NAME`.
pub fn irsa_subject(namespace: &str, service_account: &str) -> String {
    format!("system:serviceaccount:{namespace}:{service_account}")
}

/// A duration as a Go duration flag value: `10m`, `1h`, `90s`, `1500ms`.
pub(crate) fn go_duration(duration: Duration) -> String {
    let millis = duration.as_millis();
    if !millis.is_multiple_of(1000) {
        format!("{millis}ms")
    } else {
        let secs = duration.as_secs();
        if secs != 0 && secs.is_multiple_of(3600) {
            format!("{}h", secs / 3600)
        } else if secs != 0 && secs.is_multiple_of(60) {
            format!("{}m", secs / 60)
        } else {
            format!("{secs}s")
        }
    }
}

/// Why a literal AWS region is malformed (`us-east-1`, `eu-west-3`, `us-gov-west-1`).
pub(crate) fn region_problem(region: &str) -> Option<String> {
    let parts: Vec<&str> = region.split('-').collect();
    let ok = parts.len() >= 3
        && parts[0].len() == 2
        && parts
            .iter()
            .take(parts.len() - 1)
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase()))
        && parts
            .last()
            .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()));
    (!ok).then(|| format!("`{region}` is not an AWS region such as `us-east-1`"))
}

/// The literal value of a string input, if it is known when the program is built.
pub(crate) fn known(input: &girder_core::Input<String>) -> Option<String> {
    input.known_value()
}

/// A binding of a role the cluster itself provides (`system:auth-delegator`,
/// `extension-apiserver-authentication-reader`) to a service account of the program. The
/// DSL's bindings take roles of the program; these roles exist in every cluster.
pub(crate) struct ProvidedRoleBinding<'a> {
    /// `RoleBinding` or `ClusterRoleBinding`.
    pub kind: &'static str,
    /// The binding's name.
    pub name: &'a str,
    /// The binding's namespace (RoleBindings).
    pub namespace: Option<&'a str>,
    /// `Role` or `ClusterRole`.
    pub role_kind: &'static str,
    /// The role's name.
    pub role: &'a str,
    /// Extra labels.
    pub labels: &'a BTreeMap<String, String>,
}

impl ProvidedRoleBinding<'_> {
    /// Adds the binding; it depends on the service account (its subject).
    pub(crate) fn add(
        self,
        account: &ServiceAccountHandle,
        provider: Option<NodeId>,
        stack: &mut Stack,
    ) -> ObjectHandle {
        let mut obj = ObjectDecl::new(
            Kind::new("rbac.authorization.k8s.io", "v1", self.kind),
            self.name,
        );
        if let Some(namespace) = self.namespace {
            obj.set_namespace(namespace);
        }
        for (key, value) in self.labels {
            obj.label(key.clone(), value.clone());
        }
        obj.body.insert(
            "roleRef".into(),
            Expr::Value(girder_core::object! {
                "apiGroup" => "rbac.authorization.k8s.io",
                "kind" => self.role_kind,
                "name" => self.role,
            }),
        );
        let mut subject = BTreeMap::new();
        subject.insert("kind".to_owned(), Expr::Value("ServiceAccount".into()));
        subject.insert("name".to_owned(), account.name().into_expr());
        subject.insert(
            "namespace".to_owned(),
            Expr::Value(Value::String(
                account.namespace().unwrap_or("default").to_owned(),
            )),
        );
        obj.body
            .insert("subjects".into(), Expr::Array(vec![Expr::Object(subject)]));
        ObjectHandle::new(obj.add_object(provider, stack))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        assert_eq!(go_duration(Duration::from_secs(600)), "10m");
        assert_eq!(go_duration(Duration::from_secs(3600)), "1h");
        assert_eq!(go_duration(Duration::from_secs(90)), "90s");
        assert_eq!(go_duration(Duration::from_millis(1500)), "1500ms");
        assert_eq!(go_duration(Duration::ZERO), "0s");
    }

    #[test]
    fn regions() {
        for good in ["us-east-1", "eu-west-3", "us-gov-west-1", "ap-southeast-2"] {
            assert_eq!(region_problem(good), None, "{good}");
        }
        for bad in ["", "us-east", "US-EAST-1", "useast1", "us-east-x"] {
            assert!(region_problem(bad).is_some(), "{bad}");
        }
        assert_eq!(
            irsa_subject("kube-system", "cluster-autoscaler"),
            "system:serviceaccount:kube-system:cluster-autoscaler"
        );
    }
}
