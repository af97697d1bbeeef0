//! The configured provider: one implementation for every kind, over
//! `kube::Api<DynamicObject>` (kube's dynamic-object pattern).
//!
//! - create / update: server-side apply with the field manager `girder`; conflicts with other
//!   managers name them and their fields; `force` only when the object opts in. Create
//!   refuses to adopt an object girder did not create (import it instead). Deployments wait
//!   for their rollout, LoadBalancer Services (on request) for an address.
//! - read: the live objects of a batch — one LIST per namespace by girder's label, a GET for
//!   a namespace's only object and for objects the LIST does not return (`read.rs`) — with
//!   the fields girder set reported as observed inputs.
//! - delete: foreground propagation, then wait until the object is gone.
//! - find: objects labelled `app.kubernetes.io/managed-by=girder` with the identity
//!   annotations `girder.dev/stack` and `girder.dev/resource`.

mod observe;
mod read;
mod ready;

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use girder_core::Value;
use girder_engine::provider::{
    CallContext, CreateRequest, CreateResponse, DeleteRequest, ErrorKind, FindRequest,
    FindResponse, Found, Observed, Provider, ProviderError, RateLimit, ReadRequest, ReadResponse,
    ResourceIdentity, UpdateRequest, UpdateResponse,
};
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams};
use kube::core::ApiResource;
use kube::discovery::Scope;
use serde_json::Value as Json;

use observe::stripped;
use ready::load_balancer_address;

pub(crate) use read::Reading;
pub use read::{ReadCount, ReadCounter};

use crate::config::Clients;
use crate::error::K8sError;
use crate::kinds::{Kind, cloud_id, split_cloud_id};
use crate::{
    FIELD_MANAGER, GIRDER_SETTINGS, MANAGED_BY_LABEL, RESOURCE_ANNOTATION, STACK_ANNOTATION,
};

/// How readiness waits poll.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Polling {
    /// The first delay.
    pub initial: Duration,
    /// The longest delay.
    pub max: Duration,
}

impl Default for Polling {
    fn default() -> Self {
        Polling {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(2),
        }
    }
}

/// girder's settings for one object (the `girder` input key).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Settings {
    force: bool,
    wait_rollout: bool,
    wait_load_balancer: bool,
}

/// The object a create or update request asks for.
#[derive(Debug)]
struct Desired {
    kind: Kind,
    name: String,
    namespace: Option<String>,
    manifest: Json,
    settings: Settings,
}

impl Desired {
    fn from_inputs(type_name: &str, inputs: &Value) -> Result<Desired, K8sError> {
        let kind = Kind::from_type_token(type_name).ok_or_else(|| K8sError::Manifest {
            doc: None,
            message: format!("`{type_name}` is not a Kubernetes type token"),
        })?;
        let mut manifest = inputs.to_revealed_json().map_err(|e| K8sError::Manifest {
            doc: None,
            message: format!("the inputs are not fully known: {e}"),
        })?;
        let object = manifest.as_object_mut().ok_or_else(|| K8sError::Manifest {
            doc: None,
            message: "the inputs are not an object".into(),
        })?;
        let settings = object.remove(GIRDER_SETTINGS).unwrap_or(Json::Null);
        let flag = |key: &str| settings.get(key).and_then(Json::as_bool);
        let settings = Settings {
            force: flag("forceConflicts").unwrap_or(false),
            wait_rollout: flag("waitForRollout").unwrap_or(kind.kind == "Deployment"),
            wait_load_balancer: flag("waitForLoadBalancer").unwrap_or(false),
        };
        object.insert("apiVersion".into(), kind.api_version().into());
        object.insert("kind".into(), kind.kind.clone().into());
        let name = manifest
            .pointer("/metadata/name")
            .and_then(Json::as_str)
            .filter(|n| !n.is_empty())
            .ok_or_else(|| K8sError::Manifest {
                doc: None,
                message: format!("the {} has no `metadata.name`", kind.kind),
            })?
            .to_owned();
        let namespace = manifest
            .pointer("/metadata/namespace")
            .and_then(Json::as_str)
            .map(str::to_owned);
        Ok(Desired {
            kind,
            name,
            namespace,
            manifest,
            settings,
        })
    }

