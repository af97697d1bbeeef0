//! Containers, secure by default: non-root user 10001, no privilege escalation, all
//! capabilities dropped, read-only root filesystem, seccomp `RuntimeDefault`; CPU and memory
//! requests and limits are required. Each exception is explicit, per container, with a
//! reason that is kept as an annotation on the workload.

use std::collections::BTreeMap;

use girder_core::{Diagnostic, Expr, IntoInput, Value};

use super::config::{EnvFromRef, KeyRef};
use crate::check::OptOut;

/// The user containers run as unless told otherwise: non-zero, outside the range images
/// usually assign to real accounts.
pub const DEFAULT_USER: u32 = 10001;

/// Why a Kubernetes quantity (`100m`, `1.5`, `256Mi`) is not one the API server accepts for a
/// request or limit: it must parse as `resource.Quantity` does and not be negative.
pub fn quantity_problem(quantity: &str) -> Option<String> {
    match girder_k8s_quantity::Quantity::parse(quantity) {
        Ok(q) if q.is_negative() => Some(format!(
            "`{quantity}` is negative; requests and limits must be at least 0"
        )),
        Ok(_) => None,
        Err(_) => Some(format!(
            "`{quantity}` is not a Kubernetes quantity (write CPU as `250m` or `0.5`, memory as `256Mi` or `1Gi`)"
        )),
    }
}

/// CPU and memory requests and limits of a container.
///
/// ```
/// use girder_k8s::dsl::Resources;
/// let small = Resources::new().cpu("100m", "500m").memory("128Mi", "256Mi");
/// assert!(small.has_requests());
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Resources {
    requests: BTreeMap<String, String>,
    limits: BTreeMap<String, String>,
}

impl Resources {
    /// No requests or limits yet.
    pub fn new() -> Resources {
        Resources::default()
    }

    /// The CPU request (what the scheduler reserves and HPAs compute utilization against)
    /// and limit.
    pub fn cpu(mut self, request: impl Into<String>, limit: impl Into<String>) -> Resources {
        self.requests.insert("cpu".into(), request.into());
        self.limits.insert("cpu".into(), limit.into());
        self
    }

    /// The memory request and limit.
    pub fn memory(mut self, request: impl Into<String>, limit: impl Into<String>) -> Resources {
        self.requests.insert("memory".into(), request.into());
        self.limits.insert("memory".into(), limit.into());
        self
    }

    /// True if both CPU and memory are requested.
    pub fn has_requests(&self) -> bool {
        self.requests.contains_key("cpu") && self.requests.contains_key("memory")
    }

    /// True if `resource` (`cpu`, `memory`) is requested.
    pub fn requests(&self, resource: &str) -> bool {
        self.requests.contains_key(resource)
    }

    fn to_expr(&self) -> Expr {
        let map = |m: &BTreeMap<String, String>| {
            Expr::Value(Value::Object(
                m.iter()
                    .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                    .collect(),
            ))
        };
        let mut out = BTreeMap::new();
        if !self.requests.is_empty() {
            out.insert("requests".to_owned(), map(&self.requests));
        }
        if !self.limits.is_empty() {
            out.insert("limits".to_owned(), map(&self.limits));
        }
        Expr::Object(out)
    }
}

/// A port a container listens on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContainerPort {
    /// The port number.
    pub port: u16,
    /// Its name, if any (Services may target it by name).
    pub name: Option<String>,
    /// `TCP` (default), `UDP` or `SCTP`.
    pub protocol: &'static str,
}

/// An HTTP(S) GET probe.
#[derive(Clone, Debug)]
struct HttpProbe {
    path: String,
    port: u16,
    /// `HTTP` or `HTTPS`.
    scheme: &'static str,
}

#[derive(Clone, Debug)]
enum EnvValue {
    Value(Expr),
    Key(KeyRef),
}

