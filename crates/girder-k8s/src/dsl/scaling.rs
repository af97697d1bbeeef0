//! HorizontalPodAutoscalers (autoscaling/v2) and PodDisruptionBudgets for deployments of the
//! program.

use std::collections::BTreeMap;

use girder_core::{Dependable, Diagnostic, Expr, NodeId, Output, Stack, Value};

use super::deployment::{DeploymentHandle, Workload};
use super::object::{Added, ObjectDecl, ObjectHandle, object_builder};
use crate::kinds::Kind;

/// An autoscaler for a deployment: CPU and memory utilization targets, as percentages of the
/// containers' requests (which must exist — checked when added).
///
/// ```
/// use girder_core::Stack;
/// use girder_k8s::dsl::*;
/// let mut s = Stack::new("dev");
/// let backend = Deployment::new("backend")
///     .image("ghcr.io/acme/backend:1.4")
///     .port(8080)
///     .resources(Resources::new().cpu("100m", "500m").memory("128Mi", "256Mi"))
///     .add(DefaultProvider, &mut s);
/// HorizontalPodAutoscaler::for_deployment(&backend)
///     .replicas(2, 10)
///     .cpu_utilization(70)
///     .memory_utilization(80)
///     .add(&mut s);
/// assert!(s.finish().is_ok());
/// ```
#[derive(Clone, Debug)]
#[must_use = "a builder declares nothing until it is added to the stack with `.add(…)`"]
pub struct HorizontalPodAutoscaler {
    obj: ObjectDecl,
    target: Workload,
    min: u32,
    max: u32,
    metrics: BTreeMap<&'static str, u32>,
}

object_builder!(HorizontalPodAutoscaler);

impl HorizontalPodAutoscaler {
    /// An autoscaler for `deployment`, named like it, scaling between 1 and 10 replicas on
    /// 80% CPU unless told otherwise.
    pub fn for_deployment(deployment: &DeploymentHandle) -> HorizontalPodAutoscaler {
        let target = deployment.workload.clone();
        let mut obj = ObjectDecl::new(
            Kind::new("autoscaling", "v2", "HorizontalPodAutoscaler"),
            target.added.name.clone(),
        );
        obj.namespace = target.added.namespace.clone();
        HorizontalPodAutoscaler {
            obj,
            target,
            min: 1,
            max: 10,
            metrics: BTreeMap::new(),
        }
    }

    /// Names the autoscaler (default: the deployment's name).
    pub fn name(mut self, name: impl Into<String>) -> HorizontalPodAutoscaler {
        self.obj.name = name.into();
        self
    }

    /// The replica range.
    pub fn replicas(mut self, min: u32, max: u32) -> HorizontalPodAutoscaler {
        self.min = min;
        self.max = max;
        self
    }

    /// Scales to keep average CPU use at `percent` of the CPU requests.
    pub fn cpu_utilization(mut self, percent: u32) -> HorizontalPodAutoscaler {
        self.metrics.insert("cpu", percent);
        self
    }

    /// Scales to keep average memory use at `percent` of the memory requests.
    pub fn memory_utilization(mut self, percent: u32) -> HorizontalPodAutoscaler {
        self.metrics.insert("memory", percent);
        self
    }

    /// Adds it to the stack, with the deployment's provider.
    pub fn add(mut self, stack: &mut Stack) -> HpaHandle {
        let resource = self.obj.node_name();
        if self.metrics.is_empty() {
            self.metrics.insert("cpu", 80);
        }
        let mut problems = Vec::new();
        if self.min == 0 || self.max < self.min {
            problems.push(
                Diagnostic::error(format!(
                    "the replica range {}..={} is empty or starts at 0",
                    self.min, self.max
                ))
                .field("spec.minReplicas")
                .value(format!("{}..={}", self.min, self.max))
                .fix("use a range such as `.replicas(2, 10)`"),
            );
        }
        if let Some(replicas) = self.target.replicas {
            problems.push(
                Diagnostic::warning(format!(
                    "`{}` sets `replicas({replicas})`, but this autoscaler changes the replica count: every later plan shows drift and the apply conflicts with the autoscaler",
                    self.target.resource
                ))
                .field("spec.scaleTargetRef")
                .fix("remove `.replicas(..)` from the deployment and set the range here with `.replicas(min, max)`"),
            );
        }
        for (resource_name, percent) in &self.metrics {
            if *percent == 0 {
                problems.push(
                    Diagnostic::error(format!(
                        "a {resource_name} target of 0% never lets the autoscaler scale down"
                    ))
                    .field("spec.metrics")
                    .value(percent)
                    .fix("use a target such as 70"),
                );
            }
            for container in self
                .target
                .containers
                .iter()
                .filter(|c| !c.requests.iter().any(|r| r == resource_name))
            {
                problems.push(
                    Diagnostic::error(format!(
                        "the autoscaler scales `{}` on {resource_name} utilization, a percentage of the containers' {resource_name} requests, but container `{}` has no {resource_name} request: it would report `missing request for {resource_name}` and never scale",
                        self.target.resource, container.name
                    ))
                    .field("spec.metrics")
                    .value(resource_name)
                    .fix(format!(
                        "give container `{}` requests with `.resources(Resources::new().cpu(..).memory(..))`",
                        container.name
                    )),
                );
            }
        }
        for problem in problems {
            stack.report(problem.resource(resource.clone()));
        }
        let metrics: Vec<Value> = self
            .metrics
            .iter()
            .map(|(name, percent)| {
                girder_core::object! {
                    "type" => "Resource",
                    "resource" => girder_core::object! {
                        "name" => *name,
                        "target" => girder_core::object! { "type" => "Utilization", "averageUtilization" => *percent },
                    },
                }
            })
            .collect();
        let mut target = BTreeMap::new();
        target.insert("apiVersion".to_owned(), Expr::Value("apps/v1".into()));
        target.insert("kind".to_owned(), Expr::Value("Deployment".into()));
        target.insert(
            "name".to_owned(),
            self.target.added.name_output().into_expr(),
        );
        let mut spec = BTreeMap::new();
        spec.insert("scaleTargetRef".to_owned(), Expr::Object(target));
        spec.insert("minReplicas".to_owned(), Expr::Value(Value::from(self.min)));
        spec.insert("maxReplicas".to_owned(), Expr::Value(Value::from(self.max)));
        spec.insert("metrics".to_owned(), Expr::Value(Value::Array(metrics)));
        self.obj.body.insert("spec".into(), Expr::Object(spec));
        let provider = self.target.added.provider;
        HpaHandle {
            added: self.obj.add_object(provider, stack),
        }
    }
}

