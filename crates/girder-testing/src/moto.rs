//! The AWS API emulator for tests: starts `moto_server` on a free loopback port and stops it
//! on drop. It lives in `girder-aws-layer` (whose own tests need it) and is re-exported here.

pub use girder_aws_layer::moto::{MotoError, MotoServer, free_port, moto_binary};

use std::path::PathBuf;

/// The workspace root (see [`crate::tools::workspace_root`]).
pub fn workspace_root() -> PathBuf {
    crate::tools::workspace_root().unwrap_or_else(|| PathBuf::from("."))
}
