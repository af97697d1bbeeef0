//! `state list | show | rm | unlock | migrate`.

use std::sync::Arc;

use girder_engine::Mutation;
use girder_state::StateStore;
use sha2::{Digest, Sha256};

use super::Run;
use super::inspect::mask;
use crate::CliError;
use crate::args::StateCommand;

/// A checksum of a snapshot's content (resources, deposed objects, outputs), secrets included,
/// independent of where it is stored.
pub(crate) fn content_checksum(snapshot: &girder_engine::Snapshot) -> String {
    let canonical = serde_json::json!({
        "stack": snapshot.stack,
        "lineage": snapshot.lineage,
        "resources": snapshot.resources,
        "deposed": snapshot.deposed,
        "outputs": snapshot.outputs,
        "pending": snapshot.pending,
    });
    hex::encode(Sha256::digest(canonical.to_string().as_bytes()))
}

impl Run {
    pub async fn state(&self, command: StateCommand) -> Result<u8, CliError> {
        match command {
            StateCommand::List => {
                let snapshot = self.open_store().await?.load().await?;
                if self.global.json {
                    let rows: Vec<_> = snapshot
                        .resources
                        .values()
                        .map(|r| serde_json::json!({ "name": r.name, "type": r.type_name, "id": r.id, "kind": r.kind }))
                        .collect();
                    self.say(&serde_json::Value::Array(rows).to_string());
                } else {
                    for resource in snapshot.resources.values() {
                        self.say(&format!(
                            "{}\t{}\t{}",
                            resource.name, resource.type_name, resource.id
                        ));
                    }
                    for deposed in &snapshot.deposed {
                        self.say(&format!(
                            "{}\t{}\t{}\t(deposed {})",
                            deposed.resource.name,
                            deposed.resource.type_name,
                            deposed.resource.id,
                            deposed.key
                        ));
                    }
                }
                Ok(0)
            }
            StateCommand::Show {
                resource,
                show_secrets,
            } => {
                let snapshot = self.open_store().await?.load().await?;
                let found = snapshot
                    .resources
                    .get(&resource)
                    .ok_or_else(|| self.no_such(&resource, &snapshot))?;
                let json = serde_json::json!({
                    "name": found.name, "type": found.type_name, "kind": found.kind, "id": found.id,
                    "provider": found.provider, "dependencies": found.dependencies,
                    "protect": found.protect, "tainted": found.tainted,
                    "inputs": mask(&found.inputs, show_secrets), "outputs": mask(&found.outputs, show_secrets),
                });
                self.say(&serde_json::to_string_pretty(&json).unwrap_or_default());
                Ok(0)
            }
            StateCommand::Rm { resource } => {
                let store = self.open_store().await?;
                self.locked(&store, "state rm", async |store| {
                    self.remove(&store, resource).await
                })
                .await
            }
            StateCommand::Mv { from, to } => {
                let store = self.open_store().await?;
                self.locked(&store, "state mv", async |store| {
                    self.rename(&store, from, to).await
                })
                .await
            }
            StateCommand::Unlock { lock_id, force } => self.unlock(lock_id, force).await,
            StateCommand::Migrate { to } => {
                let store = self.open_store().await?;
                self.locked(&store, "state migrate", async |store| {
                    self.migrate(&store, &to).await
                })
                .await
            }
        }
    }

    async fn remove(&self, store: &Arc<dyn StateStore>, resource: String) -> Result<u8, CliError> {
        let snapshot = store.load().await?;
        if !snapshot.resources.contains_key(&resource) {
            return Err(self.no_such(&resource, &snapshot));
        }
        store.backup().await?;
        store
            .record(&[Mutation::Remove {
                name: resource.clone(),
            }])
            .await
            .map_err(|e| CliError::Refused(e.to_string()))?;
        self.say(&format!("Removed `{resource}` from the state; the cloud resource itself is untouched (delete or import it yourself)."));
        Ok(0)
    }

