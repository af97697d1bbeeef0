//! The object operations behind the HTTP routes and the simulated controllers: get, list,
//! create, replace (PUT), patch (merge, strategic, JSON, apply). Every write goes through one
//! pipeline that keeps identity fields, the status/spec split of subresources,
//! `resourceVersion`, `generation`, `managedFields`, finalizer-driven deletion and dry runs.

use std::sync::Arc;

use serde_json::{Value, json};

use crate::admission;
use crate::error::{ApiError, cause};
use crate::fieldpath::Scope;
use crate::object::{self, is_deleting, meta_mut, meta_str};
use crate::patch;
use crate::resources::ResourceType;
use crate::schema::Schema;
use crate::selectors::{FieldSelector, LabelSelector};
use crate::ssa;
use crate::store::{ObjKey, State};

/// Which part of an object a write addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sub {
    /// The object itself (status is kept from the stored object for kinds with a status
    /// subresource).
    Main,
    /// `/status`: only `status` changes.
    Status,
    /// A namespace's `/finalize`: only `spec.finalizers` changes.
    Finalize,
}

impl Sub {
    fn name(self) -> &'static str {
        match self {
            Sub::Main => "",
            Sub::Status => "status",
            Sub::Finalize => "finalize",
        }
    }
}

/// The context of one write.
#[derive(Debug, Clone)]
pub(crate) struct WriteCtx {
    /// The type addressed by the URL.
    pub rt: Arc<ResourceType>,
    /// The namespace in the URL (`None` for cluster-scoped kinds and cross-namespace lists).
    pub namespace: Option<String>,
    /// The field manager (`?fieldManager=` or derived from the User-Agent).
    pub manager: String,
    /// `?dryRun=All`.
    pub dry_run: bool,
    /// Main resource or `/status`.
    pub sub: Sub,
}

/// The patch formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PatchKind {
    /// `application/merge-patch+json`.
    Merge,
    /// `application/strategic-merge-patch+json`.
    Strategic,
    /// `application/json-patch+json`.
    Json,
    /// `application/apply-patch+yaml` (server-side apply).
    Apply {
        /// `?force=true`.
        force: bool,
    },
}

/// The merge schema of a type.
pub(crate) fn schema_of(rt: &ResourceType) -> Schema {
    if rt.crd_name.is_some() {
        Schema::crd(rt.crd_schema.clone())
    } else {
        Schema::builtin()
    }
}

fn scope_of(rt: &ResourceType, sub: Sub) -> Scope {
    match sub {
        Sub::Status => Scope::StatusOnly,
        Sub::Main | Sub::Finalize if rt.has_status => Scope::NoStatus,
        Sub::Main | Sub::Finalize => Scope::All,
    }
}

/// The storage key of an object of `rt`.
pub(crate) fn key(rt: &ResourceType, namespace: Option<&str>, name: &str) -> ObjKey {
    ObjKey::new(
        &rt.group,
        &rt.plural,
        if rt.namespaced {
            namespace.unwrap_or("")
        } else {
            ""
        },
        name,
    )
}

/// An object as served at `rt`'s version (custom resources are stored once for all versions).
pub(crate) fn served(mut obj: Value, rt: &ResourceType) -> Value {
    if let Some(map) = obj.as_object_mut() {
        map.insert("apiVersion".into(), Value::from(rt.api_version()));
        map.insert("kind".into(), Value::from(rt.kind.clone()));
    }
    obj
}

/// GET one object.
pub(crate) fn get(
    state: &State,
    rt: &ResourceType,
    namespace: Option<&str>,
    name: &str,
) -> Result<Value, ApiError> {
    state
        .get(&key(rt, namespace, name))
        .cloned()
        .map(|o| served(o, rt))
        .ok_or_else(|| ApiError::not_found(&rt.group, &rt.plural, name))
}

