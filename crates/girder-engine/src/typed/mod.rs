//! Writing providers with types: implement [`TypedResource`] per resource type with `serde`
//! structs for inputs and outputs, collect them in a [`TypedPackage`], and the package erases
//! them into the engine's JSON [`Provider`] contract (kube's `DynamicObject` pattern, reversed).
//!
//! Each method takes a request and returns a response ([`TypedCreateRequest`] →
//! [`TypedCreateResponse`], …), the typed twins of the erased protocol's messages, so a field
//! added to a message does not change every resource type's signatures.

mod erased;
mod messages;

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use async_trait::async_trait;
use girder_core::{Diagnostics, Value};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::provider::{
    CallContext, CreateRequest, CreateResponse, DeleteRequest, FindRequest, FindResponse,
    PlannedResource, Provider, ProviderError, ProviderPackage, RateLimit, ReadRequest,
    ReadResponse, ResourceSchema, ResumeRequest, UpdateRequest, UpdateResponse, read_as_ready,
};
use erased::{Erased, ErasedResource};
pub use messages::{
    ReadTarget, Recorded, TypedCreateRequest, TypedCreateResponse, TypedDeleteRequest,
    TypedFindRequest, TypedFindResponse, TypedFound, TypedObserved, TypedReadRequest,
    TypedReadResponse, TypedResumeRequest, TypedUpdateRequest, TypedUpdateResponse,
};

/// One resource type of a provider, with typed inputs and outputs. `C` is the provider's
/// configured client (SDK clients, a Kubernetes client, a directory).
///
/// ```
/// use async_trait::async_trait;
/// use girder_engine::typed::*;
/// use girder_engine::{CallContext, ProviderError, ResourceSchema};
///
/// /// A "resource" that only echoes its inputs.
/// struct Echo;
///
/// #[async_trait]
/// impl TypedResource<()> for Echo {
///     type Inputs = String;
///     type Outputs = String;
///
///     fn schema(&self) -> ResourceSchema {
///         ResourceSchema::new("demo:echo").echo_inputs()
///     }
///     async fn create(&self, _: &(), req: TypedCreateRequest<String>, _: &CallContext)
///         -> Result<TypedCreateResponse<String>, ProviderError> {
///         Ok(TypedCreateResponse::new(req.identity.name, req.inputs))
///     }
///     async fn read(&self, _: &(), req: TypedReadRequest<String>, _: &CallContext)
///         -> Result<TypedReadResponse<String, String>, ProviderError> {
///         Ok(req.items.into_iter()
///             .map(|item| item.inputs.map(|i| TypedObserved::new(i.clone(), i)))
///             .collect())
///     }
///     async fn update(&self, _: &(), req: TypedUpdateRequest<String, String>, _: &CallContext)
///         -> Result<TypedUpdateResponse<String>, ProviderError> {
///         Ok(TypedUpdateResponse::new(req.inputs))
///     }
///     async fn delete(&self, _: &(), _: TypedDeleteRequest<String, String>, _: &CallContext)
///         -> Result<(), ProviderError> {
///         Ok(())
///     }
///     async fn find(&self, _: &(), _: TypedFindRequest, _: &CallContext)
///         -> Result<TypedFindResponse<String, String>, ProviderError> {
///         Ok(TypedFindResponse::none())
///     }
/// }
///
/// let package = TypedPackage::new("demo", |_config| async { Ok(()) }).resource(Echo);
/// assert_eq!(package.types(), ["demo:echo"]);
/// ```
#[async_trait]
pub trait TypedResource<C: Send + Sync + 'static>: Send + Sync + 'static {
    /// The inputs.
    type Inputs: Serialize + DeserializeOwned + Send + Sync + 'static;
    /// The outputs (the engine adds `id`).
    type Outputs: Serialize + DeserializeOwned + Send + Sync + 'static;

    /// The type's schema (its `type_name` is the type token).
    fn schema(&self) -> ResourceSchema;

    /// Checks inputs that may contain unknowns; return diagnostics for known bad values.
    fn check(&self, name: &str, inputs: &Value) -> Diagnostics {
        let _ = (name, inputs);
        Diagnostics::new()
    }

    /// What deleting `old` does besides the delete call, one plain sentence each, in the
    /// order it happens — shown under the delete in the plan so that a destroy that will wait
    /// minutes for a controller, or sweep what the resource made outside the program, says
    /// so before it starts. The default describes nothing.
    fn delete_effects(&self, old: &Recorded<Self::Inputs, Self::Outputs>) -> Vec<String> {
        let _ = old;
        Vec::new()
    }

    /// Creates the resource; responds with its cloud id and outputs.
    async fn create(
        &self,
        client: &C,
        req: TypedCreateRequest<Self::Inputs>,
        ctx: &CallContext,
    ) -> Result<TypedCreateResponse<Self::Outputs>, ProviderError>;

