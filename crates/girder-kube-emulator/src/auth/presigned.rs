//! The EKS bearer token: `k8s-aws-v1.` + base64url (no padding) of a presigned STS
//! `GetCallerIdentity` URL. Decoding applies aws-iam-authenticator's checks (`Verify` in
//! `pkg/token/token.go`) plus the ones STS itself makes and moto does not: the signing date
//! is not in the future, and — when the caller's secret key is known — the SigV4 signature,
//! computed over the `x-k8s-aws-id` header as *this* cluster would send it.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use sha2::{Digest, Sha256};
use url::Url;

/// The token prefix.
pub(crate) const TOKEN_PREFIX: &str = "k8s-aws-v1.";
/// The header naming the cluster, which the token's signature must cover.
pub(crate) const CLUSTER_ID_HEADER: &str = "x-k8s-aws-id";
/// Presigned STS URLs are valid for 15 minutes after `X-Amz-Date`, whatever `X-Amz-Expires`
/// says.
pub(crate) const PRESIGNED_URL_LIFETIME: Duration = Duration::from_secs(15 * 60);
/// The authenticator refuses larger tokens.
const MAX_TOKEN_LEN: usize = 4096;
/// The query parameters a token may carry (lower case).
const ALLOWED_PARAMETERS: [&str; 9] = [
    "action",
    "version",
    "x-amz-algorithm",
    "x-amz-credential",
    "x-amz-date",
    "x-amz-expires",
    "x-amz-security-token",
    "x-amz-signature",
    "x-amz-signedheaders",
];

/// Why a token was refused (logged by the emulator; clients only see `Unauthorized`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum TokenError {
    /// The token is not in the EKS format.
    #[error("input token was not properly formatted: {0}")]
    Format(String),
    /// The token's URL points somewhere else than the configured STS endpoint.
    #[error(
        "input token was not properly formatted: unexpected {what} {found:?} in pre-signed URL (expected {expected:?})"
    )]
    Endpoint {
        /// `scheme` or `hostname`.
        what: &'static str,
        /// What the token has.
        found: String,
        /// What the emulator was configured with.
        expected: String,
    },
    /// The signing date is too old.
    #[error("X-Amz-Date parameter is expired ({minutes} minute expiration) {signed}")]
    Expired {
        /// The lifetime in minutes.
        minutes: u64,
        /// When the URL was signed.
        signed: String,
    },
    /// The signing date is in the future.
    #[error(
        "X-Amz-Date {signed} is in the future (more than {skew_seconds} s ahead of the server's clock)"
    )]
    NotYetValid {
        /// When the URL claims it was signed.
        signed: String,
        /// The tolerated clock skew.
        skew_seconds: u64,
    },
    /// The signature does not match this cluster's id (or the credentials).
    #[error(
        "the signature of the pre-signed URL does not match: the token was made for another cluster or with other credentials"
    )]
    Signature,
    /// STS did not confirm the identity.
    #[error("sts getCallerIdentity failed: {0}")]
    Sts(String),
    /// The caller has no access entry in this cluster.
    #[error("the IAM principal {0} has no access entry in this cluster")]
    NoAccessEntry(String),
}

fn format_error(message: impl Into<String>) -> TokenError {
    TokenError::Format(message.into())
}

/// A decoded token that passed the format and time checks.
#[derive(Debug, Clone)]
pub(crate) struct Presigned {
    /// The presigned URL.
    pub url: Url,
    /// Query parameters by lower-case name.
    pub params: BTreeMap<String, String>,
    /// The query parameters as sent.
    pairs: Vec<(String, String)>,
    /// `X-Amz-Date` as a time.
    pub signed_at: SystemTime,
    /// When the token stops being accepted.
    pub expires_at: SystemTime,
    /// The access key id (first element of `X-Amz-Credential`).
    pub access_key_id: String,
    scope_date: String,
    region: String,
    service: String,
    signed_headers: Vec<String>,
}

