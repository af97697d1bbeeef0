//! The cloud hook: what the emulator asks of a cloud when it plays the cloud controller
//! manager's service controller (load balancers for `type: LoadBalancer` Services) and
//! in-cluster controllers that talk to the cloud (external-dns).
//!
//! Set a [`CloudProvider`] with [`crate::KubeEmulatorBuilder::cloud_provider`]. Without one,
//! LoadBalancer Services get a made-up hostname after
//! [`crate::EmulatorConfig::lb_hostname_delay`], as before.
//!
//! The hook is called from its own task, never under the store lock, so a provider may make
//! as many HTTP calls as it likes; see the `controllers` module for the protocol.

use std::collections::BTreeMap;

use serde_json::Value;

/// The finalizer the service controller puts on every LoadBalancer Service, and removes once
/// the load balancer is gone (the name Kubernetes uses).
pub const LOAD_BALANCER_FINALIZER: &str = "service.kubernetes.io/load-balancer-cleanup";

/// One port of a Service, as a load balancer listener needs it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ServicePort {
    /// The port's name (may be empty).
    pub name: String,
    /// `TCP`, `UDP` or `SCTP`.
    pub protocol: String,
    /// The port the load balancer listens on.
    pub port: u16,
    /// The node port traffic goes to (0 when the Service has none).
    pub node_port: u16,
}

/// What a provider needs to know of a LoadBalancer Service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadBalancerService {
    /// The namespace.
    pub namespace: String,
    /// The name.
    pub name: String,
    /// The uid (cloud providers name load balancers after it).
    pub uid: String,
    /// The ports, in the Service's order.
    pub ports: Vec<ServicePort>,
    /// `spec.loadBalancerSourceRanges` (empty: anywhere).
    pub source_ranges: Vec<String>,
    /// The Service's annotations (`service.beta.kubernetes.io/aws-load-balancer-internal`, …).
    pub annotations: BTreeMap<String, String>,
}

impl LoadBalancerService {
    /// Reads a Service object.
    pub fn from_object(svc: &Value) -> LoadBalancerService {
        let text = |v: &Value, field: &str| {
            v.get(field)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        let meta = svc.get("metadata").cloned().unwrap_or_default();
        let port_number = |p: &Value, field: &str| {
            p.get(field)
                .and_then(Value::as_u64)
                .and_then(|n| u16::try_from(n).ok())
                .unwrap_or(0)
        };
        let ports = svc
            .pointer("/spec/ports")
            .and_then(Value::as_array)
            .map(|ports| {
                ports
                    .iter()
                    .map(|p| ServicePort {
                        name: text(p, "name"),
                        protocol: Some(text(p, "protocol"))
                            .filter(|p| !p.is_empty())
                            .unwrap_or_else(|| "TCP".into()),
                        port: port_number(p, "port"),
                        node_port: port_number(p, "nodePort"),
                    })
                    .collect()
            })
            .unwrap_or_default();
        let source_ranges = svc
            .pointer("/spec/loadBalancerSourceRanges")
            .and_then(Value::as_array)
            .map(|r| {
                r.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        let annotations = meta
            .get("annotations")
            .and_then(Value::as_object)
            .map(|a| {
                a.iter()
                    .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_owned())))
                    .collect()
            })
            .unwrap_or_default();
        LoadBalancerService {
            namespace: text(&meta, "namespace"),
            name: text(&meta, "name"),
            uid: text(&meta, "uid"),
            ports,
            source_ranges,
            annotations,
        }
    }
}

/// What a provider reports for a load balancer it made or found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadBalancerStatus {
    /// The DNS name, reported as `status.loadBalancer.ingress[0].hostname`.
    pub hostname: String,
}

/// The cluster as in-cluster cloud controllers (external-dns) see it: every Service and
/// Deployment, as stored.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ClusterView {
    /// The Services of all namespaces (terminating ones included, as a lister sees them).
    pub services: Vec<Value>,
    /// The Deployments of all namespaces.
    pub deployments: Vec<Value>,
}

/// Why a provider call failed; the emulator logs it and retries on a later pass, with a
/// growing delay, and keeps the finalizer meanwhile.
#[derive(Debug, thiserror::Error)]
pub enum CloudError {
    /// The cloud answered an error.
    #[error("{operation} failed: {code}: {message}")]
    Api {
        /// The operation (`CreateLoadBalancer`, …).
        operation: String,
        /// The error code (`DependencyViolation`, …).
        code: String,
        /// The error message.
        message: String,
    },
    /// The cloud did not answer, or answered something unreadable.
    #[error("{operation} failed: {reason}")]
    Transport {
        /// The operation.
        operation: String,
        /// What went wrong.
        reason: String,
    },
    /// The cluster cannot have the load balancer as things are (no suitable subnets, …).
    #[error("{0}")]
    Unsatisfiable(String),
}

/// A cloud, as the emulator's service controller and cloud-facing add-ons use it.
///
/// Every call may be repeated (after a failure, or because the Service changed), so each
/// must be idempotent: ensuring an existing load balancer updates it, deleting a missing one
/// succeeds.
#[async_trait::async_trait]
pub trait CloudProvider: Send + Sync + std::fmt::Debug {
    /// Creates or updates the load balancer of a LoadBalancer Service.
    async fn ensure_load_balancer(
        &self,
        service: &LoadBalancerService,
    ) -> Result<LoadBalancerStatus, CloudError>;

    /// Deletes the load balancer of a Service (being deleted, or no longer a LoadBalancer)
    /// and whatever was made for it.
    async fn delete_load_balancer(&self, service: &LoadBalancerService) -> Result<(), CloudError>;

    /// Called after the cluster changed, for controllers that act on the whole cluster (such
    /// as external-dns). The default does nothing.
    async fn sync_cluster(&self, _view: &ClusterView) -> Result<(), CloudError> {
        Ok(())
    }
}
