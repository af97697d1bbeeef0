//! [`AwsCloudProvider`]: the sandbox's AWS cloud controller for one EKS cluster — classic
//! ELBs and their security groups for LoadBalancer Services, made as the in-tree AWS cloud
//! provider makes them, and external-dns ([`super::external_dns`]).
//!
//! It calls AWS through the behaviour layer's endpoint, as the real controller calls the
//! same AWS the program does: the layer learns each load balancer's VPC, so deleting one
//! starts a drain that the destroy after it meets, and throttling, consistency and lost
//! responses hit the controller too (it retries, as the real one does).

use std::collections::BTreeMap;
use std::sync::Mutex;

use girder_aws_layer::client::{AwsClient, CallError};
use girder_aws_layer::xml::{Document, Element};
use girder_kube_emulator::{
    CloudError, CloudProvider, ClusterView, LoadBalancerService, LoadBalancerStatus,
};

use super::external_dns::ExternalDns;

const EC2: (&str, &str) = ("ec2", "2016-11-15");
const ELB: (&str, &str) = ("elasticloadbalancing", "2012-06-01");
/// The annotation that asks for an internal load balancer.
const INTERNAL: &str = "service.beta.kubernetes.io/aws-load-balancer-internal";

/// The classic ELB name the AWS cloud provider gives a Service's load balancer: `a` and the
/// uid without dashes, cut to ELB's 32 characters.
///
/// ```
/// use girder_testing::sandbox::load_balancer_name;
///
/// assert_eq!(
///     load_balancer_name("1b4c0d7e-9f3a-4e21-8c55-0a1b2c3d4e5f"),
///     "a1b4c0d7e9f3a4e218c550a1b2c3d4e5"
/// );
/// ```
pub fn load_balancer_name(uid: &str) -> String {
    let mut name = format!("a{}", uid.replace('-', ""));
    name.truncate(32);
    name
}

/// The texts of every element named `name` under `e`, in document order.
pub(super) fn texts(e: &Element, name: &str) -> Vec<String> {
    let mut found = Vec::new();
    e.walk(&mut |x| {
        if x.local_name() == name {
            found.push(x.text());
        }
    });
    found
}

