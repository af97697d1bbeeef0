//! Team state in S3 (feature `s3`): `--state s3://BUCKET/PREFIX?lock=dynamodb:TABLE|s3`.
//!
//! Each stack has its own keys under `PREFIX/STACK/`:
//!
//! | key | what |
//! |---|---|
//! | `state.json` | the compacted snapshot and the journal position it includes |
//! | `journal/00000000000000000042.json` | one object per journal write (O(1) per step) |
//! | `state.backup.json` | the snapshot before the last compaction |
//! | `.lock` | the lock object (with `lock=s3`) |
//!
//! Every journal write is its own object created with `If-None-Match: *`, so a writer that
//! lost its lock cannot overwrite anything; loading reads `state.json` and applies the journal
//! objects after its position in order. Compaction — at the start of every mutating command,
//! under the lock — writes a new `state.json` and deletes the folded journal objects; with
//! bucket versioning on, every earlier version stays recoverable. Secrets are sealed with the
//! key derived from `GIRDER_PASSPHRASE` / `GIRDER_PASSPHRASE_FILE` (required for remote state:
//! a generated key file would not travel with it). `kms_key_id=` adds SSE-KMS to every object.

mod list;
mod location;
mod locks;

use std::sync::Arc;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::ServerSideEncryption;
use girder_core::Value;
use girder_engine::state::{Journal, JournalError, Mutation, PendingOperation, Snapshot};
use serde::{Deserialize, Serialize};

pub use list::list_stacks;
pub use location::{LockKind, S3Location};

use crate::crypto::Crypter;
use crate::{StateError, StateStore};

const STATE_FORMAT: &str = "girder-s3-state/1";

/// The compacted state object.
#[derive(Serialize, Deserialize)]
struct StateObject {
    format: String,
    stack: String,
    lineage: String,
    serial: u64,
    /// The last journal object folded into `snapshot`.
    journal_seq: u64,
    next_operation: u64,
    salt: String,
    snapshot: serde_json::Value,
}

/// One journal object.
#[derive(Serialize, Deserialize)]
#[serde(tag = "entry", rename_all = "snake_case")]
enum Entry {
    Begin {
        operation: Box<PendingOperation>,
    },
    Commit {
        operation: u64,
        mutations: Vec<Mutation>,
    },
    Record {
        mutations: Vec<Mutation>,
    },
}

/// A stack's state in S3.
pub struct S3Store {
    location: S3Location,
    stack: String,
    s3: aws_sdk_s3::Client,
    dynamodb: Option<aws_sdk_dynamodb::Client>,
    lineage: String,
    salt: Vec<u8>,
    next_seq: AtomicU64,
    next_operation: AtomicU64,
    crypter: OnceLock<Crypter>,
}

impl std::fmt::Debug for S3Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Store")
            .field("location", &self.location)
            .field("stack", &self.stack)
            .finish_non_exhaustive()
    }
}

fn aws_error<E: ProvideErrorMetadata + std::fmt::Debug>(
    what: &str,
    error: &aws_sdk_s3::error::SdkError<E>,
) -> String {
    match error.as_service_error() {
        Some(service) => format!(
            "{what}: {} ({})",
            service.message().unwrap_or("no message"),
            service.code().unwrap_or("no code")
        ),
        None => format!("{what}: {error}"),
    }
}

fn code<E: ProvideErrorMetadata>(error: &aws_sdk_s3::error::SdkError<E>) -> Option<&str> {
    error.as_service_error().and_then(|e| e.code())
}

/// The AWS configuration and S3 client for `location`.
async fn clients(location: &S3Location) -> (aws_config::SdkConfig, aws_sdk_s3::Client) {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    if let Some(region) = &location.region {
        loader = loader.region(aws_config::Region::new(region.clone()));
    }
    let config = loader.load().await;
    // A custom endpoint (an emulator, a private gateway) rarely resolves virtual-host
    // bucket names; use path-style addressing there.
    let custom_endpoint = std::env::var_os("AWS_ENDPOINT_URL").is_some()
        || std::env::var_os("AWS_ENDPOINT_URL_S3").is_some();
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&config)
            .force_path_style(custom_endpoint)
            .build(),
    );
    (config, s3)
}

