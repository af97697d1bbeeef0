//! The call to STS that turns a presigned `GetCallerIdentity` URL into an identity, made as
//! aws-iam-authenticator makes it: a GET of the URL with `x-k8s-aws-id: CLUSTER` and
//! `accept: application/json`, no redirects, to the configured endpoint only.

use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use url::Url;

use super::presigned::{CLUSTER_ID_HEADER, Presigned, TokenError};
use crate::error::EmulatorError;

/// Which kind of STS server answers at the endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StsFlavor {
    /// AWS STS (or anything that answers presigned URLs like it): the presigned GET is sent
    /// exactly as aws-iam-authenticator sends it.
    #[default]
    Aws,
    /// moto's server, which routes a request to a service and identifies the caller only
    /// from an `Authorization` header: the GET also carries one that repeats the token's
    /// credential scope, signed headers and signature. (moto verifies no signature; the
    /// emulator checks what it can itself, see [`crate::EksAuthentication::signing_secrets`].)
    Moto,
}

/// The STS endpoint tokens must be presigned for, and the only host the emulator calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StsEndpoint {
    url: Url,
    flavor: StsFlavor,
    extra_roots_pem: Vec<String>,
}

impl StsEndpoint {
    /// An AWS-flavoured endpoint, such as `https://sts.eu-west-1.amazonaws.com` or a loopback
    /// STS emulator. The URL must have no path (or `/`), no query and no credentials.
    pub fn new(url: &str) -> Result<StsEndpoint, EmulatorError> {
        let parsed = Url::parse(url).map_err(|e| {
            EmulatorError::Config(format!(
                "the STS endpoint {url:?} is not a URL ({e}); use e.g. http://127.0.0.1:5000 or https://sts.us-east-1.amazonaws.com"
            ))
        })?;
        if !matches!(parsed.scheme(), "http" | "https")
            || parsed.host_str().is_none()
            || parsed.path() != "/"
            || parsed.query().is_some()
            || !parsed.username().is_empty()
        {
            return Err(EmulatorError::Config(format!(
                "the STS endpoint {url:?} must be an http(s) URL with a host and no path, query or credentials (like http://127.0.0.1:5000)"
            )));
        }
        Ok(StsEndpoint {
            url: parsed,
            flavor: StsFlavor::Aws,
            extra_roots_pem: Vec::new(),
        })
    }

    /// A moto server's endpoint (see [`StsFlavor::Moto`]).
    pub fn moto(url: &str) -> Result<StsEndpoint, EmulatorError> {
        Ok(StsEndpoint::new(url)?.flavor(StsFlavor::Moto))
    }

    /// Sets the flavor.
    pub fn flavor(mut self, flavor: StsFlavor) -> StsEndpoint {
        self.flavor = flavor;
        self
    }

    /// Trusts an extra CA (PEM) for an `https` endpoint, besides the system's roots.
    pub fn trust_ca_pem(mut self, pem: impl Into<String>) -> StsEndpoint {
        self.extra_roots_pem.push(pem.into());
        self
    }

    /// The endpoint URL.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// Which kind of STS server answers.
    pub fn sts_flavor(&self) -> StsFlavor {
        self.flavor
    }
}

/// What STS says about a caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StsIdentity {
    pub arn: String,
    pub account: String,
    pub user_id: String,
}

type HttpsClient = Client<hyper_rustls::HttpsConnector<HttpConnector>, Empty<Bytes>>;

/// An HTTP client bound to one endpoint.
#[derive(Clone)]
pub(crate) struct StsClient {
    endpoint: StsEndpoint,
    client: HttpsClient,
}

impl std::fmt::Debug for StsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StsClient")
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

/// How long one STS call may take.
const STS_TIMEOUT: Duration = Duration::from_secs(15);

/// Attempts at one GetCallerIdentity, as the AWS SDK's standard retry mode makes.
const STS_ATTEMPTS: u32 = 4;

/// How one STS attempt failed.
enum Attempt {
    /// Worth another attempt (5xx, throttling, no answer).
    Transient(String),
    /// Another attempt would fail the same way (the token is refused).
    Final(String),
}

