//! The HTTP front: path routing in the shape of the real API server, query and body parsing,
//! content negotiation, and JSON responses. Every failure is a `metav1.Status`.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::response::Response;
use http::{HeaderMap, Method, StatusCode, header};
use serde_json::{Value, json};
use tokio::sync::watch;

use crate::auth::Authenticator;
use crate::deletion::{self, DeleteOptions, Deleted, Propagation};
use crate::discovery;
use crate::error::ApiError;
use crate::openapi;
use crate::ops::{self, PatchKind, Sub, WriteCtx};
use crate::requests::RequestCounter;
use crate::resources::ResourceType;
use crate::selectors::{FieldSelector, LabelSelector};
use crate::store::Store;
use crate::table;

/// Largest request body accepted (big CRDs are a few MiB).
pub(crate) const BODY_LIMIT: usize = 64 * 1024 * 1024;

/// Shared state of the HTTP handlers.
#[derive(Debug)]
pub(crate) struct App {
    pub store: Arc<Store>,
    pub shutdown: watch::Receiver<bool>,
    pub server_address: String,
    pub auth: Authenticator,
    pub requests: RequestCounter,
}

/// The axum router: one fallback handler that routes by path like the API server.
pub(crate) fn router(app: Arc<App>) -> axum::Router {
    axum::Router::new()
        .fallback(handle)
        .layer(axum::extract::DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(app)
}

pub(crate) fn json_response(code: u16, value: &Value) -> Response {
    let body = serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec());
    Response::builder()
        .status(StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body))
        .unwrap_or_default()
}

fn error_response(e: &ApiError) -> Response {
    json_response(e.code, &e.to_status())
}

/// Parsed query parameters.
#[derive(Debug, Default)]
pub(crate) struct Query(Vec<(String, String)>);

impl Query {
    pub fn parse(raw: Option<&str>) -> Self {
        Query(
            url::form_urlencoded::parse(raw.unwrap_or("").as_bytes())
                .into_owned()
                .collect(),
        )
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    fn flag(&self, key: &str) -> bool {
        matches!(self.get(key), Some("true" | "1" | "True"))
    }

    fn dry_run(&self) -> Result<bool, ApiError> {
        let mut dry = false;
        for (k, v) in &self.0 {
            if k == "dryRun" {
                match v.as_str() {
                    "All" => dry = true,
                    "" => {}
                    other => {
                        return Err(ApiError::bad_request(format!(
                            "unsupported dryRun value {other:?}: only \"All\" is supported"
                        )));
                    }
                }
            }
        }
        Ok(dry)
    }
}

async fn handle(State(app): State<Arc<App>>, req: Request) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let query = Query::parse(req.uri().query());
    let headers = req.headers().clone();
    let body = match axum::body::to_bytes(req.into_body(), BODY_LIMIT).await {
        Ok(b) => b,
        Err(e) => {
            return error_response(&ApiError::bad_request(format!(
                "cannot read the request body: {e}"
            )));
        }
    };
    let started = std::time::Instant::now();
    let attrs = crate::authz::attributes(&method, &path, &query);
    // Refused requests count too: the client made them, and a test counting calls asks how
    // many the client made.
    app.requests.record(&attrs);
    // Authentication and authorization come first, as in the API server's filter chain: an
    // unknown caller learns nothing about what exists.
    let mut caller = None;
    if app.auth.enabled() {
        let principal = match app.auth.authenticate(&headers, &path).await {
            Ok(Some(p)) => p,
            Ok(None) => unreachable_principal(),
            Err(e) => return error_response(&e),
        };
        let allowed = crate::authz::authorize(&app.store.lock(), &principal, &attrs);
        if let Err(e) = allowed {
            tracing::info!(
                user = principal.user.username,
                verb = attrs.verb,
                path,
                "forbidden"
            );
            return error_response(&e);
        }
        caller = Some(principal);
    }
    let response = match review(&app, &method, &path, &headers, &body, caller.as_ref()) {
        Some(answer) => answer,
        None => route(&app, &method, &path, &query, &headers, body).await,
    };
    let response = match response {
        Ok(r) => r,
        Err(e) => error_response(&e),
    };
    tracing::debug!(%method, path, status = response.status().as_u16(), elapsed_us = started.elapsed().as_micros() as u64, "request");
    response
}

