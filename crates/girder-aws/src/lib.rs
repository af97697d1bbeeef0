//! girder's AWS provider, on the official `aws-sdk-*` crates, and its typed DSL.
//!
//! - [`package`]: the `aws` provider package (VPC networking, IAM, CloudWatch Logs, EKS,
//!   Route 53, S3, DynamoDB), with
//!   credentials and region from the standard AWS chain.
//! - [`dsl`]: builders and typed handles — [`Vpc`](dsl::vpc::Vpc), [`Eks`](dsl::eks::Eks),
//!   IAM roles and policies, security groups, log groups, Route 53 hosted zones, S3 buckets,
//!   DynamoDB tables.
//! - [`eks_token`]: Kubernetes bearer tokens for EKS clusters (aws-iam-authenticator format).
//!
//! ```
//! use girder_core::Stack;
//! use girder_aws::prelude::*;
//! let mut s = Stack::new("dev");
//! let vpc = Vpc::new("main")
//!     .cidr("10.10.0.0/16")
//!     .azs(["us-east-1a", "us-east-1b", "us-east-1c"])
//!     .public_subnets(Auto)
//!     .private_subnets(Auto)
//!     .nat(Nat::Single)
//!     .add(&mut s);
//! s.export("vpc_id", vpc.id());
//! assert!(s.finish().is_ok());
//! ```

pub(crate) mod attempts;
pub mod census;
mod checks;
pub mod clients;
pub mod dsl;
pub mod dynamodb;
pub mod ec2;
pub mod eks;
pub mod error;
pub mod iam;
pub mod ids;
pub mod logs;
pub mod provider;
pub mod route53;
pub mod s3;
pub mod seed;
pub mod tags;
mod util;

pub use clients::{ApiCalls, AwsClients, AwsSettings};
pub use eks::kubeconfig::{KubeconfigCluster, kubeconfig_yaml, write_kubeconfig};
pub use eks::token::eks_token;
pub use error::AwsError;
pub use ids::*;
pub use provider::{PACKAGE, package, package_with};

/// Everything a program needs to describe AWS infrastructure.
pub mod prelude {
    pub use crate::dsl::cidr::Tier;
    pub use crate::dsl::dynamodb::{AttributeType, Billing, Table, TableHandle};
    pub use crate::dsl::eks::{
        AccessEntry, AccessPolicy, AccessScope, Addon, Api, Audit, AuthenticationMode,
        Authenticator, Capacity, ControllerManager, Eks, EksHandle, Endpoint, OnDemand, Scheduler,
        Spot, TaintEffect, policies,
    };
    pub use crate::dsl::iam::{
        IamRole, IamRoleHandle, InstanceProfile, ManagedPolicy, OidcProvider,
    };
    pub use crate::dsl::logs::LogGroup;
    pub use crate::dsl::network::{Rule, SecurityGroup};
    pub use crate::dsl::route53::{HostedZone, HostedZoneHandle};
    pub use crate::dsl::s3::{Bucket, BucketHandle, Encryption, PublicAccessBlock};
    pub use crate::dsl::vpc::{Auto, Azs, FlowLogs, Nat, Subnets, Traffic, Vpc, VpcHandle};
    pub use crate::iam::document::{Condition, PolicyDocument, Principal, Statement};
    pub use crate::ids::*;
}
