//! [`K8sError`]: everything that goes wrong in the Kubernetes provider, with context, and its
//! classification into the engine's [`ErrorKind`]s (which decide retries).

use girder_core::Diagnostics;
use girder_engine::provider::{ErrorKind, ProviderError};

/// An error of the Kubernetes provider, its configuration, manifests or rendering.
#[derive(Debug, thiserror::Error)]
pub enum K8sError {
    /// A kubeconfig could not be read or used.
    #[error("cannot use the kubeconfig {source_desc}: {message}")]
    Kubeconfig {
        /// Which kubeconfig (path, `$KUBECONFIG`, or the in-program cluster).
        source_desc: String,
        /// What kube reported, with the fix.
        message: String,
    },
    /// A provider node's configuration is not usable.
    #[error("invalid Kubernetes provider configuration: {0}")]
    Config(String),
    /// No [`TokenSource`](crate::TokenSource) is registered for an `auth.kind`.
    #[error(
        "no token source is registered for Kubernetes auth kind `{kind}` (known: {known}); register one with `K8sPackage::with_token_source(\"{kind}\", ..)` (the `girder` facade registers `aws-eks` when the `aws` feature is on), or set GIRDER_KUBECONFIG to use a kubeconfig instead"
    )]
    NoTokenSource {
        /// The requested kind.
        kind: String,
        /// The registered kinds.
        known: String,
    },
    /// A manifest is not a Kubernetes object girder can manage.
    #[error("invalid manifest{}: {message}", doc.map(|d| format!(" (document {d})")).unwrap_or_default())]
    Manifest {
        /// The YAML document number (1-based), when parsing multi-document YAML.
        doc: Option<usize>,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// An API call failed.
    #[error("{operation} {object}: {message}")]
    Api {
        /// What girder was doing (`apply`, `get`, `delete`, …).
        operation: &'static str,
        /// The object (`Deployment default/backend`).
        object: String,
        /// The API server's message, with the fix where girder knows it.
        message: String,
        /// The class of failure.
        kind: ErrorKind,
        /// The API reason (`NotFound`, `Conflict`, …) or transport error class.
        code: Option<String>,
    },
    /// Server-side apply conflicts with fields another field manager owns.
    #[error(
        "apply {object} conflicts with other field managers: {details}\n  fix: these fields were last set by another tool (kubectl, a controller, another girder stack). Either stop setting them in the program so that manager keeps them, or take them over with `.force_conflicts()` on the resource (girder then overwrites them on every apply)"
    )]
    Conflict {
        /// The object.
        object: String,
        /// `manager "kubectl-scale" owns .spec.replicas; …`.
        details: String,
    },
    /// A Deployment's rollout failed or did not finish in time.
    #[error("rollout of {object} did not complete: {details}")]
    Rollout {
        /// The object.
        object: String,
        /// Conditions, replica counts and failing pods' reasons, with the fix.
        details: String,
        /// Timed out rather than failed.
        timed_out: bool,
    },
    /// The program's Kubernetes objects do not fit together (rendering refuses them).
    #[error("the Kubernetes objects of the program have problems:\n{0}")]
    Wiring(Diagnostics),
    /// Rendering for `kubectl apply` would have written placeholders: values known only
    /// after apply, or masked secrets.
    #[error("{object} cannot be rendered as it would be applied:\n{}", .fields.iter().map(|f| format!("  - {f}")).collect::<Vec<_>>().join("\n"))]
    Placeholders {
        /// The object (`Deployment default/backend`).
        object: String,
        /// Each field that is not known, with why and the fix.
        fields: Vec<String>,
    },
    /// A rendered object could not be written as YAML.
    #[error("cannot write {object} as YAML: {message}")]
    Yaml {
        /// The object.
        object: String,
        /// The serializer's message.
        message: String,
    },
}

