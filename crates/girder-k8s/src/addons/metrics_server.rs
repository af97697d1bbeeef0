//! metrics-server: the resource metrics API (`metrics.k8s.io`) that HorizontalPodAutoscalers
//! and `kubectl top` read — upstream's `components.yaml` (v0.8.0) in Rust.

use std::collections::BTreeMap;
use std::time::Duration;

use girder_core::{Dependable, Diagnostic, Expr, NodeId, Stack, Value};

use super::{ADDON_NAMESPACE, AddonNamespace, CRITICAL_PRIORITY, ProvidedRoleBinding, go_duration};
use crate::dsl::object::{IntoNamespace, ObjectDecl, ObjectHandle, provider_node};
use crate::dsl::{
    ClusterRole, ClusterRoleBinding, ClusterTarget, Deployment, DeploymentHandle,
    PodDisruptionBudget, PolicyRule, Resources, ServiceAccount, ServiceAccountHandle,
    ServiceHandle, ServicePort,
};
use crate::kinds::Kind;

/// The port metrics-server serves HTTPS on.
const SECURE_PORT: u16 = 10250;

/// metrics-server, with its ServiceAccount, RBAC (the aggregated reader ClusterRole, the
/// auth-delegator binding, the authentication-reader RoleBinding in `kube-system`), Service,
/// Deployment and the `v1beta1.metrics.k8s.io` APIService that registers it with the API
/// server.
///
/// ```
/// use std::time::Duration;
/// use girder_core::Stack;
/// use girder_k8s::addons::MetricsServer;
/// use girder_k8s::dsl::DefaultProvider;
/// let mut s = Stack::new("dev");
/// let metrics = MetricsServer::new()
///     .replicas(2)                                   // adds a PodDisruptionBudget
///     .metric_resolution(Duration::from_secs(15))
///     .add(DefaultProvider, &mut s);
/// assert_eq!(metrics.api_service().object_name(), "v1beta1.metrics.k8s.io");
/// assert!(s.finish().is_ok());
/// ```
#[derive(Clone, Debug)]
#[must_use = "a builder declares nothing until it is added to the stack with `.add(…)`"]
pub struct MetricsServer {
    namespace: AddonNamespace,
    image: String,
    replicas: u32,
    resources: Resources,
    resolution: Duration,
}

impl Default for MetricsServer {
    fn default() -> Self {
        MetricsServer::new()
    }
}

impl MetricsServer {
    /// The pinned image.
    pub const IMAGE: &'static str = "registry.k8s.io/metrics-server/metrics-server:v0.8.0";

    /// The name of its objects (ServiceAccount, Service, Deployment).
    pub const NAME: &'static str = "metrics-server";

    /// The APIService it registers.
    pub const API_SERVICE: &'static str = "v1beta1.metrics.k8s.io";

    /// metrics-server in `kube-system`, one replica, the pinned image, a 15 s resolution, and
    /// upstream's requests (100m CPU, 200Mi memory) with limits of 1 CPU and 400Mi.
    pub fn new() -> MetricsServer {
        MetricsServer {
            namespace: AddonNamespace::new(ADDON_NAMESPACE),
            image: MetricsServer::IMAGE.to_owned(),
            replicas: 1,
            resources: Resources::new().cpu("100m", "1").memory("200Mi", "400Mi"),
            resolution: Duration::from_secs(15),
        }
    }

    /// The namespace of its ServiceAccount, Service and Deployment (the authentication-reader
    /// binding is always in `kube-system`, where the API server's configuration lives).
    pub fn namespace(mut self, namespace: impl IntoNamespace) -> MetricsServer {
        self.namespace = AddonNamespace::new(namespace);
        self
    }

    /// Another image, such as a mirror of the pinned one.
    pub fn image(mut self, image: impl Into<String>) -> MetricsServer {
        self.image = image.into();
        self
    }

    /// The number of replicas (default 1); with 2 or more a PodDisruptionBudget keeps one
    /// available while nodes drain.
    pub fn replicas(mut self, replicas: u32) -> MetricsServer {
        self.replicas = replicas;
        self
    }

    /// Requests and limits.
    pub fn resources(mut self, resources: Resources) -> MetricsServer {
        self.resources = resources;
        self
    }

    /// How often metrics are scraped from the kubelets (default 15 s, at least 10 s).
    pub fn metric_resolution(mut self, resolution: Duration) -> MetricsServer {
        self.resolution = resolution;
        self
    }

