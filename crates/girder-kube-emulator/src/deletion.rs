//! Deletion: propagation policies (Background, Foreground, Orphan), finalizers, owner
//! references and the garbage collector that cascades deletions, plus namespace termination.

use std::collections::HashMap;

use serde_json::{Value, json};

use crate::error::ApiError;
use crate::object::{self, is_deleting, meta_mut};
use crate::resources::ResourceType;
use crate::store::{ObjKey, State};

/// The finalizer that keeps a foreground-deleted owner until its dependents are gone.
pub(crate) const FOREGROUND: &str = "foregroundDeletion";
/// The finalizer of an orphaning deletion.
pub(crate) const ORPHAN: &str = "orphan";
/// The `spec.finalizers` entry the namespace controller removes once a namespace is empty.
pub(crate) const NAMESPACE_FINALIZER: &str = "kubernetes";

/// `propagationPolicy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Propagation {
    /// Delete the owner now; the garbage collector removes dependents afterwards.
    Background,
    /// Keep the owner (with the `foregroundDeletion` finalizer) until dependents are gone.
    Foreground,
    /// Remove the owner's references from dependents, then delete the owner.
    Orphan,
}

impl Propagation {
    /// Parses a `propagationPolicy` value.
    pub fn parse(s: &str) -> Result<Self, ApiError> {
        match s {
            "Background" => Ok(Propagation::Background),
            "Foreground" => Ok(Propagation::Foreground),
            "Orphan" => Ok(Propagation::Orphan),
            other => Err(ApiError::bad_request(format!(
                "unsupported propagationPolicy {other:?}: use Background, Foreground or Orphan"
            ))),
        }
    }
}

/// Options of one delete.
#[derive(Debug, Clone)]
pub(crate) struct DeleteOptions {
    pub propagation: Propagation,
    pub dry_run: bool,
    pub precondition_uid: Option<String>,
    pub precondition_rv: Option<String>,
    /// `orphanDependents: false` (the legacy way to ask for cascading), answered with 202.
    pub legacy_cascade: bool,
}

impl Default for DeleteOptions {
    fn default() -> Self {
        DeleteOptions {
            propagation: Propagation::Background,
            dry_run: false,
            precondition_uid: None,
            precondition_rv: None,
            legacy_cascade: false,
        }
    }
}

/// The outcome of a delete.
#[derive(Debug, Clone)]
pub(crate) enum Deleted {
    /// The object is gone (this is its last state).
    Gone(Value),
    /// The object stays, marked with `deletionTimestamp`, until its finalizers are removed.
    Pending(Value),
}

/// The success Status returned for an object deleted immediately.
pub(crate) fn success_status(rt: &ResourceType, obj: &Value) -> Value {
    json!({
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
        "details": {"name": object::name(obj), "group": rt.group, "kind": rt.plural, "uid": object::uid(obj)}
    })
}

fn dependents_of(state: &State, uid: &str) -> Vec<ObjKey> {
    state
        .objects
        .iter()
        .filter(|(_, o)| {
            object::owner_refs(o)
                .iter()
                .any(|r| r.get("uid").and_then(Value::as_str) == Some(uid))
        })
        .map(|(k, _)| k.clone())
        .collect()
}

/// Deletes one object.
pub(crate) fn delete(
    state: &mut State,
    rt: &ResourceType,
    namespace: Option<&str>,
    name: &str,
    opts: &DeleteOptions,
) -> Result<Deleted, ApiError> {
    let key = crate::ops::key(rt, namespace, name);
    let Some(old) = state.get(&key).cloned() else {
        return Err(ApiError::not_found(&rt.group, &rt.plural, name));
    };
    delete_key(state, rt, &key, old, opts)
}

