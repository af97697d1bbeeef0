//! A corpus of wrong programs: each is a mistake a user can make through the DSL that the
//! real API (or the cluster, or the workload) would reject or break on at apply, and each must
//! fail when the program is planned — with the resource, the field, the value and the fix —
//! before any call reaches a cloud. Risky-but-legal choices are warnings. Every case is planned
//! with both providers' packages, exactly as `girder plan` does, and nothing is written: a plan
//! has no state to write to, and `a_rejected_program_writes_nothing` checks the binary.
//!
//! The classes (the closing count per class is printed by `the_corpus_covers_every_class`):
//! images, resources, urls, names, ports, wiring, security, scaling, config.

use std::collections::BTreeMap;

use girder::aws::prelude::{Auto, Eks, EksHandle, Nat, OnDemand, Vpc};
use girder::core::{Diagnostic, Diagnostics, Severity, Stack};
use girder::k8s::addons::ExternalDns;
use girder::k8s::dsl::*;
use girder_testing::plan::TestProgram;

fn program() -> TestProgram {
    TestProgram::new()
        .package(girder::aws::package())
        .package(girder::k8s::package())
}

/// Everything the plan reports: the build's and the planner's diagnostics.
fn diagnostics_of(build: fn(&mut Stack)) -> Diagnostics {
    match program().plan(build) {
        // The plan's warnings include the build's.
        Ok(view) => view.plan().warnings.clone(),
        Err(diagnostics) => diagnostics,
    }
}

fn small() -> Resources {
    Resources::new().cpu("100m", "500m").memory("64Mi", "128Mi")
}

const DIGEST: &str = "sha256:4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945";

/// A Deployment that breaks no rule (its image pinned by digest).
fn workload(name: &str) -> Deployment {
    Deployment::new(name)
        .image(format!("ghcr.io/acme/{name}:1.4@{DIGEST}"))
        .port(8080)
        .resources(small())
}

fn backend_with_service(s: &mut Stack) {
    let backend = workload("backend").add(DefaultProvider, s);
    backend
        .expose(ServicePort::http(80, 8080))
        .name("backend-service")
        .add(s);
}

/// A network and an EKS cluster `c` (region given or not) with one nodegroup `general`.
fn cluster(s: &mut Stack, region: Option<&str>, types: &[&str]) -> EksHandle {
    let vpc = Vpc::new("net").cidr("10.0.0.0/16");
    let vpc = match region {
        Some(region) => vpc.region(region).azs(2),
        None => vpc.azs(["us-east-1a", "us-east-1b"]),
    };
    let vpc = vpc
        .private_subnets(Auto)
        .public_subnets(Auto)
        .nat(Nat::Single)
        .eks_cluster("c")
        .add(s);
    Eks::new("c")
        .vpc(&vpc)
        .with_nodegroup(
            Eks::nodegroup(OnDemand)
                .name("general")
                .instance_types(types.iter().copied()),
        )
        .add(s)
}

/// What a case must report.
struct Expect {
    severity: Severity,
    resource: &'static str,
    field: &'static str,
    value: Option<&'static str>,
    message: &'static str,
    fix: &'static str,
}

struct Case {
    class: &'static str,
    name: &'static str,
    program: fn(&mut Stack),
    expect: Expect,
}

const fn error(
    resource: &'static str,
    field: &'static str,
    value: Option<&'static str>,
    message: &'static str,
    fix: &'static str,
) -> Expect {
    Expect {
        severity: Severity::Error,
        resource,
        field,
        value,
        message,
        fix,
    }
}

const fn warning(
    resource: &'static str,
    field: &'static str,
    value: Option<&'static str>,
    message: &'static str,
    fix: &'static str,
) -> Expect {
    Expect {
        severity: Severity::Warning,
        ..error(resource, field, value, message, fix)
    }
}

const DEPLOYMENT: &str = "deployment/default/web";
const IMAGE: &str = "spec.template.spec.containers[0].image";
const CPU_REQUEST: &str = "spec.template.spec.containers[0].resources.requests.cpu";
const MEMORY_REQUEST: &str = "spec.template.spec.containers[0].resources.requests.memory";

