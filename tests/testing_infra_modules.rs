//! A worked example of testing infrastructure modules like any other Rust code (the docs
//! chapter "Testing your infrastructure" walks through it): property tests of the `Vpc`
//! module and of the seed's app component, planned in memory — no cloud, no credentials.

use girder::aws::prelude::*;
use girder::core::Stack;
use girder::k8s::dsl::DefaultProvider;
use girder::testing::mocked::{Verdict, check_invariants};
use girder::testing::plan::TestProgram;
use girder::testing::policy::{Enforcement, Outcome, PolicySet};
use girder::testing::strategies::{azs, container_port, private_cidr, scaling_range};
use ipnet::Ipv4Net;
use proptest::prelude::*;
use yolo_app::{Autoscaling, BackendValues, FrontendValues, Scaling, YoloApp, YoloAppValues};

/// Plans with the real AWS and Kubernetes packages' schemas and checks; nothing is called.
fn program() -> TestProgram {
    TestProgram::new()
        .package(girder::aws::package())
        .package(girder::k8s::package())
}

fn nat_modes() -> impl Strategy<Value = Nat> {
    prop_oneof![Just(Nat::None), Just(Nat::Single), Just(Nat::PerAz)]
}

fn network(s: &mut Stack, cidr: Ipv4Net, zones: &[String], nat: Nat) {
    Vpc::new("main")
        .cidr(cidr.to_string())
        .azs(zones.to_vec())
        .public_subnets(Auto)
        .private_subnets(Auto)
        .intra_subnets(Auto)
        .nat(nat)
        .add(s);
}

/// girder's built-in policy pack, mandatory, as `--builtin-policies` loads it.
fn builtin_pack() -> PolicySet {
    let mut policies = PolicySet::new();
    policies.load_builtin(Enforcement::Mandatory).unwrap();
    policies
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Policy assertions: whatever its size, zones and NAT mode, a VPC without flow logs
    /// violates the built-in pack's flow-log rule (CIS AWS 3.9), and with them passes the pack.
    #[test]
    fn the_vpc_module_passes_the_builtin_pack_only_with_flow_logs(
        cidr in private_cidr(16..=20),
        zones in azs("us-east-1", 1..=3),
        nat in nat_modes(),
    ) {
        let policies = builtin_pack();
        let dark = program().plan(|s| network(s, cidr, &zones, nat)).unwrap();
        let finding = dark.assert_policy_finds(&policies, "girder.network.deny_vpc_flow_logs", "main-vpc");
        prop_assert_eq!(finding.outcome, Outcome::Violation);
        let logged = program()
            .plan(|s| {
                Vpc::new("main")
                    .cidr(cidr.to_string())
                    .azs(zones.to_vec())
                    .public_subnets(Auto)
                    .private_subnets(Auto)
                    .nat(nat)
                    .flow_logs(FlowLogs::cloudwatch().retention_days(30))
                    .add(s);
            })
            .unwrap();
        logged.assert_policies_pass(&policies);
    }

    /// For any VPC size, AZ count and NAT mode: three subnets per AZ, all inside the VPC and
    /// none overlapping; NAT gateways and default routes exactly as the mode says (intra
    /// subnets get none); and the module keeps the standard invariants.
    #[test]
    fn the_vpc_module_lays_out_subnets_and_routes_as_specified(
        cidr in private_cidr(16..=22),
        zones in azs("us-east-1", 1..=4),
        nat in nat_modes(),
    ) {
        let plan = match program().plan(|s| network(s, cidr, &zones, nat)) {
            Ok(plan) => plan,
            Err(diagnostics) => {
                // Too small for automatic allocation is a valid, explained refusal.
                prop_assert!(diagnostics.to_string().contains("address"), "{}", diagnostics);
                return Ok(());
            }
        };
        let subnets: Vec<Ipv4Net> = plan
            .of_type("aws:ec2/subnet")
            .iter()
            .map(|s| s.input("cidr_block").and_then(|v| v.as_str().map(str::to_owned)).unwrap().parse().unwrap())
            .collect();
        prop_assert_eq!(subnets.len(), zones.len() * 3);
        for (i, a) in subnets.iter().enumerate() {
            prop_assert!(cidr.contains(a), "{} is outside {}", a, cidr);
            for b in &subnets[i + 1..] {
                prop_assert!(!a.contains(b) && !b.contains(a), "{} overlaps {}", a, b);
            }
        }
        let nat_gateways = match nat {
            Nat::None => 0,
            Nat::Single => 1,
            Nat::PerAz => zones.len(),
        };
        prop_assert_eq!(plan.count("aws:ec2/natGateway"), nat_gateways);
        let routes = plan.of_type("aws:ec2/route");
        let through_nat = routes.iter().filter(|r| r.input("nat_gateway_id").is_some_and(|v| !matches!(v, girder::Value::Null))).count();
        let default_routes = routes.iter().filter(|r| r.input("destination_cidr_block") == Some("0.0.0.0/0".into())).count();
        prop_assert_eq!(through_nat == 0, nat == Nat::None);
        // The public route to the internet gateway plus the private ones through NAT; the intra
        // tier has no way out.
        prop_assert_eq!(default_routes, 1 + through_nat);

        let verdict = check_invariants(&program(), |s| network(s, cidr, &zones, nat));
        prop_assert!(matches!(verdict, Ok(Verdict::Accepted { .. })), "{:?}", verdict);
    }

    /// For any replica ranges and container ports, the app component passes the wiring check,
    /// its autoscalers have valid bounds, and it keeps the standard invariants.
    #[test]
    fn the_app_component_is_wired_for_any_values(
        (min, max) in scaling_range(1..=20),
        frontend_port in container_port(),
        backend_port in container_port(),
    ) {
        let values = YoloAppValues::builder()
            .frontend(FrontendValues::builder().port(frontend_port).build())
            .backend(BackendValues::builder()
                .port(backend_port)
                .scaling(Scaling::Autoscaled(Autoscaling::builder().min_replicas(min).max_replicas(max).cpu_percent(70).build()))
                .build())
            .build();
        let app = |s: &mut Stack| {
            YoloApp::new(values.clone()).add(DefaultProvider, s);
        };
        let graph = program().build(app).unwrap();
        let wiring = girder::k8s::check::check(&graph);
        prop_assert!(!wiring.has_errors(), "{}", wiring);
        let plan = program().plan_graph(graph).unwrap();
        for hpa in plan.of_type("k8s:autoscaling/v2:HorizontalPodAutoscaler") {
            let low = hpa.input("spec.minReplicas").and_then(|v| v.as_i64()).unwrap_or(1);
            let high = hpa.input("spec.maxReplicas").and_then(|v| v.as_i64()).unwrap();
            prop_assert!(1 <= low && low <= high, "{} has bounds {}..{}", hpa.name(), low, high);
        }
        let verdict = check_invariants(&program(), app);
        prop_assert!(matches!(verdict, Ok(Verdict::Accepted { .. })), "{:?}", verdict);
    }
}