/// LIST objects, filtered by selectors, in (namespace, name) order.
pub(crate) fn list(
    state: &State,
    rt: &ResourceType,
    namespace: Option<&str>,
    labels: &LabelSelector,
    fields: &FieldSelector,
) -> Vec<Value> {
    let ns = if rt.namespaced { namespace } else { None };
    state
        .list(&rt.group, &rt.plural, ns)
        .into_iter()
        .filter(|(_, o)| labels.matches(&object::labels(o)) && fields.matches(o))
        .map(|(_, o)| served(o.clone(), rt))
        .collect()
}

fn check_type(rt: &ResourceType, obj: &mut Value) -> Result<(), ApiError> {
    let Some(map) = obj.as_object_mut() else {
        return Err(ApiError::bad_request(
            "the request body must be a JSON or YAML object",
        ));
    };
    match map.get("apiVersion").and_then(Value::as_str) {
        None | Some("") => {
            map.insert("apiVersion".into(), Value::from(rt.api_version()));
        }
        Some(v) if v == rt.api_version() => {}
        Some(v) => {
            return Err(ApiError::bad_request(format!(
                "the API version in the data ({v}) does not match the expected API version ({})",
                rt.api_version()
            )));
        }
    }
    match map.get("kind").and_then(Value::as_str) {
        None | Some("") => {
            map.insert("kind".into(), Value::from(rt.kind.clone()));
        }
        Some(k) if k == rt.kind => {}
        Some(k) => {
            return Err(ApiError::bad_request(format!(
                "the kind in the data ({k}) does not match the expected kind ({})",
                rt.kind
            )));
        }
    }
    Ok(())
}

fn check_namespace(
    rt: &ResourceType,
    ctx_ns: Option<&str>,
    obj: &mut Value,
) -> Result<(), ApiError> {
    let body_ns = meta_str(obj, "namespace").to_string();
    if !rt.namespaced {
        meta_mut(obj).shift_remove("namespace");
        return Ok(());
    }
    let Some(ns) = ctx_ns else {
        return Err(ApiError::bad_request(format!(
            "{} is namespaced: the request needs a namespace in its path",
            rt.plural
        )));
    };
    if !body_ns.is_empty() && body_ns != ns {
        return Err(ApiError::bad_request(
            "the namespace of the provided object does not match the namespace sent on the request",
        ));
    }
    meta_mut(obj).insert("namespace".into(), Value::from(ns));
    Ok(())
}

fn namespace_must_accept(
    state: &State,
    rt: &ResourceType,
    ns: &str,
    name: &str,
) -> Result<(), ApiError> {
    if !rt.namespaced {
        return Ok(());
    }
    match state.get(&ObjKey::new("", "namespaces", "", ns)) {
        None => Err(ApiError::not_found("", "namespaces", ns)),
        // The NamespaceLifecycle admission plugin's answer.
        Some(n) if is_deleting(n) => Err(ApiError::forbidden_for(
            &rt.group,
            &rt.plural,
            name,
            &format!(
                "unable to create new content in namespace {ns} because it is being terminated"
            ),
        )
        .with_cause(cause(
            "NamespaceTerminating",
            "metadata.namespace",
            format!("namespace {ns} is being terminated"),
        ))),
        Some(_) => Ok(()),
    }
}

/// How managed fields are recorded for a write.
enum Managed {
    /// A non-apply write by `ctx.manager`.
    Update,
    /// Already computed by server-side apply.
    Applied,
}

/// POST: creates an object.
pub(crate) fn create(state: &mut State, ctx: &WriteCtx, body: Value) -> Result<Value, ApiError> {
    create_with(state, ctx, body, Managed::Update)
}

