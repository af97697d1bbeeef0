//! Which other stacks still read a stack's outputs through a stack reference — checked before
//! `destroy` (and before an `apply` of a program that declares no resources any more), so the
//! stacks built on top of a stack do not end up pointing at what it deleted.
//!
//! A stack reference is recorded in the reading stack's state as a read node of type
//! [`STACK_REFERENCE_TYPE`] whose id is the referenced stack, whose `state` input (if any) is
//! the location it reads from, and whose outputs hold the outputs it read. The check lists the
//! stacks of the state location ([`girder_state::list_stacks`]) and reads each one's records
//! with [`StateStore::load_sealed`](girder_state::StateStore::load_sealed): no lock is taken,
//! nothing is written, no key is needed and no provider is called.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::Path;

use girder_core::{NodeKind, STACK_REFERENCE_TYPE, Value};
use girder_engine::Snapshot;
use girder_state::StateError;

/// The flag that skips the check.
pub const OVERRIDE_FLAG: &str = "--allow-referenced";

/// The command that would delete the stack's resources.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Deletion {
    /// `destroy`.
    Destroy,
    /// `apply` of a program that declares no resources and no outputs any more.
    EmptiedApply,
}

impl Deletion {
    /// The command's name.
    pub fn command(self) -> &'static str {
        match self {
            Deletion::Destroy => "destroy",
            Deletion::EmptiedApply => "apply",
        }
    }
}

/// A stack that reads another stack's outputs and still manages resources.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reader {
    /// The reading stack.
    pub stack: String,
    /// Its stack reference nodes that read the stack (`stack-ref/<stack>`).
    pub references: Vec<String>,
    /// The outputs those references read (as recorded at the reading stack's last run).
    pub outputs: Vec<String>,
    /// The reading stack's resources that depend on the references.
    pub used_by: Vec<String>,
    /// How many resources the reading stack still manages (deposed objects included).
    pub resources: usize,
}

/// Why the check refused, or could not tell.
#[derive(Debug, thiserror::Error)]
pub enum ReferencedError {
    /// Other stacks in the same state location still read the stack's outputs.
    #[error("{}", still_read(stack, *operation, location, readers))]
    StillRead {
        /// The stack that was to be destroyed.
        stack: String,
        /// The command that was refused.
        operation: Deletion,
        /// The state location that was searched.
        location: String,
        /// The stacks reading it.
        readers: Vec<Reader>,
    },
    /// A stack of the location could not be read, so whether it reads the stack is unknown.
    #[error(
        "cannot tell whether stack `{reader}` in the state at {location} reads the outputs of stack `{stack}`: {source}\n  fix: repair that stack's state (`--stack {reader} state list` shows what is recorded), or pass {OVERRIDE_FLAG} to go ahead without this check"
    )]
    Unreadable {
        /// The stack that was to be destroyed.
        stack: String,
        /// The stack whose state could not be read.
        reader: String,
        /// The state location.
        location: String,
        /// What failed.
        #[source]
        source: StateError,
    },
    /// The stacks of the location could not be listed.
    #[error(
        "cannot list the stacks in the state at {location} to check whether one reads the outputs of stack `{stack}`: {source}\n  fix: check the location, or pass {OVERRIDE_FLAG} to go ahead without this check"
    )]
    Listing {
        /// The stack that was to be destroyed.
        stack: String,
        /// The state location.
        location: String,
        /// What failed.
        #[source]
        source: StateError,
    },
}

fn still_read(stack: &str, operation: Deletion, location: &str, readers: &[Reader]) -> String {
    let command = operation.command();
    let refused = match operation {
        Deletion::Destroy => format!("refusing to destroy stack `{stack}`"),
        Deletion::EmptiedApply => format!(
            "refusing to apply stack `{stack}`, which deletes everything it manages (the program declares no resources and no outputs any more)"
        ),
    };
    let mut text = format!(
        "{refused}: {} in the state at {location} still {} its outputs",
        if readers.len() == 1 {
            "another stack"
        } else {
            "other stacks"
        },
        if readers.len() == 1 { "reads" } else { "read" },
    );
    for reader in readers {
        let outputs = if reader.outputs.is_empty() {
            "no output yet".to_owned()
        } else {
            quoted(&reader.outputs)
        };
        let _ = write!(
            text,
            "\n  - stack `{}` ({} resource(s)) reads {outputs} through {}",
            reader.stack,
            reader.resources,
            quoted(&reader.references),
        );
        if !reader.used_by.is_empty() {
            let _ = write!(text, ", used by {}", quoted(&reader.used_by));
        }
    }
    let first = readers
        .iter()
        .map(|r| format!("`--stack {} destroy`", r.stack));
    let _ = write!(
        text,
        "\n  fix: destroy {} first ({}), then run `{command}` again; or pass {OVERRIDE_FLAG} to {command} `{stack}` anyway (their resources keep pointing at what it deletes)",
        if readers.len() == 1 {
            "that stack"
        } else {
            "those stacks"
        },
        first.collect::<Vec<_>>().join(", "),
    );
    text
}