fn delete_key(
    state: &mut State,
    rt: &ResourceType,
    key: &ObjKey,
    old: Value,
    opts: &DeleteOptions,
) -> Result<Deleted, ApiError> {
    let name = key.name.clone();
    if let Some(uid) = &opts.precondition_uid
        && uid != object::uid(&old)
    {
        return Err(ApiError::conflict(
            &rt.group,
            &rt.plural,
            &name,
            &format!(
                "Precondition failed: UID in precondition: {uid}, UID in object meta: {}",
                object::uid(&old)
            ),
        ));
    }
    if let Some(rv) = &opts.precondition_rv
        && rv != object::meta_str(&old, "resourceVersion")
    {
        return Err(ApiError::conflict(
            &rt.group,
            &rt.plural,
            &name,
            &format!(
                "Precondition failed: ResourceVersion in precondition: {rv}, ResourceVersion in object meta: {}",
                object::meta_str(&old, "resourceVersion")
            ),
        ));
    }
    let mut obj = old.clone();
    let mut finalizers = object::finalizers(&obj);
    let is_namespace = rt.is_namespace();
    if is_namespace {
        // The namespace stays, Terminating, until the namespace controller has emptied it and
        // removed the `kubernetes` finalizer from its spec.
        if let Some(map) = obj.as_object_mut() {
            let status = map.entry("status").or_insert_with(|| json!({}));
            if let Some(status) = status.as_object_mut() {
                status.insert("phase".into(), Value::from("Terminating"));
            }
            let spec = map.entry("spec").or_insert_with(|| json!({}));
            if let Some(spec) = spec.as_object_mut() {
                let finalizers = spec.entry("finalizers").or_insert_with(|| json!([]));
                if let Some(list) = finalizers.as_array_mut()
                    && !list.iter().any(|f| f == NAMESPACE_FINALIZER)
                {
                    list.push(Value::from(NAMESPACE_FINALIZER));
                }
            }
        }
    } else {
        match opts.propagation {
            Propagation::Foreground if !finalizers.iter().any(|f| f == FOREGROUND) => {
                finalizers.push(FOREGROUND.into())
            }
            Propagation::Orphan if !opts.dry_run => {
                orphan_dependents(state, object::uid(&old));
            }
            _ => {}
        }
    }
    if !is_namespace && finalizers.is_empty() {
        if opts.dry_run {
            return Ok(Deleted::Gone(old));
        }
        let gone = state.remove(key).unwrap_or(old);
        return Ok(Deleted::Gone(gone));
    }
    if is_deleting(&old) && object::finalizers(&old) == finalizers && !is_namespace {
        return Ok(Deleted::Pending(old));
    }
    object::set_finalizers(&mut obj, &finalizers);
    let meta = meta_mut(&mut obj);
    if !meta.contains_key("deletionTimestamp") {
        meta.insert(
            "deletionTimestamp".into(),
            Value::from(object::now_rfc3339()),
        );
        meta.insert("deletionGracePeriodSeconds".into(), Value::from(0));
        let generation = meta.get("generation").and_then(Value::as_i64).unwrap_or(0) + 1;
        meta.insert("generation".into(), Value::from(generation));
        if !opts.dry_run {
            let requested = state.clock.now();
            state
                .deleted_at
                .insert(object::uid(&obj).to_owned(), requested);
        }
    }
    if opts.dry_run || obj == old {
        return Ok(Deleted::Pending(obj));
    }
    Ok(Deleted::Pending(state.put(key.clone(), obj, false)))
}

fn orphan_dependents(state: &mut State, uid: &str) {
    for key in dependents_of(state, uid) {
        let Some(mut dep) = state.get(&key).cloned() else {
            continue;
        };
        let refs: Vec<Value> = object::owner_refs(&dep)
            .into_iter()
            .filter(|r| r.get("uid").and_then(Value::as_str) != Some(uid))
            .collect();
        let meta = meta_mut(&mut dep);
        if refs.is_empty() {
            meta.shift_remove("ownerReferences");
        } else {
            meta.insert("ownerReferences".into(), Value::Array(refs));
        }
        state.put(key, dep, false);
    }
}

fn remove_finalizer(state: &mut State, key: &ObjKey, finalizer: &str) {
    let Some(mut obj) = state.get(key).cloned() else {
        return;
    };
    let rest: Vec<String> = object::finalizers(&obj)
        .into_iter()
        .filter(|f| f != finalizer)
        .collect();
    object::set_finalizers(&mut obj, &rest);
    if rest.is_empty() && is_deleting(&obj) {
        state.remove(key);
    } else {
        state.put(key.clone(), obj, false);
    }
}

/// One garbage-collection pass, repeated until nothing changes: deletes dependents whose
/// owners are all gone, drops references to deleted owners, completes foreground and orphan
/// deletions, and empties then removes terminating namespaces. Returns whether anything changed.
pub(crate) fn collect_garbage(state: &mut State) -> bool {
    let start = state.rv;
    for _ in 0..32 {
        let before = state.rv;
        gc_pass(state);
        if state.rv == before {
            break;
        }
    }
    state.rv != start
}

