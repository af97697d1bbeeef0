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
typed_id!(
    /// The id of a Route 53 hosted zone, such as `Z0123456789ABCDEFGHIJ` (without the
    /// `/hostedzone/` prefix some API responses carry).
    HostedZoneId
);
typed_id!(
    /// The name of an S3 bucket, such as `acme-girder-state`.
    BucketName
);
typed_id!(
    /// The ARN of an S3 bucket, such as `arn:aws:s3:::acme-girder-state`.
    BucketArn
);
typed_id!(
    /// The name of a DynamoDB table, such as `girder-locks`.
    TableName
);
typed_id!(
    /// The ARN of a DynamoDB table, such as
    /// `arn:aws:dynamodb:us-east-1:123456789012:table/girder-locks`.
    TableArn
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

impl HostedZoneId {
    /// The id without the `/hostedzone/` prefix that `CreateHostedZone` and `GetHostedZone`
    /// put before it.
    ///
    /// ```
    /// use girder_aws::HostedZoneId;
    /// assert_eq!(HostedZoneId::from_api("/hostedzone/Z123").as_str(), "Z123");
    /// assert_eq!(HostedZoneId::from_api("Z123").as_str(), "Z123");
    /// ```
    pub fn from_api(id: &str) -> HostedZoneId {
        HostedZoneId::new(id.trim_start_matches("/hostedzone/"))
    }

    /// The zone's ARN.
    ///
    /// ```
    /// use girder_aws::HostedZoneId;
    /// assert_eq!(
    ///     HostedZoneId::new("Z123").arn().as_str(),
    ///     "arn:aws:route53:::hostedzone/Z123"
    /// );
    /// ```
    pub fn arn(&self) -> HostedZoneArn {
        HostedZoneArn::from_zone_id(self.as_str())
    }
}

impl BucketArn {
    /// The ARN of the bucket named `bucket`.
    ///
    /// ```
    /// use girder_aws::{BucketArn, BucketName};
    /// assert_eq!(
    ///     BucketArn::of(&BucketName::new("acme-state")).as_str(),
    ///     "arn:aws:s3:::acme-state"
    /// );
    /// ```
    pub fn of(bucket: &BucketName) -> BucketArn {
        BucketArn::new(format!("arn:aws:s3:::{bucket}"))
    }
}
