//! The component: the seed's chart as objects wired by data flow.

use girder_core::{Dependable, NodeId, Output, Stack, WithOptions};
use girder_k8s::dsl::ServiceHandle;
use girder_k8s::dsl::{
    ClusterTarget, ConfigMap, ConfigMapHandle, Deployment, DeploymentHandle,
    HorizontalPodAutoscaler, HpaHandle, IntoNamespace, Namespace, NamespaceHandle, NetworkPolicy,
    ObjectHandle, PodDisruptionBudget, ServicePort, ServiceType,
};

use crate::BACKEND_URL;
use crate::tier::{self, Tier};
use crate::values::{Scaling, YoloAppValues};

/// The namespace every object of the app shares.
#[derive(Clone, Debug)]
struct AppNamespace {
    name: String,
    node: Option<NodeId>,
}

impl IntoNamespace for &AppNamespace {
    fn into_namespace(self) -> (String, Option<NodeId>) {
        (self.name.clone(), self.node)
    }
}

/// The seed's app: a backend Deployment behind the Service `backend-service`, the ConfigMap
/// `frontend-configmap` holding `BACKEND_URL` (the backend Service's typed URL), a frontend
/// Deployment reading it, the frontend's LoadBalancer Service `frontend-service` (with an
/// external-dns hostname if given), an autoscaler per tier, disruption budgets and network
/// policies — every name, image, port, size and policy from [`YoloAppValues`].
///
/// ```
/// use girder_core::Stack;
/// use girder_k8s::dsl::DefaultProvider;
/// use yolo_app::{YoloApp, YoloAppValues};
/// let mut s = Stack::new("dev");
/// let app = YoloApp::new(YoloAppValues::default()).add(DefaultProvider, &mut s);
/// assert_eq!(app.backend_service().host_name(), "backend-service.default.svc.cluster.local");
/// let graph = s.finish().expect("the app builds");
/// assert!(girder_k8s::check::check(&graph).is_empty());
/// ```
#[derive(Clone, Debug)]
#[must_use = "a builder declares nothing until it is added to the stack with `.add(…)`"]
pub struct YoloApp {
    values: YoloAppValues,
    namespace: Option<NamespaceHandle>,
    after: Vec<NodeId>,
}

impl YoloApp {
    /// The app with these values.
    pub fn new(values: YoloAppValues) -> YoloApp {
        YoloApp {
            values,
            namespace: None,
            after: Vec::new(),
        }
    }

    /// Places the app in a namespace the bigger program declares (instead of
    /// `values.namespace`), so every object is applied after it.
    pub fn in_namespace(mut self, namespace: &NamespaceHandle) -> YoloApp {
        self.namespace = Some(namespace.clone());
        self
    }

    /// Rolls the app out only after `what` (a cluster add-on, a database): both Deployments
    /// depend on it, and everything else follows from them.
    pub fn depends_on(mut self, what: impl Dependable) -> YoloApp {
        self.after.extend(what.node_ids());
        self
    }

    /// The values.
    pub fn values(&self) -> &YoloAppValues {
        &self.values
    }

    /// Adds every object to the stack; problems with the values are reported on the stack
    /// (naming the value and the fix), so `Stack::finish` refuses them.
    pub fn add(self, target: impl ClusterTarget, stack: &mut Stack) -> YoloAppHandle {
        let values = &self.values;
        let namespace = match (&self.namespace, values.create_namespace) {
            (Some(handle), _) => AppNamespace {
                name: handle.object_name().to_owned(),
                node: Some(handle.node()),
            },
            (None, true) => {
                let handle = Namespace::new(values.namespace.clone()).add(&target, stack);
                AppNamespace {
                    name: handle.object_name().to_owned(),
                    node: Some(handle.node()),
                }
            }
            (None, false) => AppNamespace {
                name: values.namespace.clone(),
                node: None,
            },
        };
        for problem in tier::problems(values, &namespace.name) {
            stack.report(problem);
        }
        let backend_tier = Tier::backend(&values.backend);
        let frontend_tier = Tier::frontend(&values.frontend);

        let backend = deployment(&backend_tier, &namespace, &self.after).add(&target, stack);
        let backend_service = expose(&backend, &backend_tier, None).add(stack);
        let config = ConfigMap::new(values.config_map_name.clone())
            .namespace(&namespace)
            .data(BACKEND_URL, backend_service.url())
            .add(&target, stack);
        let frontend = deployment(&frontend_tier, &namespace, &self.after)
            .env_from_key(BACKEND_URL, config.key(BACKEND_URL))
            .add(&target, stack);
        let hostname = values
            .frontend
            .hostname
            .as_deref()
            .filter(|_| frontend_tier.service_type != ServiceType::ClusterIp);
        let frontend_service = expose(&frontend, &frontend_tier, hostname).add(stack);

        let mut autoscalers = Vec::new();
        let mut budgets = Vec::new();
        for (tier, handle) in [(&backend_tier, &backend), (&frontend_tier, &frontend)] {
            if let Scaling::Autoscaled(a) = tier.scaling
                && tier.scaling_is_valid()
            {
                let mut hpa = HorizontalPodAutoscaler::for_deployment(handle)
                    .replicas(a.min_replicas, a.max_replicas);
                if let Some(percent) = a.cpu_percent {
                    hpa = hpa.cpu_utilization(percent);
                }
                if let Some(percent) = a.memory_percent {
                    hpa = hpa.memory_utilization(percent);
                }
                autoscalers.push(hpa.add(stack));
            }
            if values.disruption_budgets && tier.scaling.min_replicas() >= 2 {
                budgets.push(
                    PodDisruptionBudget::for_deployment(handle)
                        .max_unavailable(1)
                        .add(stack),
                );
            }
        }
        let mut policies = Vec::new();
        if values.network_policies {
            policies.push(
                NetworkPolicy::for_deployment(&backend)
                    .allow_from(&frontend, [backend_tier.port])
                    .add(stack),
            );
            policies.push(
                NetworkPolicy::for_deployment(&frontend)
                    .allow_from_anywhere([frontend_tier.port])
                    .allow_to(&backend, [backend_tier.port])
                    .allow_dns()
                    .add(stack),
            );
        }
        YoloAppHandle {
            namespace: namespace.name,
            frontend,
            backend,
            frontend_service,
            backend_service,
            config,
            autoscalers,
            budgets,
            policies,
        }
    }
}