/// `kubectl auth whoami` and `kubectl auth can-i`: reviews of the caller's own access.
fn review(
    app: &App,
    method: &Method,
    path: &str,
    headers: &HeaderMap,
    body: &[u8],
    caller: Option<&crate::auth::Principal>,
) -> Option<Result<Response, ApiError>> {
    if *method != Method::POST {
        return None;
    }
    match path.trim_end_matches('/') {
        "/apis/authentication.k8s.io/v1/selfsubjectreviews" => Some(Ok(json_response(
            201,
            &crate::reviews::self_subject_review(caller),
        ))),
        "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews" => {
            let answer = if content_type(headers) == "application/vnd.kubernetes.protobuf" {
                crate::reviews::access_review_from_protobuf(body)
            } else {
                object_body(headers, body)
            }
            .and_then(|review| {
                crate::reviews::self_subject_access_review(&app.store.lock(), caller, &review)
            });
            Some(answer.map(|a| json_response(201, &a)))
        }
        _ => None,
    }
}

/// An enabled authenticator always yields a principal or an error; should that ever change,
/// the request acts as nobody in particular and is authorized as such.
fn unreachable_principal() -> crate::auth::Principal {
    crate::auth::Principal {
        user: crate::auth::UserInfo::new("system:anonymous").groups(["system:unauthenticated"]),
        policies: Vec::new(),
        anonymous: true,
    }
}

async fn route(
    app: &Arc<App>,
    method: &Method,
    path: &str,
    query: &Query,
    headers: &HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let get_only = |v: Value| {
        if method == Method::GET {
            Ok(json_response(200, &v))
        } else {
            Err(ApiError::method_not_allowed(format!(
                "{method} is not allowed on {path}"
            )))
        }
    };
    match segs.as_slice() {
        ["version"] => get_only(discovery::version(&app.store.lock().config)),
        ["healthz" | "readyz" | "livez", ..] => Ok(Response::builder()
            .status(200)
            .header(header::CONTENT_TYPE, "text/plain")
            .body(Body::from("ok"))
            .unwrap_or_default()),
        ["api"] => get_only(discovery::core_versions(&app.server_address)),
        ["apis"] => {
            let v = discovery::group_list(&app.store.lock().registry);
            get_only(v)
        }
        ["api", "v1"] => {
            let v = discovery::resource_list(&app.store.lock().registry, "", "v1")
                .ok_or_else(|| ApiError::no_route(path))?;
            get_only(v)
        }
        ["apis", group] => {
            let v = discovery::group(&app.store.lock().registry, group)
                .ok_or_else(|| ApiError::no_route(path))?;
            get_only(v)
        }
        ["apis", group, version] => {
            let v = discovery::resource_list(&app.store.lock().registry, group, version)
                .ok_or_else(|| ApiError::no_route(path))?;
            get_only(v)
        }
        ["openapi", "v3"] => {
            let v = openapi::root(&app.store.lock().registry);
            get_only(v)
        }
        ["openapi", "v3", "api", version] => {
            let v = openapi::group_version(&app.store.lock().registry, "", version)
                .ok_or_else(|| ApiError::no_route(path))?;
            get_only(v)
        }
        ["openapi", "v3", "apis", group, version] => {
            let v = openapi::group_version(&app.store.lock().registry, group, version)
                .ok_or_else(|| ApiError::no_route(path))?;
            get_only(v)
        }
        ["api", "v1", rest @ ..] => {
            resource(app, method, path, "", "v1", rest, query, headers, body).await
        }
        ["apis", group, version, rest @ ..] => {
            resource(
                app, method, path, group, version, rest, query, headers, body,
            )
            .await
        }
        _ => Err(ApiError::no_route(path)),
    }
}

/// A resource URL, decomposed.
struct Target {
    rt: Arc<ResourceType>,
    namespace: Option<String>,
    name: Option<String>,
    sub: Option<String>,
}