fn create_with(
    state: &mut State,
    ctx: &WriteCtx,
    mut obj: Value,
    managed: Managed,
) -> Result<Value, ApiError> {
    let rt = ctx.rt.clone();
    check_type(&rt, &mut obj)?;
    check_namespace(&rt, ctx.namespace.as_deref(), &mut obj)?;
    let meta = meta_mut(&mut obj);
    let mut name = meta
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    if name.is_empty() {
        let prefix = meta
            .get("generateName")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        if prefix.is_empty() {
            return Err(ApiError::invalid(
                &rt.group,
                &rt.kind,
                "",
                vec![cause(
                    "FieldValueRequired",
                    "metadata.name",
                    "Required value: name or generateName is required",
                )],
            ));
        }
        name = format!("{prefix}{}", object::random_suffix(5));
        meta.insert("name".into(), Value::from(name.clone()));
    }
    // RBAC objects are named like path segments (`system:metrics-server`), as upstream.
    let rbac = rt.group == "rbac.authorization.k8s.io" && rt.crd_name.is_none();
    let valid = if rbac {
        object::is_path_segment_name(&name)
    } else if matches!(rt.plural.as_str(), "namespaces" | "services") {
        object::is_dns_label(&name)
    } else {
        object::is_dns_subdomain(&name)
    };
    if !valid {
        let message = if rbac {
            format!(
                "Invalid value: {name:?}: may not be '.' or '..' and may not contain '/' or '%'"
            )
        } else {
            format!(
                "Invalid value: {name:?}: a lowercase RFC 1123 name must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character"
            )
        };
        return Err(ApiError::invalid(
            &rt.group,
            &rt.kind,
            &name,
            vec![cause("FieldValueInvalid", "metadata.name", message)],
        ));
    }
    let ns = ctx.namespace.clone().unwrap_or_default();
    namespace_must_accept(state, &rt, &ns, &name)?;
    let key = key(&rt, Some(&ns), &name);
    if state.get(&key).is_some() {
        return Err(ApiError::already_exists(&rt.group, &rt.plural, &name));
    }
    let meta = meta_mut(&mut obj);
    for field in [
        "resourceVersion",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "selfLink",
    ] {
        meta.shift_remove(field);
    }
    meta.insert("uid".into(), Value::from(uuid::Uuid::new_v4().to_string()));
    meta.insert(
        "creationTimestamp".into(),
        Value::from(object::now_rfc3339()),
    );
    meta.insert("generation".into(), Value::from(1));
    if rt.has_status
        && let Some(map) = obj.as_object_mut()
    {
        map.shift_remove("status");
    }
    admission::on_create(state, &rt, &mut obj, ctx.dry_run)?;
    if let Managed::Update = managed {
        meta_mut(&mut obj).shift_remove("managedFields");
        ssa::record_update(
            None,
            &mut obj,
            &ctx.manager,
            &schema_of(&rt),
            scope_of(&rt, Sub::Main),
            &rt.api_version(),
            "",
        );
    }
    if ctx.dry_run {
        return Ok(served(obj, &rt));
    }
    let stored = state.put(key, obj, true);
    admission::after_commit(state, &rt, &stored);
    Ok(served(stored, &rt))
}

/// PUT: replaces an object (optimistic concurrency on `metadata.resourceVersion`).
pub(crate) fn replace(
    state: &mut State,
    ctx: &WriteCtx,
    name: &str,
    mut body: Value,
) -> Result<Value, ApiError> {
    let rt = ctx.rt.clone();
    check_type(&rt, &mut body)?;
    let body_name = meta_str(&body, "name");
    if !body_name.is_empty() && body_name != name {
        return Err(ApiError::bad_request(format!(
            "the name of the object ({body_name}) does not match the name on the URL ({name})"
        )));
    }
    let key = key(&rt, ctx.namespace.as_deref(), name);
    let Some(old) = state.get(&key).cloned() else {
        return Err(ApiError::not_found(&rt.group, &rt.plural, name));
    };
    let expected = meta_str(&body, "resourceVersion").to_string();
    commit_update(state, ctx, key, old, body, Some(expected), Managed::Update)
}

