//! EKS token authentication: a `k8s-aws-v1.` token is decoded and checked, its signature is
//! verified locally when the caller's secret key is known, STS is asked who signed it, and
//! the caller's access entry gives the Kubernetes user, groups and access policies.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use super::presigned::{self, DecodeRules, TokenError};
use super::sts::{StsClient, StsEndpoint, StsFlavor};
use crate::error::EmulatorError;

/// Secret access keys the emulator may use to verify token signatures itself.
///
/// STS verifies the signature of a presigned URL — and with it that the token was made for
/// this cluster, since the signature covers the `x-k8s-aws-id` header the verifier sends.
/// STS emulators such as moto verify nothing, so without this a token made for another
/// cluster would be accepted.
pub trait SigningSecrets: Send + Sync + std::fmt::Debug {
    /// The secret access key of `access_key_id`, if known.
    fn secret_access_key(&self, access_key_id: &str) -> Option<String>;
}

/// A fixed table of access key ids and their secret keys.
///
/// ```
/// use girder_kube_emulator::{SigningSecrets, StaticSigningSecrets};
/// let secrets = StaticSigningSecrets::new().key("AKIAEXAMPLE", "secret");
/// assert_eq!(secrets.secret_access_key("AKIAEXAMPLE").as_deref(), Some("secret"));
/// ```
#[derive(Clone, Default)]
pub struct StaticSigningSecrets {
    keys: HashMap<String, String>,
}

impl std::fmt::Debug for StaticSigningSecrets {
    /// Names the access key ids only: secret keys stay out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut ids: Vec<&String> = self.keys.keys().collect();
        ids.sort();
        f.debug_struct("StaticSigningSecrets")
            .field("access_key_ids", &ids)
            .finish()
    }
}

impl StaticSigningSecrets {
    /// An empty table.
    pub fn new() -> StaticSigningSecrets {
        StaticSigningSecrets::default()
    }

    /// Adds a key.
    pub fn key(mut self, access_key_id: impl Into<String>, secret: impl Into<String>) -> Self {
        self.keys.insert(access_key_id.into(), secret.into());
        self
    }
}

impl SigningSecrets for StaticSigningSecrets {
    fn secret_access_key(&self, access_key_id: &str) -> Option<String> {
        self.keys.get(access_key_id).cloned()
    }
}

/// EKS token authentication of one cluster.
///
/// ```
/// use std::time::Duration;
/// use girder_kube_emulator::{EksAuthentication, StaticSigningSecrets, StsEndpoint};
///
/// let eks = EksAuthentication::new("yolo", StsEndpoint::moto("http://127.0.0.1:5000").unwrap())
///     .signing_secrets(StaticSigningSecrets::new().key("AKIAEXAMPLE", "secret"))
///     .cache_ttl(Duration::from_secs(60));
/// assert_eq!(eks.cluster_name(), "yolo");
/// ```
#[derive(Debug, Clone)]
pub struct EksAuthentication {
    cluster_name: String,
    sts: StsEndpoint,
    signing_secrets: Option<Arc<dyn SigningSecrets>>,
    cache_ttl: Duration,
    max_clock_skew: Duration,
    honour_expires: bool,
}

impl EksAuthentication {
    /// Tokens for the cluster `cluster_name`, presigned for `sts` (the only host called).
    /// Verified identities are cached for 2 minutes (the API server's webhook token cache)
    /// but never past the token's expiry; `X-Amz-Date` may be up to 5 minutes ahead.
    pub fn new(cluster_name: impl Into<String>, sts: StsEndpoint) -> EksAuthentication {
        EksAuthentication {
            cluster_name: cluster_name.into(),
            sts,
            signing_secrets: None,
            cache_ttl: Duration::from_secs(120),
            max_clock_skew: Duration::from_secs(300),
            honour_expires: false,
        }
    }

    /// Verifies signatures locally with these secret keys (see [`SigningSecrets`]); a token
    /// signed with a known key and a wrong signature is refused without calling STS.
    pub fn signing_secrets(mut self, secrets: impl SigningSecrets + 'static) -> Self {
        self.signing_secrets = Some(Arc::new(secrets));
        self
    }

    /// How long a verified token is remembered (0 disables the cache).
    pub fn cache_ttl(mut self, ttl: Duration) -> Self {
        self.cache_ttl = ttl;
        self
    }

    /// How far in the future a token's `X-Amz-Date` may be.
    pub fn max_clock_skew(mut self, skew: Duration) -> Self {
        self.max_clock_skew = skew;
        self
    }

