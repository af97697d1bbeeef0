//! Type tokens and the built-in kinds.
//!
//! # Type tokens
//!
//! Every Kubernetes object is a graph node whose type token is
//! `k8s:{group}/{version}:{Kind}`, with the core (empty) group written `core`:
//!
//! | object | type token |
//! |---|---|
//! | Namespace | `k8s:core/v1:Namespace` |
//! | Deployment | `k8s:apps/v1:Deployment` |
//! | HorizontalPodAutoscaler | `k8s:autoscaling/v2:HorizontalPodAutoscaler` |
//! | NetworkPolicy | `k8s:networking.k8s.io/v1:NetworkPolicy` |
//! | a custom resource | `k8s:example.com/v1alpha1:Widget` |
//!
//! The token carries the `apiVersion` and `kind` of the object, so the token alone tells the
//! provider which API to call. Provider nodes have the token [`PROVIDER_TYPE`].
//!
//! # Cloud ids
//!
//! The cloud id of an object is `namespace/name` for namespaced kinds and `name` for
//! cluster-scoped kinds; the kind is already in the type token. `.import("default/backend")`
//! adopts the existing `backend` object of the node's kind in `default`.

use std::fmt;

use girder_core::Value;
use girder_engine::provider::{DefaultTimeouts, ResourceSchema};
use kube::core::{ApiResource, GroupVersionKind};
use std::time::Duration;

/// The package name and type-token prefix.
pub const PACKAGE: &str = "k8s";

/// The type token of Kubernetes provider nodes.
pub const PROVIDER_TYPE: &str = "k8s:provider";

/// An object kind: group, version and kind, as written in a type token.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Kind {
    /// The API group; empty for the core group.
    pub group: String,
    /// The version, such as `v1`.
    pub version: String,
    /// The kind, such as `Deployment`.
    pub kind: String,
}

impl Kind {
    /// A kind from its parts (`group` empty for the core group).
    pub fn new(group: &str, version: &str, kind: &str) -> Kind {
        Kind {
            group: group.to_owned(),
            version: version.to_owned(),
            kind: kind.to_owned(),
        }
    }

    /// The kind of a manifest's `apiVersion` (`apps/v1` or `v1`) and `kind`.
    pub fn from_api_version(api_version: &str, kind: &str) -> Kind {
        match api_version.split_once('/') {
            Some((group, version)) => Kind::new(group, version, kind),
            None => Kind::new("", api_version, kind),
        }
    }

    /// Parses a type token such as `k8s:apps/v1:Deployment`.
    pub fn from_type_token(token: &str) -> Option<Kind> {
        let rest = token.strip_prefix("k8s:")?;
        let (group_version, kind) = rest.rsplit_once(':')?;
        let (group, version) = group_version.split_once('/')?;
        if group.is_empty() || version.is_empty() || kind.is_empty() || version.contains('/') {
            return None;
        }
        let group = if group == "core" { "" } else { group };
        Some(Kind::new(group, version, kind))
    }

    /// The type token, such as `k8s:apps/v1:Deployment`.
    pub fn type_token(&self) -> String {
        let group = if self.group.is_empty() {
            "core"
        } else {
            &self.group
        };
        format!("k8s:{group}/{}:{}", self.version, self.kind)
    }

    /// The `apiVersion` of manifests of this kind (`apps/v1`, or `v1` for the core group).
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// The built-in facts about this kind, if it is one girder knows without discovery.
    pub fn builtin(&self) -> Option<&'static Builtin> {
        BUILTINS
            .iter()
            .find(|b| b.group == self.group && b.version == self.version && b.kind == self.kind)
    }

    /// True if objects of this kind live in a namespace (unknown kinds are assumed namespaced;
    /// the provider asks the API server when it meets one).
    pub fn is_namespaced(&self) -> bool {
        self.builtin().is_none_or(|b| b.namespaced)
    }

    /// True for kinds whose objects carry a pod template (or are pods).
    pub fn has_pods(&self) -> bool {
        pod_spec_path(&self.kind).is_some() && matches!(self.group.as_str(), "" | "apps" | "batch")
    }

    /// The kind as kube's [`GroupVersionKind`].
    pub fn gvk(&self) -> GroupVersionKind {
        GroupVersionKind::gvk(&self.group, &self.version, &self.kind)
    }

    /// The kube [`ApiResource`] for a built-in kind.
    pub fn api_resource(&self) -> Option<ApiResource> {
        self.builtin()
            .map(|b| ApiResource::from_gvk_with_plural(&self.gvk(), b.plural))
    }

    /// A lowercase short name for resource names and file names (`deployment`).
    pub fn short(&self) -> String {
        self.kind.to_ascii_lowercase()
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.api_version(), self.kind)
    }
}

