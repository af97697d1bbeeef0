//! The Kubernetes bearer token for an EKS cluster, made the way aws-iam-authenticator (and
//! `aws eks get-token`) makes it: a presigned STS `GetCallerIdentity` URL whose signature
//! covers the `x-k8s-aws-id: <cluster>` header, valid for 60 seconds, base64url-encoded without
//! padding after the `k8s-aws-v1.` prefix. The cluster's authenticator calls STS with that URL
//! to learn who the caller is.

use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_credential_types::provider::ProvideCredentials;
use aws_sigv4::http_request::{
    SignableBody, SignableRequest, SignatureLocation, SigningSettings, sign,
};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::clients::AwsSettings;
use crate::error::AwsError;

/// The token prefix the Kubernetes authenticator expects.
pub const TOKEN_PREFIX: &str = "k8s-aws-v1.";
/// The header naming the cluster, covered by the signature.
pub const CLUSTER_ID_HEADER: &str = "x-k8s-aws-id";
/// How long a presigned URL is valid (the authenticator accepts up to 15 minutes; 60 seconds is
/// what aws-iam-authenticator uses).
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(60);

/// The STS endpoint of a region.
fn sts_host(region: &str) -> String {
    let suffix = if region.starts_with("cn-") {
        "amazonaws.com.cn"
    } else {
        "amazonaws.com"
    };
    format!("sts.{region}.{suffix}")
}

/// Makes a token for `cluster` from fixed credentials, signed at `time`.
///
/// ```
/// use std::time::SystemTime;
/// use aws_credential_types::Credentials;
/// let credentials = Credentials::new("AKIDEXAMPLE", "secret", None, None, "example");
/// let token = girder_aws::eks::token::presigned_token("prod", "eu-west-1", &credentials, SystemTime::now()).unwrap();
/// assert!(token.starts_with("k8s-aws-v1."));
/// ```
pub fn presigned_token(
    cluster: &str,
    region: &str,
    credentials: &Credentials,
    time: SystemTime,
) -> Result<String, AwsError> {
    presigned_token_for(
        cluster,
        region,
        &format!("https://{}", sts_host(region)),
        credentials,
        time,
    )
}

/// Like [`presigned_token`], presigned for another STS endpoint (`http://127.0.0.1:4566`, a
/// FIPS or VPC endpoint): the cluster's authenticator calls exactly that endpoint, so a
/// program using `AWS_ENDPOINT_URL` gets tokens its sandboxed clusters can verify.
///
/// ```
/// use std::time::SystemTime;
/// use aws_credential_types::Credentials;
/// let credentials = Credentials::new("AKIDEXAMPLE", "secret", None, None, "example");
/// let token = girder_aws::eks::token::presigned_token_for(
///     "prod", "us-east-1", "http://127.0.0.1:4566", &credentials, SystemTime::now(),
/// ).unwrap();
/// assert!(token.starts_with("k8s-aws-v1."));
/// ```
pub fn presigned_token_for(
    cluster: &str,
    region: &str,
    endpoint: &str,
    credentials: &Credentials,
    time: SystemTime,
) -> Result<String, AwsError> {
    let signing_error = |e: &dyn std::fmt::Display| AwsError::Signing {
        what: "STS GetCallerIdentity URL",
        message: e.to_string(),
    };
    let base = format!(
        "{}/?Action=GetCallerIdentity&Version=2011-06-15",
        endpoint.trim_end_matches('/')
    );
    let identity: Identity = credentials.clone().into();
    let mut settings = SigningSettings::default();
    settings.signature_location = SignatureLocation::QueryParams;
    settings.expires_in = Some(TOKEN_LIFETIME);
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("sts")
        .time(time)
        .settings(settings)
        .build()
        .map_err(|e| signing_error(&e))?
        .into();
    let request = SignableRequest::new(
        "GET",
        &base,
        [(CLUSTER_ID_HEADER, cluster)].into_iter(),
        SignableBody::Bytes(&[]),
    )
    .map_err(|e| signing_error(&e))?;
    let (instructions, _signature) = sign(request, &params)
        .map_err(|e| signing_error(&e))?
        .into_parts();
    let mut url = url::Url::parse(&base).map_err(|e| signing_error(&e))?;
    {
        let mut query = url.query_pairs_mut();
        for (name, value) in instructions.params() {
            query.append_pair(name, value);
        }
    }
    Ok(format!(
        "{TOKEN_PREFIX}{}",
        URL_SAFE_NO_PAD.encode(url.as_str())
    ))
}