fn corpus() -> Vec<Case> {
    vec![
        // ---- images
        Case {
            class: "images",
            name: "an image without a tag",
            program: |s| {
                Deployment::new("web")
                    .image("nginx")
                    .port(8080)
                    .resources(small())
                    .add(DefaultProvider, s);
            },
            expect: error(
                DEPLOYMENT,
                IMAGE,
                Some("nginx"),
                "which has no tag, so the kubelet pulls `:latest`",
                "pin a version tag (`nginx:1.4.2`) or a digest",
            ),
        },
        Case {
            class: "images",
            name: "an image tagged latest",
            program: |s| {
                Deployment::new("web")
                    .image("ghcr.io/acme/web:latest")
                    .port(8080)
                    .resources(small())
                    .add(DefaultProvider, s);
            },
            expect: error(
                DEPLOYMENT,
                IMAGE,
                Some("ghcr.io/acme/web:latest"),
                "a tag that names no version",
                "`.allow(OptOut::MutableImage, \"why\")`",
            ),
        },
        Case {
            class: "images",
            name: "an image with an uppercase repository",
            program: |s| {
                Deployment::new("web")
                    .image("ghcr.io/Acme/web:1.4")
                    .port(8080)
                    .resources(small())
                    .add(DefaultProvider, s);
            },
            expect: error(
                DEPLOYMENT,
                IMAGE,
                Some("ghcr.io/Acme/web:1.4"),
                "repositories are lowercase",
                "with a lowercase repository",
            ),
        },
        Case {
            class: "images",
            name: "an image written as a URL",
            program: |s| {
                Deployment::new("web")
                    .image("https://ghcr.io/acme/web:1.4")
                    .port(8080)
                    .resources(small())
                    .add(DefaultProvider, s);
            },
            expect: error(
                DEPLOYMENT,
                IMAGE,
                Some("https://ghcr.io/acme/web:1.4"),
                "it has a URL scheme",
                "`REGISTRY/REPOSITORY:TAG`",
            ),
        },
        Case {
            class: "images",
            name: "an image with a truncated digest",
            program: |s| {
                Deployment::new("web")
                    .image("ghcr.io/acme/web@sha256:4f53cda18c2b")
                    .port(8080)
                    .resources(small())
                    .add(DefaultProvider, s);
            },
            expect: error(
                DEPLOYMENT,
                IMAGE,
                Some("ghcr.io/acme/web@sha256:4f53cda18c2b"),
                "64 hex digits",
                "`REGISTRY/REPOSITORY@sha256:DIGEST`",
            ),
        },
        Case {
            class: "images",
            name: "an image with trailing whitespace",
            program: |s| {
                Deployment::new("web")
                    .image("ghcr.io/acme/web:1.4 ")
                    .port(8080)
                    .resources(small())
                    .add(DefaultProvider, s);
            },
            expect: error(
                DEPLOYMENT,
                IMAGE,
                None,
                "leading or trailing whitespace",
                "`REGISTRY/REPOSITORY:TAG`",
            ),
        },
        Case {
            class: "images",
            name: "an image pinned by tag only (advice)",
            program: |s| {
                Deployment::new("web")
                    .image("ghcr.io/acme/web:1.4")
                    .port(8080)
                    .resources(small())
                    .add(DefaultProvider, s);
            },
            expect: warning(
                DEPLOYMENT,
                IMAGE,
                Some("ghcr.io/acme/web:1.4"),
                "pinned by a tag only",
                "pin the digest too: `ghcr.io/acme/web:1.4@sha256:…`",
            ),
        },
        // ---- resources
        Case {
            class: "resources",
            name: "a CPU request above its limit",
            program: |s| {
                workload("web")
                    .resources(Resources::new().cpu("2", "500m").memory("64Mi", "128Mi"))
                    .add(DefaultProvider, s);
            },
            expect: error(
                DEPLOYMENT,
                CPU_REQUEST,
                Some("2"),
                "more than its limit `500m`",
                "the DSL takes the request first",
            ),
        },
        Case {
            class: "resources",
            name: "a memory request above its limit in another unit",
            program: |s| {
                workload("web")
                    .resources(Resources::new().cpu("100m", "500m").memory("1Gi", "512Mi"))
                    .add(DefaultProvider, s);
            },
            expect: error(
                DEPLOYMENT,
                MEMORY_REQUEST,
                Some("1Gi"),
                "more than its limit `512Mi`",
                "lower the request to at most `512Mi`",
            ),
        },
        Case {
            class: "resources",
            name: "a quantity with a space",
            program: |s| {
                workload("web")
                    .resources(Resources::new().cpu("1 core", "2").memory("64Mi", "128Mi"))
                    .add(DefaultProvider, s);
            },
            expect: error(
                DEPLOYMENT,
                CPU_REQUEST,
                Some("1 core"),
                "is not a Kubernetes quantity",
                "CPU as `250m`",
            ),
        },
        Case {
            class: "resources",
            name: "a memory size in MB spelled the Docker way",
            program: |s| {
                workload("web")
                    .resources(
                        Resources::new()
                            .cpu("100m", "500m")
                            .memory("128MB", "256MB"),
                    )
                    .add(DefaultProvider, s);
            },
            expect: error(
                DEPLOYMENT,
                MEMORY_REQUEST,
                Some("128MB"),
                "is not a Kubernetes quantity",
                "memory as `256Mi`",
            ),
        },
        Case {
            class: "resources",
            name: "a negative request",
            program: |s| {
                workload("web")
                    .resources(
                        Resources::new()
                            .cpu("-100m", "500m")
                            .memory("64Mi", "128Mi"),
                    )
                    .add(DefaultProvider, s);
            },
            expect: error(
                DEPLOYMENT,
                CPU_REQUEST,
                Some("-100m"),
                "is negative",
                "use a quantity the API server accepts",
            ),
        },
        Case {
            class: "resources",
            name: "an overcommitted GPU in a manifest",
            program: |s| {
                let yaml = format!(
                    r#"
apiVersion: apps/v1
kind: Deployment
metadata: {{name: trainer}}
spec:
  selector: {{matchLabels: {{app: trainer}}}}
  template:
    metadata: {{labels: {{app: trainer}}}}
    spec:
      securityContext: {{runAsNonRoot: true, runAsUser: 10001, seccompProfile: {{type: RuntimeDefault}}}}
      containers:
      - name: trainer
        image: ghcr.io/acme/trainer:1@{DIGEST}
        resources:
          requests: {{cpu: 100m, memory: 64Mi, nvidia.com/gpu: 1}}
          limits: {{cpu: 200m, memory: 128Mi, nvidia.com/gpu: 2}}
        securityContext: {{allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: {{drop: [ALL]}}}}
"#
                );
                Manifest::add_all(
                    Manifest::from_yaml(&yaml).expect("YAML"),
                    DefaultProvider,
                    s,
                );
            },
            expect: error(
                "deployment/default/trainer",
                "resources.requests.nvidia.com/gpu",
                Some("1"),
                "cannot be overcommitted",
                "request exactly the limit, `2`",
            ),
        },
        // ---- urls (the seed's week-long failure and its relatives)
        Case {
            class: "urls",
            name: "a URL setting without a scheme (the seed's failure)",
            program: |s| {
                backend_with_service(s);
                let config = ConfigMap::new("frontend-configmap")
                    .data("BACKEND_URL", "backend-service")
                    .add(DefaultProvider, s);
                workload("frontend")
                    .env_from_key("BACKEND_URL", config.key("BACKEND_URL"))
                    .add(DefaultProvider, s);
            },
            expect: error(
                "configmap/default/frontend-configmap",
                "data[\"BACKEND_URL\"]",
                Some("backend-service"),
                "is not an absolute URL",
                "service.url()",
            ),
        },
        Case {
            class: "urls",
            name: "a full cluster name of a Service the program does not declare",
            program: |s| {
                backend_with_service(s);
                workload("frontend")
                    .env("BACKEND_URL", "http://backend.default.svc.cluster.local:80")
                    .add(DefaultProvider, s);
            },
            expect: error(
                "deployment/default/frontend",
                "env[0].value",
                Some("http://backend.default.svc.cluster.local:80"),
                "the program does not declare (the program's Services are backend-service.default)",
                "service.url()",
            ),
        },
        Case {
            class: "urls",
            name: "a .svc name in another namespace the program does not declare",
            program: |s| {
                backend_with_service(s);
                workload("frontend")
                    .env("API_ENDPOINT", "http://backend-service.shop.svc:80")
                    .add(DefaultProvider, s);
            },
            expect: error(
                "deployment/default/frontend",
                "env[0].value",
                None,
                "the Service `backend-service` in namespace `shop`, which the program does not declare",
                "stack reference output",
            ),
        },
        Case {
            class: "urls",
            name: "a fully qualified name with the root's dot and a wrong port",
            program: |s| {
                backend_with_service(s);
                workload("frontend")
                    .env(
                        "BACKEND_URL",
                        "http://backend-service.default.svc.cluster.local.:8080",
                    )
                    .add(DefaultProvider, s);
            },
            expect: error(
                "deployment/default/frontend",
                "env[0].value",
                None,
                "connects to port 8080 of Service default/backend-service, which listens on 80",
                "service.url()",
            ),
        },
        Case {
            class: "urls",
            name: "a short name on a port the Service does not listen on",
            program: |s| {
                backend_with_service(s);
                let config = ConfigMap::new("frontend-configmap")
                    .data("BACKEND_URL", "http://backend-service:8080")
                    .add(DefaultProvider, s);
                workload("frontend")
                    .env_from_key("BACKEND_URL", config.key("BACKEND_URL"))
                    .add(DefaultProvider, s);
            },
            expect: error(
                "configmap/default/frontend-configmap",
                "data[\"BACKEND_URL\"]",
                None,
                "connects to port 8080",
                "service.url()",
            ),
        },
        Case {
            class: "urls",
            name: "a bare name that is no Service (advice)",
            program: |s| {
                backend_with_service(s);
                workload("frontend")
                    .env("BACKEND_URL", "http://backend:80")
                    .add(DefaultProvider, s);
            },
            expect: warning(
                "deployment/default/frontend",
                "env[0].value",
                None,
                "points at host `backend`, which is no Service of the program",
                "service.url()",
            ),
        },
        Case {
            class: "probes",
            name: "a readiness probe on a port the container does not listen on",
            program: |s| {
                workload("web")
                    .readiness_http("/healthz", 9090)
                    .add(DefaultProvider, s);
            },
            expect: warning(
                DEPLOYMENT,
                "readinessProbe.httpGet.port",
                Some("9090"),
                "the container declares only 8080",
                "probe a declared port",
            ),
        },
        Case {
            class: "probes",
            name: "a liveness probe on a port name the container does not declare",
            program: |s| {
                let yaml = format!(
                    r#"
apiVersion: apps/v1
kind: Deployment
metadata: {{name: api}}
spec:
  selector: {{matchLabels: {{app: api}}}}
  template:
    metadata: {{labels: {{app: api}}}}
    spec:
      securityContext: {{runAsNonRoot: true, runAsUser: 10001, seccompProfile: {{type: RuntimeDefault}}}}
      containers:
      - name: api
        image: ghcr.io/acme/api:1@{DIGEST}
        ports: [{{name: http, containerPort: 8080}}]
        livenessProbe: {{httpGet: {{path: /healthz, port: metrics}}}}
        resources: {{requests: {{cpu: 100m, memory: 64Mi}}, limits: {{cpu: 200m, memory: 128Mi}}}}
        securityContext: {{allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: {{drop: [ALL]}}}}
"#
                );
                Manifest::add_all(
                    Manifest::from_yaml(&yaml).expect("YAML"),
                    DefaultProvider,
                    s,
                );
            },
            expect: error(
                "deployment/default/api",
                "livenessProbe.httpGet.port",
                Some("metrics"),
                "the kubelet restarts the container again and again",
                "name a declared port",
            ),
        },
        Case {
            class: "ports",
            name: "a NodePort outside the cluster's range",
            program: |s| {
                let web = workload("web").add(DefaultProvider, s);
                web.expose(ServicePort::http(80, 8080).node_port(8080))
                    .node_port()
                    .add(s);
            },
            expect: error(
                "service/default/web",
                "nodePort",
                Some("8080"),
                "outside the default node port range",
                "30000 to 32767",
            ),
        },
        Case {
            class: "ports",
            name: "two Service ports with the same number",
            program: |s| {
                let web = workload("web")
                    .named_port("admin", 9000)
                    .add(DefaultProvider, s);
                web.expose(ServicePort::http(80, 8080))
                    .port(ServicePort::tcp(80, 9000).named("admin"))
                    .add(s);
            },
            expect: error(
                "service/default/web",
                "spec.ports[1].port",
                Some("80"),
                "two TCP ports numbered 80",
                "its own number",
            ),
        },
        Case {
            class: "scaling",
            name: "a disruption budget that no drain can satisfy",
            program: |s| {
                let web = workload("web").replicas(2).add(DefaultProvider, s);
                PodDisruptionBudget::for_deployment(&web)
                    .min_available(2)
                    .add(s);
            },
            expect: warning(
                "poddisruptionbudget/default/web",
                "spec.minAvailable",
                Some("2"),
                "allows no pod of Deployment default/web to be evicted",
                "`.min_available(1)`",
            ),
        },
        Case {
            class: "scaling",
            name: "an autoscaler with a 0% CPU target",
            program: |s| {
                let web = workload("web").add(DefaultProvider, s);
                HorizontalPodAutoscaler::for_deployment(&web)
                    .replicas(2, 5)
                    .cpu_utilization(0)
                    .add(s);
            },
            expect: error(
                "horizontalpodautoscaler/default/web",
                "spec.metrics",
                Some("0"),
                "never lets the autoscaler scale down",
                "70",
            ),
        },
        Case {
            class: "config",
            name: "a ConfigMap over the 1 MiB the API server stores",
            program: |s| {
                ConfigMap::new("settings")
                    .data("blob", "x".repeat(1_100_000))
                    .add(DefaultProvider, s);
            },
            expect: error(
                "configmap/default/settings",
                "data",
                None,
                "more than the 1 MiB",
                "split the data",
            ),
        },
        Case {
            class: "config",
            name: "an object in a namespace the program does not create",
            program: |s| {
                workload("web").namespace("shop").add(DefaultProvider, s);
            },
            expect: warning(
                "deployment/shop/web",
                "metadata.namespace",
                Some("shop"),
                "which the program does not create",
                "Namespace::new(\"shop\")",
            ),
        },
        Case {
            class: "urls",
            name: "a hostname outside every zone the program's external-dns manages",
            program: |s| {
                ExternalDns::new()
                    .domain_filter("yolo.example.com")
                    .txt_owner_id("yolo")
                    .role_arn("arn:aws:iam::111122223333:role/external-dns")
                    .region("us-east-1")
                    .add(DefaultProvider, s);
                let web = workload("web").add(DefaultProvider, s);
                web.expose(ServicePort::http(80, 8080))
                    .load_balancer()
                    .hostname("shop.example.org")
                    .add(s);
            },
            expect: error(
                "service/default/web",
                "external-dns.alpha.kubernetes.io/hostname",
                Some("shop.example.org"),
                "manages only `yolo.example.com`: it skips the name",
                "use a name under `yolo.example.com`",
            ),
        },
        // ---- instances (the EC2 catalogue; rules in girder-aws)
        Case {
            class: "instances",
            name: "an instance type that does not exist",
            program: |s| {
                cluster(s, None, &["t3.mediun"]);
            },
            expect: error(
                "c-general",
                "instance_types",
                Some("t3.mediun"),
                "EC2 has no such instance type",
                "did you mean `t3.medium`?",
            ),
        },
        Case {
            class: "instances",
            name: "an instance type the region does not offer",
            program: |s| {
                cluster(s, Some("af-south-1"), &["m7a.large"]);
            },
            expect: error(
                "c-general",
                "instance_types",
                Some("m7a.large"),
                "af-south-1 does not offer",
                "use a similar type offered there",
            ),
        },
        Case {
            class: "instances",
            name: "a nodegroup of two architectures",
            program: |s| {
                cluster(s, None, &["t3.medium", "t4g.medium"]);
            },
            expect: error(
                "c-general",
                "instance_types",
                None,
                "is x86_64 and `t4g.medium` is arm64",
                "nodegroup of their own",
            ),
        },
        Case {
            class: "instances",
            name: "a pod bigger than every node",
            program: |s| {
                cluster(s, None, &["t3.medium"]);
                workload("web")
                    .resources(Resources::new().cpu("2", "2").memory("64Mi", "128Mi"))
                    .add(DefaultProvider, s);
            },
            expect: error(
                DEPLOYMENT,
                "resources.requests.cpu",
                Some("2"),
                "more than any node of the program's nodegroups has allocatable",
                "add a larger instance type",
            ),
        },
        Case {
            class: "config",
            name: "an IRSA role for a ServiceAccount the program does not declare",
            program: |s| {
                let eks = cluster(s, None, &["t3.medium"]);
                eks.service_account_role("apps", "api").add(s);
                let account = ServiceAccount::new("api-server").add(DefaultProvider, s);
                workload("api")
                    .service_account(&account)
                    .add(DefaultProvider, s);
            },
            expect: warning(
                "c-irsa-apps-api",
                "assume_role_policy",
                Some("system:serviceaccount:apps:api"),
                "which the program does not declare, so no pod of the program can assume it",
                "ServiceAccount::new(\"api\").namespace(\"apps\")",
            ),
        },
        // ---- names
        Case {
            class: "names",
            name: "an uppercase Deployment name",
            program: |s| {
                workload("Web").add(DefaultProvider, s);
            },
            expect: error(
                "deployment/default/Web",
                "metadata.name",
                Some("Web"),
                "is not a valid Deployment name",
                "lowercase",
            ),
        },
        Case {
            class: "names",
            name: "an environment variable name with `=`",
            program: |s| {
                workload("web")
                    .env("BACKEND=URL", "3")
                    .add(DefaultProvider, s);
            },
            expect: error(
                DEPLOYMENT,
                "env[0].name",
                Some("BACKEND=URL"),
                "is not a valid environment variable name",
                "`BACKEND_URL`",
            ),
        },
        Case {
            class: "names",
            name: "a ConfigMap key with a slash",
            program: |s| {
                ConfigMap::new("settings")
                    .data("app/config", "x")
                    .add(DefaultProvider, s);
            },
            expect: error(
                "configmap/default/settings",
                "data[\"app/config\"]",
                Some("app/config"),
                "is not a valid key",
                "letters, digits",
            ),
        },
        // ---- ports
        Case {
            class: "ports",
            name: "container port 0",
            program: |s| {
                workload("web").port(0).add(DefaultProvider, s);
            },
            expect: error(
                DEPLOYMENT,
                "ports[1].containerPort",
                Some("0"),
                "container port 0 is out of range",
                "1 to 65535",
            ),
        },
        Case {
            class: "ports",
            name: "a port name longer than 15 characters",
            program: |s| {
                workload("web")
                    .named_port("a-very-long-port-name", 9000)
                    .add(DefaultProvider, s);
            },
            expect: error(
                DEPLOYMENT,
                "ports[1].name",
                Some("a-very-long-port-name"),
                "is not a valid port name",
                "`http`",
            ),
        },
        Case {
            class: "ports",
            name: "a Service whose target port no container declares",
            program: |s| {
                let backend = workload("backend").add(DefaultProvider, s);
                backend
                    .expose(ServicePort::http(80, 9090))
                    .name("backend-service")
                    .add(s);
            },
            expect: error(
                "service/default/backend-service",
                "spec.ports[0].targetPort",
                Some("9090"),
                "declares no such container port",
                "target a port the deployment declares",
            ),
        },
        // ---- security
        Case {
            class: "security",
            name: "running as root",
            program: |s| {
                workload("web").run_as_user(0).add(DefaultProvider, s);
            },
            expect: error(
                DEPLOYMENT,
                "securityContext.runAsUser",
                Some("0"),
                "runs as user 0 (root)",
                "OptOut::RunAsRoot",
            ),
        },
        Case {
            class: "security",
            name: "no requests or limits",
            program: |s| {
                Deployment::new("web")
                    .image(format!("ghcr.io/acme/web:1@{DIGEST}"))
                    .port(8080)
                    .add(DefaultProvider, s);
            },
            expect: error(
                DEPLOYMENT,
                "resources.requests.cpu",
                None,
                "has no cpu request",
                "OptOut::Resources",
            ),
        },
        // ---- scaling
        Case {
            class: "scaling",
            name: "an autoscaler whose maximum is below its minimum",
            program: |s| {
                let web = workload("web").add(DefaultProvider, s);
                HorizontalPodAutoscaler::for_deployment(&web)
                    .replicas(5, 2)
                    .cpu_utilization(70)
                    .add(s);
            },
            expect: error(
                "horizontalpodautoscaler/default/web",
                "spec.maxReplicas",
                Some("2"),
                "maxReplicas 2 is below minReplicas 5",
                "at least the minimum",
            ),
        },
        Case {
            class: "scaling",
            name: "an autoscaler on a workload without requests",
            program: |s| {
                let web = Deployment::new("web")
                    .image(format!("ghcr.io/acme/web:1@{DIGEST}"))
                    .port(8080)
                    .allow(OptOut::Resources, "sized by the vendor")
                    .add(DefaultProvider, s);
                HorizontalPodAutoscaler::for_deployment(&web)
                    .replicas(2, 5)
                    .cpu_utilization(70)
                    .add(s);
            },
            expect: error(
                "horizontalpodautoscaler/default/web",
                "spec.metrics",
                Some("cpu"),
                "has no cpu request",
                "give container `web` requests",
            ),
        },
        // ---- config and references
        Case {
            class: "config",
            name: "a key read from a ConfigMap that does not have it",
            program: |s| {
                let config = ConfigMap::new("settings")
                    .data("BACKEND_URL", "http://x.example.com")
                    .add(DefaultProvider, s);
                workload("web")
                    .env_from_key("API_URL", config.key("API_URL"))
                    .add(DefaultProvider, s);
            },
            expect: error(
                DEPLOYMENT,
                "containers[0].env",
                Some("API_URL"),
                "which has no such key (it has `BACKEND_URL`)",
                "use one of its keys",
            ),
        },
        Case {
            class: "config",
            name: "a ServiceAccount role ARN that is not a role ARN",
            program: |s| {
                ServiceAccount::new("external-dns")
                    .irsa_role_arn("external-dns-role")
                    .add(DefaultProvider, s);
            },
            expect: error(
                "serviceaccount/default/external-dns",
                "eks.amazonaws.com/role-arn",
                Some("external-dns-role"),
                "is not an IAM role ARN",
                "arn:aws:iam::",
            ),
        },
    ]
}

