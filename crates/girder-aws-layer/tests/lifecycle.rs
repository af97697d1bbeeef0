//! Slow lifecycles on a manual clock: EKS clusters and nodegroups CREATING → ACTIVE →
//! UPDATING → DELETING → gone, with the cluster host told; NAT gateways pending → available
//! and deleting → deleted; Route 53 changes PENDING → INSYNC.

mod support;

use std::sync::{Arc, Mutex};

use aws_sdk_ec2::types::NatGatewayState;
use aws_sdk_eks::types::{ClusterStatus, NodegroupStatus, UpdateStatus, VpcConfigRequest};
use aws_sdk_route53::types::{
    Change, ChangeAction, ChangeBatch, ChangeStatus, ResourceRecord, ResourceRecordSet, RrType,
};
use girder_aws_layer::{Behaviours, ClusterEndpoint, ClusterHost, ClusterInfo, LayerConfig};
use support::Env;

#[derive(Debug, Default)]
struct RecordingHost {
    calls: Mutex<Vec<String>>,
}

impl ClusterHost for RecordingHost {
    fn cluster_active(&self, cluster: &ClusterInfo) -> Option<ClusterEndpoint> {
        self.calls
            .lock()
            .unwrap()
            .push(format!("active {} {}", cluster.name, cluster.version));
        Some(ClusterEndpoint {
            url: format!("https://{}.example:6443", cluster.name),
            ca_pem: "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n".into(),
        })
    }

    fn cluster_deleted(&self, name: &str) {
        self.calls.lock().unwrap().push(format!("deleted {name}"));
    }
}

