//! The provider's client bundle: AWS SDK clients built from the standard configuration chain
//! (environment, profiles, SSO, instance metadata; `AWS_ENDPOINT_URL`, `AWS_REGION`), loaded
//! lazily on the first API call so that configuring a provider never touches the network.
//!
//! Every client carries an interceptor that counts the requests it sends, per operation, so
//! tests and benchmarks can report API calls per refresh. The SDK's own retries are off: the
//! engine retries (and counts) every request, and looks for what a lost create made before
//! creating again.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use aws_config::BehaviorVersion;
use aws_credential_types::Credentials;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::http::SharedHttpClient;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use aws_smithy_types::retry::RetryConfig;
use aws_types::region::Region;
use girder_core::Value;
use girder_engine::ProviderError;
use tokio::sync::OnceCell;

use crate::attempts::Attempts;
use crate::ec2::buckets::{BucketedHttpClient, Ec2Buckets};
use crate::error::AwsError;

/// The SDK's default HTTPS client (hyper 1 with rustls and aws-lc, the proxy from the
/// environment), made explicitly so the EC2 client can wrap it: a client configuration
/// either names its HTTP client or gets this one implicitly, with no way to wrap that.
fn default_https_client() -> SharedHttpClient {
    use aws_smithy_http_client::proxy::ProxyConfig;
    use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
    use aws_smithy_http_client::{Builder, ConnectorBuilder};
    Builder::new().build_with_connector_fn(|settings, components| {
        let mut connector =
            ConnectorBuilder::default().tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc));
        connector.set_connector_settings(settings.cloned());
        if let Some(components) = components {
            connector.set_sleep_impl(components.sleep_impl());
        }
        connector.set_proxy_config(Some(ProxyConfig::from_env()));
        connector.build()
    })
}

/// Counts the AWS requests sent, per `Service.Operation` (retries included: each is a request).
///
/// ```
/// use girder_aws::ApiCalls;
/// let calls = ApiCalls::default();
/// assert_eq!(calls.total(), 0);
/// ```
#[derive(Clone, Default)]
pub struct ApiCalls {
    counts: Arc<Mutex<BTreeMap<String, u64>>>,
}

impl fmt::Debug for ApiCalls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.snapshot()).finish()
    }
}

impl ApiCalls {
    fn record(&self, key: String) {
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        *counts.entry(key).or_default() += 1;
    }

    /// Requests per `Service.Operation` so far.
    pub fn snapshot(&self) -> BTreeMap<String, u64> {
        self.counts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// All requests so far.
    pub fn total(&self) -> u64 {
        self.snapshot().values().sum()
    }

    /// Forgets the counts (between phases of a test).
    pub fn reset(&self) {
        self.counts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }
}

#[derive(Clone, Debug)]
struct CountingInterceptor(ApiCalls);

impl Intercept for CountingInterceptor {
    fn name(&self) -> &'static str {
        "girder-api-call-counter"
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let key = cfg
            .load::<Metadata>()
            .map(|m| format!("{}.{}", m.service(), m.name()))
            .unwrap_or_else(|| "unknown".to_owned());
        self.0.record(key);
        Ok(())
    }
}

/// How the AWS provider is configured; unset fields come from the standard AWS chain.
///
/// ```
/// use girder_aws::AwsSettings;
/// let settings = AwsSettings::default().region("eu-west-1");
/// assert_eq!(settings.region.as_deref(), Some("eu-west-1"));
/// ```
#[derive(Clone, Debug, Default)]
pub struct AwsSettings {
    /// The region (else `AWS_REGION`, the profile's region, instance metadata).
    pub region: Option<String>,
    /// The endpoint of every service (else `AWS_ENDPOINT_URL`); for emulators such as moto.
    pub endpoint_url: Option<String>,
    /// The profile (else `AWS_PROFILE`, else `default`).
    pub profile: Option<String>,
    /// Fixed credentials (else the chain: environment, profile, SSO, instance metadata).
    pub credentials: Option<Credentials>,
    /// Where requests are counted.
    pub calls: ApiCalls,
    /// EC2's per-API request rate limits, which the EC2 client waits under (EC2's published
    /// limits unless set).
    pub ec2_buckets: Ec2Buckets,
}

