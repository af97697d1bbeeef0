//! What AWS holds of a stack, read directly: one list per girder type, one entry per object
//! (EC2 objects by their `girder:resource` tag; IAM, EKS, CloudWatch Logs and Route 53
//! objects by name). Two equal entries are a duplicate that a retried create left; entries
//! after a destroy are leaks. The end-to-end tests read moto with it, bypassing the layer
//! between the program and moto; an operator can read an account with it to look for what a
//! crash or a manual change left behind.
//!
//! EC2 is filtered by the stack's identity tag. IAM, EKS, CloudWatch Logs and Route 53 list
//! the whole account (their list calls return no tags), less the roles AWS itself makes
//! (`AWSServiceRole…`).

use std::collections::BTreeMap;

use aws_sdk_ec2::types::{NatGatewayState, Tag};
use aws_smithy_types::error::display::DisplayErrorContext;

use crate::tags::ec2_filter;

/// Objects held, by girder type token (`aws:ec2/subnet`, …).
pub type Census = BTreeMap<&'static str, Vec<String>>;

/// A list call of the census failed.
#[derive(Debug, thiserror::Error)]
#[error("census of the account: {operation} failed: {message}")]
pub struct CensusError {
    /// The API operation, such as `ec2:DescribeVpcs`.
    pub operation: &'static str,
    /// The SDK's error with its context.
    pub message: String,
}

fn failed<E: std::error::Error>(operation: &'static str) -> impl FnOnce(E) -> CensusError {
    move |error| CensusError {
        operation,
        message: DisplayErrorContext(error).to_string(),
    }
}

fn resource_tag(tags: &[Tag]) -> String {
    tags.iter()
        .find(|t| t.key() == Some("girder:resource"))
        .and_then(|t| t.value())
        .unwrap_or("?")
        .to_owned()
}

/// Reads what `config`'s account and region hold of `stack`.
///
/// ```no_run
/// # async fn example() -> Result<(), girder_aws::census::CensusError> {
/// let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
/// let held = girder_aws::census::census(&config, "prod").await?;
/// for (type_name, objects) in &held {
///     println!("{type_name}: {}", objects.len());
/// }
/// # Ok(()) }
/// ```
pub async fn census(config: &aws_types::SdkConfig, stack: &str) -> Result<Census, CensusError> {
    let mut held = ec2_census(&aws_sdk_ec2::Client::new(config), stack).await?;
    held.extend(iam_census(&aws_sdk_iam::Client::new(config)).await?);
    let eks = aws_sdk_eks::Client::new(config);
    let clusters: Vec<String> = eks
        .list_clusters()
        .into_paginator()
        .items()
        .send()
        .collect::<Result<_, _>>()
        .await
        .map_err(failed("eks:ListClusters"))?;
    let mut nodegroups = Vec::new();
    for cluster in &clusters {
        let listed: Vec<String> = eks
            .list_nodegroups()
            .cluster_name(cluster)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<_, _>>()
            .await
            .map_err(failed("eks:ListNodegroups"))?;
        nodegroups.extend(listed);
    }
    held.insert("aws:eks/cluster", clusters);
    held.insert("aws:eks/nodegroup", nodegroups);
    let log_groups = aws_sdk_cloudwatchlogs::Client::new(config)
        .describe_log_groups()
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .map_err(failed("logs:DescribeLogGroups"))?;
    held.insert(
        "aws:logs/logGroup",
        log_groups
            .iter()
            .filter_map(|g| g.log_group_name().map(str::to_owned))
            .collect(),
    );
    let zones = aws_sdk_route53::Client::new(config)
        .list_hosted_zones()
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .map_err(failed("route53:ListHostedZones"))?;
    held.insert(
        "aws:route53/hostedZone",
        zones.iter().map(|z| z.name().to_owned()).collect(),
    );
    Ok(held)
}

