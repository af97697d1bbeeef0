//! The built-in `girder` provider package: stack references (`girder:stack/reference`), which
//! read another stack's outputs from its state.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use girder_core::{Diagnostic, Diagnostics, STACK_REFERENCE_TYPE, Value};
use girder_engine::provider::{
    CallContext, CreateRequest, CreateResponse, DeleteRequest, FindRequest, FindResponse, Observed,
    Provider, ProviderError, ProviderPackage, RateLimit, ReadRequest, ReadResponse, ResourceSchema,
    UpdateRequest, UpdateResponse,
};

/// The `girder` package; `default_state` is where referenced stacks are read unless a
/// reference names another location.
pub struct GirderPackage {
    default_state: String,
    schemas: HashMap<String, ResourceSchema>,
}

impl GirderPackage {
    /// The package reading stacks from `default_state` by default.
    pub fn new(default_state: impl Into<String>) -> GirderPackage {
        let mut schemas = HashMap::new();
        schemas.insert(
            STACK_REFERENCE_TYPE.to_owned(),
            ResourceSchema::new(STACK_REFERENCE_TYPE),
        );
        GirderPackage {
            default_state: default_state.into(),
            schemas,
        }
    }
}

#[async_trait]
impl ProviderPackage for GirderPackage {
    fn name(&self) -> &str {
        "girder"
    }

    fn schema(&self, type_name: &str) -> Option<&ResourceSchema> {
        self.schemas.get(type_name)
    }

    fn check(&self, _type_name: &str, name: &str, inputs: &Value) -> Diagnostics {
        let mut diagnostics = Diagnostics::new();
        if let Some(stack) = inputs.get("id").and_then(Value::as_str)
            && let Err(error) = girder_state::validate_stack_name(stack)
        {
            diagnostics.push(
                Diagnostic::error(error.to_string())
                    .resource(name)
                    .field("stack")
                    .value(stack)
                    .fix("name the referenced stack as you pass it to --stack"),
            );
        }
        diagnostics
    }

    async fn configure(&self, _config: &Value) -> Result<Arc<dyn Provider>, ProviderError> {
        Ok(Arc::new(References {
            default_state: self.default_state.clone(),
        }))
    }
}

struct References {
    default_state: String,
}

fn read_only() -> ProviderError {
    ProviderError::invalid_input(
        "stack references are read-only; they are never created, updated or deleted",
    )
}

#[async_trait]
impl Provider for References {
    async fn create(
        &self,
        _: CreateRequest,
        _: &CallContext,
    ) -> Result<CreateResponse, ProviderError> {
        Err(read_only())
    }

    async fn read(
        &self,
        request: ReadRequest,
        _ctx: &CallContext,
    ) -> Result<ReadResponse, ProviderError> {
        let mut items = Vec::with_capacity(request.items.len());
        for item in request.items {
            let location = item
                .inputs
                .as_ref()
                .and_then(|i| i.get("state"))
                .and_then(Value::as_str)
                .unwrap_or(&self.default_state)
                .to_owned();
            let stack = item.id.clone();
            if !location.contains("://")
                && !std::path::Path::new(&location)
                    .join(format!("{stack}.db"))
                    .exists()
            {
                return Err(ProviderError::not_found(format!(
                    "the stack `{stack}` has no state in {location}; apply it first (`--stack {stack} apply`), or point the reference at its state with `.state(..)`"
                )));
            }
            let store = girder_state::open(&location, &stack).await.map_err(|e| {
                ProviderError::permanent(format!("cannot read stack `{stack}`: {e}"))
            })?;
            let snapshot = store.load().await.map_err(|e| {
                ProviderError::permanent(format!("cannot read stack `{stack}`: {e}"))
            })?;
            if snapshot.outputs.is_empty() {
                return Err(ProviderError::not_found(format!(
                    "the stack `{stack}` at {} has no outputs yet; apply it first (`--stack {stack} apply`)",
                    store.location()
                )));
            }
            let mut outputs = Value::object();
            let _ = outputs.set(
                &girder_core::FieldPath::key("outputs"),
                Value::from(snapshot.outputs),
            );
            items.push(Some(Observed {
                inputs: item.inputs.unwrap_or_default(),
                outputs,
            }));
        }
        Ok(ReadResponse::new(items))
    }

    async fn update(
        &self,
        _: UpdateRequest,
        _: &CallContext,
    ) -> Result<UpdateResponse, ProviderError> {
        Err(read_only())
    }

    async fn delete(&self, _: DeleteRequest, _: &CallContext) -> Result<(), ProviderError> {
        Ok(())
    }

    async fn find(&self, _: FindRequest, _: &CallContext) -> Result<FindResponse, ProviderError> {
        Ok(FindResponse::default())
    }

    fn rate_limit(&self) -> Option<RateLimit> {
        None
    }
}