/// PATCH in any format; returns the object and whether it was created (apply only).
pub(crate) fn patch(
    state: &mut State,
    ctx: &WriteCtx,
    name: &str,
    kind: PatchKind,
    body: Value,
) -> Result<(Value, bool), ApiError> {
    let rt = ctx.rt.clone();
    let key = key(&rt, ctx.namespace.as_deref(), name);
    let old = state.get(&key).cloned();
    let schema = schema_of(&rt);
    if let PatchKind::Apply { force } = kind {
        return apply(state, ctx, name, key, old, body, force, &schema);
    }
    let Some(old) = old else {
        return Err(ApiError::not_found(&rt.group, &rt.plural, name));
    };
    let mut candidate = served(old.clone(), &rt);
    match kind {
        PatchKind::Merge => {
            if !body.is_object() {
                return Err(ApiError::bad_request("a merge patch must be a JSON object"));
            }
            patch::merge_patch(&mut candidate, &body);
        }
        PatchKind::Strategic => {
            if rt.crd_name.is_some() {
                return Err(ApiError::unsupported_media_type(
                    "application/strategic-merge-patch+json is not supported for custom resources; use a merge patch",
                ));
            }
            patch::strategic_merge_patch(&mut candidate, &body, &schema)
                .map_err(ApiError::bad_request)?;
        }
        PatchKind::Json => patch::json_patch(&mut candidate, &body).map_err(|e| {
            ApiError::invalid(
                &rt.group,
                &rt.kind,
                name,
                vec![cause("FieldValueInvalid", "", e)],
            )
        })?,
        PatchKind::Apply { .. } => {}
    }
    let expected = meta_str(&candidate, "resourceVersion").to_string();
    let expected = (expected != meta_str(&old, "resourceVersion")).then_some(expected);
    commit_update(state, ctx, key, old, candidate, expected, Managed::Update).map(|o| (o, false))
}

#[allow(clippy::too_many_arguments)]
fn apply(
    state: &mut State,
    ctx: &WriteCtx,
    name: &str,
    key: ObjKey,
    old: Option<Value>,
    mut config: Value,
    force: bool,
    schema: &Schema,
) -> Result<(Value, bool), ApiError> {
    let rt = ctx.rt.clone();
    if !config.is_object() {
        return Err(ApiError::bad_request("an apply patch must be an object"));
    }
    for (field, want) in [("apiVersion", rt.api_version()), ("kind", rt.kind.clone())] {
        match config.get(field).and_then(Value::as_str) {
            Some(v) if v == want => {}
            Some(v) => {
                return Err(ApiError::bad_request(format!(
                    "the {field} in the apply configuration ({v}) does not match the expected {field} ({want})"
                )));
            }
            None => {
                return Err(ApiError::bad_request(format!(
                    "{field} must be set in an apply configuration"
                )));
            }
        }
    }
    let config_name = meta_str(&config, "name").to_string();
    if config_name.is_empty() {
        meta_mut(&mut config).insert("name".into(), Value::from(name));
    } else if config_name != name {
        return Err(ApiError::bad_request(format!(
            "the name of the object ({config_name}) does not match the name on the URL ({name})"
        )));
    }
    if ctx.manager.is_empty() {
        return Err(ApiError::bad_request(
            "PATCH with application/apply-patch+yaml requires the fieldManager query parameter",
        ));
    }
    // Quantities are compared in canonical form, as the server decodes the configuration
    // into typed fields before merging (`0.5` applied over a stored `500m` is no change).
    crate::quantities::canonicalize(&rt, &mut config)?;
    let expected = meta_str(&config, "resourceVersion").to_string();
    let req = ssa::ApplyRequest {
        manager: &ctx.manager,
        force,
        schema,
        scope: scope_of(&rt, ctx.sub),
        api_version: &rt.api_version(),
        subresource: ctx.sub.name(),
    };
    match old {
        None => {
            if ctx.sub != Sub::Main {
                return Err(ApiError::not_found(&rt.group, &rt.plural, name));
            }
            if !expected.is_empty() {
                return Err(ApiError::conflict(
                    &rt.group,
                    &rt.plural,
                    name,
                    "the object has been modified; please apply your changes to the latest version and try again",
                ));
            }
            let merged = ssa::apply(None, &config, &req)?;
            create_with(state, ctx, merged, Managed::Applied).map(|o| (o, true))
        }
        Some(old) => {
            let live = served(old.clone(), &rt);
            let merged = ssa::apply(Some(&live), &config, &req)?;
            let expected = (!expected.is_empty()).then_some(expected);
            commit_update(state, ctx, key, old, merged, expected, Managed::Applied)
                .map(|o| (o, false))
        }
    }
}