/// The EC2 objects tagged for `stack`. Deleted NAT gateways stay listed for about an hour
/// (state `deleted`), as on AWS; they are not held.
async fn ec2_census(ec2: &aws_sdk_ec2::Client, stack: &str) -> Result<Census, CensusError> {
    let filter = ec2_filter("tag:girder:stack", [stack]);
    let mut held = Census::new();
    let vpcs = ec2
        .describe_vpcs()
        .filters(filter.clone())
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .map_err(failed("ec2:DescribeVpcs"))?;
    held.insert(
        "aws:ec2/vpc",
        vpcs.iter().map(|v| resource_tag(v.tags())).collect(),
    );
    let subnets = ec2
        .describe_subnets()
        .filters(filter.clone())
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .map_err(failed("ec2:DescribeSubnets"))?;
    held.insert(
        "aws:ec2/subnet",
        subnets.iter().map(|v| resource_tag(v.tags())).collect(),
    );
    let gateways = ec2
        .describe_internet_gateways()
        .filters(filter.clone())
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .map_err(failed("ec2:DescribeInternetGateways"))?;
    held.insert(
        "aws:ec2/internetGateway",
        gateways.iter().map(|v| resource_tag(v.tags())).collect(),
    );
    let tables = ec2
        .describe_route_tables()
        .filters(filter.clone())
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .map_err(failed("ec2:DescribeRouteTables"))?;
    held.insert(
        "aws:ec2/routeTable",
        tables.iter().map(|v| resource_tag(v.tags())).collect(),
    );
    let nats = ec2
        .describe_nat_gateways()
        .filter(filter.clone())
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .map_err(failed("ec2:DescribeNatGateways"))?;
    held.insert(
        "aws:ec2/natGateway",
        nats.iter()
            .filter(|n| n.state() != Some(&NatGatewayState::Deleted))
            .map(|v| resource_tag(v.tags()))
            .collect(),
    );
    // DescribeAddresses has no pagination.
    let addresses = ec2
        .describe_addresses()
        .filters(filter.clone())
        .send()
        .await
        .map_err(failed("ec2:DescribeAddresses"))?;
    held.insert(
        "aws:ec2/eip",
        addresses
            .addresses()
            .iter()
            .map(|v| resource_tag(v.tags()))
            .collect(),
    );
    let groups = ec2
        .describe_security_groups()
        .filters(filter)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .map_err(failed("ec2:DescribeSecurityGroups"))?;
    held.insert(
        "aws:ec2/securityGroup",
        groups.iter().map(|v| resource_tag(v.tags())).collect(),
    );
    // Filtered here rather than by the API: not every EC2 implementation filters flow logs
    // by tag.
    let flow_logs = ec2
        .describe_flow_logs()
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .map_err(failed("ec2:DescribeFlowLogs"))?;
    held.insert(
        "aws:ec2/flowLog",
        flow_logs
            .iter()
            .filter(|v| {
                v.tags()
                    .iter()
                    .any(|t| t.key() == Some("girder:stack") && t.value() == Some(stack))
            })
            .map(|v| resource_tag(v.tags()))
            .collect(),
    );
    Ok(held)
}

/// The account's roles (less AWS's own), customer managed policies and OIDC providers.
async fn iam_census(iam: &aws_sdk_iam::Client) -> Result<Census, CensusError> {
    let mut held = Census::new();
    let roles = iam
        .list_roles()
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .map_err(failed("iam:ListRoles"))?;
    held.insert(
        "aws:iam/role",
        roles
            .iter()
            .map(|r| r.role_name().to_owned())
            .filter(|n| !n.starts_with("AWSServiceRole"))
            .collect(),
    );
    let policies = iam
        .list_policies()
        .scope(aws_sdk_iam::types::PolicyScopeType::Local)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .map_err(failed("iam:ListPolicies"))?;
    held.insert(
        "aws:iam/policy",
        policies
            .iter()
            .filter_map(|p| p.policy_name().map(str::to_owned))
            .collect(),
    );
    // ListOpenIDConnectProviders has no pagination.
    let providers = iam
        .list_open_id_connect_providers()
        .send()
        .await
        .map_err(failed("iam:ListOpenIDConnectProviders"))?;
    held.insert(
        "aws:iam/openIdConnectProvider",
        providers
            .open_id_connect_provider_list()
            .iter()
            .filter_map(|p| p.arn().map(str::to_owned))
            .collect(),
    );
    Ok(held)
}

/// The entries held more than once, by type: `(type, entry, count)`.
///
/// ```
/// use girder_aws::census::{Census, duplicates};
/// let mut held = Census::new();
/// held.insert("aws:ec2/subnet", vec!["a".into(), "b".into(), "a".into()]);
/// assert_eq!(duplicates(&held), [("aws:ec2/subnet", "a".to_owned(), 2)]);
/// ```
pub fn duplicates(held: &Census) -> Vec<(&'static str, String, usize)> {
    let mut found = Vec::new();
    for (type_name, objects) in held {
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for object in objects {
            *counts.entry(object).or_default() += 1;
        }
        found.extend(
            counts
                .into_iter()
                .filter(|(_, n)| *n > 1)
                .map(|(object, n)| (*type_name, object.to_owned(), n)),
        );
    }
    found
}
