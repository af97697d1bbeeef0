//! The sandbox plays the AWS cloud controller and external-dns for an EKS cluster: a
//! LoadBalancer Service gets a classic ELB in the cluster's `kubernetes.io/role/elb` subnets
//! with its own security group, and its DNS name as the Service's hostname; with an
//! external-dns Deployment for AWS, the annotated hostname gets a CNAME and the TXT registry
//! records; deleting the Service removes the ELB and the security group (through the
//! layer's drain) before the Service goes.

use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region};
use aws_credential_types::Credentials;
use aws_sdk_ec2::types::{Filter, ResourceType, Tag, TagSpecification};
use aws_sdk_eks::types::{ClusterStatus, VpcConfigRequest};
use girder_aws_layer::Behaviours;
use girder_aws_layer::client::AwsClient;
use girder_aws_layer::xml::Element;
use girder_testing::sandbox::{HOSTNAME_ANNOTATION, Sandbox, SandboxOptions, load_balancer_name};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Service;
use kube::api::{Api, DeleteParams, PostParams};
use serde_json::json;

/// Generous: the machine may be busy.
const DEADLINE: Duration = Duration::from_secs(120);

async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(start.elapsed() < DEADLINE, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn texts(e: &Element, name: &str) -> Vec<String> {
    let mut found = Vec::new();
    e.walk(&mut |x| {
        if x.local_name() == name {
            found.push(x.text());
        }
    });
    found
}

fn tag(key: &str, value: &str) -> Tag {
    Tag::builder().key(key).value(value).build()
}

async fn subnet(ec2: &aws_sdk_ec2::Client, vpc: &str, cidr: &str, zone: &str, elb: bool) -> String {
    // Every subnet is named; only the public ones carry the tag the controller looks for.
    let mut tags = TagSpecification::builder()
        .resource_type(ResourceType::Subnet)
        .tags(tag("Name", cidr));
    if elb {
        tags = tags.tags(tag("kubernetes.io/role/elb", "1"));
    }
    ec2.create_subnet()
        .vpc_id(vpc)
        .cidr_block(cidr)
        .availability_zone(zone)
        .tag_specifications(tags.build())
        .send()
        .await
        .unwrap()
        .subnet()
        .unwrap()
        .subnet_id()
        .unwrap()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cluster_makes_load_balancers_and_dns_records_and_cleans_them_up() {
    let sandbox = tokio::task::spawn_blocking(|| {
        Sandbox::start(SandboxOptions {
            behaviours: Behaviours::parse_list("lifecycle,draining").unwrap(),
            scale: 0.01,
            ..SandboxOptions::default()
        })
        .expect("the sandbox starts (moto_server must be installed: run scripts/python-deps.sh)")
    })
    .await
    .unwrap();
    let config = aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(sandbox.layer().endpoint())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "test"))
        .load()
        .await;
    let ec2 = aws_sdk_ec2::Client::new(&config);
    let route53 = aws_sdk_route53::Client::new(&config);
    let eks = aws_sdk_eks::Client::new(&config);

    // The seed's network: public subnets tagged for load balancers, a private one not.
    let vpc = ec2
        .create_vpc()
        .cidr_block("10.20.0.0/16")
        .send()
        .await
        .unwrap()
        .vpc()
        .unwrap()
        .vpc_id()
        .unwrap()
        .to_owned();
    let public_a = subnet(&ec2, &vpc, "10.20.1.0/24", "us-east-1a", true).await;
    let public_b = subnet(&ec2, &vpc, "10.20.2.0/24", "us-east-1b", true).await;
    let private_a = subnet(&ec2, &vpc, "10.20.3.0/24", "us-east-1a", false).await;
    let zone = route53
        .create_hosted_zone()
        .name("example.com")
        .caller_reference("sandbox-cloud-test")
        .send()
        .await
        .unwrap();
    let zone_id = zone.hosted_zone().unwrap().id().to_owned();
    eks.create_cluster()
        .name("yolo")
        .version("1.35")
        .role_arn("arn:aws:iam::123456789012:role/eks")
        .resources_vpc_config(
            VpcConfigRequest::builder()
                .subnet_ids(&private_a)
                .subnet_ids(&public_a)
                .build(),
        )
        .send()
        .await
        .unwrap();
    eventually("the cluster ACTIVE", || async {
        let cluster = eks.describe_cluster().name("yolo").send().await.ok()?;
        (cluster.cluster()?.status() == Some(&ClusterStatus::Active)).then_some(())
    })
    .await;
    let kubeconfig = eventually("the cluster served", || async {
        sandbox.host().admin_kubeconfig("yolo")
    })
    .await;
    let kube_config = kube::Config::from_custom_kubeconfig(
        kube::config::Kubeconfig::from_yaml(&kubeconfig).unwrap(),
        &kube::config::KubeConfigOptions::default(),
    )
    .await
    .unwrap();
    let client = kube::Client::try_from(kube_config).unwrap();

    // external-dns as girder deploys it.
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), "kube-system");
    let external_dns = serde_json::from_value(json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "external-dns"},
        "spec": {"selector": {"matchLabels": {"app": "external-dns"}},
                 "template": {"metadata": {"labels": {"app": "external-dns"}},
                              "spec": {"containers": [{"name": "external-dns", "image": "registry.k8s.io/external-dns/external-dns:v0.18.0",
                                                       "args": ["--source=service", "--provider=aws", "--registry=txt", "--policy=upsert-only",
                                                                "--txt-owner-id=yolo", "--domain-filter=example.com"]}]}}}
    }))
    .unwrap();
    deployments
        .create(&PostParams::default(), &external_dns)
        .await
        .unwrap();
    let services: Api<Service> = Api::namespaced(client.clone(), "default");
    let frontend = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "frontend", "annotations": {HOSTNAME_ANNOTATION: "www.example.com"}},
        "spec": {"type": "LoadBalancer", "selector": {"app": "frontend"},
                 "ports": [{"name": "http", "port": 80, "targetPort": 8080}]}
    }))
    .unwrap();
    let created = services
        .create(&PostParams::default(), &frontend)
        .await
        .unwrap();
    let uid = created.metadata.uid.clone().unwrap();
    let lb = load_balancer_name(&uid);

    let started = Instant::now();
    let hostname = eventually("the load balancer's hostname", || async {
        let svc = services.get("frontend").await.ok()?;
        svc.status?
            .load_balancer?
            .ingress?
            .first()?
            .hostname
            .clone()
    })
    .await;
    eprintln!("hostname after {:?}", started.elapsed());
    assert!(hostname.starts_with(&format!("{lb}.")), "{hostname}");
    let svc = services.get("frontend").await.unwrap();
    assert_eq!(
        svc.metadata.finalizers.unwrap_or_default(),
        vec!["service.kubernetes.io/load-balancer-cleanup"]
    );

    // In moto, not through the layer: what AWS holds.
    let moto = AwsClient::new(&sandbox.moto_endpoint(), "testing", "us-east-1").unwrap();
    let elb = |action: &'static str, params: Vec<(String, String)>| {
        let moto = moto.clone();
        async move {
            moto.query("elasticloadbalancing", "2012-06-01", action, &params)
                .await
        }
    };
    let names = vec![("LoadBalancerNames.member.1".to_owned(), lb.clone())];
    let described = elb("DescribeLoadBalancers", names.clone()).await.unwrap();
    let mut subnets = Vec::new();
    described.root.walk(&mut |e| {
        if e.local_name() == "Subnets" {
            subnets.extend(e.elements().map(Element::text));
        }
    });
    subnets.sort();
    let mut public = vec![public_a.clone(), public_b.clone()];
    public.sort();
    assert_eq!(
        subnets, public,
        "the ELB is in the role/elb subnets, one per zone"
    );
    assert_eq!(texts(&described.root, "VPCId"), vec![vpc.clone()]);
    assert_eq!(texts(&described.root, "DNSName"), vec![hostname.clone()]);
    assert_eq!(texts(&described.root, "LoadBalancerPort"), vec!["80"]);
    let tags = elb("DescribeTags", names.clone()).await.unwrap();
    let keys = texts(&tags.root, "Key");
    let values = texts(&tags.root, "Value");
    let tags: Vec<(String, String)> = keys.into_iter().zip(values).collect();
    assert!(
        tags.contains(&("kubernetes.io/cluster/yolo".into(), "owned".into())),
        "{tags:?}"
    );
    assert!(
        tags.contains(&(
            "kubernetes.io/service-name".into(),
            "default/frontend".into()
        )),
        "{tags:?}"
    );
    let group_name = format!("k8s-elb-{lb}");
    let groups = ec2
        .describe_security_groups()
        .filters(
            Filter::builder()
                .name("group-name")
                .values(&group_name)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let group = &groups.security_groups()[0];
    assert_eq!(group.vpc_id(), Some(vpc.as_str()));
    assert!(
        group
            .tags()
            .iter()
            .any(|t| t.key() == Some("kubernetes.io/cluster/yolo") && t.value() == Some("owned"))
    );
    assert!(
        group
            .ip_permissions()
            .iter()
            .any(|p| p.from_port() == Some(80) && p.to_port() == Some(80)),
        "{:?}",
        group.ip_permissions()
    );
    let group_id = group.group_id().unwrap().to_owned();
    let elb_groups = {
        let mut found = Vec::new();
        described.root.walk(&mut |e| {
            if e.local_name() == "SecurityGroups" {
                found.extend(e.elements().map(Element::text));
            }
        });
        found
    };
    assert_eq!(elb_groups, vec![group_id.clone()]);

    // external-dns: the CNAME and its TXT registry records.
    let txt = "\"heritage=external-dns,external-dns/owner=yolo,external-dns/resource=service/default/frontend\"";
    let records = eventually("the DNS records", || async {
        let sets = route53
            .list_resource_record_sets()
            .hosted_zone_id(&zone_id)
            .send()
            .await
            .ok()?;
        let records: Vec<(String, String, Option<i64>, Vec<String>)> = sets
            .resource_record_sets()
            .iter()
            .map(|s| {
                (
                    s.name().trim_end_matches('.').to_owned(),
                    s.r#type().as_str().to_owned(),
                    s.ttl(),
                    s.resource_records()
                        .iter()
                        .map(|r| r.value().to_owned())
                        .collect(),
                )
            })
            .collect();
        (records
            .iter()
            .filter(|r| r.1 != "SOA" && r.1 != "NS")
            .count()
            == 3)
            .then_some(records)
    })
    .await;
    eprintln!("records after {:?}", started.elapsed());
    assert!(
        records.contains(&(
            "www.example.com".into(),
            "CNAME".into(),
            Some(300),
            vec![hostname.clone()]
        )),
        "{records:?}"
    );
    assert!(
        records.contains(&(
            "www.example.com".into(),
            "TXT".into(),
            Some(300),
            vec![txt.into()]
        )),
        "{records:?}"
    );
    assert!(
        records.contains(&(
            "cname-www.example.com".into(),
            "TXT".into(),
            Some(300),
            vec![txt.into()]
        )),
        "{records:?}"
    );

    // Deleted: the ELB and the security group go before the Service does.
    services
        .delete("frontend", &DeleteParams::default())
        .await
        .unwrap();
    let deleting = Instant::now();
    eventually("the Service to go", || async {
        services
            .get_opt("frontend")
            .await
            .unwrap()
            .is_none()
            .then_some(())
    })
    .await;
    eprintln!("Service gone after {:?}", deleting.elapsed());
    let gone = elb("DescribeLoadBalancers", names.clone())
        .await
        .unwrap_err();
    assert_eq!(gone.code(), Some("LoadBalancerNotFound"));
    let groups = ec2
        .describe_security_groups()
        .filters(
            Filter::builder()
                .name("group-name")
                .values(&group_name)
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert!(
        groups.security_groups().is_empty(),
        "the security group is deleted"
    );
    assert!(
        sandbox.layer().counters().fired("draining") > 0,
        "the security group met the load balancer's drain"
    );
    // upsert-only: the records stay.
    let sets = route53
        .list_resource_record_sets()
        .hosted_zone_id(&zone_id)
        .send()
        .await
        .unwrap();
    assert!(
        sets.resource_record_sets()
            .iter()
            .any(|s| s.name() == "www.example.com.")
    );
    tokio::task::spawn_blocking(move || sandbox.stop())
        .await
        .unwrap();
}
