//! Draining: after a NAT gateway is deleted its VPC keeps a mapped public address for a
//! while (DependencyViolation on the deletes a destroy makes next); right after a detach,
//! IAM refuses to delete the role or the policy (DeleteConflict).

mod support;

use aws_sdk_ec2::error::ProvideErrorMetadata;
use girder_aws_layer::Behaviours;
use support::{EKS_TRUST, Env};

#[tokio::test]
async fn a_deleted_nat_gateway_blocks_the_network_deletes_for_a_while() {
    let env = Env::start(Behaviours::parse_list("draining").unwrap()).await;
    let ec2 = env.ec2();
    let vpc = env.vpc("10.6.0.0/16").await;
    let subnet = ec2
        .create_subnet()
        .vpc_id(&vpc)
        .cidr_block("10.6.1.0/24")
        .send()
        .await
        .unwrap();
    let subnet = subnet.subnet().unwrap().subnet_id().unwrap().to_owned();
    let igw = ec2.create_internet_gateway().send().await.unwrap();
    let igw = igw
        .internet_gateway()
        .unwrap()
        .internet_gateway_id()
        .unwrap()
        .to_owned();
    ec2.attach_internet_gateway()
        .internet_gateway_id(&igw)
        .vpc_id(&vpc)
        .send()
        .await
        .unwrap();
    let eip = ec2.allocate_address().send().await.unwrap();
    let nat = ec2
        .create_nat_gateway()
        .subnet_id(&subnet)
        .allocation_id(eip.allocation_id().unwrap())
        .send()
        .await
        .unwrap();
    let nat = nat
        .nat_gateway()
        .unwrap()
        .nat_gateway_id()
        .unwrap()
        .to_owned();
    ec2.delete_nat_gateway()
        .nat_gateway_id(&nat)
        .send()
        .await
        .unwrap();

    let e = ec2
        .detach_internet_gateway()
        .internet_gateway_id(&igw)
        .vpc_id(&vpc)
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("DependencyViolation"));
    assert_eq!(
        e.message(),
        Some(format!("Network {vpc} has some mapped public address(es). Please unmap those public address(es) before detaching the gateway.").as_str())
    );
    let e = ec2
        .delete_subnet()
        .subnet_id(&subnet)
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("DependencyViolation"));
    let e = ec2
        .delete_internet_gateway()
        .internet_gateway_id(&igw)
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("DependencyViolation"));
    let e = ec2.delete_vpc().vpc_id(&vpc).send().await.unwrap_err();
    assert_eq!(e.code(), Some("DependencyViolation"));
    assert_eq!(env.layer.counters().fired("draining"), 4);

    env.advance(90);
    ec2.detach_internet_gateway()
        .internet_gateway_id(&igw)
        .vpc_id(&vpc)
        .send()
        .await
        .unwrap();
    ec2.delete_internet_gateway()
        .internet_gateway_id(&igw)
        .send()
        .await
        .unwrap();
    ec2.delete_subnet().subnet_id(&subnet).send().await.unwrap();
}