    /// Adds every object to the stack.
    pub fn add(self, target: impl ClusterTarget, stack: &mut Stack) -> MetricsServerHandle {
        let name = MetricsServer::NAME;
        let resource = format!("deployment/{}/{name}", self.namespace.name());
        let provider = provider_node(&target, &resource, stack);
        if self.resolution < Duration::from_secs(10) {
            stack.report(
                Diagnostic::error(format!(
                    "metrics-server refuses a metric resolution of {} (its minimum is 10s)",
                    go_duration(self.resolution)
                ))
                .resource(resource.clone())
                .field("args[--metric-resolution]")
                .value(go_duration(self.resolution))
                .fix("use `.metric_resolution(Duration::from_secs(15))` or longer"),
            );
        }
        if self.replicas == 0 {
            stack.report(
                Diagnostic::error("metrics-server with 0 replicas serves no metrics, so every HorizontalPodAutoscaler stops scaling")
                    .resource(resource.clone())
                    .field("spec.replicas")
                    .value(0)
                    .fix("use `.replicas(1)` or more"),
            );
        }
        let labels: BTreeMap<String, String> = [("k8s-app".to_owned(), name.to_owned())].into();

        let account = ServiceAccount::new(name)
            .namespace(&self.namespace)
            .label("k8s-app", name)
            .add(&target, stack);

        // Lets `view`, `edit` and `admin` read the metrics API (`kubectl top`).
        let mut reader = ClusterRole::new("system:aggregated-metrics-reader")
            .label("k8s-app", name)
            .rule(PolicyRule::new(
                ["metrics.k8s.io"],
                ["pods", "nodes"],
                ["get", "list", "watch"],
            ));
        for role in ["admin", "edit", "view"] {
            reader = reader.label(
                format!("rbac.authorization.k8s.io/aggregate-to-{role}"),
                "true",
            );
        }
        reader.add(&target, stack);

        let scraper = ClusterRole::new("system:metrics-server")
            .label("k8s-app", name)
            .rule(PolicyRule::new([""], ["nodes/metrics"], ["get"]))
            .rule(PolicyRule::new(
                [""],
                ["pods", "nodes"],
                ["get", "list", "watch"],
            ))
            .add(&target, stack);
        ClusterRoleBinding::new("system:metrics-server", &scraper)
            .label("k8s-app", name)
            .subject(&account)
            .add(stack);
        ProvidedRoleBinding {
            kind: "RoleBinding",
            name: "metrics-server-auth-reader",
            namespace: Some("kube-system"),
            role_kind: "Role",
            role: "extension-apiserver-authentication-reader",
            labels: &labels,
        }
        .add(&account, provider, stack);
        ProvidedRoleBinding {
            kind: "ClusterRoleBinding",
            name: "metrics-server:system:auth-delegator",
            namespace: None,
            role_kind: "ClusterRole",
            role: "system:auth-delegator",
            labels: &labels,
        }
        .add(&account, provider, stack);

        let deployment = Deployment::new(name)
            .namespace(&self.namespace)
            .label("k8s-app", name)
            .image(self.image.as_str())
            .args([
                "--cert-dir=/tmp".to_owned(),
                format!("--secure-port={SECURE_PORT}"),
                "--kubelet-preferred-address-types=InternalIP,ExternalIP,Hostname".to_owned(),
                "--kubelet-use-node-status-port".to_owned(),
                format!("--metric-resolution={}", go_duration(self.resolution)),
            ])
            .named_port("https", SECURE_PORT)
            .readiness_https("/readyz", SECURE_PORT)
            .liveness_https("/livez", SECURE_PORT)
            .resources(self.resources.clone())
            .writable_dir("/tmp")
            .service_account(&account)
            .priority_class(CRITICAL_PRIORITY)
            .node_selector("kubernetes.io/os", "linux")
            .replicas(self.replicas)
            .add(&target, stack);
        if self.replicas >= 2 {
            PodDisruptionBudget::for_deployment(&deployment)
                .min_available(1)
                .add(stack);
        }
        let service = deployment
            .expose(ServicePort::https(443, SECURE_PORT).named("https"))
            .label("k8s-app", name)
            .add(stack);

        let api_service = register_api_service(&service, &self.namespace, &labels, provider, stack);
        MetricsServerHandle {
            deployment,
            service,
            service_account: account,
            api_service,
        }
    }
}

/// The APIService that makes the API server proxy `metrics.k8s.io/v1beta1` to the Service;
/// it reads the Service's name, so it is applied after the Service and deleted before it.
fn register_api_service(
    service: &ServiceHandle,
    namespace: &AddonNamespace,
    labels: &BTreeMap<String, String>,
    provider: Option<NodeId>,
    stack: &mut Stack,
) -> ObjectHandle {
    let mut obj = ObjectDecl::new(
        Kind::new("apiregistration.k8s.io", "v1", "APIService"),
        MetricsServer::API_SERVICE,
    );
    for (key, value) in labels {
        obj.label(key.clone(), value.clone());
    }
    let mut reference = BTreeMap::new();
    reference.insert("name".to_owned(), service.name().into_expr());
    reference.insert(
        "namespace".to_owned(),
        Expr::Value(Value::String(namespace.name().to_owned())),
    );
    let mut spec = BTreeMap::new();
    spec.insert("service".to_owned(), Expr::Object(reference));
    for (key, value) in [
        ("group", Value::from("metrics.k8s.io")),
        ("version", Value::from("v1beta1")),
        ("groupPriorityMinimum", Value::from(100)),
        ("versionPriority", Value::from(100)),
        // metrics-server serves a self-signed certificate, as upstream deploys it.
        ("insecureSkipTLSVerify", Value::Bool(true)),
    ] {
        spec.insert(key.to_owned(), Expr::Value(value));
    }
    obj.body.insert("spec".into(), Expr::Object(spec));
    ObjectHandle::new(obj.add_object(provider, stack))
}

/// The objects of a [`MetricsServer`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetricsServerHandle {
    deployment: DeploymentHandle,
    service: ServiceHandle,
    service_account: ServiceAccountHandle,
    api_service: ObjectHandle,
}

impl MetricsServerHandle {
    /// The Deployment.
    pub fn deployment(&self) -> &DeploymentHandle {
        &self.deployment
    }

    /// The Service the API server reaches it through.
    pub fn service(&self) -> &ServiceHandle {
        &self.service
    }

    /// The ServiceAccount its pods run as.
    pub fn service_account(&self) -> &ServiceAccountHandle {
        &self.service_account
    }

    /// The `v1beta1.metrics.k8s.io` APIService.
    pub fn api_service(&self) -> &ObjectHandle {
        &self.api_service
    }
}

impl Dependable for MetricsServerHandle {
    /// The Deployment and the APIService: once both are applied, the metrics API is served.
    fn node_ids(&self) -> Vec<NodeId> {
        vec![self.deployment.node(), self.api_service.node()]
    }
}
