//! [`AwsClient`]: a small client of AWS's query and REST-XML protocols, for code that calls
//! AWS beside the layer without an SDK — such as a sandbox playing a Kubernetes cloud
//! controller or external-dns.
//!
//! Requests carry an `Authorization` header with a credential scope (which is how the layer
//! and moto tell the service, the region and the account) but no real signature: moto checks
//! none, and the layer only reads the scope.

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Method};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use crate::error::LayerError;
use crate::xml::Document;

/// How long one call may take before it counts as lost.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The service answered an error.
    #[error("{operation}: {code}: {message}")]
    Aws {
        /// The operation called.
        operation: String,
        /// The HTTP status.
        status: u16,
        /// The error code (`DependencyViolation`, `LoadBalancerNotFound`, …).
        code: String,
        /// The error message.
        message: String,
    },
    /// No answer, or one that is not XML.
    #[error("{operation}: {reason}")]
    Transport {
        /// The operation called.
        operation: String,
        /// What went wrong.
        reason: String,
    },
}

impl CallError {
    /// The AWS error code, if the service answered one.
    pub fn code(&self) -> Option<&str> {
        match self {
            CallError::Aws { code, .. } => Some(code),
            CallError::Transport { .. } => None,
        }
    }

    /// The operation that failed.
    pub fn operation(&self) -> &str {
        match self {
            CallError::Aws { operation, .. } | CallError::Transport { operation, .. } => operation,
        }
    }
}

/// A client of one endpoint (the layer's or moto's) for one account and region.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use girder_aws_layer::client::AwsClient;
///
/// let client = AwsClient::new("http://127.0.0.1:5000", "testing", "us-east-1")?;
/// let vpcs = client
///     .query("ec2", "2016-11-15", "DescribeVpcs", &[])
///     .await?;
/// println!("{}", vpcs.render());
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct AwsClient {
    base: String,
    access_key: String,
    region: String,
    http: Client<HttpConnector, Full<Bytes>>,
}

impl AwsClient {
    /// A client of `endpoint` (`http://HOST:PORT`) as the account of `access_key` in `region`.
    pub fn new(endpoint: &str, access_key: &str, region: &str) -> Result<AwsClient, LayerError> {
        let parsed = url::Url::parse(endpoint).map_err(|e| LayerError::BadUpstream {
            url: endpoint.to_owned(),
            reason: e.to_string(),
        })?;
        if parsed.scheme() != "http" || parsed.host_str().is_none() {
            return Err(LayerError::BadUpstream {
                url: endpoint.to_owned(),
                reason:
                    "only plain http:// endpoints (the layer or moto on loopback) are supported"
                        .into(),
            });
        }
        Ok(AwsClient {
            base: endpoint.trim_end_matches('/').to_owned(),
            access_key: access_key.to_owned(),
            region: region.to_owned(),
            http: Client::builder(TokioExecutor::new()).build_http(),
        })
    }

    /// The region calls are scoped to.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// A query-protocol call (EC2, classic ELB, IAM, …): `Action`, `Version` and `params` as
    /// a form POST to `/`.
    pub async fn query(
        &self,
        service: &str,
        version: &str,
        action: &str,
        params: &[(String, String)],
    ) -> Result<Document, CallError> {
        // Built before the call: the serializer is not `Send` and must not live across it.
        let form = {
            let mut form = url::form_urlencoded::Serializer::new(String::new());
            form.append_pair("Action", action);
            form.append_pair("Version", version);
            for (name, value) in params {
                form.append_pair(name, value);
            }
            form.finish()
        };
        self.call(
            service,
            action,
            Method::POST,
            "/",
            Some(("application/x-www-form-urlencoded; charset=utf-8", form)),
        )
        .await
    }

    /// A REST-XML call (Route 53, …): `method` on `path_and_query`, with an XML body.
    pub async fn rest_xml(
        &self,
        service: &str,
        operation: &str,
        method: Method,
        path_and_query: &str,
        body: Option<String>,
    ) -> Result<Document, CallError> {
        let body = body.map(|b| ("application/xml", b));
        self.call(service, operation, method, path_and_query, body)
            .await
    }

    async fn call(
        &self,
        service: &str,
        operation: &str,
        method: Method,
        path_and_query: &str,
        body: Option<(&'static str, String)>,
    ) -> Result<Document, CallError> {
        let transport = |reason: String| CallError::Transport {
            operation: operation.to_owned(),
            reason,
        };
        let authorization = format!(
            "AWS4-HMAC-SHA256 Credential={}/20260101/{}/{service}/aws4_request, SignedHeaders=host, Signature=0",
            self.access_key, self.region
        );
        let mut builder = http::Request::builder()
            .method(method)
            .uri(format!("{}{path_and_query}", self.base))
            .header(
                http::header::AUTHORIZATION,
                HeaderValue::from_str(&authorization).map_err(|e| transport(e.to_string()))?,
            );
        let payload = match body {
            Some((content_type, text)) => {
                builder = builder.header(http::header::CONTENT_TYPE, content_type);
                Bytes::from(text)
            }
            None => Bytes::new(),
        };
        let request = builder
            .body(Full::new(payload))
            .map_err(|e| transport(e.to_string()))?;
        let exchange = async {
            let response = self
                .http
                .request(request)
                .await
                .map_err(|e| e.to_string())?;
            let status = response.status();
            let body = response
                .into_body()
                .collect()
                .await
                .map_err(|e| e.to_string())?
                .to_bytes();
            Ok::<_, String>((status, body))
        };
        let (status, body) = tokio::time::timeout(CALL_TIMEOUT, exchange)
            .await
            .map_err(|_| transport(format!("no answer within {CALL_TIMEOUT:?}")))?
            .map_err(transport)?;
        let text = String::from_utf8_lossy(&body);
        let document =
            Document::parse(&text).map_err(|e| transport(format!("HTTP {status}: {e}: {text}")))?;
        if status.is_success() {
            return Ok(document);
        }
        let first = |name: &str| {
            let mut found = None;
            document.root.walk(&mut |e| {
                if found.is_none() && e.local_name() == name {
                    found = Some(e.text());
                }
            });
            found.unwrap_or_default()
        };
        Err(CallError::Aws {
            operation: operation.to_owned(),
            status: status.as_u16(),
            code: first("Code"),
            message: first("Message"),
        })
    }
}
