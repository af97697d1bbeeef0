//! The embedded state store: one SQLite database per stack, `<dir>/<stack>.db`.
//!
//! Journal calls are small transactions (WAL, `synchronous=NORMAL`: durable against a killed
//! process, and consistent after a power loss); calls made while a transaction is being written
//! share the next one (group commit), and each returns once its own record is committed. Rows
//! carry a checksum of their body so a damaged or hand-edited state is refused with a clear
//! message instead of being half-read.
//! Before every mutating operation the database is copied to `<stack>.db.backup`.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

use girder_core::Value;
use girder_engine::state::{
    DeposedResource, Journal, JournalError, Mutation, PendingOperation, ResourceState, Snapshot,
};
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

use crate::crypto::{Crypter, ENCRYPTED_KEY};
use crate::group_commit::GroupCommit;
use crate::lock::LockInfo;
use crate::{Locker, StateError, StateStore};

/// The newest schema version this build reads and writes.
pub const SCHEMA_VERSION: i64 = 1;

/// Schema migrations: entry `i` upgrades version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &["
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE resources (name TEXT PRIMARY KEY, body TEXT NOT NULL, checksum TEXT NOT NULL);
    CREATE TABLE deposed (seq INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL UNIQUE,
                          body TEXT NOT NULL, checksum TEXT NOT NULL);
    CREATE TABLE pending (id INTEGER PRIMARY KEY, body TEXT NOT NULL, checksum TEXT NOT NULL);
    CREATE TABLE outputs (name TEXT PRIMARY KEY, body TEXT NOT NULL, checksum TEXT NOT NULL);
    CREATE TABLE lock (id INTEGER PRIMARY KEY CHECK (id = 1), info TEXT NOT NULL);
"];

/// The embedded SQLite state store of one stack.
pub struct SqliteStore {
    path: PathBuf,
    stack: String,
    connection: Mutex<Connection>,
    journal: GroupCommit<JournalWrite>,
    next_operation: AtomicU64,
    salt: Vec<u8>,
    crypter: OnceLock<Crypter>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .field("stack", &self.stack)
            .finish_non_exhaustive()
    }
}

fn checksum(body: &str) -> String {
    hex::encode(&Sha256::digest(body.as_bytes())[..16])
}