    /// The manifest as applied: with the resolved namespace and girder's identity marks.
    fn applied(&self, namespace: Option<&str>, identity: &ResourceIdentity) -> Json {
        let mut manifest = self.manifest.clone();
        let metadata = manifest
            .as_object_mut()
            .and_then(|m| {
                m.entry("metadata")
                    .or_insert_with(|| Json::Object(Default::default()))
                    .as_object_mut()
            })
            .expect("metadata is an object (checked when building the manifest)");
        match namespace {
            Some(namespace) => {
                metadata.insert("namespace".into(), namespace.into());
            }
            None => {
                metadata.remove("namespace");
            }
        }
        let labels = metadata
            .entry("labels")
            .or_insert_with(|| Json::Object(Default::default()));
        if let Some(labels) = labels.as_object_mut() {
            labels.insert(MANAGED_BY_LABEL.0.into(), MANAGED_BY_LABEL.1.into());
        }
        let annotations = metadata
            .entry("annotations")
            .or_insert_with(|| Json::Object(Default::default()));
        if let Some(annotations) = annotations.as_object_mut() {
            annotations.insert(STACK_ANNOTATION.into(), identity.stack.clone().into());
            annotations.insert(RESOURCE_ANNOTATION.into(), identity.name.clone().into());
        }
        manifest
    }
}

/// `Deployment default/backend`.
fn describe(kind: &Kind, namespace: Option<&str>, name: &str) -> String {
    match namespace {
        Some(namespace) => format!("{} {namespace}/{name}", kind.kind),
        None => format!("{} {name}", kind.kind),
    }
}

/// The owner an object's annotations name, if any.
fn owner_of(object: &DynamicObject) -> Option<(String, String)> {
    let annotations = object.metadata.annotations.as_ref()?;
    Some((
        annotations.get(STACK_ANNOTATION)?.clone(),
        annotations.get(RESOURCE_ANNOTATION)?.clone(),
    ))
}

/// The conflicts of a failed server-side apply, or `None` if the error is something else.
fn apply_conflicts(error: &kube::Error) -> Option<String> {
    let kube::Error::Api(status) = error else {
        return None;
    };
    if status.code != 409 {
        return None;
    }
    let causes: Vec<String> = status
        .details
        .as_ref()?
        .causes
        .iter()
        .filter(|c| c.reason == "FieldManagerConflict")
        .map(|c| format!("`{}` ({})", c.field, c.message))
        .collect();
    (!causes.is_empty()).then(|| causes.join("; "))
}

/// The configured provider.
pub(crate) struct K8sProvider {
    clients: Clients,
    polling: Polling,
    discovered: Mutex<HashMap<Kind, (ApiResource, bool)>>,
    reading: Reading,
}

impl K8sProvider {
    pub(crate) fn new(clients: Clients, polling: Polling, reading: Reading) -> K8sProvider {
        K8sProvider {
            clients,
            polling,
            discovered: Mutex::new(HashMap::new()),
            reading,
        }
    }

    /// The API resource of a kind and whether it is namespaced: built-ins from the table,
    /// others (custom resources) by discovery, cached once found.
    async fn resource(
        &self,
        client: &kube::Client,
        kind: &Kind,
    ) -> Result<(ApiResource, bool), ProviderError> {
        if let (Some(resource), Some(builtin)) = (kind.api_resource(), kind.builtin()) {
            return Ok((resource, builtin.namespaced));
        }
        if let Some(found) = self
            .discovered
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(kind)
        {
            return Ok(found.clone());
        }
        match kube::discovery::pinned_kind(client, &kind.gvk()).await {
            Ok((resource, capabilities)) => {
                let found = (resource, capabilities.scope == Scope::Namespaced);
                self.discovered
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(kind.clone(), found.clone());
                Ok(found)
            }
            Err(error) => {
                let classified = K8sError::from_kube("discover", kind.to_string(), error);
                // A custom resource applied right after its CRD may not be served yet: the
                // engine retries, and the CRD is ordered before it by the graph.
                let kind_of_error = match classified.kind() {
                    ErrorKind::NotFound | ErrorKind::Permanent => ErrorKind::Retryable,
                    other => other,
                };
                Err(ProviderError::new(
                    kind_of_error,
                    format!(
                        "the API server does not serve {kind} ({classified}); if it is a custom resource, apply its CustomResourceDefinition first (raw manifests added together are ordered so)"
                    ),
                ))
            }
        }
    }