/// One diagnostic that matches everything the case expects, or a message saying what was
/// reported instead.
fn matching<'a>(case: &Case, diagnostics: &'a Diagnostics) -> Result<&'a Diagnostic, String> {
    let e = &case.expect;
    diagnostics
        .iter()
        .find(|d| {
            d.severity == e.severity
                && d.resource.as_deref() == Some(e.resource)
                && d.field.as_deref().is_some_and(|f| f.contains(e.field))
                && e.value.is_none_or(|v| d.value.as_deref() == Some(v))
                && d.message.contains(e.message)
                && d.fix.as_deref().is_some_and(|f| f.contains(e.fix))
        })
        .ok_or_else(|| {
            format!(
                "{}: expected {:?} in `{}` at a field containing `{}`{} saying `{}` with a fix containing `{}`; got:\n{}",
                case.name,
                e.severity,
                e.resource,
                e.field,
                e.value.map(|v| format!(" = `{v}`")).unwrap_or_default(),
                e.message,
                e.fix,
                diagnostics
            )
        })
}

#[test]
fn every_wrong_program_fails_at_plan_with_field_value_and_fix() {
    let mut failures = Vec::new();
    for case in corpus() {
        let diagnostics = diagnostics_of(case.program);
        if std::env::var_os("GIRDER_CORPUS_PRINT").is_some() {
            println!("== {}\n{diagnostics}", case.name);
        }
        if let Err(failure) = matching(&case, &diagnostics) {
            failures.push(failure);
            continue;
        }
        // An error must stop the plan: nothing is planned, so nothing can be applied.
        if case.expect.severity == Severity::Error && program().plan(case.program).is_ok() {
            failures.push(format!(
                "{}: the plan went ahead despite the error",
                case.name
            ));
        }
        // Every problem is reported once, and every error names what to change.
        let mut distinct = diagnostics.clone();
        distinct.dedup();
        if distinct.len() != diagnostics.len() {
            failures.push(format!(
                "{}: a problem reported twice:\n{diagnostics}",
                case.name
            ));
        }
        for d in diagnostics.errors() {
            if d.resource.is_none() || d.field.is_none() || d.fix.is_none() {
                failures.push(format!("{}: an incomplete diagnostic: {d}", case.name));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn the_corpus_covers_every_class() {
    let mut by_class: BTreeMap<&str, usize> = BTreeMap::new();
    for case in corpus() {
        *by_class.entry(case.class).or_default() += 1;
    }
    println!("wrong programs by class: {by_class:?}");
    for class in [
        "instances",
        "images",
        "resources",
        "urls",
        "names",
        "ports",
        "security",
        "scaling",
        "config",
    ] {
        assert!(
            by_class.get(class).is_some_and(|n| *n >= 2),
            "{class}: {by_class:?}"
        );
    }
}

#[test]
fn opting_out_with_a_reason_accepts_a_moving_tag_and_silences_the_advice() {
    let diagnostics = diagnostics_of(|s| {
        Deployment::new("web")
            .image("nginx:latest")
            .port(8080)
            .resources(small())
            .allow(
                OptOut::MutableImage,
                "the dev sandbox follows upstream on purpose",
            )
            .add(DefaultProvider, s);
    });
    assert!(
        diagnostics
            .iter()
            .all(|d| !d.field.as_deref().is_some_and(|f| f.ends_with(".image"))),
        "{diagnostics}"
    );
}

#[test]
fn the_cluster_s_own_services_and_typed_urls_are_not_flagged() {
    let diagnostics = diagnostics_of(|s| {
        backend_with_service(s);
        workload("frontend")
            .env("KUBERNETES_URL", "https://kubernetes.default.svc:443")
            .env("SIDECAR_URL", "http://localhost:9901")
            .env("DOCS_URL", "https://docs.example.com")
            .env(
                "BACKEND_URL",
                "http://backend-service.default.svc.cluster.local:80",
            )
            .add(DefaultProvider, s);
    });
    assert!(
        diagnostics
            .iter()
            .all(|d| d.resource.as_deref() != Some("deployment/default/frontend")),
        "{diagnostics}"
    );
}

/// The seed's program (`examples/yolo.rs`) given a moving image and a backend URL that names
/// no Service: `apply --yes` refuses before it reads or writes any state, and before any AWS
/// or Kubernetes call (the endpoints point at a closed port, so a call would fail differently).
#[test]
fn a_rejected_program_writes_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_yolo"))
        .current_dir(dir.path())
        .args(["apply", "--yes"])
        .env("GIRDER_STATE", dir.path().join("state"))
        .env("GIRDER_PASSPHRASE", "wrong programs")
        .env("GIRDER_YOLO_FRONTEND_IMAGE", "ghcr.io/acme/frontend:latest")
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env("NO_COLOR", "1")
        .env_remove("GIRDER_STACK")
        .env_remove("KUBECONFIG")
        .env_remove("GIRDER_KUBECONFIG")
        .output()
        .expect("the yolo program runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(!output.status.success(), "{text}");
    assert!(
        text.contains(
            "field `spec.template.spec.containers[0].image` = `ghcr.io/acme/frontend:latest`"
        ) && text.contains("pin a version tag"),
        "{text}"
    );
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .expect("temp dir")
        .filter_map(Result::ok)
        .map(|e| e.file_name())
        .collect();
    assert!(left.is_empty(), "the refused apply wrote {left:?}\n{text}");
}