fn resolve(
    app: &App,
    path: &str,
    group: &str,
    version: &str,
    rest: &[&str],
) -> Result<(Target, bool), ApiError> {
    let (watch_prefix, rest) = match rest {
        ["watch", r @ ..] => (true, r),
        r => (false, r),
    };
    let registry = &app.store.lock().registry;
    let lookup = |plural: &str| {
        registry
            .lookup(group, version, plural)
            .ok_or_else(|| ApiError::no_route(path))
    };
    let target = match rest {
        ["namespaces", ns, sub @ ("status" | "finalize")] => Target {
            rt: lookup("namespaces")?,
            namespace: None,
            name: Some(ns.to_string()),
            sub: Some(sub.to_string()),
        },
        ["namespaces", ns, plural, tail @ ..] if tail.len() <= 2 => {
            let rt = lookup(plural)?;
            if !rt.namespaced {
                return Err(ApiError::no_route(path));
            }
            Target {
                rt,
                namespace: Some(ns.to_string()),
                name: tail.first().map(|s| s.to_string()),
                sub: tail.get(1).map(|s| s.to_string()),
            }
        }
        [plural, tail @ ..] if tail.len() <= 2 => {
            let rt = lookup(plural)?;
            if rt.namespaced && !tail.is_empty() {
                return Err(ApiError::no_route(path));
            }
            Target {
                rt,
                namespace: None,
                name: tail.first().map(|s| s.to_string()),
                sub: tail.get(1).map(|s| s.to_string()),
            }
        }
        _ => return Err(ApiError::no_route(path)),
    };
    Ok((target, watch_prefix))
}

fn manager(query: &Query, headers: &HeaderMap) -> String {
    if let Some(m) = query.get("fieldManager").filter(|m| !m.is_empty()) {
        return m.to_string();
    }
    let ua = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let prefix = ua.split('/').next().unwrap_or("").trim();
    if prefix.is_empty() {
        "unknown".into()
    } else {
        prefix.to_string()
    }
}

fn content_type(headers: &HeaderMap) -> String {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

fn parse_body(body: &[u8], yaml: bool) -> Result<Value, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_request("the request body is empty"));
    }
    if yaml {
        serde_yaml_ng::from_slice::<Value>(body).map_err(|e| {
            ApiError::bad_request(format!("the request body is not valid YAML or JSON: {e}"))
        })
    } else {
        serde_json::from_slice::<Value>(body)
            .map_err(|e| ApiError::bad_request(format!("the request body is not valid JSON: {e}")))
    }
}

fn object_body(headers: &HeaderMap, body: &[u8]) -> Result<Value, ApiError> {
    match content_type(headers).as_str() {
        "application/json" | "" | "*/*" => parse_body(body, false),
        "application/yaml" | "application/x-yaml" | "text/yaml" => parse_body(body, true),
        other => Err(ApiError::unsupported_media_type(other)),
    }
}

fn notify(app: &App) {
    app.store.changed.notify_one();
}

