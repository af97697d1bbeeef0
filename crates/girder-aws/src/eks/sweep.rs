//! What a deleted cluster's controllers leave behind, swept after the cluster is gone.
//!
//! On a real cluster the cloud controller and the AWS Load Balancer Controller make load
//! balancers, target groups and security groups, and the VPC CNI makes network interfaces, all
//! outside the program. When their Kubernetes objects are deleted first (girder's destroy does
//! that, and waits for the load balancers' finalizers), the controllers take them away; but a
//! Service deleted out of band with its controller down, a cluster deleted while a load
//! balancer was still being made, or nodes terminated under the CNI leave them — and they
//! hold the subnets, the internet gateway and the VPC for ever (`DependencyViolation`). As
//! eksctl does on `delete cluster`, once the cluster is gone girder deletes what is tagged as
//! owned by it (`kubernetes.io/cluster/<name>=owned`, `elbv2.k8s.aws/cluster=<name>`, the CNI's
//! `cluster.k8s.amazonaws.com/name=<name>`), never anything carrying girder's own tags (a
//! program may tag its own security groups for the cluster; those are the program's to delete).
//! Nothing can remake them once the cluster is gone, so the sweep is final.

use std::time::Duration;

use aws_sdk_ec2::types::Filter;
use girder_engine::{CallContext, ProviderError};

use crate::clients::AwsClients;
use crate::error::{AwsResultExt, Call, is_not_found};
use crate::util::{Poll, wait_until};

/// ELB's `DescribeTags` takes at most 20 load balancers (or ARNs) per call.
const TAGS_PER_CALL: usize = 20;

/// The tag of girder's own resources; the sweep never touches what carries it.
const GIRDER_STACK_TAG: &str = "girder:stack";

/// The tag keys and values that mark an object as made for `cluster` by its controllers.
fn owned_by(cluster: &str, key: &str, value: &str) -> bool {
    (key == format!("kubernetes.io/cluster/{cluster}") && value == "owned")
        || (key == "elbv2.k8s.aws/cluster" && value == cluster)
}

/// Whether a tag set marks an object as the cluster's leftover: owned by it and not girder's.
fn is_leftover<'a>(cluster: &str, tags: impl IntoIterator<Item = (&'a str, &'a str)>) -> bool {
    let mut owned = false;
    for (key, value) in tags {
        if key == GIRDER_STACK_TAG {
            return false;
        }
        owned |= owned_by(cluster, key, value);
    }
    owned
}

/// What the sweep will do for `cluster`, in a sentence for the plan (see
/// [`TypedResource::delete_effects`](girder_engine::typed::TypedResource::delete_effects)).
pub(crate) fn plan_note(cluster: &str) -> String {
    format!(
        "once the cluster is gone, deletes what its controllers left in the account: load balancers, \
         target groups and security groups tagged `kubernetes.io/cluster/{cluster}=owned` or \
         `elbv2.k8s.aws/cluster={cluster}`, and detached network interfaces tagged \
         `cluster.k8s.amazonaws.com/name={cluster}` (never anything tagged `{GIRDER_STACK_TAG}`), \
         waiting while load balancer interfaces drain"
    )
}

/// What the sweep deleted, by kind, for the progress display and the logs.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Swept {
    /// Classic load balancers, by name.
    pub classic_load_balancers: Vec<String>,
    /// Application and network load balancers, by ARN.
    pub load_balancers: Vec<String>,
    /// Target groups, by ARN.
    pub target_groups: Vec<String>,
    /// Security groups, by id.
    pub security_groups: Vec<String>,
    /// Detached network interfaces, by id.
    pub network_interfaces: Vec<String>,
}

impl Swept {
    fn is_empty(&self) -> bool {
        *self == Swept::default()
    }
}

