//! Group commit: journal writes that arrive while a transaction is being written share the
//! next one.
//!
//! An apply begins and finishes many provider calls at the same moment — a hundred actions
//! become ready when the VPC is created, and each call is journaled before it is made. With
//! one transaction per record, the writers line up behind the connection and a busy disk
//! becomes the apply's bottleneck. Here a writer that finds no transaction in progress writes
//! at once (no added latency when the journal is idle); writers that arrive meanwhile queue, and
//! when the transaction ends the same writer writes everything queued in one more transaction.
//! The slower the disk, the larger the groups. Every writer still returns only once its own
//! record is committed, so a call is still recorded before it is made and its result before
//! anything that depends on it runs; only the number of transactions changes.
//!
//! (Waiting a moment for more writers before the first transaction — a yield — groups more
//! when the journal is idle, but measured slower end to end on the layered DAG at 100 ms per
//! call: every call then waits for a scheduler round before it is made.)

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use tokio::sync::oneshot;

use crate::StateError;

/// How a group's writes are made durable: one result per write, in order.
pub(crate) type Flush<'a, W> = &'a (dyn Fn(Vec<W>) -> Vec<Result<(), StateError>> + Sync);

/// A write waiting for its group, and where its result goes.
type Queued<W> = (W, oneshot::Sender<Result<(), StateError>>);

/// The writes waiting for the next transaction.
pub(crate) struct GroupCommit<W> {
    location: String,
    queue: Mutex<Vec<Queued<W>>>,
    /// Whether a writer is writing the queue.
    leading: AtomicBool,
    groups: AtomicU64,
}

impl<W: Send> GroupCommit<W> {
    /// An empty queue for the journal at `location` (named in the unlikely error of a write
    /// that got no answer).
    pub(crate) fn new(location: String) -> GroupCommit<W> {
        GroupCommit {
            location,
            queue: Mutex::new(Vec::new()),
            leading: AtomicBool::new(false),
            groups: AtomicU64::new(0),
        }
    }

    /// How many groups have been written (each one transaction, unless one of its writes
    /// failed and the rest were retried alone).
    pub(crate) fn groups(&self) -> u64 {
        self.groups.load(Ordering::Relaxed)
    }

    /// Writes queued and not yet taken by a transaction (tests watch groups form).
    #[cfg(test)]
    fn queued(&self) -> usize {
        self.lock().len()
    }

    /// Queues `write`, writes the queue if no one is writing, and returns once `write` is
    /// committed.
    pub(crate) async fn submit(&self, write: W, flush: Flush<'_, W>) -> Result<(), StateError> {
        let (sender, receiver) = oneshot::channel();
        self.lock().push((write, sender));
        if !self.leading.swap(true, Ordering::AcqRel) {
            // No transaction in progress: write now, with whatever else is queued by then.
            self.flush_queued(flush);
        }
        receiver.await.unwrap_or_else(|_| {
            Err(StateError::Storage {
                location: self.location.clone(),
                message: "a journal write got no answer from its group (its writer panicked)"
                    .into(),
            })
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Queued<W>>> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Writes what is queued, group after group, until the queue is empty. Synchronous: no
    /// await while writing, so no cancelled task can leave a group unwritten.
    fn flush_queued(&self, flush: Flush<'_, W>) {
        loop {
            let batch = std::mem::take(&mut *self.lock());
            if batch.is_empty() {
                self.leading.store(false, Ordering::Release);
                // A write queued between the take and the store saw a writer at work and
                // waits: write again, unless another writer already does.
                if self.lock().is_empty() || self.leading.swap(true, Ordering::AcqRel) {
                    return;
                }
                continue;
            }
            let (writes, senders): (Vec<W>, Vec<_>) = batch.into_iter().unzip();
            let results = flush(writes);
            self.groups.fetch_add(1, Ordering::Relaxed);
            for (sender, result) in senders.into_iter().zip(results) {
                // A writer that stopped waiting (its task was cancelled) needs no answer.
                let _ = sender.send(result);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    type Written = Arc<Mutex<Vec<Vec<u32>>>>;

    /// A flush that records its groups; the first one holds its transaction until `hold`
    /// writes are queued behind it (a slow disk), or a generous deadline passes.
    fn recording(
        written: Written,
        group: Arc<GroupCommit<u32>>,
        hold: usize,
    ) -> impl Fn(Vec<u32>) -> Vec<Result<(), StateError>> + Sync {
        move |writes: Vec<u32>| {
            let first = written.lock().unwrap().is_empty();
            let deadline = Instant::now() + Duration::from_secs(60);
            while first && group.queued() < hold && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(1));
            }
            let results = writes.iter().map(|_| Ok(())).collect();
            written.lock().unwrap().push(writes);
            results
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn writes_that_arrive_during_a_transaction_share_the_next() {
        let group = Arc::new(GroupCommit::new("test".into()));
        let written: Written = Arc::default();
        let tasks: Vec<_> = (0..50u32)
            .map(|i| {
                let (group, written) = (group.clone(), written.clone());
                tokio::spawn(async move {
                    let flush = recording(written, group.clone(), 49);
                    group.submit(i, &flush).await
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap().unwrap();
        }
        let groups = written.lock().unwrap().clone();
        // The first write alone (nothing was queued yet), the other 49 together.
        assert_eq!(groups.len(), 2, "{groups:?}");
        assert_eq!((groups[0].len(), groups[1].len()), (1, 49));
        assert_eq!(group.groups(), 2);
    }

    #[tokio::test]
    async fn a_write_to_an_idle_journal_is_written_at_once() {
        let group = Arc::new(GroupCommit::new("test".into()));
        let written: Written = Arc::default();
        let flush = recording(written.clone(), group.clone(), 0);
        for i in 0..3 {
            group.submit(i, &flush).await.unwrap();
        }
        assert_eq!(*written.lock().unwrap(), vec![vec![0], vec![1], vec![2]]);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_write_is_answered_exactly_once_under_contention() {
        let group = Arc::new(GroupCommit::new("test".into()));
        let written: Written = Arc::default();
        let tasks: Vec<_> = (0..400u32)
            .map(|i| {
                let (group, written) = (group.clone(), written.clone());
                tokio::spawn(async move {
                    let flush = recording(written, group.clone(), 0);
                    group.submit(i, &flush).await
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap().unwrap();
        }
        let mut all: Vec<u32> = written.lock().unwrap().concat();
        all.sort_unstable();
        assert_eq!(all, (0..400).collect::<Vec<_>>());
    }
}
