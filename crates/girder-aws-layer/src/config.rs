//! Which behaviours are on, with their durations and rates.
//!
//! Every behaviour has a switch (`enabled`) and its own settings; durations are in seconds of
//! real AWS time and are multiplied by [`Behaviours::scale`] when used, so `scale = 0.01`
//! turns a ten-minute cluster creation into six seconds. Throttling rates and bucket sizes are
//! rates, not durations, and are not scaled.
//!
//! The same structure is the JSON document of the control endpoint (`GET`/`PATCH
//! /_layer/behaviours`), so out-of-process tests switch behaviours with a partial document
//! such as `{"throttling": {"enabled": true, "rate": 1.0}}`.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::LayerError;

/// The names of the behaviours, as `--behaviours` and the control endpoint spell them.
pub const BEHAVIOUR_NAMES: [&str; 7] = [
    "lifecycle",
    "consistency",
    "propagation",
    "throttling",
    "draining",
    "lost_responses",
    "idempotency",
];

/// All behaviours and the scale factor for their durations.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Behaviours {
    /// Multiplies every duration (not throttling rates). `1.0` is real AWS time.
    pub scale: f64,
    /// Slow lifecycles: `CREATING` → `ACTIVE`, `pending` → `available`, `PENDING` → `INSYNC`.
    pub lifecycle: Lifecycle,
    /// Eventual consistency of new ids.
    pub consistency: Consistency,
    /// IAM propagation: young roles and OIDC providers cannot be assumed or named yet.
    pub propagation: Propagation,
    /// Throttling per API and EC2's token buckets.
    pub throttling: Throttling,
    /// Draining dependencies after deletes (mapped public addresses, detached policies).
    pub draining: Draining,
    /// Responses lost after the action took effect (a 500 in the protocol's shape).
    pub lost_responses: LostResponses,
    /// Idempotency tokens honoured as AWS does (`ClientToken`, `clientRequestToken`).
    pub idempotency: Idempotency,
}

impl Default for Behaviours {
    fn default() -> Self {
        Behaviours::none()
    }
}

impl Behaviours {
    /// Every behaviour off: the layer is a transparent proxy (it still serves what moto lacks).
    pub fn none() -> Behaviours {
        Behaviours {
            scale: 1.0,
            lifecycle: Lifecycle::default(),
            consistency: Consistency::default(),
            propagation: Propagation::default(),
            throttling: Throttling::default(),
            draining: Draining::default(),
            lost_responses: LostResponses::default(),
            idempotency: Idempotency::default(),
        }
    }

    /// Every behaviour on with its default settings.
    pub fn all() -> Behaviours {
        let mut all = Behaviours::none();
        for name in BEHAVIOUR_NAMES {
            all.set_enabled(name, true).expect("a known behaviour name");
        }
        all
    }

