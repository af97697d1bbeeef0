//! What build-time correctness costs: every rule girder runs before a plan reaches a cloud
//! (the object checks when builders add objects, the wiring check, the providers' checks at
//! plan, the cross-package rules — EC2 catalogue, pods fit the nodes, IRSA subjects).
//!
//! - the seed (`examples/yolo.rs`: 84 resources, AWS and Kubernetes), built and planned in
//!   memory against an empty state;
//! - the Kubernetes wiring check alone over N apps of a Deployment, a Service, a ConfigMap with
//!   a URL setting, an autoscaler and a budget each (5 objects per app), for N = 100 and 1,000:
//!   it must grow linearly.

use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use girder::core::Stack;
use girder::k8s::dsl::*;
use girder::testing::plan::TestProgram;
use girder_examples::yolo::{self, ClusterFacts, Settings};

fn settings() -> Settings {
    Settings {
        region: "us-east-1".into(),
        domain: "yolo.example.com".into(),
        frontend_image: "ghcr.io/acme/frontend:2.0".into(),
        backend_image: "ghcr.io/acme/backend:1.4".into(),
        infra_stack: "yolo-infra".into(),
    }
}

fn seed(s: &mut Stack) {
    let infra = yolo::infra(s, &settings());
    let k8s = infra.eks.kubernetes(s);
    let facts = ClusterFacts {
        cluster_name: infra.eks.name().map(|name| name.to_string()),
        cluster_autoscaler_role: infra.cluster_autoscaler_role.arn(),
        external_dns_role: infra.external_dns_role.arn(),
    };
    yolo::platform_and_app(s, &k8s, facts, &settings());
}

fn apps(s: &mut Stack, count: usize) {
    for i in 0..count {
        let backend = Deployment::new(format!("api-{i}"))
            .image("ghcr.io/acme/api:1.4")
            .port(8080)
            .resources(
                Resources::new()
                    .cpu("100m", "500m")
                    .memory("128Mi", "256Mi"),
            )
            .add(DefaultProvider, s);
        let service = backend.expose(ServicePort::http(80, 8080)).add(s);
        let config = ConfigMap::new(format!("web-{i}"))
            .data("API_URL", service.url())
            .add(DefaultProvider, s);
        let web = Deployment::new(format!("web-{i}"))
            .image("ghcr.io/acme/web:2.0")
            .port(3000)
            .env_from_key("API_URL", config.key("API_URL"))
            .resources(
                Resources::new()
                    .cpu("100m", "500m")
                    .memory("128Mi", "256Mi"),
            )
            .add(DefaultProvider, s);
        HorizontalPodAutoscaler::for_deployment(&web)
            .replicas(2, 10)
            .cpu_utilization(70)
            .add(s);
    }
}

fn seed_build_and_plan(c: &mut Criterion) {
    let program = TestProgram::new()
        .package(girder::aws::package())
        .package(girder::k8s::package());
    let mut group = c.benchmark_group("checks: the seed");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(10));
    group.bench_function("build", |b| {
        b.iter(|| program.build(seed).expect("the seed builds"))
    });
    group.bench_function("build+plan", |b| {
        b.iter(|| program.plan(seed).expect("the seed plans"))
    });
    group.finish();
}

fn wiring_check(c: &mut Criterion) {
    let mut group = c.benchmark_group("checks: wiring check");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(10));
    for count in [100usize, 1_000] {
        let mut s = Stack::new("bench");
        apps(&mut s, count);
        let graph = s.finish().expect("the apps build");
        group.throughput(Throughput::Elements(graph.len() as u64));
        group.bench_with_input(BenchmarkId::from_parameter(count), &graph, |b, graph| {
            b.iter(|| girder::k8s::check::check(graph))
        });
    }
    group.finish();
}

criterion_group!(benches, seed_build_and_plan, wiring_check);
criterion_main!(benches);
