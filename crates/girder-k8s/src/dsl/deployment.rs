//! Deployments: a main container named after the deployment, optional sidecars and init
//! containers, secure defaults, and a rollout wait when applied.

use std::collections::BTreeMap;

use girder_core::{Dependable, Diagnostic, Expr, IntoInput, NodeId, Output, Stack, Value};

use super::config::{EnvFromRef, KeyRef};
use super::container::{Container, ContainerPort, Resources};
use super::object::{
    Added, ClusterTarget, ObjectDecl, namespaced_builder, object_builder, provider_node,
};
use super::rbac::ServiceAccountHandle;
use super::service::{ExposedService, ServicePort};
use crate::check::OptOut;
use crate::kinds::Kind;

/// The label that selects a workload's pods.
pub const NAME_LABEL: &str = "app.kubernetes.io/name";

/// A Deployment under construction. Container settings (`image`, `port`, `env`,
/// `resources`, …) apply to its main container, which is named after the deployment.
///
/// ```
/// use girder_core::Stack;
/// use girder_k8s::dsl::*;
/// let mut s = Stack::new("dev");
/// let backend = Deployment::new("backend")
///     .image("ghcr.io/acme/backend:1.4")
///     .port(8080)
///     .replicas(2)
///     .env("LOG_LEVEL", "info")
///     .resources(Resources::new().cpu("100m", "500m").memory("128Mi", "256Mi"))
///     .writable_dir("/tmp")
///     .add(DefaultProvider, &mut s);
/// assert_eq!(backend.ports(), vec![8080]);
/// assert!(s.finish().is_ok());
/// ```
#[derive(Clone, Debug)]
#[must_use = "a builder declares nothing until it is added to the stack with `.add(…)`"]
pub struct Deployment {
    obj: ObjectDecl,
    main: Container,
    sidecars: Vec<Container>,
    init: Vec<Container>,
    replicas: Option<u32>,
    pod_labels: BTreeMap<String, String>,
    pod_annotations: BTreeMap<String, Expr>,
    service_account: Option<ServiceAccountHandle>,
    progress_deadline: Option<u32>,
    priority_class: Option<String>,
    node_selector: BTreeMap<String, String>,
}

object_builder!(Deployment);
namespaced_builder!(Deployment);

impl Deployment {
    /// A Deployment called `name`.
    pub fn new(name: impl Into<String>) -> Deployment {
        let name = name.into();
        Deployment {
            main: Container::new(name.clone()),
            obj: ObjectDecl::new(Kind::new("apps", "v1", "Deployment"), name),
            sidecars: Vec::new(),
            init: Vec::new(),
            replicas: None,
            pod_labels: BTreeMap::new(),
            pod_annotations: BTreeMap::new(),
            service_account: None,
            progress_deadline: None,
            priority_class: None,
            node_selector: BTreeMap::new(),
        }
    }

    fn main(mut self, change: impl FnOnce(Container) -> Container) -> Deployment {
        let main = std::mem::replace(&mut self.main, Container::new(""));
        self.main = change(main);
        self
    }

    /// The main container's image.
    pub fn image(self, image: impl IntoInput<String>) -> Deployment {
        self.main(|c| c.image(image))
    }

    /// The main container's entrypoint.
    pub fn command<I: IntoIterator<Item = S>, S: Into<String>>(self, command: I) -> Deployment {
        self.main(|c| c.command(command))
    }

    /// The main container's arguments.
    pub fn args<I: IntoIterator<Item = S>, S: Into<String>>(self, args: I) -> Deployment {
        self.main(|c| c.args(args))
    }

    /// Appends one argument to the main container's: a literal or an output (see
    /// [`Container::arg`]).
    pub fn arg(self, arg: impl IntoInput<String>) -> Deployment {
        self.main(|c| c.arg(arg))
    }

    /// A TCP port the main container listens on.
    pub fn port(self, port: u16) -> Deployment {
        self.main(|c| c.port(port))
    }

    /// A named TCP port of the main container.
    pub fn named_port(self, name: impl Into<String>, port: u16) -> Deployment {
        self.main(|c| c.named_port(name, port))
    }

    /// An environment variable of the main container: a literal or a typed output such as
    /// `service.url()`.
    pub fn env(self, name: impl Into<String>, value: impl IntoInput<String>) -> Deployment {
        self.main(|c| c.env(name, value))
    }

    /// An environment variable of the main container read from a ConfigMap or Secret key.
    pub fn env_from_key(self, name: impl Into<String>, key: KeyRef) -> Deployment {
        self.main(|c| c.env_from_key(name, key))
    }

