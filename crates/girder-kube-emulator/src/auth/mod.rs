//! Authentication: who sends a request. Off by default (every request acts as a cluster
//! admin, as in the emulator's plain-HTTP tests); with static bearer tokens; or as an EKS
//! cluster authenticates, with `k8s-aws-v1.` tokens verified through STS and mapped by the
//! cluster's access entries.
//!
//! A failed authentication is a 401 `Unauthorized` Status, whatever the cause (the cause is
//! logged at `info`). As on EKS (1.32 and later), requests without credentials reach only
//! `/healthz`, `/livez` and `/readyz`.

pub(crate) mod arn;
mod eks;
pub(crate) mod presigned;
mod sts;

use std::collections::BTreeMap;
use std::sync::Arc;

use http::HeaderMap;

pub use eks::{EksAuthentication, SigningSecrets, StaticSigningSecrets};
pub use sts::{StsEndpoint, StsFlavor};

use crate::access::{AccessPolicyAssociation, AccessSource};
use crate::clock::Clock;
use crate::error::{ApiError, EmulatorError};
use eks::EksVerifier;
use presigned::TokenError;

/// A Kubernetes user (`user.Info`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserInfo {
    /// The username RBAC subjects of kind `User` name.
    pub username: String,
    /// A unique id.
    pub uid: String,
    /// Groups (`system:authenticated` is added to every authenticated user).
    pub groups: Vec<String>,
    /// Extra attributes (for EKS callers: `arn`, `canonicalArn`, `sessionName`,
    /// `accessKeyId`, `principalId`).
    pub extra: BTreeMap<String, Vec<String>>,
}

impl UserInfo {
    /// A user with a name and no groups.
    pub fn new(username: impl Into<String>) -> UserInfo {
        UserInfo {
            username: username.into(),
            uid: String::new(),
            groups: Vec::new(),
            extra: BTreeMap::new(),
        }
    }

    /// Sets the groups.
    pub fn groups<I, S>(mut self, groups: I) -> UserInfo
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.groups = groups.into_iter().map(Into::into).collect();
        self
    }

    /// `kubernetes-admin` in `system:masters`: what an admin kubeconfig authenticates as.
    pub fn cluster_admin() -> UserInfo {
        UserInfo::new("kubernetes-admin").groups(["system:masters"])
    }
}

/// Bearer tokens and the users they stand for.
///
/// ```
/// use girder_kube_emulator::{StaticTokens, UserInfo};
/// let tokens = StaticTokens::new()
///     .token("admin-token", UserInfo::cluster_admin())
///     .token("ci-token", UserInfo::new("ci").groups(["deployers"]));
/// assert_eq!(tokens.user("ci-token").unwrap().username, "ci");
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct StaticTokens {
    tokens: BTreeMap<String, UserInfo>,
}

impl std::fmt::Debug for StaticTokens {
    /// Names the users only: tokens stay out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let users: Vec<&str> = self.tokens.values().map(|u| u.username.as_str()).collect();
        f.debug_struct("StaticTokens")
            .field("users", &users)
            .finish()
    }
}

impl StaticTokens {
    /// No tokens.
    pub fn new() -> StaticTokens {
        StaticTokens::default()
    }

    /// Adds a token.
    pub fn token(mut self, token: impl Into<String>, user: UserInfo) -> StaticTokens {
        self.tokens.insert(token.into(), user);
        self
    }

    /// The user of a token.
    pub fn user(&self, token: &str) -> Option<&UserInfo> {
        self.tokens.get(token)
    }

    /// Whether there are no tokens.
    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }
}

/// How the emulator authenticates requests.
#[derive(Debug, Clone, Default)]
pub enum Authentication {
    /// No authentication or authorization: every request acts as a cluster admin.
    #[default]
    None,
    /// Bearer tokens from a table; requests without one of them get 401.
    Tokens(StaticTokens),
    /// EKS: `k8s-aws-v1.` tokens verified through STS and mapped by the cluster's access
    /// entries (from the emulator's [`AccessSource`]), plus the static tokens of
    /// [`crate::KubeEmulatorBuilder::static_token`] (the admin kubeconfig's among them).
    Eks(EksAuthentication),
}

/// An authenticated caller.
#[derive(Debug, Clone)]
pub(crate) struct Principal {
    pub user: UserInfo,
    /// EKS access policies associated with the caller's access entry.
    pub policies: Vec<AccessPolicyAssociation>,
    /// A request without credentials (allowed only on the health endpoints).
    pub anonymous: bool,
}

