//! The control endpoint under `/_layer/`, for out-of-process tests and the sandbox:
//!
//! - `GET /_layer/behaviours`: the behaviours as JSON ([`crate::Behaviours`]).
//! - `PATCH /_layer/behaviours` (or `PUT`/`POST`): merge a partial document, such as
//!   `{"throttling": {"enabled": true, "rate": 1.0}}`; answers the result, or 400 with why.
//! - `GET /_layer/counters`: [`crate::Counters`]; `DELETE /_layer/counters` resets them.
//! - `GET /_layer/eks/clusters/{name}/access-entries`: the cluster's access entries.
//! - `POST /_layer/drain/{vpc}`: marks a VPC as draining (a load balancer deleted elsewhere).
//! - `GET /_layer/health`: `ok`.
//!
//! S3 bucket names cannot contain `_`, so no AWS request path starts with `/_layer/`.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use http::StatusCode;
use serde_json::json;

use crate::clock::epoch_seconds;
use crate::eks::AccessScope;
use crate::layer::Shared;
use crate::world::DrainSource;

pub(crate) fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/health", get(|| async { "ok" }))
        .route(
            "/behaviours",
            get(behaviours)
                .patch(patch_behaviours)
                .put(patch_behaviours)
                .post(patch_behaviours),
        )
        .route("/counters", get(counters).delete(reset_counters))
        .route("/eks/clusters/{name}/access-entries", get(access_entries))
        .route("/drain/{vpc}", post(drain))
}

async fn behaviours(State(shared): State<Arc<Shared>>) -> Response {
    Json(shared.behaviours()).into_response()
}

async fn patch_behaviours(
    State(shared): State<Arc<Shared>>,
    Json(patch): Json<serde_json::Value>,
) -> Response {
    match shared.behaviours().patched(&patch) {
        Ok(next) => {
            shared.set_behaviours(next.clone());
            tracing::info!(enabled = ?next.enabled_names(), "behaviours changed");
            Json(next).into_response()
        }
        Err(e) => (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
    }
}

async fn counters(State(shared): State<Arc<Shared>>) -> Response {
    Json(shared.tally.snapshot()).into_response()
}

async fn reset_counters(State(shared): State<Arc<Shared>>) -> Response {
    shared.tally.reset();
    StatusCode::NO_CONTENT.into_response()
}

async fn access_entries(State(shared): State<Arc<Shared>>, Path(name): Path<String>) -> Response {
    let entries: Vec<serde_json::Value> = shared
        .eks
        .access_entries(&name)
        .iter()
        .map(|e| {
            json!({
                "principalArn": e.principal_arn,
                "type": e.kind,
                "username": e.username,
                "kubernetesGroups": e.kubernetes_groups,
                "createdAt": epoch_seconds(e.created_at),
                "policies": e.policies.iter().map(|p| json!({
                    "policyArn": p.policy_arn,
                    "accessScope": match &p.scope {
                        AccessScope::Cluster => json!({ "type": "cluster" }),
                        AccessScope::Namespace { namespaces } => json!({ "type": "namespace", "namespaces": namespaces }),
                    },
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    Json(entries).into_response()
}

async fn drain(State(shared): State<Arc<Shared>>, Path(vpc): Path<String>) -> Response {
    let now = shared.clock.now();
    shared
        .world()
        .draining
        .insert(vpc, (now, DrainSource::LoadBalancer("external".into())));
    StatusCode::NO_CONTENT.into_response()
}
