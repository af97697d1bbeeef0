//! The `/scale` subresource of Deployments, ReplicaSets and StatefulSets (`autoscaling/v1`
//! `Scale`), as `kubectl scale` and HPAs use it.

use std::sync::Arc;

use axum::response::Response;
use http::{HeaderMap, Method};
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::http::{App, Query, json_response};
use crate::ops::{self, PatchKind, WriteCtx};
use crate::patch;
use crate::resources::ResourceType;

fn to_scale(obj: &Value) -> Value {
    let selector = obj
        .pointer("/spec/selector/matchLabels")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default();
    let meta = obj.get("metadata").cloned().unwrap_or_default();
    json!({
        "kind": "Scale", "apiVersion": "autoscaling/v1",
        "metadata": {"name": meta.get("name"), "namespace": meta.get("namespace"), "uid": meta.get("uid"),
                     "resourceVersion": meta.get("resourceVersion"), "creationTimestamp": meta.get("creationTimestamp")},
        "spec": {"replicas": obj.pointer("/spec/replicas").cloned().unwrap_or(Value::from(0))},
        "status": {"replicas": obj.pointer("/status/replicas").cloned().unwrap_or(Value::from(0)), "selector": selector},
    })
}

/// Serves GET / PUT / PATCH on `.../{name}/scale`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn request(
    app: &Arc<App>,
    method: &Method,
    rt: &Arc<ResourceType>,
    ns: Option<&str>,
    name: &str,
    _query: &Query,
    headers: &HeaderMap,
    body: &[u8],
    ctx: &WriteCtx,
) -> Result<Response, ApiError> {
    let mut state = app.store.lock();
    let current = ops::get(&state, rt, ns, name)?;
    let scale = to_scale(&current);
    let new_scale = match *method {
        Method::GET => return Ok(json_response(200, &scale)),
        Method::PUT => serde_json::from_slice::<Value>(body)
            .map_err(|e| ApiError::bad_request(format!("invalid Scale: {e}")))?,
        Method::PATCH => {
            let ct = headers
                .get(http::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            let p: Value = serde_json::from_slice(body)
                .map_err(|e| ApiError::bad_request(format!("invalid patch: {e}")))?;
            let mut s = scale.clone();
            let kind = if ct.starts_with("application/json-patch+json") {
                PatchKind::Json
            } else {
                PatchKind::Merge
            };
            match kind {
                PatchKind::Json => patch::json_patch(&mut s, &p).map_err(ApiError::bad_request)?,
                _ => patch::merge_patch(&mut s, &p),
            }
            s
        }
        _ => {
            return Err(ApiError::method_not_allowed(format!(
                "{method} is not allowed on scale"
            )));
        }
    };
    let replicas = new_scale
        .pointer("/spec/replicas")
        .and_then(Value::as_i64)
        .ok_or_else(|| ApiError::bad_request("Scale.spec.replicas must be an integer"))?;
    let mut updated = current.clone();
    updated["spec"]["replicas"] = Value::from(replicas);
    if let Some(rv) = new_scale
        .pointer("/metadata/resourceVersion")
        .and_then(Value::as_str)
    {
        updated["metadata"]["resourceVersion"] = Value::from(rv);
    }
    let stored = ops::replace(&mut state, ctx, name, updated)?;
    drop(state);
    app.store.changed.notify_one();
    Ok(json_response(200, &to_scale(&stored)))
}