/// An autoscaler of the program.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HpaHandle {
    added: Added,
}

impl HpaHandle {
    /// The name, as an output.
    pub fn name(&self) -> Output<String> {
        self.added.name_output()
    }

    /// The node.
    pub fn node(&self) -> NodeId {
        self.added.handle.node()
    }
}

impl Dependable for HpaHandle {
    fn node_ids(&self) -> Vec<NodeId> {
        vec![self.node()]
    }
}

/// How many pods of a deployment voluntary disruptions (node drains) may take down.
///
/// ```
/// use girder_core::Stack;
/// use girder_k8s::dsl::*;
/// let mut s = Stack::new("dev");
/// let backend = Deployment::new("backend")
///     .image("ghcr.io/acme/backend:1.4")
///     .replicas(2)
///     .resources(Resources::new().cpu("100m", "500m").memory("128Mi", "256Mi"))
///     .add(DefaultProvider, &mut s);
/// PodDisruptionBudget::for_deployment(&backend).min_available(1).add(&mut s);
/// assert!(s.finish().is_ok());
/// ```
#[derive(Clone, Debug)]
#[must_use = "a builder declares nothing until it is added to the stack with `.add(…)`"]
pub struct PodDisruptionBudget {
    obj: ObjectDecl,
    target: Workload,
    budget: Option<(&'static str, u32)>,
}

object_builder!(PodDisruptionBudget);

impl PodDisruptionBudget {
    /// A budget for `deployment`, named like it (default: at most one pod unavailable).
    pub fn for_deployment(deployment: &DeploymentHandle) -> PodDisruptionBudget {
        let target = deployment.workload.clone();
        let mut obj = ObjectDecl::new(
            Kind::new("policy", "v1", "PodDisruptionBudget"),
            target.added.name.clone(),
        );
        obj.namespace = target.added.namespace.clone();
        PodDisruptionBudget {
            obj,
            target,
            budget: None,
        }
    }

    /// Keeps at least `pods` pods running during voluntary disruptions.
    pub fn min_available(mut self, pods: u32) -> PodDisruptionBudget {
        self.budget = Some(("minAvailable", pods));
        self
    }

    /// Lets at most `pods` pods be down during voluntary disruptions.
    pub fn max_unavailable(mut self, pods: u32) -> PodDisruptionBudget {
        self.budget = Some(("maxUnavailable", pods));
        self
    }

    /// Adds it to the stack, with the deployment's provider.
    pub fn add(mut self, stack: &mut Stack) -> ObjectHandle {
        let (field, pods) = self.budget.unwrap_or(("maxUnavailable", 1));
        if field == "maxUnavailable" && pods == 0 {
            stack.report(
                Diagnostic::warning("`max_unavailable(0)` blocks every node drain")
                    .resource(self.obj.node_name())
                    .field("spec.maxUnavailable")
                    .fix("allow at least one pod to be unavailable, and run enough replicas"),
            );
        }
        let mut selector = BTreeMap::new();
        selector.insert(
            "matchLabels".to_owned(),
            self.target.selector_output().into_expr(),
        );
        let mut spec = BTreeMap::new();
        spec.insert(field.to_owned(), Expr::Value(Value::from(pods)));
        spec.insert("selector".to_owned(), Expr::Object(selector));
        self.obj.body.insert("spec".into(), Expr::Object(spec));
        let provider = self.target.added.provider;
        ObjectHandle::new(self.obj.add_object(provider, stack))
    }
}
