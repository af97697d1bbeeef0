//! The `Eks` builder: checks, and the resources it adds.

use girder_core::{Input, IntoInput, Output, ResourceDecl, Stack, WithOptions};

use super::access::{AccessEntry, AuthenticationMode, Principal};
use super::handle::EksHandle;
use super::{Addon, Capacity, Endpoint, LogType, Nodegroup};
use crate::dsl::cidr::Tier;
use crate::dsl::iam::{IamRole, OidcProvider};
use crate::dsl::logs::LogGroup;
use crate::dsl::network::{Rule, SecurityGroup};
use crate::dsl::vpc::VpcHandle;
use crate::dsl::{check_tags, tags_value, with_tags};
use crate::eks::access_entry::ACCESS_ENTRY;
use crate::eks::addon::ADDON;
use crate::eks::cluster::CLUSTER;
use crate::eks::nodegroup::NODEGROUP;
use crate::iam::document::PolicyDocument;
use crate::ids::{PolicyArn, RoleArn, SubnetId};
use crate::tags::Tags;

/// An EKS cluster under construction.
///
/// ```
/// use girder_core::Stack;
/// use girder_aws::dsl::eks::{Eks, OnDemand, Spot, Api, ControllerManager, Scheduler};
/// use girder_aws::dsl::vpc::{Auto, Nat, Vpc};
/// let mut s = Stack::new("dev");
/// let vpc = Vpc::new("main")
///     .cidr("10.10.0.0/16")
///     .azs(["us-east-1a", "us-east-1b", "us-east-1c"])
///     .public_subnets(Auto)
///     .private_subnets(Auto)
///     .intra_subnets(Auto)
///     .nat(Nat::Single)
///     .eks_cluster("yolo")
///     .add(&mut s);
/// let eks = Eks::new("yolo")
///     .version("1.36")
///     .vpc(&vpc)
///     .control_plane_logs([Api, ControllerManager, Scheduler])
///     .nodegroups([
///         Eks::nodegroup(OnDemand).instance_types(["t3.medium"]).size(1..=3, 2),
///         Eks::nodegroup(Spot).instance_types(["t3.medium", "t3a.medium"]).size(1..=10, 2),
///     ])
///     .add(&mut s);
/// let k8s = eks.kubernetes(&mut s);
/// assert_eq!(k8s.package(), "k8s");
/// assert!(s.finish().is_ok());
/// ```
#[derive(Clone, Debug)]
#[must_use = "a builder declares nothing until it is added to the stack with `.add(…)`"]
pub struct Eks {
    pub(super) name: String,
    pub(super) version: Option<String>,
    pub(super) vpc: Option<VpcHandle>,
    pub(super) region: Option<String>,
    pub(super) control_plane_tier: Option<Tier>,
    pub(super) endpoint: Endpoint,
    pub(super) log_types: Vec<LogType>,
    pub(super) log_retention_days: i32,
    pub(super) cluster_role: Option<Input<RoleArn>>,
    pub(super) node_role: Option<Input<RoleArn>>,
    pub(super) nodegroups: Vec<Nodegroup>,
    pub(super) addons: Vec<Addon>,
    pub(super) access_entries: Vec<AccessEntry>,
    pub(super) authentication_mode: Option<AuthenticationMode>,
    pub(super) creator_admin: Option<bool>,
    pub(super) tags: Tags,
}

impl Eks {
    /// A cluster called `name` (the EKS name; its resources are named `<name>-…`).
    pub fn new(name: impl Into<String>) -> Eks {
        Eks {
            name: name.into(),
            version: None,
            vpc: None,
            region: None,
            control_plane_tier: None,
            endpoint: Endpoint::public_and_private(),
            log_types: Vec::new(),
            log_retention_days: 90,
            cluster_role: None,
            node_role: None,
            nodegroups: Vec::new(),
            addons: Vec::new(),
            access_entries: Vec::new(),
            authentication_mode: None,
            creator_admin: None,
            tags: Tags::new(),
        }
    }

    /// A managed nodegroup to add with [`Eks::nodegroup`].
    pub fn nodegroup(capacity: Capacity) -> Nodegroup {
        Nodegroup::new(capacity)
    }

    /// The Kubernetes version (`1.36`); default: EKS's default.
    pub fn version(mut self, version: impl Into<String>) -> Eks {
        self.version = Some(version.into());
        self
    }

    /// The network: control-plane interfaces in the intra subnets (else the private ones),
    /// nodes in the private subnets.
    pub fn vpc(mut self, vpc: &VpcHandle) -> Eks {
        self.vpc = Some(vpc.clone());
        self
    }