    /// The API for objects of `kind` in `namespace` (cluster-wide when `None`).
    fn api(
        client: &kube::Client,
        resource: &ApiResource,
        namespace: Option<&str>,
    ) -> Api<DynamicObject> {
        match namespace {
            Some(namespace) => Api::namespaced_with(client.clone(), namespace, resource),
            None => Api::all_with(client.clone(), resource),
        }
    }

    /// Runs `call` with an authenticated client. When the API server answers 401 and the
    /// token came from a token source, a new token is fetched and `call` runs once more:
    /// an EKS token lives 15 minutes and a long apply outlives it, and the cluster may refuse
    /// a token early (a clock skew, a rotated signing key). A second 401 is the answer.
    async fn authenticated<T, F, Fut>(&self, call: F) -> Result<T, ProviderError>
    where
        F: Fn(kube::Client) -> Fut,
        Fut: std::future::Future<Output = Result<T, ProviderError>>,
    {
        let first = self.clients.get().await?;
        match call(first.client).await {
            Err(error) if refused_token(&error) && self.clients.refused(first.generation).await => {
                let second = self.clients.get().await?;
                call(second.client).await
            }
            other => other,
        }
    }

    /// Applies `desired` and waits until it is ready; returns the cloud id and outputs.
    async fn apply(
        &self,
        identity: &ResourceIdentity,
        inputs: &Value,
        creating: bool,
        ctx: &CallContext,
    ) -> Result<(String, Value), ProviderError> {
        self.authenticated(|client| self.apply_with(client, identity, inputs, creating, ctx))
            .await
    }

