//! The embedded store: journaling, integrity, locking, backups, secrets at rest.

use std::sync::Arc;
use std::time::Duration;

use girder_core::{NodeKind, Value, object};
use girder_engine::ResourceIdentity;
use girder_engine::state::{Journal, Mutation, OperationKind, PendingOperation, ResourceState};
use girder_state::sqlite::SqliteStore;
use girder_state::{LockInfo, StateError, StateStore, acquire};

fn resource(name: &str, secret: Option<&str>) -> ResourceState {
    let mut inputs = object! { "size" => 1 };
    if let Some(secret) = secret {
        inputs
            .set(
                &"password".parse().unwrap(),
                Value::from(secret).into_secret(),
            )
            .unwrap();
    }
    ResourceState {
        name: name.into(),
        type_name: "sim:resource".into(),
        kind: NodeKind::Resource,
        id: format!("sim-{name}"),
        provider: None,
        outputs: inputs.clone(),
        inputs,
        dependencies: vec![],
        protect: false,
        retain_on_delete: false,
        tainted: false,
        creating: false,
        created_at: None,
        create_ms: None,
    }
}

fn pending(store: &SqliteStore, name: &str) -> PendingOperation {
    PendingOperation {
        id: store.next_operation_id(),
        kind: OperationKind::Create,
        identity: ResourceIdentity {
            stack: "dev".into(),
            name: name.into(),
            type_name: "sim:resource".into(),
        },
        provider: None,
        cloud_id: None,
        deposed_key: None,
        inputs: object! { "size" => 1 },
        dependencies: vec![],
        started_at: "2026-11-27T00:00:00Z".into(),
    }
}

#[tokio::test]
async fn journal_round_trip_survives_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path(), "dev").unwrap();
    let op = pending(&store, "a");
    store.begin(&op).await.unwrap();
    let reopened = SqliteStore::open(dir.path(), "dev")
        .unwrap()
        .load()
        .await
        .unwrap();
    assert_eq!(
        reopened.pending.len(),
        1,
        "a begun operation is durable before the call"
    );
    store
        .commit(
            op.id,
            &[Mutation::Upsert {
                resource: resource("a", None),
            }],
        )
        .await
        .unwrap();
    store
        .record(&[Mutation::SetOutputs {
            outputs: [("x".to_owned(), Value::from(1))].into(),
        }])
        .await
        .unwrap();
    store.commit(pending(&store, "b").id, &[]).await.unwrap();

    let snapshot = SqliteStore::open(dir.path(), "dev")
        .unwrap()
        .load()
        .await
        .unwrap();
    assert!(snapshot.pending.is_empty());
    assert_eq!(*snapshot.resources["a"], resource("a", None));
    assert_eq!(snapshot.outputs["x"], Value::from(1));
    assert_eq!(snapshot.serial, 3);
    assert!(!snapshot.lineage.is_empty());
    // Operation ids keep increasing across processes.
    let again = SqliteStore::open(dir.path(), "dev").unwrap();
    assert!(again.next_operation_id() > op.id);
}

#[tokio::test]
async fn deposed_objects_and_snapshot_rewrites() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path(), "dev").unwrap();
    store
        .record(&[Mutation::Upsert {
            resource: resource("a", None),
        }])
        .await
        .unwrap();
    store
        .record(&[
            Mutation::Depose {
                name: "a".into(),
                key: "k1".into(),
            },
            Mutation::Upsert {
                resource: resource("a", None),
            },
        ])
        .await
        .unwrap();
    let snapshot = store.load().await.unwrap();
    assert_eq!(snapshot.deposed.len(), 1);
    assert_eq!(snapshot.deposed[0].key, "k1");
    assert!(snapshot.resources.contains_key("a"));

    let other = tempfile::tempdir().unwrap();
    let copy = SqliteStore::open(other.path(), "dev").unwrap();
    copy.write_snapshot(&snapshot).await.unwrap();
    let copied = copy.load().await.unwrap();
    assert_eq!(copied.resources, snapshot.resources);
    assert_eq!(copied.deposed, snapshot.deposed);
    assert_eq!(copied.lineage, snapshot.lineage);
}

