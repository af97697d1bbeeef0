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

pub mod crypto;
pub mod lock;
pub mod sqlite;

use std::sync::Arc;
use std::time::{Duration, Instant};

pub use girder_engine::state::{Journal, JournalError, Snapshot};
pub use lock::LockInfo;

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
pub trait Locker: Send + Sync {
    /// Takes the lock for `info`, or fails at once with the holder named.
    fn try_lock(&self, info: &LockInfo) -> Result<(), StateError>;

    /// Releases the lock `id` (no-op if it is not held by `id`).
    fn unlock(&self, id: &str) -> Result<(), StateError>;

    /// Who holds the lock now.
    fn current_lock(&self) -> Result<Option<LockInfo>, StateError>;

    /// Removes whatever lock is held; returns it.
    fn force_unlock(&self) -> Result<Option<LockInfo>, StateError>;

    /// Keeps a lease-based lock alive (remote stores); local locks need nothing.
    fn renew(&self, id: &str) -> Result<(), StateError> {
        let _ = id;
        Ok(())
    }
}

/// A stack's recorded state: loadable, journaled, lockable.
pub trait StateStore: Journal + Locker {
    /// The current snapshot, pending operations included, secrets decrypted.
    fn load(&self) -> Result<Snapshot, StateError>;

    /// Replaces the whole snapshot (migration, `state rm`), after keeping a backup.
    fn write_snapshot(&self, snapshot: &Snapshot) -> Result<(), StateError>;

    /// Keeps the current snapshot as the backup (done before every mutating operation).
    fn backup(&self) -> Result<(), StateError>;

    /// Where the state lives, for messages.
    fn location(&self) -> String;

    /// The stack.
    fn stack(&self) -> &str;

    /// The encryption of secrets for this state (also used for saved plan files).
    fn secrets(&self) -> Result<&crypto::Crypter, StateError>;
}

/// A held lock; released when dropped.
pub struct LockGuard {
    store: Arc<dyn StateStore>,
    info: LockInfo,
    released: bool,
}

impl std::fmt::Debug for LockGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LockGuard")
            .field("info", &self.info)
            .finish()
    }
}

impl LockGuard {
    /// The lock record.
    pub fn info(&self) -> &LockInfo {
        &self.info
    }

    /// Releases the lock now, reporting failure.
    pub fn release(mut self) -> Result<(), StateError> {
        self.released = true;
        self.store.unlock(&self.info.id)
    }
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        if !self.released
            && let Err(error) = self.store.unlock(&self.info.id)
        {
            tracing::error!(%error, "could not release the state lock");
        }
    }
}

/// Takes the lock of `store` for `operation`, waiting up to `timeout` for another holder.
///
/// A lock whose holder was a process of this host that no longer runs is taken over with a
/// warning (the crash it left behind is recovered by the engine).
pub fn acquire(
    store: &Arc<dyn StateStore>,
    operation: &str,
    timeout: Duration,
) -> Result<LockGuard, StateError> {
    let info = LockInfo::for_current_process(operation);
    let deadline = Instant::now() + timeout;
    loop {
        match store.try_lock(&info) {
            Ok(()) => {
                return Ok(LockGuard {
                    store: store.clone(),
                    info,
                    released: false,
                });
            }
            Err(StateError::Locked { holder, stack }) => {
                if holder.holder_is_dead() {
                    tracing::warn!(
                        "taking over the lock of a process that no longer runs: {holder}"
                    );
                    store.force_unlock()?;
                    continue;
                }
                if Instant::now() >= deadline {
                    return Err(StateError::Locked { holder, stack });
                }
                std::thread::sleep(Duration::from_millis(250).min(deadline - Instant::now()));
            }
            Err(other) => return Err(other),
        }
    }
}

/// Opens the state of `stack` at `location`: a directory (the embedded store) or, with the
/// `s3` feature, `s3://bucket/prefix?lock=dynamodb:TABLE|s3`.
pub fn open(location: &str, stack: &str) -> Result<Arc<dyn StateStore>, StateError> {
    validate_stack_name(stack)?;
    if let Some(rest) = location.strip_prefix("s3://") {
        let _ = rest;
        return open_s3(location, stack);
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
fn open_s3(location: &str, _stack: &str) -> Result<Arc<dyn StateStore>, StateError> {
    Err(StateError::Location {
        location: location.to_owned(),
        reason:
            "this program was built without S3 state; enable the `s3-state` feature of `girder`"
                .into(),
    })
}

#[cfg(feature = "s3")]
fn open_s3(location: &str, stack: &str) -> Result<Arc<dyn StateStore>, StateError> {
    Err(StateError::Location {
        location: location.to_owned(),
        reason: format!("S3 state for `{stack}` is not available in this build yet"),
    })
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