    /// The region (default: the VPC's), for the Kubernetes provider's tokens.
    pub fn region(mut self, region: impl Into<String>) -> Eks {
        self.region = Some(region.into());
        self
    }

    /// The tier of the control plane's network interfaces.
    pub fn control_plane_subnets(mut self, tier: Tier) -> Eks {
        self.control_plane_tier = Some(tier);
        self
    }

    /// Who can reach the API endpoint (default: public and private).
    pub fn endpoint(mut self, endpoint: Endpoint) -> Eks {
        self.endpoint = endpoint;
        self
    }

    /// Control-plane log types to send to CloudWatch Logs.
    pub fn control_plane_logs(mut self, types: impl IntoIterator<Item = LogType>) -> Eks {
        self.log_types.extend(types);
        self
    }

    /// Days to keep control-plane logs (default 90).
    pub fn log_retention_days(mut self, days: i32) -> Eks {
        self.log_retention_days = days;
        self
    }

    /// Uses this role for the control plane instead of creating one.
    pub fn cluster_role(mut self, arn: impl IntoInput<RoleArn>) -> Eks {
        self.cluster_role = Some(arn.into_input());
        self
    }

    /// Uses this role for the nodes instead of creating one.
    pub fn node_role(mut self, arn: impl IntoInput<RoleArn>) -> Eks {
        self.node_role = Some(arn.into_input());
        self
    }

    /// Adds managed nodegroups (made with [`Eks::nodegroup`]).
    pub fn nodegroups(mut self, nodegroups: impl IntoIterator<Item = Nodegroup>) -> Eks {
        self.nodegroups.extend(nodegroups);
        self
    }

    /// Adds one managed nodegroup (made with [`Eks::nodegroup`]). (`Eks::nodegroup` itself
    /// names the constructor, so the method has another name.)
    pub fn with_nodegroup(mut self, nodegroup: Nodegroup) -> Eks {
        self.nodegroups.push(nodegroup);
        self
    }

    /// Adds an EKS add-on.
    pub fn addon(mut self, addon: Addon) -> Eks {
        self.addons.push(addon);
        self
    }

    /// Adds an access entry: an IAM principal allowed into the cluster, with its access
    /// policies. Access entries need [`AuthenticationMode::Api`] or
    /// [`AuthenticationMode::ApiAndConfigMap`]; without [`Eks::authentication_mode`], a
    /// cluster with access entries uses `API_AND_CONFIG_MAP`.
    pub fn access_entry(mut self, entry: AccessEntry) -> Eks {
        self.access_entries.push(entry);
        self
    }

    /// How IAM principals authenticate (default: EKS's, `CONFIG_MAP`, unless the cluster has
    /// access entries). Changes only towards `Api`, in place.
    pub fn authentication_mode(mut self, mode: AuthenticationMode) -> Eks {
        self.authentication_mode = Some(mode);
        self
    }

    /// Whether the principal creating the cluster gets a cluster-admin access entry (EKS's
    /// default: yes). Set only at creation: a change replaces the cluster. `false` needs an
    /// access-entry authentication mode, and an access entry for whoever deploys to it.
    pub fn creator_admin(mut self, admin: bool) -> Eks {
        self.creator_admin = Some(admin);
        self
    }

    /// Adds a tag to every resource.
    pub fn tag(mut self, key: impl Into<String>, value: impl Into<String>) -> Eks {
        self.tags.insert(key.into(), value.into());
        self
    }

    pub(super) fn control_plane_tier(&self) -> Tier {
        self.control_plane_tier.unwrap_or_else(|| match &self.vpc {
            Some(vpc) if vpc.has_tier(Tier::Intra) => Tier::Intra,
            _ => Tier::Private,
        })
    }

