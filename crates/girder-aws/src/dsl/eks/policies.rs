//! Least-privilege permission documents for common cluster add-ons.

use girder_core::IntoInput;

use crate::iam::document::{Condition, PolicyDocument, Statement};
use crate::ids::HostedZoneArn;

/// What cluster-autoscaler needs (auto-discovery mode): describe everything, but change the
/// size of and terminate instances in only the Auto Scaling groups tagged as owned by
/// `cluster` (`k8s.io/cluster-autoscaler/<cluster>: owned`, which EKS puts on managed
/// nodegroups' groups).
///
/// ```
/// let doc = girder_aws::dsl::eks::policies::cluster_autoscaler("prod");
/// assert_eq!(doc.len(), 2);
/// ```
pub fn cluster_autoscaler(cluster: &str) -> PolicyDocument {
    PolicyDocument::new()
        .statement(
            Statement::allow([
                "autoscaling:SetDesiredCapacity",
                "autoscaling:TerminateInstanceInAutoScalingGroup",
            ])
            .sid("ScaleOwnedGroups")
            .resource("*")
            .condition(Condition::string_equals(
                format!("aws:ResourceTag/k8s.io/cluster-autoscaler/{cluster}"),
                "owned",
            )),
        )
        .statement(
            Statement::allow([
                "autoscaling:DescribeAutoScalingGroups",
                "autoscaling:DescribeAutoScalingInstances",
                "autoscaling:DescribeLaunchConfigurations",
                "autoscaling:DescribeScalingActivities",
                "autoscaling:DescribeTags",
                "ec2:DescribeImages",
                "ec2:DescribeInstanceTypes",
                "ec2:DescribeLaunchTemplateVersions",
                "ec2:GetInstanceTypesFromInstanceRequirements",
                "eks:DescribeNodegroup",
            ])
            .sid("Discover")
            .resource("*"),
        )
}

/// What external-dns needs to manage records in `zones` only: change and list their record
/// sets and read their tags; listing zones has no resource-level permission in Route 53, so
/// it is the one account-wide action.
///
/// The zones are typed ARNs — a [`HostedZone`](crate::dsl::route53::HostedZone)'s
/// `arn()` output, or a [`HostedZoneArn`] of a zone made elsewhere — so the role cannot be
/// pointed at anything but hosted zones, and a zone of the program is created first.
///
/// ```
/// use girder_core::Stack;
/// use girder_aws::HostedZoneArn;
/// use girder_aws::dsl::eks::policies;
/// use girder_aws::dsl::route53::HostedZone;
/// let mut s = Stack::new("dev");
/// let zone = HostedZone::new("example.com").add(&mut s);
/// let doc = policies::external_dns([zone.arn()]);
/// assert_eq!(doc.len(), 2);
/// // A zone this program does not manage:
/// let other = policies::external_dns([HostedZoneArn::from_zone_id("Z123")]);
/// assert_eq!(other.len(), 2);
/// ```
pub fn external_dns<Z: IntoInput<HostedZoneArn>>(
    zones: impl IntoIterator<Item = Z>,
) -> PolicyDocument {
    let zones: Vec<girder_core::Output<HostedZoneArn>> = zones
        .into_iter()
        .map(|zone| zone.into_input().into_output())
        .collect();
    PolicyDocument::new()
        .statement(
            Statement::allow([
                "route53:ChangeResourceRecordSets",
                "route53:ListResourceRecordSets",
                "route53:ListTagsForResource",
            ])
            .sid("ManageZoneRecords")
            .resources(zones),
        )
        .statement(
            Statement::allow(["route53:ListHostedZones"])
                .sid("FindZones")
                .resource("*"),
        )
}