fn without(obj: &Value, drop_status: bool) -> Value {
    let mut o = obj.clone();
    if let Some(map) = o.as_object_mut() {
        map.shift_remove("metadata");
        map.shift_remove("apiVersion");
        map.shift_remove("kind");
        if drop_status {
            map.shift_remove("status");
        }
    }
    o
}

fn without_managed(obj: &Value) -> Value {
    let mut o = obj.clone();
    meta_mut(&mut o).shift_remove("managedFields");
    if let Some(map) = o.as_object_mut() {
        map.shift_remove("apiVersion");
    }
    o
}

fn commit_update(
    state: &mut State,
    ctx: &WriteCtx,
    key: ObjKey,
    old: Value,
    mut candidate: Value,
    expected_rv: Option<String>,
    managed: Managed,
) -> Result<Value, ApiError> {
    let rt = ctx.rt.clone();
    let name = key.name.clone();
    if !candidate.is_object() {
        return Err(ApiError::bad_request("the request body must be an object"));
    }
    if let Some(expected) = expected_rv.filter(|e| !e.is_empty())
        && expected != meta_str(&old, "resourceVersion")
    {
        return Err(ApiError::conflict(
            &rt.group,
            &rt.plural,
            &name,
            "the object has been modified; please apply your changes to the latest version and try again",
        ));
    }
    // Identity and system fields come from the stored object.
    let old_meta = old
        .get("metadata")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let meta = meta_mut(&mut candidate);
    for field in [
        "name",
        "namespace",
        "uid",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "generation",
        "resourceVersion",
    ] {
        match old_meta.get(field) {
            Some(v) => {
                meta.insert(field.into(), v.clone());
            }
            None => {
                meta.shift_remove(field);
            }
        }
    }
    if let Some(map) = candidate.as_object_mut() {
        map.insert(
            "apiVersion".into(),
            old.get("apiVersion")
                .cloned()
                .unwrap_or_else(|| Value::from(rt.api_version())),
        );
        map.insert("kind".into(), Value::from(rt.kind.clone()));
    }
    if rt.is_namespace() {
        // spec.finalizers changes only through /finalize, and /finalize changes nothing else.
        let finalizers = if ctx.sub == Sub::Finalize {
            let wanted = candidate.pointer("/spec/finalizers").cloned();
            let managed_fields = candidate.pointer("/metadata/managedFields").cloned();
            candidate = old.clone();
            if let Some(mf) = managed_fields {
                meta_mut(&mut candidate).insert("managedFields".into(), mf);
            }
            wanted
        } else {
            old.pointer("/spec/finalizers").cloned()
        };
        if let Some(spec) = candidate
            .as_object_mut()
            .map(|m| m.entry("spec").or_insert_with(|| json!({})))
            .and_then(Value::as_object_mut)
        {
            match finalizers {
                Some(f) => {
                    spec.insert("finalizers".into(), f);
                }
                None => {
                    spec.shift_remove("finalizers");
                }
            }
        }
    }
    match ctx.sub {
        Sub::Main | Sub::Finalize if rt.has_status => {
            set_field(&mut candidate, "status", old.get("status").cloned())
        }
        Sub::Main | Sub::Finalize => {}
        Sub::Status => {
            let status = candidate.get("status").cloned();
            let managed_fields = candidate.pointer("/metadata/managedFields").cloned();
            candidate = old.clone();
            set_field(&mut candidate, "status", status);
            if let Some(mf) = managed_fields {
                meta_mut(&mut candidate).insert("managedFields".into(), mf);
            }
        }
    }
    if is_deleting(&old) {
        let before = object::finalizers(&old);
        if object::finalizers(&candidate)
            .iter()
            .any(|f| !before.contains(f))
        {
            return Err(ApiError::invalid(
                &rt.group,
                &rt.kind,
                &name,
                vec![cause(
                    "FieldValueForbidden",
                    "metadata.finalizers",
                    "Forbidden: no new finalizers can be added if the object is being deleted",
                )],
            ));
        }
    }
    admission::on_update(state, &rt, &old, &mut candidate, ctx.dry_run)?;
    if without(&old, rt.has_status) != without(&candidate, rt.has_status)
        || (is_deleting(&candidate) && !is_deleting(&old))
    {
        let generation = old
            .pointer("/metadata/generation")
            .and_then(Value::as_i64)
            .unwrap_or(0)
            + 1;
        meta_mut(&mut candidate).insert("generation".into(), Value::from(generation));
    }
    if let Managed::Update = managed {
        let mut base = old.clone();
        let requested = candidate.pointer("/metadata/managedFields").cloned();
        if let Some(req) = requested.filter(|r| Some(r) != old.pointer("/metadata/managedFields")) {
            // An explicit managedFields in the request replaces the stored ones (`[{}]` clears).
            meta_mut(&mut base).insert("managedFields".into(), req);
        }
        ssa::record_update(
            Some(&base),
            &mut candidate,
            &ctx.manager,
            &schema_of(&rt),
            scope_of(&rt, ctx.sub),
            &rt.api_version(),
            ctx.sub.name(),
        );
    }
    if without_managed(&candidate) == without_managed(&old)
        && ssa::ownership(&candidate) == ssa::ownership(&old)
    {
        return Ok(served(old, &rt));
    }
    if ctx.dry_run {
        return Ok(served(candidate, &rt));
    }
    if is_deleting(&candidate) && object::finalized(&candidate, rt.is_namespace()) {
        let removed = state.remove(&key).unwrap_or(candidate);
        return Ok(served(removed, &rt));
    }
    let stored = state.put(key, candidate, false);
    admission::after_commit(state, &rt, &stored);
    Ok(served(stored, &rt))
}