#[allow(clippy::too_many_arguments)]
async fn resource(
    app: &Arc<App>,
    method: &Method,
    path: &str,
    group: &str,
    version: &str,
    rest: &[&str],
    query: &Query,
    headers: &HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let (target, watch_prefix) = resolve(app, path, group, version, rest)?;
    let rt = target.rt.clone();
    let ns = target.namespace.clone();
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json")
        .to_string();
    let ctx = |sub: Sub| -> Result<WriteCtx, ApiError> {
        Ok(WriteCtx {
            rt: rt.clone(),
            namespace: ns.clone(),
            manager: manager(query, headers),
            dry_run: query.dry_run()?,
            sub,
        })
    };
    match (target.name.as_deref(), target.sub.as_deref()) {
        (None, _) => {
            if *method == Method::GET {
                let labels = LabelSelector::parse(query.get("labelSelector").unwrap_or(""))
                    .map_err(ApiError::bad_request)?;
                let fields = FieldSelector::parse(query.get("fieldSelector").unwrap_or(""))
                    .map_err(ApiError::bad_request)?;
                if watch_prefix || query.flag("watch") {
                    return Ok(crate::watch::serve(app, rt, ns, labels, fields, query));
                }
                return list(app, &rt, ns.as_deref(), &labels, &fields, query, &accept);
            }
            if *method == Method::POST {
                let obj = object_body(headers, &body)?;
                let created = ops::create(&mut app.store.lock(), &ctx(Sub::Main)?, obj)?;
                notify(app);
                return Ok(json_response(201, &created));
            }
            if *method == Method::DELETE {
                let labels = LabelSelector::parse(query.get("labelSelector").unwrap_or(""))
                    .map_err(ApiError::bad_request)?;
                let fields = FieldSelector::parse(query.get("fieldSelector").unwrap_or(""))
                    .map_err(ApiError::bad_request)?;
                let opts = delete_options(query, &body)?;
                let mut state = app.store.lock();
                let items = ops::list(&state, &rt, ns.as_deref(), &labels, &fields);
                let deleted = deletion::delete_collection(&mut state, &rt, &items, &opts);
                let rv = state.rv;
                drop(state);
                notify(app);
                return Ok(json_response(
                    200,
                    &ops::list_object(&rt, deleted, rv, None),
                ));
            }
            Err(ApiError::method_not_allowed(format!(
                "{method} is not allowed on a collection"
            )))
        }
        (Some(name), None) => {
            if watch_prefix {
                let labels = LabelSelector::default();
                let fields = FieldSelector::parse(&format!("metadata.name={name}"))
                    .map_err(ApiError::bad_request)?;
                return Ok(crate::watch::serve(app, rt, ns, labels, fields, query));
            }
            object_request(
                app,
                method,
                &rt,
                ns.as_deref(),
                name,
                Sub::Main,
                query,
                headers,
                &body,
                &accept,
                &ctx,
            )
        }
        (Some(name), Some("status")) => object_request(
            app,
            method,
            &rt,
            ns.as_deref(),
            name,
            Sub::Status,
            query,
            headers,
            &body,
            &accept,
            &ctx,
        ),
        (Some(name), Some("finalize")) if rt.is_namespace() => object_request(
            app,
            method,
            &rt,
            ns.as_deref(),
            name,
            Sub::Finalize,
            query,
            headers,
            &body,
            &accept,
            &ctx,
        ),
        (Some(name), Some("scale")) if rt.has_scale => crate::scale::request(
            app,
            method,
            &rt,
            ns.as_deref(),
            name,
            query,
            headers,
            &body,
            &ctx(Sub::Main)?,
        ),
        _ => Err(ApiError::no_route(path)),
    }
}

#[allow(clippy::too_many_arguments)]
fn object_request(
    app: &Arc<App>,
    method: &Method,
    rt: &Arc<ResourceType>,
    ns: Option<&str>,
    name: &str,
    sub: Sub,
    query: &Query,
    headers: &HeaderMap,
    body: &[u8],
    accept: &str,
    ctx: &dyn Fn(Sub) -> Result<WriteCtx, ApiError>,
) -> Result<Response, ApiError> {
    match *method {
        Method::GET => {
            let state = app.store.lock();
            let obj = ops::get(&state, rt, ns, name)?;
            if table::wants_table(accept) {
                return Ok(json_response(
                    200,
                    &table::table(
                        rt,
                        &[obj],
                        state.rv,
                        None,
                        query.get("includeObject").unwrap_or("Metadata"),
                    ),
                ));
            }
            Ok(json_response(200, &obj))
        }
        Method::PUT => {
            let obj = object_body(headers, body)?;
            let updated = ops::replace(&mut app.store.lock(), &ctx(sub)?, name, obj)?;
            notify(app);
            Ok(json_response(200, &updated))
        }
        Method::PATCH => {
            let kind = match content_type(headers).as_str() {
                "application/merge-patch+json" => PatchKind::Merge,
                "application/strategic-merge-patch+json" => PatchKind::Strategic,
                "application/json-patch+json" => PatchKind::Json,
                "application/apply-patch+yaml" | "application/apply-patch+json" => {
                    if query.get("fieldManager").is_none_or(str::is_empty) {
                        return Err(ApiError::bad_request(
                            "fieldManager is required for apply requests",
                        ));
                    }
                    PatchKind::Apply {
                        force: query.flag("force"),
                    }
                }
                other => return Err(ApiError::unsupported_media_type(other)),
            };
            let patch = parse_body(body, matches!(kind, PatchKind::Apply { .. }))?;
            let (obj, created) = ops::patch(&mut app.store.lock(), &ctx(sub)?, name, kind, patch)?;
            notify(app);
            Ok(json_response(if created { 201 } else { 200 }, &obj))
        }
        Method::DELETE if sub == Sub::Main => {
            let opts = delete_options(query, body)?;
            let result = deletion::delete(&mut app.store.lock(), rt, ns, name, &opts)?;
            notify(app);
            Ok(match result {
                Deleted::Gone(obj) => json_response(200, &deletion::success_status(rt, &obj)),
                // The API server answers 202 only when the client asked for cascading with
                // the legacy orphanDependents=false; otherwise 200 with the object.
                Deleted::Pending(obj) => json_response(
                    if opts.legacy_cascade { 202 } else { 200 },
                    &ops::served(obj, rt),
                ),
            })
        }
        _ => Err(ApiError::method_not_allowed(format!(
            "{method} is not allowed here"
        ))),
    }
}

