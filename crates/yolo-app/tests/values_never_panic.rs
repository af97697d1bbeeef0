//! No input crashes girder: the app component's values builders (`YoloAppValues`,
//! `FrontendValues`, `BackendValues`, `Autoscaling`, `ResourceValues`) filled with arbitrary
//! values — any names, images, hostnames, paths, env vars, ports and replica ranges, equal
//! names, empty lists. Building never panics (a panic fails the test: nothing is caught),
//! `Stack::finish` returns a graph or diagnostics whose errors each name the resource (or are
//! program-level), the field and the fix, and a graph passes or fails the wiring check and
//! plans offline to a plan or diagnostics — the same.

use std::collections::BTreeMap;

use girder_core::Stack;
use girder_k8s::dsl::{DefaultProvider, Namespace, ServiceType};
use girder_testing::fuzz::{
    any_name, any_text, any_u16, any_u32, any_vec, assert_actionable, mostly,
};
use girder_testing::plan::TestProgram;
use girder_testing::strategies::{container_port, k8s_name, port};
use proptest::prelude::*;
use yolo_app::{
    Autoscaling, BackendValues, FrontendValues, ResourceValues, Scaling, YoloApp, YoloAppValues,
};

fn program() -> TestProgram {
    TestProgram::new().package(girder_k8s::package())
}

fn scaling() -> impl Strategy<Value = Scaling> {
    prop_oneof![
        any_u32().prop_map(Scaling::Fixed),
        (
            any_u32(),
            any_u32(),
            prop::option::of(any_u32()),
            prop::option::of(any_u32())
        )
            .prop_map(|(min, max, cpu, memory)| {
                Scaling::Autoscaled(
                    Autoscaling::builder()
                        .min_replicas(min)
                        .max_replicas(max)
                        .cpu_percent_opt(cpu)
                        .memory_percent_opt(memory)
                        .build(),
                )
            }),
    ]
    .boxed()
}

fn resources() -> impl Strategy<Value = ResourceValues> {
    (any_text(), any_text(), any_text(), any_text())
        .prop_map(|(cpu, cpu_limit, memory, memory_limit)| {
            ResourceValues::builder()
                .cpu_request(cpu)
                .cpu_limit(cpu_limit)
                .memory_request(memory)
                .memory_limit(memory_limit)
                .build()
        })
        .boxed()
}

fn service_type() -> impl Strategy<Value = ServiceType> {
    prop::sample::select(vec![
        ServiceType::ClusterIp,
        ServiceType::NodePort,
        ServiceType::LoadBalancer,
    ])
}

fn env() -> impl Strategy<Value = BTreeMap<String, String>> {
    prop::collection::btree_map(any_text(), any_text(), 0..3)
}

/// The settings both tiers share.
#[derive(Clone, Debug)]
struct Tier {
    name: String,
    service_name: String,
    image: String,
    ports: (u16, u16),
    service_type: ServiceType,
    scaling: Scaling,
    resources: Option<ResourceValues>,
    writable_dirs: Vec<String>,
    env: BTreeMap<String, String>,
    health_path: Option<String>,
}

fn tier() -> impl Strategy<Value = Tier> {
    (
        (
            mostly(k8s_name(), any_name()),
            mostly(k8s_name(), any_name()),
            mostly(Just("nginx:1.27".to_owned()), any_text()),
            mostly((container_port(), port()), (any_u16(), any_u16())),
        ),
        (
            service_type(),
            mostly((1u32..=3).prop_map(Scaling::Fixed), scaling()),
            mostly(Just(None), prop::option::of(resources())),
            mostly(Just(vec!["/tmp".to_owned()]), any_vec(any_text(), 2)),
            mostly(Just(BTreeMap::new()), env()),
            mostly(Just(None), prop::option::of(any_text())),
        ),
    )
        .prop_map(
            |(
                (name, service_name, image, ports),
                (service_type, scaling, resources, writable_dirs, env, health_path),
            )| Tier {
                name,
                service_name,
                image,
                ports,
                service_type,
                scaling,
                resources,
                writable_dirs,
                env,
                health_path,
            },
        )
        .boxed()
}

fn frontend(tier: &Tier, hostname: Option<String>) -> FrontendValues {
    FrontendValues {
        name: tier.name.clone(),
        service_name: tier.service_name.clone(),
        image: tier.image.clone(),
        port: tier.ports.0,
        service_port: tier.ports.1,
        service_type: tier.service_type,
        hostname,
        scaling: tier.scaling,
        resources: tier.resources.clone().unwrap_or_default(),
        writable_dirs: tier.writable_dirs.clone(),
        env: tier.env.clone(),
        health_path: tier.health_path.clone(),
    }
}

