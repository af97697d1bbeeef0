//! EKS as the layer serves it: moto keeps clusters and nodegroups, the layer adds what moto
//! lacks — add-ons, access entries and access policies, cluster and nodegroup version
//! updates, `DescribeUpdate`/`ListUpdates`, the cluster's `accessConfig` — and the slow
//! lifecycles of all of them.
//!
//! The state lives in an [`EksRegistry`] with a public, thread-safe read API, so a
//! Kubernetes emulator serving a cluster can authorize requests from its access entries.

mod access;
mod addons;
mod catalog;
mod clusters;
mod handlers;

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::behaviours::Ctx;
use crate::host::ClusterEndpoint;

pub use catalog::{ACCESS_POLICIES, KUBERNETES_VERSIONS};
pub(crate) use handlers::{after, before, sweep};

/// A cluster's `accessConfig`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessConfig {
    /// `CONFIG_MAP`, `API_AND_CONFIG_MAP` or `API`.
    pub authentication_mode: String,
    /// Whether the creator got an admin access entry.
    pub bootstrap_cluster_creator_admin_permissions: bool,
}

impl AccessConfig {
    /// Whether access entries are honoured (`API` or `API_AND_CONFIG_MAP`).
    pub fn uses_access_entries(&self) -> bool {
        self.authentication_mode != "CONFIG_MAP"
    }
}

/// Where an access policy applies.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum AccessScope {
    /// The whole cluster.
    Cluster,
    /// Only these namespaces.
    Namespace {
        /// The namespaces (`*` suffix wildcards allowed, as EKS allows them).
        namespaces: Vec<String>,
    },
}

/// An access policy associated with an access entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AssociatedAccessPolicy {
    /// `arn:aws:eks::aws:cluster-access-policy/NAME`.
    pub policy_arn: String,
    /// Where it applies.
    pub scope: AccessScope,
    /// When it was associated.
    pub associated_at: SystemTime,
    /// When it was last changed.
    pub modified_at: SystemTime,
}

/// An EKS access entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessEntry {
    /// The cluster.
    pub cluster_name: String,
    /// The IAM principal (a role or user ARN).
    pub principal_arn: String,
    /// `STANDARD`, `EC2_LINUX`, `EC2_WINDOWS`, `FARGATE_LINUX`, `HYBRID_LINUX` or `EC2`.
    pub kind: String,
    /// The Kubernetes user name the principal authenticates as.
    pub username: String,
    /// Kubernetes groups (for RBAC bindings).
    pub kubernetes_groups: Vec<String>,
    /// The entry's ARN.
    pub access_entry_arn: String,
    /// Tags.
    pub tags: BTreeMap<String, String>,
    /// Created.
    pub created_at: SystemTime,
    /// Last changed.
    pub modified_at: SystemTime,
    /// Associated access policies.
    pub policies: Vec<AssociatedAccessPolicy>,
}

/// An EKS add-on as the layer keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Addon {
    /// `vpc-cni`, `coredns`, …
    pub name: String,
    /// The cluster.
    pub cluster_name: String,
    /// The installed version (`v1.20.4-eksbuild.2`).
    pub version: String,
    /// The ARN.
    pub arn: String,
    /// The IRSA role, if any.
    pub service_account_role_arn: Option<String>,
    /// Configuration values (JSON or YAML).
    pub configuration_values: Option<String>,
    /// Tags.
    pub tags: BTreeMap<String, String>,
    /// Created.
    pub created_at: SystemTime,
    /// Last changed.
    pub modified_at: SystemTime,
    /// When it was deleted (it is `DELETING` for a while).
    pub deleted_at: Option<SystemTime>,
}

/// An EKS update (`DescribeUpdate`).
#[derive(Clone, Debug)]
pub(crate) struct UpdateRecord {
    pub id: String,
    pub kind: String,
    pub params: Vec<(String, String)>,
    pub created: SystemTime,
    pub nodegroup: Option<String>,
    pub addon: Option<String>,
}

