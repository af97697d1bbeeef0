//! Commands that plan and change infrastructure: plan, apply, destroy, refresh, import.

use std::io::IsTerminal;
use std::sync::Arc;

use girder_engine::ops::{PlanRequest, apply_plan, plan_stack, refresh_stack};
use girder_engine::{ActionKind, ApplyReport, EventSink, Plan, PlanOptions};
use girder_policy::PolicyReport;
use girder_state::StateStore;

use super::Run;
use crate::CliError;
use crate::args::{ApplyArgs, DestroyArgs, PlanArgs, PlanFormat};
use crate::display::progress::Progress;
use crate::display::{plan::render_plan, terraform::terraform_json_with};
use crate::referrers::Deletion;

impl Run {
    fn progress(&self) -> Arc<Progress> {
        Arc::new(Progress::new(
            self.global.json,
            std::io::stderr().is_terminal(),
            self.palette(),
        ))
    }

    fn plan_request(&self, refresh: bool, options: PlanOptions) -> PlanRequest {
        PlanRequest {
            refresh,
            options,
            parallelism: self.global.parallelism,
            ..PlanRequest::default()
        }
    }

    fn print_plan(&self, plan: &Plan) {
        if self.global.json {
            // One line of the event stream, like every other `--json` line of apply/destroy.
            self.say_event(serde_json::json!({ "event": "plan", "plan": masked_plan(plan) }));
        } else {
            self.say(&render_plan(plan, self.palette()));
        }
    }

    pub async fn plan(&self, args: PlanArgs) -> Result<u8, CliError> {
        let store = self.open_store().await?;
        if args.read_only {
            return self.plan_locked(&store, args).await;
        }
        self.locked(&store, "plan", async |store| {
            self.plan_locked(&store, args).await
        })
        .await
    }

    async fn plan_locked(
        &self,
        store: &Arc<dyn StateStore>,
        args: PlanArgs,
    ) -> Result<u8, CliError> {
        let snapshot = store.load().await?;
        let progress = self.progress();
        let mut ctx = crate::context(&self.global.stack, &self.registry, store, progress.clone());
        if args.read_only {
            // Recovery's results (the one thing a plan records) go to a journal in memory.
            ctx.journal = Arc::new(girder_engine::MemoryJournal::new(snapshot.clone()));
        }
        let planned = plan_stack(
            &self.graph,
            &snapshot,
            &ctx,
            &self.plan_request(
                args.refresh,
                PlanOptions {
                    destroy: args.destroy,
                    ..self.plan_options()
                },
            ),
        )
        .await?;
        progress.finish();
        let plan = planned.plan;
        let policy = self.check_policies(&plan, &args.policy);
        let report = policy.as_ref().ok().and_then(Option::as_ref);
        self.print_plan_as(&plan, args.format, report);
        if let Some(report) = report {
            // A JSON document (also `--json`'s) carries the report as `policy_results`.
            if args.format == PlanFormat::Human && !self.global.json {
                self.say(&self.render_policy_report(report));
            }
            // A plan that may not be applied is not saved either.
            super::policy::refuse_on_violations(report, "plan")?;
        }
        policy?;
        if let Some(out) = &args.out {
            crate::planfile::save(&plan, store.as_ref(), out)?;
            if args.format == PlanFormat::Human && !self.global.json {
                self.say(&format!(
                    "Saved the plan to {}; apply exactly it with `apply {}`.",
                    out.display(),
                    out.display()
                ));
            }
        }
        Ok(if args.detailed_exitcode && plan.has_changes() {
            2
        } else {
            0
        })
    }

    /// Prints a saved plan as `plan` printed it. Reads the state only for the key that
    /// unseals the plan's secrets (which stay masked): no lock, nothing written.
    pub async fn show(&self, file: &std::path::Path, format: PlanFormat) -> Result<u8, CliError> {
        let store = self.open_store().await?;
        let plan = crate::planfile::load(store.as_ref(), file)?;
        self.print_plan_as(&plan, format, None);
        Ok(0)
    }

