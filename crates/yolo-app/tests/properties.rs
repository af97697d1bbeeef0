//! Property tests over the app's values — random names, ports, namespaces and replica ranges
//! from `girder_testing::strategies`: every valid combination passes the wiring check, its
//! autoscalers have valid bounds, `BACKEND_URL` names the backend Service's port, and the
//! standard invariants hold (acyclic, references resolve, apply + re-plan is empty, destroy
//! removes everything); every invalid replica range is refused with a diagnostic naming it.

use girder_core::Stack;
use girder_k8s::dsl::{DefaultProvider, ServiceType};
use girder_testing::mocked::{Verdict, check_invariants};
use girder_testing::plan::TestProgram;
use girder_testing::strategies::{container_port, k8s_name, port, scaling_range};
use proptest::prelude::*;
use yolo_app::{
    Autoscaling, BackendValues, FrontendValues, Scaling, YoloApp, YoloAppHandle, YoloAppValues,
};

fn program() -> TestProgram {
    TestProgram::new().package(girder_k8s::package())
}

/// A Kubernetes name usable in a host name: `k8s_name()` without the `xn--` prefix of
/// punycode labels, which URL parsers refuse unless valid (girder reports such Service and
/// Namespace names when the program is built; see `an_idna_prefix_is_refused`).
fn host_label() -> impl Strategy<Value = String> {
    k8s_name().prop_filter("an `xn--` label is not a usable host name", |name| {
        !name.starts_with("xn--")
    })
}

