//! Holding a stack's lock: the guard, the heartbeat that renews a remote lease, and the view
//! of the store through which the holder writes — which refuses every write once the lease may
//! have run out.
//!
//! A remote lock is a lease: other runs take it over once its expiry passes. A holder whose
//! renewals fail (the network, the lock table, a run that broke the lock) must therefore stop
//! writing before the lease it last secured runs out, or two runs could change one stack. The
//! guard keeps the time until which the last successful renewal secured the lock, measured on
//! the monotonic clock from the moment that renewal was sent, less a safety margin for clock
//! skew between machines; every journal write checks it first.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use girder_engine::state::{Journal, JournalError, Mutation, PendingOperation, Snapshot};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::lock::{self, LockInfo};
use crate::{Locker, StateError, StateStore, crypto};

/// A held lock. Release it with [`LockGuard::release`]; dropping it releases it in the
/// background. A lease-based lock is renewed by a heartbeat for as long as the guard lives.
///
/// Write through [`LockGuard::store`]: for a lease-based lock it refuses every write once the
/// lease may have run out, and [`LockGuard::lost`] is cancelled at that moment so the caller
/// can stop starting work.
pub struct LockGuard {
    store: Arc<dyn StateStore>,
    info: LockInfo,
    released: bool,
    heartbeat: Option<tokio::task::JoinHandle<()>>,
    lease: Option<Arc<LeaseWatch>>,
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

    /// The store as the holder must write to it: for a lease-based lock, every write first
    /// checks that the lease still holds and fails with [`StateError::LockLost`] otherwise.
    pub fn store(&self) -> Arc<dyn StateStore> {
        match &self.lease {
            Some(lease) => Arc::new(LeasedStore {
                inner: self.store.clone(),
                lease: lease.clone(),
            }),
            None => self.store.clone(),
        }
    }

    /// Cancelled when the lock is lost (a lease that could not be renewed in time, or a lock
    /// broken or taken by another run); never cancelled for a local lock.
    pub fn lost(&self) -> CancellationToken {
        match &self.lease {
            Some(lease) => lease.lost.clone(),
            None => CancellationToken::new(),
        }
    }

