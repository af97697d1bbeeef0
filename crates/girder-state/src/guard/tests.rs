//! The lease as the holder sees it, in tokio's virtual time: renewals keep it across many
//! lease lengths, failed renewals end it when the last secured lease runs out, and a lock
//! taken by another run ends it at once. Every write after that is refused.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};

use girder_engine::state::MemoryJournal;

use super::*;

/// What the next renewals answer.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Renewals {
    Succeed,
    FailTransiently,
    FindTheLockTaken,
}

/// A lease-based store kept in memory, whose renewals answer as told.
struct FakeRemote {
    journal: MemoryJournal,
    lease: Duration,
    renewals: Mutex<Renewals>,
    renewed: AtomicU32,
    crypter: crypto::Crypter,
}

impl FakeRemote {
    fn new(lease: Duration) -> Arc<FakeRemote> {
        Arc::new(FakeRemote {
            journal: MemoryJournal::new(Snapshot::default()),
            lease,
            renewals: Mutex::new(Renewals::Succeed),
            renewed: AtomicU32::new(0),
            crypter: crypto::Crypter::from_key([7; 32]),
        })
    }

    fn answer(&self, renewals: Renewals) {
        *self.renewals.lock().unwrap() = renewals;
    }
}

#[async_trait::async_trait]
impl Journal for FakeRemote {
    async fn begin(&self, operation: &PendingOperation) -> Result<(), JournalError> {
        self.journal.begin(operation).await
    }
    async fn commit(&self, operation_id: u64, mutations: &[Mutation]) -> Result<(), JournalError> {
        self.journal.commit(operation_id, mutations).await
    }
    async fn record(&self, mutations: &[Mutation]) -> Result<(), JournalError> {
        self.journal.record(mutations).await
    }
    fn next_operation_id(&self) -> u64 {
        self.journal.next_operation_id()
    }
}

#[async_trait::async_trait]
impl Locker for FakeRemote {
    async fn try_lock(&self, _info: &LockInfo) -> Result<(), StateError> {
        Ok(())
    }
    async fn unlock(&self, _id: &str) -> Result<(), StateError> {
        Ok(())
    }
    async fn current_lock(&self) -> Result<Option<LockInfo>, StateError> {
        Ok(None)
    }
    async fn force_unlock(&self) -> Result<Option<LockInfo>, StateError> {
        Ok(None)
    }
    fn lease(&self) -> Option<Duration> {
        Some(self.lease)
    }
    async fn renew(&self, _id: &str) -> Result<(), StateError> {
        let answer = *self.renewals.lock().unwrap();
        match answer {
            Renewals::Succeed => {
                self.renewed.fetch_add(1, Ordering::SeqCst);
                Ok(())
            }
            Renewals::FailTransiently => Err(StateError::Storage {
                location: "fake".into(),
                message: "renewing the lock's lease: connection reset".into(),
            }),
            Renewals::FindTheLockTaken => Err(StateError::LockLost {
                stack: "dev".into(),
                reason: "another run holds it now".into(),
            }),
        }
    }
}

#[async_trait::async_trait]
impl StateStore for FakeRemote {
    async fn load(&self) -> Result<Snapshot, StateError> {
        Ok(self.journal.snapshot())
    }
    async fn write_snapshot(&self, _snapshot: &Snapshot) -> Result<(), StateError> {
        Ok(())
    }
    async fn backup(&self) -> Result<(), StateError> {
        Ok(())
    }
    fn location(&self) -> String {
        "fake://state".into()
    }
    fn stack(&self) -> &str {
        "dev"
    }
    fn secrets(&self) -> Result<&crypto::Crypter, StateError> {
        Ok(&self.crypter)
    }
}

async fn write(store: &Arc<dyn StateStore>) -> Result<(), JournalError> {
    store.record(&[]).await
}

async fn hold(remote: &Arc<FakeRemote>) -> LockGuard {
    let store: Arc<dyn StateStore> = remote.clone();
    acquire(&store, "apply", Duration::ZERO).await.unwrap()
}

