//! Services: from `deployment.expose(..)` (selector and target ports wired from the
//! deployment) or built by hand, and the typed in-cluster addresses other objects use.

use std::collections::BTreeMap;

use girder_core::output::format_template;
use girder_core::{Dependable, Diagnostic, Expr, NodeId, Output, Stack, Value};

use super::deployment::Workload;
use super::object::{
    Added, ClusterTarget, ObjectDecl, namespaced_builder, object_builder, provider_node,
};
use crate::kinds::Kind;

/// The annotation external-dns reads on Services: the DNS name(s) to point at the Service's
/// load balancer (comma-separated).
pub const EXTERNAL_DNS_HOSTNAME: &str = "external-dns.alpha.kubernetes.io/hostname";

/// The protocol spoken on a Service port; it decides the scheme of [`ServiceHandle::url`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppProtocol {
    /// `http://`.
    Http,
    /// `https://`.
    Https,
    /// `grpc://` (HTTP/2).
    Grpc,
    /// Plain TCP: `tcp://`.
    Tcp,
    /// UDP: `udp://`.
    Udp,
}

impl AppProtocol {
    fn scheme(&self) -> &'static str {
        match self {
            AppProtocol::Http => "http",
            AppProtocol::Https => "https",
            AppProtocol::Grpc => "grpc",
            AppProtocol::Tcp => "tcp",
            AppProtocol::Udp => "udp",
        }
    }
}

/// Where a Service port sends traffic: a container port number or name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TargetPort {
    /// A container port number.
    Number(u16),
    /// A named container port.
    Name(String),
}

/// One port of a Service.
///
/// ```
/// use girder_k8s::dsl::ServicePort;
/// let web = ServicePort::http(80, 8080);
/// assert_eq!(web.port(), 80);
/// let metrics = ServicePort::tcp(9090, 9090).named("metrics");
/// assert_eq!(metrics.name(), "metrics");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServicePort {
    port: u16,
    target: TargetPort,
    protocol: AppProtocol,
    name: Option<String>,
    node_port: Option<u16>,
}

impl ServicePort {
    fn new(port: u16, target: u16, protocol: AppProtocol) -> ServicePort {
        ServicePort {
            port,
            target: TargetPort::Number(target),
            protocol,
            name: None,
            node_port: None,
        }
    }

    /// HTTP on `port`, sent to container port `target`.
    pub fn http(port: u16, target: u16) -> ServicePort {
        ServicePort::new(port, target, AppProtocol::Http)
    }

    /// HTTPS on `port`, sent to container port `target`.
    pub fn https(port: u16, target: u16) -> ServicePort {
        ServicePort::new(port, target, AppProtocol::Https)
    }

    /// gRPC on `port`, sent to container port `target`.
    pub fn grpc(port: u16, target: u16) -> ServicePort {
        ServicePort::new(port, target, AppProtocol::Grpc)
    }

    /// Plain TCP on `port`, sent to container port `target`.
    pub fn tcp(port: u16, target: u16) -> ServicePort {
        ServicePort::new(port, target, AppProtocol::Tcp)
    }

    /// UDP on `port`, sent to container port `target`.
    pub fn udp(port: u16, target: u16) -> ServicePort {
        ServicePort::new(port, target, AppProtocol::Udp)
    }

    /// Sends to a named container port instead of a number.
    pub fn target_name(mut self, name: impl Into<String>) -> ServicePort {
        self.target = TargetPort::Name(name.into());
        self
    }

    /// Names the port (default: `http-80`, `tcp-5432`, …).
    pub fn named(mut self, name: impl Into<String>) -> ServicePort {
        self.name = Some(name.into());
        self
    }

    /// A fixed node port (NodePort and LoadBalancer Services).
    pub fn node_port(mut self, port: u16) -> ServicePort {
        self.node_port = Some(port);
        self
    }

    /// The Service port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The target.
    pub fn target(&self) -> &TargetPort {
        &self.target
    }

    /// The port's name.
    pub fn name(&self) -> String {
        self.name
            .clone()
            .unwrap_or_else(|| format!("{}-{}", self.protocol.scheme(), self.port))
    }

    fn to_value(&self) -> Value {
        let mut port = girder_core::object! {
            "name" => self.name(),
            "port" => self.port,
            "protocol" => if self.protocol == AppProtocol::Udp { "UDP" } else { "TCP" },
        };
        let target = match &self.target {
            TargetPort::Number(n) => Value::from(*n),
            TargetPort::Name(name) => Value::String(name.clone()),
        };
        if let Some(map) = port.as_object_mut() {
            map.insert("targetPort".into(), target);
            if let Some(node_port) = self.node_port {
                map.insert("nodePort".into(), Value::from(node_port));
            }
        }
        port
    }
}

