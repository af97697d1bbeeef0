//! Writing providers with types: implement [`TypedResource`] per resource type with `serde`
//! structs for inputs and outputs, collect them in a [`TypedPackage`], and the package erases
//! them into the engine's JSON [`Provider`] contract (kube's `DynamicObject` pattern, reversed).

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use async_trait::async_trait;
use girder_core::{Diagnostics, FieldPath, Value};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::provider::{
    CallContext, CreateRequest, CreateResponse, DeleteRequest, FindRequest, FindResponse, Found,
    Observed, Provider, ProviderError, ProviderPackage, RateLimit, ReadRequest, ReadResponse,
    ResourceIdentity, ResourceSchema, UpdateRequest, UpdateResponse,
};

/// A resource as recorded: identity, cloud id, typed inputs and outputs.
#[derive(Clone, Debug)]
pub struct Recorded<I, O> {
    /// Who the resource is.
    pub identity: ResourceIdentity,
    /// The cloud id.
    pub id: String,
    /// The recorded inputs.
    pub inputs: I,
    /// The recorded outputs.
    pub outputs: O,
}

/// A resource to read: identity, cloud id and, when known, the recorded inputs (absent when
/// importing an existing resource by id).
#[derive(Clone, Debug)]
pub struct ReadTarget<I> {
    /// Who the resource is.
    pub identity: ResourceIdentity,
    /// The cloud id.
    pub id: String,
    /// The recorded inputs, if any.
    pub inputs: Option<I>,
}

/// A resource observed in the cloud by a read or find: its inputs as the cloud reports them
/// and its outputs.
pub type TypedObserved<I, O> = (I, O);

/// One resource type of a provider, with typed inputs and outputs. `C` is the provider's
/// configured client (SDK clients, a Kubernetes client, a directory).
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

    /// Creates the resource; returns its cloud id and outputs.
    async fn create(
        &self,
        client: &C,
        identity: &ResourceIdentity,
        inputs: Self::Inputs,
        ctx: &CallContext,
    ) -> Result<(String, Self::Outputs), ProviderError>;

    /// Reads resources (batched); one result per item, `None` when gone.
    async fn read(
        &self,
        client: &C,
        items: Vec<ReadTarget<Self::Inputs>>,
        ctx: &CallContext,
    ) -> Result<Vec<Option<TypedObserved<Self::Inputs, Self::Outputs>>>, ProviderError>;

    /// Updates in place the fields in `changed`.
    async fn update(
        &self,
        client: &C,
        old: Recorded<Self::Inputs, Self::Outputs>,
        inputs: Self::Inputs,
        changed: &[FieldPath],
        ctx: &CallContext,
    ) -> Result<Self::Outputs, ProviderError>;

    /// Deletes the resource; succeeds if it is already gone.
    async fn delete(
        &self,
        client: &C,
        old: Recorded<Self::Inputs, Self::Outputs>,
        ctx: &CallContext,
    ) -> Result<(), ProviderError>;

    /// Finds the resources tagged with `identity`.
    async fn find(
        &self,
        client: &C,
        identity: &ResourceIdentity,
        ctx: &CallContext,
    ) -> Result<Vec<(String, TypedObserved<Self::Inputs, Self::Outputs>)>, ProviderError>;
}

/// A [`TypedResource`] with its types erased to [`Value`]s.
#[async_trait]
trait ErasedResource<C>: Send + Sync {
    fn check(&self, name: &str, inputs: &Value) -> Diagnostics;
    async fn create(
        &self,
        client: &C,
        req: CreateRequest,
        ctx: &CallContext,
    ) -> Result<CreateResponse, ProviderError>;
    async fn read(
        &self,
        client: &C,
        req: ReadRequest,
        ctx: &CallContext,
    ) -> Result<ReadResponse, ProviderError>;
    async fn update(
        &self,
        client: &C,
        req: UpdateRequest,
        ctx: &CallContext,
    ) -> Result<UpdateResponse, ProviderError>;
    async fn delete(
        &self,
        client: &C,
        req: DeleteRequest,
        ctx: &CallContext,
    ) -> Result<(), ProviderError>;
    async fn find(
        &self,
        client: &C,
        req: FindRequest,
        ctx: &CallContext,
    ) -> Result<FindResponse, ProviderError>;
}

struct Erased<R>(R);