/// A tier's Deployment: image, port, requests and limits, writable directories, probes,
/// environment, and a replica count unless an autoscaler owns it.
fn deployment(tier: &Tier<'_>, namespace: &AppNamespace, after: &[NodeId]) -> Deployment {
    let mut deployment = Deployment::new(tier.name)
        .namespace(namespace)
        .label("app.kubernetes.io/part-of", "yolo")
        .label("app.kubernetes.io/component", tier.role)
        .pod_label("app.kubernetes.io/part-of", "yolo")
        .image(tier.image)
        .port(tier.port)
        .resources(tier.resources.to_resources());
    for dir in tier.writable_dirs {
        deployment = deployment.writable_dir(dir.clone());
    }
    for (name, value) in tier.env {
        deployment = deployment.env(name.clone(), value.as_str());
    }
    if let Some(path) = tier.health_path {
        deployment = deployment
            .readiness_http(path, tier.port)
            .liveness_http(path, tier.port);
    }
    if let Scaling::Fixed(replicas) = tier.scaling {
        deployment = deployment.replicas(replicas);
    }
    for node in after {
        deployment = deployment.depends_on(*node);
    }
    deployment
}

/// A tier's Service, from its Deployment (selector and target port wired from it).
fn expose(
    handle: &DeploymentHandle,
    tier: &Tier<'_>,
    hostname: Option<&str>,
) -> girder_k8s::dsl::ExposedService {
    let mut service = handle
        .expose(ServicePort::http(tier.service_port, tier.port).named("http"))
        .name(tier.service_name)
        .label("app.kubernetes.io/part-of", "yolo");
    service = match tier.service_type {
        ServiceType::ClusterIp => service,
        ServiceType::NodePort => service.node_port(),
        ServiceType::LoadBalancer => service.load_balancer(),
    };
    if let Some(hostname) = hostname {
        service = service.hostname(hostname);
    }
    service
}

/// The objects of a [`YoloApp`], for wiring the app into a bigger program.
#[derive(Clone, Debug)]
pub struct YoloAppHandle {
    namespace: String,
    frontend: DeploymentHandle,
    backend: DeploymentHandle,
    frontend_service: ServiceHandle,
    backend_service: ServiceHandle,
    config: ConfigMapHandle,
    autoscalers: Vec<HpaHandle>,
    budgets: Vec<ObjectHandle>,
    policies: Vec<ObjectHandle>,
}

impl YoloAppHandle {
    /// The namespace the app runs in.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// The frontend Deployment.
    pub fn frontend(&self) -> &DeploymentHandle {
        &self.frontend
    }

    /// The backend Deployment.
    pub fn backend(&self) -> &DeploymentHandle {
        &self.backend
    }

    /// The frontend's Service.
    pub fn frontend_service(&self) -> &ServiceHandle {
        &self.frontend_service
    }

    /// The backend's Service.
    pub fn backend_service(&self) -> &ServiceHandle {
        &self.backend_service
    }

    /// The ConfigMap holding `BACKEND_URL`.
    pub fn config_map(&self) -> &ConfigMapHandle {
        &self.config
    }

    /// The backend's in-cluster URL (what `BACKEND_URL` holds), for other workloads.
    pub fn backend_url(&self) -> Output<String> {
        self.backend_service.url()
    }

    /// The frontend's in-cluster URL.
    pub fn frontend_url(&self) -> Output<String> {
        self.frontend_service.url()
    }

    /// The autoscalers (one per autoscaled tier).
    pub fn autoscalers(&self) -> &[HpaHandle] {
        &self.autoscalers
    }

    /// The PodDisruptionBudgets (one per tier of two or more pods).
    pub fn disruption_budgets(&self) -> &[ObjectHandle] {
        &self.budgets
    }

    /// The NetworkPolicies.
    pub fn network_policies(&self) -> &[ObjectHandle] {
        &self.policies
    }
}

impl Dependable for YoloAppHandle {
    /// Both Deployments and their Services: once applied, the app serves.
    fn node_ids(&self) -> Vec<NodeId> {
        vec![
            self.backend.node(),
            self.backend_service.node(),
            self.frontend.node(),
            self.frontend_service.node(),
        ]
    }
}