/// How a Service is reachable.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ServiceType {
    /// Inside the cluster only.
    #[default]
    ClusterIp,
    /// On a port of every node.
    NodePort,
    /// Through a cloud load balancer.
    LoadBalancer,
}

impl ServiceType {
    fn as_str(&self) -> &'static str {
        match self {
            ServiceType::ClusterIp => "ClusterIP",
            ServiceType::NodePort => "NodePort",
            ServiceType::LoadBalancer => "LoadBalancer",
        }
    }
}

/// A Service built by hand (prefer [`DeploymentHandle::expose`](crate::dsl::DeploymentHandle::expose),
/// which wires selector and ports from the deployment).
///
/// ```
/// use girder_core::Stack;
/// use girder_k8s::dsl::*;
/// let mut s = Stack::new("dev");
/// let legacy = Service::new("legacy")
///     .selector("app", "legacy")
///     .port(ServicePort::http(80, 8080))
///     .add(DefaultProvider, &mut s);
/// assert_eq!(legacy.host_name(), "legacy.default.svc.cluster.local");
/// ```
#[derive(Clone, Debug)]
#[must_use = "a builder declares nothing until it is added to the stack with `.add(…)`"]
pub struct Service {
    obj: ObjectDecl,
    ports: Vec<ServicePort>,
    selector: BTreeMap<String, String>,
    service_type: ServiceType,
    workload: Option<Workload>,
}

object_builder!(Service);
namespaced_builder!(Service);

impl Service {
    /// A Service called `name`.
    pub fn new(name: impl Into<String>) -> Service {
        Service {
            obj: ObjectDecl::new(Kind::new("", "v1", "Service"), name),
            ports: Vec::new(),
            selector: BTreeMap::new(),
            service_type: ServiceType::ClusterIp,
            workload: None,
        }
    }

    /// Selects pods with this label (the wiring check verifies a workload has it).
    pub fn selector(mut self, key: impl Into<String>, value: impl Into<String>) -> Service {
        self.selector.insert(key.into(), value.into());
        self
    }

    /// Adds a port.
    pub fn port(mut self, port: ServicePort) -> Service {
        self.ports.push(port);
        self
    }

    /// Makes it a LoadBalancer Service.
    pub fn load_balancer(mut self) -> Service {
        self.service_type = ServiceType::LoadBalancer;
        self
    }

    /// Makes it a NodePort Service.
    pub fn node_port(mut self) -> Service {
        self.service_type = ServiceType::NodePort;
        self
    }

    /// Waits, when applying, until the load balancer has an address (LoadBalancer only).
    pub fn wait_for_address(mut self) -> Service {
        self.obj.setting("waitForLoadBalancer", true);
        self
    }

    /// The public DNS name of a LoadBalancer (or NodePort) Service: sets the annotation
    /// [`EXTERNAL_DNS_HOSTNAME`], so external-dns (see
    /// [`ExternalDns`](crate::addons::ExternalDns)) points the name at the load balancer. A
    /// literal is checked to be a DNS name; a ClusterIP Service with a hostname is an error
    /// when the program is built, because external-dns does not publish it.
    ///
    /// ```
    /// use girder_core::Stack;
    /// use girder_k8s::dsl::*;
    /// let mut s = Stack::new("dev");
    /// Service::new("web")
    ///     .selector("app", "web")
    ///     .port(ServicePort::http(80, 8080))
    ///     .hostname("app.example.com")
    ///     .add(DefaultProvider, &mut s);
    /// // The ClusterIP default is refused, with the fix:
    /// let diagnostics = s.diagnostics().to_string();
    /// assert!(diagnostics.contains("`.load_balancer()`"), "{diagnostics}");
    /// ```
    pub fn hostname(self, hostname: impl girder_core::IntoInput<String>) -> Service {
        self.annotation(EXTERNAL_DNS_HOSTNAME, hostname)
    }

    /// The same as [`hostname`](Service::hostname).
    pub fn external_dns_hostname(self, hostname: impl girder_core::IntoInput<String>) -> Service {
        self.hostname(hostname)
    }

    fn check_ports(&self, workload: &Workload) -> Vec<Diagnostic> {
        self.ports
            .iter()
            .enumerate()
            .filter_map(|(i, port)| {
                let declared = workload.containers.iter().flat_map(|c| &c.ports).any(|p| match &port.target {
                    TargetPort::Number(n) => p.port == *n,
                    TargetPort::Name(name) => p.name.as_deref() == Some(name.as_str()),
                });
                (!declared).then(|| {
                    let shown = match &port.target {
                        TargetPort::Number(n) => n.to_string(),
                        TargetPort::Name(name) => format!("`{name}`"),
                    };
                    Diagnostic::error(format!(
                        "the Service sends port {} to target port {shown}, but `{}` declares no such container port (it declares {}), so connections are refused",
                        port.port,
                        workload.resource,
                        workload.ports_text()
                    ))
                    .field(format!("spec.ports[{i}].targetPort"))
                    .value(shown.trim_matches('`'))
                    .fix("target a port the deployment declares with `.port(..)`, or declare this one")
                })
            })
            .collect()
    }

