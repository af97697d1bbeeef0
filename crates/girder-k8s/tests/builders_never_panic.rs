//! No input crashes girder: every public builder of the Kubernetes DSL and its add-ons is
//! driven with arbitrary values (any string — empty, huge, unicode, control characters, `..`,
//! `/` —, ports and counts at their limits, duplicate names, empty lists). Building never
//! panics (a panic fails the test: nothing is caught), `Stack::finish` returns a graph or
//! diagnostics whose errors each name the resource (or are program-level), the field and the
//! fix, and a graph renders, passes or fails the wiring check, and plans offline to a plan
//! or diagnostics — the same.

use std::time::Duration;

use girder_core::{ProviderHandle, Stack};
use girder_k8s::addons::{
    ClusterAutoscaler, DnsPolicy, Expander, ExternalDns, MetricsServer, ZoneType,
};
use girder_k8s::dsl::{
    ClusterRole, ClusterRoleBinding, ConfigMap, Container, DefaultProvider, Deployment,
    HorizontalPodAutoscaler, Kubernetes, Manifest, Namespace, NetworkPolicy, OptOut,
    PodDisruptionBudget, PodSecurity, PolicyRule, Resources, Role, RoleBinding, Secret, Service,
    ServiceAccount, ServicePort,
};
use girder_testing::fuzz::{
    any_name, any_text, any_u16, any_u32, any_vec, assert_actionable, mostly,
};
use girder_testing::plan::TestProgram;
use girder_testing::strategies::{container_port, k8s_name};
use proptest::prelude::*;

fn program() -> TestProgram {
    TestProgram::new().package(girder_k8s::package())
}

/// Builds, checks, renders and plans `build`: a graph or actionable diagnostics, then a
/// plan or actionable diagnostics.
fn outcome(build: impl FnOnce(&mut Stack)) -> Result<(), TestCaseError> {
    outcome_then(build, |_| ())
}

/// [`outcome`], calling `planned` with the plan when there is one.
fn outcome_then(
    build: impl FnOnce(&mut Stack),
    planned: impl FnOnce(&girder_testing::plan::PlanView),
) -> Result<(), TestCaseError> {
    match program().build(build) {
        Err(diagnostics) => {
            prop_assert!(
                diagnostics.has_errors(),
                "refused without an error: {diagnostics}"
            );
            assert_actionable(&diagnostics)?;
        }
        Ok(graph) => {
            prop_assert!(!graph.warnings().has_errors());
            let wiring = girder_k8s::check::check(&graph);
            assert_actionable(&wiring)?;
            let _ = girder_k8s::render(&graph);
            match program().plan_graph(graph) {
                Ok(plan) => planned(&plan),
                Err(diagnostics) => {
                    prop_assert!(diagnostics.has_errors(), "plan refused without an error");
                    assert_actionable(&diagnostics)?;
                }
            }
        }
    }
    Ok(())
}

fn image() -> impl Strategy<Value = String> {
    prop_oneof![
        2 => prop::sample::select(vec!["nginx:1.27", "ghcr.io/a/b@sha256:abc", "busybox", "x:latest"])
            .prop_map(str::to_owned),
        1 => any_text(),
    ]
}

fn quantity() -> impl Strategy<Value = String> {
    prop_oneof![
        2 => prop::sample::select(vec!["100m", "1", "0", "256Mi", "1Gi", "1e3", "-1", "1.5", "99999999999999999999Ei"])
            .prop_map(str::to_owned),
        1 => any_text(),
    ]
}

fn resources() -> impl Strategy<Value = Resources> {
    (
        prop::option::of((quantity(), quantity())),
        prop::option::of((quantity(), quantity())),
    )
        .prop_map(|(cpu, memory)| {
            let mut resources = Resources::new();
            if let Some((request, limit)) = cpu {
                resources = resources.cpu(request, limit);
            }
            if let Some((request, limit)) = memory {
                resources = resources.memory(request, limit);
            }
            resources
        })
        .boxed()
}

fn opt_out() -> impl Strategy<Value = OptOut> {
    prop::sample::select(OptOut::ALL.to_vec())
}

/// Every setting a container takes, applied in a fixed order.
#[derive(Clone, Debug)]
struct ContainerInput {
    name: String,
    image: Option<String>,
    command: Vec<String>,
    args: Vec<String>,
    ports: Vec<(u8, String, u16)>,
    env: Vec<(String, String)>,
    resources: Option<Resources>,
    user: Option<(u32, u32)>,
    allow: Vec<(OptOut, String)>,
    capabilities: Vec<String>,
    dirs: Vec<String>,
    probes: Vec<(u8, String, u16)>,
}