impl SqliteStore {
    /// Opens (creating if needed) the state of `stack` in directory `dir`.
    pub fn open(dir: impl AsRef<Path>, stack: &str) -> Result<SqliteStore, StateError> {
        let dir = dir.as_ref();
        std::fs::create_dir_all(dir).map_err(|e| StateError::Location {
            location: dir.display().to_string(),
            reason: format!("cannot create the state directory: {e}"),
        })?;
        let path = dir.join(format!("{stack}.db"));
        let location = path.display().to_string();
        let corrupt = |detail: String| StateError::Corrupt {
            location: location.clone(),
            detail,
            fix: format!(
                "restore the previous state from {}.backup (copy it over the damaged file), then run `refresh`",
                path.display()
            ),
        };
        let connection = Connection::open(&path).map_err(|e| corrupt(e.to_string()))?;
        let setup = connection.execute_batch(
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; PRAGMA busy_timeout=10000;",
        );
        if let Err(e) = setup {
            return Err(corrupt(e.to_string()));
        }
        let check: String = connection
            .query_row("PRAGMA quick_check", [], |row| row.get(0))
            .map_err(|e| corrupt(e.to_string()))?;
        if check != "ok" {
            return Err(corrupt(format!("SQLite integrity check: {check}")));
        }
        migrate(&connection, &location)?;

        let storage = |e: rusqlite::Error| StateError::Storage {
            location: location.clone(),
            message: e.to_string(),
        };
        let meta = |key: &str| -> Result<Option<String>, StateError> {
            connection
                .query_row("SELECT value FROM meta WHERE key = ?1", [key], |row| {
                    row.get(0)
                })
                .optional()
                .map_err(storage)
        };
        match meta("stack")? {
            Some(recorded) if recorded != stack => {
                return Err(corrupt(format!(
                    "the file records stack `{recorded}`, not `{stack}`"
                )));
            }
            Some(_) => {}
            None => {
                let salt: [u8; 16] = rand::random();
                connection
                    .execute_batch(&format!(
                        "INSERT INTO meta VALUES ('stack', '{stack}'), ('lineage', '{}'), ('serial', '0'), ('next_operation', '1'), ('salt', '{}')",
                        uuid::Uuid::new_v4(),
                        hex::encode(salt)
                    ))
                    .map_err(storage)?;
            }
        }
        let next_operation = meta("next_operation")?
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| corrupt("the operation counter is missing".into()))?;
        let salt = meta("salt")?
            .and_then(|v| hex::decode(v).ok())
            .ok_or_else(|| corrupt("the key salt is missing".into()))?;
        Ok(SqliteStore {
            journal: GroupCommit::new(location),
            path,
            stack: stack.to_owned(),
            connection: Mutex::new(connection),
            next_operation: AtomicU64::new(next_operation),
            salt,
            crypter: OnceLock::new(),
        })
    }

    /// Journal transactions written so far (one per group of journal calls made while the
    /// previous transaction was being written), for tests and benchmarks.
    pub fn journal_transactions(&self) -> u64 {
        self.journal.groups()
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The backup file.
    pub fn backup_path(&self) -> PathBuf {
        self.path.with_extension("db.backup")
    }

    fn connection(&self) -> std::sync::MutexGuard<'_, Connection> {
        // SQLite rolls back an unfinished transaction itself; the connection stays usable.
        self.connection.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn storage(&self, e: impl std::fmt::Display) -> StateError {
        StateError::Storage {
            location: self.path.display().to_string(),
            message: e.to_string(),
        }
    }

    fn corrupt(&self, detail: String) -> StateError {
        StateError::Corrupt {
            location: self.path.display().to_string(),
            detail,
            fix: format!(
                "restore the previous state from {} (copy it over the damaged file), then run `refresh`",
                self.backup_path().display()
            ),
        }
    }

    fn crypter(&self) -> Result<&Crypter, StateError> {
        if let Some(crypter) = self.crypter.get() {
            return Ok(crypter);
        }
        let key_file = self.path.with_extension("key");
        let (crypter, _) = Crypter::from_environment(&self.salt, &key_file)?;
        Ok(self.crypter.get_or_init(|| crypter))
    }

    fn seal_value(&self, value: &Value) -> Result<Value, StateError> {
        if value.contains_secret() {
            self.crypter()?.seal(value)
        } else {
            Ok(value.clone())
        }
    }

    fn open_value(&self, value: Value) -> Result<Value, StateError> {
        if contains_encrypted(&value) {
            self.crypter()?.open(&value)
        } else {
            Ok(value)
        }
    }

    fn encode_resource(&self, resource: &ResourceState) -> Result<String, StateError> {
        let sealed = ResourceState {
            inputs: self.seal_value(&resource.inputs)?,
            outputs: self.seal_value(&resource.outputs)?,
            ..resource.clone()
        };
        serde_json::to_string(&sealed).map_err(|e| self.storage(e))
    }

    /// Decodes a resource record; with `open`, its secrets are decrypted, otherwise they stay
    /// sealed (no key needed).
    fn decode_resource(&self, body: &str, open: bool) -> Result<ResourceState, StateError> {
        let resource: ResourceState = self.decode(body)?;
        if !open {
            return Ok(resource);
        }
        Ok(ResourceState {
            inputs: self.open_value(resource.inputs.clone())?,
            outputs: self.open_value(resource.outputs.clone())?,
            ..resource
        })
    }

    /// Opens sealed secrets in `value` when `open`; leaves them sealed otherwise.
    fn open_value_if(&self, value: Value, open: bool) -> Result<Value, StateError> {
        if open {
            self.open_value(value)
        } else {
            Ok(value)
        }
    }

    fn decode<T: DeserializeOwned>(&self, body: &str) -> Result<T, StateError> {
        serde_json::from_str(body)
            .map_err(|e| self.corrupt(format!("a record does not parse: {e}")))
    }

    fn encode<T: Serialize>(&self, value: &T) -> Result<String, StateError> {
        serde_json::to_string(value).map_err(|e| self.storage(e))
    }

    fn apply_mutation(
        &self,
        tx: &rusqlite::Transaction<'_>,
        mutation: &Mutation,
    ) -> Result<(), StateError> {
        let storage = |e: rusqlite::Error| self.storage(e);
        match mutation {
            Mutation::Upsert { resource } => {
                let body = self.encode_resource(resource)?;
                tx.execute(
                    "INSERT OR REPLACE INTO resources (name, body, checksum) VALUES (?1, ?2, ?3)",
                    params![resource.name, body, checksum(&body)],
                )
                .map_err(storage)?;
            }
            Mutation::Remove { name } => {
                tx.execute("DELETE FROM resources WHERE name = ?1", [name])
                    .map_err(storage)?;
            }
            Mutation::Depose { name, key } => {
                let body: Option<String> = tx
                    .query_row("SELECT body FROM resources WHERE name = ?1", [name], |r| {
                        r.get(0)
                    })
                    .optional()
                    .map_err(storage)?;
                if let Some(resource_body) = body {
                    let deposed = format!(
                        "{{\"key\":{},\"resource\":{resource_body}}}",
                        serde_json::Value::String(key.clone())
                    );
                    tx.execute(
                        "INSERT OR REPLACE INTO deposed (key, body, checksum) VALUES (?1, ?2, ?3)",
                        params![key, deposed, checksum(&deposed)],
                    )
                    .map_err(storage)?;
                    tx.execute("DELETE FROM resources WHERE name = ?1", [name])
                        .map_err(storage)?;
                }
            }
            Mutation::RemoveDeposed { key } => {
                tx.execute("DELETE FROM deposed WHERE key = ?1", [key])
                    .map_err(storage)?;
            }
            Mutation::SetOutputs { outputs } => {
                tx.execute("DELETE FROM outputs", []).map_err(storage)?;
                for (name, value) in outputs {
                    let body = self.encode(&self.seal_value(value)?)?;
                    tx.execute(
                        "INSERT INTO outputs (name, body, checksum) VALUES (?1, ?2, ?3)",
                        params![name, body, checksum(&body)],
                    )
                    .map_err(storage)?;
                }
            }
        }
        Ok(())
    }

    fn bump_serial(&self, tx: &rusqlite::Transaction<'_>) -> Result<(), StateError> {
        tx.execute(
            "UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'serial'",
            [],
        )
        .map_err(|e| self.storage(e))?;
        Ok(())
    }

    fn write(
        &self,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<(), StateError>,
    ) -> Result<(), StateError> {
        let mut connection = self.connection();
        let tx = connection.transaction().map_err(|e| self.storage(e))?;
        f(&tx)?;
        tx.commit().map_err(|e| self.storage(e))
    }

    fn rows(
        &self,
        connection: &Connection,
        sql: &str,
    ) -> Result<Vec<(String, String, String)>, StateError> {
        let mut statement = connection.prepare(sql).map_err(|e| self.storage(e))?;
        let rows = statement
            .query_map([], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, String>(2)?,
                ))
            })
            .map_err(|e| self.storage(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.storage(e))?;
        for (key, body, sum) in &rows {
            if &checksum(body) != sum {
                return Err(self.corrupt(format!(
                    "the record `{key}` does not match its checksum (edited or damaged)"
                )));
            }
        }
        Ok(rows)
    }
}