/// A container of a workload.
///
/// ```
/// use girder_k8s::dsl::{Container, OptOut, Resources};
/// let proxy = Container::new("proxy")
///     .image("envoyproxy/envoy:v1.31")
///     .port(9901)
///     .resources(Resources::new().cpu("50m", "200m").memory("64Mi", "128Mi"))
///     .writable_dir("/tmp")
///     .allow(OptOut::Capabilities, "binds port 80")
///     .add_capability("NET_BIND_SERVICE");
/// assert_eq!(proxy.name(), "proxy");
/// ```
#[derive(Clone, Debug)]
pub struct Container {
    name: String,
    image: Option<Expr>,
    command: Vec<String>,
    args: Vec<Expr>,
    ports: Vec<ContainerPort>,
    env: Vec<(String, EnvValue)>,
    env_from: Vec<EnvFromRef>,
    resources: Option<Resources>,
    user: u32,
    group: Option<u32>,
    opt_outs: BTreeMap<OptOut, String>,
    capabilities: Vec<String>,
    writable_dirs: Vec<String>,
    readiness: Option<HttpProbe>,
    liveness: Option<HttpProbe>,
    problems: Vec<Diagnostic>,
}

impl Container {
    /// A container called `name` (a DNS label).
    pub fn new(name: impl Into<String>) -> Container {
        Container {
            name: name.into(),
            image: None,
            command: Vec::new(),
            args: Vec::new(),
            ports: Vec::new(),
            env: Vec::new(),
            env_from: Vec::new(),
            resources: None,
            user: DEFAULT_USER,
            group: None,
            opt_outs: BTreeMap::new(),
            capabilities: Vec::new(),
            writable_dirs: Vec::new(),
            readiness: None,
            liveness: None,
            problems: Vec::new(),
        }
    }

    /// The container's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The image (a literal or an output, such as an ECR repository's URL).
    pub fn image(mut self, image: impl IntoInput<String>) -> Container {
        self.image = Some(image.into_input().into_expr());
        self
    }

    /// The entrypoint, replacing the image's.
    pub fn command<I: IntoIterator<Item = S>, S: Into<String>>(mut self, command: I) -> Container {
        self.command = command.into_iter().map(Into::into).collect();
        self
    }

    /// The arguments (replacing any set before).
    pub fn args<I: IntoIterator<Item = S>, S: Into<String>>(mut self, args: I) -> Container {
        self.args = args
            .into_iter()
            .map(|arg| Expr::Value(Value::String(arg.into())))
            .collect();
        self
    }

    /// Appends one argument: a literal or an output, such as
    /// `interpolate!("--cluster={}", cluster.name())`, which makes the workload depend on
    /// what the output comes from.
    pub fn arg(mut self, arg: impl IntoInput<String>) -> Container {
        self.args.push(arg.into_input().into_expr());
        self
    }

    /// A TCP port the container listens on; Services can only target declared ports.
    pub fn port(mut self, port: u16) -> Container {
        self.push_port(ContainerPort {
            port,
            name: None,
            protocol: "TCP",
        });
        self
    }

    /// A named TCP port (`http`, `metrics`); Services may target it by name. The name's rules
    /// (at most 15 characters, lowercase, a letter) are checked when the workload is added.
    pub fn named_port(mut self, name: impl Into<String>, port: u16) -> Container {
        let name = name.into();
        self.push_port(ContainerPort {
            port,
            name: Some(name),
            protocol: "TCP",
        });
        self
    }

    /// A UDP port.
    pub fn udp_port(mut self, port: u16) -> Container {
        self.push_port(ContainerPort {
            port,
            name: None,
            protocol: "UDP",
        });
        self
    }

    // Port 0 and duplicate ports are reported by the object check with the port's full path.
    fn push_port(&mut self, port: ContainerPort) {
        self.ports.push(port);
    }

    /// An environment variable: a literal or a typed output (`service.url()`, an endpoint of
    /// another resource). Setting a name twice keeps the last value.
    pub fn env(mut self, name: impl Into<String>, value: impl IntoInput<String>) -> Container {
        let name = name.into();
        self.env.retain(|(n, _)| n != &name);
        self.env
            .push((name, EnvValue::Value(value.into_input().into_expr())));
        self
    }

