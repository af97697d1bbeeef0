//! How an apply orders the actions that are ready to start, and the expected durations it
//! orders them by.
//!
//! Under a parallelism bound the start order decides the makespan: an EKS control plane
//! (~10 minutes) and the nodegroups behind it must start before a hundred two-second tags.
//! [`Schedule::CriticalPathFirst`] (the default) starts first the ready action with the longest
//! remaining path to the end of the action graph, each action weighted by the expected duration
//! of its resource type and action: declared by the provider in the schema
//! ([`ResourceSchema::expected_durations`](crate::provider::ResourceSchema::expected_durations)),
//! else learned from an earlier apply ([`ApplyReport::observed`](crate::ApplyReport::observed)
//! passed back as [`ApplyOptions::learned`](crate::ApplyOptions::learned)), else
//! [`DEFAULT_EXPECTED_DURATION`]. Actions that call no provider weigh nothing.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Serialize, Serializer};

use crate::events::ActionKind;

/// The weight of a provider call nothing declares or has observed: most cloud calls take
/// about a second, and only the relative weights matter.
pub const DEFAULT_EXPECTED_DURATION: Duration = Duration::from_secs(1);

/// The order in which an apply starts the actions that are ready.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Schedule {
    /// Longest remaining path (in expected durations) first; ties by plan order. Before the
    /// walk the engine simulates this order and FIFO on the expected durations and keeps
    /// FIFO if it would finish sooner, because a priority list schedule can lose to FIFO on
    /// some graphs (Graham's anomalies).
    #[default]
    CriticalPathFirst,
    /// In the order actions become ready (the engine's order before priorities; kept for
    /// comparison).
    Fifo,
}

/// How long calls on a resource type usually take, per operation. `None` leaves the estimate
/// to what an earlier apply observed, or the default.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ExpectedDurations {
    /// Create (and resume), including waiting until ready.
    #[serde(serialize_with = "millis")]
    pub create: Option<Duration>,
    /// Update.
    #[serde(serialize_with = "millis")]
    pub update: Option<Duration>,
    /// Delete, including waiting until gone.
    #[serde(serialize_with = "millis")]
    pub delete: Option<Duration>,
    /// Read (and import).
    #[serde(serialize_with = "millis")]
    pub read: Option<Duration>,
}

impl ExpectedDurations {
    /// The same expectation for every operation.
    pub fn all(duration: Duration) -> ExpectedDurations {
        ExpectedDurations {
            create: Some(duration),
            update: Some(duration),
            delete: Some(duration),
            read: Some(duration),
        }
    }

    /// The expectation for an action, if any; `None` for actions without a call on the type
    /// (configuring a provider, `same`).
    pub fn for_action(&self, kind: ActionKind) -> Option<Duration> {
        self.slot(kind).and_then(|d| *d)
    }

    fn slot(&self, kind: ActionKind) -> Option<&Option<Duration>> {
        match kind {
            ActionKind::Create | ActionKind::CreateReplacement | ActionKind::Resume => {
                Some(&self.create)
            }
            ActionKind::Update => Some(&self.update),
            ActionKind::Delete | ActionKind::DeleteReplaced => Some(&self.delete),
            ActionKind::Read | ActionKind::Import => Some(&self.read),
            ActionKind::Configure | ActionKind::Same => None,
        }
    }

    fn slot_mut(&mut self, kind: ActionKind) -> Option<&mut Option<Duration>> {
        match kind {
            ActionKind::Create | ActionKind::CreateReplacement | ActionKind::Resume => {
                Some(&mut self.create)
            }
            ActionKind::Update => Some(&mut self.update),
            ActionKind::Delete | ActionKind::DeleteReplaced => Some(&mut self.delete),
            ActionKind::Read | ActionKind::Import => Some(&mut self.read),
            ActionKind::Configure | ActionKind::Same => None,
        }
    }
}

fn millis<S: Serializer>(value: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match value {
        Some(d) => s.serialize_some(&(d.as_millis() as u64)),
        None => s.serialize_none(),
    }
}

/// Mean durations of the provider calls an apply made, per resource type and operation:
/// what the next apply can weigh its schedule by ([`ApplyOptions::learned`](crate::ApplyOptions::learned)).
///
/// The state records how long each resource's create took
/// ([`ObservedDurations::recorded_in`]), which every apply consults; a caller that keeps more
/// (a benchmark, a long-running service) passes the last report's back as well.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct ObservedDurations {
    by_type: BTreeMap<String, ExpectedDurations>,
}

impl ObservedDurations {
    /// The observed mean of `kind` calls on `type_name`, if any were made.
    pub fn get(&self, type_name: &str, kind: ActionKind) -> Option<Duration> {
        self.by_type.get(type_name)?.for_action(kind)
    }

    /// True if nothing was observed.
    pub fn is_empty(&self) -> bool {
        self.by_type.is_empty()
    }