impl AwsSettings {
    /// Sets the region.
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }

    /// Sets the endpoint of every service.
    pub fn endpoint_url(mut self, url: impl Into<String>) -> Self {
        self.endpoint_url = Some(url.into());
        self
    }

    /// Sets the profile.
    pub fn profile(mut self, profile: impl Into<String>) -> Self {
        self.profile = Some(profile.into());
        self
    }

    /// Uses fixed credentials.
    pub fn credentials(mut self, credentials: Credentials) -> Self {
        self.credentials = Some(credentials);
        self
    }

    /// Sets the EC2 request rate limits the EC2 client keeps under (tests shape them like
    /// their emulator's; `enabled: false` sends as fast as the engine allows).
    pub fn ec2_buckets(mut self, buckets: Ec2Buckets) -> Self {
        self.ec2_buckets = buckets;
        self
    }

    /// Counts requests into `calls` (share one counter between settings and a test).
    pub fn count_calls(mut self, calls: ApiCalls) -> Self {
        self.calls = calls;
        self
    }

    /// These settings with a provider node's configuration on top: an object with optional
    /// `region`, `endpoint_url` and `profile` strings (`null` keeps these settings).
    pub fn merged_with(mut self, config: &Value) -> Result<AwsSettings, AwsError> {
        let Some(object) = config.as_object() else {
            return match config {
                Value::Null => Ok(self),
                other => Err(AwsError::InvalidSetting {
                    field: "config",
                    value: other.kind_name().to_owned(),
                    message: "an AWS provider is configured with an object such as `{\"region\": \"eu-west-1\"}`".into(),
                }),
            };
        };
        for (key, value) in object {
            let text = match value {
                Value::Null => continue,
                Value::String(s) => s.clone(),
                other => {
                    return Err(AwsError::InvalidSetting {
                        field: "config",
                        value: format!("{key} = {}", other.display()),
                        message: "AWS provider settings are strings".into(),
                    });
                }
            };
            match key.as_str() {
                "region" => self.region = Some(text),
                "endpoint_url" => self.endpoint_url = Some(text),
                "profile" => self.profile = Some(text),
                other => {
                    return Err(AwsError::InvalidSetting {
                        field: "config",
                        value: other.to_owned(),
                        message: "known settings are `region`, `endpoint_url` and `profile`".into(),
                    });
                }
            }
        }
        Ok(self)
    }

    /// Loads the SDK configuration (may read files and, for the region, instance metadata).
    pub async fn load(&self) -> aws_types::SdkConfig {
        let mut loader = aws_config::defaults(BehaviorVersion::latest());
        if let Some(region) = &self.region {
            loader = loader.region(Region::new(region.clone()));
        }
        if let Some(url) = &self.endpoint_url {
            loader = loader.endpoint_url(url.clone());
        }
        if let Some(profile) = &self.profile {
            loader = loader.profile_name(profile.clone());
        }
        if let Some(credentials) = &self.credentials {
            loader = loader.credentials_provider(credentials.clone());
        }
        loader.load().await
    }
}

/// The SDK clients of one configured provider.
#[derive(Clone, Debug)]
pub struct Sdk {
    /// EC2 (VPC networking).
    pub ec2: aws_sdk_ec2::Client,
    /// IAM.
    pub iam: aws_sdk_iam::Client,
    /// EKS.
    pub eks: aws_sdk_eks::Client,
    /// CloudWatch Logs.
    pub logs: aws_sdk_cloudwatchlogs::Client,
    /// STS.
    pub sts: aws_sdk_sts::Client,
    /// Route 53 (a global service: its endpoint does not depend on the region).
    pub route53: aws_sdk_route53::Client,
    /// S3 (path-style addressing when a custom endpoint is configured).
    pub s3: aws_sdk_s3::Client,
    /// DynamoDB.
    pub dynamodb: aws_sdk_dynamodb::Client,
    /// Elastic Load Balancing (classic): what a cluster's cloud controller leaves.
    pub elb: aws_sdk_elasticloadbalancing::Client,
    /// Elastic Load Balancing v2 (application and network): what a cluster's load balancer
    /// controllers leave.
    pub elbv2: aws_sdk_elasticloadbalancingv2::Client,
    /// The region the clients use.
    pub region: String,
}