fn contains_encrypted(value: &Value) -> bool {
    match value {
        Value::Object(map) => {
            map.contains_key(ENCRYPTED_KEY) || map.values().any(contains_encrypted)
        }
        Value::Array(items) => items.iter().any(contains_encrypted),
        _ => false,
    }
}

fn migrate(connection: &Connection, location: &str) -> Result<(), StateError> {
    let storage = |e: rusqlite::Error| StateError::Storage {
        location: location.to_owned(),
        message: e.to_string(),
    };
    let version: i64 = connection
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .map_err(storage)?;
    if version > SCHEMA_VERSION {
        return Err(StateError::TooNew {
            location: location.to_owned(),
            found: version,
            supported: SCHEMA_VERSION,
        });
    }
    for (from, migration) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        let to = from as i64 + 1;
        connection
            .execute_batch(&format!(
                "BEGIN; {migration} PRAGMA user_version = {to}; COMMIT;"
            ))
            .map_err(storage)?;
        tracing::info!(location, from, to, "migrated the state schema");
    }
    Ok(())
}

/// One journal call's write, owned so it can wait in its group.
enum JournalWrite {
    /// A call is about to be made (its sealed record).
    Begin { id: u64, body: String },
    /// A call finished: its record goes, its mutations are applied.
    Commit { id: u64, mutations: Vec<Mutation> },
    /// Mutations outside a call (recovery, re-recorded metadata).
    Record { mutations: Vec<Mutation> },
}

