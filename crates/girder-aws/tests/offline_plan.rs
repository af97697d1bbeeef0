//! Planning against an empty state needs no credentials and no network: the provider is only
//! configured (lazily) when something must be read or changed.

use girder_aws::{ApiCalls, AwsSettings, seed};
use girder_core::{Stack, Value};
use girder_engine::Registry;
use girder_testing::harness::Harness;
use girder_testing::sim::SimPackage;

#[tokio::test]
async fn the_seed_plans_offline_without_credentials() {
    let calls = ApiCalls::default();
    // No region, no endpoint, no credentials: nothing may be needed.
    let package = girder_aws::package_with(AwsSettings::default().count_calls(calls.clone()));
    let harness = Harness::with_registry(
        "dev",
        SimPackage::in_memory(),
        Registry::new().with(package),
    );
    let mut s = Stack::new("dev");
    let seed = seed::cluster(&mut s);
    let k8s = seed.eks.kubernetes(&mut s);
    let graph = s.finish().unwrap();
    let plan = harness.plan(&graph).await.expect("plan without AWS");
    assert_eq!(plan.summary().create, 54);
    assert_eq!(calls.total(), 0, "{:?}", calls.snapshot());

    // Literal inputs are known, ids are known after apply.
    let subnet = plan.step("main-private-us-east-1b").unwrap();
    assert_eq!(
        subnet.inputs.get("cidr_block"),
        Some(&Value::from("10.10.16.0/20"))
    );
    assert_eq!(subnet.inputs.get("vpc_id"), Some(&Value::Unknown));
    let cluster = plan.step("yolo-cluster").unwrap();
    assert_eq!(cluster.inputs.get("name"), Some(&Value::from("yolo")));
    assert!(
        cluster
            .inputs
            .get("subnet_ids")
            .is_some_and(Value::contains_unknown)
    );
    // The Kubernetes provider is configured from outputs known after apply.
    let provider = plan.steps.iter().find(|s| s.is_provider()).unwrap();
    assert_eq!(provider.resource, graph.node(k8s.node()).spec.name);
    assert_eq!(provider.inputs.get("server"), Some(&Value::Unknown));
}

#[tokio::test]
async fn eks_tokens_are_made_from_the_credential_chain_without_network() {
    let settings = AwsSettings::default().region("eu-west-1").credentials(
        aws_credential_types::Credentials::new("AKIDEXAMPLE", "secret", None, None, "test"),
    );
    let token = girder_aws::eks::token::token_with(&settings, "prod")
        .await
        .unwrap();
    let encoded = token.strip_prefix("k8s-aws-v1.").expect("prefix");
    use base64::Engine;
    let url = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(encoded)
        .unwrap();
    let url = String::from_utf8(url).unwrap();
    assert!(
        url.starts_with("https://sts.eu-west-1.amazonaws.com/?Action=GetCallerIdentity"),
        "{url}"
    );
    assert!(url.contains("X-Amz-Expires=60"));
    assert!(
        url.contains("X-Amz-SignedHeaders=host%3Bx-k8s-aws-id"),
        "{url}"
    );
}

#[tokio::test]
async fn the_state_backend_and_a_hosted_zone_plan_offline() {
    let calls = ApiCalls::default();
    let package = girder_aws::package_with(AwsSettings::default().count_calls(calls.clone()));
    let harness = Harness::with_registry(
        "dev",
        SimPackage::in_memory(),
        Registry::new().with(package),
    );
    let mut s = Stack::new("dev");
    seed::state_backend(&mut s);
    let zone = girder_aws::dsl::route53::HostedZone::new("example.com").add(&mut s);
    s.export("domain", zone.name());
    s.export("zone_arn", zone.arn());
    let graph = s.finish().unwrap();
    let plan = harness.plan(&graph).await.expect("plan without AWS");
    assert_eq!(plan.summary().create, 3);
    assert_eq!(calls.total(), 0, "{:?}", calls.snapshot());

    // What the program names is known; what AWS generates is known after apply.
    let bucket = plan.step("girder-state").unwrap();
    assert_eq!(
        bucket.inputs.get("name_prefix"),
        Some(&Value::from("girder-state-"))
    );
    assert_eq!(plan.outputs["bucket"].after, Value::Unknown);
    assert_eq!(plan.outputs["table"].after, Value::from("dev-girder-locks"));
    assert_eq!(plan.outputs["domain"].after, Value::from("example.com"));
    assert_eq!(plan.outputs["zone_arn"].after, Value::Unknown);
    let table = plan.step("girder-locks").unwrap();
    assert_eq!(
        table.outputs.get("name"),
        Some(&Value::from("dev-girder-locks"))
    );
    assert_eq!(
        table.inputs.get("hash_key"),
        Some(&girder_core::object! { "name" => "LockID", "type" => "S" })
    );
    let zone = plan.step("example.com").unwrap();
    assert_eq!(zone.outputs.get("name"), Some(&Value::from("example.com")));
    assert_eq!(zone.outputs.get("arn"), Some(&Value::Unknown));
}