fn scaling() -> impl Strategy<Value = Scaling> {
    prop_oneof![
        (0u32..=5).prop_map(Scaling::Fixed),
        (
            scaling_range(1..=30),
            prop::option::of(1u32..=100),
            prop::option::of(1u32..=100)
        )
            .prop_map(|((min, max), cpu, memory)| {
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
}

fn service_type() -> impl Strategy<Value = ServiceType> {
    prop_oneof![
        Just(ServiceType::ClusterIp),
        Just(ServiceType::NodePort),
        Just(ServiceType::LoadBalancer),
    ]
}

prop_compose! {
    /// Valid values: distinct Deployment and Service names, any ports and ranges.
    fn values()(
        namespace in host_label(),
        create_namespace in any::<bool>(),
        names in prop::collection::btree_set(host_label(), 5),
        ports in (container_port(), container_port(), port(), port()),
        scalings in (scaling(), scaling()),
        backend_type in service_type(),
        frontend_public in any::<bool>(),
        policies in any::<bool>(),
        budgets in any::<bool>(),
    ) -> YoloAppValues {
        let names: Vec<String> = names.into_iter().collect();
        let (frontend_port, backend_port, frontend_service_port, backend_service_port) = ports;
        let frontend = FrontendValues::builder()
            .name(names[0].clone())
            .service_name(names[1].clone())
            .port(frontend_port)
            .service_port(frontend_service_port)
            .scaling(scalings.0)
            .build();
        let frontend = if frontend_public {
            FrontendValues { hostname: Some(format!("{}.example.com", names[0])), ..frontend }
        } else {
            FrontendValues { service_type: ServiceType::ClusterIp, ..frontend }
        };
        YoloAppValues::builder()
            .namespace(namespace)
            .create_namespace_bool(create_namespace)
            .config_map_name(names[4].clone())
            .network_policies(policies)
            .disruption_budgets(budgets)
            .frontend(frontend)
            .backend(
                BackendValues::builder()
                    .name(names[2].clone())
                    .service_name(names[3].clone())
                    .port(backend_port)
                    .service_port(backend_service_port)
                    .service_type(backend_type)
                    .scaling(scalings.1)
                    .build(),
            )
            .build()
    }
}

fn add(values: &YoloAppValues, s: &mut Stack) -> YoloAppHandle {
    YoloApp::new(values.clone()).add(DefaultProvider, s)
}

proptest! {

    #[test]
    fn valid_values_wire_correctly_with_valid_autoscaler_bounds(values in values()) {
        let built = program().build(|s| { add(&values, s); });
        let graph = built.map_err(|d| TestCaseError::fail(format!("{d}")))?;
        let wiring = girder_k8s::check::check(&graph);
        // The one thing the wiring check may say: a namespace the app is told not to create
        // must exist already.
        let namespace_advice = |d: &girder_core::Diagnostic| {
            !d.is_error()
                && d.field.as_deref() == Some("metadata.namespace")
                && !values.create_namespace
        };
        prop_assert!(wiring.iter().all(namespace_advice), "{}", wiring);
        prop_assert!(!graph.warnings().has_errors());

        let plan = program().plan_graph(graph).map_err(|d| TestCaseError::fail(format!("{d}")))?;
        for hpa in plan.of_type("k8s:autoscaling/v2:HorizontalPodAutoscaler") {
            let min = hpa.input("spec.minReplicas").and_then(|v| v.as_i64());
            let max = hpa.input("spec.maxReplicas").and_then(|v| v.as_i64());
            prop_assert!(matches!((min, max), (Some(min), Some(max)) if 1 <= min && min <= max),
                "{}: {min:?}..={max:?}", hpa.name());
        }
        let autoscaled = [values.frontend.scaling, values.backend.scaling]
            .iter()
            .filter(|s| matches!(s, Scaling::Autoscaled(_)))
            .count();
        prop_assert_eq!(plan.count("k8s:autoscaling/v2:HorizontalPodAutoscaler"), autoscaled);

        let config = plan
            .of_type("k8s:core/v1:ConfigMap")
            .into_iter()
            .next()
            .ok_or_else(|| TestCaseError::fail("no ConfigMap"))?;
        let url = config.input("data.BACKEND_URL");
        let expected = format!(
            "http://{}.{}.svc.cluster.local:{}",
            values.backend.service_name, values.namespace, values.backend.service_port
        );
        prop_assert_eq!(url.as_ref().and_then(|v| v.as_str()), Some(expected.as_str()));
    }

    #[test]
    fn the_standard_invariants_hold(values in values()) {
        let verdict = check_invariants(&program(), |s| { add(&values, s); })
            .map_err(|violation| TestCaseError::fail(violation.to_string()))?;
        prop_assert!(matches!(verdict, Verdict::Accepted { .. }), "{verdict:?}");
    }

    #[test]
    fn invalid_replica_ranges_are_refused_naming_the_tier(
        values in values(),
        (min, max) in (0u32..=20, 0u32..=20).prop_filter("invalid", |(min, max)| *min == 0 || max < min),
        backend in any::<bool>(),
    ) {
        let scaling = Scaling::Autoscaled(Autoscaling::builder().min_replicas(min).max_replicas(max).build());
        let mut values = values;
        let tier = if backend {
            values.backend.scaling = scaling;
            "backend"
        } else {
            values.frontend.scaling = scaling;
            "frontend"
        };
        let verdict = check_invariants(&program(), |s| { add(&values, s); })
            .map_err(|violation| TestCaseError::fail(violation.to_string()))?;
        let Verdict::Rejected(diagnostics) = verdict else {
            return Err(TestCaseError::fail(format!("{min}..={max} was not rejected: {verdict:?}")));
        };
        let field = format!("values.{tier}.scaling");
        prop_assert!(
            diagnostics.errors().any(|d| d.field.as_deref() == Some(field.as_str())
                && d.value.as_deref() == Some(format!("{min}..={max}").as_str())),
            "{}", diagnostics
        );
    }
}

proptest! {
    #[test]
    fn an_idna_prefix_is_refused(values in values(), rest in "[a-z0-9]([-a-z0-9]{0,20}[a-z0-9])?", in_namespace in any::<bool>()) {
        let mut values = values;
        let name = format!("xn--{rest}");
        if in_namespace {
            values.namespace = name.clone();
        } else {
            values.backend.service_name = name.clone();
        }
        let diagnostics = program()
            .build(|s| { add(&values, s); })
            .err()
            .ok_or_else(|| TestCaseError::fail(format!("`{name}` was accepted")))?;
        prop_assert!(
            diagnostics.errors().any(|d| d.message.contains("starts with `xn--`")
                && d.fix.as_deref().is_some_and(|f| f.contains("does not start with `xn--`"))),
            "{}", diagnostics
        );
    }
}