    /// An environment variable read from a ConfigMap or Secret key (`config.key("K")`); the
    /// key is checked against the object's keys when the program is built.
    pub fn env_from_key(mut self, name: impl Into<String>, key: KeyRef) -> Container {
        let name = name.into();
        self.env.retain(|(n, _)| n != &name);
        self.env.push((name, EnvValue::Key(key)));
        self
    }

    /// Every key of a ConfigMap or Secret as environment variables (`envFrom`).
    pub fn env_from(mut self, source: impl Into<EnvFromRef>) -> Container {
        self.env_from.push(source.into());
        self
    }

    /// CPU and memory requests and limits (required unless opted out). Quantities that do not
    /// parse, and requests above their limits, are reported when the program is built.
    pub fn resources(mut self, resources: Resources) -> Container {
        self.resources = Some(resources);
        self
    }

    /// The non-zero user id to run as (default 10001). User 0 is root, which the secure
    /// defaults refuse unless the container opts out with `.allow(OptOut::RunAsRoot, "why")`.
    pub fn run_as_user(mut self, user: u32) -> Container {
        self.user = user;
        self
    }

    /// The group id to run as (default: the user id).
    pub fn run_as_group(mut self, group: u32) -> Container {
        self.group = Some(group);
        self
    }

    /// Opts this container out of one secure default, with the reason kept as the
    /// annotation `security.girder.dev/CONTAINER.SETTING` on the workload.
    pub fn allow(mut self, opt_out: OptOut, reason: impl Into<String>) -> Container {
        let reason = reason.into();
        if reason.trim().is_empty() {
            self.problems.push(
                Diagnostic::error(format!("opting out of `{}` needs a reason", opt_out.setting()))
                    .field("securityContext")
                    .fix("say why the image needs it, for reviewers: `.allow(OptOut::RunAsRoot, \"vendor image writes /var/run as root\")`"),
            );
        }
        self.opt_outs.insert(opt_out, reason);
        self
    }

    /// Adds a Linux capability (needs `.allow(OptOut::Capabilities, ..)`).
    pub fn add_capability(mut self, capability: impl Into<String>) -> Container {
        self.capabilities.push(capability.into());
        self
    }

    /// Mounts a writable, empty directory at `path` (the root filesystem is read-only).
    pub fn writable_dir(mut self, path: impl Into<String>) -> Container {
        self.writable_dirs.push(path.into());
        self
    }

    /// A readiness probe: HTTP GET `path` on `port`; the pod gets traffic once it answers.
    pub fn readiness_http(mut self, path: impl Into<String>, port: u16) -> Container {
        self.readiness = Some(HttpProbe {
            path: path.into(),
            port,
            scheme: "HTTP",
        });
        self
    }

    /// A readiness probe over HTTPS (the kubelet does not verify the certificate), for
    /// servers that only speak TLS, such as metrics-server.
    pub fn readiness_https(mut self, path: impl Into<String>, port: u16) -> Container {
        self.readiness = Some(HttpProbe {
            path: path.into(),
            port,
            scheme: "HTTPS",
        });
        self
    }

    /// A liveness probe: HTTP GET `path` on `port`; the container restarts when it fails.
    pub fn liveness_http(mut self, path: impl Into<String>, port: u16) -> Container {
        self.liveness = Some(HttpProbe {
            path: path.into(),
            port,
            scheme: "HTTP",
        });
        self
    }

    /// A liveness probe over HTTPS (the kubelet does not verify the certificate).
    pub fn liveness_https(mut self, path: impl Into<String>, port: u16) -> Container {
        self.liveness = Some(HttpProbe {
            path: path.into(),
            port,
            scheme: "HTTPS",
        });
        self
    }

    /// The declared ports.
    pub fn ports(&self) -> &[ContainerPort] {
        &self.ports
    }

    /// The requests and limits, if set.
    pub fn resource_settings(&self) -> Option<&Resources> {
        self.resources.as_ref()
    }