    /// Every key of a ConfigMap or Secret as environment variables of the main container.
    pub fn env_from(self, source: impl Into<EnvFromRef>) -> Deployment {
        self.main(|c| c.env_from(source))
    }

    /// The main container's requests and limits.
    pub fn resources(self, resources: Resources) -> Deployment {
        self.main(|c| c.resources(resources))
    }

    /// The main container's (non-zero) user id.
    pub fn run_as_user(self, user: u32) -> Deployment {
        self.main(|c| c.run_as_user(user))
    }

    /// Opts the main container out of one secure default, with a reason.
    pub fn allow(self, opt_out: OptOut, reason: impl Into<String>) -> Deployment {
        self.main(|c| c.allow(opt_out, reason))
    }

    /// Mounts a writable empty directory in the main container.
    pub fn writable_dir(self, path: impl Into<String>) -> Deployment {
        self.main(|c| c.writable_dir(path))
    }

    /// An HTTP readiness probe on the main container.
    pub fn readiness_http(self, path: impl Into<String>, port: u16) -> Deployment {
        self.main(|c| c.readiness_http(path, port))
    }

    /// An HTTP liveness probe on the main container.
    pub fn liveness_http(self, path: impl Into<String>, port: u16) -> Deployment {
        self.main(|c| c.liveness_http(path, port))
    }

    /// An HTTPS readiness probe on the main container.
    pub fn readiness_https(self, path: impl Into<String>, port: u16) -> Deployment {
        self.main(|c| c.readiness_https(path, port))
    }

    /// An HTTPS liveness probe on the main container.
    pub fn liveness_https(self, path: impl Into<String>, port: u16) -> Deployment {
        self.main(|c| c.liveness_https(path, port))
    }

    /// The pods' PriorityClass, such as `system-cluster-critical` for add-ons the cluster
    /// cannot work without (they are scheduled first and evicted last).
    pub fn priority_class(mut self, name: impl Into<String>) -> Deployment {
        self.priority_class = Some(name.into());
        self
    }

    /// Runs the pods only on nodes with this label, such as `kubernetes.io/os: linux`.
    pub fn node_selector(mut self, key: impl Into<String>, value: impl Into<String>) -> Deployment {
        self.node_selector.insert(key.into(), value.into());
        self
    }

    /// Adds a sidecar container.
    pub fn container(mut self, container: Container) -> Deployment {
        self.sidecars.push(container);
        self
    }

    /// Adds an init container.
    pub fn init_container(mut self, container: Container) -> Deployment {
        self.init.push(container);
        self
    }

    /// The number of pods (default 1). Leave it unset when an autoscaler targets the
    /// deployment: the autoscaler owns the replica count then.
    pub fn replicas(mut self, replicas: u32) -> Deployment {
        self.replicas = Some(replicas);
        self
    }

    /// A label on the pods (besides `app.kubernetes.io/name`, which selects them).
    pub fn pod_label(mut self, key: impl Into<String>, value: impl Into<String>) -> Deployment {
        self.pod_labels.insert(key.into(), value.into());
        self
    }

    /// An annotation on the pods.
    pub fn pod_annotation(
        mut self,
        key: impl Into<String>,
        value: impl IntoInput<String>,
    ) -> Deployment {
        self.pod_annotations
            .insert(key.into(), value.into_input().into_expr());
        self
    }

    /// Runs the pods as this ServiceAccount (for IRSA or RBAC); without one, pods get no API
    /// token mounted.
    pub fn service_account(mut self, account: &ServiceAccountHandle) -> Deployment {
        self.service_account = Some(account.clone());
        self
    }

    /// Seconds without progress after which the rollout counts as failed (default 600).
    pub fn progress_deadline_seconds(mut self, seconds: u32) -> Deployment {
        self.progress_deadline = Some(seconds);
        self
    }

    /// Does not wait for the rollout when applying.
    pub fn no_wait(mut self) -> Deployment {
        self.obj.setting("waitForRollout", false);
        self
    }

