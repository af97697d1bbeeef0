//! Shared helpers for the benchmarks.

use std::sync::Arc;

use girder::engine::Snapshot;

/// The state as a run loads it from its store: fresh, compact records. The harness's own
/// records are shared with the journal and scattered over the apply's allocations, which
/// would make plans against them measure cache misses rather than the planner.
pub fn as_loaded(snapshot: &Snapshot) -> Snapshot {
    Snapshot {
        resources: snapshot
            .resources
            .iter()
            .map(|(name, record)| (name.clone(), Arc::new((**record).clone())))
            .collect(),
        ..snapshot.clone()
    }
}