    /// The ConfigMap / Secret keys this container reads.
    pub(crate) fn key_refs(&self) -> impl Iterator<Item = (&str, &KeyRef)> {
        self.env.iter().filter_map(|(name, value)| match value {
            EnvValue::Key(key) => Some((name.as_str(), key)),
            EnvValue::Value(_) => None,
        })
    }

    pub(crate) fn env_from_refs(&self) -> &[EnvFromRef] {
        &self.env_from
    }

    /// Builder problems the manifest cannot show (an opt-out without a reason, a name too long
    /// for its opt-out annotations), to report when the workload is added. Everything the
    /// manifest shows — names, ports, environment, capabilities, requests — is reported once,
    /// by the object check, with the field's full path.
    pub(crate) fn problems(&self) -> Vec<Diagnostic> {
        let mut problems = self.problems.clone();
        if self.name.len() + OptOut::WritableRootFilesystem.setting().len() + 1 > 63
            && !self.opt_outs.is_empty()
        {
            problems.push(
                Diagnostic::error(format!(
                    "the container name `{}` is too long for its opt-out annotations",
                    self.name
                ))
                .field("containers")
                .value(&self.name)
                .fix("use a container name of at most 38 characters"),
            );
        }
        problems
    }

    /// The opt-out annotations for this container.
    pub(crate) fn opt_out_annotations(&self) -> impl Iterator<Item = (String, String)> + '_ {
        self.opt_outs
            .iter()
            .map(|(opt_out, reason)| (opt_out.annotation(&self.name), reason.clone()))
    }

    fn security_context(&self) -> Value {
        let allowed = |o: OptOut| self.opt_outs.contains_key(&o);
        let mut context = BTreeMap::new();
        if allowed(OptOut::RunAsRoot) {
            context.insert("runAsNonRoot".to_owned(), Value::Bool(false));
        } else {
            context.insert("runAsNonRoot".to_owned(), Value::Bool(true));
            context.insert("runAsUser".to_owned(), Value::from(self.user));
            context.insert(
                "runAsGroup".to_owned(),
                Value::from(self.group.unwrap_or(self.user)),
            );
        }
        context.insert(
            "allowPrivilegeEscalation".to_owned(),
            Value::Bool(allowed(OptOut::PrivilegeEscalation)),
        );
        context.insert(
            "readOnlyRootFilesystem".to_owned(),
            Value::Bool(!allowed(OptOut::WritableRootFilesystem)),
        );
        let mut capabilities = BTreeMap::new();
        capabilities.insert("drop".to_owned(), Value::from(vec!["ALL"]));
        if !self.capabilities.is_empty() {
            capabilities.insert(
                "add".to_owned(),
                Value::Array(
                    self.capabilities
                        .iter()
                        .cloned()
                        .map(Value::String)
                        .collect(),
                ),
            );
        }
        context.insert("capabilities".to_owned(), Value::Object(capabilities));
        let profile = if allowed(OptOut::Seccomp) {
            "Unconfined"
        } else {
            "RuntimeDefault"
        };
        context.insert(
            "seccompProfile".to_owned(),
            girder_core::object! { "type" => profile },
        );
        Value::Object(context)
    }

    /// The volumes this container's writable directories need.
    pub(crate) fn volumes(&self) -> Vec<(String, String)> {
        self.writable_dirs
            .iter()
            .enumerate()
            .map(|(i, path)| (format!("{}-rw-{i}", self.name), path.clone()))
            .collect()
    }

    pub(crate) fn to_expr(&self) -> Expr {
        let mut c = BTreeMap::new();
        c.insert(
            "name".to_owned(),
            Expr::Value(Value::String(self.name.clone())),
        );
        if let Some(image) = &self.image {
            c.insert("image".to_owned(), image.clone());
        }
        if !self.command.is_empty() {
            c.insert(
                "command".to_owned(),
                Expr::Value(Value::from(self.command.clone())),
            );
        }
        if !self.args.is_empty() {
            c.insert("args".to_owned(), Expr::Array(self.args.clone()));
        }
        if !self.ports.is_empty() {
            let ports = self
                .ports
                .iter()
                .map(|p| {
                    let mut port = girder_core::object! { "containerPort" => p.port, "protocol" => p.protocol };
                    if let (Some(name), Some(map)) = (&p.name, port.as_object_mut()) {
                        map.insert("name".into(), Value::String(name.clone()));
                    }
                    port
                })
                .collect::<Vec<_>>();
            c.insert("ports".to_owned(), Expr::Value(Value::Array(ports)));
        }
        if !self.env.is_empty() {
            let env = self
                .env
                .iter()
                .map(|(name, value)| {
                    let mut var = BTreeMap::new();
                    var.insert("name".to_owned(), Expr::Value(Value::String(name.clone())));
                    match value {
                        EnvValue::Value(expr) => {
                            var.insert("value".to_owned(), expr.clone());
                        }
                        EnvValue::Key(key) => {
                            var.insert("valueFrom".to_owned(), key.value_from());
                        }
                    }
                    Expr::Object(var)
                })
                .collect();
            c.insert("env".to_owned(), Expr::Array(env));
        }
        if !self.env_from.is_empty() {
            c.insert(
                "envFrom".to_owned(),
                Expr::Array(self.env_from.iter().map(EnvFromRef::to_expr).collect()),
            );
        }
        if let Some(resources) = &self.resources {
            c.insert("resources".to_owned(), resources.to_expr());
        }
        c.insert(
            "securityContext".to_owned(),
            Expr::Value(self.security_context()),
        );
        let mounts: Vec<Value> = self
            .volumes()
            .into_iter()
            .map(|(name, path)| girder_core::object! { "name" => name, "mountPath" => path })
            .collect();
        if !mounts.is_empty() {
            c.insert("volumeMounts".to_owned(), Expr::Value(Value::Array(mounts)));
        }
        for (field, probe) in [
            ("readinessProbe", &self.readiness),
            ("livenessProbe", &self.liveness),
        ] {
            if let Some(probe) = probe {
                let mut get =
                    girder_core::object! { "path" => probe.path.clone(), "port" => probe.port };
                if probe.scheme != "HTTP"
                    && let Some(map) = get.as_object_mut()
                {
                    map.insert("scheme".into(), Value::String(probe.scheme.into()));
                }
                c.insert(
                    field.to_owned(),
                    Expr::Value(girder_core::object! {
                        "httpGet" => get,
                        "periodSeconds" => 10,
                    }),
                );
            }
        }
        Expr::Object(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities() {
        for good in ["100m", "0.5", "1", "256Mi", "1Gi", "1e3", "1.5G"] {
            assert_eq!(quantity_problem(good), None, "{good}");
        }
        // `m` alone is zero millicores to the API server (an empty numerator reads as 0).
        assert_eq!(quantity_problem("m"), None);
        for bad in ["", "abc", "1.2.3", "10mb", "1 core", "-1", "-100Mi"] {
            assert!(quantity_problem(bad).is_some(), "{bad}");
        }
    }

    #[test]
    fn secure_defaults_and_opt_outs() {
        let container = Container::new("web").image("nginx");
        let context = container.security_context();
        assert_eq!(
            context.get("runAsUser").and_then(Value::as_i64),
            Some(10001)
        );
        assert_eq!(
            context
                .get("readOnlyRootFilesystem")
                .and_then(Value::as_bool),
            Some(true)
        );
        let root = Container::new("web").allow(OptOut::RunAsRoot, "vendor image");
        assert_eq!(
            root.security_context()
                .get("runAsNonRoot")
                .and_then(Value::as_bool),
            Some(false)
        );
        assert_eq!(
            root.opt_out_annotations().collect::<Vec<_>>(),
            vec![(
                "security.girder.dev/web.run-as-root".to_owned(),
                "vendor image".to_owned()
            )]
        );
    }
}
