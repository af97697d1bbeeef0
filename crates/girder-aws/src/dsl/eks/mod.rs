//! The `Eks` module: an EKS cluster in a [`Vpc`](crate::dsl::vpc::Vpc), its roles, control-plane
//! logs, OIDC provider, managed nodegroups (ON_DEMAND and SPOT), add-ons and access entries; IAM roles for
//! service accounts; and the Kubernetes provider built from the cluster's outputs.

mod access;
mod checks;
mod cluster;
mod handle;
pub mod policies;
pub mod versions;

pub use access::{
    ACCESS_POLICY_NAMES, AccessEntry, AccessPolicy, AccessScope, AuthenticationMode, Principal,
};
pub use cluster::Eks;
pub(crate) use handle::IRSA_DESCRIPTION_PREFIX;
pub use handle::{EksHandle, ServiceAccountRole, eks_auth};

use std::ops::RangeInclusive;

use girder_core::{Input, IntoInput};

use crate::dsl::cidr::Tier;
use crate::ids::RoleArn;
use crate::tags::Tags;

pub use Capacity::{OnDemand, Spot};
pub use LogType::{Api, Audit, Authenticator, ControllerManager, Scheduler};

/// How a nodegroup buys its instances.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Capacity {
    /// On-demand instances.
    OnDemand,
    /// Spot instances: much cheaper, reclaimed with two minutes' notice.
    Spot,
}

impl Capacity {
    /// The EKS name (`ON_DEMAND`, `SPOT`).
    pub fn as_str(&self) -> &'static str {
        match self {
            Capacity::OnDemand => "ON_DEMAND",
            Capacity::Spot => "SPOT",
        }
    }

    fn default_name(&self) -> &'static str {
        match self {
            Capacity::OnDemand => "on-demand",
            Capacity::Spot => "spot",
        }
    }
}

/// A control-plane log type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogType {
    /// The API server.
    Api,
    /// The audit log.
    Audit,
    /// The authenticator.
    Authenticator,
    /// The controller manager.
    ControllerManager,
    /// The scheduler.
    Scheduler,
}

impl LogType {
    /// The EKS name (`api`, `controllerManager`, …).
    pub fn as_str(&self) -> &'static str {
        match self {
            LogType::Api => "api",
            LogType::Audit => "audit",
            LogType::Authenticator => "authenticator",
            LogType::ControllerManager => "controllerManager",
            LogType::Scheduler => "scheduler",
        }
    }
}

/// Who can reach the Kubernetes API endpoint.
///
/// ```
/// use girder_aws::dsl::eks::{Eks, Endpoint};
/// let eks = Eks::new("prod").endpoint(Endpoint::public_and_private().public_cidrs(["203.0.113.0/24"]));
/// # let _ = eks;
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    public: bool,
    private: bool,
    public_cidrs: Vec<String>,
}

impl Endpoint {
    /// From the internet and from inside the VPC (nodes use the private one).
    pub fn public_and_private() -> Endpoint {
        Endpoint {
            public: true,
            private: true,
            public_cidrs: Vec::new(),
        }
    }

    /// From inside the VPC only.
    pub fn private() -> Endpoint {
        Endpoint {
            public: false,
            private: true,
            public_cidrs: Vec::new(),
        }
    }

    /// From the internet only (nodes reach it through NAT).
    pub fn public() -> Endpoint {
        Endpoint {
            public: true,
            private: false,
            public_cidrs: Vec::new(),
        }
    }

    /// Limits the public endpoint to these ranges.
    pub fn public_cidrs<S: Into<String>>(mut self, cidrs: impl IntoIterator<Item = S>) -> Endpoint {
        self.public_cidrs.extend(cidrs.into_iter().map(Into::into));
        self
    }
}

/// A taint's effect.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TaintEffect {
    /// New pods without a toleration are not scheduled.
    NoSchedule,
    /// The scheduler avoids the nodes.
    PreferNoSchedule,
    /// Running pods without a toleration are evicted.
    NoExecute,
}

impl TaintEffect {
    fn as_str(&self) -> &'static str {
        match self {
            TaintEffect::NoSchedule => "NO_SCHEDULE",
            TaintEffect::PreferNoSchedule => "PREFER_NO_SCHEDULE",
            TaintEffect::NoExecute => "NO_EXECUTE",
        }
    }
}

/// A managed nodegroup under construction (see [`Eks::nodegroup`]).
///
/// ```
/// use girder_aws::dsl::cidr::Tier;
/// use girder_aws::dsl::eks::{Eks, Spot, TaintEffect};
/// let batch = Eks::nodegroup(Spot)
///     .name("batch")
///     .instance_types(["m7i.large", "m6i.large", "m5.large"])
///     .size(0..=20, 0)
///     .disk_size(100)
///     .label("workload", "batch")
///     .taint("batch", Some("true"), TaintEffect::NoSchedule)
///     .subnets(Tier::Private)
///     .max_unavailable(2);
/// let eks = Eks::new("prod").with_nodegroup(batch);
/// # let _ = eks;
/// ```
#[derive(Clone, Debug)]
pub struct Nodegroup {
    name: Option<String>,
    capacity: Capacity,
    instance_types: Vec<String>,
    min: u32,
    max: u32,
    desired: u32,
    disk_size: Option<i32>,
    ami_type: Option<String>,
    labels: Tags,
    taints: Vec<(String, Option<String>, TaintEffect)>,
    tier: Option<Tier>,
    max_unavailable: Option<i32>,
    autoscaled: bool,
    version: Option<String>,
    tags: Tags,
}

