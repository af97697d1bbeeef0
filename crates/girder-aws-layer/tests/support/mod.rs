//! Shared setup: moto on a free port, the layer in front of it on a manual clock, and real
//! SDK clients pointed at the layer.

#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use girder_aws_layer::clock::ManualClock;
use girder_aws_layer::moto::MotoServer;
use girder_aws_layer::{AwsLayer, Behaviours, LayerConfig};

/// moto, the layer and SDK clients.
pub struct Env {
    pub layer: AwsLayer,
    pub clock: Arc<ManualClock>,
    pub config: SdkConfig,
    // Dropped last: the layer forwards to it.
    pub moto: MotoServer,
}

impl Env {
    /// Starts moto and the layer with `behaviours`; clients do not retry, so each call is
    /// one request and its error is what the layer answered.
    pub async fn start(behaviours: Behaviours) -> Env {
        Env::start_with(behaviours, RetryConfig::disabled()).await
    }

    /// Starts with a retry configuration for the clients.
    pub async fn start_with(behaviours: Behaviours, retry: RetryConfig) -> Env {
        let moto =
            MotoServer::start().expect("moto_server must be installed: run scripts/python-deps.sh");
        let clock = Arc::new(ManualClock::new());
        let layer = AwsLayer::start(
            LayerConfig::new(moto.endpoint())
                .behaviours(behaviours)
                .clock(clock.clone()),
        )
        .expect("the layer starts");
        let config = sdk_config(&layer.endpoint(), retry).await;
        Env {
            layer,
            clock,
            config,
            moto,
        }
    }

    /// Moves the layer's clock forward.
    pub fn advance(&self, secs: u64) {
        self.clock.advance(Duration::from_secs(secs));
    }

    pub fn ec2(&self) -> aws_sdk_ec2::Client {
        aws_sdk_ec2::Client::new(&self.config)
    }

    pub fn iam(&self) -> aws_sdk_iam::Client {
        aws_sdk_iam::Client::new(&self.config)
    }

    pub fn eks(&self) -> aws_sdk_eks::Client {
        aws_sdk_eks::Client::new(&self.config)
    }

    pub fn sts(&self) -> aws_sdk_sts::Client {
        aws_sdk_sts::Client::new(&self.config)
    }

    pub fn logs(&self) -> aws_sdk_cloudwatchlogs::Client {
        aws_sdk_cloudwatchlogs::Client::new(&self.config)
    }

    pub fn dynamodb(&self) -> aws_sdk_dynamodb::Client {
        aws_sdk_dynamodb::Client::new(&self.config)
    }

    pub fn route53(&self) -> aws_sdk_route53::Client {
        aws_sdk_route53::Client::new(&self.config)
    }

    pub fn s3(&self) -> aws_sdk_s3::Client {
        aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&self.config)
                .force_path_style(true)
                .build(),
        )
    }

    /// A new VPC's id.
    pub async fn vpc(&self, cidr: &str) -> String {
        self.ec2()
            .create_vpc()
            .cidr_block(cidr)
            .send()
            .await
            .expect("CreateVpc")
            .vpc()
            .and_then(|v| v.vpc_id())
            .expect("a VPC id")
            .to_owned()
    }
}

/// SDK configuration for the layer at `endpoint` with test credentials.
pub async fn sdk_config(endpoint: &str, retry: RetryConfig) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "test"))
        .retry_config(retry)
        .load()
        .await
}

/// Standard retries with three attempts and a millisecond backoff, to observe which errors
/// the SDK's classifiers retry.
pub fn three_quick_attempts() -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(3)
        .with_initial_backoff(Duration::from_millis(1))
        .with_max_backoff(Duration::from_millis(5))
}

/// The trust policy of a role EKS assumes.
pub const EKS_TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"eks.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
