//! The calls that read the cloud: reading an existing resource by id (`read` nodes) and
//! importing one into the state.

use std::sync::Arc;
use std::time::Duration;

use girder_core::Value;

use super::{Job, JobError, JobOutcome, missing_record};
use crate::apply::Shared;
use crate::plan::Step;
use crate::provider::{ProviderError, ReadItem, ReadRequest};
use crate::registry::Configured;
use crate::state::{Mutation, OperationKind};

impl Shared {
    async fn read_one(
        &self,
        step: &Step,
        configured: &Configured,
        id: &str,
        inputs: Option<Value>,
        timeout: Duration,
    ) -> Result<Option<crate::provider::Observed>, ProviderError> {
        let request = ReadRequest {
            type_name: step.type_name.clone(),
            items: vec![ReadItem {
                identity: self.identity(step),
                id: id.to_owned(),
                inputs,
            }],
        };
        let response = self
            .policy(step, configured, timeout)
            .run(|ctx| {
                let request = request.clone();
                let provider = configured.provider.clone();
                async move { provider.read(request, &ctx).await }
            })
            .await?;
        Ok(response.items.into_iter().next().flatten())
    }

    pub(super) async fn read(&self, step: &Step, job: &Job) -> Result<JobOutcome, JobError> {
        let id = job
            .inputs
            .get("id")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                ProviderError::invalid_input(format!(
                    "`{}` reads an existing resource but its `id` input is not a string",
                    step.resource
                ))
            })?;
        let configured = self.provider_for(step).await?;
        let observed = self
            .read_one(
                step,
                &configured,
                id,
                Some(job.inputs.reveal()),
                job.timeout,
            )
            .await?
            .ok_or_else(|| {
                ProviderError::not_found(format!(
                    "there is no `{}` with id `{id}` to read",
                    step.type_name
                ))
            })?;
        let state = self.state_of(step, id.to_owned(), job.inputs.clone(), observed.outputs);
        let outputs = state.outputs.clone();
        self.journal
            .record(&[Mutation::Upsert { resource: state }])
            .await?;
        Ok(JobOutcome {
            outputs: Some(outputs),
            deposed_key: None,
        })
    }

    pub(super) async fn import(&self, step: &Step, job: &Job) -> Result<JobOutcome, JobError> {
        let id = step.import_id.clone().ok_or_else(|| missing_record(step))?;
        let configured = self.provider_for(step).await?;
        let operation = self.pending(OperationKind::Import, step, &job.inputs, Some(&id), None);
        self.journal.begin(&operation).await?;
        let observed = match self
            .read_one(
                step,
                &configured,
                &id,
                Some(job.inputs.reveal()),
                job.timeout,
            )
            .await
        {
            Ok(Some(observed)) => observed,
            Ok(None) => {
                self.journal.commit(operation.id, &[]).await?;
                return Err(ProviderError::not_found(format!(
                    "cannot import `{}`: there is no `{}` with id `{id}`",
                    step.resource, step.type_name
                ))
                .into());
            }
            Err(error) => {
                self.journal.commit(operation.id, &[]).await?;
                return Err(error.into());
            }
        };
        let imported = self.state_of(step, id.clone(), observed.inputs.clone(), observed.outputs);
        self.journal
            .commit(
                operation.id,
                &[Mutation::Upsert {
                    resource: imported.clone(),
                }],
            )
            .await?;
        let changes = crate::diff::diff(&observed.inputs, &job.inputs);
        if changes.is_empty() {
            return Ok(JobOutcome {
                outputs: Some(imported.outputs),
                deposed_key: None,
            });
        }
        // Bring the adopted resource in line with the program in the same run.
        let as_recorded = Step {
            old: Some(Arc::new(imported)),
            ..step.clone()
        };
        self.update(&as_recorded, job).await
    }
}