/// Deletes what the controllers of the deleted cluster `cluster` left in the account and
/// region, waiting (under the call's deadline) while the load balancers' network interfaces
/// drain and their security groups are still in use.
pub(crate) async fn sweep(
    clients: &AwsClients,
    cluster: &str,
    ctx: &CallContext,
) -> Result<Swept, ProviderError> {
    let mut swept = Swept {
        classic_load_balancers: classic_load_balancers(clients, cluster).await?,
        load_balancers: load_balancers(clients, cluster).await?,
        ..Swept::default()
    };
    let target = format!("what EKS cluster {cluster} left behind");
    if !swept.classic_load_balancers.is_empty() || !swept.load_balancers.is_empty() {
        ctx.progress(&format!(
            "deleting {target}: load balancers {}",
            [
                swept.classic_load_balancers.as_slice(),
                swept.load_balancers.as_slice()
            ]
            .concat()
            .join(", ")
        ));
    }
    let elb = &clients.sdk().await?.elb;
    for name in &swept.classic_load_balancers {
        tracing::info!(%cluster, load_balancer = %name, "deleting a load balancer the cluster left");
        // Deleting one that is already gone succeeds (ELB's delete is idempotent).
        elb.delete_load_balancer()
            .load_balancer_name(name)
            .send()
            .await
            .aws(&Call::deleting("DeleteLoadBalancer", name))?;
    }
    let elbv2 = &clients.sdk().await?.elbv2;
    for arn in &swept.load_balancers {
        tracing::info!(%cluster, load_balancer = %arn, "deleting a load balancer the cluster left");
        match elbv2
            .delete_load_balancer()
            .load_balancer_arn(arn)
            .send()
            .await
            .aws(&Call::deleting("DeleteLoadBalancer", arn))
        {
            Err(e) if is_not_found(&e) => {}
            other => {
                other?;
            }
        }
    }
    // Target groups are in use until their load balancers' listeners are gone.
    swept.target_groups = target_groups(clients, cluster).await?;
    for arn in &swept.target_groups {
        tracing::info!(%cluster, target_group = %arn, "deleting a target group the cluster left");
        wait_until(
            ctx,
            &format!("target group {arn} to be released"),
            Duration::from_secs(2),
            Duration::from_secs(15),
            || async move {
                match elbv2
                    .delete_target_group()
                    .target_group_arn(arn)
                    .send()
                    .await
                    .aws(&Call::deleting("DeleteTargetGroup", arn))
                {
                    Ok(_) => Ok(Poll::Ready(())),
                    Err(e) if is_not_found(&e) => Ok(Poll::Ready(())),
                    // Still attached to a listener being deleted.
                    Err(e) if e.code.as_deref() == Some("ResourceInUse") => {
                        Ok(Poll::Pending("in use".into()))
                    }
                    Err(e) => Err(e),
                }
            },
        )
        .await?;
    }
    let ec2 = clients.ec2().await?;
    swept.network_interfaces = network_interfaces(ec2, cluster).await?;
    for id in &swept.network_interfaces {
        tracing::info!(%cluster, network_interface = %id, "deleting a network interface the cluster left");
        match ec2
            .delete_network_interface()
            .network_interface_id(id)
            .send()
            .await
            .aws(&Call::deleting("DeleteNetworkInterface", id))
        {
            Err(e) if is_not_found(&e) => {}
            other => {
                other?;
            }
        }
    }
    // A load balancer's security group is in use until its network interfaces have drained
    // (minutes on AWS): `DependencyViolation` until then.
    swept.security_groups = security_groups(ec2, cluster).await?;
    for id in &swept.security_groups {
        tracing::info!(%cluster, security_group = %id, "deleting a security group the cluster left");
        wait_until(
            ctx,
            &format!("security group {id} to be released"),
            Duration::from_secs(5),
            Duration::from_secs(30),
            || async move {
                match ec2
                    .delete_security_group()
                    .group_id(id)
                    .send()
                    .await
                    .aws(&Call::deleting("DeleteSecurityGroup", id))
                {
                    Ok(_) => Ok(Poll::Ready(())),
                    Err(e) if is_not_found(&e) => Ok(Poll::Ready(())),
                    Err(e) => Err(e),
                }
            },
        )
        .await?;
    }
    if !swept.is_empty() {
        tracing::info!(%cluster, ?swept, "swept what the cluster left behind");
    }
    Ok(swept)
}

/// The classic load balancers tagged as the cluster's.
async fn classic_load_balancers(
    clients: &AwsClients,
    cluster: &str,
) -> Result<Vec<String>, ProviderError> {
    let elb = &clients.sdk().await?.elb;
    let mut names = Vec::new();
    let mut marker = None;
    loop {
        let page = elb
            .describe_load_balancers()
            .set_marker(marker)
            .send()
            .await
            .aws(&Call::new(
                "DescribeLoadBalancers",
                "classic load balancers",
            ))?;
        names.extend(
            page.load_balancer_descriptions()
                .iter()
                .filter_map(|lb| lb.load_balancer_name().map(str::to_owned)),
        );
        marker = page.next_marker().map(str::to_owned);
        if marker.is_none() {
            break;
        }
    }
    let mut owned = Vec::new();
    for chunk in names.chunks(TAGS_PER_CALL) {
        let tags = elb
            .describe_tags()
            .set_load_balancer_names(Some(chunk.to_vec()))
            .send()
            .await
            .aws(&Call::new("DescribeTags", "classic load balancers"))?;
        for description in tags.tag_descriptions() {
            let pairs = description
                .tags()
                .iter()
                .map(|t| (t.key(), t.value().unwrap_or_default()));
            if is_leftover(cluster, pairs)
                && let Some(name) = description.load_balancer_name()
            {
                owned.push(name.to_owned());
            }
        }
    }
    Ok(owned)
}

/// The ARNs among `arns` whose tags mark them as the cluster's leftovers.
async fn owned_arns(
    clients: &AwsClients,
    cluster: &str,
    arns: Vec<String>,
    what: &str,
) -> Result<Vec<String>, ProviderError> {
    let elbv2 = &clients.sdk().await?.elbv2;
    let mut owned = Vec::new();
    for chunk in arns.chunks(TAGS_PER_CALL) {
        let tags = elbv2
            .describe_tags()
            .set_resource_arns(Some(chunk.to_vec()))
            .send()
            .await
            .aws(&Call::new("DescribeTags", what))?;
        for description in tags.tag_descriptions() {
            let pairs = description
                .tags()
                .iter()
                .filter_map(|t| Some((t.key()?, t.value().unwrap_or_default())));
            if is_leftover(cluster, pairs)
                && let Some(arn) = description.resource_arn()
            {
                owned.push(arn.to_owned());
            }
        }
    }
    Ok(owned)
}

