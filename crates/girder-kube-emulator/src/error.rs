//! Errors: [`EmulatorError`] for the host side (starting, stopping, writing files) and
//! [`ApiError`], the `metav1.Status` failures the emulated API server answers with.

use serde_json::{Value, json};

/// What can go wrong while starting, running or stopping the emulator itself.
///
/// Failures of individual API requests are not `EmulatorError`s: they are answered over HTTP
/// as `metav1.Status` objects, exactly as a real API server does.
#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    /// The TCP listener could not be bound on `127.0.0.1:port`.
    #[error(
        "cannot bind the Kubernetes API emulator to 127.0.0.1:{port}: {source} (pick another port, or 0 for a free one)"
    )]
    Bind {
        /// The requested port (0 means "any free port").
        port: u16,
        /// The underlying IO error.
        #[source]
        source: std::io::Error,
    },
    /// The emulator's own tokio runtime or server thread could not be created.
    #[error("cannot start the Kubernetes API emulator runtime: {0}")]
    Runtime(#[source] std::io::Error),
    /// The server thread ended before it reported being ready.
    #[error("the Kubernetes API emulator thread stopped before it was ready: {0}")]
    NotReady(String),
    /// The emulator's configuration is inconsistent (the message says what to change).
    #[error("invalid Kubernetes API emulator configuration: {0}")]
    Config(String),
    /// The TLS certificates or configuration could not be made.
    #[error("cannot set up the Kubernetes API emulator's TLS: {0}")]
    Tls(String),
    /// Writing the kubeconfig file failed.
    #[error("cannot write the kubeconfig to {path}: {source}")]
    WriteKubeconfig {
        /// The file that could not be written.
        path: std::path::PathBuf,
        /// The underlying IO error.
        #[source]
        source: std::io::Error,
    },
}

/// A failed API request, rendered as a `metav1.Status` object (`kind: Status`,
/// `status: Failure`, `reason`, `code`, `message`, `details`), the shape `kube::Error::Api`
/// and kubectl parse.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    /// HTTP status code (404, 409, 422, ...).
    pub code: u16,
    /// The machine-readable reason (`NotFound`, `Conflict`, `Invalid`, ...).
    pub reason: &'static str,
    /// The human-readable message.
    pub message: String,
    /// `details` (name, group, kind, causes), if any.
    pub details: Option<Value>,
}

/// One entry of `details.causes` in a failure Status.
#[derive(Debug, Clone, PartialEq)]
pub struct Cause {
    /// The machine-readable cause (`FieldValueRequired`, `FieldManagerConflict`, ...).
    pub reason: String,
    /// Human-readable message.
    pub message: String,
    /// The field path, e.g. `.spec.replicas` or `spec.selector`.
    pub field: String,
}