    /// Ok while the lock holds; [`StateError::LockLost`] with the reason once it is lost.
    pub fn check(&self) -> Result<(), StateError> {
        match &self.lease {
            Some(lease) => lease.check(),
            None => Ok(()),
        }
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
/// recovered by the engine). A remote lock is renewed by a heartbeat every third of its lease.
pub async fn acquire(
    store: &Arc<dyn StateStore>,
    operation: &str,
    timeout: Duration,
) -> Result<LockGuard, StateError> {
    let mut info = LockInfo::for_current_process(operation);
    let lease = store.lease();
    let deadline = std::time::Instant::now() + timeout;
    loop {
        let asked = Instant::now();
        if let Some(lease) = lease {
            info.expires = Some(lock::expiry_after(lease));
        }
        match store.try_lock(&info).await {
            Ok(()) => {
                let watch = lease
                    .map(|lease| Arc::new(LeaseWatch::new(store.stack().to_owned(), lease, asked)));
                let heartbeat = watch
                    .clone()
                    .map(|watch| tokio::spawn(heartbeat(store.clone(), info.id.clone(), watch)));
                return Ok(LockGuard {
                    store: store.clone(),
                    info,
                    released: false,
                    heartbeat,
                    lease: watch,
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
                let now = std::time::Instant::now();
                if now >= deadline {
                    return Err(StateError::Locked { holder, stack });
                }
                tokio::time::sleep(Duration::from_millis(250).min(deadline - now)).await;
            }
            Err(other) => return Err(other),
        }
    }
}

/// Renews the lease every third of it. A renewal that finds the lock gone or taken ends the
/// lock at once; one that fails otherwise (the network, throttling) is retried on the next
/// beat, and the lock is lost only when the lease it last secured has run out.
async fn heartbeat(store: Arc<dyn StateStore>, id: String, watch: Arc<LeaseWatch>) {
    loop {
        tokio::time::sleep(watch.lease / 3).await;
        let sent = Instant::now();
        match store.renew(&id).await {
            Ok(()) => watch.renewed(sent),
            Err(StateError::LockLost { reason, .. }) => {
                watch.lose(reason);
                return;
            }
            Err(error) => {
                tracing::warn!(%error, "could not renew the state lock's lease; retrying");
                if watch.check().is_err() {
                    return;
                }
            }
        }
    }
}

/// How long the last renewal secured the lock for, and whether it was lost.
#[derive(Debug)]
struct LeaseWatch {
    stack: String,
    lease: Duration,
    state: Mutex<LeaseState>,
    lost: CancellationToken,
}

#[derive(Debug)]
struct LeaseState {
    /// Writes are allowed strictly before this instant.
    valid_until: Instant,
    /// Why the lock was lost, once it was.
    lost: Option<String>,
}

impl LeaseWatch {
    /// The holder stops this much before its lease ends for others, so a clock running a
    /// little fast elsewhere cannot make two holders: a tenth of the lease, at most 5 s.
    fn margin(lease: Duration) -> Duration {
        (lease / 10).min(Duration::from_secs(5))
    }

    fn new(stack: String, lease: Duration, secured_at: Instant) -> LeaseWatch {
        LeaseWatch {
            stack,
            lease,
            state: Mutex::new(LeaseState {
                valid_until: secured_at + lease - LeaseWatch::margin(lease),
                lost: None,
            }),
            lost: CancellationToken::new(),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, LeaseState> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A renewal sent at `sent` succeeded: the record's expiry is `lease` after it.
    fn renewed(&self, sent: Instant) {
        let mut state = self.state();
        if state.lost.is_none() {
            let until = sent + self.lease - LeaseWatch::margin(self.lease);
            state.valid_until = state.valid_until.max(until);
        }
    }

    fn lose(&self, reason: String) {
        let mut state = self.state();
        if state.lost.is_none() {
            tracing::error!(stack = %self.stack, %reason, "lost the state lock");
            state.lost = Some(reason);
        }
        drop(state);
        self.lost.cancel();
    }

    /// Ok while the lock holds; the reason it was lost otherwise.
    fn check(&self) -> Result<(), StateError> {
        let mut state = self.state();
        if state.lost.is_none() && Instant::now() >= state.valid_until {
            let reason = format!(
                "its {} lease could not be renewed in time",
                humantime::format_duration(self.lease)
            );
            tracing::error!(stack = %self.stack, %reason, "lost the state lock");
            state.lost = Some(reason);
            self.lost.cancel();
        }
        match &state.lost {
            None => Ok(()),
            Some(reason) => Err(StateError::LockLost {
                stack: self.stack.clone(),
                reason: reason.clone(),
            }),
        }
    }
}

/// The store seen through a lease: reads pass, writes first check the lease.
struct LeasedStore {
    inner: Arc<dyn StateStore>,
    lease: Arc<LeaseWatch>,
}

impl LeasedStore {
    fn check(&self) -> Result<(), JournalError> {
        self.lease.check().map_err(JournalError::from)
    }
}

#[async_trait::async_trait]
impl Journal for LeasedStore {
    async fn begin(&self, operation: &PendingOperation) -> Result<(), JournalError> {
        self.check()?;
        self.inner.begin(operation).await
    }

    async fn commit(&self, operation_id: u64, mutations: &[Mutation]) -> Result<(), JournalError> {
        // A call that finished after the lock was lost stays pending: the next run recovers it
        // from the cloud instead of this run writing beside a new holder.
        self.check()?;
        self.inner.commit(operation_id, mutations).await
    }

    async fn record(&self, mutations: &[Mutation]) -> Result<(), JournalError> {
        self.check()?;
        self.inner.record(mutations).await
    }

    fn next_operation_id(&self) -> u64 {
        self.inner.next_operation_id()
    }
}

#[async_trait::async_trait]
impl Locker for LeasedStore {
    async fn try_lock(&self, info: &LockInfo) -> Result<(), StateError> {
        self.inner.try_lock(info).await
    }

    async fn unlock(&self, id: &str) -> Result<(), StateError> {
        self.inner.unlock(id).await
    }

    async fn current_lock(&self) -> Result<Option<LockInfo>, StateError> {
        self.inner.current_lock().await
    }

    async fn force_unlock(&self) -> Result<Option<LockInfo>, StateError> {
        self.inner.force_unlock().await
    }

    fn lease(&self) -> Option<Duration> {
        self.inner.lease()
    }

    async fn renew(&self, id: &str) -> Result<(), StateError> {
        self.inner.renew(id).await
    }
}

#[async_trait::async_trait]
impl StateStore for LeasedStore {
    async fn load(&self) -> Result<Snapshot, StateError> {
        self.inner.load().await
    }

    async fn load_sealed(&self) -> Result<Snapshot, StateError> {
        self.inner.load_sealed().await
    }

    async fn write_snapshot(&self, snapshot: &Snapshot) -> Result<(), StateError> {
        self.lease.check()?;
        self.inner.write_snapshot(snapshot).await
    }

    async fn backup(&self) -> Result<(), StateError> {
        self.lease.check()?;
        self.inner.backup().await
    }

    fn location(&self) -> String {
        self.inner.location()
    }

    fn stack(&self) -> &str {
        self.inner.stack()
    }

    fn secrets(&self) -> Result<&crypto::Crypter, StateError> {
        self.inner.secrets()
    }
}

#[cfg(test)]
mod tests;
