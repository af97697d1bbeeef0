//! The wiring check and the secure defaults: one test per failure class, each asserting the
//! diagnostic a user sees. Build-time failures come from `Stack::finish` (the builders
//! report through `Stack::report`); whole-program failures from `girder_k8s::check::check`.

use girder_core::{Diagnostics, Graph, Stack};
use girder_k8s::check;
use girder_k8s::dsl::*;

fn small() -> Resources {
    Resources::new().cpu("100m", "500m").memory("64Mi", "128Mi")
}

fn backend(s: &mut Stack) -> DeploymentHandle {
    Deployment::new("backend")
        .image("ghcr.io/acme/backend:1.4")
        .port(8080)
        .replicas(2)
        .resources(small())
        .add(DefaultProvider, s)
}

/// A Deployment manifest that meets the secure defaults, with `extra` YAML in its container.
fn raw_deployment(name: &str, container_extra: &str, pod_extra: &str) -> String {
    format!(
        r#"
apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}}}
spec:
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec:
      securityContext: {{runAsNonRoot: true, runAsUser: 10001, seccompProfile: {{type: RuntimeDefault}}}}
{pod_extra}
      containers:
      - name: {name}
        image: ghcr.io/acme/{name}:1
        ports: [{{containerPort: 3000}}]
        resources: {{requests: {{cpu: 100m, memory: 64Mi}}, limits: {{cpu: 200m, memory: 128Mi}}}}
        securityContext:
          allowPrivilegeEscalation: false
          readOnlyRootFilesystem: true
          capabilities: {{drop: [ALL]}}
{container_extra}
"#
    )
}

fn add_yaml(s: &mut Stack, yaml: &str) {
    Manifest::add_all(
        Manifest::from_yaml(yaml).expect("valid YAML"),
        DefaultProvider,
        s,
    );
}

fn errors_of_finish(s: Stack) -> String {
    let diagnostics = s.finish().expect_err("the program must not build");
    assert!(diagnostics.has_errors());
    diagnostics.to_string()
}

fn wiring(s: Stack) -> (Graph, String) {
    let graph = s.finish().expect("each object is fine on its own");
    let diagnostics: Diagnostics = check::check(&graph);
    let text = diagnostics.to_string();
    (graph, text)
}

#[test]
fn the_seed_failure_a_url_setting_without_a_scheme_is_caught_at_build_time() {
    // The seed: frontend reads BACKEND_URL from `frontend-configmap`, which says
    // `backend-service` — the pod prints the variable "correctly", the client requests `/`.
    let mut s = Stack::new("dev");
    let backend = backend(&mut s);
    backend
        .expose(ServicePort::http(80, 8080))
        .name("backend-service")
        .add(&mut s);
    let config = ConfigMap::new("frontend-configmap")
        .data("BACKEND_URL", "backend-service")
        .add(DefaultProvider, &mut s);
    Deployment::new("frontend")
        .image("ghcr.io/acme/frontend:2.0")
        .port(3000)
        .env_from_key("BACKEND_URL", config.key("BACKEND_URL"))
        .resources(small())
        .add(DefaultProvider, &mut s);
    let text = errors_of_finish(s);
    assert!(
        text.contains(
            "error in `configmap/default/frontend-configmap`, field `data[\"BACKEND_URL\"]` = `backend-service`: `BACKEND_URL` holds a URL, but `backend-service` is not an absolute URL (it has no `scheme://`): an HTTP client resolves it as a relative reference against the pod's own origin, so requests go to `/` on the pod itself and never reach a Service"
        ),
        "{text}"
    );
    assert!(text.contains("fix: wire it to the Service with its typed URL — `.env(\"BACKEND_URL\", service.url())`"), "{text}");
}

#[test]
fn the_seed_failure_through_a_neutral_key_is_caught_by_the_wiring_check() {
    // The same mistake when the ConfigMap key does not say "URL" but the variable does.
    let mut s = Stack::new("dev");
    let backend = backend(&mut s);
    backend
        .expose(ServicePort::http(80, 8080))
        .name("backend-service")
        .add(&mut s);
    let config = ConfigMap::new("frontend-configmap")
        .data("backend", "backend-service:80")
        .add(DefaultProvider, &mut s);
    Deployment::new("frontend")
        .image("ghcr.io/acme/frontend:2.0")
        .env_from_key("BACKEND_URL", config.key("backend"))
        .resources(small())
        .add(DefaultProvider, &mut s);
    let (_, text) = wiring(s);
    assert!(
        text.contains("`BACKEND_URL` of Deployment default/frontend holds a URL, but its value `backend-service:80` (key `backend` of ConfigMap `frontend-configmap`) is not an absolute URL (it has no `scheme://`)"),
        "{text}"
    );
}

