//! The hook through which a sandbox serves each EKS cluster's Kubernetes API.

use std::fmt::Debug;

/// What DescribeCluster reports for an ACTIVE cluster served by a [`ClusterHost`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterEndpoint {
    /// The API server URL (`endpoint`).
    pub url: String,
    /// The cluster CA certificate in PEM; reported base64-encoded as
    /// `certificateAuthority.data`, as EKS does. Empty for a plain-HTTP endpoint (moto's
    /// placeholder is kept).
    pub ca_pem: String,
}

/// What the layer knows of a cluster when it calls the host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterInfo {
    /// The cluster name.
    pub name: String,
    /// Its ARN.
    pub arn: String,
    /// Its Kubernetes version.
    pub version: String,
    /// The region.
    pub region: String,
    /// The subnets of its `resourcesVpcConfig` (a cloud controller finds the cluster's VPC
    /// from them).
    pub subnet_ids: Vec<String>,
}

/// Called by the layer when an EKS cluster becomes ACTIVE (first seen ACTIVE) and when it is
/// gone (its DELETING period is over). Calls run on a blocking thread, so an implementation
/// may start or stop servers.
///
/// Without a host, DescribeCluster reports moto's endpoint and certificate.
pub trait ClusterHost: Send + Sync + Debug {
    /// The cluster is ACTIVE: return its endpoint and CA, or `None` to keep moto's.
    fn cluster_active(&self, cluster: &ClusterInfo) -> Option<ClusterEndpoint>;
    /// The cluster is gone.
    fn cluster_deleted(&self, name: &str);
}
