//! Mocked providers: the real package's schemas and checks, with calls answered in memory.
//!
//! Tests supply the outputs a cloud would return (ids, ARNs, endpoints) with a closure; the
//! default echoes the inputs and makes up an id. Code that depends on outputs — string
//! interpolation, `map` — can then be asserted end to end without a cloud (Pulumi's mocks).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use girder_core::{Diagnostics, FieldPath, Value};
use girder_engine::provider::{
    CallContext, CreateRequest, CreateResponse, DeleteRequest, FindRequest, FindResponse, Observed,
    Provider, ProviderError, ProviderPackage, RateLimit, ReadRequest, ReadResponse,
    ResourceIdentity, ResourceSchema, UpdateRequest, UpdateResponse,
};

/// What a mocked create is asked.
#[derive(Clone, Debug)]
pub struct MockCall<'a> {
    /// Who the resource is.
    pub identity: &'a ResourceIdentity,
    /// Its inputs, fully known.
    pub inputs: &'a Value,
}

/// Produces a mocked resource's outputs; fields it leaves out echo the inputs.
pub type MockOutputs = dyn Fn(&MockCall<'_>) -> Value + Send + Sync;

/// A package whose schemas and checks are the real package's and whose calls are answered in
/// memory.
///
/// ```
/// use girder_core::{Value, object};
/// use girder_testing::mock::MockPackage;
/// use girder_testing::sim::SimPackage;
/// let mocked = MockPackage::new(SimPackage::in_memory())
///     .outputs(|call| object! { "arn" => format!("arn:test:{}", call.identity.name) });
/// # let _ = mocked;
/// ```
pub struct MockPackage {
    inner: Arc<dyn ProviderPackage>,
    name: String,
    outputs: Arc<MockOutputs>,
    store: Arc<Mutex<BTreeMap<String, Observed>>>,
}

impl std::fmt::Debug for MockPackage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockPackage")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl MockPackage {
    /// Mocks `package`; outputs echo the inputs.
    pub fn new(package: impl ProviderPackage) -> MockPackage {
        MockPackage::wrap(Arc::new(package))
    }

    /// Mocks a shared package.
    pub fn wrap(package: Arc<dyn ProviderPackage>) -> MockPackage {
        MockPackage {
            name: package.name().to_owned(),
            inner: package,
            outputs: Arc::new(|_| Value::object()),
            store: Arc::new(Mutex::new(BTreeMap::new())),
        }
    }

    /// Supplies outputs for created resources (merged over the echoed inputs).
    pub fn outputs(
        mut self,
        outputs: impl Fn(&MockCall<'_>) -> Value + Send + Sync + 'static,
    ) -> MockPackage {
        self.outputs = Arc::new(outputs);
        self
    }
}

#[async_trait]
impl ProviderPackage for MockPackage {
    fn name(&self) -> &str {
        &self.name
    }

    fn schema(&self, type_name: &str) -> Option<&ResourceSchema> {
        self.inner.schema(type_name)
    }

    fn check(&self, type_name: &str, name: &str, inputs: &Value) -> Diagnostics {
        self.inner.check(type_name, name, inputs)
    }

    /// The wrapped package's cross-package rules, so a mocked program is refused at plan as
    /// the real one would be (pods too big for the nodes, for the AWS package).
    fn check_across_packages(
        &self,
        resources: &[girder_engine::provider::PlannedResource<'_>],
    ) -> Diagnostics {
        self.inner.check_across_packages(resources)
    }

    async fn configure(&self, _config: &Value) -> Result<Arc<dyn Provider>, ProviderError> {
        Ok(Arc::new(MockProvider {
            outputs: self.outputs.clone(),
            store: self.store.clone(),
        }))
    }
}

struct MockProvider {
    outputs: Arc<MockOutputs>,
    store: Arc<Mutex<BTreeMap<String, Observed>>>,
}

fn merge(base: &Value, over: Value) -> Value {
    let mut merged = match base {
        Value::Object(_) => base.clone(),
        _ => Value::object(),
    };
    if let Value::Object(map) = over {
        for (key, value) in map {
            let _ = merged.set(&FieldPath::key(key), value);
        }
    }
    merged
}

impl MockProvider {
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Observed>> {
        self.store.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[async_trait]
impl Provider for MockProvider {
    async fn create(
        &self,
        request: CreateRequest,
        _ctx: &CallContext,
    ) -> Result<CreateResponse, ProviderError> {
        let call = MockCall {
            identity: &request.identity,
            inputs: &request.inputs,
        };
        let outputs = merge(&request.inputs, (self.outputs)(&call));
        let id = outputs
            .get("id")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .unwrap_or_else(|| format!("mock-{}", request.identity.name));
        self.lock().insert(
            id.clone(),
            Observed {
                inputs: request.inputs.clone(),
                outputs: outputs.clone(),
            },
        );
        Ok(CreateResponse { id, outputs })
    }

    async fn read(
        &self,
        request: ReadRequest,
        _ctx: &CallContext,
    ) -> Result<ReadResponse, ProviderError> {
        let store = self.lock();
        Ok(ReadResponse::new(
            request
                .items
                .iter()
                .map(|item| store.get(&item.id).cloned())
                .collect(),
        ))
    }

    async fn update(
        &self,
        request: UpdateRequest,
        _ctx: &CallContext,
    ) -> Result<UpdateResponse, ProviderError> {
        let outputs = merge(&request.old_outputs, request.inputs.clone());
        self.lock().insert(
            request.id.clone(),
            Observed {
                inputs: request.inputs.clone(),
                outputs: outputs.clone(),
            },
        );
        Ok(UpdateResponse { outputs })
    }

    async fn delete(
        &self,
        request: DeleteRequest,
        _ctx: &CallContext,
    ) -> Result<(), ProviderError> {
        self.lock().remove(&request.id);
        Ok(())
    }

    async fn find(
        &self,
        _request: FindRequest,
        _ctx: &CallContext,
    ) -> Result<FindResponse, ProviderError> {
        Ok(FindResponse::default())
    }

    fn rate_limit(&self) -> Option<RateLimit> {
        None
    }
}
