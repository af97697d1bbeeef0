//! The `aws` provider package: every resource type, the configuration, the rate limit.

use girder_engine::RateLimit;
use girder_engine::typed::TypedPackage;

use crate::clients::{AwsClients, AwsSettings};
use crate::dynamodb::table::TableResource;
use crate::ec2::eip::EipResource;
use crate::ec2::flow_log::FlowLogResource;
use crate::ec2::internet_gateway::InternetGatewayResource;
use crate::ec2::nat_gateway::NatGatewayResource;
use crate::ec2::route::RouteResource;
use crate::ec2::route_table::{RouteTableAssociationResource, RouteTableResource};
use crate::ec2::security_group::{SecurityGroupResource, SecurityGroupRuleResource};
use crate::ec2::subnet::SubnetResource;
use crate::ec2::vpc::VpcResource;
use crate::eks::access_entry::AccessEntryResource;
use crate::eks::addon::AddonResource;
use crate::eks::cluster::ClusterResource;
use crate::eks::nodegroup::NodegroupResource;
use crate::iam::instance_profile::InstanceProfileResource;
use crate::iam::oidc::OidcProviderResource;
use crate::iam::policy::{PolicyResource, RolePolicyAttachmentResource, RolePolicyResource};
use crate::iam::role::RoleResource;
use crate::logs::LogGroupResource;
use crate::route53::hosted_zone::HostedZoneResource;
use crate::s3::bucket::BucketResource;

/// The package name: the prefix of the type tokens (`aws:ec2/vpc`).
pub const PACKAGE: &str = "aws";

/// Provider calls per second and burst. One girder call makes one to a few AWS requests;
/// EC2's mutating-call buckets refill at about 5 per second and IAM allows less, while the SDK
/// and the engine both back off on throttling — so a modest steady rate keeps large applies
/// out of throttling without slowing small ones.
pub const RATE_LIMIT: RateLimit = RateLimit {
    per_second: 10,
    burst: 40,
};

/// The AWS provider package, configured from the standard AWS chain (`Value::Null`) or a
/// provider node's `region` / `endpoint_url` / `profile`.
///
/// ```
/// use girder_engine::provider::ProviderPackage;
/// let aws = girder_aws::package();
/// assert_eq!(aws.name(), "aws");
/// assert!(aws.schema("aws:ec2/vpc").is_some());
/// ```
pub fn package() -> TypedPackage<AwsClients> {
    package_with(AwsSettings::default())
}

/// The AWS provider package with settings under every instance's configuration (tests point
/// it at an emulator with fixed credentials; a counter in the settings counts requests).
pub fn package_with(settings: AwsSettings) -> TypedPackage<AwsClients> {
    TypedPackage::new(PACKAGE, move |config| {
        let settings = settings.clone();
        async move {
            // Nothing is loaded here: the SDK configuration is read on the first API call,
            // so configuring (and planning against an empty state) stays offline.
            let merged = settings.merged_with(&config)?;
            Ok(AwsClients::new(merged))
        }
    })
    .resource(VpcResource)
    .resource(SubnetResource)
    .resource(InternetGatewayResource)
    .resource(EipResource)
    .resource(NatGatewayResource)
    .resource(RouteTableResource)
    .resource(RouteResource)
    .resource(RouteTableAssociationResource)
    .resource(SecurityGroupResource)
    .resource(SecurityGroupRuleResource)
    .resource(FlowLogResource)
    .resource(LogGroupResource)
    .resource(RoleResource)
    .resource(RolePolicyResource)
    .resource(RolePolicyAttachmentResource)
    .resource(PolicyResource)
    .resource(InstanceProfileResource)
    .resource(OidcProviderResource)
    .resource(ClusterResource)
    .resource(NodegroupResource)
    .resource(AddonResource)
    .resource(AccessEntryResource)
    .resource(HostedZoneResource)
    .resource(BucketResource)
    .resource(TableResource)
    .rate_limit(RATE_LIMIT)
    // Pods too big for every node of the program's nodegroups never schedule, and an IRSA
    // role whose ServiceAccount no workload runs as is assumed by nothing; both rules need
    // the Kubernetes package's objects beside this package's resources.
    .cross_package_check(crate::checks::across_packages)
}
