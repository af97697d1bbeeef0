//! Eventual consistency: new ids answer the service's real NotFound and are left out of
//! listings for a few seconds, then appear; with the behaviour off they appear at once.

mod support;

use aws_sdk_ec2::error::ProvideErrorMetadata;
use aws_sdk_ec2::types::{Filter, ResourceType, Tag, TagSpecification};
use girder_aws_layer::Behaviours;
use support::{EKS_TRUST, Env};

fn consistency() -> Behaviours {
    Behaviours::parse_list("consistency").unwrap()
}

fn tagged(kind: ResourceType, name: &str) -> TagSpecification {
    TagSpecification::builder()
        .resource_type(kind)
        .tags(Tag::builder().key("Name").value(name).build())
        .build()
}

#[tokio::test]
async fn a_new_vpc_is_not_found_and_not_listed_until_it_propagates() {
    let env = Env::start(consistency()).await;
    let ec2 = env.ec2();
    let vpc = ec2
        .create_vpc()
        .cidr_block("10.1.0.0/16")
        .tag_specifications(tagged(ResourceType::Vpc, "young"))
        .send()
        .await
        .unwrap()
        .vpc()
        .unwrap()
        .vpc_id()
        .unwrap()
        .to_owned();

    let by_id = ec2.describe_vpcs().vpc_ids(&vpc).send().await.unwrap_err();
    assert_eq!(by_id.code(), Some("InvalidVpcID.NotFound"));
    assert_eq!(
        by_id.message(),
        Some(format!("The vpc ID '{vpc}' does not exist").as_str())
    );
    let subnet = ec2
        .create_subnet()
        .vpc_id(&vpc)
        .cidr_block("10.1.1.0/24")
        .send()
        .await
        .unwrap_err();
    assert_eq!(subnet.code(), Some("InvalidVpcID.NotFound"));
    // What made girder create duplicates: the lookup by tag finds nothing yet.
    let by_tag = || {
        ec2.describe_vpcs()
            .filters(Filter::builder().name("tag:Name").values("young").build())
            .send()
    };
    assert!(by_tag().await.unwrap().vpcs().is_empty());
    let all = ec2.describe_vpcs().send().await.unwrap();
    assert!(all.vpcs().iter().all(|v| v.vpc_id() != Some(vpc.as_str())));

    env.advance(5);
    assert_eq!(by_tag().await.unwrap().vpcs().len(), 1);
    ec2.describe_vpcs().vpc_ids(&vpc).send().await.unwrap();
    ec2.create_subnet()
        .vpc_id(&vpc)
        .cidr_block("10.1.1.0/24")
        .send()
        .await
        .unwrap();
    assert!(env.layer.counters().fired("consistency") >= 4);
}