impl SqliteStore {
    fn apply_write(
        &self,
        tx: &rusqlite::Transaction<'_>,
        write: &JournalWrite,
    ) -> Result<(), StateError> {
        let storage = |e: rusqlite::Error| self.storage(e);
        match write {
            JournalWrite::Begin { id, body } => {
                tx.execute(
                    "INSERT INTO pending (id, body, checksum) VALUES (?1, ?2, ?3)",
                    params![*id as i64, body, checksum(body)],
                )
                .map_err(storage)?;
                tx.execute(
                    "UPDATE meta SET value = ?1 WHERE key = 'next_operation' AND CAST(value AS INTEGER) <= ?2",
                    params![(id + 1).to_string(), *id as i64],
                )
                .map_err(storage)?;
                Ok(())
            }
            JournalWrite::Commit { id, mutations } => {
                tx.execute("DELETE FROM pending WHERE id = ?1", [*id as i64])
                    .map_err(storage)?;
                for mutation in mutations {
                    self.apply_mutation(tx, mutation)?;
                }
                self.bump_serial(tx)
            }
            JournalWrite::Record { mutations } => {
                for mutation in mutations {
                    self.apply_mutation(tx, mutation)?;
                }
                self.bump_serial(tx)
            }
        }
    }

    /// Writes a group in one transaction. If one write fails it takes the transaction with it,
    /// so then each write is made alone and only the failing one reports an error.
    fn write_group(&self, writes: Vec<JournalWrite>) -> Vec<Result<(), StateError>> {
        let together = self.write(|tx| {
            for write in &writes {
                self.apply_write(tx, write)?;
            }
            Ok(())
        });
        match together {
            Ok(()) => writes.iter().map(|_| Ok(())).collect(),
            Err(error) if writes.len() == 1 => vec![Err(error)],
            Err(error) => {
                tracing::debug!(%error, writes = writes.len(), "a journal group failed; writing its records one by one");
                writes
                    .iter()
                    .map(|write| self.write(|tx| self.apply_write(tx, write)))
                    .collect()
            }
        }
    }
}

#[async_trait::async_trait]
impl Journal for SqliteStore {
    async fn begin(&self, operation: &PendingOperation) -> Result<(), JournalError> {
        let sealed = PendingOperation {
            inputs: self.seal_value(&operation.inputs)?,
            ..operation.clone()
        };
        let body = self.encode(&sealed)?;
        self.journal
            .submit(
                JournalWrite::Begin {
                    id: operation.id,
                    body,
                },
                &|writes| self.write_group(writes),
            )
            .await?;
        Ok(())
    }

