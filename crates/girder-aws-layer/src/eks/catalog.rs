//! What EKS offers: Kubernetes versions, add-on versions per Kubernetes version, and the
//! AWS-managed access policies (as `DescribeAddonVersions` and `ListAccessPolicies` list them
//! at the end of 2026).

/// The Kubernetes versions EKS runs (standard and extended support).
pub const KUBERNETES_VERSIONS: [&str; 8] = [
    "1.29", "1.30", "1.31", "1.32", "1.33", "1.34", "1.35", "1.36",
];

/// The AWS-managed access policies: `(name, cluster-access-policy ARN)`.
pub const ACCESS_POLICIES: [(&str, &str); 10] = [
    (
        "AmazonEKSAdminPolicy",
        "arn:aws:eks::aws:cluster-access-policy/AmazonEKSAdminPolicy",
    ),
    (
        "AmazonEKSAdminViewPolicy",
        "arn:aws:eks::aws:cluster-access-policy/AmazonEKSAdminViewPolicy",
    ),
    (
        "AmazonEKSAutoNodePolicy",
        "arn:aws:eks::aws:cluster-access-policy/AmazonEKSAutoNodePolicy",
    ),
    (
        "AmazonEKSBlockStoragePolicy",
        "arn:aws:eks::aws:cluster-access-policy/AmazonEKSBlockStoragePolicy",
    ),
    (
        "AmazonEKSClusterAdminPolicy",
        "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy",
    ),
    (
        "AmazonEKSComputePolicy",
        "arn:aws:eks::aws:cluster-access-policy/AmazonEKSComputePolicy",
    ),
    (
        "AmazonEKSEditPolicy",
        "arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy",
    ),
    (
        "AmazonEKSLoadBalancingPolicy",
        "arn:aws:eks::aws:cluster-access-policy/AmazonEKSLoadBalancingPolicy",
    ),
    (
        "AmazonEKSNetworkingPolicy",
        "arn:aws:eks::aws:cluster-access-policy/AmazonEKSNetworkingPolicy",
    ),
    (
        "AmazonEKSViewPolicy",
        "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy",
    ),
];

/// One add-on version: the version, the Kubernetes versions it runs on, and those it is the
/// default for.
pub(crate) struct AddonVersion {
    pub version: String,
    pub clusters: Vec<&'static str>,
    pub default_for: Vec<&'static str>,
}

/// One add-on.
pub(crate) struct AddonSpec {
    pub name: &'static str,
    pub kind: &'static str,
    pub requires_iam: bool,
    pub versions: Vec<AddonVersion>,
}

fn range(from: &str, to: &str) -> Vec<&'static str> {
    KUBERNETES_VERSIONS
        .iter()
        .copied()
        .filter(|v| minor(v) >= minor(from) && minor(v) <= minor(to))
        .collect()
}

/// The minor number of `1.NN`.
pub(crate) fn minor(version: &str) -> u32 {
    version
        .split('.')
        .nth(1)
        .and_then(|m| m.parse().ok())
        .unwrap_or(0)
}

fn version(
    version: &str,
    clusters: Vec<&'static str>,
    default_for: Vec<&'static str>,
) -> AddonVersion {
    AddonVersion {
        version: version.to_owned(),
        clusters,
        default_for,
    }
}

/// Versions shared by every Kubernetes version: the newest is the default everywhere.
fn everywhere(versions: &[&str]) -> Vec<AddonVersion> {
    versions
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let all = range("1.29", "1.36");
            version(v, all.clone(), if i == 0 { all } else { Vec::new() })
        })
        .collect()
}

