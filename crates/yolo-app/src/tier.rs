//! What the frontend and backend have in common, and the checks of their values that the
//! Kubernetes objects cannot make (they would only see the objects the values produce).

use std::collections::BTreeMap;

use girder_core::Diagnostic;
use girder_k8s::dsl::ServiceType;

use crate::values::{BackendValues, FrontendValues, ResourceValues, Scaling, YoloAppValues};

/// A tier's values, viewed the same way for both tiers.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Tier<'a> {
    /// `frontend` or `backend`: the field of [`YoloAppValues`].
    pub role: &'static str,
    pub name: &'a str,
    pub service_name: &'a str,
    pub image: &'a str,
    pub port: u16,
    pub service_port: u16,
    pub service_type: ServiceType,
    pub scaling: Scaling,
    pub resources: &'a ResourceValues,
    pub writable_dirs: &'a [String],
    pub env: &'a BTreeMap<String, String>,
    pub health_path: Option<&'a str>,
}

impl<'a> Tier<'a> {
    pub(crate) fn frontend(values: &'a FrontendValues) -> Tier<'a> {
        Tier {
            role: "frontend",
            name: &values.name,
            service_name: &values.service_name,
            image: &values.image,
            port: values.port,
            service_port: values.service_port,
            service_type: values.service_type,
            scaling: values.scaling,
            resources: &values.resources,
            writable_dirs: &values.writable_dirs,
            env: &values.env,
            health_path: values.health_path.as_deref(),
        }
    }

    pub(crate) fn backend(values: &'a BackendValues) -> Tier<'a> {
        Tier {
            role: "backend",
            name: &values.name,
            service_name: &values.service_name,
            image: &values.image,
            port: values.port,
            service_port: values.service_port,
            service_type: values.service_type,
            scaling: values.scaling,
            resources: &values.resources,
            writable_dirs: &values.writable_dirs,
            env: &values.env,
            health_path: values.health_path.as_deref(),
        }
    }

    /// The graph node of the tier's Deployment, which diagnostics about it name.
    pub(crate) fn resource(&self, namespace: &str) -> String {
        format!("deployment/{namespace}/{}", self.name)
    }

    /// True if the autoscaling values can make an autoscaler.
    pub(crate) fn scaling_is_valid(&self) -> bool {
        match self.scaling {
            Scaling::Fixed(_) => true,
            Scaling::Autoscaled(a) => {
                a.min_replicas >= 1
                    && a.max_replicas >= a.min_replicas
                    && a.cpu_percent != Some(0)
                    && a.memory_percent != Some(0)
            }
        }
    }

    /// The problems of this tier's values.
    pub(crate) fn problems(&self, namespace: &str) -> Vec<Diagnostic> {
        let field = |f: &str| format!("values.{}.{f}", self.role);
        let mut problems = Vec::new();
        if let Scaling::Autoscaled(a) = self.scaling {
            if a.min_replicas == 0 || a.max_replicas < a.min_replicas {
                problems.push(
                    Diagnostic::error(format!(
                        "the {} autoscales between {} and {} pods, which is empty or starts at 0",
                        self.role, a.min_replicas, a.max_replicas
                    ))
                    .field(field("scaling"))
                    .value(format!("{}..={}", a.min_replicas, a.max_replicas))
                    .fix("set `Autoscaling::builder().min_replicas(MIN).max_replicas(MAX)` with 1 <= MIN <= MAX, or `Scaling::Fixed(N)`"),
                );
            }
            for (metric, percent) in [("cpu", a.cpu_percent), ("memory", a.memory_percent)] {
                if percent == Some(0) {
                    problems.push(
                        Diagnostic::error(format!(
                            "a {metric} target of 0% never lets the {} scale down",
                            self.role
                        ))
                        .field(field(&format!("scaling.{metric}_percent")))
                        .value(0)
                        .fix(format!(
                            "use a target such as 70, or `.{metric}_percent_opt(None)` to scale on the other metric"
                        )),
                    );
                }
            }
        }
        if let Some(path) = self.health_path
            && !path.starts_with('/')
        {
            problems.push(
                Diagnostic::error(format!("`{path}` is not an HTTP path"))
                    .field(field("health_path"))
                    .value(path)
                    .fix("start it with `/`, such as `/healthz`"),
            );
        }
        problems
            .into_iter()
            .map(|p| p.resource(self.resource(namespace)))
            .collect()
    }
}

/// The problems of the values as a whole.
pub(crate) fn problems(values: &YoloAppValues, namespace: &str) -> Vec<Diagnostic> {
    let frontend = Tier::frontend(&values.frontend);
    let backend = Tier::backend(&values.backend);
    let mut problems = frontend.problems(namespace);
    problems.extend(backend.problems(namespace));
    let resource = frontend.resource(namespace);
    if frontend.name == backend.name {
        problems.push(
            Diagnostic::error(format!(
                "the frontend and the backend are both called `{}`: one Deployment would overwrite the other",
                frontend.name
            ))
            .resource(resource.clone())
            .field("values.frontend.name")
            .value(frontend.name)
            .fix("give the tiers different names"),
        );
    }
    if frontend.service_name == backend.service_name {
        problems.push(
            Diagnostic::error(format!(
                "the frontend's and the backend's Services are both called `{}`",
                frontend.service_name
            ))
            .resource(resource.clone())
            .field("values.frontend.service_name")
            .value(frontend.service_name)
            .fix("give the Services different names"),
        );
    }
    if let Some(hostname) = &values.frontend.hostname
        && frontend.service_type == ServiceType::ClusterIp
    {
        problems.push(
            Diagnostic::error(format!(
                "the frontend has the public hostname `{hostname}`, but its Service is ClusterIP, which external-dns does not publish"
            ))
            .resource(resource.clone())
            .field("values.frontend.service_type")
            .value("ClusterIp")
            .fix("use `.service_type(ServiceType::LoadBalancer)` (the default), or drop the hostname"),
        );
    }
    if values.frontend.env.contains_key(crate::BACKEND_URL) {
        problems.push(
            Diagnostic::error("`values.frontend.env` sets `BACKEND_URL`, which the app wires to the backend Service itself")
                .resource(resource)
                .field("values.frontend.env")
                .value(crate::BACKEND_URL)
                .fix("remove it: the frontend reads the backend Service's URL from the ConfigMap"),
        );
    }
    problems
}