/// The AWS provider's client bundle (the `C` of its `TypedPackage`): settings now, SDK
/// clients on first use.
pub struct AwsClients {
    settings: AwsSettings,
    sdk: OnceCell<Sdk>,
    attempts: Attempts,
}

impl fmt::Debug for AwsClients {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AwsClients")
            .field("region", &self.settings.region)
            .field("endpoint_url", &self.settings.endpoint_url)
            .field("loaded", &self.sdk.initialized())
            .finish()
    }
}

impl AwsClients {
    /// Clients for `settings`; nothing is loaded until the first call.
    pub fn new(settings: AwsSettings) -> AwsClients {
        AwsClients {
            settings,
            sdk: OnceCell::new(),
            attempts: Attempts::default(),
        }
    }

    /// The settings.
    pub fn settings(&self) -> &AwsSettings {
        &self.settings
    }

    /// The creates whose outcome is still open (their idempotency tokens).
    pub(crate) fn attempts(&self) -> &Attempts {
        &self.attempts
    }

    /// The request counter.
    pub fn calls(&self) -> &ApiCalls {
        &self.settings.calls
    }

    /// The SDK clients, loading the configuration on first use.
    pub async fn sdk(&self) -> Result<&Sdk, ProviderError> {
        self.sdk
            .get_or_try_init(|| async {
                // One retry layer: the engine's. The SDK's standard retries would resend a
                // request up to three times inside every call the engine retries (dozens of
                // requests per call under throttling, none of them counted or journaled), and
                // would resend a create whose response was lost before the engine could look
                // for what the first request made.
                let config = self
                    .settings
                    .load()
                    .await
                    .into_builder()
                    .retry_config(RetryConfig::disabled())
                    .build();
                let region = config
                    .region()
                    .map(|r| r.as_ref().to_owned())
                    .ok_or(AwsError::NoRegion { for_what: None })?;
                let counter = CountingInterceptor(self.settings.calls.clone());
                tracing::debug!(%region, endpoint = ?self.settings.endpoint_url, "AWS clients loaded");
                Ok::<Sdk, ProviderError>(Sdk {
                    ec2: aws_sdk_ec2::Client::from_conf(
                        aws_sdk_ec2::config::Builder::from(&config)
                            .interceptor(counter.clone())
                            .http_client(BucketedHttpClient::new(
                                default_https_client(),
                                self.settings.ec2_buckets,
                            ))
                            .build(),
                    ),
                    iam: aws_sdk_iam::Client::from_conf(
                        aws_sdk_iam::config::Builder::from(&config)
                            .interceptor(counter.clone())
                            .build(),
                    ),
                    eks: aws_sdk_eks::Client::from_conf(
                        aws_sdk_eks::config::Builder::from(&config)
                            .interceptor(counter.clone())
                            .build(),
                    ),
                    logs: aws_sdk_cloudwatchlogs::Client::from_conf(
                        aws_sdk_cloudwatchlogs::config::Builder::from(&config)
                            .interceptor(counter.clone())
                            .build(),
                    ),
                    sts: aws_sdk_sts::Client::from_conf(
                        aws_sdk_sts::config::Builder::from(&config)
                            .interceptor(counter.clone())
                            .build(),
                    ),
                    route53: aws_sdk_route53::Client::from_conf(
                        aws_sdk_route53::config::Builder::from(&config)
                            .interceptor(counter.clone())
                            .build(),
                    ),
                    // An emulator or private endpoint rarely resolves virtual-host bucket
                    // names (`bucket.127.0.0.1`): address buckets by path there.
                    s3: aws_sdk_s3::Client::from_conf(
                        aws_sdk_s3::config::Builder::from(&config)
                            .force_path_style(
                                config.endpoint_url().is_some()
                                    || std::env::var_os("AWS_ENDPOINT_URL_S3").is_some(),
                            )
                            .interceptor(counter.clone())
                            .build(),
                    ),
                    dynamodb: aws_sdk_dynamodb::Client::from_conf(
                        aws_sdk_dynamodb::config::Builder::from(&config)
                            .interceptor(counter.clone())
                            .build(),
                    ),
                    elb: aws_sdk_elasticloadbalancing::Client::from_conf(
                        aws_sdk_elasticloadbalancing::config::Builder::from(&config)
                            .interceptor(counter.clone())
                            .build(),
                    ),
                    elbv2: aws_sdk_elasticloadbalancingv2::Client::from_conf(
                        aws_sdk_elasticloadbalancingv2::config::Builder::from(&config)
                            .interceptor(counter.clone())
                            .build(),
                    ),
                    region,
                })
            })
            .await
    }