fn container_input() -> impl Strategy<Value = ContainerInput> {
    let sized = || {
        Some(
            Resources::new()
                .cpu("100m", "500m")
                .memory("128Mi", "256Mi"),
        )
    };
    (
        (
            mostly(k8s_name(), any_name()),
            mostly(
                Just(Some("nginx:1.27".to_owned())),
                prop::option::of(image()),
            ),
            mostly(Just(Vec::new()), any_vec(any_text(), 2)),
            mostly(Just(Vec::new()), any_vec(any_text(), 2)),
            mostly(
                container_port().prop_map(|port| vec![(0, "http".to_owned(), port)]),
                any_vec((0u8..3, any_name(), any_u16()), 3),
            ),
            mostly(Just(Vec::new()), any_vec((any_text(), any_text()), 3)),
        ),
        (
            mostly(Just(sized()), prop::option::of(resources())),
            mostly(Just(None), prop::option::of((any_u32(), any_u32()))),
            mostly(Just(Vec::new()), any_vec((opt_out(), any_text()), 2)),
            mostly(Just(Vec::new()), any_vec(any_text(), 2)),
            mostly(Just(Vec::new()), any_vec(any_text(), 2)),
            mostly(
                Just(Vec::new()),
                any_vec((0u8..4, any_text(), any_u16()), 2),
            ),
        ),
    )
        .prop_map(
            |(
                (name, image, command, args, ports, env),
                (resources, user, allow, capabilities, dirs, probes),
            )| {
                ContainerInput {
                    name,
                    image,
                    command,
                    args,
                    ports,
                    env,
                    resources,
                    user,
                    allow,
                    capabilities,
                    dirs,
                    probes,
                }
            },
        )
        .boxed()
}

fn build_container(input: &ContainerInput) -> Container {
    let mut c = Container::new(input.name.clone())
        .command(input.command.clone())
        .args(input.args.clone());
    if let Some(image) = &input.image {
        c = c.image(image.as_str());
    }
    for (kind, name, port) in &input.ports {
        c = match kind {
            0 => c.port(*port),
            1 => c.named_port(name.clone(), *port),
            _ => c.udp_port(*port),
        };
    }
    for (name, value) in &input.env {
        c = c.env(name.clone(), value.as_str());
    }
    if let Some(resources) = &input.resources {
        c = c.resources(resources.clone());
    }
    if let Some((user, group)) = input.user {
        c = c.run_as_user(user).run_as_group(group);
    }
    for (opt_out, reason) in &input.allow {
        c = c.allow(*opt_out, reason.clone());
    }
    for capability in &input.capabilities {
        c = c.add_capability(capability.clone());
    }
    for dir in &input.dirs {
        c = c.writable_dir(dir.clone());
    }
    for (kind, path, port) in &input.probes {
        c = match kind {
            0 => c.readiness_http(path.clone(), *port),
            1 => c.readiness_https(path.clone(), *port),
            2 => c.liveness_http(path.clone(), *port),
            _ => c.liveness_https(path.clone(), *port),
        };
    }
    let _ = (c.ports(), c.resource_settings());
    c
}

/// Every setting a Deployment takes (its main container's through the Deployment's own
/// shortcuts), plus sidecars and init containers.
#[derive(Clone, Debug)]
struct DeploymentInput {
    main: ContainerInput,
    namespace: Option<String>,
    replicas: Option<u32>,
    priority: Option<String>,
    selectors: Vec<(String, String)>,
    labels: Vec<(String, String)>,
    annotations: Vec<(String, String)>,
    sidecars: Vec<ContainerInput>,
    init: Vec<ContainerInput>,
    deadline: Option<u32>,
    no_wait: bool,
    resource_name: Option<String>,
}

