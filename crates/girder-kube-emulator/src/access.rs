//! EKS access entries: which IAM principals may use the cluster, as which Kubernetes user
//! and groups, and with which EKS access policies (cluster-wide or in some namespaces).
//!
//! The emulator asks an [`AccessSource`] for the cluster's entries on every authenticated
//! request, so entries created, changed or deleted through the EKS API take effect at once,
//! as they do in EKS.

use std::sync::{Arc, RwLock};

use crate::auth::arn;

/// `AmazonEKSClusterAdminPolicy`: everything (Kubernetes' `cluster-admin`).
pub const CLUSTER_ADMIN_POLICY: &str =
    "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy";
/// `AmazonEKSAdminPolicy`: most resources, including Roles and RoleBindings (`admin`).
pub const ADMIN_POLICY: &str = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSAdminPolicy";
/// `AmazonEKSEditPolicy`: most resources, not RBAC (`edit`).
pub const EDIT_POLICY: &str = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy";
/// `AmazonEKSViewPolicy`: read most resources, not Secrets (`view`).
pub const VIEW_POLICY: &str = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy";
/// `AmazonEKSAdminViewPolicy`: read everything, Secrets included.
pub const ADMIN_VIEW_POLICY: &str =
    "arn:aws:eks::aws:cluster-access-policy/AmazonEKSAdminViewPolicy";
/// `AmazonEKSSecretReaderPolicy`: read Secrets.
pub const SECRET_READER_POLICY: &str =
    "arn:aws:eks::aws:cluster-access-policy/AmazonEKSSecretReaderPolicy";

/// Where an associated access policy applies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccessScope {
    /// The whole cluster, cluster-scoped resources included.
    Cluster,
    /// Namespaced resources in these namespaces; a name may end in `*` (`dev-*`).
    Namespaces(Vec<String>),
}

impl AccessScope {
    /// Whether a request in `namespace` (empty for cluster-scoped requests) is in scope.
    pub fn covers(&self, namespace: &str) -> bool {
        match self {
            AccessScope::Cluster => true,
            AccessScope::Namespaces(names) => {
                !namespace.is_empty()
                    && names.iter().any(|n| match n.strip_suffix('*') {
                        Some(prefix) => namespace.starts_with(prefix),
                        None => n == namespace,
                    })
            }
        }
    }
}

/// An access policy associated with an access entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessPolicyAssociation {
    /// The policy ARN (`arn:aws:eks::aws:cluster-access-policy/…`).
    pub policy_arn: String,
    /// Where it applies.
    pub access_scope: AccessScope,
}

/// One access entry of a cluster.
///
/// ```
/// use girder_kube_emulator::{AccessEntry, AccessScope, EDIT_POLICY};
///
/// let entry = AccessEntry::new("arn:aws:iam::123456789012:role/Deployer")
///     .kubernetes_groups(["deployers"])
///     .policy(EDIT_POLICY, AccessScope::Namespaces(vec!["apps".into()]));
/// assert_eq!(entry.access_policies.len(), 1);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessEntry {
    /// The IAM user or role ARN.
    pub principal_arn: String,
    /// The Kubernetes username; `None` is EKS's default (the user ARN for IAM users,
    /// `arn:aws:sts::ACCOUNT:assumed-role/ROLE/{{SessionName}}` for roles). May contain
    /// `{{SessionName}}`, `{{SessionNameRaw}}` and `{{AccountID}}`.
    pub username: Option<String>,
    /// Kubernetes groups, for RBAC bindings.
    pub kubernetes_groups: Vec<String>,
    /// Associated access policies.
    pub access_policies: Vec<AccessPolicyAssociation>,
}

impl AccessEntry {
    /// An entry for a principal, with the default username and no groups or policies.
    pub fn new(principal_arn: impl Into<String>) -> AccessEntry {
        AccessEntry {
            principal_arn: principal_arn.into(),
            username: None,
            kubernetes_groups: Vec::new(),
            access_policies: Vec::new(),
        }
    }

    /// Sets the Kubernetes username.
    pub fn username(mut self, username: impl Into<String>) -> AccessEntry {
        self.username = Some(username.into());
        self
    }