    /// Reads resources (batched); one result per item, in order, `None` when gone.
    async fn read(
        &self,
        client: &C,
        req: TypedReadRequest<Self::Inputs>,
        ctx: &CallContext,
    ) -> Result<TypedReadResponse<Self::Inputs, Self::Outputs>, ProviderError>;

    /// Updates in place the fields in `req.changed`.
    async fn update(
        &self,
        client: &C,
        req: TypedUpdateRequest<Self::Inputs, Self::Outputs>,
        ctx: &CallContext,
    ) -> Result<TypedUpdateResponse<Self::Outputs>, ProviderError>;

    /// Deletes the resource; succeeds if it is already gone.
    async fn delete(
        &self,
        client: &C,
        req: TypedDeleteRequest<Self::Inputs, Self::Outputs>,
        ctx: &CallContext,
    ) -> Result<(), ProviderError>;

    /// Finds the resources tagged with `req.identity`.
    async fn find(
        &self,
        client: &C,
        req: TypedFindRequest,
        ctx: &CallContext,
    ) -> Result<TypedFindResponse<Self::Inputs, Self::Outputs>, ProviderError>;

    /// Waits until a resource an earlier create left unfinished (its wait stopped for a
    /// passing reason: a transient error, the time limit, an abort) is ready, and responds as
    /// `create` would have; a permanent error says it is broken (the engine taints it).
    /// Types whose creates wait (an EKS cluster until ACTIVE) run the same wait here.
    ///
    /// The default, `Ok(None)`, lets the engine read the resource instead: a readable
    /// resource counts as ready.
    async fn resume_create(
        &self,
        client: &C,
        req: TypedResumeRequest<Self::Inputs>,
        ctx: &CallContext,
    ) -> Result<Option<TypedCreateResponse<Self::Outputs>>, ProviderError> {
        let _ = (client, req, ctx);
        Ok(None)
    }
}

/// Configures a package's client from a provider node's config ([`Value::Null`] for the
/// default provider).
pub type ConfigureFn<C> =
    dyn Fn(Value) -> Pin<Box<dyn Future<Output = Result<C, ProviderError>> + Send>> + Send + Sync;

/// A provider package made of [`TypedResource`]s sharing a client type `C`.
///
/// ```
/// use girder_engine::typed::TypedPackage;
/// use girder_engine::provider::ProviderPackage;
/// let package = TypedPackage::<()>::new("demo", |_config| async { Ok(()) });
/// assert_eq!(package.name(), "demo");
/// assert!(package.schema("demo:thing").is_none());
/// ```
pub struct TypedPackage<C> {
    name: String,
    resources: HashMap<String, Arc<dyn ErasedResource<C>>>,
    schemas: HashMap<String, ResourceSchema>,
    configure: Arc<ConfigureFn<C>>,
    rate_limit: Option<RateLimit>,
    across_packages: Option<Arc<AcrossPackagesFn>>,
}

/// A rule over every planned resource of a program, of every package (see
/// [`ProviderPackage::check_across_packages`]).
pub type AcrossPackagesFn = dyn Fn(&[PlannedResource<'_>]) -> Diagnostics + Send + Sync;

impl<C> fmt::Debug for TypedPackage<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut types: Vec<&String> = self.schemas.keys().collect();
        types.sort();
        f.debug_struct("TypedPackage")
            .field("name", &self.name)
            .field("types", &types)
            .finish()
    }
}

