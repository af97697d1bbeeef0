//! cluster-autoscaler for EKS with Auto Scaling group auto-discovery — upstream's
//! `cluster-autoscaler-autodiscover.yaml` (v1.36) in Rust.

use std::time::Duration;

use girder_core::{Dependable, Diagnostic, Input, IntoInput, NodeId, Stack, interpolate};

use super::{
    ADDON_NAMESPACE, AddonNamespace, CRITICAL_PRIORITY, go_duration, irsa_subject, known,
    region_problem,
};
use crate::dsl::object::IntoNamespace;
use crate::dsl::{
    ClusterRole, ClusterRoleBinding, ClusterTarget, Deployment, DeploymentHandle, PolicyRule,
    Resources, Role, RoleBinding, ServiceAccount, ServiceAccountHandle,
};

/// How cluster-autoscaler picks the node group to grow.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Expander {
    /// The group that wastes the least CPU and memory after scheduling (upstream's AWS
    /// example, and the default here).
    #[default]
    LeastWaste,
    /// A random group.
    Random,
    /// The group that can schedule the most pods.
    MostPods,
    /// The cheapest group (on clouds with pricing).
    Price,
}

impl Expander {
    fn as_str(&self) -> &'static str {
        match self {
            Expander::LeastWaste => "least-waste",
            Expander::Random => "random",
            Expander::MostPods => "most-pods",
            Expander::Price => "price",
        }
    }
}

/// cluster-autoscaler on AWS: grows the Auto Scaling groups tagged
/// `k8s.io/cluster-autoscaler/enabled` and `k8s.io/cluster-autoscaler/<cluster>` (what EKS
/// managed nodegroups carry) when pods cannot be scheduled, within the groups' limits, and
/// removes nodes that stayed unneeded for the scale-down time (default 10 minutes, as in the
/// seed).
///
/// Its ServiceAccount `kube-system/cluster-autoscaler` carries the IRSA role ARN; the role's
/// trust should name [`irsa_service_account`](ClusterAutoscaler::irsa_service_account) only,
/// and its policy allow scaling only the groups tagged as owned by the cluster.
///
/// ```
/// use std::time::Duration;
/// use girder_core::{Output, Stack};
/// use girder_k8s::addons::ClusterAutoscaler;
/// use girder_k8s::dsl::DefaultProvider;
/// let mut s = Stack::new("prod");
/// // The cluster's name and the role's ARN are usually outputs: `eks.name()`, `role.arn()`.
/// let role_arn: Output<String> = Output::known("arn:aws:iam::123456789012:role/ca".into());
/// let autoscaler = ClusterAutoscaler::new("yolo")
///     .region("us-east-1")
///     .role_arn(&role_arn)
///     .scale_down_unneeded(Duration::from_secs(15 * 60));
/// assert_eq!(autoscaler.irsa_service_account(), ("kube-system", "cluster-autoscaler"));
/// let handle = autoscaler.add(DefaultProvider, &mut s);
/// assert_eq!(handle.service_account().object_name(), "cluster-autoscaler");
/// assert!(s.finish().is_ok());
/// ```
#[derive(Clone, Debug)]
#[must_use = "a builder declares nothing until it is added to the stack with `.add(…)`"]
pub struct ClusterAutoscaler {
    cluster: Input<String>,
    region: Option<Input<String>>,
    role_arn: Option<Input<String>>,
    scale_down_unneeded: Duration,
    expander: Expander,
    namespace: AddonNamespace,
    image: String,
    resources: Resources,
}

impl ClusterAutoscaler {
    /// The pinned image (match its minor version to the cluster's Kubernetes version).
    pub const IMAGE: &'static str = "registry.k8s.io/autoscaling/cluster-autoscaler:v1.36.0";

    /// The name of its objects (ServiceAccount, RBAC, Deployment).
    pub const NAME: &'static str = "cluster-autoscaler";

    /// The default time a node must be unneeded before it is removed.
    pub const DEFAULT_SCALE_DOWN_UNNEEDED: Duration = Duration::from_secs(10 * 60);

    /// cluster-autoscaler for the EKS cluster `cluster` (a name or an output such as
    /// `eks.name()`), in `kube-system`, with the pinned image and upstream's requests and
    /// limits (100m CPU, 600Mi memory).
    pub fn new(cluster: impl IntoInput<String>) -> ClusterAutoscaler {
        ClusterAutoscaler {
            cluster: cluster.into_input(),
            region: None,
            role_arn: None,
            scale_down_unneeded: ClusterAutoscaler::DEFAULT_SCALE_DOWN_UNNEEDED,
            expander: Expander::LeastWaste,
            namespace: AddonNamespace::new(ADDON_NAMESPACE),
            image: ClusterAutoscaler::IMAGE.to_owned(),
            resources: Resources::new()
                .cpu("100m", "100m")
                .memory("600Mi", "600Mi"),
        }
    }

    /// The cluster's AWS region (`AWS_REGION`), such as `us-east-1`. Required: pods often
    /// cannot reach the instance metadata service to find it.
    pub fn region(mut self, region: impl IntoInput<String>) -> ClusterAutoscaler {
        self.region = Some(region.into_input());
        self
    }