    /// Adds it to the stack.
    pub fn add(mut self, target: impl ClusterTarget, stack: &mut Stack) -> DeploymentHandle {
        let resource = self.obj.node_name();
        let provider = provider_node(&target, &resource, stack);
        let namespace = self.obj.namespace.clone();
        let containers: Vec<&Container> =
            std::iter::once(&self.main).chain(&self.sidecars).collect();

        let mut problems = Vec::new();
        for (list, group) in [
            ("containers", containers.clone()),
            ("initContainers", self.init.iter().collect()),
        ] {
            for (i, container) in group.iter().enumerate() {
                let path = format!("spec.template.spec.{list}[{i}]");
                for problem in container.problems() {
                    let field = problem.field.clone().unwrap_or_default();
                    problems.push(problem.field(format!("{path}.{field}")));
                }
                for (variable, key) in container.key_refs() {
                    if let Some(problem) = key.problem(namespace.as_deref(), variable) {
                        problems.push(problem.field(format!("{path}.env")));
                    }
                }
                for source in container.env_from_refs() {
                    if let Some(problem) = source.problem(namespace.as_deref()) {
                        problems.push(problem.field(format!("{path}.envFrom")));
                    }
                }
            }
        }
        if let Some(account) = &self.service_account
            && account.namespace() != namespace.as_deref()
        {
            problems.push(
                Diagnostic::error(format!(
                    "the pods run as ServiceAccount `{}` of namespace `{}`, but live in `{}`",
                    account.object_name(),
                    account.namespace().unwrap_or("?"),
                    namespace.as_deref().unwrap_or("?")
                ))
                .field("spec.template.spec.serviceAccountName")
                .fix("declare the ServiceAccount in the workload's namespace"),
            );
        }
        for problem in problems {
            stack.report(problem.resource(resource.clone()));
        }

        let selector: BTreeMap<String, String> = [(NAME_LABEL.to_owned(), self.obj.name.clone())]
            .into_iter()
            .collect();
        let mut pod_labels = self.pod_labels.clone();
        pod_labels.extend(selector.clone());
        for container in containers
            .iter()
            .chain(self.init.iter().collect::<Vec<_>>().iter())
        {
            for (key, reason) in container.opt_out_annotations() {
                self.obj.annotation(key, reason);
            }
        }

        let mut pod = BTreeMap::new();
        pod.insert(
            "containers".to_owned(),
            Expr::Array(containers.iter().map(|c| c.to_expr()).collect()),
        );
        if !self.init.is_empty() {
            pod.insert(
                "initContainers".to_owned(),
                Expr::Array(self.init.iter().map(Container::to_expr).collect()),
            );
        }
        let volumes: Vec<Value> = containers
            .iter()
            .chain(self.init.iter().collect::<Vec<_>>().iter())
            .flat_map(|c| c.volumes())
            .map(|(name, _)| girder_core::object! { "name" => name, "emptyDir" => Value::object() })
            .collect();
        if !volumes.is_empty() {
            pod.insert("volumes".to_owned(), Expr::Value(Value::Array(volumes)));
        }
        let all_non_root = containers
            .iter()
            .chain(self.init.iter().collect::<Vec<_>>().iter())
            .all(|c| {
                !c.opt_out_annotations()
                    .any(|(k, _)| k.ends_with(OptOut::RunAsRoot.setting()))
            });
        let mut pod_security = girder_core::object! {
            "seccompProfile" => girder_core::object! { "type" => "RuntimeDefault" },
        };
        if all_non_root && let Some(map) = pod_security.as_object_mut() {
            map.insert("runAsNonRoot".into(), Value::Bool(true));
        }
        pod.insert("securityContext".to_owned(), Expr::Value(pod_security));
        if let Some(class) = &self.priority_class {
            pod.insert(
                "priorityClassName".to_owned(),
                Expr::Value(Value::String(class.clone())),
            );
        }
        if !self.node_selector.is_empty() {
            pod.insert(
                "nodeSelector".to_owned(),
                Expr::Value(Value::from(self.node_selector.clone())),
            );
        }
        match &self.service_account {
            Some(account) => {
                pod.insert("serviceAccountName".to_owned(), account.name().into_expr());
            }
            None => {
                pod.insert(
                    "automountServiceAccountToken".to_owned(),
                    Expr::Value(Value::Bool(false)),
                );
            }
        }

        // Roll the pods when the configuration they read changes (see `CHECKSUM_PREFIX`).
        let mut pod_annotations = self.pod_annotations.clone();
        for container in containers
            .iter()
            .chain(self.init.iter().collect::<Vec<_>>().iter())
        {
            let checksums = container
                .key_refs()
                .map(|(_, key)| key.checksum())
                .chain(container.env_from_refs().iter().map(EnvFromRef::checksum));
            for (key, value) in checksums {
                pod_annotations.insert(key, value);
            }
        }
        let mut template_metadata = BTreeMap::new();
        template_metadata.insert(
            "labels".to_owned(),
            Expr::Value(Value::from(pod_labels.clone())),
        );
        if !pod_annotations.is_empty() {
            template_metadata.insert("annotations".to_owned(), Expr::Object(pod_annotations));
        }
        let mut template = BTreeMap::new();
        template.insert("metadata".to_owned(), Expr::Object(template_metadata));
        template.insert("spec".to_owned(), Expr::Object(pod));
        let mut spec = BTreeMap::new();
        // Without `.replicas(..)` the field is left to the API server (1) or to an
        // autoscaler: a value girder applied would fight the HPA on every apply.
        if let Some(replicas) = self.replicas {
            spec.insert("replicas".to_owned(), Expr::Value(Value::from(replicas)));
        }
        spec.insert(
            "selector".to_owned(),
            Expr::Value(girder_core::object! { "matchLabels" => Value::from(selector.clone()) }),
        );
        spec.insert("template".to_owned(), Expr::Object(template));
        if let Some(seconds) = self.progress_deadline {
            spec.insert(
                "progressDeadlineSeconds".to_owned(),
                Expr::Value(Value::from(seconds)),
            );
        }
        self.obj.body.insert("spec".into(), Expr::Object(spec));

        let summary: Vec<ContainerSummary> = containers
            .iter()
            .map(|c| ContainerSummary {
                name: c.name().to_owned(),
                ports: c.ports().to_vec(),
                requests: ["cpu", "memory"]
                    .into_iter()
                    .filter(|r| c.resource_settings().is_some_and(|res| res.requests(r)))
                    .map(str::to_owned)
                    .collect(),
            })
            .collect();
        let added = self.obj.add_object(provider, stack);
        DeploymentHandle {
            workload: Workload {
                added,
                resource,
                selector,
                containers: summary,
                replicas: self.replicas,
            },
        }
    }
}