/// A Kubernetes bearer token for the EKS cluster `cluster_name`, from the standard AWS chain
/// (environment, profile, SSO, instance metadata); `region` overrides the chain's region.
///
/// This is what girder's Kubernetes provider calls for a provider node whose `auth` is
/// `{"kind": "aws-eks", "cluster": …, "region": …}`.
pub async fn eks_token(cluster_name: &str, region: Option<&str>) -> Result<String, AwsError> {
    let mut settings = AwsSettings::default();
    if let Some(region) = region {
        settings = settings.region(region);
    }
    token_with(&settings, cluster_name).await
}

/// Like [`eks_token`], with explicit settings (profile, fixed credentials).
pub async fn token_with(settings: &AwsSettings, cluster_name: &str) -> Result<String, AwsError> {
    let config = settings.load().await;
    let region = config
        .region()
        .map(|r| r.as_ref().to_owned())
        .ok_or_else(|| AwsError::NoRegion {
            for_what: Some(format!("the token of EKS cluster `{cluster_name}`")),
        })?;
    let provider = config
        .credentials_provider()
        .ok_or_else(|| AwsError::Credentials {
            message: "no credential provider is configured".into(),
        })?;
    let credentials = provider
        .provide_credentials()
        .await
        .map_err(|e| AwsError::Credentials {
            message: e.to_string(),
        })?;
    // The endpoint in use (`AWS_ENDPOINT_URL_STS`, else the configuration's
    // `AWS_ENDPOINT_URL`), else the region's public STS endpoint.
    let endpoint = std::env::var("AWS_ENDPOINT_URL_STS")
        .ok()
        .filter(|e| !e.trim().is_empty())
        .or_else(|| config.endpoint_url().map(str::to_owned));
    match endpoint {
        Some(endpoint) => presigned_token_for(
            cluster_name,
            &region,
            &endpoint,
            &credentials,
            SystemTime::now(),
        ),
        None => presigned_token(cluster_name, &region, &credentials, SystemTime::now()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(token: &str) -> url::Url {
        let encoded = token.strip_prefix(TOKEN_PREFIX).expect("prefix");
        assert!(!encoded.contains('='), "no padding");
        assert!(
            !encoded.contains('+') && !encoded.contains('/'),
            "url-safe alphabet"
        );
        let bytes = URL_SAFE_NO_PAD.decode(encoded).expect("base64url");
        url::Url::parse(std::str::from_utf8(&bytes).unwrap()).unwrap()
    }

    #[test]
    fn token_has_the_authenticator_format() {
        let credentials = Credentials::new(
            "AKIDEXAMPLE",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            Some("session".into()),
            None,
            "test",
        );
        let time = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let token = presigned_token("yolo", "us-east-1", &credentials, time).unwrap();
        let url = decode(&token);
        assert_eq!(url.scheme(), "https");
        assert_eq!(url.host_str(), Some("sts.us-east-1.amazonaws.com"));
        let query: std::collections::BTreeMap<String, String> =
            url.query_pairs().into_owned().collect();
        assert_eq!(query["Action"], "GetCallerIdentity");
        assert_eq!(query["Version"], "2011-06-15");
        assert_eq!(query["X-Amz-Algorithm"], "AWS4-HMAC-SHA256");
        assert_eq!(
            query["X-Amz-Credential"],
            "AKIDEXAMPLE/20231114/us-east-1/sts/aws4_request"
        );
        assert_eq!(query["X-Amz-Date"], "20231114T221320Z");
        assert_eq!(query["X-Amz-Expires"], "60");
        assert_eq!(query["X-Amz-SignedHeaders"], "host;x-k8s-aws-id");
        assert_eq!(query["X-Amz-Security-Token"], "session");
        assert_eq!(query["X-Amz-Signature"].len(), 64);
        // Deterministic for the same inputs; another cluster signs differently.
        assert_eq!(
            token,
            presigned_token("yolo", "us-east-1", &credentials, time).unwrap()
        );
        let other = decode(&presigned_token("other", "us-east-1", &credentials, time).unwrap());
        let other_query: std::collections::BTreeMap<String, String> =
            other.query_pairs().into_owned().collect();
        assert_ne!(other_query["X-Amz-Signature"], query["X-Amz-Signature"]);
    }

    #[test]
    fn china_regions_use_their_domain() {
        assert_eq!(sts_host("cn-north-1"), "sts.cn-north-1.amazonaws.com.cn");
    }
}