    /// Prints `plan` in `format` (`--json` makes the human format girder's JSON).
    /// A JSON document carries the policy results (`policy_results`) when policies ran.
    fn print_plan_as(&self, plan: &Plan, format: PlanFormat, policy: Option<&PolicyReport>) {
        let json = match format {
            PlanFormat::Human if !self.global.json => {
                return self.say(&render_plan(plan, self.palette()));
            }
            PlanFormat::Human | PlanFormat::Json => masked_plan(plan),
            // The program's graph gives `configuration` its references between resources.
            PlanFormat::TerraformJson => terraform_json_with(plan, Some(&self.graph)),
        };
        let json = super::policy::with_policy_results(json, policy);
        self.say(&serde_json::to_string_pretty(&json).unwrap_or_default());
    }

    pub async fn apply(&self, args: ApplyArgs) -> Result<u8, CliError> {
        if let Some(file) = &args.plan_file
            && crate::planfile::is_destroy(file)?
        {
            // A saved `plan --destroy` deletes everything, as `destroy` does.
            self.check_referrers(Deletion::Destroy, args.allow_referenced)
                .await?;
        } else if self.declares_nothing() {
            // Applying an emptied program deletes everything, as `destroy` does.
            self.check_referrers(Deletion::EmptiedApply, args.allow_referenced)
                .await?;
        }
        let store = self.open_store().await?;
        self.locked(&store, "apply", async |store| {
            self.apply_locked(&store, args).await
        })
        .await
    }

    async fn apply_locked(
        &self,
        store: &Arc<dyn StateStore>,
        args: ApplyArgs,
    ) -> Result<u8, CliError> {
        store.backup().await?;
        let snapshot = store.load().await?;
        let progress = self.progress();
        let ctx = crate::context(&self.global.stack, &self.registry, store, progress.clone());
        let plan = match &args.plan_file {
            Some(file) => {
                let plan = crate::planfile::load(store.as_ref(), file)?;
                if plan.lineage != snapshot.lineage
                    || plan.base_serial != snapshot.serial
                    || !snapshot.pending.is_empty()
                {
                    return Err(CliError::Refused(format!(
                        "the saved plan {} is stale: the state changed since it was made (serial {} then, {} now); make a new plan",
                        file.display(),
                        plan.base_serial,
                        snapshot.serial
                    )));
                }
                self.enforce_policies(&plan, &args.policy, "apply")?;
                plan
            }
            None => {
                let planned = plan_stack(
                    &self.graph,
                    &snapshot,
                    &ctx,
                    &self.plan_request(args.refresh, self.plan_options()),
                )
                .await?;
                progress.finish();
                self.print_plan(&planned.plan);
                // Before the question: a plan that may not be applied is not offered.
                self.enforce_policies(&planned.plan, &args.policy, "apply")?;
                if planned.plan.has_changes() {
                    self.confirm("Do you want to apply these changes?", args.yes)?;
                }
                planned.plan
            }
        };
        let current = store.load().await?;
        self.run_apply(plan, &current, store, progress).await
    }

    pub async fn destroy(&self, args: DestroyArgs) -> Result<u8, CliError> {
        self.check_referrers(Deletion::Destroy, args.allow_referenced)
            .await?;
        let store = self.open_store().await?;
        self.locked(&store, "destroy", async |store| {
            self.destroy_locked(&store, args.yes).await
        })
        .await
    }

    /// Whether the program declares no resource girder manages and exports nothing: an apply
    /// then deletes everything the stack recorded, as `destroy` does.
    fn declares_nothing(&self) -> bool {
        self.graph.outputs().is_empty()
            && !self
                .graph
                .nodes()
                .iter()
                .any(|node| node.spec.kind == girder_core::NodeKind::Resource)
    }