#[test]
fn a_url_on_a_port_the_service_does_not_listen_on_is_caught() {
    let mut s = Stack::new("dev");
    let backend = backend(&mut s);
    backend
        .expose(ServicePort::http(80, 8080))
        .name("backend-service")
        .add(&mut s);
    Deployment::new("frontend")
        .image("ghcr.io/acme/frontend:2.0")
        .env("BACKEND_URL", "http://backend-service:8080")
        .resources(small())
        .add(DefaultProvider, &mut s);
    let (_, text) = wiring(s);
    assert!(
        text.contains("`BACKEND_URL` = `http://backend-service:8080` connects to port 8080 of Service default/backend-service, which listens on 80: connections are refused or time out"),
        "{text}"
    );
}

#[test]
fn the_typed_wiring_passes_every_check() {
    let mut s = Stack::new("dev");
    let backend = backend(&mut s);
    let service = backend
        .expose(ServicePort::http(80, 8080))
        .name("backend-service")
        .add(&mut s);
    let config = ConfigMap::new("frontend-configmap")
        .data("BACKEND_URL", service.url())
        .add(DefaultProvider, &mut s);
    Deployment::new("frontend")
        .image("ghcr.io/acme/frontend:2.0")
        .env_from_key("BACKEND_URL", config.key("BACKEND_URL"))
        .env("BACKEND_HOST", service.host())
        .resources(small())
        .add(DefaultProvider, &mut s);
    HorizontalPodAutoscaler::for_deployment(&backend)
        .replicas(2, 10)
        .cpu_utilization(70)
        .memory_utilization(80)
        .add(&mut s);
    let (graph, text) = wiring(s);
    assert!(check::check(&graph).is_empty(), "{text}");
    // The URL is known when planning: the Service echoes its inputs.
    let objects = check::program_objects(&graph);
    let config = objects
        .iter()
        .find(|o| o.resource == "configmap/default/frontend-configmap")
        .unwrap();
    assert_eq!(
        config
            .manifest
            .get("data")
            .and_then(|d| d.get("BACKEND_URL"))
            .and_then(|v| v.as_str()),
        Some("http://backend-service.default.svc.cluster.local:80")
    );
}

#[test]
fn an_hpa_on_a_deployment_with_fixed_replicas_warns() {
    let mut s = Stack::new("dev");
    let backend = backend(&mut s);
    HorizontalPodAutoscaler::for_deployment(&backend)
        .replicas(2, 10)
        .add(&mut s);
    let graph = s.finish().expect("a warning does not fail the build");
    let text = graph.warnings().to_string();
    assert!(
        text.contains("warning in `horizontalpodautoscaler/default/backend`, field `spec.scaleTargetRef`: `deployment/default/backend` sets `replicas(2)`, but this autoscaler changes the replica count"),
        "{text}"
    );
}

#[test]
fn a_service_that_selects_no_workload_is_caught() {
    let mut s = Stack::new("dev");
    backend(&mut s);
    Service::new("backend-service")
        .selector("app", "backend")
        .port(ServicePort::http(80, 8080))
        .add(DefaultProvider, &mut s);
    let (_, text) = wiring(s);
    assert!(
        text.contains("error in `service/default/backend-service`, field `spec.selector` = `app=backend`: Service default/backend-service selects pods labelled `app=backend`, but no workload of the program in namespace `default` has pods with these labels, so the Service has no endpoints and every connection to it fails"),
        "{text}"
    );
    assert!(text.contains("`deployment/default/backend` in `default` has pod labels `app.kubernetes.io/name=backend`"), "{text}");
}