    /// Adds it to the stack.
    pub fn add(self, target: impl ClusterTarget, stack: &mut Stack) -> ServiceHandle {
        let resource = self.obj.node_name();
        let provider = provider_node(&target, &resource, stack);
        self.add_with(provider, stack)
    }

    fn add_with(mut self, provider: Option<NodeId>, stack: &mut Stack) -> ServiceHandle {
        let resource = self.obj.node_name();
        if self.ports.is_empty() {
            stack.report(
                Diagnostic::error("the Service has no ports")
                    .resource(resource.clone())
                    .field("spec.ports")
                    .fix("add one, such as `.port(ServicePort::http(80, 8080))`"),
            );
        }
        let mut spec = BTreeMap::new();
        match &self.workload {
            Some(workload) => {
                for problem in self.check_ports(workload) {
                    stack.report(problem.resource(resource.clone()));
                }
                if workload.added.namespace != self.obj.namespace {
                    stack.report(
                        Diagnostic::error(format!(
                            "a Service selects pods of its own namespace only, but `{}` is in `{}`",
                            workload.resource,
                            workload.added.namespace.as_deref().unwrap_or("?")
                        ))
                        .resource(resource.clone())
                        .field("metadata.namespace")
                        .fix("leave the namespace of an exposed Service as the deployment's"),
                    );
                }
                spec.insert(
                    "selector".to_owned(),
                    workload.selector_output().into_expr(),
                );
            }
            None => {
                spec.insert(
                    "selector".to_owned(),
                    Expr::Value(Value::from(self.selector.clone())),
                );
            }
        }
        spec.insert(
            "ports".to_owned(),
            Expr::Value(Value::Array(
                self.ports.iter().map(ServicePort::to_value).collect(),
            )),
        );
        spec.insert(
            "type".to_owned(),
            Expr::Value(Value::String(self.service_type.as_str().into())),
        );
        self.obj.body.insert("spec".into(), Expr::Object(spec));
        let ports = self.ports.clone();
        let added = self.obj.add_object(provider, stack);
        ServiceHandle { added, ports }
    }
}

/// A Service for a deployment, from [`DeploymentHandle::expose`](crate::dsl::DeploymentHandle::expose):
/// applied by the deployment's provider, in its namespace.
///
/// ```
/// use girder_core::Stack;
/// use girder_k8s::dsl::*;
/// let mut s = Stack::new("dev");
/// let web = Deployment::new("web")
///     .image("nginx:1.27")
///     .port(8080)
///     .resources(Resources::new().cpu("100m", "200m").memory("64Mi", "128Mi"))
///     .add(DefaultProvider, &mut s);
/// let svc = web.expose(ServicePort::http(80, 8080)).name("web-service").load_balancer().add(&mut s);
/// assert_eq!(svc.host_name(), "web-service.default.svc.cluster.local");
/// ```
#[derive(Clone, Debug)]
#[must_use = "a builder declares nothing until it is added to the stack with `.add(…)`"]
pub struct ExposedService {
    service: Service,
}

impl ExposedService {
    pub(crate) fn new(workload: Workload, port: ServicePort) -> ExposedService {
        let mut service = Service::new(workload.added.name.clone()).port(port);
        service.obj.namespace = workload.added.namespace.clone();
        service.selector = workload.selector.clone();
        service.workload = Some(workload);
        ExposedService { service }
    }

    fn map(self, change: impl FnOnce(Service) -> Service) -> ExposedService {
        ExposedService {
            service: change(self.service),
        }
    }

    /// Names the Service (default: the deployment's name).
    pub fn name(self, name: impl Into<String>) -> ExposedService {
        self.map(|mut s| {
            s.obj.name = name.into();
            s
        })
    }

    /// Adds another port.
    pub fn port(self, port: ServicePort) -> ExposedService {
        self.map(|s| s.port(port))
    }

    /// Makes it a LoadBalancer Service.
    pub fn load_balancer(self) -> ExposedService {
        self.map(Service::load_balancer)
    }

    /// Makes it a NodePort Service.
    pub fn node_port(self) -> ExposedService {
        self.map(Service::node_port)
    }

    /// Waits, when applying, until the load balancer has an address.
    pub fn wait_for_address(self) -> ExposedService {
        self.map(Service::wait_for_address)
    }