    /// Before a command that deletes the stack's resources, and before opening or locking its
    /// state: refuses when other stacks at the same location still read its outputs, unless
    /// `allow` (then it only warns).
    async fn check_referrers(&self, operation: Deletion, allow: bool) -> Result<(), CliError> {
        let (location, stack) = (&self.global.state, &self.global.stack);
        if !allow {
            crate::referrers::refuse_if_read(location, stack, operation).await?;
            return Ok(());
        }
        match crate::referrers::readers_of(location, stack).await {
            Ok(readers) => {
                for reader in readers {
                    tracing::warn!(
                        reader = %reader.stack,
                        outputs = ?reader.outputs,
                        "{} of stack `{stack}` goes ahead ({}) although stack `{}` still reads its outputs",
                        operation.command(),
                        crate::referrers::OVERRIDE_FLAG,
                        reader.stack
                    );
                }
            }
            Err(error) => tracing::warn!(%error, "skipped the check of stacks reading this one"),
        }
        Ok(())
    }

    async fn destroy_locked(&self, store: &Arc<dyn StateStore>, yes: bool) -> Result<u8, CliError> {
        store.backup().await?;
        let snapshot = store.load().await?;
        let progress = self.progress();
        let ctx = crate::context(&self.global.stack, &self.registry, store, progress.clone());
        let options = PlanOptions {
            destroy: true,
            ..self.plan_options()
        };
        let planned = plan_stack(
            &self.graph,
            &snapshot,
            &ctx,
            &self.plan_request(true, options),
        )
        .await?;
        progress.finish();
        self.print_plan(&planned.plan);
        if planned.plan.has_changes() {
            self.confirm(
                &format!(
                    "Do you really want to destroy everything in stack `{}`?",
                    self.global.stack
                ),
                yes,
            )?;
        }
        let current = store.load().await?;
        self.run_apply(planned.plan, &current, store, progress)
            .await
    }

    pub async fn import(
        &self,
        resource: String,
        cloud_id: String,
        yes: bool,
    ) -> Result<u8, CliError> {
        let store = self.open_store().await?;
        self.locked(&store, "import", async |store| {
            self.import_locked(&store, resource, cloud_id, yes).await
        })
        .await
    }

    async fn import_locked(
        &self,
        store: &Arc<dyn StateStore>,
        resource: String,
        cloud_id: String,
        yes: bool,
    ) -> Result<u8, CliError> {
        store.backup().await?;
        let snapshot = store.load().await?;
        let progress = self.progress();
        let ctx = crate::context(&self.global.stack, &self.registry, store, progress.clone());
        let mut options = self.plan_options();
        options.targets = vec![resource.clone()];
        options.imports.insert(resource, cloud_id);
        let planned = plan_stack(
            &self.graph,
            &snapshot,
            &ctx,
            &self.plan_request(true, options),
        )
        .await?;
        progress.finish();
        self.print_plan(&planned.plan);
        self.confirm("Do you want to import it?", yes)?;
        let current = store.load().await?;
        self.run_apply(planned.plan, &current, store, progress)
            .await
    }

    pub async fn refresh(&self) -> Result<u8, CliError> {
        let store = self.open_store().await?;
        self.locked(&store, "refresh", async |store| {
            self.refresh_locked(&store).await
        })
        .await
    }

    async fn refresh_locked(&self, store: &Arc<dyn StateStore>) -> Result<u8, CliError> {
        store.backup().await?;
        let snapshot = store.load().await?;
        let progress = self.progress();
        let ctx = crate::context(&self.global.stack, &self.registry, store, progress.clone());
        let report = refresh_stack(
            Some(&self.graph),
            &snapshot,
            &ctx,
            &self.plan_request(true, PlanOptions::default()),
        )
        .await?;
        progress.finish();
        if self.global.json {
            self.say(&serde_json::json!({ "changed": report.changed, "gone": report.gone, "skipped": report.skipped, "calls": report.calls, "requests": report.requests }).to_string());
        } else {
            self.say(&format!(
                "Refresh: {} resource(s) read in {} call(s) ({} API request(s)); {} changed outside girder, {} gone.",
                snapshot.resource_count(),
                report.calls,
                report.requests.values().sum::<u64>(),
                report.changed.len(),
                report.gone.len()
            ));
            for (name, why) in &report.skipped {
                self.say(&format!("  not read: {name} ({why})"));
            }
        }
        Ok(0)
    }