/// A nodegroup's lifecycle times and moto's last copy of it.
#[derive(Clone, Debug)]
pub(crate) struct NodegroupRecord {
    pub created: SystemTime,
    pub deleted: Option<SystemTime>,
    pub copy: serde_json::Value,
}

/// Whether the cluster host serves the cluster.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) enum Hosting {
    /// Not yet ACTIVE (or no host).
    #[default]
    Waiting,
    /// The host is being asked.
    Starting,
    /// The host serves it (or declined: `None`).
    Serving(Option<ClusterEndpoint>),
    /// The host was told it is gone.
    Stopped,
}

/// Everything the layer keeps about one cluster.
#[derive(Clone, Debug)]
pub(crate) struct ClusterRecord {
    pub arn: String,
    pub region: String,
    pub created: SystemTime,
    pub deleted: Option<SystemTime>,
    pub copy: serde_json::Value,
    pub access: AccessConfig,
    pub updates: Vec<UpdateRecord>,
    pub nodegroups: BTreeMap<String, NodegroupRecord>,
    pub addons: BTreeMap<String, Addon>,
    pub entries: BTreeMap<String, AccessEntry>,
    pub hosting: Hosting,
    /// The IAM principal that created the cluster (as its access entry would name it).
    pub creator: Option<String>,
}

impl ClusterRecord {
    /// The account id, from the cluster ARN.
    pub fn account(&self) -> &str {
        self.arn.split(':').nth(4).unwrap_or("123456789012")
    }
}

/// A lifecycle phase.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Phase {
    Creating,
    Active,
    Updating,
    Deleting,
    Gone,
}

impl Phase {
    /// The EKS status string.
    pub fn status(self) -> &'static str {
        match self {
            Phase::Creating => "CREATING",
            Phase::Active => "ACTIVE",
            Phase::Updating => "UPDATING",
            Phase::Deleting | Phase::Gone => "DELETING",
        }
    }

    /// Where an object is now, given its times and durations (zero with lifecycles off).
    pub fn of(
        ctx: &Ctx<'_>,
        created: SystemTime,
        deleted: Option<SystemTime>,
        (create_secs, delete_secs): (f64, f64),
        updating: bool,
    ) -> Phase {
        let on = ctx.behaviours.lifecycle.enabled;
        match deleted {
            Some(at) if on && ctx.within(Some(at), delete_secs) => Phase::Deleting,
            Some(_) => Phase::Gone,
            None if on && ctx.within(Some(created), create_secs) => Phase::Creating,
            None if on && updating => Phase::Updating,
            None => Phase::Active,
        }
    }
}

/// The EKS state the layer keeps, shared with whoever serves the clusters' Kubernetes API.
///
/// ```
/// use girder_aws_layer::eks::EksRegistry;
///
/// let registry = EksRegistry::default();
/// assert!(registry.access_entries("no-such-cluster").is_empty());
/// assert!(registry.access_config("no-such-cluster").is_none());
/// ```
#[derive(Clone, Debug, Default)]
pub struct EksRegistry {
    clusters: Arc<RwLock<BTreeMap<String, ClusterRecord>>>,
}