    /// The behaviours named in a comma-separated list (`all` for every one), the others off.
    ///
    /// ```
    /// use girder_aws_layer::Behaviours;
    ///
    /// let b = Behaviours::parse_list("lifecycle, throttling").unwrap();
    /// assert!(b.lifecycle.enabled && b.throttling.enabled && !b.consistency.enabled);
    /// assert!(Behaviours::parse_list("all").unwrap().lost_responses.enabled);
    /// assert!(Behaviours::parse_list("slowness").is_err());
    /// ```
    pub fn parse_list(list: &str) -> Result<Behaviours, LayerError> {
        let mut behaviours = Behaviours::none();
        for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            if name == "all" {
                behaviours = Behaviours::all();
            } else {
                behaviours.set_enabled(name, true)?;
            }
        }
        Ok(behaviours)
    }

    /// The behaviours named in `list` (as [`Behaviours::parse_list`]), shaped so that a
    /// program run at a scale of `0.01` meets every one of them on every run rather than by
    /// chance: the first mutating call of each operation loses its response, one call in ten
    /// is throttled on top of EC2's token buckets, and the consistency, propagation and
    /// draining windows last seconds at that scale (a dependent call right after a create, a
    /// flow log or cluster right after its role, a subnet delete right after the NAT
    /// gateway's all land inside them). The end-to-end tests and `sandbox --deterministic`
    /// use it.
    ///
    /// ```
    /// use girder_aws_layer::Behaviours;
    ///
    /// let b = Behaviours::deterministic("all").unwrap();
    /// assert_eq!(b.lost_responses.first_per_operation, 1);
    /// assert_eq!(b.lost_responses.rate, 0.0);
    /// assert!(b.propagation.enabled && b.draining.enabled);
    /// ```
    pub fn deterministic(list: &str) -> Result<Behaviours, LayerError> {
        let mut b = Behaviours::parse_list(list)?;
        b.lost_responses.rate = 0.0;
        b.lost_responses.first_per_operation = 1;
        // With the engine's eight attempts, a whole call failing to throttling is a
        // one-in-a-hundred-million event.
        b.throttling.rate = 0.1;
        b.consistency.ec2_secs = 100.0;
        b.consistency.iam_secs = 100.0;
        b.propagation.role_secs = 1000.0;
        b.propagation.oidc_provider_secs = 1000.0;
        b.draining.nat_gateway_secs = 300.0;
        b.draining.load_balancer_secs = 300.0;
        b.draining.iam_detach_secs = 200.0;
        Ok(b)
    }

    /// Switches one behaviour by name.
    pub fn set_enabled(&mut self, name: &str, enabled: bool) -> Result<(), LayerError> {
        let switch = match name {
            "lifecycle" => &mut self.lifecycle.enabled,
            "consistency" => &mut self.consistency.enabled,
            "propagation" => &mut self.propagation.enabled,
            "throttling" => &mut self.throttling.enabled,
            "draining" => &mut self.draining.enabled,
            "lost_responses" => &mut self.lost_responses.enabled,
            "idempotency" => &mut self.idempotency.enabled,
            other => {
                return Err(LayerError::UnknownBehaviour {
                    name: other.to_owned(),
                });
            }
        };
        *switch = enabled;
        Ok(())
    }

    /// The names of the behaviours that are on.
    pub fn enabled_names(&self) -> Vec<&'static str> {
        let on = [
            self.lifecycle.enabled,
            self.consistency.enabled,
            self.propagation.enabled,
            self.throttling.enabled,
            self.draining.enabled,
            self.lost_responses.enabled,
            self.idempotency.enabled,
        ];
        BEHAVIOUR_NAMES
            .into_iter()
            .zip(on)
            .filter_map(|(name, on)| on.then_some(name))
            .collect()
    }

    /// `secs` of AWS time scaled to the layer's time.
    pub fn scaled(&self, secs: f64) -> Duration {
        Duration::from_secs_f64((secs * self.scale).max(0.0))
    }

    /// Applies a partial JSON document (the control endpoint's `PATCH`): objects are merged
    /// key by key, anything else replaces the current value.
    pub fn patched(&self, patch: &serde_json::Value) -> Result<Behaviours, LayerError> {
        let mut current = serde_json::to_value(self).expect("behaviours serialize");
        merge(&mut current, patch);
        let patched: Behaviours =
            serde_json::from_value(current).map_err(|e| LayerError::BadBehaviours {
                reason: e.to_string(),
            })?;
        patched.validate()?;
        Ok(patched)
    }

    /// Checks the values a JSON document or a caller may get wrong.
    pub fn validate(&self) -> Result<(), LayerError> {
        let bad = |field: &str, value: f64, fix: &str| LayerError::BadBehaviours {
            reason: format!("`{field}` is {value}; {fix}"),
        };
        if !(self.scale.is_finite() && self.scale > 0.0) {
            return Err(bad(
                "scale",
                self.scale,
                "use a positive factor such as 0.01",
            ));
        }
        for (field, rate) in [
            ("throttling.rate", self.throttling.rate),
            ("lost_responses.rate", self.lost_responses.rate),
        ]
        .into_iter()
        .chain(
            self.throttling
                .per_api
                .values()
                .map(|r| ("throttling.per_api", *r)),
        ) {
            if !(0.0..=1.0).contains(&rate) {
                return Err(bad(field, rate, "use a probability between 0.0 and 1.0"));
            }
        }
        Ok(())
    }
}

fn merge(target: &mut serde_json::Value, patch: &serde_json::Value) {
    match (target, patch) {
        (serde_json::Value::Object(target), serde_json::Value::Object(patch)) => {
            for (key, value) in patch {
                match target.get_mut(key) {
                    Some(existing) => merge(existing, value),
                    None => {
                        target.insert(key.clone(), value.clone());
                    }
                }
            }
        }
        (target, patch) => *target = patch.clone(),
    }
}

/// Slow lifecycles (switch `lifecycle`). Seconds of AWS time, as measured on real accounts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Lifecycle {
    /// On or off.
    pub enabled: bool,
    /// EKS cluster `CREATING` → `ACTIVE`.
    pub eks_cluster_create_secs: f64,
    /// EKS cluster `UPDATING` after an update (version, endpoint access, logging, access).
    pub eks_cluster_update_secs: f64,
    /// EKS cluster `DELETING` before it is gone.
    pub eks_cluster_delete_secs: f64,
    /// Managed nodegroup `CREATING` → `ACTIVE`.
    pub eks_nodegroup_create_secs: f64,
    /// Managed nodegroup `UPDATING`.
    pub eks_nodegroup_update_secs: f64,
    /// Managed nodegroup `DELETING`.
    pub eks_nodegroup_delete_secs: f64,
    /// Add-on `CREATING` → `ACTIVE`.
    pub eks_addon_create_secs: f64,
    /// Add-on `UPDATING`.
    pub eks_addon_update_secs: f64,
    /// Add-on `DELETING`.
    pub eks_addon_delete_secs: f64,
    /// NAT gateway `pending` → `available`.
    pub nat_gateway_create_secs: f64,
    /// NAT gateway `deleting` → `deleted`.
    pub nat_gateway_delete_secs: f64,
    /// Route 53 change `PENDING` → `INSYNC`.
    pub route53_change_secs: f64,
}

