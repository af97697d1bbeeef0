//! Which stacks have state in a location: read from the directory listing (or the S3 key
//! listing), without opening, creating or locking any stack's state.

use std::path::Path;

use crate::{StateError, validate_stack_name};

/// The stacks that have state at `location` (a directory of the embedded store, or with the
/// `s3` feature `s3://BUCKET/PREFIX?…`), sorted by name.
///
/// Only the listing is read: no stack's state is opened or locked, and nothing is created —
/// a directory that does not exist holds no stacks. Files and keys that do not name a stack
/// (backups, key files, SQLite's `-wal` and `-shm` files, names no stack can have) are skipped.
///
/// # Errors
///
/// [`StateError::Location`] when the location is not a directory or a known URL (or is an S3
/// URL in a build without the `s3` feature), [`StateError::Storage`] when the listing fails.
pub async fn list_stacks(location: &str) -> Result<Vec<String>, StateError> {
    if location.starts_with("s3://") {
        return list_s3(location).await;
    }
    if location.contains("://") {
        return Err(StateError::Location {
            location: location.to_owned(),
            reason: "unknown scheme; use a directory or s3://BUCKET/PREFIX".into(),
        });
    }
    list_directory(Path::new(location))
}

/// The stacks of the embedded store in `dir`: every `<stack>.db` with a valid stack name.
fn list_directory(dir: &Path) -> Result<Vec<String>, StateError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            tracing::debug!(location = %dir.display(), "no state directory: no stacks");
            return Ok(Vec::new());
        }
        Err(e) => {
            return Err(StateError::Location {
                location: dir.display().to_string(),
                reason: format!("cannot list the state directory: {e}"),
            });
        }
    };
    let mut stacks = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| StateError::Storage {
            location: dir.display().to_string(),
            message: format!("listing the state directory: {e}"),
        })?;
        let name = entry.file_name();
        let Some(stack) = name.to_str().and_then(|n| n.strip_suffix(".db")) else {
            continue;
        };
        let is_file = entry.file_type().map(|t| t.is_file()).unwrap_or(false);
        if is_file && validate_stack_name(stack).is_ok() {
            stacks.push(stack.to_owned());
        }
    }
    stacks.sort();
    tracing::debug!(location = %dir.display(), ?stacks, "listed the stacks");
    Ok(stacks)
}

#[cfg(feature = "s3")]
async fn list_s3(location: &str) -> Result<Vec<String>, StateError> {
    crate::s3::list_stacks(location).await
}

#[cfg(not(feature = "s3"))]
async fn list_s3(location: &str) -> Result<Vec<String>, StateError> {
    Err(StateError::Location {
        location: location.to_owned(),
        reason:
            "this program was built without S3 state; enable the `s3-state` feature of `girder`"
                .into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn lists_the_stacks_of_a_directory_without_touching_them() {
        let dir = tempfile::tempdir().unwrap();
        let location = dir.path().display().to_string();
        for stack in ["prod-eu", "app", "infra"] {
            let store = crate::sqlite::SqliteStore::open(dir.path(), stack).unwrap();
            crate::StateStore::backup(&store).await.unwrap();
        }
        // Files that are not a stack's state are skipped.
        for other in ["notes.txt", ".hidden.db", "bad name.db", "app.key"] {
            std::fs::write(dir.path().join(other), "x").unwrap();
        }
        std::fs::create_dir(dir.path().join("nested.db")).unwrap();
        let before: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();

        let stacks = list_stacks(&location).await.unwrap();
        assert_eq!(stacks, ["app", "infra", "prod-eu"]);

        let after: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(
            before.len(),
            after.len(),
            "listing created or removed files"
        );
    }

    #[tokio::test]
    async fn a_missing_directory_holds_no_stacks_and_stays_missing() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("not-yet");
        let stacks = list_stacks(&missing.display().to_string()).await.unwrap();
        assert!(stacks.is_empty());
        assert!(!missing.exists());
    }

    #[tokio::test]
    async fn refuses_what_is_not_a_location() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("file");
        std::fs::write(&file, "x").unwrap();
        let error = list_stacks(&file.display().to_string()).await.unwrap_err();
        assert!(matches!(error, StateError::Location { .. }), "{error}");
        let error = list_stacks("ftp://host/state").await.unwrap_err();
        assert!(error.to_string().contains("unknown scheme"), "{error}");
    }
}
