//! The typed values of the app — what the seed's Helm chart kept in `values.yaml` — with
//! defaults, built with `typed-builder`: set the fields you change, keep the rest.

use std::collections::BTreeMap;

use girder_k8s::dsl::{Resources, ServiceType};
use typed_builder::TypedBuilder;

/// CPU and memory requests and limits of a tier's container (Kubernetes quantities: `250m`,
/// `0.5`, `256Mi`, `1Gi`). Autoscalers compute utilization against the requests.
///
/// ```
/// use yolo_app::ResourceValues;
/// let big = ResourceValues::builder().cpu_limit("2").memory_limit("1Gi").build();
/// assert_eq!(big.cpu_request, "100m");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, TypedBuilder)]
pub struct ResourceValues {
    /// CPU the scheduler reserves (default `100m`).
    #[builder(default = "100m".to_owned(), setter(into))]
    pub cpu_request: String,
    /// CPU the container may use at most (default `500m`).
    #[builder(default = "500m".to_owned(), setter(into))]
    pub cpu_limit: String,
    /// Memory the scheduler reserves (default `128Mi`).
    #[builder(default = "128Mi".to_owned(), setter(into))]
    pub memory_request: String,
    /// Memory the container may use at most (default `256Mi`).
    #[builder(default = "256Mi".to_owned(), setter(into))]
    pub memory_limit: String,
}

impl Default for ResourceValues {
    fn default() -> Self {
        ResourceValues::builder().build()
    }
}

impl ResourceValues {
    /// The DSL's [`Resources`].
    pub fn to_resources(&self) -> Resources {
        Resources::new()
            .cpu(self.cpu_request.clone(), self.cpu_limit.clone())
            .memory(self.memory_request.clone(), self.memory_limit.clone())
    }
}

/// A HorizontalPodAutoscaler's range and targets (percentages of the requests).
///
/// ```
/// use yolo_app::Autoscaling;
/// let bursty = Autoscaling::builder().min_replicas(3).max_replicas(30).cpu_percent(50).build();
/// assert_eq!(bursty.memory_percent, Some(80));
/// let cpu_only = Autoscaling::builder().memory_percent_opt(None).build();
/// assert_eq!(cpu_only.memory_percent, None);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, TypedBuilder)]
pub struct Autoscaling {
    /// The fewest pods (at least 1; default 2).
    #[builder(default = 2)]
    pub min_replicas: u32,
    /// The most pods (at least `min_replicas`; default 10).
    #[builder(default = 10)]
    pub max_replicas: u32,
    /// The average CPU utilization to keep, in percent of the CPU request (default 70).
    #[builder(default = Some(70), setter(strip_option(fallback = cpu_percent_opt)))]
    pub cpu_percent: Option<u32>,
    /// The average memory utilization to keep, in percent of the memory request (default 80).
    #[builder(default = Some(80), setter(strip_option(fallback = memory_percent_opt)))]
    pub memory_percent: Option<u32>,
}

impl Default for Autoscaling {
    fn default() -> Self {
        Autoscaling::builder().build()
    }
}

/// How many pods a tier runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scaling {
    /// A fixed number of pods.
    Fixed(u32),
    /// A HorizontalPodAutoscaler owns the number of pods (the Deployment leaves it unset).
    Autoscaled(Autoscaling),
}

impl Default for Scaling {
    fn default() -> Self {
        Scaling::Autoscaled(Autoscaling::default())
    }
}

impl Scaling {
    /// The fewest pods the tier runs.
    pub fn min_replicas(&self) -> u32 {
        match self {
            Scaling::Fixed(replicas) => *replicas,
            Scaling::Autoscaled(autoscaling) => autoscaling.min_replicas,
        }
    }
}

/// The frontend tier: the public web app, behind a LoadBalancer Service, reading
/// `BACKEND_URL` from the ConfigMap.
///
/// ```
/// use yolo_app::FrontendValues;
/// let frontend = FrontendValues::builder()
///     .image("ghcr.io/acme/frontend:2.1")
///     .hostname("app.example.com")
///     .build();
/// assert_eq!(frontend.service_name, "frontend-service");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, TypedBuilder)]
pub struct FrontendValues {
    /// The Deployment's name, which also labels its pods (default `frontend`).
    #[builder(default = "frontend".to_owned(), setter(into))]
    pub name: String,
    /// The Service's name (default `frontend-service`).
    #[builder(default = "frontend-service".to_owned(), setter(into))]
    pub service_name: String,
    /// The image (default `ghcr.io/acme/frontend:2.0`).
    #[builder(default = "ghcr.io/acme/frontend:2.0".to_owned(), setter(into))]
    pub image: String,
    /// The port the container listens on (default 4000).
    #[builder(default = 4000)]
    pub port: u16,
    /// The Service's port (default 80).
    #[builder(default = 80)]
    pub service_port: u16,
    /// How the Service is reachable (default a load balancer).
    #[builder(default = ServiceType::LoadBalancer)]
    pub service_type: ServiceType,
    /// The public DNS name external-dns points at the load balancer, if any.
    #[builder(default, setter(strip_option, into))]
    pub hostname: Option<String>,
    /// Pods: autoscaled from 2 to 10 on 70% CPU and 80% memory by default.
    #[builder(default)]
    pub scaling: Scaling,
    /// Requests and limits.
    #[builder(default)]
    pub resources: ResourceValues,
    /// Writable directories (the root filesystem is read-only; default `/tmp`).
    #[builder(default = vec!["/tmp".to_owned()])]
    pub writable_dirs: Vec<String>,
    /// More environment variables (`BACKEND_URL` is the app's own).
    #[builder(default)]
    pub env: BTreeMap<String, String>,
    /// An HTTP path answering 200 when the pod is ready (readiness and liveness probes).
    #[builder(default, setter(strip_option, into))]
    pub health_path: Option<String>,
}