/// What decoding checks besides the format.
#[derive(Debug, Clone)]
pub(crate) struct DecodeRules<'a> {
    /// The STS endpoint the URL must point at.
    pub endpoint: &'a Url,
    /// The current time.
    pub now: SystemTime,
    /// How far in the future `X-Amz-Date` may be.
    pub max_clock_skew: Duration,
    /// Expire after `X-Amz-Expires` rather than after the 15 minutes STS allows.
    pub honour_expires: bool,
}

/// Decodes and checks a token.
pub(crate) fn decode(token: &str, rules: &DecodeRules<'_>) -> Result<Presigned, TokenError> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(format_error("token is too large"));
    }
    let encoded = token.strip_prefix(TOKEN_PREFIX).ok_or_else(|| {
        format_error(format!("token is missing expected {TOKEN_PREFIX:?} prefix"))
    })?;
    let bytes = URL_SAFE_NO_PAD
        .decode(encoded)
        .map_err(|e| format_error(e.to_string()))?;
    let text = String::from_utf8(bytes).map_err(|e| format_error(e.to_string()))?;
    let url = Url::parse(&text).map_err(|e| format_error(e.to_string()))?;
    check_endpoint(&url, rules.endpoint)?;
    if url.path() != "/" {
        return Err(format_error("unexpected path in pre-signed URL"));
    }
    let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    let mut params = BTreeMap::new();
    for (key, value) in &pairs {
        let lower = key.to_ascii_lowercase();
        if !ALLOWED_PARAMETERS.contains(&lower.as_str()) {
            return Err(format_error(format!(
                "non-whitelisted query parameter {key:?}"
            )));
        }
        if params.insert(lower, value.clone()).is_some() {
            return Err(format_error(
                "query parameter with multiple values not supported",
            ));
        }
    }
    let param = |name: &str| params.get(name).map(String::as_str).unwrap_or_default();
    if param("action") != "GetCallerIdentity" {
        return Err(format_error(
            "unexpected action parameter in pre-signed URL",
        ));
    }
    if param("version") != "2011-06-15" {
        return Err(format_error(format!(
            "unexpected version parameter {:?} in pre-signed URL (expected \"2011-06-15\")",
            param("version")
        )));
    }
    if param("x-amz-algorithm") != "AWS4-HMAC-SHA256" {
        return Err(format_error(format!(
            "unexpected X-Amz-Algorithm {:?} in pre-signed URL (expected \"AWS4-HMAC-SHA256\")",
            param("x-amz-algorithm")
        )));
    }
    let signed_headers: Vec<String> = param("x-amz-signedheaders")
        .split(';')
        .map(str::to_ascii_lowercase)
        .collect();
    if !signed_headers.iter().any(|h| h == CLUSTER_ID_HEADER) {
        return Err(format_error(format!(
            "client did not sign the {CLUSTER_ID_HEADER} header in the pre-signed URL"
        )));
    }
    let expires: i64 = param("x-amz-expires").parse().unwrap_or(-1);
    if !(0..=900).contains(&expires) {
        return Err(format_error(format!(
            "invalid X-Amz-Expires parameter in pre-signed URL: {:?}",
            param("x-amz-expires")
        )));
    }
    let date = param("x-amz-date");
    if date.is_empty() {
        return Err(format_error(
            "X-Amz-Date parameter must be present in pre-signed URL",
        ));
    }
    let signed_at = parse_amz_date(date).ok_or_else(|| {
        format_error(format!(
            "error parsing X-Amz-Date parameter {date} into format 20060102T150405Z"
        ))
    })?;
    let lifetime = if rules.honour_expires {
        Duration::from_secs(expires as u64).min(PRESIGNED_URL_LIFETIME)
    } else {
        PRESIGNED_URL_LIFETIME
    };
    let expires_at = signed_at + lifetime;
    if rules.now > expires_at {
        return Err(TokenError::Expired {
            minutes: lifetime.as_secs() / 60,
            signed: date.to_string(),
        });
    }
    if signed_at > rules.now + rules.max_clock_skew {
        return Err(TokenError::NotYetValid {
            signed: date.to_string(),
            skew_seconds: rules.max_clock_skew.as_secs(),
        });
    }
    let credential: Vec<&str> = param("x-amz-credential").split('/').collect();
    let [access_key_id, scope_date, region, service, "aws4_request"] = credential[..] else {
        return Err(format_error(format!(
            "malformed X-Amz-Credential {:?} in pre-signed URL",
            param("x-amz-credential")
        )));
    };
    if !date.starts_with(scope_date) || service != "sts" || access_key_id.is_empty() {
        return Err(format_error(format!(
            "X-Amz-Credential {:?} does not match X-Amz-Date {date} and the sts service",
            param("x-amz-credential")
        )));
    }
    Ok(Presigned {
        access_key_id: access_key_id.to_string(),
        scope_date: scope_date.to_string(),
        region: region.to_string(),
        service: service.to_string(),
        url,
        params,
        pairs,
        signed_at,
        expires_at,
        signed_headers,
    })
}