impl EksRegistry {
    pub(crate) fn read(&self) -> RwLockReadGuard<'_, BTreeMap<String, ClusterRecord>> {
        self.clusters.read().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn write(&self) -> RwLockWriteGuard<'_, BTreeMap<String, ClusterRecord>> {
        self.clusters.write().unwrap_or_else(|e| e.into_inner())
    }

    /// The names of the clusters created through the layer and not deleted.
    pub fn cluster_names(&self) -> Vec<String> {
        self.read()
            .iter()
            .filter(|(_, c)| c.deleted.is_none())
            .map(|(name, _)| name.clone())
            .collect()
    }

    /// The cluster's `accessConfig`.
    pub fn access_config(&self, cluster: &str) -> Option<AccessConfig> {
        self.read()
            .get(cluster)
            .filter(|c| c.deleted.is_none())
            .map(|c| c.access.clone())
    }

    /// The cluster's access entries with their associated policies.
    pub fn access_entries(&self, cluster: &str) -> Vec<AccessEntry> {
        self.read()
            .get(cluster)
            .filter(|c| c.deleted.is_none())
            .map(|c| c.entries.values().cloned().collect())
            .unwrap_or_default()
    }

    /// The access entry that applies to a caller, as EKS matches it: the caller's ARN as
    /// STS reports it (`arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION` matches the entry of
    /// `arn:aws:iam::ACCOUNT:role/[PATH/]ROLE`; an IAM user ARN matches its own entry).
    /// `None` when the cluster does not use access entries or none matches.
    pub fn access_entry_for(&self, cluster: &str, caller_arn: &str) -> Option<AccessEntry> {
        let clusters = self.read();
        let record = clusters.get(cluster).filter(|c| c.deleted.is_none())?;
        if !record.access.uses_access_entries() {
            return None;
        }
        let wanted = principal_of(caller_arn);
        record
            .entries
            .values()
            .find(|entry| same_principal(&entry.principal_arn, &wanted))
            .cloned()
    }

    /// The IAM principal that created the cluster (`arn:aws:iam::ACCOUNT:role/NAME` or
    /// `…:user/NAME`), if the layer saw the creation. In `CONFIG_MAP` mode EKS keeps this
    /// principal a cluster admin without an access entry; the cluster host honours that.
    pub fn creator(&self, cluster: &str) -> Option<String> {
        self.read()
            .get(cluster)
            .filter(|c| c.deleted.is_none())
            .and_then(|c| c.creator.clone())
    }

    /// The cluster's add-ons (not deleted).
    pub fn addons(&self, cluster: &str) -> Vec<Addon> {
        self.read()
            .get(cluster)
            .map(|c| {
                c.addons
                    .values()
                    .filter(|a| a.deleted_at.is_none())
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// The IAM principal of a caller ARN: `arn:aws:sts::A:assumed-role/R/S` → `arn:aws:iam::A:role/R`,
/// `arn:aws:sts::A:user/U` (as moto reports users) → `arn:aws:iam::A:user/U`.
pub fn principal_of(caller_arn: &str) -> String {
    let parts: Vec<&str> = caller_arn.splitn(6, ':').collect();
    if parts.len() != 6 || parts[2] != "sts" {
        return caller_arn.to_owned();
    }
    let (partition, account, resource) = (parts[1], parts[4], parts[5]);
    if let Some(rest) = resource.strip_prefix("assumed-role/") {
        let role = rest.split('/').next().unwrap_or(rest);
        return format!("arn:{partition}:iam::{account}:role/{role}");
    }
    format!("arn:{partition}:iam::{account}:{resource}")
}

/// Whether an entry's principal is the caller's: equal, or the same role name in the same
/// account when the entry's role has a path.
fn same_principal(entry: &str, caller: &str) -> bool {
    if entry == caller {
        return true;
    }
    let split = |arn: &str| -> Option<(String, String, String)> {
        let parts: Vec<&str> = arn.splitn(6, ':').collect();
        let resource = parts.get(5)?;
        let (kind, path) = resource.split_once('/')?;
        let name = path.rsplit('/').next()?;
        Some((parts.get(4)?.to_string(), kind.to_owned(), name.to_owned()))
    };
    matches!((split(entry), split(caller)), (Some(a), Some(b)) if a == b && a.1 == "role")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callers_map_to_their_principals() {
        assert_eq!(
            principal_of("arn:aws:sts::123456789012:assumed-role/admin/session-1"),
            "arn:aws:iam::123456789012:role/admin"
        );
        assert_eq!(
            principal_of("arn:aws:sts::123456789012:user/moto"),
            "arn:aws:iam::123456789012:user/moto"
        );
        assert!(same_principal(
            "arn:aws:iam::123456789012:role/team/admin",
            "arn:aws:iam::123456789012:role/admin"
        ));
        assert!(!same_principal(
            "arn:aws:iam::123456789012:role/admin",
            "arn:aws:iam::999999999999:role/admin"
        ));
    }
}