impl S3Store {
    /// Opens (creating if needed) the state of `stack` at `url`.
    pub async fn open(url: &str, stack: &str) -> Result<S3Store, StateError> {
        let location = S3Location::parse(url)?;
        let (config, s3) = clients(&location).await;
        let dynamodb = match &location.lock {
            LockKind::DynamoDb { .. } => Some(aws_sdk_dynamodb::Client::new(&config)),
            LockKind::S3 => None,
        };
        let mut store = S3Store {
            location,
            stack: stack.to_owned(),
            s3,
            dynamodb,
            lineage: String::new(),
            salt: Vec::new(),
            next_seq: AtomicU64::new(1),
            next_operation: AtomicU64::new(1),
            crypter: OnceLock::new(),
        };
        let state = match store.read_state().await? {
            Some(state) => state,
            None => store.create_state().await?,
        };
        store.lineage = state.lineage.clone();
        store.salt = hex::decode(&state.salt)
            .map_err(|e| store.corrupt(format!("the key salt is damaged: {e}")))?;
        // Only the operation ids are needed here: the entries' secrets stay sealed.
        let (entries, last) = store.read_journal(state.journal_seq, false).await?;
        store.next_seq = AtomicU64::new(last.max(state.journal_seq) + 1);
        let highest = entries
            .iter()
            .filter_map(|(_, e)| match e {
                Entry::Begin { operation } => Some(operation.id + 1),
                _ => None,
            })
            .max()
            .unwrap_or(0);
        store.next_operation = AtomicU64::new(state.next_operation.max(highest));
        Ok(store)
    }

    fn key(&self, name: &str) -> String {
        self.location.key(&self.stack, name)
    }

    fn journal_key(&self, seq: u64) -> String {
        self.key(&format!("journal/{seq:020}.json"))
    }

    fn storage(&self, message: impl Into<String>) -> StateError {
        StateError::Storage {
            location: self.location_string(),
            message: message.into(),
        }
    }

    fn corrupt(&self, detail: String) -> StateError {
        StateError::Corrupt {
            location: self.location_string(),
            detail,
            fix: format!(
                "restore an earlier version of s3://{}/{} (bucket versioning) or {}, then run `refresh`",
                self.location.bucket,
                self.key("state.json"),
                self.key("state.backup.json")
            ),
        }
    }

    fn location_string(&self) -> String {
        format!("s3://{}/{}", self.location.bucket, self.key(""))
    }

    fn crypter(&self) -> Result<&Crypter, StateError> {
        if let Some(crypter) = self.crypter.get() {
            return Ok(crypter);
        }
        let passphrase = match (
            std::env::var("GIRDER_PASSPHRASE"),
            std::env::var("GIRDER_PASSPHRASE_FILE"),
        ) {
            (Ok(passphrase), _) => passphrase,
            (_, Ok(file)) => std::fs::read_to_string(&file)
                .map_err(|e| {
                    StateError::Crypto(format!("cannot read GIRDER_PASSPHRASE_FILE `{file}`: {e}"))
                })?
                .trim_end_matches(['\n', '\r'])
                .to_owned(),
            _ => {
                return Err(StateError::Crypto(
                    "this state holds secrets and is shared: set GIRDER_PASSPHRASE (or GIRDER_PASSPHRASE_FILE) to the team's passphrase".into(),
                ));
            }
        };
        let crypter = Crypter::from_passphrase(&passphrase, &self.salt)?;
        Ok(self.crypter.get_or_init(|| crypter))
    }

    /// Serializes with secrets sealed.
    fn seal<T: Serialize>(&self, value: &T) -> Result<Vec<u8>, StateError> {
        let json = serde_json::to_value(value).map_err(|e| self.storage(e.to_string()))?;
        let value = Value::from_json(json);
        let sealed = if value.contains_secret() {
            self.crypter()?.seal(&value)?
        } else {
            value
        };
        serde_json::to_vec(&sealed.to_json()).map_err(|e| self.storage(e.to_string()))
    }