    /// [`K8sProvider::apply`] with a client.
    async fn apply_with(
        &self,
        client: kube::Client,
        identity: &ResourceIdentity,
        inputs: &Value,
        creating: bool,
        ctx: &CallContext,
    ) -> Result<(String, Value), ProviderError> {
        let desired = Desired::from_inputs(&identity.type_name, inputs)?;
        let (resource, namespaced) = self.resource(&client, &desired.kind).await?;
        let namespace = namespaced.then(|| {
            desired
                .namespace
                .clone()
                .unwrap_or_else(|| "default".into())
        });
        let object = describe(&desired.kind, namespace.as_deref(), &desired.name);
        let api = Self::api(&client, &resource, namespace.as_deref());

        if creating {
            match api.get_opt(&desired.name).await {
                Ok(Some(existing)) => {
                    let ours = owner_of(&existing).is_some_and(|(stack, name)| {
                        stack == identity.stack && name == identity.name
                    });
                    if !ours {
                        return Err(ProviderError::new(
                            ErrorKind::Conflict,
                            format!(
                                "{object} already exists and was not created by this stack{}\n  fix: adopt it with `.import(\"{}\")` on the resource, delete it, or choose another name",
                                owner_of(&existing)
                                    .map(|(stack, name)| format!(" (it belongs to `{name}` of stack `{stack}`)"))
                                    .unwrap_or_default(),
                                cloud_id(namespace.as_deref(), &desired.name)
                            ),
                        )
                        .with_code("AlreadyExists"));
                    }
                    tracing::info!(%object, "adopting an object this resource created in an interrupted run");
                }
                Ok(None) => {}
                Err(error) => return Err(K8sError::from_kube("read", &object, error).into()),
            }
        }

        let manifest = desired.applied(namespace.as_deref(), identity);
        let mut params = PatchParams::apply(FIELD_MANAGER);
        if desired.settings.force {
            params = params.force();
        }
        tracing::debug!(%object, force = desired.settings.force, "server-side apply");
        let applied = api
            .patch(&desired.name, &params, &Patch::Apply(&manifest))
            .await
            .map_err(|error| match apply_conflicts(&error) {
                Some(details) => K8sError::Conflict {
                    object: object.clone(),
                    details,
                },
                None => K8sError::from_kube("apply", &object, error),
            })?;
        let id = cloud_id(namespace.as_deref(), &desired.name);
        let uid = applied.metadata.uid.clone().unwrap_or_default();
        let mut outputs = inputs.clone();
        let mut load_balancer = Json::Null;

        let waited = async {
            if desired.kind.group == "apps"
                && desired.kind.kind == "Deployment"
                && desired.settings.wait_rollout
            {
                let pod_resource = Kind::new("", "v1", "Pod")
                    .api_resource()
                    .expect("Pod is a built-in kind");
                let pods = Self::api(&client, &pod_resource, namespace.as_deref());
                ready::wait_for_rollout(&api, &pods, &desired.name, &object, ctx, self.polling)
                    .await?;
            }
            if desired.kind.group.is_empty() && desired.kind.kind == "Service" {
                load_balancer = if desired.settings.wait_load_balancer {
                    ready::wait_for_load_balancer(&api, &desired.name, &object, ctx, self.polling)
                        .await?
                } else {
                    load_balancer_address(&serde_json::to_value(&applied).unwrap_or(Json::Null))
                        .unwrap_or(Json::Null)
                };
            }
            Ok::<(), ProviderError>(())
        }
        .await;
        if let Some(map) = outputs.as_object_mut() {
            map.insert("uid".into(), Value::String(uid));
            if desired.kind.group.is_empty() && desired.kind.kind == "Service" {
                map.insert("loadBalancer".into(), Value::from_json(load_balancer));
            }
        }
        match waited {
            Ok(()) => Ok((id, outputs)),
            // The object exists although it is not ready: a failed create hands it to the
            // engine (which records it as tainted) instead of leaking it.
            Err(error) if creating => Err(error.with_partial(id, outputs)),
            Err(error) => Err(error),
        }
    }
}

/// Outputs of a read object: the observed inputs, its uid, and a Service's address.
fn outputs_of(kind: &Kind, inputs: &Value, live: &Json) -> Value {
    let mut outputs = inputs.clone();
    if let Some(map) = outputs.as_object_mut() {
        let uid = live
            .pointer("/metadata/uid")
            .and_then(Json::as_str)
            .unwrap_or_default();
        map.insert("uid".into(), Value::String(uid.to_owned()));
        if kind.group.is_empty() && kind.kind == "Service" {
            map.insert(
                "loadBalancer".into(),
                Value::from_json(load_balancer_address(live).unwrap_or(Json::Null)),
            );
        }
    }
    outputs
}

#[async_trait]
impl Provider for K8sProvider {
    async fn create(
        &self,
        request: CreateRequest,
        ctx: &CallContext,
    ) -> Result<CreateResponse, ProviderError> {
        let (id, outputs) = self
            .apply(&request.identity, &request.inputs, true, ctx)
            .await?;
        Ok(CreateResponse { id, outputs })
    }

    async fn read(
        &self,
        request: ReadRequest,
        _ctx: &CallContext,
    ) -> Result<ReadResponse, ProviderError> {
        self.authenticated(|client| {
            let request = &request;
            async move {
                let (items, requests) = self
                    .read_batch(&client, &request.type_name, &request.items)
                    .await?;
                Ok(ReadResponse::new(items).with_requests(requests))
            }
        })
        .await
    }

    async fn update(
        &self,
        request: UpdateRequest,
        ctx: &CallContext,
    ) -> Result<UpdateResponse, ProviderError> {
        let (_, outputs) = self
            .apply(&request.identity, &request.inputs, false, ctx)
            .await?;
        Ok(UpdateResponse { outputs })
    }