#[tokio::test]
async fn an_eks_cluster_and_its_nodegroup_take_their_time_and_the_host_follows() {
    let moto = girder_aws_layer::moto::MotoServer::start().expect("moto_server");
    let clock = Arc::new(girder_aws_layer::clock::ManualClock::new());
    let host = Arc::new(RecordingHost::default());
    let layer = girder_aws_layer::AwsLayer::start(
        LayerConfig::new(moto.endpoint())
            .behaviours(Behaviours::parse_list("lifecycle").unwrap())
            .clock(clock.clone())
            .cluster_host(host.clone()),
    )
    .unwrap();
    let config = support::sdk_config(
        &layer.endpoint(),
        aws_config::retry::RetryConfig::disabled(),
    )
    .await;
    let eks = aws_sdk_eks::Client::new(&config);
    let advance = |secs| clock.advance(std::time::Duration::from_secs(secs));
    let describe = || eks.describe_cluster().name("slow").send();

    let created = eks
        .create_cluster()
        .name("slow")
        .version("1.33")
        .role_arn("arn:aws:iam::123456789012:role/eks")
        .resources_vpc_config(VpcConfigRequest::builder().subnet_ids("subnet-1").build())
        .send()
        .await
        .unwrap();
    assert_eq!(
        created.cluster().unwrap().status(),
        Some(&ClusterStatus::Creating)
    );
    let cluster = describe().await.unwrap().cluster.unwrap();
    assert_eq!(cluster.status(), Some(&ClusterStatus::Creating));
    assert_eq!(
        cluster.endpoint(),
        None,
        "no endpoint before the control plane is up"
    );
    let e = eks
        .create_nodegroup()
        .cluster_name("slow")
        .nodegroup_name("workers")
        .node_role("arn:aws:iam::123456789012:role/node")
        .subnets("subnet-1")
        .send()
        .await
        .unwrap_err();
    assert!(e.as_service_error().unwrap().is_invalid_request_exception());

    advance(599);
    assert_eq!(
        describe().await.unwrap().cluster.unwrap().status(),
        Some(&ClusterStatus::Creating)
    );
    advance(1);
    let cluster = describe().await.unwrap().cluster.unwrap();
    assert_eq!(cluster.status(), Some(&ClusterStatus::Active));
    assert_eq!(cluster.endpoint(), Some("https://slow.example:6443"));
    assert!(
        cluster
            .certificate_authority()
            .unwrap()
            .data()
            .unwrap()
            .starts_with("LS0tLS1CRUdJTi")
    );
    assert_eq!(host.calls.lock().unwrap().clone(), ["active slow 1.33"]);

    eks.create_nodegroup()
        .cluster_name("slow")
        .nodegroup_name("workers")
        .node_role("arn:aws:iam::123456789012:role/node")
        .subnets("subnet-1")
        .send()
        .await
        .unwrap();
    let ng = || {
        eks.describe_nodegroup()
            .cluster_name("slow")
            .nodegroup_name("workers")
            .send()
    };
    assert_eq!(
        ng().await.unwrap().nodegroup.unwrap().status(),
        Some(&NodegroupStatus::Creating)
    );
    advance(180);
    let nodegroup = ng().await.unwrap().nodegroup.unwrap();
    assert_eq!(nodegroup.status(), Some(&NodegroupStatus::Active));
    assert_eq!(nodegroup.version(), Some("1.33"));

    // A version update: InProgress and UPDATING, then the new version.
    let update = eks
        .update_cluster_version()
        .name("slow")
        .version("1.34")
        .send()
        .await
        .unwrap();
    let id = update.update().unwrap().id().unwrap().to_owned();
    assert_eq!(
        update.update().unwrap().status(),
        Some(&UpdateStatus::InProgress)
    );
    assert_eq!(
        describe().await.unwrap().cluster.unwrap().status(),
        Some(&ClusterStatus::Updating)
    );
    let e = eks
        .update_cluster_version()
        .name("slow")
        .version("1.35")
        .send()
        .await
        .unwrap_err();
    assert!(e.as_service_error().unwrap().is_invalid_request_exception());
    advance(300);
    let done = eks
        .describe_update()
        .name("slow")
        .update_id(&id)
        .send()
        .await
        .unwrap();
    assert_eq!(
        done.update().unwrap().status(),
        Some(&UpdateStatus::Successful)
    );
    let cluster = describe().await.unwrap().cluster.unwrap();
    assert_eq!(
        (cluster.status(), cluster.version()),
        (Some(&ClusterStatus::Active), Some("1.34"))
    );
    let e = eks
        .update_cluster_version()
        .name("slow")
        .version("1.36")
        .send()
        .await
        .unwrap_err();
    assert!(
        e.as_service_error()
            .unwrap()
            .is_invalid_parameter_exception(),
        "one minor at a time"
    );

    // Deleting: the nodegroup is DELETING and still describable; the cluster refuses to go.
    eks.delete_nodegroup()
        .cluster_name("slow")
        .nodegroup_name("workers")
        .send()
        .await
        .unwrap();
    assert_eq!(
        ng().await.unwrap().nodegroup.unwrap().status(),
        Some(&NodegroupStatus::Deleting)
    );
    let listed = eks
        .list_nodegroups()
        .cluster_name("slow")
        .send()
        .await
        .unwrap();
    assert_eq!(listed.nodegroups(), ["workers"]);
    let e = eks.delete_cluster().name("slow").send().await.unwrap_err();
    assert!(e.as_service_error().unwrap().is_resource_in_use_exception());
    advance(150);
    assert!(
        ng().await
            .unwrap_err()
            .as_service_error()
            .unwrap()
            .is_resource_not_found_exception()
    );

    let deleted = eks.delete_cluster().name("slow").send().await.unwrap();
    assert_eq!(
        deleted.cluster().unwrap().status(),
        Some(&ClusterStatus::Deleting)
    );
    assert_eq!(
        describe().await.unwrap().cluster.unwrap().status(),
        Some(&ClusterStatus::Deleting)
    );
    assert_eq!(
        eks.list_clusters().send().await.unwrap().clusters(),
        ["slow"]
    );
    advance(240);
    assert!(
        describe()
            .await
            .unwrap_err()
            .as_service_error()
            .unwrap()
            .is_resource_not_found_exception()
    );
    assert!(
        eks.list_clusters()
            .send()
            .await
            .unwrap()
            .clusters()
            .is_empty()
    );
    assert_eq!(
        host.calls.lock().unwrap().clone(),
        ["active slow 1.33", "deleted slow"]
    );
    assert!(layer.counters().fired("lifecycle") >= 8);
}