/// What girder knows about a container of a workload, for build-time wiring checks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ContainerSummary {
    pub name: String,
    pub ports: Vec<ContainerPort>,
    pub requests: Vec<String>,
}

/// A workload of the program and what its dependents need to know.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Workload {
    pub added: Added,
    pub resource: String,
    pub selector: BTreeMap<String, String>,
    pub containers: Vec<ContainerSummary>,
    /// The replica count the program sets, if any.
    pub replicas: Option<u32>,
}

impl Workload {
    /// The workload's `spec.selector.matchLabels`, as an output (an edge to the workload).
    pub fn selector_output(&self) -> Output<BTreeMap<String, String>> {
        self.added.handle.output("spec.selector.matchLabels")
    }

    /// A description of the declared ports, for messages.
    pub fn ports_text(&self) -> String {
        let ports: Vec<String> = self
            .containers
            .iter()
            .flat_map(|c| {
                c.ports.iter().map(move |p| match &p.name {
                    Some(name) => format!("{} (`{name}`, container `{}`)", p.port, c.name),
                    None => format!("{} (container `{}`)", p.port, c.name),
                })
            })
            .collect();
        if ports.is_empty() {
            "none".into()
        } else {
            ports.join(", ")
        }
    }
}

/// A Deployment of the program.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeploymentHandle {
    pub(crate) workload: Workload,
}

impl DeploymentHandle {
    /// A Service for this deployment: its selector is the deployment's pod labels and its
    /// target port must be one of the deployment's container ports (checked when added). The
    /// Service is named like the deployment unless renamed with `.name(..)`.
    pub fn expose(&self, port: ServicePort) -> ExposedService {
        ExposedService::new(self.workload.clone(), port)
    }

    /// The deployment's name, as an output.
    pub fn name(&self) -> Output<String> {
        self.workload.added.name_output()
    }

    /// The namespace.
    pub fn namespace(&self) -> Option<&str> {
        self.workload.added.namespace.as_deref()
    }

    /// The labels that select its pods.
    pub fn selector(&self) -> &BTreeMap<String, String> {
        &self.workload.selector
    }

    /// Every declared container port.
    pub fn ports(&self) -> Vec<u16> {
        self.workload
            .containers
            .iter()
            .flat_map(|c| c.ports.iter().map(|p| p.port))
            .collect()
    }

    /// The graph node's name.
    pub fn resource_name(&self) -> &str {
        &self.workload.resource
    }

    /// The node.
    pub fn node(&self) -> NodeId {
        self.workload.added.handle.node()
    }

    /// Any output field (the applied manifest's fields, `uid`).
    pub fn output<T>(&self, path: &str) -> Output<T> {
        self.workload.added.handle.output(path)
    }
}

impl Dependable for DeploymentHandle {
    fn node_ids(&self) -> Vec<NodeId> {
        vec![self.node()]
    }
}
