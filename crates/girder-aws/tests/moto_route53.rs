//! Route 53 hosted zones against moto, through the real aws-sdk clients: a public zone with
//! its tags and name servers, checked through the AWS API; plan after apply is empty; tag
//! and comment changes update in place; a private zone's VPCs are associated in place; a
//! zone holding records is kept until `force_destroy`; `find` recognises a zone by its
//! identity; external-dns's IRSA policy names exactly the zone's ARN; destroy leaves
//! nothing.

mod support;

use girder_aws::dsl::eks::policies;
use girder_aws::dsl::iam::IamRole;
use girder_aws::dsl::route53::HostedZone;
use girder_aws::iam::document::PolicyDocument;
use girder_aws::{HostedZoneId, VpcId};
use girder_core::{Stack, Value, object};
use girder_engine::provider::{FindRequest, ProviderPackage};
use girder_engine::{CallContext, ResourceIdentity, StepKind};
use support::{Env, build, changes, of_kind};

fn zone(s: &mut Stack, owner: &str, comment: &str) {
    let zone = HostedZone::new("Example.COM.")
        .comment(comment)
        .tag("owner", owner)
        .add(s);
    s.export("zone_id", zone.zone_id());
    s.export("name_servers", zone.name_servers());
    s.export("domain", zone.name());
}