/// The running authenticator.
#[derive(Debug)]
pub(crate) struct Authenticator {
    enabled: bool,
    tokens: StaticTokens,
    eks: Option<EksVerifier>,
    access: Option<Arc<dyn AccessSource>>,
    clock: Arc<dyn Clock>,
}

impl Authenticator {
    /// Builds the authenticator; `tokens` are the static tokens (admin included).
    pub fn new(
        mode: Authentication,
        tokens: StaticTokens,
        access: Option<Arc<dyn AccessSource>>,
        clock: Arc<dyn Clock>,
    ) -> Result<Authenticator, EmulatorError> {
        let (enabled, tokens, eks) = match mode {
            Authentication::None => (false, tokens, None),
            Authentication::Tokens(own) => {
                let mut all = tokens;
                all.tokens.extend(own.tokens);
                (true, all, None)
            }
            Authentication::Eks(config) => {
                if access.is_none() {
                    return Err(EmulatorError::Config(format!(
                        "EKS authentication of cluster `{}` needs an access source: call KubeEmulatorBuilder::access_source",
                        config.cluster_name()
                    )));
                }
                (true, tokens, Some(EksVerifier::new(config)?))
            }
        };
        Ok(Authenticator {
            enabled,
            tokens,
            eks,
            access,
            clock,
        })
    }

    /// Whether requests are authenticated at all.
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// The caller of a request: `Ok(None)` when authentication is off.
    pub async fn authenticate(
        &self,
        headers: &HeaderMap,
        path: &str,
    ) -> Result<Option<Principal>, ApiError> {
        if !self.enabled {
            return Ok(None);
        }
        let Some(token) = bearer_token(headers) else {
            if crate::authz::is_health_path(path) {
                return Ok(Some(Principal {
                    user: UserInfo::new("system:anonymous").groups(["system:unauthenticated"]),
                    policies: Vec::new(),
                    anonymous: true,
                }));
            }
            tracing::info!(path, "unauthorized: no bearer token");
            return Err(ApiError::unauthorized());
        };
        if let Some(user) = self.tokens.user(token) {
            return Ok(Some(Principal {
                user: authenticated(user.clone()),
                policies: Vec::new(),
                anonymous: false,
            }));
        }
        let outcome = match &self.eks {
            Some(eks) if token.starts_with(presigned::TOKEN_PREFIX) => {
                self.eks_principal(eks, token).await
            }
            _ => Err(TokenError::Format("unknown bearer token".into())),
        };
        outcome.map(Some).map_err(|e| {
            tracing::info!(path, error = %e, "unauthorized");
            ApiError::unauthorized()
        })
    }

    async fn eks_principal(&self, eks: &EksVerifier, token: &str) -> Result<Principal, TokenError> {
        let identity = eks.verify(token, self.clock.now()).await?;
        let access = self
            .access
            .as_ref()
            .ok_or_else(|| TokenError::NoAccessEntry(identity.canonical_arn.clone()))?;
        let entries = access
            .access_entries(eks.cluster_name())
            .await
            .map_err(|e| TokenError::Sts(e.to_string()))?;
        let entry = entries
            .iter()
            .find(|e| e.matches(&identity.canonical_arn))
            .ok_or_else(|| TokenError::NoAccessEntry(identity.canonical_arn.clone()))?;
        let session = arn::session_name(&identity.arn).unwrap_or_default();
        let mut user = UserInfo::new(entry.username_for(&identity.arn, &identity.account))
            .groups(entry.kubernetes_groups.iter().cloned());
        user.uid = format!(
            "aws-iam-authenticator:{}:{}",
            identity.account, identity.user_id
        );
        for (key, value) in [
            ("arn", identity.arn.as_str()),
            ("canonicalArn", identity.canonical_arn.as_str()),
            ("sessionName", session),
            ("accessKeyId", identity.access_key_id.as_str()),
            ("principalId", identity.user_id.as_str()),
        ] {
            user.extra.insert(key.to_string(), vec![value.to_string()]);
        }
        Ok(Principal {
            user: authenticated(user),
            policies: entry.access_policies.clone(),
            anonymous: false,
        })
    }
}

fn authenticated(mut user: UserInfo) -> UserInfo {
    if !user.groups.iter().any(|g| g == "system:authenticated") {
        user.groups.push("system:authenticated".into());
    }
    user
}

/// The token of an `Authorization: Bearer TOKEN` header.
fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}
