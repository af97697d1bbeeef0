//! girder's engine: plans a program's graph against recorded state and applies it through
//! providers, in parallel and safely.
//!
//! - [`provider`]: the request/response contract providers implement ([`Provider`],
//!   [`ProviderPackage`]); [`typed`] writes providers with typed inputs and outputs.
//! - [`plan()`]: the pure planner — same / create / update / replace / delete / read / import
//!   steps with per-field diffs and unknowns propagated.
//! - [`apply()`]: the executor — a bounded parallel DAG walk with retries, time limits, rate
//!   limits, failure isolation and cancellation, journaling every call; [`schedule`] is the
//!   critical-path-first order it starts ready actions in.
//! - [`refresh()`] and [`recover()`]: reading what exists, and repairing the state after a crash.
//! - [`state`]: the snapshot, pending operations and the [`Journal`] a state store implements.
//! - [`events`]: what progress displays observe.
//! - [`wait`]: the polling loop providers wait for readiness with, through passing errors.

/// The provider-writing guide (`docs/writing-a-provider.md`), compiled as doctests so its
/// examples stay true to the API.
#[cfg(doctest)]
#[doc = include_str!("../../../docs/writing-a-provider.md")]
pub struct WritingAProviderGuide;

mod apply;
pub mod clock;
mod consistency;
pub mod diff;
pub mod events;
pub mod moves;
pub mod ops;
pub mod plan;
pub mod provider;
mod providers;
pub mod recovery;
pub mod refresh;
pub mod registry;
pub mod schedule;
pub mod state;
pub mod typed;
pub mod wait;

pub use apply::{
    ActionFailure, ApplyError, ApplyOptions, ApplyReport, DEFAULT_PARALLELISM, EngineContext,
    RetryPolicy, apply,
};
pub use clock::{Clock, ManualClock, SystemClock};
pub use events::{ActionKind, Event, EventSink, NoEvents, RecordedEvents, TracingEvents};
pub use ops::{OperationError, PlanRequest, Planned, apply_plan, plan_stack, refresh_stack};
pub use plan::{OutputChange, Plan, PlanOptions, PlanSummary, Step, StepKind, plan};
pub use provider::{
    CallContext, ErrorKind, PlannedResource, Provider, ProviderError, ProviderPackage, RateLimit,
    ReplaceOrder, ResourceIdentity, ResourceSchema, ResumeRequest,
};
pub use recovery::{RecoveryError, RecoveryReport, recover};
pub use refresh::{Consistency, RefreshError, RefreshReport, refresh};
pub use registry::{Instances, ProviderKey, Registry};
pub use schedule::{ExpectedDurations, ObservedDurations, Schedule};
pub use state::{
    Journal, JournalError, MemoryJournal, Mutation, PendingOperation, ResourceState, Snapshot,
};
pub use wait::{Poll, PollDelays};
