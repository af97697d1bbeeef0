//! Crash recovery and orphan search: `find` locates what a stack created by the identity tags
//! (or, for names girder generates, by name and tags), and imports read existing resources.

mod support;

use girder_aws::dsl::vpc::Vpc;
use girder_aws::seed;
use girder_engine::provider::{FindRequest, ProviderPackage};
use girder_engine::state::{Journal, OperationKind};
use girder_engine::{CallContext, PendingOperation, ResourceIdentity, StepKind};
use support::{Env, build, tag_map};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn find_locates_resources_by_their_identity() {
    let env = Env::start().await;
    let graph = build(|s| {
        seed::cluster(s);
    });
    env.apply(&graph).await;
    let state = env.harness.snapshot();
    let provider = girder_aws::package_with(env.settings.clone())
        .configure(&girder_core::Value::Null)
        .await
        .unwrap();
    let ctx = CallContext::detached(std::time::Duration::from_secs(30));
    // Every taggable type; routes, associations, inline policies and attachments are found
    // by their deterministic ids instead (their creates adopt what exists).
    for name in [
        "main-vpc",
        "main-public-us-east-1a",
        "main-igw",
        "main-nat-eip-us-east-1a",
        "main-nat-us-east-1a",
        "main-public-rt",
        "main-flow-log",
        "main-flow-logs-role",
        "yolo-cluster-sg",
        "yolo-cluster-sg-ingress-tcp-443",
        "yolo-cluster",
        "yolo-oidc",
        "yolo-spot",
    ] {
        let recorded = &state.resources[name];
        let identity = ResourceIdentity {
            stack: "dev".into(),
            name: name.into(),
            type_name: recorded.type_name.clone(),
        };
        let found = provider
            .find(FindRequest { identity }, &ctx)
            .await
            .unwrap_or_else(|e| panic!("find {name}: {e}"))
            .found;
        assert_eq!(
            found.iter().map(|f| f.id.as_str()).collect::<Vec<_>>(),
            [recorded.id.as_str()],
            "{name}"
        );
        // Without a record, find reports what AWS holds (defaults filled in, lists in AWS's
        // order); the user's tags come back without the identity tags, generated names as
        // their prefixes.
        for field in [
            "tags",
            "name",
            "name_prefix",
            "nodegroup_name",
            "nodegroup_name_prefix",
        ] {
            assert_eq!(
                found[0].observed.inputs.get(field),
                recorded.inputs.get(field),
                "{name}.{field}"
            );
        }
    }
    // Another stack's identity finds nothing.
    let other = ResourceIdentity {
        stack: "prod".into(),
        name: "main-vpc".into(),
        type_name: "aws:ec2/vpc".into(),
    };
    assert!(
        provider
            .find(FindRequest { identity: other }, &ctx)
            .await
            .unwrap()
            .found
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_create_is_adopted_not_duplicated() {
    let env = Env::start().await;
    let graph = build(|s| {
        Vpc::new("main")
            .cidr("10.20.0.0/16")
            .azs(["us-east-1a"])
            .add(s);
    });
    let planned = env.harness.plan(&graph).await.unwrap();
    let inputs = planned.step("main-vpc").unwrap().inputs.clone();
    // A run journaled the create, AWS created the VPC (tagged at creation), and the process
    // died before recording the result.
    env.harness
        .journal
        .begin(&PendingOperation {
            id: env.harness.journal.next_operation_id(),
            kind: OperationKind::Create,
            identity: ResourceIdentity {
                stack: "dev".into(),
                name: "main-vpc".into(),
                type_name: "aws:ec2/vpc".into(),
            },
            provider: None,
            cloud_id: None,
            deposed_key: None,
            inputs,
            dependencies: vec![],
            started_at: "2026-11-27T00:00:00Z".into(),
        })
        .await
        .unwrap();
    let created = env
        .ec2
        .create_vpc()
        .cidr_block("10.20.0.0/16")
        .tag_specifications(
            aws_sdk_ec2::types::TagSpecification::builder()
                .resource_type(aws_sdk_ec2::types::ResourceType::Vpc)
                .tags(
                    aws_sdk_ec2::types::Tag::builder()
                        .key("girder:stack")
                        .value("dev")
                        .build(),
                )
                .tags(
                    aws_sdk_ec2::types::Tag::builder()
                        .key("girder:resource")
                        .value("main-vpc")
                        .build(),
                )
                .tags(
                    aws_sdk_ec2::types::Tag::builder()
                        .key("Name")
                        .value("main")
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    let vpc_id = created.vpc().unwrap().vpc_id().unwrap().to_owned();

    // The next run recovers: the VPC is adopted, and only its unfinished settings change.
    let plan = env.harness.plan(&graph).await.unwrap();
    assert_eq!(env.harness.snapshot().resources["main-vpc"].id, vpc_id);
    let step = plan.step("main-vpc").unwrap();
    assert_eq!(step.kind, StepKind::Update);
    assert_eq!(
        step.diffs
            .iter()
            .map(|d| d.path.to_string())
            .collect::<Vec<_>>(),
        ["enable_dns_hostnames"]
    );
    support::assert_success(&env.harness.apply(&graph, plan).await.unwrap());
    env.assert_converged(&graph).await;
    let vpcs = env
        .ec2
        .describe_vpcs()
        .filters(support::filter("tag:girder:resource", &["main-vpc"]))
        .send()
        .await
        .unwrap();
    assert_eq!(vpcs.vpcs().len(), 1, "no duplicate VPC");
    assert_eq!(tag_map(vpcs.vpcs()[0].tags())["Name"], "main");
}