impl K8sError {
    /// The engine's classification of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            K8sError::Kubeconfig { .. } | K8sError::Config(_) | K8sError::NoTokenSource { .. } => {
                ErrorKind::InvalidInput
            }
            K8sError::Manifest { .. }
            | K8sError::Wiring(_)
            | K8sError::Yaml { .. }
            | K8sError::Placeholders { .. } => ErrorKind::InvalidInput,
            K8sError::Api { kind, .. } => *kind,
            K8sError::Conflict { .. } => ErrorKind::Conflict,
            K8sError::Rollout { timed_out, .. } => {
                if *timed_out {
                    ErrorKind::Timeout
                } else {
                    ErrorKind::Permanent
                }
            }
        }
    }

    /// An API error from kube, classified: 404 not found, 409 conflict, 422/400 invalid,
    /// 401/403 unauthorized, 429/5xx and transport errors retryable.
    pub fn from_kube(
        operation: &'static str,
        object: impl Into<String>,
        error: kube::Error,
    ) -> Self {
        let object = object.into();
        match error {
            kube::Error::Api(status) => {
                let (kind, fix) = match status.code {
                    404 => (ErrorKind::NotFound, ""),
                    409 => (ErrorKind::Conflict, ""),
                    400 | 422 => (
                        ErrorKind::InvalidInput,
                        " (fix the field the API server names; `girder render` shows the manifest as sent)",
                    ),
                    401 => (
                        ErrorKind::Unauthorized,
                        " (the credentials were refused: check the kubeconfig's user or the cluster's token source)",
                    ),
                    403 => (
                        ErrorKind::Unauthorized,
                        " (the identity girder uses lacks RBAC permission for this; grant it or use another context)",
                    ),
                    429 | 500 | 502 | 503 | 504 => (ErrorKind::Retryable, ""),
                    _ => (ErrorKind::Permanent, ""),
                };
                K8sError::Api {
                    operation,
                    object,
                    message: format!("{}{fix}", status.message),
                    kind,
                    code: Some(if status.reason.is_empty() {
                        status.code.to_string()
                    } else {
                        status.reason.clone()
                    }),
                }
            }
            kube::Error::Auth(auth) => K8sError::Api {
                operation,
                object,
                message: format!(
                    "could not authenticate: {auth} (check the kubeconfig's user, or the token source)"
                ),
                kind: ErrorKind::Unauthorized,
                code: Some("Auth".into()),
            },
            kube::Error::HyperError(_) | kube::Error::Service(_) | kube::Error::HttpError(_) => {
                K8sError::Api {
                    operation,
                    object,
                    message: format!(
                        "cannot reach the API server: {error} (is the cluster up and the kubeconfig's server address right?)"
                    ),
                    kind: ErrorKind::Retryable,
                    code: Some("Transport".into()),
                }
            }
            other => K8sError::Api {
                operation,
                object,
                message: other.to_string(),
                kind: ErrorKind::Permanent,
                code: None,
            },
        }
    }

    /// True if the API server answered 404.
    pub fn is_not_found(&self) -> bool {
        self.kind() == ErrorKind::NotFound
    }
}

impl From<K8sError> for ProviderError {
    fn from(error: K8sError) -> Self {
        let code = match &error {
            K8sError::Api { code, .. } => code.clone(),
            K8sError::Conflict { .. } => Some("FieldManagerConflict".into()),
            K8sError::Rollout {
                timed_out: true, ..
            } => Some("RolloutTimeout".into()),
            K8sError::Rollout { .. } => Some("RolloutFailed".into()),
            _ => None,
        };
        let provider_error = ProviderError::new(error.kind(), error.to_string());
        match code {
            Some(code) => provider_error.with_code(code),
            None => provider_error,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_errors_are_classified() {
        let status = kube::core::Status::failure("deployments.apps \"x\" not found", "NotFound")
            .with_code(404);
        let error = K8sError::from_kube(
            "get",
            "Deployment default/x",
            kube::Error::Api(Box::new(status)),
        );
        assert!(error.is_not_found());
        let provider: ProviderError = error.into();
        assert_eq!(provider.code.as_deref(), Some("NotFound"));
        assert!(provider.message.contains("get Deployment default/x"));
    }
}
