//! Waiting again for a resource an earlier create left *creating*: its create stopped waiting
//! for a passing reason (a transient error, the time limit, an abort), so the resource may be
//! healthy and is waited for instead of replaced — what Terraform does when it re-reads a
//! resource it kept in state rather than tainting it.

use super::{Job, JobError, JobOutcome, missing_record, recorded_outputs};
use crate::apply::Shared;
use crate::plan::Step;
use crate::provider::{ErrorKind, ResumeRequest};
use crate::registry::Configured;
use crate::state::{Mutation, ResourceState};

impl Shared {
    /// Runs a resume action: waits until the resource is ready and records it as created.
    pub(super) async fn resume(&self, step: &Step, job: &Job) -> Result<JobOutcome, JobError> {
        let old = step.old.as_ref().ok_or_else(|| missing_record(step))?;
        let configured = self.provider_for(step).await?;
        let ready = self
            .wait_until_created(step, old, &configured, job.timeout)
            .await?;
        Ok(JobOutcome {
            outputs: Some(ready.outputs),
            deposed_key: None,
        })
    }

    /// Asks the provider to wait for `old` to become ready ([`Provider::resume_create`]) and
    /// records the outcome: ready (no longer creating, outputs as the end of the create would
    /// have returned them), broken (tainted, so the next plan replaces it), or still unknown
    /// (a passing error again, or not found — left creating, for refresh to judge).
    ///
    /// [`Provider::resume_create`]: crate::provider::Provider::resume_create
    pub(super) async fn wait_until_created(
        &self,
        step: &Step,
        old: &ResourceState,
        configured: &Configured,
        timeout: std::time::Duration,
    ) -> Result<ResourceState, JobError> {
        let request = ResumeRequest {
            identity: self.identity(step),
            id: old.id.clone(),
            inputs: old.inputs.reveal(),
            outputs: old.outputs.reveal(),
        };
        let result = self
            .policy(step, configured, timeout)
            .run(|ctx| {
                let request = request.clone();
                let provider = configured.provider.clone();
                async move {
                    ctx.progress(
                        "waiting for it to become ready (an earlier create stopped waiting)",
                    );
                    provider.resume_create(request, &ctx).await
                }
            })
            .await;
        match result {
            Ok(ready) => {
                let schema = self.registry.schema(&step.type_name);
                let state = ResourceState {
                    outputs: recorded_outputs(&old.id, ready.outputs, &old.inputs, schema),
                    dependencies: step.dependencies.clone(),
                    protect: step.protect,
                    retain_on_delete: step.retain_on_delete,
                    provider: step.provider.clone(),
                    creating: false,
                    tainted: false,
                    ..old.clone()
                };
                self.journal
                    .record(&[Mutation::Upsert {
                        resource: state.clone(),
                    }])
                    .await?;
                Ok(state)
            }
            // Nothing learnt about the resource: it stays creating. A resource that is not
            // found is not forgotten here either; refresh decides, with its consistency window.
            Err(error) if error.is_transient() || error.kind == ErrorKind::NotFound => {
                Err(error.into())
            }
            Err(error) => {
                tracing::warn!(resource = %step.resource, id = %old.id, %error,
                    "the cloud reports the resource broken; the next plan replaces it");
                let tainted = ResourceState {
                    creating: false,
                    tainted: true,
                    ..old.clone()
                };
                self.journal
                    .record(&[Mutation::Upsert { resource: tainted }])
                    .await?;
                Err(error.into())
            }
        }
    }
}
