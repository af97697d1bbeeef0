//! The provider registry: packages by name, and the configured instances an operation uses.

use std::collections::HashMap;
use std::fmt;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};

use girder_core::Value;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use tokio::sync::OnceCell;

use crate::provider::{Provider, ProviderError, ProviderPackage, ResourceSchema};

/// The provider packages a program can use, by package name.
#[derive(Clone, Default)]
pub struct Registry {
    packages: HashMap<String, Arc<dyn ProviderPackage>>,
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names: Vec<&String> = self.packages.keys().collect();
        names.sort();
        f.debug_struct("Registry")
            .field("packages", &names)
            .finish()
    }
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Registry {
        Registry::default()
    }

    /// Adds a package (replacing one of the same name).
    pub fn with(mut self, package: impl ProviderPackage) -> Registry {
        self.register(Arc::new(package));
        self
    }

    /// Adds a shared package (replacing one of the same name).
    pub fn register(&mut self, package: Arc<dyn ProviderPackage>) {
        self.packages.insert(package.name().to_owned(), package);
    }

    /// The package called `name`.
    pub fn package(&self, name: &str) -> Option<&Arc<dyn ProviderPackage>> {
        self.packages.get(name)
    }

    /// The schema of a type token, looked up in its package.
    pub fn schema(&self, type_name: &str) -> Option<&ResourceSchema> {
        self.package(girder_core::package_of(type_name))?
            .schema(type_name)
    }

    /// The registered package names, sorted.
    pub fn package_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.packages.keys().map(String::as_str).collect();
        names.sort_unstable();
        names
    }
}

/// Which provider instance a resource uses.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ProviderKey {
    /// The package's default provider, configured from the environment.
    Default(String),
    /// A provider node of the program (or recorded in the state), by name.
    Node(String),
}

impl ProviderKey {
    /// The key for a resource of `type_name` with an optional explicit provider node.
    pub fn for_resource(type_name: &str, provider: Option<&str>) -> ProviderKey {
        match provider {
            Some(node) => ProviderKey::Node(node.to_owned()),
            None => ProviderKey::Default(girder_core::package_of(type_name).to_owned()),
        }
    }
}

impl fmt::Display for ProviderKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProviderKey::Default(package) => write!(f, "default `{package}` provider"),
            ProviderKey::Node(name) => write!(f, "provider `{name}`"),
        }
    }
}

/// A configured provider with the rate limiter the engine applies around its calls.
#[derive(Clone)]
pub struct Configured {
    /// The provider.
    pub provider: Arc<dyn Provider>,
    /// Its rate limiter, if it declared a limit.
    pub limiter: Option<Arc<DefaultDirectRateLimiter>>,
}

impl fmt::Debug for Configured {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Configured")
            .field("rate_limited", &self.limiter.is_some())
            .finish_non_exhaustive()
    }
}

impl Configured {
    /// Wraps a provider, building its rate limiter.
    pub fn new(provider: Arc<dyn Provider>) -> Configured {
        let limiter = provider.rate_limit().and_then(|limit| {
            let per_second = NonZeroU32::new(limit.per_second)?;
            let burst = NonZeroU32::new(limit.burst.max(1))?;
            Some(Arc::new(RateLimiter::direct(
                Quota::per_second(per_second).allow_burst(burst),
            )))
        });
        Configured { provider, limiter }
    }

    /// Waits for the rate limiter (if any) to allow one call.
    pub async fn admit(&self) {
        if let Some(limiter) = &self.limiter {
            limiter.until_ready().await;
        }
    }
}

type Slot = Arc<OnceCell<Configured>>;

/// The provider instances of one operation, configured on first use and shared.
pub struct Instances {
    registry: Arc<Registry>,
    slots: Mutex<HashMap<ProviderKey, Slot>>,
}

impl fmt::Debug for Instances {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Instances")
            .field("registry", &self.registry)
            .finish_non_exhaustive()
    }
}

impl Instances {
    /// No instances yet.
    pub fn new(registry: Arc<Registry>) -> Instances {
        Instances {
            registry,
            slots: Mutex::new(HashMap::new()),
        }
    }

    /// The registry.
    pub fn registry(&self) -> &Arc<Registry> {
        &self.registry
    }

    fn slot(&self, key: &ProviderKey) -> Slot {
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        slots.entry(key.clone()).or_default().clone()
    }

    /// The instance for `key`, configuring it with `config` on first use (`package` names the
    /// package to configure).
    pub async fn get(
        &self,
        key: &ProviderKey,
        package: &str,
        config: &Value,
    ) -> Result<Configured, ProviderError> {
        let slot = self.slot(key);
        slot.get_or_try_init(|| async {
            let package_impl = self.registry.package(package).ok_or_else(|| {
                ProviderError::invalid_input(format!(
                    "no provider package `{package}` is registered (known: {}); enable its feature in the `girder` dependency",
                    self.registry.package_names().join(", ")
                ))
            })?;
            let provider = package_impl.configure(config).await?;
            Ok(Configured::new(provider))
        })
        .await
        .cloned()
    }

    /// The instance for `key` if it was configured.
    pub fn configured(&self, key: &ProviderKey) -> Option<Configured> {
        self.slot(key).get().cloned()
    }

    /// Sets the instance for `key` (a provider node configured during apply).
    pub fn set(&self, key: ProviderKey, configured: Configured) {
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        slots.insert(key, Arc::new(OnceCell::new_with(Some(configured))));
    }
}
