//! Engine events: what a progress display, a JSON log or a test observes.

use std::sync::Mutex;

use serde::Serialize;

use crate::plan::PlanSummary;

/// What an apply action does to one resource.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    /// Configure a provider node.
    Configure,
    /// Nothing to do (publishes the recorded outputs).
    Same,
    /// Create.
    Create,
    /// Update in place.
    Update,
    /// Wait again for a resource an earlier create stopped waiting for.
    Resume,
    /// Create the replacement (create-before-destroy).
    CreateReplacement,
    /// Delete the replaced object.
    DeleteReplaced,
    /// Delete.
    Delete,
    /// Read an existing resource.
    Read,
    /// Adopt an existing resource.
    Import,
}

impl ActionKind {
    /// The verb shown to people ("creating", "deleting", …).
    pub fn progressive(&self) -> &'static str {
        match self {
            ActionKind::Configure => "configuring",
            ActionKind::Same => "unchanged",
            ActionKind::Create => "creating",
            ActionKind::Update => "updating",
            ActionKind::Resume => "waiting for",
            ActionKind::CreateReplacement => "creating replacement",
            ActionKind::DeleteReplaced => "deleting replaced",
            ActionKind::Delete => "deleting",
            ActionKind::Read => "reading",
            ActionKind::Import => "importing",
        }
    }

    /// The past tense ("created", "deleted", …).
    pub fn past(&self) -> &'static str {
        match self {
            ActionKind::Configure => "configured",
            ActionKind::Same => "unchanged",
            ActionKind::Create => "created",
            ActionKind::Update => "updated",
            ActionKind::Resume => "ready",
            ActionKind::CreateReplacement => "replacement created",
            ActionKind::DeleteReplaced => "replaced object deleted",
            ActionKind::Delete => "deleted",
            ActionKind::Read => "read",
            ActionKind::Import => "imported",
        }
    }
}

/// Something the engine did or saw.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// Interrupted operations are being recovered.
    RecoveryStarted {
        /// Pending operations found.
        pending: usize,
    },
    /// Recovery finished.
    RecoveryFinished {
        /// Resources found in the cloud and adopted.
        adopted: usize,
        /// Pending creates that never happened, dropped.
        dropped: usize,
    },
    /// Refresh started.
    RefreshStarted {
        /// Resources to read.
        resources: usize,
    },
    /// Refresh finished.
    RefreshFinished {
        /// Resources whose cloud state differs from the record.
        changed: usize,
        /// Resources gone from the cloud.
        gone: usize,
        /// Provider read calls made (batched).
        calls: usize,
        /// Wall time in milliseconds.
        elapsed_ms: u64,
    },
    /// A plan was made.
    Planned {
        /// Its step counts.
        summary: PlanSummary,
    },
    /// Apply started.
    ApplyStarted {
        /// Actions that call a provider.
        actions: usize,
    },
    /// A resource's record was renamed ([`Stack::moved`](girder_core::Stack::moved)); its
    /// cloud object is kept.
    Moved {
        /// The old name.
        from: String,
        /// The new name.
        to: String,
    },
    /// An action started.
    ActionStarted {
        /// The resource.
        resource: String,
        /// Its type.
        type_name: String,
        /// What is done.
        action: ActionKind,
    },
    /// A long action reported progress.
    ActionProgress {
        /// The resource.
        resource: String,
        /// The message.
        message: String,
        /// Time since the action started, in milliseconds (retries included), so a display
        /// can show that a twelve-minute wait is still alive.
        elapsed_ms: u64,
    },
    /// A call failed transiently and will be retried.
    ActionRetrying {
        /// The resource.
        resource: String,
        /// The attempt that failed (1-based).
        attempt: u32,
        /// Delay before the next attempt, in milliseconds.
        delay_ms: u64,
        /// The error.
        error: String,
    },
    /// An action finished.
    ActionFinished {
        /// The resource.
        resource: String,
        /// What was done.
        action: ActionKind,
        /// Wall time in milliseconds.
        elapsed_ms: u64,
    },
    /// An action failed.
    ActionFailed {
        /// The resource.
        resource: String,
        /// What was attempted.
        action: ActionKind,
        /// The error.
        error: String,
    },
    /// An action was not started because something it needs failed or was skipped.
    ActionSkipped {
        /// The resource.
        resource: String,
        /// What would have been done.
        action: ActionKind,
        /// The resource whose failure caused it.
        because_of: String,
    },
    /// Cancellation was requested: no new actions start.
    Cancelling {
        /// Actions still running, which finish and are recorded.
        in_flight: usize,
    },
    /// Apply finished.
    ApplyFinished {
        /// Actions that succeeded.
        succeeded: usize,
        /// Actions that failed.
        failed: usize,
        /// Actions skipped.
        skipped: usize,
        /// Wall time in milliseconds.
        elapsed_ms: u64,
    },
}

/// Receives events. Implementations must be quick: they are called from the engine's loop.
pub trait EventSink: Send + Sync {
    /// Handles one event.
    fn emit(&self, event: Event);
}

/// Drops every event.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoEvents;

impl EventSink for NoEvents {
    fn emit(&self, _event: Event) {}
}

/// Keeps every event (tests).
#[derive(Debug, Default)]
pub struct RecordedEvents {
    events: Mutex<Vec<Event>>,
}

impl RecordedEvents {
    /// An empty recorder.
    pub fn new() -> RecordedEvents {
        RecordedEvents::default()
    }

    /// The events so far.
    pub fn events(&self) -> Vec<Event> {
        self.events
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

impl EventSink for RecordedEvents {
    fn emit(&self, event: Event) {
        self.events
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(event);
    }
}

/// Forwards events to `tracing` (the default sink of library users).
#[derive(Debug, Default, Clone, Copy)]
pub struct TracingEvents;

impl EventSink for TracingEvents {
    fn emit(&self, event: Event) {
        match &event {
            Event::ActionFailed {
                resource,
                action,
                error,
            } => {
                tracing::error!(%resource, ?action, %error, "action failed")
            }
            Event::ActionRetrying {
                resource,
                attempt,
                error,
                ..
            } => {
                tracing::warn!(%resource, attempt, %error, "retrying")
            }
            other => tracing::debug!(event = ?other),
        }
    }
}