fn deployment_input() -> impl Strategy<Value = DeploymentInput> {
    (
        (
            container_input(),
            mostly(Just(None), prop::option::of(any_name())),
            mostly((1u32..=5).prop_map(Some), prop::option::of(any_u32())),
            mostly(Just(None), prop::option::of(any_text())),
            mostly(Just(Vec::new()), any_vec((any_text(), any_text()), 2)),
            mostly(Just(Vec::new()), any_vec((any_text(), any_text()), 2)),
        ),
        (
            mostly(Just(Vec::new()), any_vec((any_text(), any_text()), 2)),
            mostly(Just(Vec::new()), any_vec(container_input(), 1)),
            mostly(Just(Vec::new()), any_vec(container_input(), 1)),
            mostly(Just(None), prop::option::of(any_u32())),
            any::<bool>(),
            mostly(Just(None), prop::option::of(any_name())),
        ),
    )
        .prop_map(
            |(
                (main, namespace, replicas, priority, selectors, labels),
                (annotations, sidecars, init, deadline, no_wait, resource_name),
            )| {
                DeploymentInput {
                    main,
                    namespace,
                    replicas,
                    priority,
                    selectors,
                    labels,
                    annotations,
                    sidecars,
                    init,
                    deadline,
                    no_wait,
                    resource_name,
                }
            },
        )
        .boxed()
}

fn build_deployment(input: &DeploymentInput) -> Deployment {
    let main = &input.main;
    let mut d = Deployment::new(main.name.clone())
        .command(main.command.clone())
        .args(main.args.clone());
    if let Some(image) = &main.image {
        d = d.image(image.as_str());
    }
    for arg in &main.args {
        d = d.arg(arg.as_str());
    }
    for (kind, name, port) in &main.ports {
        d = if *kind == 1 {
            d.named_port(name.clone(), *port)
        } else {
            d.port(*port)
        };
    }
    for (name, value) in &main.env {
        d = d.env(name.clone(), value.as_str());
    }
    if let Some(resources) = &main.resources {
        d = d.resources(resources.clone());
    }
    if let Some((user, _)) = main.user {
        d = d.run_as_user(user);
    }
    for (opt_out, reason) in &main.allow {
        d = d.allow(*opt_out, reason.clone());
    }
    for dir in &main.dirs {
        d = d.writable_dir(dir.clone());
    }
    for (kind, path, port) in &main.probes {
        d = match kind {
            0 => d.readiness_http(path.clone(), *port),
            1 => d.readiness_https(path.clone(), *port),
            2 => d.liveness_http(path.clone(), *port),
            _ => d.liveness_https(path.clone(), *port),
        };
    }
    if let Some(namespace) = &input.namespace {
        d = d.namespace(namespace.as_str());
    }
    if let Some(replicas) = input.replicas {
        d = d.replicas(replicas);
    }
    if let Some(priority) = &input.priority {
        d = d.priority_class(priority.clone());
    }
    for (key, value) in &input.selectors {
        d = d.node_selector(key.clone(), value.clone());
    }
    for (key, value) in &input.labels {
        d = d
            .pod_label(key.clone(), value.clone())
            .label(key.clone(), value.clone());
    }
    for (key, value) in &input.annotations {
        d = d
            .pod_annotation(key.clone(), value.as_str())
            .annotation(key.clone(), value.as_str());
    }
    for sidecar in &input.sidecars {
        d = d.container(build_container(sidecar));
    }
    for init in &input.init {
        d = d.init_container(build_container(init));
    }
    if let Some(seconds) = input.deadline {
        d = d.progress_deadline_seconds(seconds);
    }
    if input.no_wait {
        d = d.no_wait();
    }
    if let Some(name) = &input.resource_name {
        d = d.resource_name(name.clone());
    }
    d
}

fn service_port() -> impl Strategy<Value = ServicePort> {
    (
        0u8..5,
        any_u16(),
        any_u16(),
        prop::option::of(any_name()),
        prop::option::of(any_name()),
        prop::option::of(any_u16()),
    )
        .prop_map(|(kind, port, target, target_name, name, node_port)| {
            let mut p = match kind {
                0 => ServicePort::http(port, target),
                1 => ServicePort::https(port, target),
                2 => ServicePort::grpc(port, target),
                3 => ServicePort::tcp(port, target),
                _ => ServicePort::udp(port, target),
            };
            if let Some(target_name) = target_name {
                p = p.target_name(target_name);
            }
            if let Some(name) = name {
                p = p.named(name);
            }
            if let Some(node_port) = node_port {
                p = p.node_port(node_port);
            }
            let _ = (p.port(), p.target());
            p
        })
        .boxed()
}