fn type_of(state: &State, key: &ObjKey) -> Option<std::sync::Arc<ResourceType>> {
    state.registry.any_version(&key.group, &key.resource)
}

fn gc_pass(state: &mut State) {
    let uids: HashMap<String, ObjKey> = state
        .objects
        .iter()
        .map(|(k, o)| (object::uid(o).to_string(), k.clone()))
        .collect();
    let mut work: Vec<(ObjKey, Vec<Value>, Vec<Value>)> = Vec::new();
    for (key, obj) in &state.objects {
        let refs = object::owner_refs(obj);
        if refs.is_empty() {
            continue;
        }
        let (alive, dead): (Vec<Value>, Vec<Value>) = refs.into_iter().partition(|r| {
            r.get("uid")
                .and_then(Value::as_str)
                .is_some_and(|u| uids.contains_key(u))
        });
        if !dead.is_empty() {
            work.push((key.clone(), alive, dead));
        }
    }
    for (key, alive, _dead) in work {
        let Some(obj) = state.get(&key).cloned() else {
            continue;
        };
        if alive.is_empty() {
            if is_deleting(&obj) {
                continue;
            }
            if let Some(rt) = type_of(state, &key) {
                let _ = delete_key(state, &rt, &key, obj, &DeleteOptions::default());
            }
        } else {
            let mut obj = obj;
            meta_mut(&mut obj).insert("ownerReferences".into(), Value::Array(alive));
            state.put(key, obj, false);
        }
    }
    // Owners being deleted in the foreground: delete their dependents, then let them go.
    let deleting: Vec<(ObjKey, Value)> = state
        .objects
        .iter()
        .filter(|(_, o)| {
            is_deleting(o)
                && object::finalizers(o)
                    .iter()
                    .any(|f| f == FOREGROUND || f == ORPHAN)
        })
        .map(|(k, o)| (k.clone(), o.clone()))
        .collect();
    for (key, owner) in deleting {
        let uid = object::uid(&owner).to_string();
        if object::finalizers(&owner).iter().any(|f| f == ORPHAN) {
            orphan_dependents(state, &uid);
            remove_finalizer(state, &key, ORPHAN);
            continue;
        }
        let dependents = dependents_of(state, &uid);
        if dependents.is_empty() {
            remove_finalizer(state, &key, FOREGROUND);
            continue;
        }
        for dep_key in dependents {
            let Some(dep) = state.get(&dep_key).cloned() else {
                continue;
            };
            if is_deleting(&dep) && object::finalizers(&dep).iter().any(|f| f == FOREGROUND) {
                continue;
            }
            if let Some(rt) = type_of(state, &dep_key) {
                let opts = DeleteOptions {
                    propagation: Propagation::Foreground,
                    ..DeleteOptions::default()
                };
                let _ = delete_key(state, &rt, &dep_key, dep, &opts);
            }
        }
    }
}

/// The namespace controller: a terminating namespace is left alone for
/// `namespace_deletion_delay` (on the emulator's clock, from when the controller first sees
/// it), then its contents are deleted; once it is empty the `kubernetes` finalizer is removed
/// from its spec, and the namespace goes when no finalizer is left. Its status conditions say
/// what remains, as the real controller's do. Returns whether a namespace is still waiting
/// for its delay.
pub(crate) fn terminate_namespaces(
    state: &mut State,
    first_seen: &mut HashMap<String, std::time::SystemTime>,
) -> bool {
    let now = state.clock.now();
    let delay = state.config.namespace_deletion_delay;
    let terminating: Vec<(ObjKey, Value)> = state
        .list("", "namespaces", Some(""))
        .into_iter()
        .filter(|(_, o)| is_deleting(o))
        .map(|(k, o)| (k.clone(), o.clone()))
        .collect();
    let live: std::collections::HashSet<String> = terminating
        .iter()
        .map(|(_, ns)| object::uid(ns).to_string())
        .collect();
    first_seen.retain(|uid, _| live.contains(uid));
    let mut waiting = false;
    for (ns_key, ns) in terminating {
        if object::finalized(&ns, true) {
            state.remove(&ns_key);
            continue;
        }
        let since = match state.deleted_at.get(object::uid(&ns)) {
            Some(requested) => *requested,
            None => *first_seen
                .entry(object::uid(&ns).to_string())
                .or_insert(now),
        };
        if now.duration_since(since).unwrap_or_default() < delay {
            waiting = true;
            continue;
        }
        let contents: Vec<(ObjKey, Value)> = state
            .objects
            .iter()
            .filter(|(k, _)| k.namespace == ns_key.name)
            .map(|(k, o)| (k.clone(), o.clone()))
            .collect();
        for (k, o) in &contents {
            if is_deleting(o) {
                continue;
            }
            if let Some(rt) = type_of(state, k) {
                let _ = delete_key(state, &rt, k, o.clone(), &DeleteOptions::default());
            }
        }
        let remaining: Vec<(ObjKey, Value)> = state
            .objects
            .iter()
            .filter(|(k, _)| k.namespace == ns_key.name)
            .map(|(k, o)| (k.clone(), o.clone()))
            .collect();
        let Some(mut updated) = state.get(&ns_key).cloned() else {
            continue;
        };
        set_termination_conditions(&mut updated, &remaining, &ns);
        if remaining.is_empty() {
            let rest: Vec<String> = object::spec_finalizers(&updated)
                .into_iter()
                .filter(|f| f != NAMESPACE_FINALIZER)
                .collect();
            if let Some(spec) = updated.get_mut("spec").and_then(Value::as_object_mut) {
                spec.insert("finalizers".into(), Value::from(rest));
            }
        }
        if object::finalized(&updated, true) {
            state.remove(&ns_key);
        } else if Some(&updated) != state.get(&ns_key) {
            state.put(ns_key, updated, false);
        }
    }
    waiting
}