#[test]
fn an_exposed_port_that_is_not_a_container_port_fails_the_build() {
    let mut s = Stack::new("dev");
    let backend = backend(&mut s);
    backend.expose(ServicePort::http(80, 9090)).add(&mut s);
    let text = errors_of_finish(s);
    assert!(
        text.contains("error in `service/default/backend`, field `spec.ports[0].targetPort` = `9090`: the Service sends port 80 to target port 9090, but `deployment/default/backend` declares no such container port (it declares 8080 (container `backend`)), so connections are refused"),
        "{text}"
    );
}

#[test]
fn a_raw_service_targeting_an_undeclared_port_is_caught() {
    let mut s = Stack::new("dev");
    backend(&mut s);
    add_yaml(
        &mut s,
        "apiVersion: v1\nkind: Service\nmetadata: {name: backend-service}\nspec:\n  selector: {app.kubernetes.io/name: backend}\n  ports: [{port: 80, targetPort: http}]\n",
    );
    let (_, text) = wiring(s);
    assert!(
        text.contains("Service default/backend-service sends port 80 to target port `http`, but `deployment/default/backend` declares no such container port (it declares 8080 (container `backend`)), so connections are refused"),
        "{text}"
    );
}

#[test]
fn an_hpa_without_a_target_workload_is_caught() {
    let mut s = Stack::new("dev");
    backend(&mut s);
    add_yaml(
        &mut s,
        "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {name: backend}\nspec:\n  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: backend-deployment}\n  minReplicas: 2\n  maxReplicas: 10\n",
    );
    let (_, text) = wiring(s);
    assert!(
        text.contains("HorizontalPodAutoscaler default/backend scales Deployment `backend-deployment`, but the program declares no such workload in namespace `default`, so the autoscaler does nothing"),
        "{text}"
    );
    assert!(
        text.contains("(in `default`: Deployment backend)"),
        "{text}"
    );
}

#[test]
fn an_hpa_on_containers_without_requests_fails_the_build() {
    let mut s = Stack::new("dev");
    let unbounded = Deployment::new("worker")
        .image("ghcr.io/acme/worker:1")
        .allow(OptOut::Resources, "batch job sized by the node")
        .add(DefaultProvider, &mut s);
    HorizontalPodAutoscaler::for_deployment(&unbounded)
        .cpu_utilization(70)
        .add(&mut s);
    let text = errors_of_finish(s);
    assert!(
        text.contains("the autoscaler scales `deployment/default/worker` on cpu utilization, a percentage of the containers' cpu requests, but container `worker` has no cpu request: it would report `missing request for cpu` and never scale"),
        "{text}"
    );
}

#[test]
fn a_raw_hpa_on_containers_without_memory_requests_is_caught() {
    let mut s = Stack::new("dev");
    Deployment::new("worker")
        .image("ghcr.io/acme/worker:1")
        .resources(Resources::new().cpu("100m", "200m"))
        .allow(OptOut::Resources, "memory is bounded by the runtime")
        .add(DefaultProvider, &mut s);
    add_yaml(
        &mut s,
        "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {name: worker}\nspec:\n  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: worker}\n  maxReplicas: 5\n  metrics:\n  - type: Resource\n    resource: {name: memory, target: {type: Utilization, averageUtilization: 80}}\n",
    );
    let (_, text) = wiring(s);
    assert!(
        text.contains("field `spec.metrics[0].resource.name` = `memory`: HorizontalPodAutoscaler default/worker scales `deployment/default/worker` on memory utilization, which is a percentage of the containers' memory requests, but container `worker` has no memory request"),
        "{text}"
    );
}

#[test]
fn a_missing_config_map_is_caught() {
    let mut s = Stack::new("dev");
    ConfigMap::new("frontend-configmap")
        .data("BACKEND_URL", "http://backend:80")
        .add(DefaultProvider, &mut s);
    add_yaml(
        &mut s,
        &raw_deployment(
            "frontend",
            "        env:\n        - name: BACKEND_URL\n          valueFrom: {configMapKeyRef: {name: frontend-config, key: BACKEND_URL}}",
            "",
        ),
    );
    let (_, text) = wiring(s);
    assert!(
        text.contains("error in `deployment/default/frontend`, field `spec.template.spec.containers[0].env[0].valueFrom.configMapKeyRef` = `frontend-config`: Deployment default/frontend references ConfigMap `frontend-config`, which the program does not declare in namespace `default`: the pods never start (`CreateContainerConfigError`)"),
        "{text}"
    );
}