    /// The ARN of the IAM role its pods assume through IRSA (a typed `RoleArn` output
    /// passes). Required: it changes the size of Auto Scaling groups through the AWS API.
    pub fn role_arn(mut self, arn: impl IntoInput<String>) -> ClusterAutoscaler {
        self.role_arn = Some(arn.into_input());
        self
    }

    /// How long a node must be unneeded before it is removed (default 10 minutes).
    pub fn scale_down_unneeded(mut self, after: Duration) -> ClusterAutoscaler {
        self.scale_down_unneeded = after;
        self
    }

    /// How the node group to grow is chosen (default least waste).
    pub fn expander(mut self, expander: Expander) -> ClusterAutoscaler {
        self.expander = expander;
        self
    }

    /// The namespace (default `kube-system`).
    pub fn namespace(mut self, namespace: impl IntoNamespace) -> ClusterAutoscaler {
        self.namespace = AddonNamespace::new(namespace);
        self
    }

    /// Another image, such as the release matching another Kubernetes minor version.
    pub fn image(mut self, image: impl Into<String>) -> ClusterAutoscaler {
        self.image = image.into();
        self
    }

    /// Requests and limits (large clusters need more memory).
    pub fn resources(mut self, resources: Resources) -> ClusterAutoscaler {
        self.resources = resources;
        self
    }

    /// The (namespace, name) of its ServiceAccount: what the IRSA role's trust policy must
    /// name (`system:serviceaccount:NAMESPACE:NAME`).
    pub fn irsa_service_account(&self) -> (&str, &str) {
        (self.namespace.name(), ClusterAutoscaler::NAME)
    }

    fn problems(&self, resource: &str) -> Vec<Diagnostic> {
        let mut problems = Vec::new();
        if let Some(cluster) = known(&self.cluster) {
            let valid = !cluster.is_empty()
                && cluster.len() <= 100
                && cluster.starts_with(|c: char| c.is_ascii_alphanumeric())
                && cluster
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
            if !valid {
                problems.push(
                    Diagnostic::error(format!("`{cluster}` is not an EKS cluster name, so auto-discovery finds no node groups"))
                        .field("cluster")
                        .value(&cluster)
                        .fix("pass the cluster's name (1 to 100 letters, digits, `-` and `_`), best as an output: `ClusterAutoscaler::new(eks.name())`"),
                );
            }
        }
        match &self.region {
            None => problems.push(
                Diagnostic::error("cluster-autoscaler needs the cluster's AWS region")
                    .field("env[AWS_REGION]")
                    .fix("add `.region(\"us-east-1\")` (the cluster's region)"),
            ),
            Some(region) => {
                if let Some(problem) = known(region).and_then(|r| region_problem(&r)) {
                    problems.push(
                        Diagnostic::error(problem)
                            .field("env[AWS_REGION]")
                            .value(known(region).unwrap_or_default())
                            .fix("use the cluster's region, such as `us-east-1`"),
                    );
                }
            }
        }
        if self.role_arn.is_none() {
            let (namespace, name) = self.irsa_service_account();
            problems.push(
                Diagnostic::error("cluster-autoscaler resizes Auto Scaling groups through the AWS API, but has no IAM role")
                    .field("role_arn")
                    .fix(format!(
                        "pass the ARN of an IRSA role trusted by `{}` only, with the cluster-autoscaler policy: `.role_arn(eks.service_account_role(\"{namespace}\", \"{name}\").policy(\"autoscaling\", policies::cluster_autoscaler(CLUSTER)).add(s).arn())`",
                        irsa_subject(namespace, name)
                    )),
            );
        }
        if self.scale_down_unneeded < Duration::from_secs(60) {
            problems.push(
                Diagnostic::warning(format!(
                    "a scale-down-unneeded time of {} removes nodes that are idle only briefly, so the cluster shrinks and grows again with every short dip in load",
                    go_duration(self.scale_down_unneeded)
                ))
                .field("args[--scale-down-unneeded-time]")
                .value(go_duration(self.scale_down_unneeded))
                .fix("use a few minutes or more; the default is 10 minutes"),
            );
        }
        problems.into_iter().map(|p| p.resource(resource)).collect()
    }