    /// Sets the Kubernetes groups.
    pub fn kubernetes_groups<I, S>(mut self, groups: I) -> AccessEntry
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.kubernetes_groups = groups.into_iter().map(Into::into).collect();
        self
    }

    /// Associates an access policy.
    pub fn policy(mut self, policy_arn: impl Into<String>, scope: AccessScope) -> AccessEntry {
        self.access_policies.push(AccessPolicyAssociation {
            policy_arn: policy_arn.into(),
            access_scope: scope,
        });
        self
    }

    /// Whether this entry is for `canonical_arn` (a role entry with a path matches the
    /// role's canonical ARN, which has none).
    pub(crate) fn matches(&self, canonical_arn: &str) -> bool {
        self.principal_arn == canonical_arn
            || arn::without_role_path(&self.principal_arn) == canonical_arn
    }

    /// The Kubernetes username of a caller, with EKS's default and templates.
    pub(crate) fn username_for(&self, caller_arn: &str, account: &str) -> String {
        let raw_session = arn::session_name(caller_arn).unwrap_or_default();
        let template = match &self.username {
            Some(u) => u.clone(),
            None => match arn::parse(&self.principal_arn) {
                Ok(p) if p.service == "iam" && p.resource.starts_with("role/") => {
                    let role = p.resource.rsplit('/').next().unwrap_or_default();
                    format!(
                        "arn:{}:sts::{}:assumed-role/{role}/{{{{SessionName}}}}",
                        p.partition, p.account
                    )
                }
                _ => self.principal_arn.clone(),
            },
        };
        template
            .replace("{{SessionNameRaw}}", raw_session)
            .replace("{{SessionName}}", &raw_session.replace('@', "-"))
            .replace("{{AccountID}}", account)
    }
}

/// Why an [`AccessSource`] could not answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot read the access entries of cluster `{cluster}`: {message}")]
pub struct AccessSourceError {
    /// The cluster asked about.
    pub cluster: String,
    /// What went wrong.
    pub message: String,
}

/// Where the emulator reads a cluster's access entries, per request.
#[async_trait::async_trait]
pub trait AccessSource: Send + Sync + std::fmt::Debug {
    /// The access entries of the EKS cluster named `cluster`.
    async fn access_entries(&self, cluster: &str) -> Result<Vec<AccessEntry>, AccessSourceError>;
}

/// Access entries kept in memory and served for any cluster name. Clones share the entries,
/// so a test can change them while the emulator runs.
///
/// ```
/// use girder_kube_emulator::{AccessEntry, AccessScope, InMemoryAccessSource, VIEW_POLICY};
///
/// let source = InMemoryAccessSource::new();
/// source.put(AccessEntry::new("arn:aws:iam::123456789012:user/Alice").policy(VIEW_POLICY, AccessScope::Cluster));
/// assert_eq!(source.entries().len(), 1);
/// source.remove("arn:aws:iam::123456789012:user/Alice");
/// assert!(source.entries().is_empty());
/// ```
#[derive(Debug, Clone, Default)]
pub struct InMemoryAccessSource {
    entries: Arc<RwLock<Vec<AccessEntry>>>,
}

impl InMemoryAccessSource {
    /// No entries.
    pub fn new() -> InMemoryAccessSource {
        InMemoryAccessSource::default()
    }

    /// Adds an entry, replacing the principal's previous one.
    pub fn put(&self, entry: AccessEntry) {
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        entries.retain(|e| e.principal_arn != entry.principal_arn);
        entries.push(entry);
    }

