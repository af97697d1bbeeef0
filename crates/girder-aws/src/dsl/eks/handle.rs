//! [`EksHandle`]: the cluster's typed outputs, the Kubernetes provider built from them, and
//! IAM roles for service accounts.

use girder_core::{
    Dependable, Diagnostic, IntoInput, NodeId, Output, ProviderHandle, ResourceDecl,
    ResourceHandle, Stack, Value, interpolate,
};

use crate::dsl::iam::{IamRole, IamRoleHandle, OidcProviderHandle};
use crate::dsl::network::SecurityGroupHandle;
use crate::eks::kubeconfig::{KubeconfigCluster, kubeconfig_yaml};
use crate::iam::document::{Condition, PolicyDocument, Principal, Statement};
use crate::ids::{ClusterArn, ClusterName, OidcProviderArn, PolicyArn, RoleArn};
use crate::tags::Tags;

/// An EKS cluster in the stack.
#[derive(Clone, Debug)]
pub struct EksHandle {
    pub(super) name: String,
    pub(super) region: Option<String>,
    pub(super) cluster: ResourceHandle,
    pub(super) oidc: OidcProviderHandle,
    pub(super) cluster_role: Option<IamRoleHandle>,
    pub(super) node_role: Option<IamRoleHandle>,
    pub(super) security_group: Option<SecurityGroupHandle>,
    pub(super) nodegroups: Vec<(String, ResourceHandle)>,
    pub(super) addons: Vec<ResourceHandle>,
    pub(super) access_entries: Vec<ResourceHandle>,
    pub(super) tags: Tags,
}

impl EksHandle {
    /// The cluster name, as the program gives it.
    pub fn cluster_name(&self) -> &str {
        &self.name
    }

    /// The cluster name as an output: a dependency on the cluster.
    pub fn name(&self) -> Output<ClusterName> {
        self.cluster.output("id")
    }

    /// The region, if given or derived from the VPC.
    pub fn region(&self) -> Option<&str> {
        self.region.as_deref()
    }

    /// The cluster ARN, known after apply.
    pub fn arn(&self) -> Output<ClusterArn> {
        self.cluster.output("arn")
    }

    /// The API server URL, known after apply.
    pub fn endpoint(&self) -> Output<String> {
        self.cluster.output("endpoint")
    }

    /// The cluster CA (base64 PEM), known after apply.
    pub fn certificate_authority_data(&self) -> Output<String> {
        self.cluster.output("certificate_authority_data")
    }

    /// The OIDC issuer URL, known after apply.
    pub fn oidc_issuer(&self) -> Output<String> {
        self.cluster.output("oidc_issuer")
    }

    /// The IAM OIDC provider's ARN (IRSA's federated principal), known after apply.
    pub fn oidc_provider_arn(&self) -> Output<OidcProviderArn> {
        self.oidc.arn()
    }

    /// The security group EKS made for the cluster (nodes and control plane share it).
    pub fn cluster_security_group_id(&self) -> Output<String> {
        self.cluster.output("cluster_security_group_id")
    }

    /// The extra security group girder puts on the control plane's interfaces.
    pub fn control_plane_security_group(&self) -> Option<&SecurityGroupHandle> {
        self.security_group.as_ref()
    }

    /// The nodes' role ARN, if girder made the role.
    pub fn node_role_arn(&self) -> Option<Output<RoleArn>> {
        self.node_role.as_ref().map(IamRoleHandle::arn)
    }

    /// The control plane's role ARN, if girder made the role.
    pub fn cluster_role_arn(&self) -> Option<Output<RoleArn>> {
        self.cluster_role.as_ref().map(IamRoleHandle::arn)
    }

    /// The nodegroups' EKS names (with their generated suffixes), known after apply.
    pub fn nodegroup_names(&self) -> Vec<(String, Output<String>)> {
        self.nodegroups
            .iter()
            .map(|(name, handle)| (name.clone(), handle.output("name")))
            .collect()
    }

    /// The access entries' ARNs, in the program's order, known after apply.
    pub fn access_entry_arns(&self) -> Vec<Output<String>> {
        self.access_entries
            .iter()
            .map(|h| h.output("access_entry_arn"))
            .collect()
    }

    /// The cluster's node.
    pub fn node(&self) -> NodeId {
        self.cluster.node()
    }

    /// The kubeconfig (an `aws eks get-token` exec plugin), known after apply; export it with
    /// `s.export("kubeconfig", eks.kubeconfig())` and read it with `girder output kubeconfig`.
    pub fn kubeconfig(&self) -> Output<String> {
        let name = self.name.clone();
        let region = self.region.clone();
        self.endpoint()
            .zip(&self.certificate_authority_data())
            .map(move |(endpoint, ca)| {
                kubeconfig_yaml(&KubeconfigCluster {
                    name: name.clone(),
                    endpoint,
                    certificate_authority_data: ca,
                    region: region.clone(),
                    profile: None,
                })
                .unwrap_or_else(|e| format!("# {e}"))
            })
    }

    /// A Kubernetes provider for this cluster: a provider node configured from the cluster's
    /// endpoint and CA, authenticating with EKS tokens. Kubernetes resources given this
    /// provider wait for the cluster and its nodegroups, and are deleted before them.
    pub fn kubernetes(&self, s: &mut Stack) -> ProviderHandle {
        let node = ResourceDecl::provider_node("k8s:provider", format!("{}-k8s", self.name))
            .input("server", self.endpoint())
            .input(
                "certificate_authority_data",
                self.certificate_authority_data(),
            )
            .input("auth", eks_auth(&self.name, self.region.as_deref()))
            .add(s)
            .node();
        // Workloads need nodes to run on, and whoever deploys them may need its access entry.
        let nodegroups: Vec<NodeId> = self
            .nodegroups
            .iter()
            .map(|(_, h)| h.node())
            .chain(self.access_entries.iter().map(ResourceHandle::node))
            .collect();
        s.add_dependency(node, nodegroups);
        ProviderHandle::new(node, "k8s")
    }