fn check_endpoint(url: &Url, endpoint: &Url) -> Result<(), TokenError> {
    if url.scheme() != endpoint.scheme() {
        return Err(TokenError::Endpoint {
            what: "scheme",
            found: url.scheme().to_string(),
            expected: endpoint.scheme().to_string(),
        });
    }
    let host = |u: &Url| {
        format!(
            "{}:{}",
            u.host_str().unwrap_or_default().to_ascii_lowercase(),
            u.port_or_known_default().unwrap_or_default()
        )
    };
    if host(url) != host(endpoint) {
        return Err(TokenError::Endpoint {
            what: "hostname",
            found: host(url),
            expected: host(endpoint),
        });
    }
    Ok(())
}

/// `20060102T150405Z` → time.
pub(crate) fn parse_amz_date(date: &str) -> Option<SystemTime> {
    let parsed = jiff::civil::DateTime::strptime("%Y%m%dT%H%M%SZ", date).ok()?;
    let timestamp = parsed
        .to_zoned_datetime(jiff::tz::TimeZone::UTC)
        .ok()?
        .timestamp();
    SystemTime::try_from(timestamp).ok()
}

/// RFC 3986 unreserved characters stay; everything else is percent-encoded (SigV4's
/// `UriEncode`).
const SIGV4_ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

