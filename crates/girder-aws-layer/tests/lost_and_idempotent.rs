//! Lost responses (a 500 after the action took effect) and idempotency tokens (a retried
//! call with the same token gets the first answer instead of acting twice).

mod support;

use aws_sdk_ec2::error::ProvideErrorMetadata;
use aws_sdk_ec2::types::Filter;
use aws_sdk_eks::types::VpcConfigRequest;
use girder_aws_layer::Behaviours;
use support::{Env, three_quick_attempts};

fn lose_first(operations: &[&str]) -> Behaviours {
    let mut behaviours = Behaviours::none();
    behaviours.lost_responses.enabled = true;
    behaviours.lost_responses.rate = 0.0;
    behaviours.lost_responses.first_per_operation = 1;
    behaviours.lost_responses.operations = operations.iter().map(|o| (*o).to_owned()).collect();
    behaviours
}

#[tokio::test]
async fn a_lost_response_is_a_500_in_the_protocols_shape_after_the_action_took_effect() {
    let env = Env::start(lose_first(&[
        "ec2:CreateVpc",
        "iam:CreateRole",
        "eks:ListClusters",
    ]))
    .await;
    let ec2 = env.ec2();
    let e = ec2
        .create_vpc()
        .cidr_block("10.7.0.0/16")
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("InternalError"));
    assert_eq!(e.raw_response().unwrap().status().as_u16(), 500);
    // The VPC exists nonetheless: a retry without a lookup would make a duplicate.
    let vpcs = ec2
        .describe_vpcs()
        .filters(Filter::builder().name("cidr").values("10.7.0.0/16").build())
        .send()
        .await
        .unwrap();
    assert_eq!(vpcs.vpcs().len(), 1);
    // Only the first call of each operation is lost.
    ec2.create_vpc()
        .cidr_block("10.8.0.0/16")
        .send()
        .await
        .unwrap();

    let e = env
        .iam()
        .create_role()
        .role_name("lost")
        .assume_role_policy_document(support::EKS_TRUST)
        .send()
        .await
        .unwrap_err();
    assert!(e.as_service_error().unwrap().is_service_failure_exception());
    env.iam().get_role().role_name("lost").send().await.unwrap();
    // Reads are never lost, even when listed.
    env.eks().list_clusters().send().await.unwrap();
    assert_eq!(env.layer.counters().fired("lost_responses"), 2);
}

#[tokio::test]
async fn the_sdk_retries_a_lost_create_with_its_token_and_gets_the_first_answer() {
    let mut behaviours = lose_first(&["ec2:CreateNatGateway"]);
    behaviours.idempotency.enabled = true;
    let env = Env::start_with(behaviours, three_quick_attempts()).await;
    let ec2 = env.ec2();
    let vpc = env.vpc("10.9.0.0/16").await;
    let subnet = ec2
        .create_subnet()
        .vpc_id(&vpc)
        .cidr_block("10.9.1.0/24")
        .send()
        .await
        .unwrap();
    let subnet = subnet.subnet().unwrap().subnet_id().unwrap().to_owned();
    let eip = ec2.allocate_address().send().await.unwrap();
    let eip = eip.allocation_id().unwrap().to_owned();
    // The SDK fills ClientToken once per call and reuses it on its retries.
    let created = ec2
        .create_nat_gateway()
        .subnet_id(&subnet)
        .allocation_id(&eip)
        .send()
        .await
        .expect("the retry gets the first response");
    let id = created.nat_gateway().unwrap().nat_gateway_id().unwrap();
    let all = ec2
        .describe_nat_gateways()
        .filter(Filter::builder().name("subnet-id").values(&subnet).build())
        .send()
        .await
        .unwrap();
    let ids: Vec<_> = all
        .nat_gateways()
        .iter()
        .filter_map(|n| n.nat_gateway_id())
        .collect();
    assert_eq!(ids, [id], "one NAT gateway, not two");
    let counters = env.layer.counters();
    assert_eq!(counters.requests_of("ec2", "CreateNatGateway"), 2);
    assert_eq!(counters.fired("idempotency"), 1);

    // The same token with other parameters is refused.
    let token = "nat-token-1";
    ec2.create_nat_gateway()
        .subnet_id(&subnet)
        .connectivity_type(aws_sdk_ec2::types::ConnectivityType::Private)
        .client_token(token)
        .send()
        .await
        .unwrap();
    let e = ec2
        .create_nat_gateway()
        .subnet_id(&subnet)
        .allocation_id(&eip)
        .client_token(token)
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("IdempotentParameterMismatch"));
}

#[tokio::test]
async fn moto_acts_twice_on_a_repeated_token_when_idempotency_is_off() {
    let env = Env::start(Behaviours::none()).await;
    let ec2 = env.ec2();
    let vpc = env.vpc("10.10.0.0/16").await;
    let subnet = ec2
        .create_subnet()
        .vpc_id(&vpc)
        .cidr_block("10.10.1.0/24")
        .send()
        .await
        .unwrap();
    let subnet = subnet.subnet().unwrap().subnet_id().unwrap().to_owned();
    for _ in 0..2 {
        ec2.create_nat_gateway()
            .subnet_id(&subnet)
            .connectivity_type(aws_sdk_ec2::types::ConnectivityType::Private)
            .client_token("same")
            .send()
            .await
            .unwrap();
    }
    let all = ec2
        .describe_nat_gateways()
        .filter(Filter::builder().name("subnet-id").values(&subnet).build())
        .send()
        .await
        .unwrap();
    assert_eq!(all.nat_gateways().len(), 2);
}

#[tokio::test]
async fn an_eks_create_repeated_with_its_request_token_returns_the_same_cluster() {
    let env = Env::start(Behaviours::parse_list("idempotency").unwrap()).await;
    let create = || {
        env.eks()
            .create_cluster()
            .name("tokened")
            .role_arn("arn:aws:iam::123456789012:role/eks")
            .resources_vpc_config(VpcConfigRequest::builder().subnet_ids("subnet-1").build())
            .client_request_token("create-tokened")
            .send()
    };
    let first = create().await.unwrap();
    let again = create()
        .await
        .expect("the same token answers the first response");
    assert_eq!(
        first.cluster().unwrap().arn(),
        again.cluster().unwrap().arn()
    );
    env.layer.set_enabled("idempotency", false).unwrap();
    let e = create().await.unwrap_err();
    assert!(e.as_service_error().unwrap().is_resource_in_use_exception());
}