fn delete_options(query: &Query, body: &[u8]) -> Result<DeleteOptions, ApiError> {
    let mut opts = DeleteOptions {
        dry_run: query.dry_run()?,
        ..DeleteOptions::default()
    };
    let body: Value = if body.iter().all(u8::is_ascii_whitespace) {
        json!({})
    } else {
        parse_body(body, false)?
    };
    if let Some(p) = body
        .get("propagationPolicy")
        .and_then(Value::as_str)
        .or_else(|| query.get("propagationPolicy"))
    {
        opts.propagation = Propagation::parse(p)?;
    } else if body.get("orphanDependents").and_then(Value::as_bool) == Some(true)
        || query.flag("orphanDependents")
    {
        opts.propagation = Propagation::Orphan;
    } else if body.get("orphanDependents").and_then(Value::as_bool) == Some(false)
        || query.get("orphanDependents") == Some("false")
    {
        opts.legacy_cascade = true;
    }
    if let Some(d) = body.get("dryRun").and_then(Value::as_array) {
        opts.dry_run |= d.iter().any(|v| v == "All");
    }
    opts.precondition_uid = body
        .pointer("/preconditions/uid")
        .and_then(Value::as_str)
        .map(str::to_string);
    opts.precondition_rv = body
        .pointer("/preconditions/resourceVersion")
        .and_then(Value::as_str)
        .map(str::to_string);
    Ok(opts)
}

fn hex(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<String> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    let bytes: Option<Vec<u8>> = (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect();
    String::from_utf8(bytes?).ok()
}

fn list(
    app: &App,
    rt: &ResourceType,
    ns: Option<&str>,
    labels: &LabelSelector,
    fields: &FieldSelector,
    query: &Query,
    accept: &str,
) -> Result<Response, ApiError> {
    let state = app.store.lock();
    let mut items = ops::list(&state, rt, ns, labels, fields);
    let rv = state.rv;
    drop(state);
    if let Some(token) = query.get("continue").filter(|t| !t.is_empty()) {
        let after = unhex(token).ok_or_else(|| ApiError::bad_request("invalid continue token"))?;
        items.retain(|o| {
            format!(
                "{}\u{0}{}",
                crate::object::namespace(o),
                crate::object::name(o)
            ) > after
        });
    }
    let mut cont = None;
    if let Some(limit) = query
        .get("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .filter(|l| *l > 0)
        && items.len() > limit
    {
        items.truncate(limit);
        if let Some(last) = items.last() {
            cont = Some(hex(&format!(
                "{}\u{0}{}",
                crate::object::namespace(last),
                crate::object::name(last)
            )));
        }
    }
    if table::wants_table(accept) {
        return Ok(json_response(
            200,
            &table::table(
                rt,
                &items,
                rv,
                cont,
                query.get("includeObject").unwrap_or("Metadata"),
            ),
        ));
    }
    if rt.crd_name.is_none() {
        // The real API server leaves `apiVersion` and `kind` out of the items of a built-in
        // kind's list (only the list itself carries them; kubernetes/kubernetes#3030), while a
        // custom resource's items keep them. Clients that read objects from lists must fill
        // them in, and a too-kind emulator would hide it when they do not.
        for item in &mut items {
            if let Some(map) = item.as_object_mut() {
                map.remove("apiVersion");
                map.remove("kind");
            }
        }
    }
    Ok(json_response(200, &ops::list_object(rt, items, rv, cont)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn continue_tokens_round_trip() {
        assert_eq!(unhex(&hex("ns\u{0}name")).as_deref(), Some("ns\u{0}name"));
        assert!(unhex("zz").is_none());
    }
}