/// `NamespaceContentRemaining` and `NamespaceFinalizersRemaining`, as the namespace
/// controller reports them (transition times kept while a condition does not change).
fn set_termination_conditions(namespace: &mut Value, remaining: &[(ObjKey, Value)], old: &Value) {
    let mut counts: std::collections::BTreeMap<String, usize> = Default::default();
    let mut finalizers: std::collections::BTreeMap<String, usize> = Default::default();
    for (key, obj) in remaining {
        let resource = if key.group.is_empty() {
            key.resource.clone()
        } else {
            format!("{}.{}", key.resource, key.group)
        };
        *counts.entry(resource).or_default() += 1;
        for f in object::finalizers(obj) {
            *finalizers.entry(f).or_default() += 1;
        }
    }
    let content = if counts.is_empty() {
        (
            "False",
            "ContentRemoved",
            "All content successfully removed".to_string(),
        )
    } else {
        let list: Vec<String> = counts
            .iter()
            .map(|(r, n)| format!("{r} has {n} resource instances"))
            .collect();
        (
            "True",
            "SomeResourcesRemain",
            format!("Some resources are remaining: {}", list.join(", ")),
        )
    };
    let finalizer = if finalizers.is_empty() {
        (
            "False",
            "ContentHasNoFinalizers",
            "All content-preserving finalizers finished".to_string(),
        )
    } else {
        let list: Vec<String> = finalizers
            .iter()
            .map(|(f, n)| format!("{f} in {n} resource instances"))
            .collect();
        (
            "True",
            "SomeFinalizersRemain",
            format!(
                "Some content in the namespace has finalizers remaining: {}",
                list.join(", ")
            ),
        )
    };
    let previous = old
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let condition = |kind: &str, (status, reason, message): (&str, &str, String)| {
        let kept = previous.iter().find(|c| {
            c.get("type").and_then(Value::as_str) == Some(kind)
                && c.get("status").and_then(Value::as_str) == Some(status)
        });
        let time = kept
            .and_then(|c| c.get("lastTransitionTime").cloned())
            .unwrap_or_else(|| Value::from(object::now_rfc3339()));
        json!({"type": kind, "status": status, "reason": reason, "message": message, "lastTransitionTime": time})
    };
    let conditions = vec![
        condition("NamespaceContentRemaining", content),
        condition("NamespaceFinalizersRemaining", finalizer),
    ];
    if let Some(status) = namespace.get_mut("status").and_then(Value::as_object_mut) {
        status.insert("conditions".into(), Value::Array(conditions));
    }
}

/// Deletes every object matched by a list (`DELETE` on a collection).
pub(crate) fn delete_collection(
    state: &mut State,
    rt: &ResourceType,
    items: &[Value],
    opts: &DeleteOptions,
) -> Vec<Value> {
    let mut out = Vec::new();
    for item in items {
        let ns = object::namespace(item).to_string();
        if let Ok(d) = delete(state, rt, Some(&ns), object::name(item), opts) {
            out.push(match d {
                Deleted::Gone(o) | Deleted::Pending(o) => o,
            });
        }
    }
    out
}