    /// Adds its ServiceAccount, RBAC and Deployment to the stack.
    pub fn add(self, target: impl ClusterTarget, stack: &mut Stack) -> ClusterAutoscalerHandle {
        let name = ClusterAutoscaler::NAME;
        let resource = format!("deployment/{}/{name}", self.namespace.name());
        for problem in self.problems(&resource) {
            stack.report(problem);
        }

        let mut account = ServiceAccount::new(name)
            .namespace(&self.namespace)
            .label("k8s-app", name);
        if let Some(arn) = &self.role_arn {
            account = account.irsa_role_arn(arn.clone());
        }
        let account = account.add(&target, stack);

        let cluster_role = rules(ClusterRole::new(name).label("k8s-app", name)).add(&target, stack);
        ClusterRoleBinding::new(name, &cluster_role)
            .label("k8s-app", name)
            .subject(&account)
            .add(stack);
        // Its status ConfigMap, in its own namespace.
        let role = Role::new(name)
            .namespace(&self.namespace)
            .label("k8s-app", name)
            .rule(PolicyRule::new(
                [""],
                ["configmaps"],
                ["create", "list", "watch"],
            ))
            .rule(
                PolicyRule::new([""], ["configmaps"], ["delete", "get", "update", "watch"])
                    .resource_names([
                        "cluster-autoscaler-status",
                        "cluster-autoscaler-priority-expander",
                    ]),
            )
            .add(&target, stack);
        RoleBinding::new(name, &role)
            .label("k8s-app", name)
            .subject(&account)
            .add(stack);

        let cluster = self.cluster.clone().into_output();
        let mut deployment = Deployment::new(name)
            .namespace(&self.namespace)
            .label("k8s-app", name)
            .image(self.image.as_str())
            .command(["./cluster-autoscaler"])
            .args([
                "--cloud-provider=aws".to_owned(),
                format!(
                    "--scale-down-unneeded-time={}",
                    go_duration(self.scale_down_unneeded)
                ),
                format!("--expander={}", self.expander.as_str()),
                "--balance-similar-node-groups=true".to_owned(),
                "--skip-nodes-with-local-storage=false".to_owned(),
                "--skip-nodes-with-system-pods=false".to_owned(),
                "--stderrthreshold=info".to_owned(),
                "--v=4".to_owned(),
            ])
            .arg(interpolate!(
                "--node-group-auto-discovery=asg:tag=k8s.io/cluster-autoscaler/enabled,k8s.io/cluster-autoscaler/{}",
                cluster
            ))
            .named_port("metrics", 8085)
            .liveness_http("/health-check", 8085)
            .resources(self.resources.clone())
            .service_account(&account)
            .priority_class(CRITICAL_PRIORITY)
            .node_selector("kubernetes.io/os", "linux")
            // It must not evict itself when it drains the node it runs on.
            .pod_annotation("cluster-autoscaler.kubernetes.io/safe-to-evict", "false")
            .replicas(1);
        if let Some(region) = &self.region {
            deployment = deployment.env("AWS_REGION", region.clone());
        }
        let deployment = deployment.add(&target, stack);
        ClusterAutoscalerHandle {
            deployment,
            service_account: account,
        }
    }
}

/// Upstream's ClusterRole: watch what it simulates scheduling of, change nodes and evict pods
/// when it scales down, and its own lease.
fn rules(role: ClusterRole) -> ClusterRole {
    let read = ["watch", "list", "get"];
    role.rule(PolicyRule::new(
        [""],
        ["events", "endpoints"],
        ["create", "patch"],
    ))
    .rule(PolicyRule::new([""], ["pods/eviction"], ["create"]))
    .rule(PolicyRule::new([""], ["pods/status"], ["update"]))
    .rule(
        PolicyRule::new([""], ["endpoints"], ["get", "update"])
            .resource_names(["cluster-autoscaler"]),
    )
    .rule(PolicyRule::new(
        [""],
        ["nodes"],
        ["watch", "list", "get", "update"],
    ))
    .rule(PolicyRule::new(
        [""],
        [
            "namespaces",
            "pods",
            "services",
            "replicationcontrollers",
            "persistentvolumeclaims",
            "persistentvolumes",
        ],
        read,
    ))
    .rule(PolicyRule::new(
        ["extensions"],
        ["replicasets", "daemonsets"],
        read,
    ))
    .rule(PolicyRule::new(
        ["policy"],
        ["poddisruptionbudgets"],
        ["watch", "list"],
    ))
    .rule(PolicyRule::new(
        ["apps"],
        ["statefulsets", "replicasets", "daemonsets"],
        read,
    ))
    .rule(PolicyRule::new(
        ["storage.k8s.io"],
        [
            "storageclasses",
            "csinodes",
            "csidrivers",
            "csistoragecapacities",
        ],
        read,
    ))
    .rule(PolicyRule::new(
        ["batch", "extensions"],
        ["jobs"],
        ["get", "list", "watch", "patch"],
    ))
    .rule(PolicyRule::new(
        ["coordination.k8s.io"],
        ["leases"],
        ["create"],
    ))
    .rule(
        PolicyRule::new(["coordination.k8s.io"], ["leases"], ["get", "update"])
            .resource_names(["cluster-autoscaler"]),
    )
}

/// The objects of a [`ClusterAutoscaler`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterAutoscalerHandle {
    deployment: DeploymentHandle,
    service_account: ServiceAccountHandle,
}

impl ClusterAutoscalerHandle {
    /// The Deployment.
    pub fn deployment(&self) -> &DeploymentHandle {
        &self.deployment
    }

    /// The ServiceAccount carrying the IRSA role.
    pub fn service_account(&self) -> &ServiceAccountHandle {
        &self.service_account
    }
}

impl Dependable for ClusterAutoscalerHandle {
    fn node_ids(&self) -> Vec<NodeId> {
        vec![self.deployment.node()]
    }
}