    async fn rename(
        &self,
        store: &Arc<dyn StateStore>,
        from: String,
        to: String,
    ) -> Result<u8, CliError> {
        let snapshot = store.load().await?;
        if !snapshot.resources.contains_key(&from) {
            return Err(self.no_such(&from, &snapshot));
        }
        if to.trim().is_empty() || to == from {
            return Err(CliError::Refused(format!(
                "`state mv {from} {to}`: give the new name the program declares"
            )));
        }
        if snapshot.resources.contains_key(&to) {
            return Err(CliError::Refused(format!(
                "the state already records `{to}`; `state rm {to}` first if that record should be forgotten"
            )));
        }
        if !snapshot.pending.is_empty() {
            return Err(CliError::Refused("the state has unfinished operations; run `refresh` (which recovers them) before renaming".into()));
        }
        store.backup().await?;
        let moves = [girder_core::Moved {
            from: from.clone(),
            to: to.clone(),
        }];
        store
            .record(&girder_engine::moves::mutations(&snapshot, &moves))
            .await
            .map_err(|e| CliError::Refused(e.to_string()))?;
        self.say(&format!("Moved `{from}` to `{to}` in the state; the cloud resource is untouched. The program must declare `{to}` now, or the next plan deletes it."));
        Ok(0)
    }

    async fn unlock(&self, lock_id: Option<String>, force: bool) -> Result<u8, CliError> {
        let store = self.open_store().await?;
        let Some(holder) = store.current_lock().await? else {
            self.say(&format!("The stack `{}` is not locked.", self.global.stack));
            return Ok(0);
        };
        let named = lock_id.as_deref() == Some(holder.id.as_str());
        if force || named || holder.holder_is_dead() {
            if force && !holder.holder_is_dead() {
                tracing::warn!("breaking a lock whose holder may still be running: {holder}");
                eprintln!(
                    "Warning: breaking the lock held by {holder}; if that run is still going, two runs may now change the same stack."
                );
            }
            store.force_unlock().await?;
            self.say(&format!(
                "Unlocked stack `{}` (was: {holder}).",
                self.global.stack
            ));
            Ok(0)
        } else {
            Err(CliError::Refused(format!(
                "the lock is held by {holder}, which may still be running; pass its lock id (`state unlock {}`) or --force to break it",
                holder.id
            )))
        }
    }

    fn no_such(&self, resource: &str, snapshot: &girder_engine::Snapshot) -> CliError {
        CliError::Refused(format!(
            "no resource `{resource}` in the state of stack `{}` ({} recorded; see `state list`)",
            self.global.stack,
            snapshot.resources.len()
        ))
    }

    async fn migrate(&self, source: &Arc<dyn StateStore>, to: &str) -> Result<u8, CliError> {
        let snapshot = source.load().await?;
        if !snapshot.pending.is_empty() {
            return Err(CliError::Refused("the state has unfinished operations; run `refresh` (which recovers them) before migrating".into()));
        }
        let target = girder_state::open(to, &self.global.stack).await?;
        self.locked(&target, "state migrate", async |target| {
            self.copy_to(source, &target, snapshot, to).await
        })
        .await
    }

    async fn copy_to(
        &self,
        source: &Arc<dyn StateStore>,
        target: &Arc<dyn StateStore>,
        snapshot: girder_engine::Snapshot,
        to: &str,
    ) -> Result<u8, CliError> {
        let existing = target.load().await?;
        if !existing.resources.is_empty() || !existing.deposed.is_empty() {
            return Err(CliError::Refused(format!(
                "{} already holds {} resource(s) for stack `{}`; refusing to overwrite it",
                target.location(),
                existing.resources.len(),
                self.global.stack
            )));
        }
        target.write_snapshot(&snapshot).await?;
        let written = target.load().await?;
        let (before, after) = (content_checksum(&snapshot), content_checksum(&written));
        if before != after {
            return Err(CliError::Refused(format!(
                "verification failed: the copy at {} differs from the source (checksum {after} vs {before}); the source at {} is unchanged",
                target.location(),
                source.location()
            )));
        }
        self.say(&format!(
            "Migrated stack `{}`: {} resource(s) from {} to {} (checksum {}). The old state is kept; use --state {to} from now on.",
            self.global.stack,
            snapshot.resources.len(),
            source.location(),
            target.location(),
            &after[..16]
        ));
        Ok(0)
    }
}