/// Where the pod spec of a pod-bearing kind lives.
pub fn pod_spec_path(kind: &str) -> Option<&'static [&'static str]> {
    Some(match kind {
        "Pod" => &["spec"],
        "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" | "Job" => {
            &["spec", "template", "spec"]
        }
        "CronJob" => &["spec", "jobTemplate", "spec", "template", "spec"],
        _ => return None,
    })
}

/// Facts about a built-in kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Builtin {
    /// The API group (empty for core).
    pub group: &'static str,
    /// The version.
    pub version: &'static str,
    /// The kind.
    pub kind: &'static str,
    /// The plural resource name in URLs.
    pub plural: &'static str,
    /// Namespaced or cluster-scoped.
    pub namespaced: bool,
    /// Input fields whose change the API server refuses (immutable), beyond name/namespace.
    pub immutable: &'static [&'static str],
}

const fn builtin(
    group: &'static str,
    version: &'static str,
    kind: &'static str,
    plural: &'static str,
    namespaced: bool,
    immutable: &'static [&'static str],
) -> Builtin {
    Builtin {
        group,
        version,
        kind,
        plural,
        namespaced,
        immutable,
    }
}

/// The kinds girder knows without asking the API server (what the DSL creates and what the
/// seed workload needs); other kinds are found by discovery at apply time.
pub const BUILTINS: &[Builtin] = &[
    builtin("", "v1", "Namespace", "namespaces", false, &[]),
    builtin("", "v1", "ConfigMap", "configmaps", true, &[]),
    builtin("", "v1", "Secret", "secrets", true, &["type"]),
    builtin("", "v1", "Service", "services", true, &["spec.clusterIP"]),
    builtin("", "v1", "ServiceAccount", "serviceaccounts", true, &[]),
    builtin("", "v1", "Pod", "pods", true, &["spec"]),
    builtin(
        "",
        "v1",
        "PersistentVolumeClaim",
        "persistentvolumeclaims",
        true,
        &["spec.storageClassName", "spec.accessModes"],
    ),
    builtin(
        "",
        "v1",
        "PersistentVolume",
        "persistentvolumes",
        false,
        &[],
    ),
    builtin("", "v1", "LimitRange", "limitranges", true, &[]),
    builtin("", "v1", "ResourceQuota", "resourcequotas", true, &[]),
    builtin(
        "apps",
        "v1",
        "Deployment",
        "deployments",
        true,
        &["spec.selector"],
    ),
    builtin(
        "apps",
        "v1",
        "StatefulSet",
        "statefulsets",
        true,
        &[
            "spec.selector",
            "spec.serviceName",
            "spec.volumeClaimTemplates",
        ],
    ),
    builtin(
        "apps",
        "v1",
        "DaemonSet",
        "daemonsets",
        true,
        &["spec.selector"],
    ),
    builtin(
        "apps",
        "v1",
        "ReplicaSet",
        "replicasets",
        true,
        &["spec.selector"],
    ),
    builtin(
        "batch",
        "v1",
        "Job",
        "jobs",
        true,
        &["spec.selector", "spec.template"],
    ),
    builtin("batch", "v1", "CronJob", "cronjobs", true, &[]),
    builtin(
        "autoscaling",
        "v2",
        "HorizontalPodAutoscaler",
        "horizontalpodautoscalers",
        true,
        &[],
    ),
    builtin(
        "policy",
        "v1",
        "PodDisruptionBudget",
        "poddisruptionbudgets",
        true,
        &[],
    ),
    builtin(
        "networking.k8s.io",
        "v1",
        "NetworkPolicy",
        "networkpolicies",
        true,
        &[],
    ),
    builtin("networking.k8s.io", "v1", "Ingress", "ingresses", true, &[]),
    builtin(
        "networking.k8s.io",
        "v1",
        "IngressClass",
        "ingressclasses",
        false,
        &[],
    ),
    builtin(
        "rbac.authorization.k8s.io",
        "v1",
        "Role",
        "roles",
        true,
        &[],
    ),
    builtin(
        "rbac.authorization.k8s.io",
        "v1",
        "ClusterRole",
        "clusterroles",
        false,
        &[],
    ),
    builtin(
        "rbac.authorization.k8s.io",
        "v1",
        "RoleBinding",
        "rolebindings",
        true,
        &["roleRef"],
    ),
    builtin(
        "rbac.authorization.k8s.io",
        "v1",
        "ClusterRoleBinding",
        "clusterrolebindings",
        false,
        &["roleRef"],
    ),
    builtin(
        "storage.k8s.io",
        "v1",
        "StorageClass",
        "storageclasses",
        false,
        &[
            "provisioner",
            "parameters",
            "reclaimPolicy",
            "volumeBindingMode",
        ],
    ),
    builtin(
        "apiregistration.k8s.io",
        "v1",
        "APIService",
        "apiservices",
        false,
        &[],
    ),
    builtin(
        "apiextensions.k8s.io",
        "v1",
        "CustomResourceDefinition",
        "customresourcedefinitions",
        false,
        &["spec.scope"],
    ),
];

