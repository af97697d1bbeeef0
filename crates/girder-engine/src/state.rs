//! What the engine records: [`Snapshot`] (the resources that exist), [`PendingOperation`]s
//! (provider calls in flight) and the [`Journal`] every call is written to.
//!
//! The journal is the engine's side of principle 5: before each provider call the engine
//! writes a pending operation, after it the result as a few [`Mutation`]s — O(1) data per
//! step, never a rewrite of the whole snapshot. A crash between the two leaves the pending
//! operation, from which [`recover`](crate::recovery::recover) repairs the state.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use girder_core::{NodeKind, Value};
use serde::{Deserialize, Serialize};

use crate::provider::ResourceIdentity;

/// One resource as recorded in the state.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResourceState {
    /// The stack-unique name.
    pub name: String,
    /// The type token.
    #[serde(rename = "type")]
    pub type_name: String,
    /// Resource, provider or read.
    pub kind: NodeKind,
    /// The cloud id (for providers, their name).
    pub id: String,
    /// The explicit provider node's name; `None` for the package's default provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// The inputs the resource was last created or updated with (or observed by refresh).
    pub inputs: Value,
    /// The outputs (always including `id`).
    pub outputs: Value,
    /// The names of the resources it depended on, so removals run in reverse order.
    #[serde(default)]
    pub dependencies: Vec<String>,
    /// Refuse deletion.
    #[serde(default)]
    pub protect: bool,
    /// Forget instead of deleting.
    #[serde(default)]
    pub retain_on_delete: bool,
    /// Created, but the cloud reported it broken (a permanent failure while it was set up):
    /// the next plan replaces it.
    #[serde(default)]
    pub tainted: bool,
    /// Created, but the create stopped waiting for it to become ready for a passing reason (a
    /// transient error, the time limit, an abort), which says nothing about the resource: the
    /// next apply waits for it again ([`Provider::resume_create`]) instead of replacing a
    /// resource that may be healthy.
    ///
    /// [`Provider::resume_create`]: crate::provider::Provider::resume_create
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub creating: bool,
    /// When girder created it (RFC 3339); `None` for records made before girder recorded it,
    /// imports and reads. Refresh does not take a young resource's absence from a read for a
    /// deletion: the cloud may just not list it yet (eventual consistency).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// How long girder's create of it took, in milliseconds (the calls, retries and the wait
    /// until ready): what later applies weigh creates of its type by when scheduling, for
    /// types whose provider declares no expected duration (see [`crate::schedule`]). `None`
    /// for records made otherwise or before girder recorded it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_ms: Option<u64>,
}

impl ResourceState {
    /// The identity of the resource in `stack`.
    pub fn identity(&self, stack: &str) -> ResourceIdentity {
        ResourceIdentity {
            stack: stack.to_owned(),
            name: self.name.clone(),
            type_name: self.type_name.clone(),
        }
    }

    /// The package part of the type token.
    pub fn package(&self) -> &str {
        girder_core::package_of(&self.type_name)
    }
}

/// An old object kept after its replacement was created (create-before-destroy), until it is
/// deleted. Terraform calls these *deposed*.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeposedResource {
    /// Distinguishes several deposed objects of one name.
    pub key: String,
    /// The old object.
    pub resource: ResourceState,
}

/// What a pending operation is doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OperationKind {
    /// Creating a new resource.
    Create,
    /// Creating the replacement of an existing resource (the old one stays until deleted).
    CreateReplacement,
    /// Updating in place.
    Update,
    /// Deleting.
    Delete,
    /// Deleting a deposed object.
    DeleteDeposed,
    /// Adopting an existing resource.
    Import,
}

/// A provider call that was started and whose result is not yet recorded.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PendingOperation {
    /// Unique within the state.
    pub id: u64,
    /// What the call does.
    pub kind: OperationKind,
    /// Who the resource is.
    pub identity: ResourceIdentity,
    /// The explicit provider node's name, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// The cloud id, for calls on an existing resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cloud_id: Option<String>,
    /// The deposed key, for [`OperationKind::DeleteDeposed`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deposed_key: Option<String>,
    /// The inputs sent (secrets kept as secrets).
    pub inputs: Value,
    /// The resources it depends on.
    #[serde(default)]
    pub dependencies: Vec<String>,
    /// When the call started (RFC 3339).
    pub started_at: String,
}

/// One change to the recorded state.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Mutation {
    /// Insert or replace a resource.
    Upsert {
        /// The resource.
        resource: ResourceState,
    },
    /// Forget a resource.
    Remove {
        /// Its name.
        name: String,
    },
    /// Move the current object of `name` to the deposed list under `key`.
    Depose {
        /// The resource name.
        name: String,
        /// The deposed key.
        key: String,
    },
    /// Forget a deposed object.
    RemoveDeposed {
        /// The deposed key.
        key: String,
    },
    /// Replace the stack outputs.
    SetOutputs {
        /// The outputs.
        outputs: BTreeMap<String, Value>,
    },
}

/// The recorded state of a stack.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// The stack.
    pub stack: String,
    /// Identifies this state's history; a saved plan only applies to the same lineage.
    pub lineage: String,
    /// Increases with every recorded change; a saved plan only applies to the same serial.
    pub serial: u64,
    /// Resources by name. Shared (`Arc`) so that plans refer to the records instead of
    /// copying every recorded input and output: a no-change plan of 100k resources is a fifth
    /// faster and smaller for it.
    pub resources: BTreeMap<String, Arc<ResourceState>>,
    /// Old objects awaiting deletion.
    #[serde(default)]
    pub deposed: Vec<DeposedResource>,
    /// The stack outputs of the last apply.
    #[serde(default)]
    pub outputs: BTreeMap<String, Value>,
    /// Provider calls whose results were never recorded (a crash).
    #[serde(default)]
    pub pending: Vec<PendingOperation>,
}