    async fn commit(&self, operation_id: u64, mutations: &[Mutation]) -> Result<(), JournalError> {
        self.journal
            .submit(
                JournalWrite::Commit {
                    id: operation_id,
                    mutations: mutations.to_vec(),
                },
                &|writes| self.write_group(writes),
            )
            .await?;
        Ok(())
    }

    async fn record(&self, mutations: &[Mutation]) -> Result<(), JournalError> {
        if mutations.is_empty() {
            return Ok(());
        }
        self.journal
            .submit(
                JournalWrite::Record {
                    mutations: mutations.to_vec(),
                },
                &|writes| self.write_group(writes),
            )
            .await?;
        Ok(())
    }

    fn next_operation_id(&self) -> u64 {
        self.next_operation.fetch_add(1, Ordering::SeqCst)
    }
}

#[async_trait::async_trait]
impl Locker for SqliteStore {
    async fn try_lock(&self, info: &LockInfo) -> Result<(), StateError> {
        let mut connection = self.connection();
        let tx = connection
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(|e| self.storage(e))?;
        let held: Option<String> = tx
            .query_row("SELECT info FROM lock WHERE id = 1", [], |row| row.get(0))
            .optional()
            .map_err(|e| self.storage(e))?;
        if let Some(held) = held {
            let holder: LockInfo = self.decode(&held)?;
            return Err(StateError::Locked {
                stack: self.stack.clone(),
                holder: Box::new(holder),
            });
        }
        tx.execute(
            "INSERT INTO lock (id, info) VALUES (1, ?1)",
            [self.encode(info)?],
        )
        .map_err(|e| self.storage(e))?;
        tx.commit().map_err(|e| self.storage(e))
    }

    async fn unlock(&self, id: &str) -> Result<(), StateError> {
        let connection = self.connection();
        connection
            .execute(
                "DELETE FROM lock WHERE id = 1 AND json_extract(info, '$.id') = ?1",
                [id],
            )
            .map_err(|e| self.storage(e))?;
        Ok(())
    }

    async fn current_lock(&self) -> Result<Option<LockInfo>, StateError> {
        self.read_lock()
    }

    async fn force_unlock(&self) -> Result<Option<LockInfo>, StateError> {
        let held = self.read_lock()?;
        self.connection()
            .execute("DELETE FROM lock WHERE id = 1", [])
            .map_err(|e| self.storage(e))?;
        Ok(held)
    }
}

impl SqliteStore {
    fn read_lock(&self) -> Result<Option<LockInfo>, StateError> {
        let connection = self.connection();
        let held: Option<String> = connection
            .query_row("SELECT info FROM lock WHERE id = 1", [], |row| row.get(0))
            .optional()
            .map_err(|e| self.storage(e))?;
        held.map(|h| self.decode(&h)).transpose()
    }
}

#[async_trait::async_trait]
impl StateStore for SqliteStore {
    async fn load(&self) -> Result<Snapshot, StateError> {
        self.read_snapshot(true)
    }

    async fn load_sealed(&self) -> Result<Snapshot, StateError> {
        self.read_snapshot(false)
    }

    async fn write_snapshot(&self, snapshot: &Snapshot) -> Result<(), StateError> {
        self.backup_now()?;
        self.write(|tx| {
            let storage = |e: rusqlite::Error| self.storage(e);
            tx.execute_batch("DELETE FROM resources; DELETE FROM deposed; DELETE FROM pending; DELETE FROM outputs;")
                .map_err(storage)?;
            for resource in snapshot.resources.values() {
                self.apply_mutation(
                    tx,
                    &Mutation::Upsert {
                        resource: ResourceState::clone(resource),
                    },
                )?;
            }
            for deposed in &snapshot.deposed {
                let resource_body = self.encode_resource(&deposed.resource)?;
                let body = format!(
                    "{{\"key\":{},\"resource\":{resource_body}}}",
                    serde_json::Value::String(deposed.key.clone())
                );
                tx.execute(
                    "INSERT INTO deposed (key, body, checksum) VALUES (?1, ?2, ?3)",
                    params![deposed.key, body, checksum(&body)],
                )
                .map_err(storage)?;
            }
            for pending in &snapshot.pending {
                let sealed = PendingOperation { inputs: self.seal_value(&pending.inputs)?, ..pending.clone() };
                let body = self.encode(&sealed)?;
                tx.execute(
                    "INSERT INTO pending (id, body, checksum) VALUES (?1, ?2, ?3)",
                    params![pending.id as i64, body, checksum(&body)],
                )
                .map_err(storage)?;
            }
            self.apply_mutation(tx, &Mutation::SetOutputs { outputs: snapshot.outputs.clone() })?;
            tx.execute("UPDATE meta SET value = ?1 WHERE key = 'lineage'", [&snapshot.lineage])
                .map_err(storage)?;
            self.bump_serial(tx)
        })
    }