    /// Deserializes with secrets opened (with `decrypt`) or left sealed.
    fn open_sealed<T: for<'de> Deserialize<'de>>(
        &self,
        bytes: &[u8],
        what: &str,
        decrypt: bool,
    ) -> Result<T, StateError> {
        let json: serde_json::Value = serde_json::from_slice(bytes)
            .map_err(|e| self.corrupt(format!("{what} does not parse: {e}")))?;
        let value = Value::from_json(json);
        let opened = if decrypt && crate::crypto::contains_encrypted(&value) {
            self.crypter()?.open(&value)?
        } else {
            value
        };
        serde_json::from_value(opened.to_json())
            .map_err(|e| self.corrupt(format!("{what} is not girder state: {e}")))
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StateError> {
        match self
            .s3
            .get_object()
            .bucket(&self.location.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(object) => {
                let bytes = object
                    .body
                    .collect()
                    .await
                    .map_err(|e| self.storage(format!("reading {key}: {e}")))?;
                Ok(Some(bytes.into_bytes().to_vec()))
            }
            Err(error) if matches!(code(&error), Some("NoSuchKey" | "NotFound")) => Ok(None),
            Err(error) => Err(self.storage(aws_error(
                &format!("reading s3://{}/{key}", self.location.bucket),
                &error,
            ))),
        }
    }

    /// Writes an object; with `only_new`, refuses to overwrite (`If-None-Match: *`).
    async fn put(&self, key: &str, body: Vec<u8>, only_new: bool) -> Result<bool, StateError> {
        let mut request = self
            .s3
            .put_object()
            .bucket(&self.location.bucket)
            .key(key)
            .content_type("application/json")
            .body(ByteStream::from(body));
        if only_new {
            request = request.if_none_match("*");
        }
        if let Some(kms) = &self.location.kms_key_id {
            request = request
                .server_side_encryption(ServerSideEncryption::AwsKms)
                .ssekms_key_id(kms);
        }
        match request.send().await {
            Ok(_) => Ok(true),
            Err(error)
                if only_new
                    && matches!(
                        code(&error),
                        Some("PreconditionFailed" | "ConditionalRequestConflict")
                    ) =>
            {
                Ok(false)
            }
            Err(error) => Err(self.storage(aws_error(
                &format!("writing s3://{}/{key}", self.location.bucket),
                &error,
            ))),
        }
    }

    async fn read_state(&self) -> Result<Option<StateObject>, StateError> {
        let Some(bytes) = self.get(&self.key("state.json")).await? else {
            return Ok(None);
        };
        let state: StateObject = serde_json::from_slice(&bytes)
            .map_err(|e| self.corrupt(format!("state.json does not parse: {e}")))?;
        if state.format != STATE_FORMAT {
            return Err(self.corrupt(format!(
                "state.json has format `{}`, not `{STATE_FORMAT}`",
                state.format
            )));
        }
        if state.stack != self.stack {
            return Err(self.corrupt(format!(
                "state.json records stack `{}`, not `{}`",
                state.stack, self.stack
            )));
        }
        Ok(Some(state))
    }

    async fn create_state(&self) -> Result<StateObject, StateError> {
        let salt: [u8; 16] = rand::random();
        let state = StateObject {
            format: STATE_FORMAT.into(),
            stack: self.stack.clone(),
            lineage: uuid::Uuid::new_v4().to_string(),
            serial: 0,
            journal_seq: 0,
            next_operation: 1,
            salt: hex::encode(salt),
            snapshot: serde_json::to_value(Snapshot::empty(self.stack.clone()))
                .map_err(|e| self.storage(e.to_string()))?,
        };
        let body = serde_json::to_vec(&state).map_err(|e| self.storage(e.to_string()))?;
        if self.put(&self.key("state.json"), body, true).await? {
            Ok(state)
        } else {
            // Another run created it at the same moment: use theirs.
            self.read_state()
                .await?
                .ok_or_else(|| self.storage("state.json vanished while being created"))
        }
    }

    /// The journal objects after `after`, in order, and the highest sequence number seen.
    async fn read_journal(
        &self,
        after: u64,
        decrypt: bool,
    ) -> Result<(Vec<(u64, Entry)>, u64), StateError> {
        let prefix = self.key("journal/");
        let mut keys = Vec::new();
        let mut pages = self
            .s3
            .list_objects_v2()
            .bucket(&self.location.bucket)
            .prefix(&prefix)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| self.storage(aws_error("listing the journal", &e)))?;
            for object in page.contents() {
                if let Some(key) = object.key() {
                    let seq = key
                        .strip_prefix(&prefix)
                        .and_then(|k| k.strip_suffix(".json"))
                        .and_then(|k| k.parse::<u64>().ok());
                    if let Some(seq) = seq {
                        keys.push(seq);
                    }
                }
            }
        }
        keys.sort_unstable();
        let last = keys.last().copied().unwrap_or(0);
        let mut entries = Vec::new();
        for seq in keys.into_iter().filter(|&s| s > after) {
            let bytes = self
                .get(&self.journal_key(seq))
                .await?
                .ok_or_else(|| self.corrupt(format!("journal object {seq} vanished")))?;
            entries.push((
                seq,
                self.open_sealed(&bytes, &format!("journal object {seq}"), decrypt)?,
            ));
        }
        Ok((entries, last))
    }

    async fn append(&self, entry: &Entry) -> Result<(), StateError> {
        let body = self.seal(entry)?;
        let seq = self.next_seq.fetch_add(1, Ordering::SeqCst);
        if !self.put(&self.journal_key(seq), body, true).await? {
            return Err(self.storage(format!(
                "journal object {seq} already exists: another run is writing this stack's state (is its lock broken?)"
            )));
        }
        Ok(())
    }

    /// Loads the snapshot and the journal position it includes; secrets opened with `decrypt`.
    async fn load_with_position(&self, decrypt: bool) -> Result<(Snapshot, u64, u64), StateError> {
        let state = self
            .read_state()
            .await?
            .ok_or_else(|| self.corrupt("state.json is missing".into()))?;
        let snapshot_bytes =
            serde_json::to_vec(&state.snapshot).map_err(|e| self.storage(e.to_string()))?;
        let mut snapshot: Snapshot = self.open_sealed(&snapshot_bytes, "state.json", decrypt)?;
        snapshot.stack = state.stack.clone();
        snapshot.lineage = state.lineage.clone();
        snapshot.serial = state.serial;
        let (entries, last) = self.read_journal(state.journal_seq, decrypt).await?;
        for (_, entry) in entries {
            match entry {
                Entry::Begin { operation } => snapshot.pending.push(*operation),
                Entry::Commit {
                    operation,
                    mutations,
                } => {
                    snapshot.pending.retain(|p| p.id != operation);
                    snapshot.apply_all(&mutations);
                    snapshot.serial += 1;
                }
                Entry::Record { mutations } => {
                    snapshot.apply_all(&mutations);
                    snapshot.serial += 1;
                }
            }
        }
        Ok((snapshot, last.max(state.journal_seq), state.next_operation))
    }

    /// Writes `snapshot` as the new `state.json` covering the journal up to `journal_seq`, then
    /// deletes the folded journal objects.
    async fn compact(&self, snapshot: &Snapshot, journal_seq: u64) -> Result<(), StateError> {
        let sealed: serde_json::Value = serde_json::from_slice(&self.seal(snapshot)?)
            .map_err(|e| self.storage(e.to_string()))?;
        let state = StateObject {
            format: STATE_FORMAT.into(),
            stack: self.stack.clone(),
            lineage: snapshot.lineage.clone(),
            serial: snapshot.serial,
            journal_seq,
            next_operation: self.next_operation.load(Ordering::SeqCst),
            salt: hex::encode(&self.salt),
            snapshot: sealed,
        };
        let bytes = serde_json::to_vec(&state).map_err(|e| self.storage(e.to_string()))?;
        self.put(&self.key("state.json"), bytes, false).await?;
        let prefix = self.key("journal/");
        let mut stale = Vec::new();
        let mut pages = self
            .s3
            .list_objects_v2()
            .bucket(&self.location.bucket)
            .prefix(&prefix)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| self.storage(aws_error("listing the journal", &e)))?;
            for object in page.contents() {
                let seq = object
                    .key()
                    .and_then(|k| k.strip_prefix(&prefix))
                    .and_then(|k| k.strip_suffix(".json"))
                    .and_then(|k| k.parse::<u64>().ok());
                if seq.is_some_and(|s| s <= journal_seq) {
                    stale.push(object.key().unwrap_or_default().to_owned());
                }
            }
        }
        for chunk in stale.chunks(1000) {
            let objects = chunk
                .iter()
                .map(|key| {
                    aws_sdk_s3::types::ObjectIdentifier::builder()
                        .key(key)
                        .build()
                })
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| self.storage(e.to_string()))?;
            let delete = aws_sdk_s3::types::Delete::builder()
                .set_objects(Some(objects))
                .quiet(true)
                .build()
                .map_err(|e| self.storage(e.to_string()))?;
            self.s3
                .delete_objects()
                .bucket(&self.location.bucket)
                .delete(delete)
                .send()
                .await
                .map_err(|e| self.storage(aws_error("deleting folded journal objects", &e)))?;
        }
        Ok(())
    }

    pub(crate) fn s3(&self) -> &aws_sdk_s3::Client {
        &self.s3
    }

    pub(crate) fn dynamodb(&self) -> Option<&aws_sdk_dynamodb::Client> {
        self.dynamodb.as_ref()
    }

    pub(crate) fn s3_location(&self) -> &S3Location {
        &self.location
    }

    pub(crate) fn lock_key(&self) -> String {
        self.key(".lock")
    }

    pub(crate) fn lock_id(&self) -> String {
        format!("{}/{}", self.location.bucket, self.key("state.json"))
    }

    pub(crate) fn storage_error(&self, message: impl Into<String>) -> StateError {
        self.storage(message)
    }

    pub(crate) fn stack_name(&self) -> &str {
        &self.stack
    }
}

