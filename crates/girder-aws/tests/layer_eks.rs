//! The seed cluster (`examples/eks`: network, EKS, OIDC, IRSA roles, hosted zone) through moto and the AWS behaviour layer.
//!
//! Each behaviour of the AWS behaviour layer alone, then all together, at a hundredth of AWS's
//! durations: apply, re-plan (no changes), destroy, then moto itself (bypassing the layer)
//! holds nothing the program made and never held two of anything. The runs print their
//! request counts and wall times (`--nocapture` shows them).

mod layer;

use girder_aws::seed;
use layer::{LayerEnv, behaviours};

async fn run(name: &str) {
    let env = LayerEnv::start(behaviours(name)).await;
    let mut s = girder_core::Stack::new("dev");
    seed::cluster(&mut s);
    let graph = s.finish().unwrap_or_else(|d| panic!("{d}"));
    env.round_trip(name, &graph).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_with_none() {
    run("none").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_with_lifecycle() {
    run("lifecycle").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_with_consistency() {
    run("consistency").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_with_propagation() {
    run("propagation").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_with_throttling() {
    run("throttling").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_with_draining() {
    run("draining").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_with_lost_responses() {
    run("lost_responses").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_with_idempotency() {
    run("idempotency").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_with_all() {
    run("all").await;
}

/// A load balancer the cluster's cloud controller left (its Service deleted out of band) is
/// swept once the cluster is gone; its security group answers `DependencyViolation` while the
/// load balancer's interfaces drain, and the destroy waits that out instead of failing or
/// leaking the network.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_load_balancer_the_cluster_left_is_swept_and_its_drain_waited_out() {
    use aws_sdk_ec2::types::{ResourceType, Tag, TagSpecification};

    let env = LayerEnv::start(behaviours("draining")).await;
    let mut s = girder_core::Stack::new("dev");
    seed::cluster(&mut s);
    let graph = s.finish().unwrap_or_else(|d| panic!("{d}"));
    let report = env.harness.up(&graph).await.expect("apply");
    layer::assert_success("sweep", "apply", &report);
    let state = env.harness.snapshot();
    let id = |name: &str| state.resources[name].id.clone();

    // Made through the layer, as the cloud controller makes them, so the layer knows the
    // load balancer's VPC and drains it when the load balancer is deleted.
    let through_layer = girder_aws::AwsSettings::default()
        .region("us-east-1")
        .endpoint_url(env.sandbox.layer().endpoint())
        .credentials(aws_credential_types::Credentials::new(
            "testing", "testing", None, None, "layer",
        ))
        .load()
        .await;
    let ec2 = aws_sdk_ec2::Client::new(&through_layer);
    let elb = aws_sdk_elasticloadbalancing::Client::new(&through_layer);
    let group = ec2
        .create_security_group()
        .group_name("k8s-elb-a0f1e2d3")
        .description("Security group for Kubernetes ELB a0f1e2d3 (default/frontend-service)")
        .vpc_id(id("main-vpc"))
        .tag_specifications(
            TagSpecification::builder()
                .resource_type(ResourceType::SecurityGroup)
                .tags(
                    Tag::builder()
                        .key("kubernetes.io/cluster/yolo")
                        .value("owned")
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap()
        .group_id()
        .unwrap()
        .to_owned();
    elb.create_load_balancer()
        .load_balancer_name("a0f1e2d3")
        .listeners(
            aws_sdk_elasticloadbalancing::types::Listener::builder()
                .protocol("TCP")
                .load_balancer_port(80)
                .instance_port(31080)
                .build()
                .unwrap(),
        )
        .subnets(id("main-public-us-east-1a"))
        .subnets(id("main-public-us-east-1b"))
        .security_groups(&group)
        .tags(
            aws_sdk_elasticloadbalancing::types::Tag::builder()
                .key("kubernetes.io/cluster/yolo")
                .value("owned")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();

    env.sandbox.layer().reset_counters();
    let report = env.harness.destroy(&graph).await.expect("destroy");
    layer::assert_success("sweep", "destroy", &report);
    let drained: u64 = env
        .sandbox
        .layer()
        .counters()
        .behaviours
        .get("draining")
        .and_then(|ops| ops.get("ec2:DeleteSecurityGroup"))
        .copied()
        .unwrap_or(0);
    assert!(
        drained > 0,
        "the left security group never met the load balancer's drain: {:?}",
        env.sandbox.layer().counters().behaviours
    );

    // moto itself, bypassing the layer: nothing of the program or the cluster is left.
    let moto_elb = aws_sdk_elasticloadbalancing::Client::new(&env.moto_config);
    let left = moto_elb.describe_load_balancers().send().await.unwrap();
    assert!(left.load_balancer_descriptions().is_empty());
    let census = girder_aws::census::census(&env.moto_config, "dev")
        .await
        .unwrap();
    let held: Vec<_> = census
        .iter()
        .filter(|(kind, objects)| !objects.is_empty() && **kind != "aws:logs/logGroup")
        .collect();
    assert!(held.is_empty(), "moto holds after destroy: {held:#?}");
    let groups = aws_sdk_ec2::Client::new(&env.moto_config)
        .describe_security_groups()
        .group_ids(&group)
        .send()
        .await;
    assert!(
        groups.is_err(),
        "the load balancer's security group is gone"
    );
}