    async fn delete(&self, request: DeleteRequest, ctx: &CallContext) -> Result<(), ProviderError> {
        self.authenticated(|client| self.delete_with(client, &request, ctx))
            .await
    }

    async fn find(
        &self,
        request: FindRequest,
        _ctx: &CallContext,
    ) -> Result<FindResponse, ProviderError> {
        self.authenticated(|client| self.find_with(client, &request))
            .await
    }

    fn read_batch_size(&self) -> usize {
        // Reads list a namespace at a time: splitting a kind's objects into batches would
        // list the same namespace once per batch.
        usize::MAX
    }

    fn rate_limit(&self) -> Option<RateLimit> {
        // kubectl's client-side limits: enough for large applies, gentle on the API server.
        Some(RateLimit {
            per_second: 50,
            burst: 100,
        })
    }
}

impl K8sProvider {
    /// Deletes an object and waits until it is gone.
    async fn delete_with(
        &self,
        client: kube::Client,
        request: &DeleteRequest,
        ctx: &CallContext,
    ) -> Result<(), ProviderError> {
        let kind = Kind::from_type_token(&request.identity.type_name).ok_or_else(|| {
            ProviderError::invalid_input(format!(
                "`{}` is not a Kubernetes type token",
                request.identity.type_name
            ))
        })?;
        let (resource, namespaced) = self.resource(&client, &kind).await?;
        let (namespace, name) = split_cloud_id(&request.id);
        let namespace = if namespaced {
            Some(namespace.unwrap_or("default"))
        } else {
            None
        };
        let object = describe(&kind, namespace, name);
        let api = Self::api(&client, &resource, namespace);
        match api.delete(name, &DeleteParams::foreground()).await {
            Ok(_) => {}
            Err(kube::Error::Api(status)) if status.code == 404 => return Ok(()),
            Err(error) => return Err(K8sError::from_kube("delete", &object, error).into()),
        }
        tracing::debug!(%object, "deleted (foreground); waiting until gone");
        ready::wait_until_gone(&api, name, &object, ctx, self.polling).await
    }

    /// Finds the objects this stack created for a resource, by girder's labels.
    async fn find_with(
        &self,
        client: kube::Client,
        request: &FindRequest,
    ) -> Result<FindResponse, ProviderError> {
        let kind = Kind::from_type_token(&request.identity.type_name).ok_or_else(|| {
            ProviderError::invalid_input(format!(
                "`{}` is not a Kubernetes type token",
                request.identity.type_name
            ))
        })?;
        let (resource, namespaced) = self.resource(&client, &kind).await?;
        let api: Api<DynamicObject> = Api::all_with(client.clone(), &resource);
        let selector = format!("{}={}", MANAGED_BY_LABEL.0, MANAGED_BY_LABEL.1);
        let list = api
            .list(&ListParams::default().labels(&selector))
            .await
            .map_err(|e| K8sError::from_kube("list", format!("{kind} objects"), e))?;
        let found = list
            .items
            .into_iter()
            .filter(|object| {
                owner_of(object).is_some_and(|(stack, name)| {
                    stack == request.identity.stack && name == request.identity.name
                })
            })
            .filter_map(|object| {
                let name = object.metadata.name.clone()?;
                let namespace = if namespaced {
                    object.metadata.namespace.clone()
                } else {
                    None
                };
                let live = serde_json::to_value(read::with_types(object, &resource)).ok()?;
                let inputs = stripped(&Value::from_json(live.clone()));
                Some(Found {
                    id: cloud_id(namespace.as_deref(), &name),
                    observed: Observed {
                        outputs: outputs_of(&kind, &inputs, &live),
                        inputs,
                    },
                })
            })
            .collect();
        Ok(FindResponse { found })
    }
}

/// Whether the API server refused the credentials themselves (401), as opposed to refusing
/// the request (403) — only the first is cured by a new token.
fn refused_token(error: &ProviderError) -> bool {
    error.kind == ErrorKind::Unauthorized
        && matches!(error.code.as_deref(), Some("Unauthorized" | "401"))
}
