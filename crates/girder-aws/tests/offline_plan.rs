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

/// A recorded resource as a destroy plan sees it.
fn recorded(
    name: &str,
    type_name: &str,
    id: &str,
    inputs: serde_json::Value,
    outputs: serde_json::Value,
) -> girder_engine::ResourceState {
    girder_engine::ResourceState {
        name: name.into(),
        type_name: type_name.into(),
        kind: girder_core::NodeKind::Resource,
        id: id.into(),
        provider: None,
        inputs: Value::from_json(inputs),
        outputs: Value::from_json(outputs),
        dependencies: Vec::new(),
        protect: false,
        retain_on_delete: false,
        tainted: false,
        creating: false,
        created_at: None,
        create_ms: None,
    }
}

#[test]
fn deletes_that_clean_up_after_the_cluster_say_so_in_the_plan() {
    use girder_engine::provider::ProviderPackage;
    let aws = girder_aws::package();
    let cluster = recorded(
        "yolo",
        "aws:eks/cluster",
        "yolo",
        serde_json::json!({"name": "yolo", "role_arn": "arn:aws:iam::123456789012:role/yolo", "subnet_ids": ["subnet-1"], "endpoint_public_access": true, "endpoint_private_access": true}),
        serde_json::json!({"arn": "arn:aws:eks:us-east-1:123456789012:cluster/yolo", "endpoint": "https://x", "certificate_authority_data": "", "oidc_issuer": "", "version": "1.36"}),
    );
    let effects = aws.delete_effects("dev", &cluster);
    assert_eq!(effects.len(), 2, "{effects:?}");
    assert!(effects[0].contains("time limit 15 min"), "{effects:?}");
    for part in [
        "`kubernetes.io/cluster/yolo=owned`",
        "`elbv2.k8s.aws/cluster=yolo`",
        "`cluster.k8s.amazonaws.com/name=yolo`",
        "never anything tagged `girder:stack`",
    ] {
        assert!(effects[1].contains(part), "{part} missing from {effects:?}");
    }

    let zone = |owners: serde_json::Value, force: bool| {
        recorded(
            "zone",
            "aws:route53/hostedZone",
            "Z123",
            serde_json::json!({"name": "yolo.example.com", "external_dns_owners": owners, "force_destroy": force}),
            serde_json::json!({"name": "yolo.example.com", "zone_id": "Z123", "arn": "arn:aws:route53:::hostedzone/Z123", "name_servers": []}),
        )
    };
    let effects = aws.delete_effects("dev", &zone(serde_json::json!(["yolo"]), false));
    assert_eq!(
        effects,
        [
            "first deletes the records external-dns wrote in `yolo.example.com` for owner id(s) `yolo` (found by their TXT ownership records)"
        ]
    );
    let effects = aws.delete_effects("dev", &zone(serde_json::json!([]), true));
    assert_eq!(effects.len(), 1);
    assert!(effects[0].contains("force_destroy"), "{effects:?}");
    assert!(
        aws.delete_effects("dev", &zone(serde_json::json!([]), false))
            .is_empty()
    );
    // A record this version cannot read describes nothing rather than failing the plan.
    let unreadable = recorded(
        "yolo",
        "aws:eks/cluster",
        "yolo",
        serde_json::json!({"nonsense": 1}),
        serde_json::json!(null),
    );
    assert!(aws.delete_effects("dev", &unreadable).is_empty());
}

/// The scheduler's weights: the slow AWS types declare how long they usually take, longest
/// first, so an apply starts the EKS control plane before a hundred quick calls.
#[test]
fn slow_types_declare_their_expected_durations() {
    use girder_engine::provider::ProviderPackage;
    let aws = girder_aws::package();
    let create = |type_name: &str| {
        aws.schema(type_name)
            .and_then(|schema| schema.expected_durations.create)
            .map(|d| d.as_secs())
    };
    let (cluster, nodegroup, nat, addon) = (
        create("aws:eks/cluster"),
        create("aws:eks/nodegroup"),
        create("aws:ec2/natGateway"),
        create("aws:eks/addon"),
    );
    assert_eq!(cluster, Some(600));
    assert!(
        cluster > nodegroup && nodegroup > nat && nat > addon,
        "{cluster:?} {nodegroup:?} {nat:?} {addon:?}"
    );
    // Quick types leave it to what applies observe.
    assert_eq!(create("aws:ec2/route"), None);
}
