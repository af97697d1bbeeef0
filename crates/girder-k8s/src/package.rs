//! [`K8sPackage`]: the `k8s` provider package — schemas per kind, the plan-time checks, and
//! configuring provider instances (offline).

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use girder_core::{Diagnostics, Value};
use girder_engine::provider::{Provider, ProviderError, ProviderPackage, ResourceSchema};

use crate::config::{Clients, Connection, KUBECONFIG_OVERRIDE_ENV, TokenSource};
use crate::kinds::{BUILTINS, Kind, PACKAGE, schema_for};
use crate::provider::{K8sProvider, Polling, ReadCounter, Reading};

/// The Kubernetes provider package (`k8s`).
///
/// ```
/// use girder_engine::provider::ProviderPackage;
/// let package = girder_k8s::package();
/// assert_eq!(package.name(), "k8s");
/// assert!(package.schema("k8s:apps/v1:Deployment").is_some());
/// // Custom resources are planned with a generic schema and found by discovery when applied.
/// assert!(package.schema("k8s:example.com/v1:Widget").is_some());
/// assert!(package.schema("aws:ec2/vpc").is_none());
/// ```
#[derive(Clone)]
pub struct K8sPackage {
    schemas: HashMap<String, ResourceSchema>,
    generic: ResourceSchema,
    token_sources: BTreeMap<String, Arc<dyn TokenSource>>,
    kubeconfig_override: Option<PathBuf>,
    polling: Polling,
    reading: Reading,
}

impl std::fmt::Debug for K8sPackage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("K8sPackage")
            .field("kinds", &self.schemas.len())
            .field(
                "token_sources",
                &self.token_sources.keys().collect::<Vec<_>>(),
            )
            .field("kubeconfig_override", &self.kubeconfig_override)
            .field("list_page_size", &self.reading.page_size)
            .finish()
    }
}

/// The Kubernetes provider package with no token sources; `GIRDER_KUBECONFIG` is honoured.
pub fn package() -> K8sPackage {
    K8sPackage::new()
}

impl Default for K8sPackage {
    fn default() -> Self {
        K8sPackage::new()
    }
}

impl K8sPackage {
    /// The package with the built-in kinds' schemas.
    pub fn new() -> K8sPackage {
        let schemas = BUILTINS
            .iter()
            .map(|b| {
                let kind = Kind::new(b.group, b.version, b.kind);
                (kind.type_token(), schema_for(&kind))
            })
            .collect();
        let mut generic = schema_for(&Kind::new("*", "*", "*"));
        generic.type_name = "k8s:*".into();
        K8sPackage {
            schemas,
            generic,
            token_sources: BTreeMap::new(),
            kubeconfig_override: None,
            polling: Polling::default(),
            reading: Reading::default(),
        }
    }

    /// Registers the bearer-token source for provider nodes whose `auth.kind` is `kind`
    /// (`aws-eks` for clusters created by the AWS DSL).
    pub fn with_token_source(
        mut self,
        kind: impl Into<String>,
        source: Arc<dyn TokenSource>,
    ) -> K8sPackage {
        self.token_sources.insert(kind.into(), source);
        self
    }

    /// Uses this kubeconfig for every provider instance, like `GIRDER_KUBECONFIG` (which this
    /// setting takes precedence over); for tests and embedding.
    pub fn with_kubeconfig_override(mut self, path: impl Into<PathBuf>) -> K8sPackage {
        self.kubeconfig_override = Some(path.into());
        self
    }

    /// How often readiness waits poll (rollouts, load balancers, deletions); the first poll
    /// comes after `initial`, later ones back off to `max`.
    pub fn with_polling(mut self, initial: Duration, max: Duration) -> K8sPackage {
        self.polling = Polling { initial, max };
        self
    }

    /// The `limit` of each page when reads list objects (default 500, kubectl's
    /// `--chunk-size`); a smaller page makes tests exercise pagination with few objects, and
    /// suits API servers that answer large lists slowly. Zero is taken as one.
    pub fn with_list_page_size(mut self, page_size: u32) -> K8sPackage {
        self.reading.page_size = page_size.max(1);
        self
    }

    /// The HTTP requests that reads by this package's providers have made, per type: LIST
    /// pages and GETs. The counter is shared with the package's clones and every provider it
    /// configures, so keep a clone of the package to read it after a refresh.
    ///
    /// ```
    /// let package = girder_k8s::package();
    /// let watching = package.clone();
    /// assert_eq!(watching.read_requests().total().requests(), 0);
    /// ```
    pub fn read_requests(&self) -> &ReadCounter {
        &self.reading.counter
    }

    fn override_path(&self) -> Option<PathBuf> {
        self.kubeconfig_override.clone().or_else(|| {
            std::env::var_os(KUBECONFIG_OVERRIDE_ENV)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        })
    }
}

#[async_trait]
impl ProviderPackage for K8sPackage {
    fn name(&self) -> &str {
        PACKAGE
    }

    fn schema(&self, type_name: &str) -> Option<&ResourceSchema> {
        if let Some(schema) = self.schemas.get(type_name) {
            return Some(schema);
        }
        // Kinds girder does not know (custom resources) share one schema: the engine only
        // needs replacement fields and echoing from it, which are the same for every kind.
        Kind::from_type_token(type_name).map(|_| &self.generic)
    }

    fn check(&self, type_name: &str, name: &str, inputs: &Value) -> Diagnostics {
        crate::check::check_object(type_name, name, inputs)
    }

    fn check_program(&self, resources: &[girder_engine::PlannedResource<'_>]) -> Diagnostics {
        // The same wiring rules as at build time, now over the planned inputs (which include
        // values that were computed from other resources' outputs).
        let objects: Vec<crate::check::ProgramObject> = resources
            .iter()
            .filter_map(|r| crate::check::program_object(r.name, r.type_name, r.provider, r.inputs))
            .collect();
        crate::check::check_objects(&objects)
    }

    fn delete_effects(&self, _stack: &str, old: &girder_engine::ResourceState) -> Vec<String> {
        let Some(kind) = Kind::from_type_token(&old.type_name) else {
            return Vec::new();
        };
        let limit = self
            .schema(&old.type_name)
            .map(|schema| schema.timeouts.delete)
            .unwrap_or_default();
        crate::kinds::delete_effects(&kind, &old.inputs, limit)
    }

    async fn configure(&self, config: &Value) -> Result<Arc<dyn Provider>, ProviderError> {
        let override_path = self.override_path();
        let connection = Connection::resolve(config, override_path.as_deref())?;
        tracing::debug!(?connection, "configuring a Kubernetes provider");
        let clients = Clients::new(connection, &self.token_sources).await?;
        Ok(Arc::new(K8sProvider::new(
            clients,
            self.polling,
            self.reading.clone(),
        )))
    }
}