impl Default for FrontendValues {
    fn default() -> Self {
        FrontendValues::builder().build()
    }
}

/// The backend tier: the API the frontend calls, behind a ClusterIP Service.
///
/// ```
/// use yolo_app::{BackendValues, Scaling};
/// let backend = BackendValues::builder().image("ghcr.io/acme/backend:1.5").scaling(Scaling::Fixed(3)).build();
/// assert_eq!(backend.service_name, "backend-service");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, TypedBuilder)]
pub struct BackendValues {
    /// The Deployment's name, which also labels its pods (default `backend`).
    #[builder(default = "backend".to_owned(), setter(into))]
    pub name: String,
    /// The Service's name, which `BACKEND_URL` names (default `backend-service`).
    #[builder(default = "backend-service".to_owned(), setter(into))]
    pub service_name: String,
    /// The image (default `ghcr.io/acme/backend:1.4`).
    #[builder(default = "ghcr.io/acme/backend:1.4".to_owned(), setter(into))]
    pub image: String,
    /// The port the container listens on (default 8080).
    #[builder(default = 8080)]
    pub port: u16,
    /// The Service's port, which `BACKEND_URL` names (default 80).
    #[builder(default = 80)]
    pub service_port: u16,
    /// How the Service is reachable (default inside the cluster only).
    #[builder(default = ServiceType::ClusterIp)]
    pub service_type: ServiceType,
    /// Pods: autoscaled from 2 to 10 on 70% CPU and 80% memory by default.
    #[builder(default)]
    pub scaling: Scaling,
    /// Requests and limits.
    #[builder(default)]
    pub resources: ResourceValues,
    /// Writable directories (the root filesystem is read-only; default `/tmp`).
    #[builder(default = vec!["/tmp".to_owned()])]
    pub writable_dirs: Vec<String>,
    /// More environment variables.
    #[builder(default)]
    pub env: BTreeMap<String, String>,
    /// An HTTP path answering 200 when the pod is ready (readiness and liveness probes).
    #[builder(default, setter(strip_option, into))]
    pub health_path: Option<String>,
}

impl Default for BackendValues {
    fn default() -> Self {
        BackendValues::builder().build()
    }
}

/// Everything about a [`YoloApp`](crate::YoloApp) one may change; every field has a default,
/// so `YoloAppValues::default()` is the seed's deployment.
///
/// ```
/// use yolo_app::{BackendValues, FrontendValues, YoloAppValues};
/// let values = YoloAppValues::builder()
///     .namespace("shop")
///     .create_namespace()
///     .frontend(FrontendValues::builder().hostname("shop.example.com").build())
///     .backend(BackendValues { image: "ghcr.io/acme/backend:1.5".into(), ..Default::default() })
///     .build();
/// assert_eq!(values.config_map_name, "frontend-configmap");
/// assert!(values.network_policies);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, TypedBuilder)]
pub struct YoloAppValues {
    /// The namespace of every object (default `default`, as in the seed).
    #[builder(default = "default".to_owned(), setter(into))]
    pub namespace: String,
    /// Declares the namespace too, enforcing the `restricted` Pod Security Standard (default
    /// off: the namespace exists already).
    #[builder(setter(strip_bool(fallback = create_namespace_bool)))]
    pub create_namespace: bool,
    /// The frontend tier.
    #[builder(default)]
    pub frontend: FrontendValues,
    /// The backend tier.
    #[builder(default)]
    pub backend: BackendValues,
    /// The ConfigMap holding `BACKEND_URL` (default `frontend-configmap`).
    #[builder(default = "frontend-configmap".to_owned(), setter(into))]
    pub config_map_name: String,
    /// NetworkPolicies (default on): the backend accepts connections from the frontend
    /// only; the frontend accepts them from anywhere and connects only to the backend and to
    /// DNS.
    #[builder(default = true)]
    pub network_policies: bool,
    /// PodDisruptionBudgets for tiers of two or more pods (default on): node drains take
    /// down one pod at a time.
    #[builder(default = true)]
    pub disruption_budgets: bool,
}

impl Default for YoloAppValues {
    fn default() -> Self {
        YoloAppValues::builder().build()
    }
}