#[tokio::test]
async fn secrets_are_encrypted_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path(), "dev").unwrap();
    store
        .record(&[Mutation::Upsert {
            resource: resource("db", Some("hunter2-very-secret")),
        }])
        .await
        .unwrap();
    drop(store);
    let raw = std::fs::read(dir.path().join("dev.db")).unwrap();
    let wal = std::fs::read(dir.path().join("dev.db-wal")).unwrap_or_default();
    let needle = b"hunter2-very-secret";
    assert!(!raw.windows(needle.len()).any(|w| w == needle));
    assert!(!wal.windows(needle.len()).any(|w| w == needle));
    let loaded = SqliteStore::open(dir.path(), "dev")
        .unwrap()
        .load()
        .await
        .unwrap();
    assert_eq!(
        *loaded.resources["db"],
        resource("db", Some("hunter2-very-secret"))
    );
    assert!(
        dir.path().join("dev.key").exists(),
        "a generated key is kept next to the state"
    );
}

#[tokio::test]
async fn a_sealed_load_reads_the_records_without_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path(), "dev").unwrap();
    store
        .record(&[Mutation::Upsert {
            resource: resource("db", Some("hunter2-very-secret")),
        }])
        .await
        .unwrap();
    drop(store);
    // Without the key, `load` cannot open the secret, but the records are still readable.
    std::fs::remove_file(dir.path().join("dev.key")).unwrap();
    let sealed = SqliteStore::open(dir.path(), "dev")
        .unwrap()
        .load_sealed()
        .await
        .unwrap();
    let db = &sealed.resources["db"];
    assert_eq!(
        (db.id.as_str(), db.type_name.as_str()),
        ("sim-db", "sim:resource")
    );
    assert_eq!(db.inputs.get("size"), Some(&Value::from(1)));
    let password = db.inputs.get("password").unwrap();
    assert!(!format!("{password:?}").contains("hunter2"), "{password:?}");
    assert!(
        password.get(girder_state::crypto::ENCRYPTED_KEY).is_some(),
        "{password:?}"
    );
    assert!(
        !dir.path().join("dev.key").exists(),
        "a sealed load generates no key"
    );
}

#[tokio::test]
async fn a_hand_edited_record_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path(), "dev").unwrap();
    store
        .record(&[Mutation::Upsert {
            resource: resource("a", None),
        }])
        .await
        .unwrap();
    drop(store);
    let connection = rusqlite::Connection::open(dir.path().join("dev.db")).unwrap();
    connection
        .execute(
            "UPDATE resources SET body = replace(body, 'sim-a', 'sim-z')",
            [],
        )
        .unwrap();
    drop(connection);
    let error = SqliteStore::open(dir.path(), "dev")
        .unwrap()
        .load()
        .await
        .unwrap_err();
    let text = error.to_string();
    assert!(matches!(error, StateError::Corrupt { .. }), "{text}");
    assert!(
        text.contains("does not match its checksum") && text.contains("dev.db.backup"),
        "{text}"
    );
}

#[tokio::test]
async fn a_damaged_file_is_refused_with_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("dev.db"), b"this is not a database at all, just text....................................................................................").unwrap();
    let error = SqliteStore::open(dir.path(), "dev")
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("corrupted") && error.contains("fix: restore"),
        "{error}"
    );
}

#[tokio::test]
async fn a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    drop(SqliteStore::open(dir.path(), "dev").unwrap());
    let connection = rusqlite::Connection::open(dir.path().join("dev.db")).unwrap();
    connection
        .execute_batch("PRAGMA user_version = 99")
        .unwrap();
    drop(connection);
    let error = SqliteStore::open(dir.path(), "dev").unwrap_err();
    assert!(
        matches!(error, StateError::TooNew { found: 99, .. }),
        "{error}"
    );
}

#[tokio::test]
async fn backups_keep_the_previous_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path(), "dev").unwrap();
    store
        .record(&[Mutation::Upsert {
            resource: resource("a", None),
        }])
        .await
        .unwrap();
    store.backup().await.unwrap();
    store
        .record(&[Mutation::Remove { name: "a".into() }])
        .await
        .unwrap();
    let backup = tempfile::tempdir().unwrap();
    std::fs::copy(store.backup_path(), backup.path().join("dev.db")).unwrap();
    let old = SqliteStore::open(backup.path(), "dev")
        .unwrap()
        .load()
        .await
        .unwrap();
    assert!(old.resources.contains_key("a"));
    assert!(store.load().await.unwrap().resources.is_empty());
}

#[tokio::test]
async fn one_holder_at_a_time_and_the_refusal_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn StateStore> = Arc::new(SqliteStore::open(dir.path(), "dev").unwrap());
    let guard = acquire(&store, "apply", Duration::ZERO).await.unwrap();
    let other: Arc<dyn StateStore> = Arc::new(SqliteStore::open(dir.path(), "dev").unwrap());
    let error = acquire(&other, "destroy", Duration::from_millis(300))
        .await
        .unwrap_err();
    let text = error.to_string();
    assert!(
        text.contains("is locked: apply by")
            && text.contains(&format!("pid {}", std::process::id())),
        "{text}"
    );
    guard.release().await.unwrap();
    let again = acquire(&other, "destroy", Duration::ZERO).await.unwrap();
    assert_eq!(
        other.current_lock().await.unwrap().unwrap().operation,
        "destroy"
    );
    again.release().await.unwrap();
    assert!(other.current_lock().await.unwrap().is_none());
}