    /// Expire tokens after their `X-Amz-Expires` (at most 15 minutes) instead of 15 minutes
    /// after signing, which is what STS enforces.
    pub fn honour_x_amz_expires(mut self, honour: bool) -> Self {
        self.honour_expires = honour;
        self
    }

    /// The cluster name tokens must be made for.
    pub fn cluster_name(&self) -> &str {
        &self.cluster_name
    }

    /// The STS endpoint.
    pub fn sts(&self) -> &StsEndpoint {
        &self.sts
    }
}

/// `arn:P:iam::A:user/N` for moto's `arn:P:sts::A:user/N`.
fn moto_user(arn: &str) -> Option<String> {
    let parsed = super::arn::parse(arn).ok()?;
    let name = parsed.resource.strip_prefix("user/")?;
    (parsed.service == "sts" && !name.is_empty()).then(|| {
        format!(
            "arn:{}:iam::{}:user/{name}",
            parsed.partition, parsed.account
        )
    })
}

/// Who signed a token, as STS says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CallerIdentity {
    pub arn: String,
    pub canonical_arn: String,
    pub account: String,
    pub user_id: String,
    pub access_key_id: String,
}

#[derive(Debug, Clone)]
struct Cached {
    identity: CallerIdentity,
    until: SystemTime,
}

/// The running verifier of one cluster's tokens.
#[derive(Debug)]
pub(crate) struct EksVerifier {
    config: EksAuthentication,
    sts: StsClient,
    cache: Mutex<HashMap<String, Cached>>,
}

impl EksVerifier {
    pub fn new(config: EksAuthentication) -> Result<EksVerifier, EmulatorError> {
        if config.cluster_name.is_empty() {
            return Err(EmulatorError::Config(
                "EKS authentication needs the cluster name tokens are made for".into(),
            ));
        }
        Ok(EksVerifier {
            sts: StsClient::new(config.sts.clone())?,
            config,
            cache: Mutex::new(HashMap::new()),
        })
    }

    pub fn cluster_name(&self) -> &str {
        &self.config.cluster_name
    }

    /// Verifies a token at time `now`.
    pub async fn verify(&self, token: &str, now: SystemTime) -> Result<CallerIdentity, TokenError> {
        if let Some(hit) = self.cached(token, now) {
            return Ok(hit);
        }
        let decoded = presigned::decode(
            token,
            &DecodeRules {
                endpoint: self.config.sts.url(),
                now,
                max_clock_skew: self.config.max_clock_skew,
                honour_expires: self.config.honour_expires,
            },
        )?;
        if let Some(secret) = self
            .config
            .signing_secrets
            .as_ref()
            .and_then(|s| s.secret_access_key(&decoded.access_key_id))
            && !decoded.signature_matches(&secret, &self.config.cluster_name)
        {
            return Err(TokenError::Signature);
        }
        let sts = self
            .sts
            .caller_identity(&decoded, &self.config.cluster_name)
            .await?;
        let canonical_arn = match moto_user(&sts.arn) {
            // moto names the caller of credentials it has no user for `…:sts::ACCOUNT:user/NAME`;
            // it stands for the IAM user.
            Some(user) if self.config.sts.sts_flavor() == StsFlavor::Moto => user,
            _ => super::arn::canonicalize(&sts.arn).map_err(TokenError::Sts)?,
        };
        if sts.user_id.split(':').count() > 2 {
            return Err(TokenError::Sts(format!(
                "malformed UserID {:?}",
                sts.user_id
            )));
        }
        let identity = CallerIdentity {
            arn: sts.arn,
            canonical_arn,
            account: sts.account,
            user_id: sts.user_id,
            access_key_id: decoded.access_key_id.clone(),
        };
        if !self.config.cache_ttl.is_zero() {
            let until = (now + self.config.cache_ttl).min(decoded.expires_at);
            let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
            cache.retain(|_, c| c.until > now);
            cache.insert(
                token.to_string(),
                Cached {
                    identity: identity.clone(),
                    until,
                },
            );
        }
        Ok(identity)
    }

    fn cached(&self, token: &str, now: SystemTime) -> Option<CallerIdentity> {
        let cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        cache
            .get(token)
            .filter(|c| c.until > now)
            .map(|c| c.identity.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::moto_user;

    #[test]
    fn motos_sts_user_arns_stand_for_iam_users() {
        assert_eq!(
            moto_user("arn:aws:sts::123456789012:user/moto").as_deref(),
            Some("arn:aws:iam::123456789012:user/moto")
        );
        assert_eq!(
            moto_user("arn:aws:sts::123456789012:assumed-role/Admin/me"),
            None
        );
        assert_eq!(moto_user("arn:aws:iam::123456789012:user/alice"), None);
    }
}