fn pairs(items: &[(&str, String)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

pub(super) fn cloud_error(error: CallError) -> CloudError {
    match error {
        CallError::Aws {
            operation,
            code,
            message,
            ..
        } => CloudError::Api {
            operation,
            code,
            message,
        },
        CallError::Transport { operation, reason } => CloudError::Transport { operation, reason },
    }
}

/// The sandbox's cloud for one cluster: load balancers in its VPC and external-dns.
#[derive(Debug)]
pub struct AwsCloudProvider {
    client: AwsClient,
    cluster: String,
    subnet_ids: Vec<String>,
    /// The cluster's VPC, found once from its subnets.
    vpc: Mutex<Option<String>>,
    external_dns: ExternalDns,
}

impl AwsCloudProvider {
    /// The cloud of `cluster` (created in `subnet_ids`) through `client`.
    pub fn new(client: AwsClient, cluster: &str, subnet_ids: Vec<String>) -> AwsCloudProvider {
        AwsCloudProvider {
            external_dns: ExternalDns::new(client.clone()),
            client,
            cluster: cluster.to_owned(),
            subnet_ids,
            vpc: Mutex::new(None),
        }
    }

    async fn ec2(&self, action: &str, params: &[(&str, String)]) -> Result<Document, CloudError> {
        self.client
            .query(EC2.0, EC2.1, action, &pairs(params))
            .await
            .map_err(cloud_error)
    }

    async fn elb(&self, action: &str, params: &[(&str, String)]) -> Result<Document, CloudError> {
        self.client
            .query(ELB.0, ELB.1, action, &pairs(params))
            .await
            .map_err(cloud_error)
    }

    async fn vpc(&self) -> Result<String, CloudError> {
        if let Some(vpc) = self.vpc.lock().unwrap_or_else(|e| e.into_inner()).clone() {
            return Ok(vpc);
        }
        let ids: Vec<(String, String)> = self
            .subnet_ids
            .iter()
            .enumerate()
            .map(|(i, id)| (format!("SubnetId.{}", i + 1), id.clone()))
            .collect();
        let params: Vec<(&str, String)> =
            ids.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
        let answer = self.ec2("DescribeSubnets", &params).await?;
        let vpc = texts(&answer.root, "vpcId")
            .into_iter()
            .next()
            .ok_or_else(|| {
                CloudError::Unsatisfiable(format!(
                    "the subnets of cluster {} ({:?}) are not found",
                    self.cluster, self.subnet_ids
                ))
            })?;
        *self.vpc.lock().unwrap_or_else(|e| e.into_inner()) = Some(vpc.clone());
        Ok(vpc)
    }

    /// One subnet per availability zone, tagged for (internal) load balancers, as the cloud
    /// provider picks them.
    async fn elb_subnets(&self, vpc: &str, internal: bool) -> Result<Vec<String>, CloudError> {
        let role = if internal {
            "kubernetes.io/role/internal-elb"
        } else {
            "kubernetes.io/role/elb"
        };
        let answer = self
            .ec2(
                "DescribeSubnets",
                &[
                    ("Filter.1.Name", "vpc-id".into()),
                    ("Filter.1.Value.1", vpc.to_owned()),
                    ("Filter.2.Name", format!("tag:{role}")),
                    ("Filter.2.Value.1", "1".into()),
                ],
            )
            .await?;
        let mut by_zone: BTreeMap<String, String> = BTreeMap::new();
        if let Some(set) = answer.root.child("subnetSet") {
            for item in set.elements() {
                if let (Some(id), Some(zone)) = (
                    item.child_text("subnetId"),
                    item.child_text("availabilityZone"),
                ) {
                    let chosen = by_zone.entry(zone).or_insert_with(|| id.clone());
                    if id < *chosen {
                        *chosen = id;
                    }
                }
            }
        }
        if by_zone.is_empty() {
            return Err(CloudError::Unsatisfiable(format!(
                "could not find any suitable subnets for creating the ELB: no subnet of {vpc} is tagged {role}=1"
            )));
        }
        Ok(by_zone.into_values().collect())
    }

    async fn security_group(&self, vpc: &str, name: &str) -> Result<Option<String>, CloudError> {
        let answer = self
            .ec2(
                "DescribeSecurityGroups",
                &[
                    ("Filter.1.Name", "group-name".into()),
                    ("Filter.1.Value.1", name.to_owned()),
                    ("Filter.2.Name", "vpc-id".into()),
                    ("Filter.2.Value.1", vpc.to_owned()),
                ],
            )
            .await?;
        Ok(answer
            .root
            .child("securityGroupInfo")
            .and_then(|set| set.elements().next())
            .and_then(|item| item.child_text("groupId")))
    }

    /// The load balancer's security group, made if missing, with ingress for every port.
    async fn ensure_security_group(
        &self,
        vpc: &str,
        lb: &str,
        service: &LoadBalancerService,
    ) -> Result<String, CloudError> {
        let name = format!("k8s-elb-{lb}");
        let group = match self.security_group(vpc, &name).await? {
            Some(group) => group,
            None => {
                let created = self
                    .ec2(
                        "CreateSecurityGroup",
                        &[
                            ("GroupName", name.clone()),
                            (
                                "GroupDescription",
                                format!(
                                    "Security group for Kubernetes ELB {lb} ({}/{})",
                                    service.namespace, service.name
                                ),
                            ),
                            ("VpcId", vpc.to_owned()),
                            ("TagSpecification.1.ResourceType", "security-group".into()),
                            (
                                "TagSpecification.1.Tag.1.Key",
                                format!("kubernetes.io/cluster/{}", self.cluster),
                            ),
                            ("TagSpecification.1.Tag.1.Value", "owned".into()),
                        ],
                    )
                    .await?;
                created
                    .root
                    .child_text("groupId")
                    .ok_or_else(|| CloudError::Transport {
                        operation: "CreateSecurityGroup".into(),
                        reason: "no groupId in the answer".into(),
                    })?
            }
        };
        let ranges = if service.source_ranges.is_empty() {
            vec!["0.0.0.0/0".to_owned()]
        } else {
            service.source_ranges.clone()
        };
        for port in &service.ports {
            let mut params = vec![
                ("GroupId", group.clone()),
                ("IpPermissions.1.IpProtocol", port.protocol.to_lowercase()),
                ("IpPermissions.1.FromPort", port.port.to_string()),
                ("IpPermissions.1.ToPort", port.port.to_string()),
            ];
            let keys: Vec<String> = (1..=ranges.len())
                .map(|i| format!("IpPermissions.1.IpRanges.{i}.CidrIp"))
                .collect();
            params.extend(keys.iter().map(String::as_str).zip(ranges.iter().cloned()));
            match self.ec2("AuthorizeSecurityGroupIngress", &params).await {
                Ok(_) => {}
                // Ensured before: the rule is there.
                Err(CloudError::Api { code, .. }) if code == "InvalidPermission.Duplicate" => {}
                Err(e) => return Err(e),
            }
        }
        Ok(group)
    }

    async fn find_load_balancer(&self, lb: &str) -> Result<Option<Element>, CloudError> {
        match self
            .elb(
                "DescribeLoadBalancers",
                &[("LoadBalancerNames.member.1", lb.to_owned())],
            )
            .await
        {
            Ok(answer) => {
                let mut found = None;
                answer.root.walk(&mut |e| {
                    if found.is_none() && e.local_name() == "member" && e.child("DNSName").is_some()
                    {
                        found = Some(e.clone());
                    }
                });
                Ok(found)
            }
            Err(CloudError::Api { code, .. }) if code == "LoadBalancerNotFound" => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn listener_params(service: &LoadBalancerService) -> Vec<(String, String)> {
        let mut params = Vec::new();
        for (i, port) in service.ports.iter().enumerate() {
            let n = i + 1;
            let protocol = port.protocol.to_uppercase();
            params.push((format!("Listeners.member.{n}.Protocol"), protocol.clone()));
            params.push((
                format!("Listeners.member.{n}.LoadBalancerPort"),
                port.port.to_string(),
            ));
            params.push((format!("Listeners.member.{n}.InstanceProtocol"), protocol));
            params.push((
                format!("Listeners.member.{n}.InstancePort"),
                port.node_port.to_string(),
            ));
        }
        params
    }

    /// Makes the listeners those of the Service: stale ports deleted, new ones created.
    async fn sync_listeners(
        &self,
        lb: &str,
        existing: &Element,
        service: &LoadBalancerService,
    ) -> Result<(), CloudError> {
        let have: Vec<String> = texts(existing, "LoadBalancerPort");
        let want: Vec<String> = service.ports.iter().map(|p| p.port.to_string()).collect();
        let stale: Vec<&String> = have.iter().filter(|p| !want.contains(p)).collect();
        if !stale.is_empty() {
            let mut params = vec![("LoadBalancerName", lb.to_owned())];
            let keys: Vec<String> = (1..=stale.len())
                .map(|i| format!("LoadBalancerPorts.member.{i}"))
                .collect();
            params.extend(
                keys.iter()
                    .map(String::as_str)
                    .zip(stale.iter().map(|p| (*p).clone())),
            );
            self.elb("DeleteLoadBalancerListeners", &params).await?;
        }
        let missing: Vec<_> = service
            .ports
            .iter()
            .filter(|p| !have.contains(&p.port.to_string()))
            .cloned()
            .collect();
        if !missing.is_empty() {
            let subset = LoadBalancerService {
                ports: missing,
                ..service.clone()
            };
            let listeners = Self::listener_params(&subset);
            let mut params = vec![("LoadBalancerName", lb.to_owned())];
            params.extend(listeners.iter().map(|(k, v)| (k.as_str(), v.clone())));
            self.elb("CreateLoadBalancerListeners", &params).await?;
        }
        Ok(())
    }
}

#[async_trait::async_trait]
impl CloudProvider for AwsCloudProvider {
    async fn ensure_load_balancer(
        &self,
        service: &LoadBalancerService,
    ) -> Result<LoadBalancerStatus, CloudError> {
        let lb = load_balancer_name(&service.uid);
        let internal = service
            .annotations
            .get(INTERNAL)
            .is_some_and(|v| !v.is_empty() && v != "false");
        let vpc = self.vpc().await?;
        let subnets = self.elb_subnets(&vpc, internal).await?;
        let group = self.ensure_security_group(&vpc, &lb, service).await?;
        if let Some(existing) = self.find_load_balancer(&lb).await? {
            self.sync_listeners(&lb, &existing, service).await?;
            let hostname = existing.child_text("DNSName").unwrap_or_default();
            return Ok(LoadBalancerStatus { hostname });
        }
        let mut params: Vec<(String, String)> = vec![
            ("LoadBalancerName".into(), lb.clone()),
            (
                "Scheme".into(),
                if internal {
                    "internal"
                } else {
                    "internet-facing"
                }
                .into(),
            ),
            ("SecurityGroups.member.1".into(), group),
            (
                "Tags.member.1.Key".into(),
                format!("kubernetes.io/cluster/{}", self.cluster),
            ),
            ("Tags.member.1.Value".into(), "owned".into()),
            (
                "Tags.member.2.Key".into(),
                "kubernetes.io/service-name".into(),
            ),
            (
                "Tags.member.2.Value".into(),
                format!("{}/{}", service.namespace, service.name),
            ),
        ];
        for (i, subnet) in subnets.iter().enumerate() {
            params.push((format!("Subnets.member.{}", i + 1), subnet.clone()));
        }
        params.extend(Self::listener_params(service));
        let created = self
            .client
            .query(ELB.0, ELB.1, "CreateLoadBalancer", &params)
            .await
            .map_err(cloud_error)?;
        let hostname = texts(&created.root, "DNSName")
            .into_iter()
            .next()
            .ok_or_else(|| CloudError::Transport {
                operation: "CreateLoadBalancer".into(),
                reason: "no DNSName in the answer".into(),
            })?;
        tracing::info!(cluster = %self.cluster, service = %format!("{}/{}", service.namespace, service.name), load_balancer = %lb, %hostname, "created the Service's load balancer");
        Ok(LoadBalancerStatus { hostname })
    }

    async fn delete_load_balancer(&self, service: &LoadBalancerService) -> Result<(), CloudError> {
        let lb = load_balancer_name(&service.uid);
        // Only one that exists is deleted: a delete of a gone one would be answered with
        // success, and the layer must not start a drain for it.
        if self.find_load_balancer(&lb).await?.is_some() {
            self.elb("DeleteLoadBalancer", &[("LoadBalancerName", lb.clone())])
                .await?;
            tracing::info!(cluster = %self.cluster, load_balancer = %lb, "deleted the Service's load balancer");
        }
        let vpc = self.vpc().await?;
        if let Some(group) = self.security_group(&vpc, &format!("k8s-elb-{lb}")).await? {
            // While the load balancer's interfaces drain this is a DependencyViolation; the
            // emulator retries the whole delete later, and the finalizer stays meanwhile.
            self.ec2("DeleteSecurityGroup", &[("GroupId", group.clone())])
                .await?;
            tracing::info!(cluster = %self.cluster, %group, "deleted the load balancer's security group");
        }
        Ok(())
    }

    async fn sync_cluster(&self, view: &ClusterView) -> Result<(), CloudError> {
        self.external_dns.sync(view).await
    }
}
