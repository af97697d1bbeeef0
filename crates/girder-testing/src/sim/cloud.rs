//! The simulated cloud's storage: one JSON file per live resource in a directory (so it
//! outlives a killed process and tests can count what exists), or memory (benchmarks).

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use girder_core::Value;
use serde::{Deserialize, Serialize};

/// One live simulated resource, as stored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SimObject {
    /// The cloud id.
    pub id: String,
    /// The type token.
    #[serde(rename = "type")]
    pub type_name: String,
    /// The `girder:stack` tag.
    pub stack: String,
    /// The `girder:resource` tag.
    pub resource: String,
    /// The inputs it was created or last updated with.
    pub inputs: Value,
    /// Its outputs.
    pub outputs: Value,
}

/// Where simulated resources live.
#[derive(Debug)]
pub enum SimCloud {
    /// One file per resource, `<dir>/<id>.json`.
    Directory(PathBuf),
    /// In memory, for benchmarks and property tests.
    Memory(Mutex<BTreeMap<String, SimObject>>),
}

/// A failure of the simulated cloud's storage.
#[derive(Debug, thiserror::Error)]
#[error("simulated cloud at {path}: {message}")]
pub struct CloudError {
    /// The file or directory.
    pub path: String,
    /// What went wrong.
    pub message: String,
}

impl SimCloud {
    /// A cloud in `dir` (created if missing).
    pub fn directory(dir: impl Into<PathBuf>) -> Result<SimCloud, CloudError> {
        let dir = dir.into();
        fs::create_dir_all(&dir).map_err(|e| CloudError {
            path: dir.display().to_string(),
            message: e.to_string(),
        })?;
        Ok(SimCloud::Directory(dir))
    }

    /// A cloud in memory.
    pub fn memory() -> SimCloud {
        SimCloud::Memory(Mutex::new(BTreeMap::new()))
    }

    fn file(dir: &Path, id: &str) -> PathBuf {
        dir.join(format!("{id}.json"))
    }

    fn error(path: &Path, e: impl std::fmt::Display) -> CloudError {
        CloudError {
            path: path.display().to_string(),
            message: e.to_string(),
        }
    }

    /// Stores an object (atomically: a crash leaves the old file or the new one).
    pub fn put(&self, object: &SimObject) -> Result<(), CloudError> {
        match self {
            SimCloud::Directory(dir) => {
                let path = Self::file(dir, &object.id);
                let tmp = dir.join(format!(".{}.tmp", object.id));
                let json = serde_json::to_vec_pretty(object).map_err(|e| Self::error(&path, e))?;
                let mut file = fs::File::create(&tmp).map_err(|e| Self::error(&tmp, e))?;
                file.write_all(&json).map_err(|e| Self::error(&tmp, e))?;
                drop(file);
                fs::rename(&tmp, &path).map_err(|e| Self::error(&path, e))
            }
            SimCloud::Memory(map) => {
                lock(map).insert(object.id.clone(), object.clone());
                Ok(())
            }
        }
    }

    /// The object with `id`, if it exists.
    pub fn get(&self, id: &str) -> Result<Option<SimObject>, CloudError> {
        match self {
            SimCloud::Directory(dir) => {
                let path = Self::file(dir, id);
                match fs::read(&path) {
                    Ok(bytes) => serde_json::from_slice(&bytes)
                        .map(Some)
                        .map_err(|e| Self::error(&path, e)),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                    Err(e) => Err(Self::error(&path, e)),
                }
            }
            SimCloud::Memory(map) => Ok(lock(map).get(id).cloned()),
        }
    }

    /// Removes the object with `id`; true if it existed.
    pub fn remove(&self, id: &str) -> Result<bool, CloudError> {
        match self {
            SimCloud::Directory(dir) => {
                let path = Self::file(dir, id);
                match fs::remove_file(&path) {
                    Ok(()) => Ok(true),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
                    Err(e) => Err(Self::error(&path, e)),
                }
            }
            SimCloud::Memory(map) => Ok(lock(map).remove(id).is_some()),
        }
    }

    /// Every live object, by id.
    pub fn list(&self) -> Result<Vec<SimObject>, CloudError> {
        match self {
            SimCloud::Directory(dir) => {
                let mut objects = Vec::new();
                let entries = fs::read_dir(dir).map_err(|e| Self::error(dir, e))?;
                for entry in entries {
                    let entry = entry.map_err(|e| Self::error(dir, e))?;
                    let name = entry.file_name();
                    let name = name.to_string_lossy();
                    if let Some(id) = name.strip_suffix(".json")
                        && !name.starts_with('.')
                        && let Some(object) = self.get(id)?
                    {
                        objects.push(object);
                    }
                }
                objects.sort_by(|a, b| a.id.cmp(&b.id));
                Ok(objects)
            }
            SimCloud::Memory(map) => Ok(lock(map).values().cloned().collect()),
        }
    }

    /// How many objects are live.
    pub fn count(&self) -> Result<usize, CloudError> {
        match self {
            SimCloud::Directory(_) => Ok(self.list()?.len()),
            SimCloud::Memory(map) => Ok(lock(map).len()),
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}
