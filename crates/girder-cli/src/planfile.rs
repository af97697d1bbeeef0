//! Saved plan files (`plan --out FILE`): the plan exactly as shown, with secrets encrypted
//! under the state's key, so `apply FILE` applies exactly it.

use std::path::Path;

use girder_core::Value;
use girder_engine::Plan;
use girder_state::StateStore;
use serde::{Deserialize, Serialize};

use crate::CliError;

/// The format tag of plan files.
const FORMAT: &str = "girder-plan/1";

#[derive(Serialize, Deserialize)]
struct PlanFile {
    format: String,
    stack: String,
    plan: serde_json::Value,
}

fn io(path: &Path, e: impl std::fmt::Display) -> CliError {
    CliError::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

/// Writes `plan` to `path`.
pub fn save(plan: &Plan, store: &dyn StateStore, path: &Path) -> Result<(), CliError> {
    let json = serde_json::to_value(plan).map_err(|e| io(path, e))?;
    let value = Value::from_json(json);
    let sealed = if value.contains_secret() {
        store.secrets()?.seal(&value)?
    } else {
        value
    };
    let file = PlanFile {
        format: FORMAT.into(),
        stack: plan.stack.clone(),
        plan: sealed.to_json(),
    };
    let text = serde_json::to_string(&file).map_err(|e| io(path, e))?;
    std::fs::write(path, text).map_err(|e| io(path, e))
}

/// Whether the plan saved at `path` destroys the stack (`plan --destroy --out`): read before
/// the state is opened, so `apply FILE` can refuse as `destroy` does while other stacks read
/// this one's outputs. The flag is never sealed, so no key is needed.
pub fn is_destroy(path: &Path) -> Result<bool, CliError> {
    let text = std::fs::read_to_string(path).map_err(|e| io(path, e))?;
    let file: PlanFile = serde_json::from_str(&text).map_err(|e| {
        io(
            path,
            format!("not a girder plan file ({e}); make one with `plan --out FILE`"),
        )
    })?;
    Ok(file
        .plan
        .get("destroy")
        .and_then(serde_json::Value::as_bool)
        == Some(true))
}

/// Reads a plan saved by [`save`].
pub fn load(store: &dyn StateStore, path: &Path) -> Result<Plan, CliError> {
    let text = std::fs::read_to_string(path).map_err(|e| io(path, e))?;
    let file: PlanFile = serde_json::from_str(&text).map_err(|e| {
        io(
            path,
            format!("not a girder plan file ({e}); make one with `plan --out FILE`"),
        )
    })?;
    if file.format != FORMAT {
        return Err(io(
            path,
            format!(
                "plan format `{}` is not `{FORMAT}`; make a new plan with this girder",
                file.format
            ),
        ));
    }
    if file.stack != store.stack() {
        return Err(CliError::Refused(format!(
            "the plan in {} is for stack `{}`, not `{}`; pass --stack {}",
            path.display(),
            file.stack,
            store.stack(),
            file.stack
        )));
    }
    let opened = store.secrets()?.open(&Value::from_json(file.plan))?;
    serde_json::from_value(opened.to_json())
        .map_err(|e| io(path, format!("the plan does not parse: {e}")))
}