#[async_trait::async_trait]
impl Journal for S3Store {
    async fn begin(&self, operation: &PendingOperation) -> Result<(), JournalError> {
        self.next_operation
            .fetch_max(operation.id + 1, Ordering::SeqCst);
        Ok(self
            .append(&Entry::Begin {
                operation: Box::new(operation.clone()),
            })
            .await?)
    }

    async fn commit(&self, operation_id: u64, mutations: &[Mutation]) -> Result<(), JournalError> {
        Ok(self
            .append(&Entry::Commit {
                operation: operation_id,
                mutations: mutations.to_vec(),
            })
            .await?)
    }

    async fn record(&self, mutations: &[Mutation]) -> Result<(), JournalError> {
        if mutations.is_empty() {
            return Ok(());
        }
        Ok(self
            .append(&Entry::Record {
                mutations: mutations.to_vec(),
            })
            .await?)
    }

    fn next_operation_id(&self) -> u64 {
        self.next_operation.fetch_add(1, Ordering::SeqCst)
    }
}

#[async_trait::async_trait]
impl StateStore for S3Store {
    async fn load(&self) -> Result<Snapshot, StateError> {
        Ok(self.load_with_position(true).await?.0)
    }

    async fn load_sealed(&self) -> Result<Snapshot, StateError> {
        Ok(self.load_with_position(false).await?.0)
    }

    async fn write_snapshot(&self, snapshot: &Snapshot) -> Result<(), StateError> {
        self.backup().await?;
        let mut written = snapshot.clone();
        written.serial = snapshot.serial.max(self.load().await?.serial) + 1;
        let position = self.next_seq.fetch_add(1, Ordering::SeqCst);
        self.compact(&written, position).await
    }

    async fn backup(&self) -> Result<(), StateError> {
        let (snapshot, position, _) = self.load_with_position(true).await?;
        if let Some(previous) = self.get(&self.key("state.json")).await? {
            self.put(&self.key("state.backup.json"), previous, false)
                .await?;
        }
        self.compact(&snapshot, position).await
    }

    fn location(&self) -> String {
        self.location_string()
    }

    fn stack(&self) -> &str {
        &self.stack
    }

    fn secrets(&self) -> Result<&Crypter, StateError> {
        self.crypter()
    }
}

/// The lease of remote locks.
pub(crate) fn lease_of(store: &S3Store) -> Duration {
    store.location.lease
}

/// Opens an S3 store as a shared [`StateStore`].
pub async fn open_store(url: &str, stack: &str) -> Result<Arc<dyn StateStore>, StateError> {
    Ok(Arc::new(S3Store::open(url, stack).await?))
}