#[test]
fn a_missing_config_map_key_fails_the_build() {
    let mut s = Stack::new("dev");
    let config = ConfigMap::new("frontend-configmap")
        .data("BACKEND_URL", "http://backend:80")
        .add(DefaultProvider, &mut s);
    Deployment::new("frontend")
        .image("ghcr.io/acme/frontend:2.0")
        .env_from_key("BACKEND_URL", config.key("backend_url"))
        .resources(small())
        .add(DefaultProvider, &mut s);
    let text = errors_of_finish(s);
    assert!(
        text.contains("`BACKEND_URL` reads key `backend_url` of ConfigMap `frontend-configmap`, which has no such key (it has `BACKEND_URL`): the pods would never start (`CreateContainerConfigError`)"),
        "{text}"
    );
}

#[test]
fn a_missing_secret_key_in_raw_manifests_is_caught() {
    let mut s = Stack::new("dev");
    Secret::new("db")
        .string_data("password", "hunter2")
        .add(DefaultProvider, &mut s);
    add_yaml(
        &mut s,
        &raw_deployment(
            "api",
            "        env:\n        - name: DB_PASSWORD\n          valueFrom: {secretKeyRef: {name: db, key: pasword}}",
            "",
        ),
    );
    let (_, text) = wiring(s);
    assert!(
        text.contains("Deployment default/api reads key `pasword` of Secret `db`, which has no such key (it has `password`): the pods never start (`CreateContainerConfigError`)"),
        "{text}"
    );
}

#[test]
fn a_missing_service_account_is_caught() {
    let mut s = Stack::new("dev");
    add_yaml(
        &mut s,
        &raw_deployment("external-dns", "", "      serviceAccountName: external-dns"),
    );
    let (_, text) = wiring(s);
    assert!(
        text.contains("field `spec.template.spec.serviceAccountName` = `external-dns`: Deployment default/external-dns references ServiceAccount `external-dns`, which the program does not declare in namespace `default`: the pods are refused at creation (`serviceaccount not found`)"),
        "{text}"
    );
}

#[test]
fn a_missing_secret_volume_is_caught() {
    let mut s = Stack::new("dev");
    add_yaml(
        &mut s,
        &raw_deployment(
            "api",
            "",
            "      volumes:\n      - name: certs\n        secret: {secretName: api-tls}",
        ),
    );
    let (_, text) = wiring(s);
    assert!(
        text.contains("references Secret `api-tls`, which the program does not declare"),
        "{text}"
    );
}

#[test]
fn a_workload_in_another_namespace_does_not_satisfy_a_service() {
    let mut s = Stack::new("dev");
    Deployment::new("backend")
        .namespace("apps")
        .image("b:1")
        .port(8080)
        .resources(small())
        .add(DefaultProvider, &mut s);
    Service::new("backend")
        .selector("app.kubernetes.io/name", "backend")
        .port(ServicePort::http(80, 8080))
        .add(DefaultProvider, &mut s);
    let (_, text) = wiring(s);
    assert!(
        text.contains("no workload of the program in namespace `default`"),
        "{text}"
    );
}

#[test]
fn objects_of_different_clusters_do_not_wire_to_each_other() {
    let mut s = Stack::new("dev");
    let other = Kubernetes::from_kubeconfig("/tmp/other.yaml")
        .named("other")
        .add(&mut s);
    Deployment::new("backend")
        .image("b:1")
        .port(8080)
        .resources(small())
        .add(&other, &mut s);
    Service::new("backend")
        .selector("app.kubernetes.io/name", "backend")
        .port(ServicePort::http(80, 8080))
        .add(DefaultProvider, &mut s);
    let (_, text) = wiring(s);
    assert!(
        text.contains("selects pods labelled `app.kubernetes.io/name=backend`, but no workload"),
        "{text}"
    );
}

#[test]
fn the_same_object_declared_twice_is_caught() {
    let mut s = Stack::new("dev");
    ConfigMap::new("settings")
        .data("A", "1")
        .add(DefaultProvider, &mut s);
    ConfigMap::new("settings")
        .data("A", "2")
        .resource_name("settings-again")
        .add(DefaultProvider, &mut s);
    let (_, text) = wiring(s);
    assert!(
        text.contains(
            "ConfigMap default/settings is declared twice (also as `configmap/default/settings`)"
        ),
        "{text}"
    );
}