fn set_field(obj: &mut Value, field: &str, value: Option<Value>) {
    if let Some(map) = obj.as_object_mut() {
        match value {
            Some(v) => {
                map.insert(field.into(), v);
            }
            None => {
                map.shift_remove(field);
            }
        }
    }
}

/// A write by a simulated controller: replaces `obj` (already stored) with `new` as manager
/// `kube-controller-manager`, on the main resource or the status subresource. Errors are
/// logged and ignored (the next reconcile retries).
pub(crate) fn controller_write(
    state: &mut State,
    rt: &Arc<ResourceType>,
    new: Value,
    sub: Sub,
) -> Option<Value> {
    let ctx = WriteCtx {
        rt: rt.clone(),
        namespace: Some(object::namespace(&new).to_string()).filter(|n| !n.is_empty()),
        manager: "kube-controller-manager".into(),
        dry_run: false,
        sub,
    };
    let name = object::name(&new).to_string();
    let key = key(rt, ctx.namespace.as_deref(), &name);
    let old = state.get(&key)?.clone();
    match commit_update(state, &ctx, key, old, new, None, Managed::Update) {
        Ok(v) => Some(v),
        Err(e) => {
            tracing::debug!(%e, name, "controller write failed");
            None
        }
    }
}

/// A create by a simulated controller.
pub(crate) fn controller_create(
    state: &mut State,
    rt: &Arc<ResourceType>,
    obj: Value,
) -> Option<Value> {
    let ctx = WriteCtx {
        rt: rt.clone(),
        namespace: Some(object::namespace(&obj).to_string()).filter(|n| !n.is_empty()),
        manager: "kube-controller-manager".into(),
        dry_run: false,
        sub: Sub::Main,
    };
    match create(state, &ctx, obj) {
        Ok(v) => Some(v),
        Err(e) => {
            tracing::debug!(%e, "controller create failed");
            None
        }
    }
}

/// The list envelope.
pub(crate) fn list_object(
    rt: &ResourceType,
    items: Vec<Value>,
    rv: u64,
    cont: Option<String>,
) -> Value {
    let mut meta = json!({"resourceVersion": rv.to_string()});
    if let (Some(c), Some(m)) = (cont, meta.as_object_mut()) {
        m.insert("continue".into(), Value::from(c));
    }
    json!({"apiVersion": rt.api_version(), "kind": rt.list_kind(), "metadata": meta, "items": items})
}