    /// The public DNS name external-dns points at the load balancer (see
    /// [`Service::hostname`]).
    ///
    /// ```
    /// use girder_core::Stack;
    /// use girder_k8s::dsl::*;
    /// let mut s = Stack::new("dev");
    /// let web = Deployment::new("web")
    ///     .image("nginx:1.27")
    ///     .port(8080)
    ///     .resources(Resources::new().cpu("100m", "200m").memory("64Mi", "128Mi"))
    ///     .add(DefaultProvider, &mut s);
    /// web.expose(ServicePort::http(80, 8080)).load_balancer().hostname("app.example.com").add(&mut s);
    /// assert!(s.finish().is_ok());
    /// ```
    pub fn hostname(self, hostname: impl girder_core::IntoInput<String>) -> ExposedService {
        self.map(|s| s.hostname(hostname))
    }

    /// The same as [`hostname`](ExposedService::hostname).
    pub fn external_dns_hostname(
        self,
        hostname: impl girder_core::IntoInput<String>,
    ) -> ExposedService {
        self.hostname(hostname)
    }

    /// Adds an annotation.
    pub fn annotation(
        self,
        key: impl Into<String>,
        value: impl girder_core::IntoInput<String>,
    ) -> ExposedService {
        self.map(|s| s.annotation(key, value))
    }

    /// Adds a label.
    pub fn label(self, key: impl Into<String>, value: impl Into<String>) -> ExposedService {
        self.map(|s| s.label(key, value))
    }

    /// Takes over conflicting fields when applying.
    pub fn force_conflicts(self) -> ExposedService {
        self.map(Service::force_conflicts)
    }

    /// Adds it to the stack, with the deployment's provider.
    pub fn add(self, stack: &mut Stack) -> ServiceHandle {
        let provider = self
            .service
            .workload
            .as_ref()
            .and_then(|w| w.added.provider);
        self.service.add_with(provider, stack)
    }
}

/// A Service of the program and its typed in-cluster addresses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceHandle {
    added: Added,
    ports: Vec<ServicePort>,
}

impl ServiceHandle {
    /// The in-cluster DNS name, `NAME.NAMESPACE.svc.cluster.local`, as an output that depends
    /// on the Service.
    pub fn host(&self) -> Output<String> {
        format_template(
            "{}.{}.svc.cluster.local",
            vec![
                self.added
                    .handle
                    .output::<String>("metadata.name")
                    .into_expr(),
                self.added
                    .handle
                    .output::<String>("metadata.namespace")
                    .into_expr(),
            ],
        )
    }

    /// The in-cluster DNS name, known when the program is built.
    pub fn host_name(&self) -> String {
        format!(
            "{}.{}.svc.cluster.local",
            self.added.name,
            self.added.namespace.as_deref().unwrap_or("default")
        )
    }

    /// The URL of the first port: `http://NAME.NAMESPACE.svc.cluster.local:PORT` (scheme
    /// from the port's protocol). Use it for settings such as `BACKEND_URL`: it cannot name
    /// a missing Service or port, and makes the consumer depend on the Service.
    pub fn url(&self) -> Output<String> {
        self.url_at(0)
    }

    /// The URL of the Service port `port`, if the Service has it.
    pub fn url_for(&self, port: u16) -> Option<Output<String>> {
        self.ports
            .iter()
            .position(|p| p.port == port)
            .map(|i| self.url_at(i))
    }

    fn url_at(&self, index: usize) -> Output<String> {
        let protocol = self
            .ports
            .get(index)
            .map(|p| p.protocol)
            .unwrap_or(AppProtocol::Http);
        let template: &'static str = match protocol {
            AppProtocol::Http => "http://{}:{}",
            AppProtocol::Https => "https://{}:{}",
            AppProtocol::Grpc => "grpc://{}:{}",
            AppProtocol::Tcp => "tcp://{}:{}",
            AppProtocol::Udp => "udp://{}:{}",
        };
        format_template(
            template,
            vec![
                self.host().into_expr(),
                self.added
                    .handle
                    .output::<u16>(&format!("spec.ports[{index}].port"))
                    .into_expr(),
            ],
        )
    }

    /// The first port, as an output.
    pub fn port(&self) -> Output<u16> {
        self.added.handle.output("spec.ports[0].port")
    }

    /// The load balancer's hostname (LoadBalancer Services applied with
    /// `.wait_for_address()`), known after apply.
    pub fn load_balancer_hostname(&self) -> Output<String> {
        self.added.handle.output("loadBalancer.hostname")
    }

    /// The Service's name, as an output.
    pub fn name(&self) -> Output<String> {
        self.added.name_output()
    }

    /// The node.
    pub fn node(&self) -> NodeId {
        self.added.handle.node()
    }
}

impl Dependable for ServiceHandle {
    fn node_ids(&self) -> Vec<NodeId> {
        vec![self.node()]
    }
}