    async fn run_apply(
        &self,
        plan: Plan,
        snapshot: &girder_engine::Snapshot,
        store: &Arc<dyn StateStore>,
        progress: Arc<Progress>,
    ) -> Result<u8, CliError> {
        let ctx = crate::context(
            &self.global.stack,
            &self.registry,
            store,
            progress.clone() as Arc<dyn EventSink>,
        );
        let report = apply_plan(&self.graph, plan, snapshot, &ctx, &self.apply_options()).await?;
        progress.finish();
        self.report(&report)
    }

    fn report(&self, report: &ApplyReport) -> Result<u8, CliError> {
        if self.global.json {
            let outputs: serde_json::Map<String, serde_json::Value> = report
                .outputs
                .iter()
                .map(|(k, v)| (k.clone(), crate::commands::inspect::mask(v, false)))
                .collect();
            self.say_event(serde_json::json!({
                    "event": "summary",
                    "succeeded": report.succeeded.len(),
                    "failed": report.failed,
                    "skipped": report.skipped.len(),
                    "not_started": report.not_started.len(),
                    "cancelled": report.cancelled,
                    "moved": report.moved.len(),
                    "elapsed_ms": report.elapsed.as_millis() as u64,
                    "outputs": outputs,
            }));
        } else {
            let count = |kinds: &[ActionKind]| {
                report
                    .succeeded
                    .iter()
                    .filter(|(_, k)| kinds.contains(k))
                    .count()
            };
            let palette = self.palette();
            let headline = if report.is_success() {
                palette.green("Apply complete!")
            } else {
                palette.red("Apply finished with errors.")
            };
            let moved = match report.moved.len() {
                0 => String::new(),
                n => format!(", {n} moved"),
            };
            self.say(&format!(
                "{headline} Resources: {} created, {} updated, {} replaced, {} deleted{moved} ({:.1}s).",
                count(&[ActionKind::Create, ActionKind::Import]),
                count(&[ActionKind::Update]),
                count(&[ActionKind::CreateReplacement]),
                count(&[ActionKind::Delete]),
                report.elapsed.as_secs_f64()
            ));
            for failure in &report.failed {
                self.say(&palette.red(&format!(
                    "  {}: {} failed: {}",
                    failure.resource,
                    failure.action.progressive(),
                    failure.error
                )));
            }
            if !report.skipped.is_empty() {
                self.say(&format!(
                    "  {} action(s) skipped because something they need failed.",
                    report.skipped.len()
                ));
            }
            if report.cancelled {
                self.say(&format!(
                    "  Interrupted: {} action(s) not started. Run apply again to finish.",
                    report.not_started.len()
                ));
            }
            if !report.outputs.is_empty() {
                self.say("\nOutputs:");
                for (name, value) in &report.outputs {
                    self.say(&format!("  {name} = {}", value.display()));
                }
            }
        }
        if report.is_success() {
            Ok(0)
        } else {
            Err(CliError::Failed(format!(
                "{} failed, {} skipped, {} not started",
                report.failed.len(),
                report.skipped.len(),
                report.not_started.len()
            )))
        }
    }
}

/// The plan as JSON with every secret replaced by `"[secret]"`.
pub(crate) fn masked_plan(plan: &Plan) -> serde_json::Value {
    let json = serde_json::to_value(plan).unwrap_or_default();
    super::inspect::mask(&girder_core::Value::from_json(json), false)
}