impl Presigned {
    /// Whether the signature is the one the holder of `secret_key` makes for a GET of this URL
    /// with the `x-k8s-aws-id` header set to `cluster`. The payload hash of an empty body and
    /// `UNSIGNED-PAYLOAD` are both accepted (SDKs differ in what they presign with).
    pub fn signature_matches(&self, secret_key: &str, cluster: &str) -> bool {
        let Some(signature) = self.params.get("x-amz-signature") else {
            return false;
        };
        let mut query: Vec<(String, String)> = self
            .pairs
            .iter()
            .filter(|(k, _)| !k.eq_ignore_ascii_case("x-amz-signature"))
            .map(|(k, v)| {
                (
                    utf8_percent_encode(k, SIGV4_ENCODE).to_string(),
                    utf8_percent_encode(v, SIGV4_ENCODE).to_string(),
                )
            })
            .collect();
        query.sort();
        let canonical_query = query
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&");
        let host = match self.url.port() {
            Some(port) => format!("{}:{port}", self.url.host_str().unwrap_or_default()),
            None => self.url.host_str().unwrap_or_default().to_string(),
        };
        let mut headers = String::new();
        for name in &self.signed_headers {
            let value = match name.as_str() {
                "host" => host.as_str(),
                CLUSTER_ID_HEADER => cluster,
                // The verifier sends no other header: STS could not match such a signature.
                _ => return false,
            };
            headers.push_str(&format!("{name}:{value}\n"));
        }
        let signed = self.signed_headers.join(";");
        let key = aws_sigv4::sign::v4::generate_signing_key(
            secret_key,
            self.signed_at,
            &self.region,
            &self.service,
        );
        let empty_body = hex::encode(Sha256::digest(b""));
        [empty_body.as_str(), "UNSIGNED-PAYLOAD"]
            .into_iter()
            .any(|payload| {
                let canonical_request =
                    format!("GET\n/\n{canonical_query}\n{headers}\n{signed}\n{payload}");
                let string_to_sign = format!(
                    "AWS4-HMAC-SHA256\n{}\n{}/{}/{}/aws4_request\n{}",
                    self.params["x-amz-date"],
                    self.scope_date,
                    self.region,
                    self.service,
                    hex::encode(Sha256::digest(canonical_request.as_bytes()))
                );
                let expected =
                    aws_sigv4::sign::v4::calculate_signature(&key, string_to_sign.as_bytes());
                expected.eq_ignore_ascii_case(signature)
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(url: &str) -> String {
        format!("{TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(url))
    }

    fn url(params: &str) -> String {
        format!(
            "https://sts.us-east-1.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20261201%2Fus-east-1%2Fsts%2Faws4_request&X-Amz-Date=20261201T120000Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host%3Bx-k8s-aws-id&X-Amz-Signature=abc{params}"
        )
    }

    fn rules(endpoint: &Url, now: SystemTime) -> DecodeRules<'_> {
        DecodeRules {
            endpoint,
            now,
            max_clock_skew: Duration::from_secs(300),
            honour_expires: false,
        }
    }

    #[test]
    fn the_authenticators_format_checks() {
        let endpoint = Url::parse("https://sts.us-east-1.amazonaws.com").unwrap();
        let signed = parse_amz_date("20261201T120000Z").unwrap();
        let now = signed + Duration::from_secs(30);
        let ok = decode(&token(&url("")), &rules(&endpoint, now)).unwrap();
        assert_eq!(ok.access_key_id, "AKIDEXAMPLE");
        assert_eq!(ok.expires_at, signed + PRESIGNED_URL_LIFETIME);
        let refused = |t: &str, now: SystemTime| decode(t, &rules(&endpoint, now)).unwrap_err();
        for (bad, why) in [
            ("Bearer-nope".to_string(), "prefix"),
            (format!("{TOKEN_PREFIX}!!!"), "Invalid"),
            (token(&url("&Foo=1")), "non-whitelisted"),
            (token(&url("&Action=GetCallerIdentity")), "multiple values"),
            (
                token(&url("").replace("GetCallerIdentity", "AssumeRole")),
                "action",
            ),
            (
                token(&url("").replace("2011-06-15", "2012-01-01")),
                "version",
            ),
            (
                token(&url("").replace("host%3Bx-k8s-aws-id", "host")),
                "x-k8s-aws-id",
            ),
            (
                token(&url("").replace("X-Amz-Expires=60", "X-Amz-Expires=901")),
                "X-Amz-Expires",
            ),
            (
                token(&url("").replace("amazonaws.com/?", "amazonaws.com/x?")),
                "path",
            ),
            (
                token(&url("").replace("sts.us-east-1", "evil.example")),
                "hostname",
            ),
            (token(&url("").replace("https", "http")), "scheme"),
            (
                token(&url("").replace("20261201T120000Z", "yesterday")),
                "X-Amz-Date",
            ),
        ] {
            let message = refused(&bad, now).to_string();
            assert!(message.contains(why), "{bad}: {message}");
        }
        let late = signed + PRESIGNED_URL_LIFETIME + Duration::from_secs(1);
        assert!(matches!(
            refused(&token(&url("")), late),
            TokenError::Expired { minutes: 15, .. }
        ));
        let early = signed - Duration::from_secs(301);
        assert!(matches!(
            refused(&token(&url("")), early),
            TokenError::NotYetValid { .. }
        ));
        // With X-Amz-Expires honoured, 60 seconds is the limit.
        let strict = DecodeRules {
            honour_expires: true,
            ..rules(&endpoint, signed + Duration::from_secs(61))
        };
        assert!(matches!(
            decode(&token(&url("")), &strict),
            Err(TokenError::Expired { minutes: 1, .. })
        ));
    }

    #[test]
    fn amz_dates_parse_as_utc() {
        let t = parse_amz_date("20231114T221320Z").unwrap();
        assert_eq!(
            t.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs(),
            1_700_000_000
        );
        assert!(parse_amz_date("2023-11-14").is_none());
    }
}