fn backend(tier: &Tier) -> BackendValues {
    BackendValues {
        name: tier.name.clone(),
        service_name: tier.service_name.clone(),
        image: tier.image.clone(),
        port: tier.ports.0,
        service_port: tier.ports.1,
        service_type: tier.service_type,
        scaling: tier.scaling,
        resources: tier.resources.clone().unwrap_or_default(),
        writable_dirs: tier.writable_dirs.clone(),
        env: tier.env.clone(),
        health_path: tier.health_path.clone(),
    }
}

prop_compose! {
    /// Any values, valid or not.
    fn values()(
        namespace in mostly(k8s_name(), any_name()),
        create_namespace in any::<bool>(),
        front in tier(),
        hostname in mostly(Just(None), prop::option::of(any_text())),
        back in tier(),
        config_map_name in mostly(k8s_name(), any_name()),
        network_policies in any::<bool>(),
        disruption_budgets in any::<bool>(),
    ) -> YoloAppValues {
        YoloAppValues::builder()
            .namespace(namespace)
            .create_namespace_bool(create_namespace)
            .frontend(frontend(&front, hostname))
            .backend(backend(&back))
            .config_map_name(config_map_name)
            .network_policies(network_policies)
            .disruption_budgets(disruption_budgets)
            .build()
    }
}

/// Builds `apps` (in a namespace the program adds, if named), then checks and plans the
/// graph: a graph that checks and plans, or actionable diagnostics. Returns whether a plan
/// was made.
fn outcome(apps: &[YoloAppValues], in_namespace: Option<&str>) -> Result<bool, TestCaseError> {
    let built = program().build(|s: &mut Stack| {
        let namespace = in_namespace.map(|name| Namespace::new(name).add(DefaultProvider, s));
        for values in apps {
            let mut app = YoloApp::new(values.clone());
            let _ = app.values();
            if let Some(namespace) = &namespace {
                app = app.in_namespace(namespace).depends_on(namespace.clone());
            }
            let handle = app.add(DefaultProvider, s);
            let _ = (
                handle.namespace(),
                handle.frontend(),
                handle.backend(),
                handle.frontend_service(),
                handle.backend_service(),
                handle.config_map(),
                handle.backend_url(),
                handle.frontend_url(),
                handle.autoscalers(),
                handle.disruption_budgets(),
                handle.network_policies(),
            );
        }
    });
    match built {
        Err(diagnostics) => {
            prop_assert!(
                diagnostics.has_errors(),
                "refused without an error: {diagnostics}"
            );
            assert_actionable(&diagnostics)?;
            Ok(false)
        }
        Ok(graph) => {
            prop_assert!(!graph.warnings().has_errors());
            assert_actionable(&girder_k8s::check::check(&graph))?;
            match program().plan_graph(graph) {
                Ok(_) => Ok(true),
                Err(diagnostics) => {
                    prop_assert!(diagnostics.has_errors(), "plan refused without an error");
                    assert_actionable(&diagnostics)?;
                    Ok(false)
                }
            }
        }
    }
}

/// The generator is not degenerate: a real share of the generated apps plan (the valid path
/// is exercised) and a real share are refused (the checks are exercised).
#[test]
fn generated_values_both_plan_and_get_refused() {
    use proptest::strategy::ValueTree;
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let strategy = values();
    let planned = (0..200)
        .filter(|_| {
            let values = strategy.new_tree(&mut runner).expect("values").current();
            outcome(&[values], None).expect("actionable outcome")
        })
        .count();
    assert!(
        (10..190).contains(&planned),
        "{planned} of 200 apps planned"
    );
}

proptest! {
    #![proptest_config(girder_testing::fuzz::config(128))]

    /// One or two apps (in the namespace they name, or in one the program made) with any
    /// values: a graph that checks and plans, or actionable diagnostics.
    #[test]
    fn any_values_build_or_explain(apps in any_vec(values(), 2), in_namespace in prop::option::of(any_name())) {
        outcome(&apps, in_namespace.as_deref())?;
    }

    /// The values' own accessors and conversions never panic.
    #[test]
    fn value_helpers_never_panic(scaling in scaling(), resources in resources()) {
        let minimum = scaling.min_replicas();
        if let Scaling::Fixed(n) = &scaling {
            prop_assert_eq!(minimum, *n);
        }
        let _ = resources.to_resources();
    }
}