impl Snapshot {
    /// An empty state for `stack`.
    pub fn empty(stack: impl Into<String>) -> Snapshot {
        Snapshot {
            stack: stack.into(),
            ..Snapshot::default()
        }
    }

    /// Applies one mutation.
    pub fn apply(&mut self, mutation: &Mutation) {
        match mutation {
            Mutation::Upsert { resource } => {
                self.resources
                    .insert(resource.name.clone(), Arc::new(resource.clone()));
            }
            Mutation::Remove { name } => {
                self.resources.remove(name);
            }
            Mutation::Depose { name, key } => {
                if let Some(resource) = self.resources.remove(name) {
                    self.deposed.push(DeposedResource {
                        key: key.clone(),
                        resource: Arc::unwrap_or_clone(resource),
                    });
                }
            }
            Mutation::RemoveDeposed { key } => self.deposed.retain(|d| &d.key != key),
            Mutation::SetOutputs { outputs } => self.outputs = outputs.clone(),
        }
    }

    /// Applies mutations in order, as one journal call records them.
    pub fn apply_all(&mut self, mutations: &[Mutation]) {
        for mutation in mutations {
            self.apply(mutation);
        }
    }

    /// Number of resources (excluding providers) recorded.
    pub fn resource_count(&self) -> usize {
        self.resources
            .values()
            .filter(|r| r.kind != NodeKind::Provider)
            .count()
    }
}

/// Why the journal could not record something. The engine stops starting new work when this
/// happens: without a record, a provider call could be lost.
#[derive(Debug, thiserror::Error)]
#[error("cannot record the state: {message}")]
pub struct JournalError {
    /// What went wrong.
    pub message: String,
}

impl JournalError {
    /// An error with a message.
    pub fn new(message: impl Into<String>) -> JournalError {
        JournalError {
            message: message.into(),
        }
    }
}

/// Where the engine records each step, before and after the provider call.
///
/// Every `commit` and every non-empty `record` increases the state's serial by one; `begin`
/// does not. Implementations must make each call durable before returning.
#[async_trait::async_trait]
pub trait Journal: Send + Sync {
    /// Records that a call is about to start.
    async fn begin(&self, operation: &PendingOperation) -> Result<(), JournalError>;

    /// Records the call's result as mutations and closes the pending operation, atomically.
    async fn commit(&self, operation_id: u64, mutations: &[Mutation]) -> Result<(), JournalError>;

    /// Records mutations that need no provider call (refresh results, outputs, forgetting a
    /// retained resource), atomically.
    async fn record(&self, mutations: &[Mutation]) -> Result<(), JournalError>;

    /// A fresh operation id.
    fn next_operation_id(&self) -> u64;
}

/// A journal that keeps the snapshot in memory (tests, in-memory planning, benchmarks).
#[derive(Debug, Default)]
pub struct MemoryJournal {
    inner: Mutex<MemoryState>,
}

#[derive(Debug, Default)]
struct MemoryState {
    snapshot: Snapshot,
    next_id: u64,
    writes: u64,
}

impl MemoryJournal {
    /// A journal over `snapshot`.
    pub fn new(snapshot: Snapshot) -> MemoryJournal {
        let next_id = snapshot.pending.iter().map(|p| p.id).max().unwrap_or(0) + 1;
        MemoryJournal {
            inner: Mutex::new(MemoryState {
                snapshot,
                next_id,
                writes: 0,
            }),
        }
    }

    /// A copy of the current snapshot.
    pub fn snapshot(&self) -> Snapshot {
        self.lock().snapshot.clone()
    }

    /// How many begin/commit/record calls were made.
    pub fn writes(&self) -> u64 {
        self.lock().writes
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, MemoryState> {
        // A panic while holding the lock cannot leave the snapshot half-updated (every
        // mutation is applied by value), so a poisoned lock is still consistent.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[async_trait::async_trait]
impl Journal for MemoryJournal {
    async fn begin(&self, operation: &PendingOperation) -> Result<(), JournalError> {
        let mut inner = self.lock();
        inner.writes += 1;
        inner.snapshot.pending.push(operation.clone());
        Ok(())
    }

    async fn commit(&self, operation_id: u64, mutations: &[Mutation]) -> Result<(), JournalError> {
        let mut inner = self.lock();
        inner.writes += 1;
        inner.snapshot.pending.retain(|p| p.id != operation_id);
        for mutation in mutations {
            inner.snapshot.apply(mutation);
        }
        inner.snapshot.serial += 1;
        Ok(())
    }

    async fn record(&self, mutations: &[Mutation]) -> Result<(), JournalError> {
        if mutations.is_empty() {
            return Ok(());
        }
        let mut inner = self.lock();
        inner.writes += 1;
        for mutation in mutations {
            inner.snapshot.apply(mutation);
        }
        inner.snapshot.serial += 1;
        Ok(())
    }

    fn next_operation_id(&self) -> u64 {
        let mut inner = self.lock();
        let id = inner.next_id;
        inner.next_id += 1;
        id
    }
}