#[tokio::test]
async fn a_just_detached_role_and_policy_cannot_be_deleted_yet() {
    let env = Env::start(Behaviours::parse_list("draining").unwrap()).await;
    let iam = env.iam();
    iam.create_role()
        .role_name("detached")
        .assume_role_policy_document(EKS_TRUST)
        .send()
        .await
        .unwrap();
    let policy = iam
        .create_policy()
        .policy_name("detached-policy")
        .policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ec2:Describe*","Resource":"*"}]}"#)
        .send()
        .await
        .unwrap();
    let policy = policy.policy().unwrap().arn().unwrap().to_owned();
    iam.attach_role_policy()
        .role_name("detached")
        .policy_arn(&policy)
        .send()
        .await
        .unwrap();
    iam.detach_role_policy()
        .role_name("detached")
        .policy_arn(&policy)
        .send()
        .await
        .unwrap();

    let e = iam
        .delete_role()
        .role_name("detached")
        .send()
        .await
        .unwrap_err();
    assert!(e.as_service_error().unwrap().is_delete_conflict_exception());
    assert_eq!(
        e.message(),
        Some("Cannot delete entity, must detach all policies first.")
    );
    let e = iam
        .delete_policy()
        .policy_arn(&policy)
        .send()
        .await
        .unwrap_err();
    assert!(e.as_service_error().unwrap().is_delete_conflict_exception());

    env.advance(5);
    iam.delete_role()
        .role_name("detached")
        .send()
        .await
        .unwrap();
    iam.delete_policy()
        .policy_arn(&policy)
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn switched_off_deletes_pass_at_once() {
    let env = Env::start(Behaviours::none()).await;
    let iam = env.iam();
    iam.create_role()
        .role_name("free")
        .assume_role_policy_document(EKS_TRUST)
        .send()
        .await
        .unwrap();
    let policy = iam
        .create_policy()
        .policy_name("free-policy")
        .policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ec2:Describe*","Resource":"*"}]}"#)
        .send()
        .await
        .unwrap();
    let policy = policy.policy().unwrap().arn().unwrap().to_owned();
    iam.attach_role_policy()
        .role_name("free")
        .policy_arn(&policy)
        .send()
        .await
        .unwrap();
    iam.detach_role_policy()
        .role_name("free")
        .policy_arn(&policy)
        .send()
        .await
        .unwrap();
    iam.delete_role().role_name("free").send().await.unwrap();
    iam.delete_policy()
        .policy_arn(&policy)
        .send()
        .await
        .unwrap();
    assert_eq!(env.layer.counters().fired("draining"), 0);
}

#[tokio::test]
async fn a_deleted_classic_load_balancer_blocks_its_security_group_for_a_while() {
    use girder_aws_layer::client::AwsClient;
    let env = Env::start(Behaviours::parse_list("draining").unwrap()).await;
    let ec2 = env.ec2();
    let vpc = env.vpc("10.7.0.0/16").await;
    let subnet = ec2
        .create_subnet()
        .vpc_id(&vpc)
        .cidr_block("10.7.1.0/24")
        .send()
        .await
        .unwrap();
    let subnet = subnet.subnet().unwrap().subnet_id().unwrap().to_owned();
    let group = ec2
        .create_security_group()
        .group_name("k8s-elb-a1")
        .description("the load balancer's")
        .vpc_id(&vpc)
        .send()
        .await
        .unwrap();
    let group = group.group_id().unwrap().to_owned();
    // The classic ELB API through the layer's own client, as the sandbox's cloud controller
    // calls it.
    let elb = AwsClient::new(&env.layer.endpoint(), "testing", "us-east-1").unwrap();
    let params = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    };
    let created = elb
        .query(
            "elasticloadbalancing",
            "2012-06-01",
            "CreateLoadBalancer",
            &params(&[
                ("LoadBalancerName", "a1"),
                ("Subnets.member.1", &subnet),
                ("SecurityGroups.member.1", &group),
                ("Listeners.member.1.Protocol", "TCP"),
                ("Listeners.member.1.LoadBalancerPort", "80"),
                ("Listeners.member.1.InstanceProtocol", "TCP"),
                ("Listeners.member.1.InstancePort", "30080"),
            ]),
        )
        .await
        .unwrap();
    assert!(
        created.render().contains("<DNSName>a1."),
        "{}",
        created.render()
    );
    let delete = params(&[("LoadBalancerName", "a1")]);
    elb.query(
        "elasticloadbalancing",
        "2012-06-01",
        "DeleteLoadBalancer",
        &delete,
    )
    .await
    .unwrap();

    let e = ec2
        .delete_security_group()
        .group_id(&group)
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("DependencyViolation"));
    env.advance(91);
    // Deleting it again finds nothing to drain: the group can go now.
    elb.query(
        "elasticloadbalancing",
        "2012-06-01",
        "DeleteLoadBalancer",
        &delete,
    )
    .await
    .unwrap();
    ec2.delete_security_group()
        .group_id(&group)
        .send()
        .await
        .unwrap();
}