#[test]
fn a_role_binding_to_a_missing_role_is_caught() {
    let mut s = Stack::new("dev");
    ServiceAccount::new("monitor").add(DefaultProvider, &mut s);
    add_yaml(
        &mut s,
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: monitor}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: pod-reader}\nsubjects: [{kind: ServiceAccount, name: monitor, namespace: default}]\n",
    );
    let (_, text) = wiring(s);
    assert!(text.contains("RoleBinding default/monitor binds Role `pod-reader`, which the program does not declare"), "{text}");
}

#[test]
fn a_pod_disruption_budget_that_protects_nothing_is_caught() {
    let mut s = Stack::new("dev");
    backend(&mut s);
    add_yaml(
        &mut s,
        "apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {name: backend}\nspec:\n  minAvailable: 1\n  selector: {matchLabels: {app: backend}}\n",
    );
    let (_, text) = wiring(s);
    assert!(text.contains("protects pods labelled `app=backend`, but no workload of the program in `default` has them"), "{text}");
}

#[test]
fn insecure_containers_fail_the_build_with_every_setting_named() {
    let mut s = Stack::new("dev");
    add_yaml(
        &mut s,
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: legacy}\nspec:\n  selector: {matchLabels: {app: legacy}}\n  template:\n    metadata: {labels: {app: legacy}}\n    spec:\n      containers: [{name: legacy, image: 'nginx:1.27', securityContext: {runAsUser: 0, capabilities: {add: [NET_ADMIN]}}}]\n",
    );
    let text = errors_of_finish(s);
    for expected in [
        "field `spec.template.spec.containers[0].securityContext.runAsNonRoot`: container `legacy` of Deployment default/legacy may run as root",
        "field `spec.template.spec.containers[0].securityContext.runAsUser` = `0`: container `legacy` of Deployment default/legacy runs as user 0 (root)",
        "container `legacy` of Deployment default/legacy allows privilege escalation",
        "container `legacy` of Deployment default/legacy keeps Linux capabilities such as NET_RAW",
        "container `legacy` of Deployment default/legacy adds Linux capabilities",
        "container `legacy` of Deployment default/legacy has a writable root filesystem",
        "container `legacy` of Deployment default/legacy runs without a seccomp profile",
        "container `legacy` of Deployment default/legacy has no cpu request",
        "container `legacy` of Deployment default/legacy has no memory limit",
        "`security.girder.dev/legacy.run-as-root: \"why\"`",
    ] {
        assert!(text.contains(expected), "missing `{expected}` in:\n{text}");
    }
}

#[test]
fn explicit_opt_outs_with_reasons_are_accepted_and_recorded() {
    let mut s = Stack::new("dev");
    let nginx = Deployment::new("nginx")
        .image("nginx:1.27")
        .port(80)
        .resources(small())
        .allow(
            OptOut::RunAsRoot,
            "the stock image starts as root to bind port 80",
        )
        .allow(
            OptOut::WritableRootFilesystem,
            "writes its pid file to /var/run",
        )
        .allow(OptOut::Capabilities, "binds port 80")
        .add(DefaultProvider, &mut s);
    let graph = s.finish().expect("opted-out settings are accepted");
    let objects = check::program_objects(&graph);
    let object = objects
        .iter()
        .find(|o| o.resource == nginx.resource_name())
        .unwrap();
    let annotations = object
        .manifest
        .get("metadata")
        .and_then(|m| m.get("annotations"))
        .unwrap();
    assert_eq!(
        annotations
            .get("security.girder.dev/nginx.run-as-root")
            .and_then(|v| v.as_str()),
        Some("the stock image starts as root to bind port 80")
    );
    let context = object
        .manifest
        .lookup(
            &"spec.template.spec.containers[0].securityContext"
                .parse()
                .unwrap(),
        )
        .unwrap();
    assert_eq!(
        context
            .get("readOnlyRootFilesystem")
            .and_then(|v| v.as_bool()),
        Some(false)
    );
    assert_eq!(
        context
            .get("allowPrivilegeEscalation")
            .and_then(|v| v.as_bool()),
        Some(false)
    );
}