/// The add-ons EKS publishes.
pub(crate) fn addons() -> Vec<AddonSpec> {
    // kube-proxy follows the Kubernetes minor: one line of builds per minor.
    let kube_proxy_patch = [
        ("1.29", "15"),
        ("1.30", "14"),
        ("1.31", "13"),
        ("1.32", "9"),
        ("1.33", "5"),
        ("1.34", "2"),
        ("1.35", "1"),
        ("1.36", "0"),
    ];
    let kube_proxy = kube_proxy_patch
        .iter()
        .flat_map(|(k8s, patch)| {
            [
                version(
                    &format!("v{k8s}.{patch}-eksbuild.2"),
                    vec![*k8s],
                    vec![*k8s],
                ),
                version(
                    &format!("v{k8s}.{patch}-eksbuild.1"),
                    vec![*k8s],
                    Vec::new(),
                ),
            ]
        })
        .collect();
    let coredns = vec![
        version(
            "v1.13.1-eksbuild.1",
            range("1.34", "1.36"),
            range("1.35", "1.36"),
        ),
        version(
            "v1.12.4-eksbuild.1",
            range("1.33", "1.35"),
            range("1.33", "1.34"),
        ),
        version(
            "v1.11.4-eksbuild.14",
            range("1.31", "1.33"),
            range("1.31", "1.32"),
        ),
        version(
            "v1.11.3-eksbuild.2",
            range("1.29", "1.31"),
            range("1.29", "1.30"),
        ),
    ];
    vec![
        AddonSpec {
            name: "vpc-cni",
            kind: "networking",
            requires_iam: true,
            versions: everywhere(&[
                "v1.21.1-eksbuild.1",
                "v1.20.4-eksbuild.2",
                "v1.19.6-eksbuild.7",
            ]),
        },
        AddonSpec {
            name: "coredns",
            kind: "networking",
            requires_iam: false,
            versions: coredns,
        },
        AddonSpec {
            name: "kube-proxy",
            kind: "networking",
            requires_iam: false,
            versions: kube_proxy,
        },
        AddonSpec {
            name: "aws-ebs-csi-driver",
            kind: "storage",
            requires_iam: true,
            versions: everywhere(&["v1.53.0-eksbuild.1", "v1.48.0-eksbuild.2"]),
        },
        AddonSpec {
            name: "aws-efs-csi-driver",
            kind: "storage",
            requires_iam: true,
            versions: everywhere(&["v2.1.15-eksbuild.1", "v2.1.9-eksbuild.1"]),
        },
        AddonSpec {
            name: "snapshot-controller",
            kind: "storage",
            requires_iam: false,
            versions: everywhere(&["v8.3.0-eksbuild.1", "v8.2.0-eksbuild.1"]),
        },
        AddonSpec {
            name: "eks-pod-identity-agent",
            kind: "security",
            requires_iam: false,
            versions: everywhere(&["v1.3.10-eksbuild.1", "v1.3.8-eksbuild.2"]),
        },
        AddonSpec {
            name: "metrics-server",
            kind: "observability",
            requires_iam: false,
            versions: everywhere(&["v0.8.0-eksbuild.3", "v0.7.2-eksbuild.4"]),
        },
        AddonSpec {
            name: "amazon-cloudwatch-observability",
            kind: "observability",
            requires_iam: true,
            versions: everywhere(&["v4.6.0-eksbuild.1", "v4.3.0-eksbuild.1"]),
        },
    ]
}

/// The add-on `name`, if EKS publishes it.
pub(crate) fn addon(name: &str) -> Option<AddonSpec> {
    addons().into_iter().find(|a| a.name == name)
}

impl AddonSpec {
    /// The default version for a Kubernetes version.
    pub fn default_for(&self, k8s: &str) -> Option<&AddonVersion> {
        self.versions
            .iter()
            .find(|v| v.default_for.contains(&k8s))
            .or_else(|| self.versions.iter().find(|v| v.clusters.contains(&k8s)))
    }

    /// The version `v`, if it runs on `k8s`.
    pub fn compatible(&self, v: &str, k8s: &str) -> bool {
        self.versions
            .iter()
            .any(|x| x.version == v && x.clusters.contains(&k8s))
    }

    /// `DescribeAddonVersions`' entry, limited to `k8s` when given.
    pub fn to_json(&self, k8s: Option<&str>) -> serde_json::Value {
        let versions: Vec<serde_json::Value> = self
            .versions
            .iter()
            .filter(|v| k8s.is_none_or(|k| v.clusters.contains(&k)))
            .map(|v| {
                serde_json::json!({
                    "addonVersion": v.version,
                    "architecture": ["amd64", "arm64"],
                    "computeTypes": ["ec2", "hybrid"],
                    "compatibilities": v.clusters.iter()
                        .filter(|c| k8s.is_none_or(|k| k == **c))
                        .map(|c| serde_json::json!({
                            "clusterVersion": c,
                            "platformVersions": ["*"],
                            "defaultVersion": v.default_for.contains(c),
                        }))
                        .collect::<Vec<_>>(),
                    "requiresConfiguration": false,
                    "requiresIamPermissions": self.requires_iam,
                })
            })
            .collect();
        serde_json::json!({
            "addonName": self.name,
            "type": self.kind,
            "addonVersions": versions,
            "publisher": "eks",
            "owner": "aws",
        })
    }
}
