//! A [`TypedResource`] with its types erased to [`Value`]s: decodes each request's JSON into
//! the resource's typed message, calls it, and encodes the response.

use async_trait::async_trait;
use girder_core::{Diagnostics, Value};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::TypedResource;
use super::messages::{
    ReadTarget, Recorded, TypedCreateRequest, TypedDeleteRequest, TypedFindRequest, TypedObserved,
    TypedReadRequest, TypedResumeRequest, TypedUpdateRequest,
};
use crate::provider::{
    CallContext, CreateRequest, CreateResponse, DeleteRequest, FindRequest, FindResponse, Found,
    Observed, ProviderError, ReadRequest, ReadResponse, ResumeRequest, UpdateRequest,
    UpdateResponse,
};

/// A resource type of a typed package, as the package's provider calls it.
#[async_trait]
pub(super) trait ErasedResource<C>: Send + Sync {
    fn check(&self, name: &str, inputs: &Value) -> Diagnostics;
    fn delete_effects(&self, stack: &str, old: &crate::state::ResourceState) -> Vec<String>;
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
    async fn resume_create(
        &self,
        client: &C,
        req: ResumeRequest,
        ctx: &CallContext,
    ) -> Result<Option<CreateResponse>, ProviderError>;
}

/// The adaptor from [`TypedResource`] to [`ErasedResource`].
pub(super) struct Erased<R>(pub(super) R);

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
    observed: TypedObserved<I, O>,
    type_name: &str,
) -> Result<Observed, ProviderError> {
    Ok(Observed {
        inputs: encode(&observed.inputs, "inputs", type_name)?,
        outputs: encode(&observed.outputs, "outputs", type_name)?,
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

    fn delete_effects(&self, stack: &str, old: &crate::state::ResourceState) -> Vec<String> {
        // A record this version cannot decode (written by another) describes nothing rather
        // than failing the plan; its delete reports the decode error if it comes to that.
        let identity = old.identity(stack);
        match (
            decode(&old.inputs, "recorded inputs", &old.type_name),
            decode(&old.outputs, "recorded outputs", &old.type_name),
        ) {
            (Ok(inputs), Ok(outputs)) => {
                self.0
                    .delete_effects(&Recorded::new(identity, old.id.clone(), inputs, outputs))
            }
            _ => Vec::new(),
        }
    }

    async fn create(
        &self,
        client: &C,
        req: CreateRequest,
        ctx: &CallContext,
    ) -> Result<CreateResponse, ProviderError> {
        let type_name = req.identity.type_name.clone();
        let inputs = decode(&req.inputs, "inputs", &type_name)?;
        let created = self
            .0
            .create(client, TypedCreateRequest::new(req.identity, inputs), ctx)
            .await?;
        Ok(CreateResponse {
            id: created.id,
            outputs: encode(&created.outputs, "outputs", &type_name)?,
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
                // Recorded inputs that no longer decode (the type changed) are dropped: a read
                // only needs the id.
                let inputs = item
                    .inputs
                    .as_ref()
                    .and_then(|i| decode(i, "recorded inputs", &type_name).ok());
                ReadTarget::new(item.identity, item.id, inputs)
            })
            .collect();
        let results = self
            .0
            .read(client, TypedReadRequest::new(items), ctx)
            .await?;
        let items = results
            .items
            .into_iter()
            .map(|r| r.map(|o| observed(o, &type_name)).transpose())
            .collect::<Result<_, _>>()?;
        Ok(ReadResponse::new(items))
    }

    async fn update(
        &self,
        client: &C,
        req: UpdateRequest,
        ctx: &CallContext,
    ) -> Result<UpdateResponse, ProviderError> {
        let type_name = req.identity.type_name.clone();
        let old = Recorded::new(
            req.identity,
            req.id,
            decode(&req.old_inputs, "recorded inputs", &type_name)?,
            decode(&req.old_outputs, "recorded outputs", &type_name)?,
        );
        let inputs = decode(&req.inputs, "inputs", &type_name)?;
        let updated = self
            .0
            .update(
                client,
                TypedUpdateRequest::new(old, inputs, req.changed),
                ctx,
            )
            .await?;
        Ok(UpdateResponse {
            outputs: encode(&updated.outputs, "outputs", &type_name)?,
        })
    }

    async fn delete(
        &self,
        client: &C,
        req: DeleteRequest,
        ctx: &CallContext,
    ) -> Result<(), ProviderError> {
        let type_name = req.identity.type_name.clone();
        let old = Recorded::new(
            req.identity,
            req.id,
            decode(&req.inputs, "recorded inputs", &type_name)?,
            decode(&req.outputs, "recorded outputs", &type_name)?,
        );
        self.0
            .delete(client, TypedDeleteRequest::new(old), ctx)
            .await
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
            .find(client, TypedFindRequest::new(req.identity), ctx)
            .await?
            .found
            .into_iter()
            .map(|found| {
                Ok(Found {
                    id: found.id,
                    observed: observed(found.observed, &type_name)?,
                })
            })
            .collect::<Result<_, ProviderError>>()?;
        Ok(FindResponse { found })
    }

    async fn resume_create(
        &self,
        client: &C,
        req: ResumeRequest,
        ctx: &CallContext,
    ) -> Result<Option<CreateResponse>, ProviderError> {
        let type_name = req.identity.type_name.clone();
        let inputs = decode(&req.inputs, "inputs", &type_name)?;
        let resumed = self
            .0
            .resume_create(
                client,
                TypedResumeRequest::new(req.identity, req.id, inputs),
                ctx,
            )
            .await?;
        resumed
            .map(|ready| {
                Ok(CreateResponse {
                    id: ready.id,
                    outputs: encode(&ready.outputs, "outputs", &type_name)?,
                })
            })
            .transpose()
    }
}