#[test]
fn an_opt_out_needs_a_reason() {
    let mut s = Stack::new("dev");
    Deployment::new("nginx")
        .image("nginx")
        .resources(small())
        .allow(OptOut::RunAsRoot, " ")
        .add(DefaultProvider, &mut s);
    let text = errors_of_finish(s);
    assert!(
        text.contains("opting out of `run-as-root` needs a reason"),
        "{text}"
    );
}

#[test]
fn missing_requests_and_limits_fail_the_build() {
    let mut s = Stack::new("dev");
    Deployment::new("api")
        .image("ghcr.io/acme/api:1")
        .add(DefaultProvider, &mut s);
    let text = errors_of_finish(s);
    assert!(
        text.contains("container `api` of Deployment default/api has no cpu request"),
        "{text}"
    );
    assert!(
        text.contains(
            "`.resources(Resources::new().cpu(\"100m\", \"500m\").memory(\"128Mi\", \"256Mi\"))`"
        ),
        "{text}"
    );
}

#[test]
fn bad_names_ports_and_quantities_are_reported_at_once() {
    let mut s = Stack::new("dev");
    Deployment::new("Backend_1")
        .image("b:1")
        .port(0)
        .named_port("a-very-long-port-name", 9000)
        .resources(Resources::new().cpu("1 core", "2").memory("128MB", "1Gi"))
        .add(DefaultProvider, &mut s);
    let text = errors_of_finish(s);
    for expected in [
        "`Backend_1` is not a valid Deployment name",
        "container port 0 is out of range",
        "`a-very-long-port-name` is not a valid port name",
        "`1 core` is not a Kubernetes quantity",
        "`128MB` is not a Kubernetes quantity",
    ] {
        assert!(text.contains(expected), "missing `{expected}` in:\n{text}");
    }
}

#[test]
fn an_irsa_annotation_that_is_not_a_role_arn_is_caught() {
    let mut s = Stack::new("dev");
    ServiceAccount::new("external-dns")
        .irsa_role_arn("external-dns-role")
        .add(DefaultProvider, &mut s);
    let text = errors_of_finish(s);
    assert!(text.contains("`external-dns-role` is not an IAM role ARN, so pods using this ServiceAccount get no AWS credentials"), "{text}");
}

#[test]
fn the_plan_time_check_reports_the_same_object_problems() {
    use girder_engine::provider::ProviderPackage;
    let package = girder_k8s::package();
    let inputs = girder_core::Value::from_json(serde_json::json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "frontend-configmap", "namespace": "default"},
        "data": {"BACKEND_URL": "backend-service"}
    }));
    let diagnostics = package.check(
        "k8s:core/v1:ConfigMap",
        "configmap/default/frontend-configmap",
        &inputs,
    );
    let text = diagnostics.to_string();
    assert!(
        text.contains("`BACKEND_URL` holds a URL, but `backend-service` is not an absolute URL"),
        "{text}"
    );
    // Unknown values (outputs known after apply) are not judged.
    let unknown = girder_core::Value::from_json(serde_json::json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "c", "namespace": "default"},
        "data": {"BACKEND_URL": {"$girder.unknown": true}}
    }));
    assert!(
        package
            .check("k8s:core/v1:ConfigMap", "c", &unknown)
            .is_empty()
    );
}

/// The plan runs the same wiring rules over the planned inputs (the engine calls the
/// package's whole-program check), so a program planned without the build-time hook — a
/// library driving the engine directly — is stopped too, before anything is applied.
#[test]
fn the_plan_runs_the_wiring_check() {
    let mut s = Stack::new("dev");
    backend(&mut s);
    Service::new("backend-service")
        .selector("app", "backend")
        .port(ServicePort::http(80, 8080))
        .add(DefaultProvider, &mut s);
    let graph = s
        .finish()
        .expect("builds: the wiring check is a whole-program check");
    let registry = girder_engine::Registry::new().with(girder_k8s::package());
    let snapshot = girder_engine::Snapshot::empty("dev");
    let diagnostics = girder_engine::plan(
        &graph,
        &snapshot,
        &registry,
        &girder_engine::PlanOptions::default(),
    )
    .expect_err("the plan must refuse a Service that selects nothing");
    let text = diagnostics.to_string();
    assert!(
        text.contains("selects pods labelled `app=backend`, but no workload of the program"),
        "{text}"
    );
}
