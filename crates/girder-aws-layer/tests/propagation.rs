//! IAM propagation: a young role cannot be assumed by EKS or VPC flow logs, a young OIDC
//! provider cannot be a `Federated` principal; each error is the one real clients retry.

mod support;

use aws_sdk_ec2::error::ProvideErrorMetadata;
use aws_sdk_ec2::types::{FlowLogsResourceType, TrafficType};
use aws_sdk_eks::types::VpcConfigRequest;
use girder_aws_layer::Behaviours;
use support::{EKS_TRUST, Env};

async fn role(env: &Env, name: &str) -> String {
    env.iam()
        .create_role()
        .role_name(name)
        .assume_role_policy_document(EKS_TRUST)
        .send()
        .await
        .unwrap()
        .role()
        .unwrap()
        .arn()
        .to_owned()
}

#[tokio::test]
async fn eks_cannot_assume_a_young_cluster_role() {
    let env = Env::start(Behaviours::parse_list("propagation").unwrap()).await;
    let arn = role(&env, "young-cluster-role").await;
    let vpc = env.vpc("10.4.0.0/16").await;
    let subnet = env
        .ec2()
        .create_subnet()
        .vpc_id(&vpc)
        .cidr_block("10.4.1.0/24")
        .send()
        .await
        .unwrap()
        .subnet()
        .unwrap()
        .subnet_id()
        .unwrap()
        .to_owned();
    let create = || {
        env.eks()
            .create_cluster()
            .name("young")
            .role_arn(&arn)
            .resources_vpc_config(VpcConfigRequest::builder().subnet_ids(&subnet).build())
            .send()
    };
    let e = create().await.unwrap_err();
    assert!(
        e.as_service_error()
            .unwrap()
            .is_invalid_parameter_exception()
    );
    assert_eq!(
        e.message(),
        Some(format!("Role with arn: {arn} could not be assumed because it does not exist or the trusted entity is not correct").as_str())
    );
    env.advance(15);
    create().await.expect("the role has propagated");
    assert_eq!(env.layer.counters().fired("propagation"), 1);
}

#[tokio::test]
async fn flow_logs_cannot_assume_a_young_delivery_role() {
    let env = Env::start(Behaviours::parse_list("propagation").unwrap()).await;
    let arn = role(&env, "young-flow-logs").await;
    let vpc = env.vpc("10.5.0.0/16").await;
    let create = || {
        env.ec2()
            .create_flow_logs()
            .resource_ids(&vpc)
            .resource_type(FlowLogsResourceType::Vpc)
            .traffic_type(TrafficType::All)
            .log_group_name("flow-logs")
            .deliver_logs_permission_arn(&arn)
            .send()
    };
    let e = create().await.unwrap_err();
    // terraform-provider-aws retries exactly this: InvalidParameter + "Unable to assume given IAM role".
    assert_eq!(e.code(), Some("InvalidParameter"));
    assert!(
        e.message()
            .unwrap()
            .contains("Unable to assume given IAM role")
    );
    env.advance(15);
    create().await.expect("the role has propagated");
}

#[tokio::test]
async fn a_young_oidc_provider_is_an_invalid_principal() {
    let env = Env::start(Behaviours::parse_list("propagation").unwrap()).await;
    let iam = env.iam();
    let provider = iam
        .create_open_id_connect_provider()
        .url("https://oidc.eks.us-east-1.amazonaws.com/id/ABCDEF0123456789")
        .client_id_list("sts.amazonaws.com")
        .thumbprint_list("9e99a48a9960b14926bb7f3b02e22da2b0ab7280")
        .send()
        .await
        .unwrap()
        .open_id_connect_provider_arn()
        .unwrap()
        .to_owned();
    let trust = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"Federated":"{provider}"}},"Action":"sts:AssumeRoleWithWebIdentity"}}]}}"#
    );
    let create = || {
        iam.create_role()
            .role_name("irsa")
            .assume_role_policy_document(&trust)
            .send()
    };
    let e = create().await.unwrap_err();
    assert!(
        e.as_service_error()
            .unwrap()
            .is_malformed_policy_document_exception()
    );
    assert_eq!(
        e.message(),
        Some(format!("Invalid principal in policy: \"FEDERATED\":\"{provider}\"").as_str())
    );
    env.advance(15);
    create().await.expect("the provider has propagated");
    // Switched off, a young provider is fine at once.
    env.layer.set_enabled("propagation", false).unwrap();
    let second = iam
        .create_open_id_connect_provider()
        .url("https://oidc.eks.us-east-1.amazonaws.com/id/FEDCBA9876543210")
        .client_id_list("sts.amazonaws.com")
        .thumbprint_list("9e99a48a9960b14926bb7f3b02e22da2b0ab7280")
        .send()
        .await
        .unwrap();
    let trust = trust.replace(&provider, second.open_id_connect_provider_arn().unwrap());
    iam.update_assume_role_policy()
        .role_name("irsa")
        .policy_document(trust)
        .send()
        .await
        .unwrap();
}