#[tokio::test]
async fn a_lock_left_by_a_dead_process_is_taken_over() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn StateStore> = Arc::new(SqliteStore::open(dir.path(), "dev").unwrap());
    let dead = LockInfo {
        pid: 4_000_000,
        ..LockInfo::for_current_process("apply")
    };
    store.try_lock(&dead).await.unwrap();
    let guard = acquire(&store, "apply", Duration::ZERO).await.unwrap();
    assert_ne!(guard.info().id, dead.id);
    // Explicit unlock of whatever is held.
    assert!(store.force_unlock().await.unwrap().is_some());
}

/// Calls that arrive while a journal transaction is being written share the next one (group
/// commit), and every record is in the file by the time its call returns.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn journal_calls_made_while_a_transaction_is_written_share_the_next() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(dir.path(), "dev").unwrap());
    let operations: Vec<PendingOperation> = (0..200)
        .map(|i| pending(&store, &format!("r{i}")))
        .collect();

    // Another writer holds the database (a slow disk, a `state` command): the first begin
    // waits in SQLite's busy handler while the other 199 queue behind it.
    let blocker = rusqlite::Connection::open(store.path()).unwrap();
    blocker.execute_batch("BEGIN IMMEDIATE").unwrap();
    let before = store.journal_transactions();
    let tasks: Vec<_> = operations
        .iter()
        .cloned()
        .map(|op| {
            let store = store.clone();
            tokio::spawn(async move { store.begin(&op).await })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    blocker.execute_batch("COMMIT").unwrap();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    let transactions = store.journal_transactions() - before;
    eprintln!("200 begins behind a held database: {transactions} transactions");
    assert!(
        transactions < 20,
        "{transactions} transactions for 200 begins"
    );
    // Durable once returned: another connection to the file sees every record.
    let reader = SqliteStore::open(dir.path(), "dev").unwrap();
    assert_eq!(reader.load().await.unwrap().pending.len(), 200);

    let commits: Vec<_> = operations
        .iter()
        .map(|op| {
            let (store, id, name) = (store.clone(), op.id, op.identity.name.clone());
            tokio::spawn(async move {
                let upsert = [Mutation::Upsert {
                    resource: resource(&name, None),
                }];
                store.commit(id, &upsert).await
            })
        })
        .collect();
    for task in commits {
        task.await.unwrap().unwrap();
    }
    let state = reader.load().await.unwrap();
    assert!(state.pending.is_empty());
    assert_eq!(state.resources.len(), 200);
    // Each journal call still counts once in the serial, grouped or not.
    assert_eq!(state.serial, 200);

    // A call to an idle journal is a transaction of its own, durable when it returns.
    let alone = pending(&store, "alone");
    let before = store.journal_transactions();
    store.begin(&alone).await.unwrap();
    assert_eq!(store.journal_transactions() - before, 1);
    assert!(
        reader
            .load()
            .await
            .unwrap()
            .pending
            .iter()
            .any(|p| p.id == alone.id)
    );
}

/// One failing write does not fail the calls grouped with it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_write_fails_only_its_own_call() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(dir.path(), "dev").unwrap());
    let first = pending(&store, "a");
    store.begin(&first).await.unwrap();
    let (second, third) = (pending(&store, "b"), pending(&store, "c"));
    let blocker = rusqlite::Connection::open(store.path()).unwrap();
    blocker.execute_batch("BEGIN IMMEDIATE").unwrap();
    // The same operation id again (its insert violates the primary key) between two others.
    let tasks: Vec<_> = [second, first, third]
        .into_iter()
        .map(|op| {
            let store = store.clone();
            tokio::spawn(async move { store.begin(&op).await })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    blocker.execute_batch("COMMIT").unwrap();
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.unwrap());
    }
    assert!(results[0].is_ok() && results[2].is_ok(), "{results:?}");
    assert!(results[1].is_err(), "the duplicate must fail");
    let ids: Vec<u64> = store
        .load()
        .await
        .unwrap()
        .pending
        .iter()
        .map(|p| p.id)
        .collect();
    assert_eq!(ids.len(), 3, "{ids:?}");
}