/// The schema of a kind: what forces replacement, what only the cluster knows, time limits.
///
/// Every kind echoes its inputs as outputs (so `service.host()` is known when planning), has
/// a computed `uid`, and is deleted before its replacement is created: object names are
/// unique per namespace, so the replacement could not be created first.
pub fn schema_for(kind: &Kind) -> ResourceSchema {
    let mut schema = ResourceSchema::new(kind.type_token())
        .echo_inputs()
        .computed(["uid"])
        .replace_on(["metadata.name", "metadata.namespace"])
        .delete_before_replace();
    if let Some(builtin) = kind.builtin() {
        schema = schema.replace_on(builtin.immutable.iter().copied());
    }
    match kind.kind.as_str() {
        // A LoadBalancer Service's delete waits for the cloud controller to delete the load
        // balancer and drop its finalizer: AWS takes minutes (the Terraform AWS provider
        // gives ELB deletes 10–15), and the network cannot go before it.
        "Service" => {
            schema = schema.computed(["loadBalancer"]).timeouts(DefaultTimeouts {
                delete: Duration::from_secs(900),
                ..DefaultTimeouts::default()
            })
        }
        "Deployment" | "StatefulSet" | "DaemonSet" => {
            schema = schema.timeouts(DefaultTimeouts {
                create: Duration::from_secs(600),
                update: Duration::from_secs(600),
                ..DefaultTimeouts::default()
            })
        }
        "Namespace" => {
            schema = schema.timeouts(DefaultTimeouts {
                delete: Duration::from_secs(600),
                ..DefaultTimeouts::default()
            })
        }
        _ => {}
    }
    schema
}

/// The finalizer the cloud controller puts on LoadBalancer Services until their load balancer
/// is deleted.
pub const LOAD_BALANCER_FINALIZER: &str = "service.kubernetes.io/load-balancer-cleanup";

