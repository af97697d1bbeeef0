//! Reading many objects of one kind at once: one LIST per namespace, selected by girder's
//! `app.kubernetes.io/managed-by` label and paginated as kubectl paginates (`limit` and
//! `continue`), instead of one GET per object. Objects the LIST does not return — imported
//! objects without girder's label, objects whose label someone removed, objects that are gone
//! — are fetched by GET, so a read answers exactly what one GET per object would.
//!
//! Every request the reads make is counted per type ([`ReadCounter`]), so that tests and
//! benchmarks can hold refresh to "one request per kind and namespace, plus pages".

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use futures::future::join_all;
use girder_engine::provider::{ErrorKind, Observed, ProviderError, ReadItem};
use kube::api::{Api, DynamicObject, ListParams};
use kube::core::{ApiResource, TypeMeta};
use serde_json::Value as Json;

use super::observe::{observed_inputs, stripped};
use super::{K8sProvider, describe, outputs_of};
use crate::MANAGED_BY_LABEL;
use crate::error::K8sError;
use crate::kinds::{Kind, split_cloud_id};

/// kubectl's page size (`--chunk-size`): large enough that a namespace's objects of one kind
/// usually come in one response, small enough to keep each response (and the API server's
/// work per request) bounded.
pub(crate) const DEFAULT_PAGE_SIZE: u32 = 500;

/// The requests one type's reads made.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReadCount {
    /// LIST requests, one per page.
    pub lists: u64,
    /// GET requests (a batch's only object in a namespace, or an object a LIST did not
    /// return).
    pub gets: u64,
}

impl ReadCount {
    /// Every request: LIST pages and GETs.
    pub fn requests(&self) -> u64 {
        self.lists + self.gets
    }
}

/// The HTTP requests the Kubernetes provider's reads (refresh, imports, read nodes) have made,
/// per type token (`k8s:core/v1:ConfigMap`). Shared by every provider instance a
/// [`K8sPackage`](crate::K8sPackage) configures and by the package's clones, so a test or a
/// benchmark keeps a clone of the package and reads the counts after a refresh. Requests that
/// failed count too: they reached the API server.
///
/// ```
/// let package = girder_k8s::package();
/// let counts = package.read_requests();
/// assert_eq!(counts.of("k8s:core/v1:ConfigMap").requests(), 0);
/// assert!(counts.snapshot().is_empty());
/// ```
#[derive(Clone, Debug, Default)]
pub struct ReadCounter(Arc<Mutex<BTreeMap<String, ReadCount>>>);

impl ReadCounter {
    /// The counts per type token.
    pub fn snapshot(&self) -> BTreeMap<String, ReadCount> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The counts of one type token (zero if it was never read).
    pub fn of(&self, type_name: &str) -> ReadCount {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(type_name)
            .copied()
            .unwrap_or_default()
    }

    /// The counts of every type together.
    pub fn total(&self) -> ReadCount {
        self.snapshot()
            .values()
            .fold(ReadCount::default(), |sum, count| ReadCount {
                lists: sum.lists + count.lists,
                gets: sum.gets + count.gets,
            })
    }

    /// Starts counting from zero (after a test's setup, before the refresh it measures).
    pub fn reset(&self) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }

    fn add(&self, type_name: &str, count: impl FnOnce(&mut ReadCount)) {
        count(
            self.0
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .entry(type_name.to_owned())
                .or_default(),
        );
    }
}

/// How reads list: the page size and where requests are counted.
#[derive(Clone, Debug)]
pub(crate) struct Reading {
    /// `limit` of each LIST page.
    pub page_size: u32,
    /// The counter requests are added to.
    pub counter: ReadCounter,
}

impl Default for Reading {
    fn default() -> Self {
        Reading {
            page_size: DEFAULT_PAGE_SIZE,
            counter: ReadCounter::default(),
        }
    }
}

/// A list item carries no `apiVersion` and `kind` when the kind is built in (the API server
/// sets them on the list only); put them back so the object reads exactly as a GET returns
/// it — otherwise recorded inputs that name them would show as drift.
pub(super) fn with_types(mut object: DynamicObject, resource: &ApiResource) -> DynamicObject {
    if object.types.as_ref().is_none_or(|t| t.kind.is_empty()) {
        object.types = Some(TypeMeta {
            api_version: resource.api_version.clone(),
            kind: resource.kind.clone(),
        });
    }
    object
}

