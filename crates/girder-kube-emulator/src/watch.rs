//! `?watch=true`: newline-delimited JSON watch events (`ADDED`, `MODIFIED`, `DELETED`,
//! `BOOKMARK`, `ERROR`) streamed from the store's event history and broadcast channel.
//!
//! Supported: label and field selectors, starting from a `resourceVersion` still in the kept
//! history (else an `ERROR` event with a 410 `Expired` Status, as the real server sends),
//! `resourceVersion` `""`/`"0"` (synthetic `ADDED` events for current objects first),
//! `sendInitialEvents=true` (ends the initial events with the `k8s.io/initial-events-end`
//! bookmark), `timeoutSeconds`. Not emulated: an object leaving a selector's scope is not
//! reported as `DELETED`, and periodic bookmarks are not sent.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::response::Response;
use serde_json::{Value, json};
use tokio::sync::{broadcast, mpsc};

use crate::error::ApiError;
use crate::http::{App, Query};
use crate::object;
use crate::ops;
use crate::resources::ResourceType;
use crate::selectors::{FieldSelector, LabelSelector};
use crate::store::Event;

struct Filter {
    rt: Arc<ResourceType>,
    namespace: Option<String>,
    labels: LabelSelector,
    fields: FieldSelector,
}

impl Filter {
    fn matches(&self, e: &Event) -> bool {
        e.key.group == self.rt.group
            && e.key.resource == self.rt.plural
            && self
                .namespace
                .as_ref()
                .is_none_or(|ns| !self.rt.namespaced || e.key.namespace == *ns)
            && self.labels.matches(&object::labels(&e.object))
            && self.fields.matches(&e.object)
    }
}

fn line(kind: &str, object: Value) -> Bytes {
    let mut text = serde_json::to_vec(&json!({"type": kind, "object": object})).unwrap_or_default();
    text.push(b'\n');
    Bytes::from(text)
}

/// Starts a watch and returns the streaming response.
pub(crate) fn serve(
    app: &Arc<App>,
    rt: Arc<ResourceType>,
    namespace: Option<String>,
    labels: LabelSelector,
    fields: FieldSelector,
    query: &Query,
) -> Response {
    let filter = Filter {
        rt: rt.clone(),
        namespace: namespace.clone(),
        labels,
        fields,
    };
    let timeout = query
        .get("timeoutSeconds")
        .and_then(|t| t.parse::<u64>().ok())
        .map(Duration::from_secs)
        .unwrap_or(Duration::from_secs(1800));
    let send_initial = query.get("sendInitialEvents") == Some("true");
    let rv_param = query.get("resourceVersion").unwrap_or("").to_string();
    let (tx, rx) = mpsc::channel::<Result<Bytes, Infallible>>(256);
    let mut first: Vec<Bytes> = Vec::new();
    let mut subscription = None;
    {
        let state = app.store.lock();
        let from = if rv_param.is_empty() || rv_param == "0" || send_initial {
            for item in ops::list(
                &state,
                &rt,
                namespace.as_deref(),
                &filter.labels,
                &filter.fields,
            ) {
                first.push(line("ADDED", item));
            }
            if send_initial {
                first.push(line("BOOKMARK", json!({
                    "kind": rt.kind, "apiVersion": rt.api_version(),
                    "metadata": {"resourceVersion": state.rv.to_string(), "annotations": {"k8s.io/initial-events-end": "true"}}
                })));
            }
            Some(state.rv)
        } else {
            rv_param.parse::<u64>().ok()
        };
        match from {
            None => first.push(line(
                "ERROR",
                ApiError::bad_request(format!("invalid resourceVersion {rv_param:?}")).to_status(),
            )),
            Some(from) => match state.watch_from(from) {
                Ok((backlog, receiver)) => {
                    first.extend(
                        backlog
                            .iter()
                            .filter(|e| filter.matches(e))
                            .map(|e| line(e.kind.as_str(), ops::served(e.object.clone(), &rt))),
                    );
                    subscription = Some((receiver, backlog.last().map(|e| e.rv).unwrap_or(from)));
                }
                Err(oldest) => {
                    let status =
                        ApiError::expired(format!("too old resource version: {from} ({oldest})"))
                            .to_status();
                    first.push(line("ERROR", status));
                }
            },
        }
    }
    let mut shutdown = app.shutdown.clone();
    tokio::spawn(async move {
        for l in first {
            if tx.send(Ok(l)).await.is_err() {
                return;
            }
        }
        let Some((mut receiver, mut last)) = subscription else {
            return;
        };
        let deadline = tokio::time::sleep(timeout);
        tokio::pin!(deadline);
        loop {
            tokio::select! {
                _ = &mut deadline => return,
                _ = shutdown.changed() => return,
                _ = tx.closed() => return,
                event = receiver.recv() => match event {
                    Ok(e) => {
                        if e.rv <= last || !filter.matches(&e) {
                            continue;
                        }
                        last = e.rv;
                        if tx.send(Ok(line(e.kind.as_str(), ops::served(e.object.clone(), &filter.rt)))).await.is_err() {
                            return;
                        }
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        let status = ApiError::expired("the watch fell behind; list again").to_status();
                        let _ = tx.send(Ok(line("ERROR", status))).await;
                        return;
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                },
            }
        }
    });
    let mut rx = rx;
    let stream = futures::stream::poll_fn(move |cx| rx.poll_recv(cx));
    Response::builder()
        .status(200)
        .header(http::header::CONTENT_TYPE, "application/json")
        .header(http::header::CACHE_CONTROL, "no-cache, private")
        .body(Body::from_stream(stream))
        .unwrap_or_default()
}
