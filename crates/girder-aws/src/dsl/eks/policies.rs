//! Least-privilege permission documents for common cluster add-ons.

use crate::iam::document::{Condition, IntoArn, PolicyDocument, Statement};

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
/// sets; listing zones has no resource-level permission in Route 53, so it is the one
/// account-wide action.
///
/// ```
/// use girder_aws::HostedZoneArn;
/// let doc = girder_aws::dsl::eks::policies::external_dns([HostedZoneArn::from_zone_id("Z123")]);
/// assert_eq!(doc.len(), 2);
/// ```
pub fn external_dns<A: IntoArn>(zones: impl IntoIterator<Item = A>) -> PolicyDocument {
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