#[tokio::test]
async fn nat_gateways_are_pending_then_available_and_deleting_then_deleted() {
    let env = Env::start(Behaviours::parse_list("lifecycle").unwrap()).await;
    let ec2 = env.ec2();
    let vpc = env.vpc("10.11.0.0/16").await;
    let subnet = ec2
        .create_subnet()
        .vpc_id(&vpc)
        .cidr_block("10.11.1.0/24")
        .send()
        .await
        .unwrap();
    let subnet = subnet.subnet().unwrap().subnet_id().unwrap().to_owned();
    let eip = ec2.allocate_address().send().await.unwrap();
    let nat = ec2
        .create_nat_gateway()
        .subnet_id(&subnet)
        .allocation_id(eip.allocation_id().unwrap())
        .send()
        .await
        .unwrap();
    let nat = nat.nat_gateway().unwrap();
    assert_eq!(nat.state(), Some(&NatGatewayState::Pending));
    let id = nat.nat_gateway_id().unwrap().to_owned();
    let state = || async {
        ec2.describe_nat_gateways()
            .nat_gateway_ids(&id)
            .send()
            .await
            .unwrap()
            .nat_gateways()[0]
            .state()
            .cloned()
    };
    assert_eq!(state().await, Some(NatGatewayState::Pending));
    env.advance(90);
    assert_eq!(state().await, Some(NatGatewayState::Available));
    ec2.delete_nat_gateway()
        .nat_gateway_id(&id)
        .send()
        .await
        .unwrap();
    assert_eq!(state().await, Some(NatGatewayState::Deleting));
    env.advance(60);
    assert_eq!(state().await, Some(NatGatewayState::Deleted));
}

#[tokio::test]
async fn route53_changes_are_pending_then_insync() {
    let env = Env::start(Behaviours::parse_list("lifecycle").unwrap()).await;
    let r53 = env.route53();
    let zone = r53
        .create_hosted_zone()
        .name("slow.example.com")
        .caller_reference("slow-1")
        .send()
        .await
        .unwrap();
    assert_eq!(zone.change_info().unwrap().status(), &ChangeStatus::Pending);
    let zone_id = zone.hosted_zone().unwrap().id().to_owned();
    let change = r53
        .change_resource_record_sets()
        .hosted_zone_id(&zone_id)
        .change_batch(
            ChangeBatch::builder()
                .changes(
                    Change::builder()
                        .action(ChangeAction::Upsert)
                        .resource_record_set(
                            ResourceRecordSet::builder()
                                .name("www.slow.example.com")
                                .r#type(RrType::A)
                                .ttl(60)
                                .resource_records(
                                    ResourceRecord::builder().value("10.0.0.1").build().unwrap(),
                                )
                                .build()
                                .unwrap(),
                        )
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let change_id = change.change_info().unwrap().id().to_owned();
    let status = || async {
        r53.get_change()
            .id(&change_id)
            .send()
            .await
            .unwrap()
            .change_info()
            .unwrap()
            .status()
            .clone()
    };
    assert_eq!(status().await, ChangeStatus::Pending);
    env.advance(30);
    assert_eq!(status().await, ChangeStatus::Insync);
}

#[tokio::test]
async fn switched_off_everything_is_active_at_once() {
    let env = Env::start(Behaviours::none()).await;
    let eks = env.eks();
    eks.create_cluster()
        .name("fast")
        .role_arn("arn:aws:iam::123456789012:role/eks")
        .resources_vpc_config(VpcConfigRequest::builder().subnet_ids("subnet-1").build())
        .send()
        .await
        .unwrap();
    let cluster = eks
        .describe_cluster()
        .name("fast")
        .send()
        .await
        .unwrap()
        .cluster
        .unwrap();
    assert_eq!(cluster.status(), Some(&ClusterStatus::Active));
    assert_eq!(
        cluster.version(),
        Some("1.35"),
        "the default version is current, not moto's 1.19"
    );
    eks.delete_cluster().name("fast").send().await.unwrap();
    assert!(eks.describe_cluster().name("fast").send().await.is_err());
    assert_eq!(env.layer.counters().fired("lifecycle"), 0);
}
