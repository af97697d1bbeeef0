//! Why policies could not be loaded or evaluated.

use std::path::PathBuf;

/// Why policies could not be loaded or evaluated. Each of these stops an `apply` like a
/// mandatory violation: a policy that cannot run has not passed.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// A policy directory or file could not be read.
    #[error("policy {path}: {message}")]
    Read {
        /// The directory or file.
        path: PathBuf,
        /// What failed.
        message: String,
    },
    /// A policy directory holds no `.rego` file.
    #[error(
        "policy directory {path} holds no .rego file: pass the directory that holds the policies"
    )]
    Empty {
        /// The directory.
        path: PathBuf,
    },
    /// A policy file does not parse. The message (from the Rego parser) names the file, the
    /// line and the column.
    #[error("policy {path} does not parse:\n{message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message, with file, line and column.
        message: String,
    },
    /// A policy failed while it was evaluated (a conflict between rule values, a builtin
    /// that failed, …). The message names the file and line where the evaluator knows them.
    #[error("policy package {package} failed at evaluation:\n{message}")]
    Evaluate {
        /// The Rego package (`data.main`).
        package: String,
        /// The evaluator's message.
        message: String,
    },
    /// A waiver file is not valid.
    #[error("waivers {path}: {message}")]
    Waivers {
        /// The `waivers.toml` file.
        path: PathBuf,
        /// What is wrong, and the fix.
        message: String,
    },
}