impl StsClient {
    pub fn new(endpoint: StsEndpoint) -> Result<StsClient, EmulatorError> {
        let mut roots = rustls::RootCertStore::empty();
        if endpoint.url.scheme() == "https" {
            let native = rustls_native_certs::load_native_certs();
            for cert in native.certs {
                let _ = roots.add(cert);
            }
            for pem in &endpoint.extra_roots_pem {
                use rustls::pki_types::pem::PemObject as _;
                for cert in rustls::pki_types::CertificateDer::pem_slice_iter(pem.as_bytes()) {
                    let cert = cert.map_err(|e| {
                        EmulatorError::Config(format!(
                            "the STS endpoint's extra CA is not PEM: {e}"
                        ))
                    })?;
                    roots.add(cert).map_err(|e| {
                        EmulatorError::Config(format!(
                            "the STS endpoint's extra CA is invalid: {e}"
                        ))
                    })?;
                }
            }
        }
        let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| EmulatorError::Tls(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .build();
        Ok(StsClient {
            endpoint,
            client: Client::builder(TokioExecutor::new()).build(connector),
        })
    }

    /// GETs the presigned URL (at the configured endpoint) and reads the identity.
    ///
    /// Transient STS failures (5xx, throttling, no answer) are retried a few times with
    /// backoff, as the EKS authenticator's AWS SDK client does: one throttled or lost STS
    /// answer must not turn a valid token into a 401.
    pub async fn caller_identity(
        &self,
        token: &Presigned,
        cluster: &str,
    ) -> Result<StsIdentity, TokenError> {
        let mut delay = Duration::from_millis(100);
        let mut attempt = 1;
        loop {
            match self.caller_identity_once(token, cluster).await {
                Err(Attempt::Transient(message)) if attempt < STS_ATTEMPTS => {
                    tracing::debug!(attempt, %message, "STS failed transiently; retrying");
                    tokio::time::sleep(delay).await;
                    delay *= 2;
                    attempt += 1;
                }
                Err(Attempt::Transient(message) | Attempt::Final(message)) => {
                    return Err(TokenError::Sts(message));
                }
                Ok(identity) => return Ok(identity),
            }
        }
    }

    async fn caller_identity_once(
        &self,
        token: &Presigned,
        cluster: &str,
    ) -> Result<StsIdentity, Attempt> {
        let sts_error = |m: String| Attempt::Final(m);
        let transient = |m: String| Attempt::Transient(m);
        // The token's host was checked against the endpoint; the request goes to the
        // endpoint itself, with the token's query.
        let mut url = self.endpoint.url.clone();
        url.set_query(token.url.query());
        let mut request = hyper::Request::get(url.as_str())
            .header(CLUSTER_ID_HEADER, cluster)
            .header(hyper::header::ACCEPT, "application/json");
        if self.endpoint.flavor == StsFlavor::Moto {
            let param = |n: &str| token.params.get(n).cloned().unwrap_or_default();
            request = request.header(
                hyper::header::AUTHORIZATION,
                format!(
                    "AWS4-HMAC-SHA256 Credential={}, SignedHeaders={}, Signature={}",
                    param("x-amz-credential"),
                    param("x-amz-signedheaders"),
                    param("x-amz-signature")
                ),
            );
        }
        let request = request
            .body(Empty::<Bytes>::new())
            .map_err(|e| sts_error(e.to_string()))?;
        let response = tokio::time::timeout(STS_TIMEOUT, self.client.request(request))
            .await
            .map_err(|_| {
                transient(format!(
                    "error during GET: no answer within {STS_TIMEOUT:?}"
                ))
            })?
            .map_err(|e| transient(format!("error during GET: {e}")))?;
        let status = response.status();
        let body = tokio::time::timeout(STS_TIMEOUT, response.into_body().collect())
            .await
            .map_err(|_| transient("error reading HTTP result: timed out".into()))?
            .map_err(|e| transient(format!("error reading HTTP result: {e}")))?
            .to_bytes();
        let text = String::from_utf8_lossy(&body);
        if status != hyper::StatusCode::OK {
            let message = format!(
                "error from AWS (expected 200, got {}). Body: {}",
                status.as_u16(),
                text.chars().take(500).collect::<String>()
            );
            let throttled = text.contains("Throttl") || text.contains("RequestLimitExceeded");
            return Err(
                if status.is_server_error() || status.as_u16() == 429 || throttled {
                    transient(message)
                } else {
                    sts_error(message)
                },
            );
        }
        parse_identity(&text).map_err(sts_error)
    }
}

/// Reads a `GetCallerIdentity` answer: JSON (what STS sends for `accept: application/json`)
/// or XML (the query protocol's default, and what moto sends).
pub(crate) fn parse_identity(body: &str) -> Result<StsIdentity, String> {
    let trimmed = body.trim_start();
    let identity = if trimmed.starts_with('{') {
        let value: serde_json::Value = serde_json::from_str(trimmed)
            .map_err(|e| format!("the GetCallerIdentity answer is not JSON: {e}"))?;
        let result = value
            .pointer("/GetCallerIdentityResponse/GetCallerIdentityResult")
            .ok_or("the GetCallerIdentity answer has no GetCallerIdentityResult")?;
        let field = |name: &str| {
            result
                .get(name)
                .and_then(serde_json::Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        StsIdentity {
            arn: field("Arn"),
            account: field("Account"),
            user_id: field("UserId"),
        }
    } else {
        let result = xml_element(trimmed, "GetCallerIdentityResult")
            .ok_or("the GetCallerIdentity answer has no GetCallerIdentityResult")?;
        let field = |name: &str| {
            xml_element(result, name)
                .map(xml_unescape)
                .unwrap_or_default()
        };
        StsIdentity {
            arn: field("Arn"),
            account: field("Account"),
            user_id: field("UserId"),
        }
    };
    if identity.arn.is_empty() {
        return Err("the GetCallerIdentity answer has no Arn".into());
    }
    Ok(identity)
}

/// The text between `<name>` (or `<name attr…>`) and `</name>`.
fn xml_element<'a>(xml: &'a str, name: &str) -> Option<&'a str> {
    let open = format!("<{name}");
    let mut from = 0;
    while let Some(found) = xml[from..].find(&open) {
        let start = from + found + open.len();
        let rest = &xml[start..];
        match rest.chars().next() {
            Some('>') => {
                let body = &rest[1..];
                return body.find(&format!("</{name}>")).map(|end| &body[..end]);
            }
            Some(c) if c.is_whitespace() => {
                let body = &rest[rest.find('>')? + 1..];
                return body.find(&format!("</{name}>")).map(|end| &body[..end]);
            }
            _ => from = start,
        }
    }
    None
}

fn xml_unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_and_xml_answers() {
        let json = r#"{"GetCallerIdentityResponse":{"GetCallerIdentityResult":{"Account":"123456789012","Arn":"arn:aws:iam::123456789012:user/Alice","UserId":"AIDAEXAMPLE"},"ResponseMetadata":{"RequestId":"r"}}}"#;
        let xml = r#"<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><UserId>AROA1:s&amp;1</UserId><Account>123456789012</Account><Arn>arn:aws:sts::123456789012:assumed-role/R/s&amp;1</Arn></GetCallerIdentityResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></GetCallerIdentityResponse>"#;
        assert_eq!(
            parse_identity(json).unwrap(),
            StsIdentity {
                arn: "arn:aws:iam::123456789012:user/Alice".into(),
                account: "123456789012".into(),
                user_id: "AIDAEXAMPLE".into()
            }
        );
        let from_xml = parse_identity(xml).unwrap();
        assert_eq!(from_xml.arn, "arn:aws:sts::123456789012:assumed-role/R/s&1");
        assert_eq!(from_xml.user_id, "AROA1:s&1");
        assert!(parse_identity("<Error><Code>InvalidClientTokenId</Code></Error>").is_err());
        assert!(parse_identity("{}").is_err());
    }

    #[test]
    fn endpoints_are_plain_urls() {
        assert!(StsEndpoint::new("http://127.0.0.1:5000").is_ok());
        assert!(StsEndpoint::new("https://sts.us-east-1.amazonaws.com/").is_ok());
        for bad in [
            "127.0.0.1:5000",
            "ftp://x",
            "http://h/path",
            "http://h/?q=1",
            "http://u:p@h",
        ] {
            assert!(StsEndpoint::new(bad).is_err(), "{bad}");
        }
    }
}