/// The application and network load balancers tagged as the cluster's.
async fn load_balancers(clients: &AwsClients, cluster: &str) -> Result<Vec<String>, ProviderError> {
    let elbv2 = &clients.sdk().await?.elbv2;
    let mut arns = Vec::new();
    let mut marker = None;
    loop {
        let page = elbv2
            .describe_load_balancers()
            .set_marker(marker)
            .send()
            .await
            .aws(&Call::new("DescribeLoadBalancers", "load balancers"))?;
        arns.extend(
            page.load_balancers()
                .iter()
                .filter_map(|lb| lb.load_balancer_arn().map(str::to_owned)),
        );
        marker = page.next_marker().map(str::to_owned);
        if marker.is_none() {
            break;
        }
    }
    owned_arns(clients, cluster, arns, "load balancers").await
}

/// The target groups tagged as the cluster's.
async fn target_groups(clients: &AwsClients, cluster: &str) -> Result<Vec<String>, ProviderError> {
    let elbv2 = &clients.sdk().await?.elbv2;
    let mut arns = Vec::new();
    let mut marker = None;
    loop {
        let page = elbv2
            .describe_target_groups()
            .set_marker(marker)
            .send()
            .await
            .aws(&Call::new("DescribeTargetGroups", "target groups"))?;
        arns.extend(
            page.target_groups()
                .iter()
                .filter_map(|tg| tg.target_group_arn().map(str::to_owned)),
        );
        marker = page.next_marker().map(str::to_owned);
        if marker.is_none() {
            break;
        }
    }
    owned_arns(clients, cluster, arns, "target groups").await
}

fn tag_filter(key: &str, value: &str) -> Filter {
    Filter::builder()
        .name(format!("tag:{key}"))
        .values(value)
        .build()
}

/// The security groups tagged as the cluster's (the cloud controller's `k8s-elb-…` groups,
/// the AWS Load Balancer Controller's).
async fn security_groups(
    ec2: &aws_sdk_ec2::Client,
    cluster: &str,
) -> Result<Vec<String>, ProviderError> {
    let mut ids = Vec::new();
    for filter in [
        tag_filter(&format!("kubernetes.io/cluster/{cluster}"), "owned"),
        tag_filter("elbv2.k8s.aws/cluster", cluster),
    ] {
        let groups: Vec<_> = ec2
            .describe_security_groups()
            .filters(filter)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .aws(&Call::new("DescribeSecurityGroups", "security groups"))?;
        for group in groups {
            let pairs = group
                .tags()
                .iter()
                .filter_map(|t| Some((t.key()?, t.value().unwrap_or_default())));
            if is_leftover(cluster, pairs)
                && let Some(id) = group.group_id()
                && !ids.iter().any(|known| known == id)
            {
                ids.push(id.to_owned());
            }
        }
    }
    Ok(ids)
}

/// The VPC CNI's network interfaces of the cluster that no instance holds any more.
async fn network_interfaces(
    ec2: &aws_sdk_ec2::Client,
    cluster: &str,
) -> Result<Vec<String>, ProviderError> {
    let interfaces: Vec<_> = ec2
        .describe_network_interfaces()
        .filters(tag_filter("cluster.k8s.amazonaws.com/name", cluster))
        .filters(Filter::builder().name("status").values("available").build())
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .aws(&Call::new(
            "DescribeNetworkInterfaces",
            "the cluster's network interfaces",
        ))?;
    Ok(interfaces
        .iter()
        .filter(|eni| {
            !eni.tag_set()
                .iter()
                .any(|t| t.key() == Some(GIRDER_STACK_TAG))
        })
        .filter_map(|eni| eni.network_interface_id().map(str::to_owned))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_what_a_controller_made_for_this_cluster_is_a_leftover() {
        let owned = [("kubernetes.io/cluster/yolo", "owned")];
        assert!(is_leftover("yolo", owned));
        assert!(is_leftover("yolo", [("elbv2.k8s.aws/cluster", "yolo")]));
        // Another cluster's, or only shared with this one.
        assert!(!is_leftover("other", owned));
        assert!(!is_leftover(
            "yolo",
            [("kubernetes.io/cluster/yolo", "shared")]
        ));
        assert!(!is_leftover("yolo", [("elbv2.k8s.aws/cluster", "yolo-2")]));
        // The program's own, tagged for the cluster: the program deletes it.
        assert!(!is_leftover(
            "yolo",
            [
                ("kubernetes.io/cluster/yolo", "owned"),
                ("girder:stack", "dev")
            ]
        ));
        assert!(!is_leftover("yolo", []));
    }
}