    /// Removes the principal's entry.
    pub fn remove(&self, principal_arn: &str) {
        self.entries
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|e| e.principal_arn != principal_arn);
    }

    /// The current entries.
    pub fn entries(&self) -> Vec<AccessEntry> {
        self.entries
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

#[async_trait::async_trait]
impl AccessSource for InMemoryAccessSource {
    async fn access_entries(&self, _cluster: &str) -> Result<Vec<AccessEntry>, AccessSourceError> {
        Ok(self.entries())
    }
}

/// Access entries read from a YAML or JSON file on every request (so another process can
/// change them), in the EKS API's shape:
///
/// ```yaml
/// - principalArn: arn:aws:iam::123456789012:role/Deployer
///   username: deployer            # optional
///   kubernetesGroups: [deployers] # optional
///   accessPolicies:
///   - policyArn: arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy
///     accessScope: {type: namespace, namespaces: [apps]}
///   - policyArn: arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy
///     accessScope: {type: cluster}
/// ```
#[derive(Debug, Clone)]
pub struct FileAccessSource {
    path: std::path::PathBuf,
}

impl FileAccessSource {
    /// Entries from `path`.
    pub fn new(path: impl Into<std::path::PathBuf>) -> FileAccessSource {
        FileAccessSource { path: path.into() }
    }

    /// Reads and parses the file.
    pub fn read(&self, cluster: &str) -> Result<Vec<AccessEntry>, AccessSourceError> {
        let error = |message: String| AccessSourceError {
            cluster: cluster.to_string(),
            message,
        };
        let text = std::fs::read_to_string(&self.path)
            .map_err(|e| error(format!("cannot read {}: {e}", self.path.display())))?;
        let entries: Vec<FileEntry> = serde_yaml_ng::from_str(&text).map_err(|e| {
            error(format!(
                "{} is not a list of access entries (principalArn, username, kubernetesGroups, accessPolicies): {e}",
                self.path.display()
            ))
        })?;
        entries
            .into_iter()
            .map(|e| {
                let policies = e
                    .access_policies
                    .into_iter()
                    .map(|p| {
                        let scope = match p.access_scope.kind.as_str() {
                            "cluster" => AccessScope::Cluster,
                            "namespace" => AccessScope::Namespaces(p.access_scope.namespaces),
                            other => {
                                return Err(error(format!(
                                    "access scope type {other:?} of {} in {}: use \"cluster\" or \"namespace\"",
                                    p.policy_arn,
                                    self.path.display()
                                )));
                            }
                        };
                        Ok(AccessPolicyAssociation {
                            policy_arn: p.policy_arn,
                            access_scope: scope,
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(AccessEntry {
                    principal_arn: e.principal_arn,
                    username: e.username,
                    kubernetes_groups: e.kubernetes_groups,
                    access_policies: policies,
                })
            })
            .collect()
    }
}

#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct FileEntry {
    principal_arn: String,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    kubernetes_groups: Vec<String>,
    #[serde(default)]
    access_policies: Vec<FilePolicy>,
}

#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct FilePolicy {
    policy_arn: String,
    access_scope: FileScope,
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct FileScope {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    namespaces: Vec<String>,
}

#[async_trait::async_trait]
impl AccessSource for FileAccessSource {
    async fn access_entries(&self, cluster: &str) -> Result<Vec<AccessEntry>, AccessSourceError> {
        self.read(cluster)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_read_from_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("entries.yaml");
        std::fs::write(
            &path,
            "- principalArn: arn:aws:iam::1:role/R\n  kubernetesGroups: [g]\n  accessPolicies:\n  - policyArn: p\n    accessScope: {type: namespace, namespaces: [a]}\n",
        )
        .unwrap();
        let entries = FileAccessSource::new(&path).read("c").unwrap();
        assert_eq!(
            entries,
            vec![
                AccessEntry::new("arn:aws:iam::1:role/R")
                    .kubernetes_groups(["g"])
                    .policy("p", AccessScope::Namespaces(vec!["a".into()]))
            ]
        );
        std::fs::write(&path, "- principalArn: x\n  accessPolicies:\n  - policyArn: p\n    accessScope: {type: galaxy}\n").unwrap();
        assert!(
            FileAccessSource::new(&path)
                .read("c")
                .unwrap_err()
                .message
                .contains("galaxy")
        );
    }

    #[test]
    fn scopes() {
        let ns = AccessScope::Namespaces(vec!["apps".into(), "dev-*".into()]);
        assert!(ns.covers("apps") && ns.covers("dev-alice"));
        assert!(!ns.covers("prod") && !ns.covers(""));
        assert!(AccessScope::Cluster.covers("") && AccessScope::Cluster.covers("x"));
    }

    #[test]
    fn usernames_follow_eks_defaults_and_templates() {
        let role = AccessEntry::new("arn:aws:iam::111122223333:role/ops/Deployer");
        assert!(role.matches("arn:aws:iam::111122223333:role/Deployer"));
        assert_eq!(
            role.username_for(
                "arn:aws:sts::111122223333:assumed-role/Deployer/alice@example.com",
                "111122223333"
            ),
            "arn:aws:sts::111122223333:assumed-role/Deployer/alice-example.com"
        );
        let user = AccessEntry::new("arn:aws:iam::111122223333:user/Bob");
        assert_eq!(
            user.username_for("arn:aws:iam::111122223333:user/Bob", "111122223333"),
            "arn:aws:iam::111122223333:user/Bob"
        );
        let custom = AccessEntry::new("arn:aws:iam::1:role/R")
            .username("ci:{{AccountID}}:{{SessionNameRaw}}");
        assert_eq!(
            custom.username_for("arn:aws:sts::1:assumed-role/R/a@b", "1"),
            "ci:1:a@b"
        );
    }
}