fn decode<T: DeserializeOwned>(
    value: &Value,
    what: &str,
    type_name: &str,
) -> Result<T, ProviderError> {
    value.deserialize_into().map_err(|e| {
        ProviderError::invalid_input(format!(
            "the {what} of a `{type_name}` do not match its schema: {e}"
        ))
    })
}

fn encode<T: Serialize>(value: &T, what: &str, type_name: &str) -> Result<Value, ProviderError> {
    Value::from_serialize(value).map_err(|e| {
        ProviderError::permanent(format!(
            "the {what} of a `{type_name}` cannot be recorded: {e}"
        ))
    })
}

fn observed<I: Serialize, O: Serialize>(
    (inputs, outputs): (I, O),
    type_name: &str,
) -> Result<Observed, ProviderError> {
    Ok(Observed {
        inputs: encode(&inputs, "inputs", type_name)?,
        outputs: encode(&outputs, "outputs", type_name)?,
    })
}

#[async_trait]
impl<C, R> ErasedResource<C> for Erased<R>
where
    C: Send + Sync + 'static,
    R: TypedResource<C>,
{
    fn check(&self, name: &str, inputs: &Value) -> Diagnostics {
        self.0.check(name, inputs)
    }

    async fn create(
        &self,
        client: &C,
        req: CreateRequest,
        ctx: &CallContext,
    ) -> Result<CreateResponse, ProviderError> {
        let type_name = req.identity.type_name.clone();
        let inputs = decode(&req.inputs, "inputs", &type_name)?;
        let (id, outputs) = self.0.create(client, &req.identity, inputs, ctx).await?;
        Ok(CreateResponse {
            id,
            outputs: encode(&outputs, "outputs", &type_name)?,
        })
    }

    async fn read(
        &self,
        client: &C,
        req: ReadRequest,
        ctx: &CallContext,
    ) -> Result<ReadResponse, ProviderError> {
        let type_name = req.type_name.clone();
        let items = req
            .items
            .into_iter()
            .map(|item| {
                Ok(ReadTarget {
                    // Recorded inputs that no longer decode (the type changed) are dropped:
                    // a read only needs the id.
                    inputs: item
                        .inputs
                        .as_ref()
                        .and_then(|i| decode(i, "recorded inputs", &type_name).ok()),
                    identity: item.identity,
                    id: item.id,
                })
            })
            .collect::<Result<Vec<_>, ProviderError>>()?;
        let results = self.0.read(client, items, ctx).await?;
        let items = results
            .into_iter()
            .map(|r| r.map(|o| observed(o, &type_name)).transpose())
            .collect::<Result<_, _>>()?;
        Ok(ReadResponse { items })
    }

    async fn update(
        &self,
        client: &C,
        req: UpdateRequest,
        ctx: &CallContext,
    ) -> Result<UpdateResponse, ProviderError> {
        let type_name = req.identity.type_name.clone();
        let old = Recorded {
            inputs: decode(&req.old_inputs, "recorded inputs", &type_name)?,
            outputs: decode(&req.old_outputs, "recorded outputs", &type_name)?,
            identity: req.identity,
            id: req.id,
        };
        let inputs = decode(&req.inputs, "inputs", &type_name)?;
        let outputs = self
            .0
            .update(client, old, inputs, &req.changed, ctx)
            .await?;
        Ok(UpdateResponse {
            outputs: encode(&outputs, "outputs", &type_name)?,
        })
    }

    async fn delete(
        &self,
        client: &C,
        req: DeleteRequest,
        ctx: &CallContext,
    ) -> Result<(), ProviderError> {
        let type_name = req.identity.type_name.clone();
        let old = Recorded {
            inputs: decode(&req.inputs, "recorded inputs", &type_name)?,
            outputs: decode(&req.outputs, "recorded outputs", &type_name)?,
            identity: req.identity,
            id: req.id,
        };
        self.0.delete(client, old, ctx).await
    }

    async fn find(
        &self,
        client: &C,
        req: FindRequest,
        ctx: &CallContext,
    ) -> Result<FindResponse, ProviderError> {
        let type_name = req.identity.type_name.clone();
        let found = self
            .0
            .find(client, &req.identity, ctx)
            .await?
            .into_iter()
            .map(|(id, o)| {
                Ok(Found {
                    id,
                    observed: observed(o, &type_name)?,
                })
            })
            .collect::<Result<_, ProviderError>>()?;
        Ok(FindResponse { found })
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
}

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
        }
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

    fn rate_limit(&self) -> Option<RateLimit> {
        self.rate_limit
    }
}