#[tokio::test]
async fn every_young_ec2_id_answers_its_own_not_found_code() {
    let env = Env::start(Behaviours::none()).await;
    let ec2 = env.ec2();
    let vpc = env.vpc("10.2.0.0/16").await;
    // The layer learns creation times whatever the switches say: let the VPC settle.
    env.advance(5);
    env.layer.set_enabled("consistency", true).unwrap();
    let subnet = ec2
        .create_subnet()
        .vpc_id(&vpc)
        .cidr_block("10.2.1.0/24")
        .send()
        .await
        .unwrap();
    let subnet = subnet.subnet().unwrap().subnet_id().unwrap();
    let igw = ec2.create_internet_gateway().send().await.unwrap();
    let igw = igw
        .internet_gateway()
        .unwrap()
        .internet_gateway_id()
        .unwrap();
    let rtb = ec2.create_route_table().vpc_id(&vpc).send().await.unwrap();
    let rtb = rtb.route_table().unwrap().route_table_id().unwrap();
    let sg = ec2
        .create_security_group()
        .vpc_id(&vpc)
        .group_name("young")
        .description("young")
        .send()
        .await
        .unwrap();
    let sg = sg.group_id().unwrap();
    let eip = ec2.allocate_address().send().await.unwrap();
    let eip = eip.allocation_id().unwrap();

    let codes = [
        ec2.describe_subnets()
            .subnet_ids(subnet)
            .send()
            .await
            .unwrap_err()
            .code()
            .map(str::to_owned),
        ec2.attach_internet_gateway()
            .internet_gateway_id(igw)
            .vpc_id(&vpc)
            .send()
            .await
            .unwrap_err()
            .code()
            .map(str::to_owned),
        ec2.describe_route_tables()
            .route_table_ids(rtb)
            .send()
            .await
            .unwrap_err()
            .code()
            .map(str::to_owned),
        ec2.describe_security_groups()
            .group_ids(sg)
            .send()
            .await
            .unwrap_err()
            .code()
            .map(str::to_owned),
        ec2.describe_addresses()
            .allocation_ids(eip)
            .send()
            .await
            .unwrap_err()
            .code()
            .map(str::to_owned),
    ];
    assert_eq!(
        codes.map(|c| c.unwrap_or_default()),
        [
            "InvalidSubnetID.NotFound",
            "InvalidInternetGatewayID.NotFound",
            "InvalidRouteTableID.NotFound",
            "InvalidGroup.NotFound",
            "InvalidAllocationID.NotFound",
        ]
        .map(str::to_owned)
    );
    env.advance(5);
    let nat = ec2
        .create_nat_gateway()
        .subnet_id(subnet)
        .allocation_id(eip)
        .send()
        .await
        .unwrap();
    let nat = nat.nat_gateway().unwrap().nat_gateway_id().unwrap();
    let e = ec2
        .describe_nat_gateways()
        .nat_gateway_ids(nat)
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("NatGatewayNotFound"));
    // Filtered describes leave it out instead.
    let listed = ec2
        .describe_nat_gateways()
        .filter(Filter::builder().name("vpc-id").values(&vpc).build())
        .send()
        .await
        .unwrap();
    assert!(listed.nat_gateways().is_empty());
}

#[tokio::test]
async fn a_new_role_is_no_such_entity_until_iam_propagates_it() {
    let env = Env::start(consistency()).await;
    let iam = env.iam();
    iam.create_role()
        .role_name("young-role")
        .assume_role_policy_document(EKS_TRUST)
        .send()
        .await
        .unwrap();
    let e = iam
        .get_role()
        .role_name("young-role")
        .send()
        .await
        .unwrap_err();
    assert!(e.as_service_error().unwrap().is_no_such_entity_exception());
    assert_eq!(
        e.message(),
        Some("The role with name young-role cannot be found.")
    );
    let e = iam
        .attach_role_policy()
        .role_name("young-role")
        .policy_arn("arn:aws:iam::aws:policy/AmazonEKSClusterPolicy")
        .send()
        .await
        .unwrap_err();
    assert!(e.as_service_error().unwrap().is_no_such_entity_exception());
    let listed = iam.list_roles().send().await.unwrap();
    assert!(listed.roles().iter().all(|r| r.role_name() != "young-role"));

    env.advance(8);
    iam.get_role().role_name("young-role").send().await.unwrap();
    let listed = iam.list_roles().send().await.unwrap();
    assert!(listed.roles().iter().any(|r| r.role_name() == "young-role"));
}

#[tokio::test]
async fn switched_off_new_ids_are_visible_at_once() {
    let env = Env::start(Behaviours::none()).await;
    let vpc = env.vpc("10.3.0.0/16").await;
    env.ec2()
        .describe_vpcs()
        .vpc_ids(&vpc)
        .send()
        .await
        .unwrap();
    env.iam()
        .create_role()
        .role_name("at-once")
        .assume_role_policy_document(EKS_TRUST)
        .send()
        .await
        .unwrap();
    env.iam()
        .get_role()
        .role_name("at-once")
        .send()
        .await
        .unwrap();
    assert_eq!(env.layer.counters().fired("consistency"), 0);
}