    /// The EC2 client.
    pub async fn ec2(&self) -> Result<&aws_sdk_ec2::Client, ProviderError> {
        Ok(&self.sdk().await?.ec2)
    }

    /// The IAM client.
    pub async fn iam(&self) -> Result<&aws_sdk_iam::Client, ProviderError> {
        Ok(&self.sdk().await?.iam)
    }

    /// The EKS client.
    pub async fn eks(&self) -> Result<&aws_sdk_eks::Client, ProviderError> {
        Ok(&self.sdk().await?.eks)
    }

    /// The CloudWatch Logs client.
    pub async fn logs(&self) -> Result<&aws_sdk_cloudwatchlogs::Client, ProviderError> {
        Ok(&self.sdk().await?.logs)
    }

    /// The STS client.
    pub async fn sts(&self) -> Result<&aws_sdk_sts::Client, ProviderError> {
        Ok(&self.sdk().await?.sts)
    }

    /// The Route 53 client.
    pub async fn route53(&self) -> Result<&aws_sdk_route53::Client, ProviderError> {
        Ok(&self.sdk().await?.route53)
    }

    /// The S3 client.
    pub async fn s3(&self) -> Result<&aws_sdk_s3::Client, ProviderError> {
        Ok(&self.sdk().await?.s3)
    }

    /// The DynamoDB client.
    pub async fn dynamodb(&self) -> Result<&aws_sdk_dynamodb::Client, ProviderError> {
        Ok(&self.sdk().await?.dynamodb)
    }

    /// The region.
    pub async fn region(&self) -> Result<&str, ProviderError> {
        Ok(&self.sdk().await?.region)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use girder_core::object;

    #[test]
    fn provider_node_config_overrides_settings() {
        let settings = AwsSettings::default()
            .region("us-east-1")
            .merged_with(&object! { "region" => "eu-west-1", "profile" => Value::Null })
            .unwrap();
        assert_eq!(settings.region.as_deref(), Some("eu-west-1"));
        assert!(settings.profile.is_none());
        let error = AwsSettings::default()
            .merged_with(&object! { "zone" => "x" })
            .unwrap_err();
        assert!(error.to_string().contains("known settings"), "{error}");
    }

    #[tokio::test]
    async fn the_sdk_never_retries_on_its_own() {
        let clients = AwsClients::new(
            AwsSettings::default()
                .region("us-east-1")
                .endpoint_url("http://127.0.0.1:1")
                .credentials(Credentials::new("k", "s", None, None, "test")),
        );
        let sdk = clients.sdk().await.unwrap();
        let attempts = |retry: Option<&RetryConfig>| retry.map(RetryConfig::max_attempts);
        assert_eq!(attempts(sdk.ec2.config().retry_config()), Some(1));
        assert_eq!(attempts(sdk.iam.config().retry_config()), Some(1));
        assert_eq!(attempts(sdk.eks.config().retry_config()), Some(1));
        assert_eq!(attempts(sdk.logs.config().retry_config()), Some(1));
    }

    #[test]
    fn configuring_loads_nothing() {
        let clients = AwsClients::new(AwsSettings::default());
        assert!(!clients.sdk.initialized());
    }
}