    /// The mean create durations recorded in the state ([`ResourceState::create_ms`]), per
    /// type: what the journal remembers of earlier applies, so a later one (a re-create after
    /// a destroy, a replacement, the same module in a new stack) weighs those creates by them.
    ///
    /// [`ResourceState::create_ms`]: crate::state::ResourceState::create_ms
    pub fn recorded_in<'a>(
        resources: impl IntoIterator<Item = &'a crate::state::ResourceState>,
    ) -> ObservedDurations {
        let mut samples = DurationSamples::default();
        for resource in resources {
            if let Some(ms) = resource.create_ms {
                samples.add(
                    &resource.type_name,
                    ActionKind::Create,
                    Duration::from_millis(ms),
                );
            }
        }
        samples.means()
    }

    /// `self`, with what it lacks taken from `fallback`.
    pub fn or(mut self, fallback: &ObservedDurations) -> ObservedDurations {
        for (type_name, theirs) in &fallback.by_type {
            let ours = self.by_type.entry(type_name.clone()).or_default();
            for kind in [
                ActionKind::Create,
                ActionKind::Update,
                ActionKind::Delete,
                ActionKind::Read,
            ] {
                if let (Some(slot), Some(value)) = (ours.slot_mut(kind), theirs.for_action(kind))
                    && slot.is_none()
                {
                    *slot = Some(value);
                }
            }
        }
        self
    }

    /// Sets the duration of `kind` calls on `type_name` (tests, or durations kept elsewhere).
    pub fn set(&mut self, type_name: &str, kind: ActionKind, duration: Duration) {
        let entry = self.by_type.entry(type_name.to_owned()).or_default();
        if let Some(slot) = entry.slot_mut(kind) {
            *slot = Some(duration);
        }
    }
}

/// Sums of call durations per type and operation while a walk runs, for their means.
#[derive(Debug, Default)]
pub(crate) struct DurationSamples {
    sums: BTreeMap<(String, usize), (Duration, u32, ActionKind)>,
}

impl DurationSamples {
    /// Adds one successful call.
    pub(crate) fn add(&mut self, type_name: &str, kind: ActionKind, elapsed: Duration) {
        if matches!(kind, ActionKind::Configure | ActionKind::Same) {
            return;
        }
        let entry = self
            .sums
            .entry((type_name.to_owned(), slot_index(kind)))
            .or_insert((Duration::ZERO, 0, kind));
        entry.0 += elapsed;
        entry.1 += 1;
    }

    /// The means.
    pub(crate) fn means(&self) -> ObservedDurations {
        let mut observed = ObservedDurations::default();
        for ((type_name, _), (sum, count, kind)) in &self.sums {
            observed.set(type_name, *kind, *sum / (*count).max(1));
        }
        observed
    }
}

/// Which field of [`ExpectedDurations`] an action's samples go to.
fn slot_index(kind: ActionKind) -> usize {
    match kind {
        ActionKind::Create | ActionKind::CreateReplacement | ActionKind::Resume => 0,
        ActionKind::Update => 1,
        ActionKind::Delete | ActionKind::DeleteReplaced => 2,
        ActionKind::Read | ActionKind::Import | ActionKind::Configure | ActionKind::Same => 3,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_map_to_their_operation() {
        let e = ExpectedDurations {
            create: Some(Duration::from_secs(600)),
            delete: Some(Duration::from_secs(300)),
            ..ExpectedDurations::default()
        };
        assert_eq!(
            e.for_action(ActionKind::CreateReplacement),
            Some(Duration::from_secs(600))
        );
        assert_eq!(
            e.for_action(ActionKind::DeleteReplaced),
            Some(Duration::from_secs(300))
        );
        assert_eq!(e.for_action(ActionKind::Update), None);
        assert_eq!(
            ExpectedDurations::all(Duration::from_secs(1)).for_action(ActionKind::Configure),
            None
        );
    }

    #[test]
    fn samples_average_per_type_and_operation() {
        let mut samples = DurationSamples::default();
        samples.add(
            "aws:eks:Cluster",
            ActionKind::Create,
            Duration::from_secs(500),
        );
        samples.add(
            "aws:eks:Cluster",
            ActionKind::Resume,
            Duration::from_secs(700),
        );
        samples.add(
            "aws:eks:Cluster",
            ActionKind::Delete,
            Duration::from_secs(300),
        );
        samples.add("aws:eks:Cluster", ActionKind::Same, Duration::from_secs(9));
        let observed = samples.means();
        assert_eq!(
            observed.get("aws:eks:Cluster", ActionKind::Create),
            Some(Duration::from_secs(600))
        );
        assert_eq!(
            observed.get("aws:eks:Cluster", ActionKind::Delete),
            Some(Duration::from_secs(300))
        );
        assert_eq!(observed.get("aws:eks:Cluster", ActionKind::Read), None);
    }
}
