//! Finding the workspace and the pinned test tools at run time.
//!
//! Paths are never baked in at compile time: the same compiled test binary may be run from
//! another checkout sharing the target directory, and must use that checkout's tools.

use std::path::{Path, PathBuf};

/// The file that marks girder's workspace root.
const MARKER: &str = "scripts/python-deps.sh";

/// The workspace root: found by walking up from the package being tested
/// (`CARGO_MANIFEST_DIR`, which cargo sets for test processes) or, failing that, from the
/// current directory, to the directory holding `scripts/python-deps.sh`.
pub fn workspace_root() -> Option<PathBuf> {
    let starts = [
        std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from),
        std::env::current_dir().ok(),
    ];
    starts.into_iter().flatten().find_map(|start| {
        start
            .ancestors()
            .find(|dir| dir.join(MARKER).is_file())
            .map(Path::to_path_buf)
    })
}

/// The path of a tool installed into the workspace's `.venv` by `scripts/python-deps.sh`, or
/// the path in the environment variable `override_var` when it is set.
pub fn venv_tool(name: &str, override_var: &str) -> PathBuf {
    if let Some(path) = std::env::var_os(override_var) {
        return PathBuf::from(path);
    }
    workspace_root()
        .unwrap_or_else(|| PathBuf::from("."))
        .join(".venv/bin")
        .join(name)
}

/// The `kubernetes-validate` executable (`GIRDER_KUBERNETES_VALIDATE` or the workspace's
/// `.venv`). Panics with the install command when it is missing: tests never skip silently.
pub fn kubernetes_validate() -> PathBuf {
    let path = venv_tool("kubernetes-validate", "GIRDER_KUBERNETES_VALIDATE");
    assert!(
        path.exists(),
        "kubernetes-validate is missing at {}: run scripts/python-deps.sh or set GIRDER_KUBERNETES_VALIDATE",
        path.display()
    );
    path
}