    async fn backup(&self) -> Result<(), StateError> {
        self.backup_now()
    }

    fn location(&self) -> String {
        self.path.display().to_string()
    }

    fn stack(&self) -> &str {
        &self.stack
    }

    fn secrets(&self) -> Result<&Crypter, StateError> {
        self.crypter()
    }
}

impl SqliteStore {
    /// Reads the snapshot; with `open`, secrets are decrypted, otherwise they stay sealed.
    fn read_snapshot(&self, open: bool) -> Result<Snapshot, StateError> {
        let connection = self.connection();
        let meta = |key: &str| -> Result<String, StateError> {
            connection
                .query_row("SELECT value FROM meta WHERE key = ?1", [key], |row| {
                    row.get(0)
                })
                .map_err(|e| self.corrupt(format!("`{key}` is missing: {e}")))
        };
        let mut snapshot = Snapshot {
            stack: meta("stack")?,
            lineage: meta("lineage")?,
            serial: meta("serial")?
                .parse()
                .map_err(|_| self.corrupt("the serial is not a number".into()))?,
            ..Snapshot::default()
        };
        for (_, body, _) in self.rows(
            &connection,
            "SELECT name, body, checksum FROM resources ORDER BY name",
        )? {
            let resource = self.decode_resource(&body, open)?;
            snapshot
                .resources
                .insert(resource.name.clone(), std::sync::Arc::new(resource));
        }
        for (_, body, _) in self.rows(
            &connection,
            "SELECT key, body, checksum FROM deposed ORDER BY seq",
        )? {
            let deposed: DeposedResource = self.decode(&body)?;
            let resource = self.decode_resource(
                &serde_json::to_string(&deposed.resource).map_err(|e| self.storage(e))?,
                open,
            )?;
            snapshot.deposed.push(DeposedResource {
                key: deposed.key,
                resource,
            });
        }
        for (_, body, _) in self.rows(
            &connection,
            "SELECT CAST(id AS TEXT), body, checksum FROM pending ORDER BY id",
        )? {
            let pending: PendingOperation = self.decode(&body)?;
            let inputs = self.open_value_if(pending.inputs.clone(), open)?;
            snapshot
                .pending
                .push(PendingOperation { inputs, ..pending });
        }
        for (name, body, _) in self.rows(
            &connection,
            "SELECT name, body, checksum FROM outputs ORDER BY name",
        )? {
            let value: Value = self.decode(&body)?;
            snapshot
                .outputs
                .insert(name, self.open_value_if(value, open)?);
        }
        Ok(snapshot)
    }

    /// Copies the database to the backup file.
    fn backup_now(&self) -> Result<(), StateError> {
        let backup = self.backup_path();
        let staging = self.path.with_extension("db.backup.tmp");
        let _ = std::fs::remove_file(&staging);
        self.connection()
            .execute("VACUUM INTO ?1", [staging.display().to_string()])
            .map_err(|e| self.storage(format!("cannot write the backup: {e}")))?;
        std::fs::rename(&staging, &backup)
            .map_err(|e| self.storage(format!("cannot keep the backup: {e}")))
    }
}