impl Default for Lifecycle {
    fn default() -> Self {
        Lifecycle {
            enabled: false,
            eks_cluster_create_secs: 600.0,
            eks_cluster_update_secs: 300.0,
            eks_cluster_delete_secs: 240.0,
            eks_nodegroup_create_secs: 180.0,
            eks_nodegroup_update_secs: 180.0,
            eks_nodegroup_delete_secs: 150.0,
            eks_addon_create_secs: 120.0,
            eks_addon_update_secs: 60.0,
            eks_addon_delete_secs: 60.0,
            nat_gateway_create_secs: 90.0,
            nat_gateway_delete_secs: 60.0,
            route53_change_secs: 30.0,
        }
    }
}

/// Eventual consistency (switch `consistency`): new ids are invisible for a while.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Consistency {
    /// On or off.
    pub enabled: bool,
    /// How long a new EC2 id (`vpc-`, `subnet-`, `igw-`, …) stays unknown.
    pub ec2_secs: f64,
    /// How long a new IAM role, policy, instance profile or OIDC provider stays unknown.
    pub iam_secs: f64,
}

impl Default for Consistency {
    fn default() -> Self {
        Consistency {
            enabled: false,
            ec2_secs: 5.0,
            iam_secs: 8.0,
        }
    }
}

/// IAM propagation (switch `propagation`): young roles cannot be assumed by services yet.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Propagation {
    /// On or off.
    pub enabled: bool,
    /// How long a new role cannot be assumed (EKS, VPC flow logs) or named as a principal.
    pub role_secs: f64,
    /// How long a new OIDC provider cannot be named as a `Federated` principal.
    pub oidc_provider_secs: f64,
}

impl Default for Propagation {
    fn default() -> Self {
        Propagation {
            enabled: false,
            role_secs: 15.0,
            oidc_provider_secs: 15.0,
        }
    }
}

/// A token bucket: `size` tokens, refilled at `refill_per_sec`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bucket {
    /// The bucket's capacity (a burst).
    pub size: f64,
    /// Tokens added per second.
    pub refill_per_sec: f64,
}

/// Throttling (switch `throttling`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Throttling {
    /// On or off.
    pub enabled: bool,
    /// The probability that any call is throttled (every service).
    pub rate: f64,
    /// Probabilities per operation (`Service:Operation`, such as `ec2:DescribeVpcs`),
    /// overriding `rate`.
    pub per_api: BTreeMap<String, f64>,
    /// EC2's per-API token buckets, sized as EC2's published request rate limits.
    pub ec2_buckets: bool,
    /// Mutating EC2 actions (`Create*`, `Delete*`, `Modify*`, …).
    pub ec2_mutating: Bucket,
    /// Non-mutating EC2 actions (`Describe*` with ids or filters).
    pub ec2_non_mutating: Bucket,
    /// Unfiltered and unpaginated non-mutating EC2 actions (`Describe*` with neither ids,
    /// filters nor `MaxResults`).
    pub ec2_unfiltered: Bucket,
}

impl Default for Throttling {
    fn default() -> Self {
        Throttling {
            enabled: false,
            rate: 0.0,
            per_api: BTreeMap::new(),
            ec2_buckets: true,
            ec2_mutating: Bucket {
                size: 50.0,
                refill_per_sec: 5.0,
            },
            ec2_non_mutating: Bucket {
                size: 100.0,
                refill_per_sec: 20.0,
            },
            ec2_unfiltered: Bucket {
                size: 50.0,
                refill_per_sec: 10.0,
            },
        }
    }
}

/// Draining dependencies (switch `draining`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Draining {
    /// On or off.
    pub enabled: bool,
    /// After a NAT gateway is deleted, its VPC keeps mapped public addresses for this long.
    pub nat_gateway_secs: f64,
    /// After a load balancer is deleted, its network interfaces drain for this long.
    pub load_balancer_secs: f64,
    /// After a policy is detached (or a role removed from an instance profile), deleting
    /// the role or the policy conflicts for this long.
    pub iam_detach_secs: f64,
}

impl Default for Draining {
    fn default() -> Self {
        Draining {
            enabled: false,
            nat_gateway_secs: 90.0,
            load_balancer_secs: 90.0,
            iam_detach_secs: 5.0,
        }
    }
}

/// Lost responses (switch `lost_responses`): the action happens upstream, the caller gets
/// a 500.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LostResponses {
    /// On or off.
    pub enabled: bool,
    /// The probability that a mutating call's response is lost.
    pub rate: f64,
    /// The first N mutating calls of each operation lose their response.
    pub first_per_operation: u32,
    /// Only these operations (`Service:Operation`); empty for every mutating operation.
    pub operations: Vec<String>,
}

impl Default for LostResponses {
    fn default() -> Self {
        LostResponses {
            enabled: false,
            rate: 0.05,
            first_per_operation: 0,
            operations: Vec::new(),
        }
    }
}

/// Idempotency tokens (switch `idempotency`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Idempotency {
    /// On or off.
    pub enabled: bool,
}