/// A provider: the default kubeconfig or a provider node with any settings.
fn target(kind: u8, text: &str, s: &mut Stack) -> Option<ProviderHandle> {
    match kind {
        0 => None,
        1 => Some(
            Kubernetes::from_kubeconfig(text)
                .context(text)
                .named(text)
                .add(s),
        ),
        2 => Some(
            Kubernetes::cluster(text, text)
                .token(text)
                .named(format!("k8s-{text}"))
                .add(s),
        ),
        _ => Some(
            Kubernetes::from_default_kubeconfig()
                .eks_auth(text, text)
                .add(s),
        ),
    }
}

proptest! {
    #![proptest_config(girder_testing::fuzz::config(96))]

    /// Namespace, Deployment (every setting, sidecars, init containers), Container,
    /// Resources (any quantities), and objects made from a Deployment: exposed Services,
    /// autoscalers, disruption budgets and network policies with any ports and counts.
    #[test]
    fn workloads_never_panic(
        namespace in prop::option::of((any_name(), 0u8..3, any_vec((any_text(), any_text()), 2))),
        deployments in any_vec(deployment_input(), 2),
        exposed in any_vec((any_vec(service_port(), 2), prop::option::of(any_name()), 0u8..3, prop::option::of(any_text()), any_vec((any_text(), any_text()), 1)), 2),
        scaling in (any_u32(), any_u32(), prop::option::of(any_u32()), prop::option::of(any_u32()), prop::option::of(any_name())),
        budget in prop::option::of((any::<bool>(), any_u32())),
        policy in prop::option::of((prop::option::of(any_name()), any_vec(any_u16(), 3), any_vec(any_u16(), 2), any::<bool>(), any::<bool>())),
        provider in (0u8..4, any_text()),
    ) {
        outcome(|s| {
            let provider = target(provider.0, &provider.1, s);
            let ns = namespace.as_ref().map(|(name, level, labels)| {
                let mut n = Namespace::new(name.clone()).pod_security(match level {
                    0 => PodSecurity::Restricted,
                    1 => PodSecurity::Baseline,
                    _ => PodSecurity::Privileged,
                });
                for (key, value) in labels {
                    n = n.label(key.clone(), value.clone());
                }
                match &provider {
                    Some(p) => n.add(p.clone(), s),
                    None => n.add(DefaultProvider, s),
                }
            });
            let mut handles = Vec::new();
            for input in &deployments {
                let mut d = build_deployment(input);
                if let Some(ns) = &ns {
                    d = d.namespace(ns);
                }
                let handle = match &provider {
                    Some(p) => d.add(p.clone(), s),
                    None => d.add(DefaultProvider, s),
                };
                let _ = (handle.selector(), handle.ports(), handle.resource_name());
                handles.push(handle);
            }
            let Some(first) = handles.first() else { return };
            for (ports, name, kind, hostname, annotations) in &exposed {
                let Some(port) = ports.first() else { continue };
                let mut e = first.expose(port.clone());
                for port in &ports[1..] {
                    e = e.port(port.clone());
                }
                if let Some(name) = name {
                    e = e.name(name.clone());
                }
                e = match kind {
                    0 => e,
                    1 => e.node_port(),
                    _ => e.load_balancer().wait_for_address(),
                };
                if let Some(hostname) = hostname {
                    e = e.hostname(hostname.as_str()).external_dns_hostname(hostname.as_str());
                }
                for (key, value) in annotations {
                    e = e.annotation(key.clone(), value.as_str()).label(key.clone(), value.clone());
                }
                let service = e.force_conflicts().add(s);
                let _ = (service.host(), service.host_name(), service.url(), service.port());
                for p in ports {
                    let _ = service.url_for(p.port());
                }
            }
            let (min, max, cpu, memory, name) = &scaling;
            let mut hpa = HorizontalPodAutoscaler::for_deployment(first).replicas(*min, *max);
            if let Some(cpu) = cpu {
                hpa = hpa.cpu_utilization(*cpu);
            }
            if let Some(memory) = memory {
                hpa = hpa.memory_utilization(*memory);
            }
            if let Some(name) = name {
                hpa = hpa.name(name.clone());
            }
            hpa.add(s);
            if let Some((min, pods)) = budget {
                let pdb = PodDisruptionBudget::for_deployment(first);
                let pdb = if min { pdb.min_available(pods) } else { pdb.max_unavailable(pods) };
                pdb.add(s);
            }
            if let Some((name, from, to, dns, deny)) = &policy {
                let other = handles.last().unwrap_or(first);
                let mut np = NetworkPolicy::for_deployment(first)
                    .allow_from(other, from.clone())
                    .allow_from_anywhere(from.clone())
                    .allow_to(other, to.clone());
                if let Some(name) = name {
                    np = np.name(name.clone());
                }
                if *dns {
                    np = np.allow_dns();
                }
                if *deny {
                    np = np.deny_egress();
                }
                np.add(s);
            }
        })?;
    }

    /// Service (selectors, ports, types, hostnames), ConfigMap and Secret (any keys, values
    /// and types, their key references into env vars), ServiceAccount with any IRSA ARN,
    /// Role and ClusterRole with any rules, and both bindings.
    #[test]
    fn services_config_and_rbac_never_panic(
        service in (any_name(), any_vec((any_text(), any_text()), 2), any_vec(service_port(), 3), 0u8..3, prop::option::of(any_text()), prop::option::of(any_name())),
        config in (any_name(), any_vec((any_text(), any_text()), 3), any_name(), any_vec((any_text(), any_text()), 2), prop::option::of(any_text()), any_text()),
        rbac in (any_name(), prop::option::of(any_text()), any_vec((any_vec(any_text(), 2), any_vec(any_text(), 2), any_vec(any_text(), 2), any_vec(any_text(), 2)), 2), any_name(), any_name()),
    ) {
        outcome(|s| {
            let (name, selectors, ports, kind, hostname, namespace) = &service;
            let mut svc = Service::new(name.clone());
            for (key, value) in selectors {
                svc = svc.selector(key.clone(), value.clone());
            }
            for port in ports {
                svc = svc.port(port.clone());
            }
            svc = match kind {
                0 => svc,
                1 => svc.node_port(),
                _ => svc.load_balancer().wait_for_address(),
            };
            if let Some(hostname) = hostname {
                svc = svc.hostname(hostname.as_str());
            }
            if let Some(namespace) = namespace {
                svc = svc.namespace(namespace.clone());
            }
            let service = svc.add(DefaultProvider, s);
            let _ = (service.url(), service.load_balancer_hostname());

            let (cm_name, data, secret_name, secret_data, secret_type, key) = &config;
            let mut cm = ConfigMap::new(cm_name.clone()).data("URL", service.url());
            for (k, v) in data {
                cm = cm.data(k.clone(), v.as_str());
            }
            let cm = cm.add(DefaultProvider, s);
            let mut secret = Secret::new(secret_name.clone());
            for (k, v) in secret_data {
                secret = secret.string_data(k.clone(), v.as_str());
            }
            if let Some(t) = secret_type {
                secret = secret.secret_type(t.clone());
            }
            let secret = secret.add(DefaultProvider, s);
            let _ = cm.keys();
            Deployment::new("consumer")
                .image("nginx:1.27")
                .env_from_key("FROM_CM", cm.key(key.clone()))
                .env_from_key("FROM_SECRET", secret.key(key.clone()))
                .env_from(&cm)
                .add(DefaultProvider, s);

            let (sa_name, irsa, rules, role_name, binding_name) = &rbac;
            let mut sa = ServiceAccount::new(sa_name.clone());
            if let Some(arn) = irsa {
                sa = sa.irsa_role_arn(arn.as_str());
            }
            let sa = sa.add(DefaultProvider, s);
            let mut role = Role::new(role_name.clone());
            let mut cluster_role = ClusterRole::new(format!("{role_name}-cluster"));
            for (groups, resources, verbs, names) in rules {
                let rule = PolicyRule::new(groups.clone(), resources.clone(), verbs.clone())
                    .resource_names(names.clone());
                role = role.rule(rule.clone());
                cluster_role = cluster_role.rule(rule);
            }
            let role = role.add(DefaultProvider, s);
            let cluster_role = cluster_role.add(DefaultProvider, s);
            RoleBinding::new(binding_name.clone(), &role).subject(&sa).add(s);
            ClusterRoleBinding::new(binding_name.clone(), &cluster_role).subject(&sa).add(s);
            Deployment::new("runner").image("nginx:1.27").service_account(&sa).add(DefaultProvider, s);
        })?;
    }

    /// Manifests from any YAML text, any JSON object and any `set` path, and the three
    /// add-ons with any cluster, region, role, namespace, image, resources and durations.
    #[test]
    fn manifests_and_addons_never_panic(
        yaml in prop_oneof![
            any_text(),
            (k8s_name(), any_text(), any_text()).prop_map(|(name, kind, field)| format!(
                "apiVersion: v1\nkind: {kind}\nmetadata: {{name: {name}}}\ndata: {{k: {field:?}}}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {name}}}\n"
            )),
        ],
        json in (any_text(), any_text(), any_text(), any_text()),
        sets in any_vec((any_text(), any_text()), 3),
        namespace in prop::option::of(any_name()),
        addons in (any_text(), any_text(), any_text(), any_name(), any_text(), prop::option::of(resources()), any::<u64>(), any_u32()),
        choices in (0u8..4, 0u8..3, any::<bool>()),
    ) {
        outcome(|s| {
            if let Ok(manifests) = Manifest::from_yaml(&yaml) {
                let manifests: Vec<Manifest> = manifests
                    .into_iter()
                    .map(|mut m| {
                        let _ = (m.kind(), m.object_name());
                        for (path, value) in &sets {
                            m = m.set(path, value.as_str());
                        }
                        m
                    })
                    .collect();
                Manifest::add_all(manifests, DefaultProvider, s);
            }
            let (api, kind, name, field) = &json;
            let object = serde_json::json!({
                "apiVersion": api, "kind": kind, "metadata": { "name": name }, "spec": { field: name },
            });
            if let Ok(mut manifest) = Manifest::from_json(object) {
                if let Some(namespace) = &namespace {
                    manifest = manifest.namespace(namespace.as_str());
                }
                for (path, value) in &sets {
                    manifest = manifest.set(path, value.as_str());
                }
                manifest.add(DefaultProvider, s);
            }

            let (cluster, region, role, ns, image, resources, seconds, replicas) = &addons;
            let duration = Duration::from_secs(*seconds);
            let mut autoscaler = ClusterAutoscaler::new(cluster.as_str())
                .region(region.as_str())
                .role_arn(role.as_str())
                .scale_down_unneeded(duration)
                .expander([Expander::LeastWaste, Expander::Random, Expander::MostPods, Expander::Price][choices.0 as usize])
                .namespace(ns.as_str())
                .image(image.clone());
            let mut dns = ExternalDns::new()
                .domain_filter(cluster.as_str())
                .txt_owner_id(region.as_str())
                .role_arn(role.as_str())
                .region(region.as_str())
                .zone_type(if choices.2 { ZoneType::Public } else { ZoneType::Private })
                .policy([DnsPolicy::UpsertOnly, DnsPolicy::Sync, DnsPolicy::CreateOnly][choices.1 as usize])
                .interval(duration)
                .namespace(ns.as_str())
                .image(image.clone());
            let mut metrics = MetricsServer::new()
                .namespace(ns.as_str())
                .image(image.clone())
                .replicas(*replicas)
                .metric_resolution(duration);
            if let Some(resources) = resources {
                autoscaler = autoscaler.resources(resources.clone());
                dns = dns.resources(resources.clone());
                metrics = metrics.resources(resources.clone());
            }
            let _ = (autoscaler.irsa_service_account(), dns.irsa_service_account());
            let a = autoscaler.add(DefaultProvider, s);
            let _ = (a.deployment(), a.service_account());
            let d = dns.add(DefaultProvider, s);
            let _ = (d.deployment(), d.service_account());
            let m = metrics.add(DefaultProvider, s);
            let _ = (m.deployment(), m.service(), m.service_account(), m.api_service());
        })?;
    }
}

/// Draws `n` values of `strategy` deterministically and counts how many programs plan.
fn planned_share<S: Strategy>(
    strategy: S,
    n: usize,
    build: impl Fn(&S::Value, &mut Stack),
) -> usize {
    use proptest::strategy::ValueTree;
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    (0..n)
        .filter(|_| {
            let value = strategy.new_tree(&mut runner).expect("a value").current();
            let mut planned = false;
            outcome_then(|s| build(&value, s), |_| planned = true).expect("actionable outcome");
            planned
        })
        .count()
}

/// The generators are not degenerate: a real share of the generated Deployments plan (the
/// valid path is exercised) and a real share are refused (the checks are exercised).
#[test]
fn generated_programs_both_plan_and_get_refused() {
    let planned = planned_share(deployment_input(), 200, |input, s| {
        build_deployment(input).add(DefaultProvider, s);
    });
    assert!(
        (10..190).contains(&planned),
        "{planned} of 200 Deployment programs planned"
    );
}