fn quoted(names: &[String]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Refuses when another stack at `location` reads the outputs of `stack` and still manages
/// resources; `operation` names the refused command in the message.
///
/// # Errors
///
/// [`ReferencedError::StillRead`] naming every reader, its outputs and the fix;
/// [`ReferencedError::Unreadable`] / [`ReferencedError::Listing`] when the location or a stack
/// in it cannot be read (the check does not guess).
pub async fn refuse_if_read(
    location: &str,
    stack: &str,
    operation: Deletion,
) -> Result<(), ReferencedError> {
    let readers = readers_of(location, stack).await?;
    if readers.is_empty() {
        return Ok(());
    }
    Err(ReferencedError::StillRead {
        stack: stack.to_owned(),
        operation,
        location: location.to_owned(),
        readers,
    })
}

/// The stacks at `location`, other than `stack`, whose recorded state holds a stack reference
/// reading `stack` from `location` and which still manage resources; none when `stack` has no
/// state there. Read-only: no lock, no write, no key, no provider call.
///
/// # Errors
///
/// When the location cannot be listed or a stack in it cannot be read.
pub async fn readers_of(location: &str, stack: &str) -> Result<Vec<Reader>, ReferencedError> {
    let stacks = girder_state::list_stacks(location)
        .await
        .map_err(|source| ReferencedError::Listing {
            stack: stack.to_owned(),
            location: location.to_owned(),
            source,
        })?;
    if !stacks.iter().any(|s| s == stack) {
        tracing::debug!(
            stack,
            location,
            "the stack has no state here: nothing to protect"
        );
        return Ok(Vec::new());
    }
    let mut readers = Vec::new();
    for other in stacks.iter().filter(|s| s.as_str() != stack) {
        let unreadable = |source| ReferencedError::Unreadable {
            stack: stack.to_owned(),
            reader: other.clone(),
            location: location.to_owned(),
            source,
        };
        let store = girder_state::open(location, other)
            .await
            .map_err(unreadable)?;
        let snapshot = store.load_sealed().await.map_err(unreadable)?;
        if let Some(reader) = reader_in(&snapshot, other, location, stack) {
            tracing::debug!(reader = %reader.stack, stack, location, "stack reads the stack's outputs");
            readers.push(reader);
        }
    }
    tracing::info!(
        stack,
        location,
        checked = stacks.len().saturating_sub(1),
        readers = readers.len(),
        "checked which stacks read this stack's outputs"
    );
    Ok(readers)
}

/// The reader that `snapshot` (of stack `reader`, stored at `location`) is of `stack`, if its
/// references read `stack` from `location` and it still manages resources.
fn reader_in(snapshot: &Snapshot, reader: &str, location: &str, stack: &str) -> Option<Reader> {
    let references: Vec<_> = snapshot
        .resources
        .values()
        .filter(|r| r.type_name == STACK_REFERENCE_TYPE && r.kind == NodeKind::Read)
        .filter(|r| r.id == stack)
        .filter(|r| {
            // Without a `state` input a reference reads from the reading stack's own location.
            r.inputs
                .get("state")
                .and_then(Value::as_str)
                .is_none_or(|read_from| same_location(read_from, location))
        })
        .collect();
    let resources = snapshot
        .resources
        .values()
        .filter(|r| r.kind == NodeKind::Resource)
        .count()
        + snapshot.deposed.len();
    if references.is_empty() || resources == 0 {
        return None;
    }
    let names: BTreeSet<&str> = references.iter().map(|r| r.name.as_str()).collect();
    let outputs: BTreeSet<String> = references
        .iter()
        .filter_map(|r| match r.outputs.get("outputs") {
            Some(Value::Object(map)) => Some(map.keys().cloned().collect::<Vec<_>>()),
            _ => None,
        })
        .flatten()
        .collect();
    let used_by: BTreeSet<String> = snapshot
        .resources
        .values()
        .filter(|r| r.dependencies.iter().any(|d| names.contains(d.as_str())))
        .map(|r| r.name.clone())
        .collect();
    Some(Reader {
        stack: reader.to_owned(),
        references: names.into_iter().map(str::to_owned).collect(),
        outputs: outputs.into_iter().collect(),
        used_by: used_by.into_iter().collect(),
        resources,
    })
}

/// Whether two spellings name the same state location: directories compared by their
/// canonical paths, URLs without their options and trailing `/`.
fn same_location(a: &str, b: &str) -> bool {
    if a.contains("://") || b.contains("://") {
        let bare = |l: &str| {
            l.split_once('?')
                .map_or(l, |(path, _)| path)
                .trim_end_matches('/')
                .to_owned()
        };
        return bare(a) == bare(b);
    }
    let canonical = |l: &str| std::fs::canonicalize(l).unwrap_or_else(|_| Path::new(l).into());
    canonical(a) == canonical(b)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use girder_engine::state::ResourceState;

    use super::*;

    #[test]
    fn locations_match_however_they_are_spelled() {
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().display().to_string();
        let dotted = dir.path().join(".").display().to_string();
        assert!(same_location(&plain, &dotted));
        assert!(same_location(
            "s3://bucket/state?lock=s3",
            "s3://bucket/state/"
        ));
        assert!(!same_location("s3://bucket/state", "s3://bucket/other"));
        assert!(!same_location(&plain, "s3://bucket/state"));
    }

    fn record(
        name: &str,
        type_name: &str,
        kind: NodeKind,
        id: &str,
        inputs: Value,
    ) -> ResourceState {
        ResourceState {
            name: name.into(),
            type_name: type_name.into(),
            kind,
            id: id.into(),
            provider: None,
            inputs,
            outputs: girder_core::object! { "outputs" => girder_core::object! { "vpc" => "vpc-1" } },
            dependencies: vec![],
            protect: false,
            retain_on_delete: false,
            tainted: false,
            creating: false,
            created_at: None,
            create_ms: None,
        }
    }

    fn snapshot(records: Vec<ResourceState>) -> Snapshot {
        let mut snapshot = Snapshot::default();
        for r in records {
            snapshot.resources.insert(r.name.clone(), Arc::new(r));
        }
        snapshot
    }

    #[test]
    fn only_references_to_this_location_from_stacks_with_resources_count() {
        let dir = tempfile::tempdir().unwrap();
        let here = dir.path().display().to_string();
        let reference = |state: Option<&str>| {
            let mut inputs = girder_core::object! { "id" => "infra" };
            if let Some(state) = state {
                inputs
                    .set(&"state".parse().unwrap(), Value::from(state))
                    .unwrap();
            }
            record(
                "stack-ref/infra",
                STACK_REFERENCE_TYPE,
                NodeKind::Read,
                "infra",
                inputs,
            )
        };
        let service = || {
            record(
                "service",
                "sim:resource",
                NodeKind::Resource,
                "sim-1",
                Value::object(),
            )
        };

        let reader = reader_in(
            &snapshot(vec![reference(None), service()]),
            "app",
            &here,
            "infra",
        );
        assert_eq!(reader.unwrap().outputs, ["vpc"]);
        let spelled = format!("{here}/.");
        assert!(
            reader_in(
                &snapshot(vec![reference(Some(&spelled)), service()]),
                "app",
                &here,
                "infra"
            )
            .is_some()
        );
        // A reference to a stack of the same name elsewhere does not count.
        assert!(
            reader_in(
                &snapshot(vec![reference(Some("s3://other-bucket/state")), service()]),
                "app",
                &here,
                "infra"
            )
            .is_none()
        );
        // Nor does a stack that manages nothing any more, nor one that reads another stack.
        assert!(reader_in(&snapshot(vec![reference(None)]), "app", &here, "infra").is_none());
        assert!(
            reader_in(
                &snapshot(vec![reference(None), service()]),
                "app",
                &here,
                "network"
            )
            .is_none()
        );
    }

    #[tokio::test]
    async fn a_stack_that_cannot_be_read_stops_the_check_with_its_name() {
        let dir = tempfile::tempdir().unwrap();
        let here = dir.path().display().to_string();
        drop(girder_state::sqlite::SqliteStore::open(dir.path(), "infra").unwrap());
        std::fs::write(dir.path().join("broken.db"), "not a database").unwrap();
        let error = refuse_if_read(&here, "infra", Deletion::Destroy)
            .await
            .unwrap_err();
        assert!(
            matches!(error, ReferencedError::Unreadable { ref reader, .. } if reader == "broken"),
            "{error}"
        );
        assert!(error.to_string().contains(OVERRIDE_FLAG), "{error}");
        // A stack without state here has nothing to protect: no check, no error.
        assert!(readers_of(&here, "gone").await.unwrap().is_empty());
    }

    #[test]
    fn the_refusal_names_the_stack_the_outputs_and_the_fix() {
        let message = still_read(
            "infra",
            Deletion::Destroy,
            "/tmp/state",
            &[Reader {
                stack: "app".into(),
                references: vec!["stack-ref/infra".into()],
                outputs: vec!["endpoint".into(), "network".into()],
                used_by: vec!["service".into()],
                resources: 2,
            }],
        );
        for part in [
            "refusing to destroy stack `infra`",
            "/tmp/state",
            "stack `app` (2 resource(s)) reads `endpoint`, `network`",
            "used by `service`",
            "`--stack app destroy`",
            OVERRIDE_FLAG,
        ] {
            assert!(message.contains(part), "{part:?} missing from:\n{message}");
        }
    }
}