impl Nodegroup {
    fn new(capacity: Capacity) -> Nodegroup {
        Nodegroup {
            name: None,
            capacity,
            instance_types: Vec::new(),
            min: 1,
            max: 3,
            desired: 2,
            disk_size: None,
            ami_type: None,
            labels: Tags::new(),
            taints: Vec::new(),
            tier: None,
            max_unavailable: None,
            autoscaled: true,
            version: None,
            tags: Tags::new(),
        }
    }

    /// The nodegroup's name (default `on-demand` / `spot`); EKS names get a suffix so a
    /// replacement can start before the old group goes.
    pub fn name(mut self, name: impl Into<String>) -> Nodegroup {
        self.name = Some(name.into());
        self
    }

    /// The instance types (give SPOT groups several, to find capacity).
    pub fn instance_types<S: Into<String>>(
        mut self,
        types: impl IntoIterator<Item = S>,
    ) -> Nodegroup {
        self.instance_types = types.into_iter().map(Into::into).collect();
        self
    }

    /// Node counts: the range the group may scale in, and how many to start with.
    pub fn size(mut self, range: RangeInclusive<u32>, desired: u32) -> Nodegroup {
        self.min = *range.start();
        self.max = *range.end();
        self.desired = desired;
        self
    }

    /// The root volume size in GiB (default 20).
    pub fn disk_size(mut self, gib: i32) -> Nodegroup {
        self.disk_size = Some(gib);
        self
    }

    /// The AMI family, such as `AL2023_x86_64_STANDARD` or `BOTTLEROCKET_x86_64`.
    pub fn ami_type(mut self, ami_type: impl Into<String>) -> Nodegroup {
        self.ami_type = Some(ami_type.into());
        self
    }

    /// Adds a Kubernetes label to the nodes.
    pub fn label(mut self, key: impl Into<String>, value: impl Into<String>) -> Nodegroup {
        self.labels.insert(key.into(), value.into());
        self
    }

    /// Adds a Kubernetes taint to the nodes.
    pub fn taint(
        mut self,
        key: impl Into<String>,
        value: Option<&str>,
        effect: TaintEffect,
    ) -> Nodegroup {
        self.taints
            .push((key.into(), value.map(str::to_owned), effect));
        self
    }

    /// The subnet tier the nodes run in (default: private).
    pub fn subnets(mut self, tier: Tier) -> Nodegroup {
        self.tier = Some(tier);
        self
    }

    /// Nodes replaced at a time during updates (default 1).
    pub fn max_unavailable(mut self, nodes: i32) -> Nodegroup {
        self.max_unavailable = Some(nodes);
        self
    }

    /// Lets the program, not cluster-autoscaler, own the desired size: changes to it in the
    /// program are applied, and the autoscaler discovery tags are left off.
    pub fn without_autoscaler(mut self) -> Nodegroup {
        self.autoscaled = false;
        self
    }

    /// The nodes' Kubernetes version (default: the cluster's).
    pub fn version(mut self, version: impl Into<String>) -> Nodegroup {
        self.version = Some(version.into());
        self
    }

    /// Adds a tag.
    pub fn tag(mut self, key: impl Into<String>, value: impl Into<String>) -> Nodegroup {
        self.tags.insert(key.into(), value.into());
        self
    }

    fn group_name(&self) -> String {
        self.name
            .clone()
            .unwrap_or_else(|| self.capacity.default_name().to_owned())
    }
}

/// An EKS add-on (vpc-cni, coredns, kube-proxy, aws-ebs-csi-driver, …).
///
/// ```
/// use girder_aws::dsl::eks::{Addon, Eks};
/// let eks = Eks::new("prod")
///     .addon(Addon::vpc_cni().configuration(serde_json::json!({"env": {"ENABLE_PREFIX_DELEGATION": "true"}})))
///     .addon(Addon::coredns())
///     .addon(Addon::kube_proxy().version("v1.36.0-eksbuild.1"));
/// # let _ = eks;
/// ```
#[derive(Clone, Debug)]
pub struct Addon {
    name: String,
    version: Option<String>,
    role: Option<Input<RoleArn>>,
    configuration: Option<serde_json::Value>,
}

impl Addon {
    /// The add-on called `name`, at the default version for the cluster.
    pub fn new(name: impl Into<String>) -> Addon {
        Addon {
            name: name.into(),
            version: None,
            role: None,
            configuration: None,
        }
    }

    /// The Amazon VPC CNI plugin.
    pub fn vpc_cni() -> Addon {
        Addon::new("vpc-cni")
    }

    /// CoreDNS.
    pub fn coredns() -> Addon {
        Addon::new("coredns")
    }

    /// kube-proxy.
    pub fn kube_proxy() -> Addon {
        Addon::new("kube-proxy")
    }

    /// A specific version, such as `v1.18.3-eksbuild.1`.
    pub fn version(mut self, version: impl Into<String>) -> Addon {
        self.version = Some(version.into());
        self
    }

    /// The IAM role of the add-on's service account (IRSA).
    pub fn service_account_role(mut self, arn: impl IntoInput<RoleArn>) -> Addon {
        self.role = Some(arn.into_input());
        self
    }

    /// Configuration values, per the add-on's schema.
    pub fn configuration(mut self, values: serde_json::Value) -> Addon {
        self.configuration = Some(values);
        self
    }
}