async fn zone_tags(env: &Env, id: &str) -> std::collections::BTreeMap<String, String> {
    env.route53
        .list_tags_for_resource()
        .resource_type(aws_sdk_route53::types::TagResourceType::Hostedzone)
        .resource_id(id)
        .send()
        .await
        .unwrap()
        .resource_tag_set()
        .unwrap()
        .tags()
        .iter()
        .map(|t| {
            (
                t.key().unwrap_or_default().to_owned(),
                t.value().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_public_zone_applies_updates_in_place_and_is_found_by_its_identity() {
    let env = Env::start().await;
    let graph = build(|s| zone(s, "ops", "public names"));
    // The domain is known when planning; the id and name servers after apply.
    let plan = env.harness.plan(&graph).await.unwrap();
    assert_eq!(plan.summary().create, 1);
    env.calls.reset();
    env.apply(&graph).await;
    let apply_calls = env.calls.snapshot();
    let state = env.harness.snapshot();
    let id = state.resources["example.com"].id.clone();
    assert!(!id.starts_with('/'), "{id}");

    let got = env.route53.get_hosted_zone().id(&id).send().await.unwrap();
    let hosted = got.hosted_zone().unwrap();
    assert_eq!(hosted.name(), "example.com.");
    assert_eq!(
        hosted.config().and_then(|c| c.comment()),
        Some("public names")
    );
    assert!(!hosted.config().unwrap().private_zone());
    let servers = got.delegation_set().unwrap().name_servers().to_vec();
    assert!(!servers.is_empty());
    assert_eq!(
        state.outputs["name_servers"],
        Value::from_serialize(&servers).unwrap()
    );
    assert_eq!(state.outputs["zone_id"], Value::from(id.as_str()));
    assert_eq!(state.outputs["domain"], Value::from("example.com"));
    assert_eq!(
        state.resources["example.com"].outputs.get("arn"),
        Some(&Value::from(HostedZoneId::new(&id).arn().as_str()))
    );
    let tags = zone_tags(&env, &id).await;
    assert_eq!(tags["owner"], "ops");
    assert_eq!(tags["girder:stack"], "dev");
    assert_eq!(tags["girder:resource"], "example.com");

    env.assert_converged(&graph).await;
    let (refresh, by_operation) = env.refresh_calls(&graph).await;
    println!(
        "hosted zone: apply made {apply_calls:?}; one refresh makes {refresh} requests: {by_operation:?}"
    );
    // GetHostedZone per zone, ListTagsForResources per ten zones.
    assert_eq!(refresh, 2, "{by_operation:?}");

    // A tag and the comment change in place.
    let changed = build(|s| zone(s, "platform", "the app's names"));
    let plan = env.harness.plan(&changed).await.unwrap();
    assert_eq!(
        changes(&plan),
        [(
            "example.com".to_owned(),
            StepKind::Update,
            vec!["comment".to_owned(), "tags.owner".to_owned()]
        )]
    );
    support::assert_success(&env.harness.apply(&changed, plan).await.unwrap());
    env.assert_converged(&changed).await;
    assert_eq!(zone_tags(&env, &id).await["owner"], "platform");
    let got = env.route53.get_hosted_zone().id(&id).send().await.unwrap();
    assert_eq!(
        got.hosted_zone()
            .unwrap()
            .config()
            .and_then(|c| c.comment()),
        Some("the app's names")
    );

    // find: by the identity (tags and caller reference); another stack's identity finds
    // nothing.
    let provider = girder_aws::package_with(env.settings.clone())
        .configure(&Value::Null)
        .await
        .unwrap();
    let ctx = CallContext::detached(std::time::Duration::from_secs(30));
    let identity = |stack: &str| ResourceIdentity {
        stack: stack.into(),
        name: "example.com".into(),
        type_name: "aws:route53/hostedZone".into(),
    };
    let found = provider
        .find(
            FindRequest {
                identity: identity("dev"),
            },
            &ctx,
        )
        .await
        .unwrap()
        .found;
    assert_eq!(
        found.iter().map(|f| f.id.as_str()).collect::<Vec<_>>(),
        [id.as_str()]
    );
    assert_eq!(
        found[0].observed.inputs.get("tags"),
        Some(&object! { "owner" => "platform" })
    );
    let none = provider
        .find(
            FindRequest {
                identity: identity("prod"),
            },
            &ctx,
        )
        .await
        .unwrap()
        .found;
    assert!(none.is_empty(), "{none:?}");

    // Destroy leaves nothing.
    support::assert_success(&env.harness.destroy(&changed).await.unwrap());
    let zones = env.route53.list_hosted_zones().send().await.unwrap();
    assert!(
        zones.hosted_zones().is_empty(),
        "{:?}",
        zones.hosted_zones()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_private_zone_gains_vpcs_in_place() {
    let env = Env::start().await;
    let mut vpcs = Vec::new();
    for cidr in ["10.1.0.0/16", "10.2.0.0/16"] {
        let vpc = env.ec2.create_vpc().cidr_block(cidr).send().await.unwrap();
        vpcs.push(vpc.vpc().unwrap().vpc_id().unwrap().to_owned());
    }
    let private = |count: usize| {
        let vpcs = vpcs.clone();
        build(move |s| {
            let mut zone = HostedZone::new("internal.example.com").resource_name("internal");
            for vpc in &vpcs[..count] {
                zone = zone.private(VpcId::new(vpc));
            }
            zone.add(s);
        })
    };
    let one = private(1);
    env.apply(&one).await;
    env.assert_converged(&one).await;
    let id = env.harness.snapshot().resources["internal"].id.clone();
    let got = env.route53.get_hosted_zone().id(&id).send().await.unwrap();
    assert!(got.hosted_zone().unwrap().config().unwrap().private_zone());
    assert_eq!(
        got.vpcs()
            .iter()
            .filter_map(|v| v.vpc_id())
            .collect::<Vec<_>>(),
        [vpcs[0].as_str()]
    );

    let two = private(2);
    let plan = env.harness.plan(&two).await.unwrap();
    assert_eq!(of_kind(&plan, StepKind::Update), ["internal"]);
    support::assert_success(&env.harness.apply(&two, plan).await.unwrap());
    env.assert_converged(&two).await;
    let got = env.route53.get_hosted_zone().id(&id).send().await.unwrap();
    let mut associated: Vec<&str> = got.vpcs().iter().filter_map(|v| v.vpc_id()).collect();
    associated.sort();
    let mut expected: Vec<&str> = vpcs.iter().map(String::as_str).collect();
    expected.sort();
    assert_eq!(associated, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zone_with_records_is_kept_until_force_destroy() {
    let env = Env::start().await;
    let graph = build(|s| zone(s, "ops", "public names"));
    env.apply(&graph).await;
    let id = env.harness.snapshot().resources["example.com"].id.clone();
    // external-dns publishes a Service.
    let record = aws_sdk_route53::types::ResourceRecordSet::builder()
        .name("app.example.com.")
        .r#type(aws_sdk_route53::types::RrType::A)
        .ttl(60)
        .resource_records(
            aws_sdk_route53::types::ResourceRecord::builder()
                .value("192.0.2.10")
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    env.route53
        .change_resource_record_sets()
        .hosted_zone_id(&id)
        .change_batch(
            aws_sdk_route53::types::ChangeBatch::builder()
                .changes(
                    aws_sdk_route53::types::Change::builder()
                        .action(aws_sdk_route53::types::ChangeAction::Create)
                        .resource_record_set(record)
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();

    let report = env.harness.destroy(&graph).await.unwrap();
    let failure = report
        .failed
        .iter()
        .find(|f| f.resource == "example.com")
        .unwrap_or_else(|| panic!("{report:#?}"));
    for expected in [
        "aws:route53/hostedZone `example.com`",
        "`app.example.com. A`",
        "external-dns",
        ".force_destroy()",
    ] {
        assert!(
            failure.error.contains(expected),
            "{expected}: {}",
            failure.error
        );
    }
    assert!(env.route53.get_hosted_zone().id(&id).send().await.is_ok());

    let forced = build(|s| {
        HostedZone::new("example.com")
            .comment("public names")
            .tag("owner", "ops")
            .force_destroy()
            .add(s);
    });
    let plan = env.harness.plan(&forced).await.unwrap();
    assert_eq!(
        changes(&plan),
        [(
            "example.com".to_owned(),
            StepKind::Update,
            vec!["force_destroy".to_owned()]
        )]
    );
    support::assert_success(&env.harness.apply(&forced, plan).await.unwrap());
    support::assert_success(&env.harness.destroy(&forced).await.unwrap());
    let zones = env.route53.list_hosted_zones().send().await.unwrap();
    assert!(
        zones.hosted_zones().is_empty(),
        "{:?}",
        zones.hosted_zones()
    );
}

/// Writes record sets into a zone, as external-dns or a person would.
async fn write_records(env: &Env, zone_id: &str, records: &[(&str, &str, &str)]) {
    use aws_sdk_route53::types::{
        Change, ChangeAction, ChangeBatch, ResourceRecord, ResourceRecordSet, RrType,
    };
    let changes = records
        .iter()
        .map(|(name, kind, value)| {
            Change::builder()
                .action(ChangeAction::Upsert)
                .resource_record_set(
                    ResourceRecordSet::builder()
                        .name(*name)
                        .r#type(RrType::from(*kind))
                        .ttl(300)
                        .resource_records(ResourceRecord::builder().value(*value).build().unwrap())
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap()
        })
        .collect::<Vec<_>>();
    env.route53
        .change_resource_record_sets()
        .hosted_zone_id(zone_id)
        .change_batch(
            ChangeBatch::builder()
                .set_changes(Some(changes))
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_records_of_the_programs_external_dns_go_with_the_zone_and_no_others() {
    let env = Env::start().await;
    let graph = build(|s| {
        HostedZone::new("example.com")
            .external_dns_owner("yolo")
            .add(s);
    });
    env.apply(&graph).await;
    let id = env.harness.snapshot().resources["example.com"].id.clone();
    let mark = |owner: &str| {
        format!(
            "\"heritage=external-dns,external-dns/owner={owner},external-dns/resource=service/default/frontend\""
        )
    };
    // What external-dns v0.13+ writes for a LoadBalancer Service: the CNAME and its two
    // ownership records; and a record of another cluster's external-dns.
    write_records(
        &env,
        &id,
        &[
            (
                "app.example.com.",
                "CNAME",
                "a1b2.us-east-1.elb.amazonaws.com",
            ),
            ("app.example.com.", "TXT", &mark("yolo")),
            ("cname-app.example.com.", "TXT", &mark("yolo")),
            (
                "shop.example.com.",
                "CNAME",
                "c3d4.us-east-1.elb.amazonaws.com",
            ),
            ("cname-shop.example.com.", "TXT", &mark("another-cluster")),
        ],
    )
    .await;

    // The other owner's records stop the delete, and only they are named.
    let report = env.harness.destroy(&graph).await.unwrap();
    let failure = report
        .failed
        .iter()
        .find(|f| f.resource == "example.com")
        .unwrap_or_else(|| panic!("{report:#?}"));
    assert!(
        failure.error.contains("2 record set(s)")
            && failure.error.contains("shop.example.com.")
            && !failure.error.contains("app.example.com."),
        "{}",
        failure.error
    );
    assert!(env.route53.get_hosted_zone().id(&id).send().await.is_ok());

    // Once they are gone, destroy removes the program's own records and the zone.
    env.route53
        .change_resource_record_sets()
        .hosted_zone_id(&id)
        .change_batch(
            aws_sdk_route53::types::ChangeBatch::builder()
                .set_changes(Some(
                    env.route53
                        .list_resource_record_sets()
                        .hosted_zone_id(&id)
                        .send()
                        .await
                        .unwrap()
                        .resource_record_sets()
                        .iter()
                        .filter(|r| r.name().contains("shop"))
                        .map(|r| {
                            aws_sdk_route53::types::Change::builder()
                                .action(aws_sdk_route53::types::ChangeAction::Delete)
                                .resource_record_set(r.clone())
                                .build()
                                .unwrap()
                        })
                        .collect(),
                ))
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    support::assert_success(&env.harness.destroy(&graph).await.unwrap());
    let zones = env.route53.list_hosted_zones().send().await.unwrap();
    assert!(
        zones.hosted_zones().is_empty(),
        "{:?}",
        zones.hosted_zones()
    );
}

#[test]
fn an_external_dns_owner_id_that_cannot_be_one_is_refused_at_plan() {
    let mut s = Stack::new("dev");
    HostedZone::new("example.com")
        .external_dns_owner("team a")
        .add(&mut s);
    let error = s.finish().unwrap_err().to_string();
    for expected in ["external_dns_owners", "team a", "--txt-owner-id"] {
        assert!(error.contains(expected), "{expected}: {error}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn external_dns_may_change_records_of_exactly_its_zone() {
    let env = Env::start().await;
    let graph = build(|s| {
        let zone = HostedZone::new("example.com").add(s);
        IamRole::new("external-dns")
            .trust(PolicyDocument::service_trust(["ec2.amazonaws.com"]))
            .policy("route53", policies::external_dns([zone.arn()]))
            .add(s);
    });
    env.apply(&graph).await;
    let state = env.harness.snapshot();
    let zone_arn = state.resources["example.com"]
        .outputs
        .get("arn")
        .and_then(Value::as_str)
        .unwrap()
        .to_owned();
    assert_eq!(
        zone_arn,
        format!(
            "arn:aws:route53:::hostedzone/{}",
            state.resources["example.com"].id
        )
    );
    let role = state.resources["external-dns"].id.clone();
    let policy = env
        .iam
        .get_role_policy()
        .role_name(&role)
        .policy_name("route53")
        .send()
        .await
        .unwrap();
    let decoded =
        percent_encoding::percent_decode_str(policy.policy_document()).decode_utf8_lossy();
    let document: serde_json::Value = serde_json::from_str(&decoded).unwrap();
    let statements = document["Statement"].as_array().unwrap();
    let change = statements
        .iter()
        .find(|s| {
            s["Action"]
                .as_array()
                .unwrap()
                .iter()
                .any(|a| a == "route53:ChangeResourceRecordSets")
        })
        .unwrap();
    assert_eq!(change["Resource"], serde_json::json!([zone_arn]));
    // The only account-wide action is listing zones.
    for statement in statements {
        if statement["Resource"] == "*" || statement["Resource"] == serde_json::json!(["*"]) {
            assert_eq!(
                statement["Action"],
                serde_json::json!(["route53:ListHostedZones"])
            );
        }
    }
    env.assert_converged(&graph).await;
}