impl ApiError {
    fn new(code: u16, reason: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            code,
            reason,
            message: message.into(),
            details: None,
        }
    }

    fn with_details(mut self, details: Value) -> Self {
        self.details = Some(details);
        self
    }

    /// 400 BadRequest.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "BadRequest", message)
    }

    /// 404 NotFound for `qualified` (e.g. `deployments.apps`) named `name`.
    pub fn not_found(group: &str, resource: &str, name: &str) -> Self {
        Self::new(
            404,
            "NotFound",
            format!("{} \"{name}\" not found", qualified(group, resource)),
        )
        .with_details(json!({"name": name, "group": group, "kind": resource}))
    }

    /// 404 NotFound for a path the emulator does not serve.
    pub fn no_route(path: &str) -> Self {
        Self::new(
            404,
            "NotFound",
            format!("the server could not find the requested resource (path {path})"),
        )
        .with_details(json!({}))
    }

    /// 409 AlreadyExists.
    pub fn already_exists(group: &str, resource: &str, name: &str) -> Self {
        Self::new(
            409,
            "AlreadyExists",
            format!("{} \"{name}\" already exists", qualified(group, resource)),
        )
        .with_details(json!({"name": name, "group": group, "kind": resource}))
    }

    /// 409 Conflict for a stale `resourceVersion` (optimistic concurrency).
    pub fn conflict(group: &str, resource: &str, name: &str, why: &str) -> Self {
        Self::new(
            409,
            "Conflict",
            format!(
                "Operation cannot be fulfilled on {} \"{name}\": {why}",
                qualified(group, resource)
            ),
        )
        .with_details(json!({"name": name, "group": group, "kind": resource}))
    }

    /// 409 Conflict of a server-side apply, with one `FieldManagerConflict` cause per field.
    pub fn apply_conflict(message: String, causes: &[Cause]) -> Self {
        Self::new(409, "Conflict", message).with_details(json!({ "causes": causes_json(causes) }))
    }

    /// 422 Invalid for `kind` (e.g. `Deployment.apps`) named `name`.
    pub fn invalid(group: &str, kind: &str, name: &str, causes: Vec<Cause>) -> Self {
        let qualified_kind = if group.is_empty() {
            kind.to_string()
        } else {
            format!("{kind}.{group}")
        };
        let list = causes
            .iter()
            .map(|c| {
                if c.field.is_empty() {
                    c.message.clone()
                } else {
                    format!("{}: {}", c.field, c.message)
                }
            })
            .collect::<Vec<_>>();
        let joined = if list.len() == 1 {
            list[0].clone()
        } else {
            format!("[{}]", list.join(", "))
        };
        Self::new(
            422,
            "Invalid",
            format!("{qualified_kind} \"{name}\" is invalid: {joined}"),
        )
        .with_details(json!({
            "name": name, "group": group, "kind": kind, "causes": causes_json(&causes)
        }))
    }

    /// 403 Forbidden.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(403, "Forbidden", message)
    }

    /// 403 Forbidden about a resource (`apierrors.NewForbidden`): `deployments.apps "web" is
    /// forbidden: REASON`, `deployments.apps is forbidden: REASON` without a name, or
    /// `forbidden: REASON` without a resource. `details` names what is known.
    pub fn forbidden_for(group: &str, resource: &str, name: &str, reason: &str) -> Self {
        let message = if resource.is_empty() {
            format!("forbidden: {reason}")
        } else if name.is_empty() {
            format!("{} is forbidden: {reason}", qualified(group, resource))
        } else {
            format!(
                "{} \"{name}\" is forbidden: {reason}",
                qualified(group, resource)
            )
        };
        let mut details = serde_json::Map::new();
        for (key, value) in [("name", name), ("group", group), ("kind", resource)] {
            if !value.is_empty() {
                details.insert(key.into(), Value::from(value));
            }
        }
        Self::new(403, "Forbidden", message).with_details(Value::Object(details))
    }

    /// 401 Unauthorized, as the API server answers any failed authentication.
    pub fn unauthorized() -> Self {
        Self::new(401, "Unauthorized", "Unauthorized")
    }

    /// Adds a cause to `details.causes`.
    pub fn with_cause(mut self, cause: Cause) -> Self {
        let mut details = self.details.take().unwrap_or_else(|| json!({}));
        if let Some(map) = details.as_object_mut() {
            let causes = map.entry("causes").or_insert_with(|| json!([]));
            if let Some(list) = causes.as_array_mut() {
                list.push(
                    json!({"reason": cause.reason, "message": cause.message, "field": cause.field}),
                );
            }
        }
        self.details = Some(details);
        self
    }

    /// 405 MethodNotAllowed.
    pub fn method_not_allowed(message: impl Into<String>) -> Self {
        Self::new(405, "MethodNotAllowed", message)
    }

    /// 406 NotAcceptable.
    pub fn not_acceptable(message: impl Into<String>) -> Self {
        Self::new(406, "NotAcceptable", message)
    }

    /// 415 UnsupportedMediaType.
    pub fn unsupported_media_type(content_type: &str) -> Self {
        Self::new(
            415,
            "UnsupportedMediaType",
            format!(
                "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/merge-patch+json, application/strategic-merge-patch+json, application/json-patch+json, application/apply-patch+yaml (got {content_type:?})"
            ),
        )
    }

    /// 410 Gone / Expired, for a watch that starts from a resourceVersion no longer kept.
    pub fn expired(message: impl Into<String>) -> Self {
        Self::new(410, "Expired", message)
    }

    /// 500 InternalError (a bug in the emulator, never a panic).
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(500, "InternalError", message)
    }

    /// The `metav1.Status` JSON object for this error.
    pub fn to_status(&self) -> Value {
        let mut status = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        });
        if let (Some(details), Some(map)) = (&self.details, status.as_object_mut()) {
            map.insert("details".into(), details.clone());
        }
        status
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}): {}", self.code, self.reason, self.message)
    }
}

impl std::error::Error for ApiError {}

/// `deployments.apps`, or `pods` for the core group.
pub(crate) fn qualified(group: &str, resource: &str) -> String {
    if group.is_empty() {
        resource.to_string()
    } else {
        format!("{resource}.{group}")
    }
}

fn causes_json(causes: &[Cause]) -> Value {
    Value::Array(
        causes
            .iter()
            .map(|c| json!({"reason": c.reason, "message": c.message, "field": c.field}))
            .collect(),
    )
}

/// A `Cause` for a validation failure.
pub(crate) fn cause(reason: &str, field: &str, message: impl Into<String>) -> Cause {
    Cause {
        reason: reason.to_string(),
        message: message.into(),
        field: field.to_string(),
    }
}