    /// Adds the cluster and everything it needs to the stack, reporting every problem at once.
    pub fn add(self, s: &mut Stack) -> EksHandle {
        self.check(s);
        check_tags(s, &format!("{}-cluster", self.name), &self.tags);
        let name = self.name.clone();
        let tags = self.tags.clone();
        let tier = self.control_plane_tier();
        let empty = Vec::new();
        let (control_plane, vpc_cidr) = match &self.vpc {
            Some(vpc) => (vpc.subnets(tier).to_vec(), vpc.cidr()),
            None => (empty, None),
        };

        // The control plane's role.
        let (cluster_role_arn, cluster_role_node) = match &self.cluster_role {
            Some(arn) => (arn.clone(), None),
            None => {
                let role = IamRole::new(format!("{name}-cluster-role"))
                    .description(format!("EKS control plane of {name}"))
                    .trust(PolicyDocument::service_trust(["eks.amazonaws.com"]))
                    .managed_policy(PolicyArn::aws_managed("AmazonEKSClusterPolicy"))
                    .managed_policy(PolicyArn::aws_managed("AmazonEKSVPCResourceController"))
                    .tags(tags.clone())
                    .add(s);
                (role.arn().into_input(), Some(role))
            }
        };

        // The log group EKS writes to, made first so it has our retention.
        let logs = (!self.log_types.is_empty()).then(|| {
            LogGroup::new(format!("{name}-cluster-logs"))
                .name(format!("/aws/eks/{name}/cluster"))
                .retention_days(self.log_retention_days)
                .tags(tags.clone())
                .add(s)
        });

        // An extra security group on the control-plane interfaces: the API from inside the VPC.
        let security_group = self.vpc.as_ref().map(|vpc| {
            let mut group = SecurityGroup::new(format!("{name}-cluster-sg"))
                .vpc(vpc.id())
                .description(format!("EKS control plane of {name}"))
                .tags(&tags);
            if let Some(cidr) = vpc_cidr {
                group = group.rule(
                    Rule::tcp(443)
                        .cidr(cidr.to_string())
                        .description("Kubernetes API from the VPC"),
                );
            }
            group.add(s)
        });

        let subnet_ids: Vec<Output<SubnetId>> = control_plane.iter().map(|s| s.id()).collect();
        let mut cluster = ResourceDecl::new(CLUSTER, format!("{name}-cluster"))
            .input("name", name.as_str())
            .input("role_arn", cluster_role_arn)
            .input("subnet_ids", girder_core::output::all(subnet_ids))
            .input("endpoint_public_access", self.endpoint.public)
            .input("endpoint_private_access", self.endpoint.private);
        if let Some(version) = &self.version {
            cluster = cluster.input("version", version.as_str());
        }
        if let Some(group) = &security_group {
            cluster = cluster.input("security_group_ids", girder_core::output::all([group.id()]));
        }
        if !self.endpoint.public_cidrs.is_empty() {
            cluster = cluster.input(
                "public_access_cidrs",
                serde_json::json!(self.endpoint.public_cidrs),
            );
        }
        if !self.log_types.is_empty() {
            let mut types: Vec<&str> = self.log_types.iter().map(LogType::as_str).collect();
            types.dedup();
            cluster = cluster.input("enabled_log_types", serde_json::json!(types));
        }
        let mode = self.authentication_mode.or_else(|| {
            (!self.access_entries.is_empty()).then_some(AuthenticationMode::ApiAndConfigMap)
        });
        if let Some(mode) = mode {
            cluster = cluster.input("authentication_mode", mode.as_str());
        }
        if let Some(admin) = self.creator_admin {
            cluster = cluster.input("bootstrap_cluster_creator_admin_permissions", admin);
        }
        if let Some(role) = &cluster_role_node {
            // EKS checks the role's policies when it creates the cluster.
            cluster = cluster.depends_on(role);
        }
        if let Some(logs) = &logs {
            cluster = cluster.depends_on(logs);
        }
        if let Some(group) = &security_group {
            cluster = cluster.depends_on(group);
        }
        let cluster = with_tags(cluster, &tags).add(s);
        let cluster_name: Output<String> = cluster.output("id");

        let oidc = OidcProvider::new(format!("{name}-oidc"))
            .url(cluster.output::<String>("oidc_issuer"))
            .client_id("sts.amazonaws.com")
            .tags(&tags)
            .add(s);

        // The nodes' role.
        let (node_role_arn, node_role) = match &self.node_role {
            Some(arn) => (arn.clone(), None),
            None => {
                let role = IamRole::new(format!("{name}-node-role"))
                    .description(format!("EKS nodes of {name}"))
                    .trust(PolicyDocument::service_trust(["ec2.amazonaws.com"]))
                    .managed_policy(PolicyArn::aws_managed("AmazonEKSWorkerNodePolicy"))
                    .managed_policy(PolicyArn::aws_managed("AmazonEKS_CNI_Policy"))
                    .managed_policy(PolicyArn::aws_managed("AmazonEC2ContainerRegistryReadOnly"))
                    .tags(tags.clone())
                    .add(s);
                (role.arn().into_input(), Some(role))
            }
        };

        let mut nodegroups = Vec::new();
        for group in &self.nodegroups {
            let group_name = group.group_name();
            let node_subnets: Vec<Output<SubnetId>> = self
                .vpc
                .as_ref()
                .map(|vpc| vpc.subnet_ids(group.tier.unwrap_or(Tier::Private)))
                .unwrap_or_default();
            let mut group_tags = tags.clone();
            group_tags.extend(group.tags.clone());
            if group.autoscaled {
                group_tags.insert("k8s.io/cluster-autoscaler/enabled".into(), "true".into());
                group_tags.insert(format!("k8s.io/cluster-autoscaler/{name}"), "owned".into());
            }
            let mut decl = ResourceDecl::new(NODEGROUP, format!("{name}-{group_name}"))
                .input("cluster_name", &cluster_name)
                .input("nodegroup_name_prefix", format!("{group_name}-"))
                .input("node_role_arn", node_role_arn.clone())
                .input("subnet_ids", girder_core::output::all(node_subnets))
                .input("instance_types", serde_json::json!(group.instance_types))
                .input("capacity_type", group.capacity.as_str())
                .input(
                    "scaling",
                    serde_json::json!({
                        "min_size": group.min,
                        "max_size": group.max,
                        "desired_size": group.desired,
                    }),
                );
            if let Some(size) = group.disk_size {
                decl = decl.input("disk_size", size);
            }
            if let Some(ami) = &group.ami_type {
                decl = decl.input("ami_type", ami.as_str());
            }
            if let Some(labels) = tags_value(&group.labels) {
                decl = decl.input("labels", labels);
            }
            if !group.taints.is_empty() {
                let taints: Vec<serde_json::Value> = group
                    .taints
                    .iter()
                    .map(|(key, value, effect)| {
                        let mut taint = serde_json::json!({"key": key, "effect": effect.as_str()});
                        if let Some(value) = value {
                            taint["value"] = value.clone().into();
                        }
                        taint
                    })
                    .collect();
                decl = decl.input("taints", serde_json::Value::Array(taints));
            }
            if let Some(n) = group.max_unavailable {
                decl = decl.input("update_config", serde_json::json!({"max_unavailable": n}));
            }
            if let Some(version) = group.version.as_ref().or(self.version.as_ref()) {
                decl = decl.input("version", version.as_str());
            }
            if group.autoscaled {
                // cluster-autoscaler owns the desired size once the group exists.
                decl = decl.ignore_changes(["scaling.desired_size"]);
            }
            if let Some(role) = &node_role {
                // Nodes join only once the role has its policies.
                decl = decl.depends_on(role);
            }
            if let Some(vpc) = &self.vpc {
                // Nodes need routes and NAT while they boot, and must be gone before those go.
                decl = decl.depends_on(vpc.network_nodes());
            }
            nodegroups.push((group_name, with_tags(decl, &group_tags).add(s)));
        }

        let mut addons = Vec::new();
        for addon in &self.addons {
            let mut decl = ResourceDecl::new(ADDON, format!("{name}-addon-{}", addon.name))
                .input("cluster_name", &cluster_name)
                .input("addon_name", addon.name.as_str())
                .input("resolve_conflicts", "OVERWRITE");
            if let Some(version) = &addon.version {
                decl = decl.input("addon_version", version.as_str());
            }
            if let Some(role) = &addon.role {
                decl = decl.input("service_account_role_arn", role.clone());
            }
            if let Some(configuration) = &addon.configuration {
                decl = decl.input("configuration_values", configuration.to_string());
            }
            addons.push(with_tags(decl, &tags).add(s));
        }

        let mut access_entries = Vec::new();
        for entry in &self.access_entries {
            let mut decl = ResourceDecl::new(ACCESS_ENTRY, entry.resource(&name))
                .input("cluster_name", &cluster_name);
            decl = match &entry.principal {
                Principal::Role(arn) => decl.input("principal_arn", arn.clone()),
                Principal::Arn(arn) => decl.input("principal_arn", arn.as_str()),
            };
            if !entry.groups.is_empty() {
                decl = decl.input("kubernetes_groups", serde_json::json!(entry.groups));
            }
            if let Some(username) = &entry.username {
                decl = decl.input("username", username.as_str());
            }
            let policies = entry.policy_inputs();
            if !policies.is_empty() {
                decl = decl.input(
                    "policies",
                    serde_json::to_value(&policies).unwrap_or_default(),
                );
            }
            access_entries.push(decl.add(s));
        }

        let region = self.known_region();
        EksHandle {
            name,
            region,
            cluster,
            oidc,
            cluster_role: cluster_role_node,
            node_role,
            security_group,
            nodegroups,
            addons,
            access_entries,
            tags: self.tags,
        }
    }

    /// The region, when known at build time: given, or the VPC's.
    pub(super) fn known_region(&self) -> Option<String> {
        self.region.clone().or_else(|| {
            self.vpc
                .as_ref()
                .and_then(|v| v.region().map(str::to_owned))
        })
    }
}