#[tokio::test(start_paused = true)]
async fn the_heartbeat_keeps_the_lock_across_many_leases() {
    let remote = FakeRemote::new(Duration::from_secs(3));
    let guard = hold(&remote).await;
    let store = guard.store();
    for _ in 0..10 {
        tokio::time::sleep(Duration::from_secs(2)).await;
        write(&store).await.expect("the renewed lease still holds");
    }
    // 20 s at one renewal per second: every beat renewed.
    assert!(remote.renewed.load(Ordering::SeqCst) >= 19);
    assert!(!guard.lost().is_cancelled());
}

#[tokio::test(start_paused = true)]
async fn failed_renewals_end_the_lock_when_the_secured_lease_runs_out() {
    let lease = Duration::from_secs(30);
    let remote = FakeRemote::new(lease);
    let guard = hold(&remote).await;
    let store = guard.store();
    // Renewed at 10 s, then every renewal fails: the lock is secured until 10 + 30 s, less the
    // 3 s margin.
    tokio::time::sleep(Duration::from_secs(11)).await;
    remote.answer(Renewals::FailTransiently);
    tokio::time::sleep(Duration::from_secs(25)).await; // 36 s
    write(&store).await.expect("still inside the secured lease");
    assert!(!guard.lost().is_cancelled());
    tokio::time::sleep(Duration::from_secs(2)).await; // 38 s > 37 s
    let refused = write(&store).await.unwrap_err();
    assert!(
        refused.to_string().contains("lost") && refused.to_string().contains("renewed in time"),
        "{refused}"
    );
    assert!(guard.lost().is_cancelled(), "the holder is told to stop");
    // A renewal that works again does not resurrect the lock: another run may have it.
    remote.answer(Renewals::Succeed);
    tokio::time::sleep(Duration::from_secs(30)).await;
    assert!(write(&store).await.is_err());
}

#[tokio::test(start_paused = true)]
async fn a_lock_taken_by_another_run_ends_at_the_next_beat() {
    let remote = FakeRemote::new(Duration::from_secs(60));
    let guard = hold(&remote).await;
    let store = guard.store();
    write(&store).await.unwrap();
    let written = remote.journal.writes();
    remote.answer(Renewals::FindTheLockTaken);
    tokio::time::timeout(Duration::from_secs(21), guard.lost().cancelled())
        .await
        .expect("the first beat after the takeover ends the lock");
    let refused = write(&store).await.unwrap_err();
    assert!(
        refused.to_string().contains("another run holds it now"),
        "{refused}"
    );
    for refused in [
        store
            .begin(&sample_operation())
            .await
            .unwrap_err()
            .to_string(),
        store.commit(1, &[]).await.unwrap_err().to_string(),
        store.backup().await.unwrap_err().to_string(),
    ] {
        assert!(refused.contains("was lost"), "{refused}");
    }
    assert_eq!(
        remote.journal.writes(),
        written,
        "nothing written after the loss"
    );
}

#[tokio::test(start_paused = true)]
async fn a_local_lock_has_no_lease_to_lose() {
    let dir = tempfile::TempDir::new().unwrap();
    let store: Arc<dyn StateStore> =
        Arc::new(crate::sqlite::SqliteStore::open(dir.path().to_str().unwrap(), "dev").unwrap());
    let guard = acquire(&store, "apply", Duration::ZERO).await.unwrap();
    assert!(!guard.lost().is_cancelled());
    assert!(Arc::ptr_eq(&guard.store(), &store));
    guard.release().await.unwrap();
}

fn sample_operation() -> PendingOperation {
    PendingOperation {
        id: 1,
        kind: girder_engine::state::OperationKind::Create,
        identity: girder_engine::provider::ResourceIdentity {
            stack: "dev".into(),
            name: "a".into(),
            type_name: "sim:resource".into(),
        },
        provider: None,
        cloud_id: None,
        deposed_key: None,
        inputs: girder_core::Value::Null,
        dependencies: Vec::new(),
        started_at: "2026-12-02T00:00:00Z".into(),
    }
}