/// The observed inputs and outputs of a live object, for a recorded item (its inputs
/// projected onto what girder set) or an imported one (the object without what the server
/// maintains).
fn observe(kind: &Kind, live: &DynamicObject, item: &ReadItem) -> Observed {
    let live_json = serde_json::to_value(live).unwrap_or(Json::Null);
    let live_value = girder_core::Value::from_json(live_json.clone());
    let inputs = match &item.inputs {
        Some(recorded) => observed_inputs(kind, &live_value, recorded),
        None => stripped(&live_value),
    };
    Observed {
        outputs: outputs_of(kind, &inputs, &live_json),
        inputs,
    }
}

/// Items of one namespace (`None`: a cluster-scoped kind), with their places in the batch.
type Group<'a> = Vec<(usize, &'a str, &'a ReadItem)>;

impl K8sProvider {
    /// Reads a batch of one kind: items grouped by namespace; a group of one is a GET, a
    /// larger group one LIST (plus pages) and a GET for each object the LIST did not return.
    /// Results come back in the batch's order, with the requests the batch made.
    pub(super) async fn read_batch(
        &self,
        client: &kube::Client,
        type_name: &str,
        items: &[ReadItem],
    ) -> Result<(Vec<Option<Observed>>, u64), ProviderError> {
        let kind = Kind::from_type_token(type_name).ok_or_else(|| {
            ProviderError::invalid_input(format!("`{type_name}` is not a Kubernetes type token"))
        })?;
        let (resource, namespaced) = self.resource(client, &kind).await?;
        let mut groups: BTreeMap<Option<&str>, Group<'_>> = BTreeMap::new();
        for (index, item) in items.iter().enumerate() {
            let (namespace, name) = split_cloud_id(&item.id);
            let namespace = namespaced.then(|| namespace.unwrap_or("default"));
            groups
                .entry(namespace)
                .or_default()
                .push((index, name, item));
        }
        let tally = Tally::default();
        let read = join_all(groups.into_iter().map(|(namespace, group)| {
            let api = Self::api(client, &resource, namespace);
            let context = Context {
                type_name,
                kind: &kind,
                resource: &resource,
                namespace,
                tally: &tally,
            };
            async move {
                let observed = self.read_group(&api, &context, &group).await?;
                Ok::<_, ProviderError>(group.into_iter().map(|(i, ..)| i).zip(observed))
            }
        }))
        .await;
        let mut results = vec![None; items.len()];
        for group in read {
            for (index, observed) in group? {
                results[index] = observed;
            }
        }
        tracing::debug!(
            type_name,
            items = items.len(),
            lists = tally.lists.load(Ordering::Relaxed),
            gets = tally.gets.load(Ordering::Relaxed),
            "read a batch of Kubernetes objects"
        );
        let requests = tally.lists.load(Ordering::Relaxed) + tally.gets.load(Ordering::Relaxed);
        Ok((results, requests))
    }

    /// One namespace's items: a GET for a single item (cheaper than a LIST), else a LIST.
    async fn read_group(
        &self,
        api: &Api<DynamicObject>,
        context: &Context<'_>,
        group: &Group<'_>,
    ) -> Result<Vec<Option<Observed>>, ProviderError> {
        let mut listed = match group.as_slice() {
            [_] => HashMap::new(),
            _ => {
                let wanted: HashSet<&str> = group.iter().map(|(_, name, _)| *name).collect();
                self.list_group(api, context, &wanted).await?
            }
        };
        let observed = join_all(group.iter().map(|(_, name, item)| {
            let live = listed.remove(*name);
            async move {
                let live = match live {
                    Some(live) => Some(live),
                    None => self.get(api, context, name).await?,
                };
                Ok::<_, ProviderError>(live.map(|live| observe(context.kind, &live, item)))
            }
        }))
        .await;
        observed.into_iter().collect()
    }