    /// An IAM role that only the Kubernetes service account `namespace/service_account` of
    /// this cluster can assume (IRSA): trust scoped by the `sub` and `aud` claims.
    pub fn service_account_role(
        &self,
        namespace: impl Into<String>,
        service_account: impl Into<String>,
    ) -> ServiceAccountRole {
        let namespace = namespace.into();
        let service_account = service_account.into();
        ServiceAccountRole {
            cluster: self.name.clone(),
            oidc_arn: self.oidc.arn(),
            issuer_host: self.oidc.issuer_host(),
            role: IamRole::new(format!("{}-irsa-{namespace}-{service_account}", self.name))
                .description(format!(
                    "{IRSA_DESCRIPTION_PREFIX}{namespace}/{service_account} of EKS cluster {}",
                    self.name
                ))
                .tags(self.tags.clone()),
            namespace,
            service_account,
        }
    }
}

impl Dependable for EksHandle {
    /// The cluster, its nodegroups and add-ons.
    fn node_ids(&self) -> Vec<NodeId> {
        std::iter::once(self.cluster.node())
            .chain(self.nodegroups.iter().map(|(_, h)| h.node()))
            .chain(self.addons.iter().map(ResourceHandle::node))
            .chain(self.access_entries.iter().map(ResourceHandle::node))
            .collect()
    }
}

/// An IAM role for one Kubernetes service account, under construction.
///
/// ```
/// use girder_core::Stack;
/// use girder_aws::dsl::eks::{Eks, OnDemand, policies};
/// use girder_aws::dsl::vpc::{Auto, Nat, Vpc};
/// let mut s = Stack::new("dev");
/// let vpc = Vpc::new("main").cidr("10.0.0.0/16").azs(["eu-west-1a", "eu-west-1b"])
///     .public_subnets(Auto).private_subnets(Auto).nat(Nat::Single).eks_cluster("prod").add(&mut s);
/// let eks = Eks::new("prod").vpc(&vpc)
///     .with_nodegroup(Eks::nodegroup(OnDemand).instance_types(["m7i.large"]).size(2..=4, 2))
///     .add(&mut s);
/// let role = eks
///     .service_account_role("kube-system", "cluster-autoscaler")
///     .policy("autoscaling", policies::cluster_autoscaler("prod"))
///     .add(&mut s);
/// assert!(s.finish().is_ok());
/// # let _ = role.arn();
/// ```
#[derive(Clone, Debug)]
#[must_use = "a builder declares nothing until it is added to the stack with `.add(…)`"]
pub struct ServiceAccountRole {
    cluster: String,
    oidc_arn: Output<OidcProviderArn>,
    issuer_host: Output<String>,
    namespace: String,
    service_account: String,
    role: IamRole,
}

impl ServiceAccountRole {
    /// Adds an inline policy.
    pub fn policy(
        mut self,
        name: impl Into<String>,
        document: PolicyDocument,
    ) -> ServiceAccountRole {
        self.role = self.role.policy(name, document);
        self
    }

    /// Attaches a managed policy.
    pub fn managed_policy(mut self, arn: impl IntoInput<PolicyArn>) -> ServiceAccountRole {
        self.role = self.role.managed_policy(arn);
        self
    }

    /// Adds the role, its trust and policies to the stack.
    pub fn add(self, s: &mut Stack) -> IamRoleHandle {
        for (field, value) in [
            ("namespace", &self.namespace),
            ("service_account", &self.service_account),
        ] {
            let valid = !value.is_empty()
                && value.len() <= 63
                && value.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
                && value.ends_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
                && value
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
            if !valid {
                s.report(
                    Diagnostic::error(
                        "not a Kubernetes name (a DNS label: lowercase letters, digits, `-`)",
                    )
                    .resource(format!(
                        "{}-irsa-{}-{}",
                        self.cluster, self.namespace, self.service_account
                    ))
                    .field(field)
                    .value(value)
                    .fix("use the name as `kubectl get serviceaccounts -A` shows it"),
                );
            }
        }
        let subject = format!(
            "system:serviceaccount:{}:{}",
            self.namespace, self.service_account
        );
        let trust = PolicyDocument::new().statement(
            Statement::allow(["sts:AssumeRoleWithWebIdentity"])
                .principal(Principal::federated(&self.oidc_arn))
                .condition(Condition::string_equals(
                    interpolate!("{}:sub", self.issuer_host),
                    subject,
                ))
                .condition(Condition::string_equals(
                    interpolate!("{}:aud", self.issuer_host),
                    "sts.amazonaws.com",
                )),
        );
        self.role.trust(trust).add(s)
    }
}

/// The value of a provider node's `auth` input for EKS (what [`EksHandle::kubernetes`] sets).
pub fn eks_auth(cluster: &str, region: Option<&str>) -> Value {
    let mut auth = serde_json::json!({ "kind": "aws-eks", "cluster": cluster });
    if let Some(region) = region {
        auth["region"] = region.into();
    }
    Value::from_json(auth)
}

/// How an IRSA role's description begins, before `NAMESPACE/NAME of EKS cluster CLUSTER`; the
/// plan-time IRSA check reads the ServiceAccount from it, since the trust policy's condition
/// is not known until the cluster's OIDC issuer is.
pub(crate) const IRSA_DESCRIPTION_PREFIX: &str = "Service account ";
