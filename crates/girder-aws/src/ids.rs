//! Typed ids of AWS resources: a `SubnetId` cannot be passed where a `VpcId` is expected.

use girder_core::typed_id;

typed_id!(
    /// The id of a VPC, such as `vpc-0a1b2c3d`.
    VpcId
);
typed_id!(
    /// The id of a subnet, such as `subnet-0a1b2c3d`.
    SubnetId
);
typed_id!(
    /// The id of a route table, such as `rtb-0a1b2c3d`.
    RouteTableId
);
typed_id!(
    /// The id of a NAT gateway, such as `nat-0a1b2c3d`.
    NatGatewayId
);
typed_id!(
    /// The id of an internet gateway, such as `igw-0a1b2c3d`.
    InternetGatewayId
);
typed_id!(
    /// The allocation id of an Elastic IP, such as `eipalloc-0a1b2c3d`.
    AllocationId
);
typed_id!(
    /// The id of a security group, such as `sg-0a1b2c3d`.
    SecurityGroupId
);
typed_id!(
    /// The id of a security group rule, such as `sgr-0a1b2c3d`.
    SecurityGroupRuleId
);
typed_id!(
    /// The id of a VPC flow log, such as `fl-0a1b2c3d`.
    FlowLogId
);
typed_id!(
    /// The name of a CloudWatch Logs log group, such as `/aws/eks/prod/cluster`.
    LogGroupName
);
typed_id!(
    /// The ARN of an IAM role.
    RoleArn
);
typed_id!(
    /// The name of an IAM role.
    RoleName
);
typed_id!(
    /// The ARN of an IAM managed policy (AWS managed or customer managed).
    PolicyArn
);
typed_id!(
    /// The ARN of an IAM instance profile.
    InstanceProfileArn
);
typed_id!(
    /// The ARN of an IAM OpenID Connect identity provider.
    OidcProviderArn
);
typed_id!(
    /// The name of an EKS cluster.
    ClusterName
);
typed_id!(
    /// The ARN of an EKS cluster.
    ClusterArn
);
typed_id!(
    /// The name of an EKS managed nodegroup.
    NodegroupName
);
typed_id!(
    /// The ARN of a Route 53 hosted zone, such as `arn:aws:route53:::hostedzone/Z123`.
    HostedZoneArn
);

impl PolicyArn {
    /// The ARN of an AWS managed policy, such as `AmazonEKSClusterPolicy`.
    ///
    /// ```
    /// use girder_aws::PolicyArn;
    /// assert_eq!(
    ///     PolicyArn::aws_managed("AmazonEKSClusterPolicy").as_str(),
    ///     "arn:aws:iam::aws:policy/AmazonEKSClusterPolicy"
    /// );
    /// ```
    pub fn aws_managed(name: &str) -> PolicyArn {
        PolicyArn::new(format!("arn:aws:iam::aws:policy/{name}"))
    }
}

impl HostedZoneArn {
    /// The ARN of the hosted zone with id `zone_id` (with or without the `/hostedzone/` prefix).
    ///
    /// ```
    /// use girder_aws::HostedZoneArn;
    /// assert_eq!(
    ///     HostedZoneArn::from_zone_id("/hostedzone/Z123").as_str(),
    ///     "arn:aws:route53:::hostedzone/Z123"
    /// );
    /// ```
    pub fn from_zone_id(zone_id: &str) -> HostedZoneArn {
        let id = zone_id.trim_start_matches("/hostedzone/");
        HostedZoneArn::new(format!("arn:aws:route53:::hostedzone/{id}"))
    }
}