    /// The objects named in `wanted` that a LIST of girder's objects in the namespace returns,
    /// by name. Paging stops early once the pages have cost as many requests as the objects
    /// still missing: those are then cheaper to GET, which bounds a read in a namespace full
    /// of other stacks' objects to about twice the GETs it replaces. A LIST the caller may
    /// not make (403: RBAC can grant `get` without `list`) or a namespace the server does not
    /// know (404) returns nothing, so every object is read by GET, as before batching.
    async fn list_group(
        &self,
        api: &Api<DynamicObject>,
        context: &Context<'_>,
        wanted: &HashSet<&str>,
    ) -> Result<HashMap<String, DynamicObject>, ProviderError> {
        let selector = format!("{}={}", MANAGED_BY_LABEL.0, MANAGED_BY_LABEL.1);
        let mut found = HashMap::new();
        let mut token: Option<String> = None;
        let mut pages = 0;
        loop {
            let mut params = ListParams::default()
                .labels(&selector)
                .limit(self.reading.page_size);
            if let Some(token) = &token {
                params = params.continue_token(token);
            }
            context.counted(&self.reading.counter, true);
            pages += 1;
            let page = match api.list(&params).await {
                Ok(page) => page,
                Err(kube::Error::Api(status)) if matches!(status.code, 403 | 404) => {
                    tracing::debug!(
                        objects = %context.objects(),
                        code = status.code,
                        "cannot list; reading each object by GET"
                    );
                    return Ok(HashMap::new());
                }
                Err(kube::Error::Api(status)) if status.code == 410 => {
                    // The continue token expired (the server compacted its history while
                    // we paged): a fresh read starts over with a new snapshot.
                    return Err(ProviderError::new(
                        ErrorKind::Retryable,
                        format!(
                            "list {}: the list changed while it was paged ({}); reading again",
                            context.objects(),
                            status.message
                        ),
                    )
                    .with_code("Expired"));
                }
                Err(error) => {
                    return Err(K8sError::from_kube("list", context.objects(), error).into());
                }
            };
            for object in page.items {
                if let Some(name) = object.metadata.name.as_deref()
                    && wanted.contains(name)
                {
                    found.insert(name.to_owned(), with_types(object, context.resource));
                }
            }
            token = page.metadata.continue_.filter(|t| !t.is_empty());
            let missing = wanted.len() - found.len();
            if token.is_none() || missing == 0 || pages >= missing {
                return Ok(found);
            }
        }
    }

    /// One object by GET; `None` if it does not exist.
    async fn get(
        &self,
        api: &Api<DynamicObject>,
        context: &Context<'_>,
        name: &str,
    ) -> Result<Option<DynamicObject>, ProviderError> {
        context.counted(&self.reading.counter, false);
        let object = describe(context.kind, context.namespace, name);
        Ok(api
            .get_opt(name)
            .await
            .map_err(|e| K8sError::from_kube("read", &object, e))?
            .map(|live| with_types(live, context.resource)))
    }
}

/// The requests of one batch, for its log event (the shared counter also holds other
/// batches' requests, which may run at the same time).
#[derive(Default)]
struct Tally {
    lists: AtomicU64,
    gets: AtomicU64,
}

/// What the reads of one namespace share.
struct Context<'a> {
    type_name: &'a str,
    kind: &'a Kind,
    resource: &'a ApiResource,
    namespace: Option<&'a str>,
    tally: &'a Tally,
}

impl Context<'_> {
    /// Counts a request (a LIST page or a GET) as it is made.
    fn counted(&self, counter: &ReadCounter, list: bool) {
        let mine = if list {
            &self.tally.lists
        } else {
            &self.tally.gets
        };
        mine.fetch_add(1, Ordering::Relaxed);
        counter.add(self.type_name, |count| {
            if list {
                count.lists += 1;
            } else {
                count.gets += 1;
            }
        });
    }

    /// `ConfigMap objects in namespace default`, for errors and logs.
    fn objects(&self) -> String {
        match self.namespace {
            Some(namespace) => format!("{} objects in namespace {namespace}", self.kind.kind),
            None => format!("{} objects", self.kind.kind),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_items_get_their_types_back() {
        let resource = Kind::new("apps", "v1", "Deployment")
            .api_resource()
            .expect("a built-in kind");
        let listed: DynamicObject = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "backend", "namespace": "default"},
            "spec": {"replicas": 2}
        }))
        .unwrap();
        let listed = serde_json::to_value(with_types(listed, &resource)).unwrap();
        assert_eq!(listed["apiVersion"], "apps/v1");
        assert_eq!(listed["kind"], "Deployment");
        assert_eq!(listed["spec"]["replicas"], 2);
    }

    #[test]
    fn counts_add_up_per_type() {
        let counter = ReadCounter::default();
        counter.add("k8s:core/v1:ConfigMap", |c| c.lists += 1);
        counter.add("k8s:core/v1:ConfigMap", |c| c.gets += 2);
        counter.add("k8s:apps/v1:Deployment", |c| c.gets += 1);
        assert_eq!(
            counter.of("k8s:core/v1:ConfigMap"),
            ReadCount { lists: 1, gets: 2 }
        );
        assert_eq!(counter.total().requests(), 4);
        counter.clone().reset();
        assert_eq!(counter.total(), ReadCount::default());
    }
}