/// What deleting the recorded object `inputs` of `kind` does besides the DELETE, for the plan:
/// the waits that can take minutes, with `delete_limit` as their time limit. Every delete waits
/// until the object is gone (foreground), which for most kinds is a moment and goes unsaid.
pub fn delete_effects(kind: &Kind, inputs: &Value, delete_limit: Duration) -> Vec<String> {
    let minutes = delete_limit.as_secs().div_ceil(60);
    match kind.kind.as_str() {
        "Service"
            if inputs
                .get("spec")
                .and_then(|spec| spec.get("type"))
                .and_then(Value::as_str)
                == Some("LoadBalancer") =>
        {
            vec![format!(
                "waits until the cloud controller has deleted its load balancer and removed the \
                 `{LOAD_BALANCER_FINALIZER}` finalizer (AWS takes minutes; time limit {minutes} min), \
                 so the network it sits in can go after it"
            )]
        }
        "Namespace" => vec![format!(
            "waits until Kubernetes has deleted everything in the namespace (it is Terminating \
             until then; time limit {minutes} min)"
        )],
        _ => Vec::new(),
    }
}

/// The cloud id of an object: `namespace/name`, or `name` when cluster-scoped.
pub fn cloud_id(namespace: Option<&str>, name: &str) -> String {
    match namespace {
        Some(namespace) => format!("{namespace}/{name}"),
        None => name.to_owned(),
    }
}

/// Splits a cloud id into namespace and name.
pub fn split_cloud_id(id: &str) -> (Option<&str>, &str) {
    match id.split_once('/') {
        Some((namespace, name)) => (Some(namespace), name),
        None => (None, id),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_tokens_round_trip() {
        for token in [
            "k8s:core/v1:Namespace",
            "k8s:apps/v1:Deployment",
            "k8s:networking.k8s.io/v1:NetworkPolicy",
            "k8s:example.com/v1alpha1:Widget",
        ] {
            let kind = Kind::from_type_token(token).unwrap();
            assert_eq!(kind.type_token(), token);
        }
        let ns = Kind::from_type_token("k8s:core/v1:Namespace").unwrap();
        assert_eq!(ns.api_version(), "v1");
        assert!(!ns.is_namespaced());
        assert_eq!(
            Kind::from_api_version("apps/v1", "Deployment").type_token(),
            "k8s:apps/v1:Deployment"
        );
        for bad in ["k8s:provider", "aws:ec2/vpc", "k8s:v1:Pod", "k8s:/v1:Pod"] {
            assert_eq!(Kind::from_type_token(bad), None, "{bad}");
        }
    }

    #[test]
    fn schemas_replace_on_immutable_fields() {
        let schema = schema_for(&Kind::new("apps", "v1", "Deployment"));
        let paths: Vec<String> = schema.replace_on.iter().map(|p| p.to_string()).collect();
        assert!(paths.contains(&"spec.selector".to_owned()));
        assert!(schema.delete_before_replace && schema.echo_inputs);
        assert_eq!(
            split_cloud_id(&cloud_id(Some("default"), "web")),
            (Some("default"), "web")
        );
    }

    #[test]
    fn deletes_that_wait_for_controllers_say_so() {
        let service = Kind::new("", "v1", "Service");
        let minutes_15 = Duration::from_secs(900);
        let load_balancer = Value::from_json(serde_json::json!({
            "metadata": {"name": "web"},
            "spec": {"type": "LoadBalancer"}
        }));
        let effects = delete_effects(&service, &load_balancer, minutes_15);
        assert_eq!(effects.len(), 1, "{effects:?}");
        assert!(
            effects[0].contains(LOAD_BALANCER_FINALIZER)
                && effects[0].contains("time limit 15 min"),
            "{effects:?}"
        );
        let cluster_ip = Value::from_json(serde_json::json!({"spec": {"type": "ClusterIP"}}));
        assert!(delete_effects(&service, &cluster_ip, minutes_15).is_empty());
        assert!(delete_effects(&service, &Value::Null, minutes_15).is_empty());
        let namespace = Kind::new("", "v1", "Namespace");
        let effects = delete_effects(&namespace, &Value::Null, Duration::from_secs(600));
        assert!(
            effects[0].contains("Terminating") && effects[0].contains("time limit 10 min"),
            "{effects:?}"
        );
        let config_map = Kind::new("", "v1", "ConfigMap");
        assert!(delete_effects(&config_map, &Value::Null, minutes_15).is_empty());
        // The schema's time limits are the ones the effects quote.
        assert_eq!(schema_for(&service).timeouts.delete, minutes_15);
    }
}