impl<C: Send + Sync + 'static> TypedPackage<C> {
    /// A package called `name` whose instances are configured by `configure`.
    pub fn new<F, Fut>(name: impl Into<String>, configure: F) -> TypedPackage<C>
    where
        F: Fn(Value) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<C, ProviderError>> + Send + 'static,
    {
        TypedPackage {
            name: name.into(),
            resources: HashMap::new(),
            schemas: HashMap::new(),
            configure: Arc::new(move |config| Box::pin(configure(config))),
            rate_limit: None,
            across_packages: None,
        }
    }

    /// Adds a rule that sees every planned resource of the program, of every package — for
    /// rules no single resource type owns, such as "the program's Kubernetes pods fit its
    /// nodes" (see [`ProviderPackage::check_across_packages`]). A later call replaces it.
    ///
    /// ```
    /// use girder_core::{Diagnostic, Diagnostics};
    /// use girder_engine::provider::ProviderPackage;
    /// use girder_engine::typed::TypedPackage;
    /// let package = TypedPackage::<()>::new("demo", |_config| async { Ok(()) })
    ///     .cross_package_check(|resources| {
    ///         let mut found = Diagnostics::new();
    ///         if resources.len() > 100 {
    ///             found.push(Diagnostic::warning("a large program"));
    ///         }
    ///         found
    ///     });
    /// assert!(package.check_across_packages(&[]).is_empty());
    /// ```
    pub fn cross_package_check(
        mut self,
        check: impl Fn(&[PlannedResource<'_>]) -> Diagnostics + Send + Sync + 'static,
    ) -> TypedPackage<C> {
        self.across_packages = Some(Arc::new(check));
        self
    }

    /// Adds a resource type.
    pub fn resource(mut self, resource: impl TypedResource<C>) -> TypedPackage<C> {
        let schema = resource.schema();
        self.resources
            .insert(schema.type_name.clone(), Arc::new(Erased(resource)));
        self.schemas.insert(schema.type_name.clone(), schema);
        self
    }

    /// Limits the call rate of every instance.
    pub fn rate_limit(mut self, limit: RateLimit) -> TypedPackage<C> {
        self.rate_limit = Some(limit);
        self
    }

    /// The type tokens of the package, sorted.
    pub fn types(&self) -> Vec<&str> {
        let mut types: Vec<&str> = self.schemas.keys().map(String::as_str).collect();
        types.sort_unstable();
        types
    }
}

#[async_trait]
impl<C: Send + Sync + 'static> ProviderPackage for TypedPackage<C> {
    fn name(&self) -> &str {
        &self.name
    }

    fn schema(&self, type_name: &str) -> Option<&ResourceSchema> {
        self.schemas.get(type_name)
    }

    fn check(&self, type_name: &str, name: &str, inputs: &Value) -> Diagnostics {
        self.resources
            .get(type_name)
            .map(|r| r.check(name, inputs))
            .unwrap_or_default()
    }

    fn delete_effects(&self, stack: &str, old: &crate::state::ResourceState) -> Vec<String> {
        self.resources
            .get(&old.type_name)
            .map(|r| r.delete_effects(stack, old))
            .unwrap_or_default()
    }

    fn check_across_packages(&self, resources: &[PlannedResource<'_>]) -> Diagnostics {
        self.across_packages
            .as_ref()
            .map(|check| check(resources))
            .unwrap_or_default()
    }

    async fn configure(&self, config: &Value) -> Result<Arc<dyn Provider>, ProviderError> {
        let client = (self.configure)(config.clone()).await?;
        Ok(Arc::new(TypedProvider {
            package: self.name.clone(),
            client,
            resources: self.resources.clone(),
            rate_limit: self.rate_limit,
        }))
    }
}

/// A configured instance of a [`TypedPackage`].
struct TypedProvider<C> {
    package: String,
    client: C,
    resources: HashMap<String, Arc<dyn ErasedResource<C>>>,
    rate_limit: Option<RateLimit>,
}

impl<C> TypedProvider<C> {
    fn resource(&self, type_name: &str) -> Result<&Arc<dyn ErasedResource<C>>, ProviderError> {
        self.resources.get(type_name).ok_or_else(|| {
            ProviderError::invalid_input(format!(
                "the `{}` provider has no resource type `{type_name}`",
                self.package
            ))
        })
    }
}

#[async_trait]
impl<C: Send + Sync + 'static> Provider for TypedProvider<C> {
    async fn create(
        &self,
        request: CreateRequest,
        ctx: &CallContext,
    ) -> Result<CreateResponse, ProviderError> {
        self.resource(&request.identity.type_name)?
            .create(&self.client, request, ctx)
            .await
    }

    async fn read(
        &self,
        request: ReadRequest,
        ctx: &CallContext,
    ) -> Result<ReadResponse, ProviderError> {
        self.resource(&request.type_name)?
            .read(&self.client, request, ctx)
            .await
    }

    async fn update(
        &self,
        request: UpdateRequest,
        ctx: &CallContext,
    ) -> Result<UpdateResponse, ProviderError> {
        self.resource(&request.identity.type_name)?
            .update(&self.client, request, ctx)
            .await
    }

    async fn delete(&self, request: DeleteRequest, ctx: &CallContext) -> Result<(), ProviderError> {
        self.resource(&request.identity.type_name)?
            .delete(&self.client, request, ctx)
            .await
    }

    async fn find(
        &self,
        request: FindRequest,
        ctx: &CallContext,
    ) -> Result<FindResponse, ProviderError> {
        self.resource(&request.identity.type_name)?
            .find(&self.client, request, ctx)
            .await
    }

    async fn resume_create(
        &self,
        request: ResumeRequest,
        ctx: &CallContext,
    ) -> Result<CreateResponse, ProviderError> {
        let resource = self.resource(&request.identity.type_name)?;
        match resource
            .resume_create(&self.client, request.clone(), ctx)
            .await?
        {
            Some(ready) => Ok(ready),
            None => read_as_ready(self, request, ctx).await,
        }
    }

    fn rate_limit(&self) -> Option<RateLimit> {
        self.rate_limit
    }
}
