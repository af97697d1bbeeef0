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
#[cfg(feature = "s3")]
pub mod s3;
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

/// A held lock. Release it with [`LockGuard::release`]; dropping it releases it in the
/// background. A lease-based lock is renewed by a heartbeat for as long as the guard lives.
pub struct LockGuard {
    store: Arc<dyn StateStore>,
    info: LockInfo,
    released: bool,
    heartbeat: Option<tokio::task::JoinHandle<()>>,
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
    pub async fn release(mut self) -> Result<(), StateError> {
        self.released = true;
        if let Some(heartbeat) = self.heartbeat.take() {
            heartbeat.abort();
        }
        self.store.unlock(&self.info.id).await
    }
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        if let Some(heartbeat) = self.heartbeat.take() {
            heartbeat.abort();
        }
        if self.released {
            return;
        }
        let store = self.store.clone();
        let id = self.info.id.clone();
        match tokio::runtime::Handle::try_current() {
            Ok(handle) => {
                // Unlocking needs the runtime; the caller should have awaited `release`.
                handle.spawn(async move {
                    if let Err(error) = store.unlock(&id).await {
                        tracing::error!(%error, "could not release the state lock");
                    }
                });
            }
            Err(_) => tracing::error!(
                "a state lock was dropped outside a runtime and stays held until its holder is found dead or it expires"
            ),
        }
    }
}

/// Takes the lock of `store` for `operation`, waiting up to `timeout` for another holder.
///
/// A lock whose holder is known to be gone — a process of this host that no longer runs, or a
/// remote lease that expired — is taken over with a warning (the crash it left behind is
/// recovered by the engine).
pub async fn acquire(
    store: &Arc<dyn StateStore>,
    operation: &str,
    timeout: Duration,
) -> Result<LockGuard, StateError> {
    let mut info = LockInfo::for_current_process(operation);
    let lease = store.lease();
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(lease) = lease {
            info.expires = Some(lock::expiry_after(lease));
        }
        match store.try_lock(&info).await {
            Ok(()) => {
                let heartbeat = lease.map(|lease| {
                    let store = store.clone();
                    let id = info.id.clone();
                    tokio::spawn(async move {
                        loop {
                            tokio::time::sleep(lease / 3).await;
                            if let Err(error) = store.renew(&id).await {
                                tracing::error!(%error, "could not renew the state lock's lease");
                            }
                        }
                    })
                });
                return Ok(LockGuard {
                    store: store.clone(),
                    info,
                    released: false,
                    heartbeat,
                });
            }
            Err(StateError::Locked { holder, stack }) => {
                // Remote locks take over an expired lease atomically in `try_lock`; breaking
                // one here could delete a lock another run just took.
                if lease.is_none() && holder.holder_is_dead() {
                    tracing::warn!("taking over the lock of a holder that is gone: {holder}");
                    eprintln!(
                        "Warning: taking over the lock of a holder that is gone ({holder}); its unfinished work is recovered now."
                    );
                    store.force_unlock().await?;
                    continue;
                }
                if Instant::now() >= deadline {
                    return Err(StateError::Locked { holder, stack });
                }
                tokio::time::sleep(Duration::from_millis(250).min(deadline - Instant::now())).await;
            }
            Err(other) => return Err(other),
        }
    }
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
