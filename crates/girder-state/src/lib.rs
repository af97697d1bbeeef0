//! girder's state stores.
//!
//! Small interfaces, after OpenTofu's `statemgr`: a [`StateStore`] loads the recorded
//! [`Snapshot`] and is the engine's [`Journal`] (each step writes a pending operation before the
//! provider call and its result after — O(1) data, never a rewrite of the whole snapshot); a
//! [`Locker`] keeps one mutating operation per stack at a time.
//!
//! - [`sqlite::SqliteStore`]: the embedded default — one SQLite database per stack in a
//!   directory (`.girder/` by default). SQLite because it is the most tested embedded database
//!   there is: atomic transactions survive `kill -9` and power loss (WAL), and a single file is
//!   easy to back up and inspect.
//! - `s3` (feature `s3`): the stack's state in S3, locked with DynamoDB or an S3 lockfile.
//!
//! [`list_stacks`] names the stacks that have state in a location, without opening or locking
//! any of them; [`StateStore::load_sealed`] reads one without its secrets' key.

pub mod crypto;
mod group_commit;
mod guard;
pub mod lock;
#[cfg(feature = "s3")]
pub mod s3;
pub mod sqlite;
mod stacks;

use std::sync::Arc;
use std::time::Duration;

pub use girder_engine::state::{Journal, JournalError, Snapshot};
pub use guard::{LockGuard, acquire};
pub use lock::LockInfo;
pub use stacks::list_stacks;

/// What can go wrong with a state store.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// The stack is locked by someone else.
    #[error("the stack `{stack}` is locked: {holder}\n  fix: wait for that run to finish; if it died, run `state unlock {}` (add --force if the holder is on another host)", holder.id)]
    Locked {
        /// The stack.
        stack: String,
        /// Who holds it.
        holder: Box<LockInfo>,
    },
    /// This run's lock on the stack ended while it was working: its lease could not be
    /// renewed in time, or another run broke or took it. The run stops before its next write.
    #[error(
        "the lock on stack `{stack}` was lost: {reason}; stopped before writing anything more\n  fix: run the command again; it recovers the unfinished calls (if another run holds the stack now, wait for it)"
    )]
    LockLost {
        /// The stack.
        stack: String,
        /// Why the lock is gone.
        reason: String,
    },
    /// The state is damaged.
    #[error("the state at {location} is corrupted: {detail}\n  fix: {fix}")]
    Corrupt {
        /// Where.
        location: String,
        /// What is wrong.
        detail: String,
        /// How to recover.
        fix: String,
    },
    /// The state was written by a newer girder.
    #[error(
        "the state at {location} has schema version {found}, newer than this girder understands ({supported}); upgrade girder"
    )]
    TooNew {
        /// Where.
        location: String,
        /// Its version.
        found: i64,
        /// The newest this build reads.
        supported: i64,
    },
    /// The state location is not usable.
    #[error("invalid state location `{location}`: {reason}")]
    Location {
        /// The location given.
        location: String,
        /// Why it cannot be used.
        reason: String,
    },
    /// Encryption of secrets failed.
    #[error("{0}")]
    Crypto(String),
    /// The storage failed.
    #[error("state storage at {location}: {message}")]
    Storage {
        /// Where.
        location: String,
        /// What failed.
        message: String,
    },
}

impl From<StateError> for JournalError {
    fn from(error: StateError) -> Self {
        JournalError::new(error.to_string())
    }
}

/// Keeps one mutating operation per stack at a time.
#[async_trait::async_trait]
pub trait Locker: Send + Sync {
    /// Takes the lock for `info`, or fails at once with the holder named.
    async fn try_lock(&self, info: &LockInfo) -> Result<(), StateError>;

    /// Releases the lock `id` (no-op if it is not held by `id`).
    async fn unlock(&self, id: &str) -> Result<(), StateError>;

    /// Who holds the lock now.
    async fn current_lock(&self) -> Result<Option<LockInfo>, StateError>;

    /// Removes whatever lock is held; returns it.
    async fn force_unlock(&self) -> Result<Option<LockInfo>, StateError>;

    /// For remote locks: how long a lock lives unless renewed. `None` for local locks, whose
    /// holder is checked by process id instead.
    fn lease(&self) -> Option<Duration> {
        None
    }

    /// Extends the lease of lock `id` (called by a heartbeat while the lock is held).
    async fn renew(&self, id: &str) -> Result<(), StateError> {
        let _ = id;
        Ok(())
    }
}

/// A stack's recorded state: loadable, journaled, lockable.
#[async_trait::async_trait]
pub trait StateStore: Journal + Locker {
    /// The current snapshot, pending operations included, secrets decrypted.
    async fn load(&self) -> Result<Snapshot, StateError>;

    /// The current snapshot with secrets left sealed, so no key or passphrase is needed: for
    /// read-only looks at another stack's records (which stacks it references, for example).
    /// Takes no lock. Stores whose secrets cannot stay sealed decrypt them, as [`load`] does.
    ///
    /// [`load`]: StateStore::load
    async fn load_sealed(&self) -> Result<Snapshot, StateError> {
        self.load().await
    }

    /// Replaces the whole snapshot (migration), after keeping a backup.
    async fn write_snapshot(&self, snapshot: &Snapshot) -> Result<(), StateError>;

    /// Keeps the current snapshot as the backup (done before every mutating operation).
    async fn backup(&self) -> Result<(), StateError>;

    /// Where the state lives, for messages.
    fn location(&self) -> String;

    /// The stack.
    fn stack(&self) -> &str;

    /// The encryption of secrets for this state (also used for saved plan files).
    fn secrets(&self) -> Result<&crypto::Crypter, StateError>;
}

/// Opens the state of `stack` at `location`: a directory (the embedded store) or, with the
/// `s3` feature, `s3://bucket/prefix?lock=dynamodb:TABLE|s3`.
pub async fn open(location: &str, stack: &str) -> Result<Arc<dyn StateStore>, StateError> {
    validate_stack_name(stack)?;
    if location.starts_with("s3://") {
        return open_s3(location, stack).await;
    }
    if location.contains("://") {
        return Err(StateError::Location {
            location: location.to_owned(),
            reason: "unknown scheme; use a directory or s3://BUCKET/PREFIX".into(),
        });
    }
    Ok(Arc::new(sqlite::SqliteStore::open(location, stack)?))
}

#[cfg(not(feature = "s3"))]
async fn open_s3(location: &str, _stack: &str) -> Result<Arc<dyn StateStore>, StateError> {
    Err(StateError::Location {
        location: location.to_owned(),
        reason:
            "this program was built without S3 state; enable the `s3-state` feature of `girder`"
                .into(),
    })
}

#[cfg(feature = "s3")]
async fn open_s3(location: &str, stack: &str) -> Result<Arc<dyn StateStore>, StateError> {
    s3::open_store(location, stack).await
}

/// Checks that a stack name can name a state file or key.
pub fn validate_stack_name(stack: &str) -> Result<(), StateError> {
    let ok = !stack.is_empty()
        && stack.len() <= 100
        && stack
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && !stack.starts_with('.');
    if ok {
        Ok(())
    } else {
        Err(StateError::Location {
            location: stack.to_owned(),
            reason: "a stack name has 1 to 100 ASCII letters, digits, `-`, `_` or `.` and does not start with `.` (for example `dev` or `prod-eu`)".into(),
        })
    }
}
