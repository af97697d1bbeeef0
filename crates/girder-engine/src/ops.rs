//! Whole operations, as the command line runs them: recover → refresh → plan, and apply of a
//! plan (recording what refresh found first).

use girder_core::{Diagnostic, Diagnostics, Graph};

use crate::apply::{ApplyError, ApplyOptions, ApplyReport, EngineContext, RetryPolicy, apply};
use crate::events::Event;
use crate::plan::{Plan, PlanOptions, plan};
use crate::recovery::{RecoveryError, RecoveryReport, recover};
use crate::refresh::{RefreshError, RefreshReport, refresh};
use crate::state::{JournalError, Snapshot};

/// Why an operation failed before or instead of applying.
#[derive(Debug, thiserror::Error)]
pub enum OperationError {
    /// Interrupted operations could not be resolved.
    #[error(transparent)]
    Recovery(Box<RecoveryError>),
    /// Reading what exists failed.
    #[error(transparent)]
    Refresh(Box<RefreshError>),
    /// The program or the plan has problems.
    #[error("the plan has problems:\n{0}")]
    Plan(Diagnostics),
    /// The plan does not fit the program.
    #[error(transparent)]
    Apply(#[from] ApplyError),
    /// The state could not be written.
    #[error(transparent)]
    Journal(#[from] JournalError),
}

impl From<RecoveryError> for OperationError {
    fn from(error: RecoveryError) -> Self {
        OperationError::Recovery(Box::new(error))
    }
}

impl From<RefreshError> for OperationError {
    fn from(error: RefreshError) -> Self {
        OperationError::Refresh(Box::new(error))
    }
}

/// How to make a plan.
#[derive(Clone, Debug)]
pub struct PlanRequest {
    /// Read what exists first.
    pub refresh: bool,
    /// Targets, excludes, destroy.
    pub options: PlanOptions,
    /// Parallel reads during refresh.
    pub parallelism: usize,
    /// Retries of reads.
    pub retry: RetryPolicy,
}

impl Default for PlanRequest {
    fn default() -> Self {
        PlanRequest {
            refresh: true,
            options: PlanOptions::default(),
            parallelism: crate::apply::DEFAULT_PARALLELISM,
            retry: RetryPolicy::default(),
        }
    }
}

/// A plan with what led to it.
#[derive(Clone, Debug)]
pub struct Planned {
    /// The plan (its `refresh` holds the refresh's changes).
    pub plan: Plan,
    /// What recovery did.
    pub recovery: RecoveryReport,
    /// What refresh found (empty without refresh).
    pub refresh: RefreshReport,
}

/// Recovers interrupted operations, refreshes, and plans `graph` against `snapshot`.
///
/// Recovery writes to the journal (it must, before anything else happens); refresh does not —
/// its changes travel in the plan and are recorded when the plan is applied.
pub async fn plan_stack(
    graph: &Graph,
    snapshot: &Snapshot,
    ctx: &EngineContext,
    request: &PlanRequest,
) -> Result<Planned, OperationError> {
    let recovery = recover(snapshot, Some(graph), ctx).await?;
    let mut refreshed = if request.refresh {
        refresh(
            &recovery.snapshot,
            Some(graph),
            ctx,
            request.parallelism,
            request.retry,
        )
        .await?
    } else {
        RefreshReport {
            snapshot: recovery.snapshot.clone(),
            ..RefreshReport::default()
        }
    };
    if !request.options.destroy {
        // Read nodes whose inputs are known are read now, as Terraform reads data sources,
        // so the plan shows what they return.
        let reads =
            crate::refresh::read_data(graph, &mut refreshed.snapshot, ctx, request.retry).await?;
        refreshed.mutations.extend(reads);
    }
    let mut made = plan(graph, &refreshed.snapshot, &ctx.registry, &request.options)
        .map_err(OperationError::Plan)?;
    made.base_serial = recovery.snapshot.serial;
    made.lineage = recovery.snapshot.lineage.clone();
    made.refresh = refreshed.mutations.clone();
    // Kept although reads do not find them yet: say so, since a resource deleted by hand
    // within minutes of its creation is only noticed once the consistency window has passed.
    for name in &refreshed.not_visible_yet {
        made.warnings.push(
            Diagnostic::warning(
                "created moments ago, but reads do not find it yet; kept, as the cloud most likely does not list it yet",
            )
            .resource(name.clone())
            .fix("if it was deleted outside girder, the plan after the consistency window (5 minutes by default) creates it again"),
        );
    }
    made.drift = refreshed
        .changed
        .iter()
        .chain(&refreshed.gone)
        .cloned()
        .collect();
    ctx.events.emit(Event::Planned {
        summary: made.summary(),
    });
    Ok(Planned {
        plan: made,
        recovery,
        refresh: refreshed,
    })
}

/// Applies `plan` (made against `snapshot`, which must be the current state): records the
/// refresh's changes, then runs the actions.
pub async fn apply_plan(
    graph: &Graph,
    plan: Plan,
    snapshot: &Snapshot,
    ctx: &EngineContext,
    options: &ApplyOptions,
) -> Result<ApplyReport, OperationError> {
    let mut current = snapshot.clone();
    if !plan.refresh.is_empty() {
        ctx.journal.record(&plan.refresh).await?;
        current.apply_all(&plan.refresh);
    }
    Ok(apply(graph, plan, &current, ctx, options).await?)
}

/// Refreshes and records what exists, without planning or applying.
pub async fn refresh_stack(
    graph: Option<&Graph>,
    snapshot: &Snapshot,
    ctx: &EngineContext,
    request: &PlanRequest,
) -> Result<RefreshReport, OperationError> {
    let recovery = recover(snapshot, graph, ctx).await?;
    let report = refresh(
        &recovery.snapshot,
        graph,
        ctx,
        request.parallelism,
        request.retry,
    )
    .await?;
    ctx.journal.record(&report.mutations).await?;
    Ok(report)
}
