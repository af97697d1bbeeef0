//! The command line's errors.

use girder_core::Diagnostics;
use girder_engine::OperationError;
use girder_state::StateError;

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The program itself returned an error.
    #[error("the program failed: {0}")]
    Program(crate::BoxError),
    /// The program has problems found when building it.
    #[error("the program has problems:\n{0}")]
    Diagnostics(Diagnostics),
    /// The state store failed or refused.
    #[error(transparent)]
    State(#[from] StateError),
    /// Recovery, refresh, planning or applying failed.
    #[error(transparent)]
    Operation(Box<OperationError>),
    /// A file could not be read or written.
    #[error("{path}: {message}")]
    Io {
        /// The file.
        path: String,
        /// What failed.
        message: String,
    },
    /// The command was refused (no confirmation, stale plan, …).
    #[error("{0}")]
    Refused(String),
    /// The apply finished with failures (already reported in detail).
    #[error("{0}")]
    Failed(String),
    /// Other stacks still read this stack's outputs (or whether they do could not be told).
    #[error(transparent)]
    Referenced(Box<crate::referrers::ReferencedError>),
    /// The policies could not be loaded or evaluated (so the plan has not passed them).
    #[error("the policies could not be checked: {0}")]
    Policy(#[from] girder_policy::PolicyError),
    /// The plan has mandatory policy violations.
    #[error("{0}")]
    PolicyViolations(String),
    /// A provider package's own command-line options did not parse.
    #[error("a provider's command-line options: {0}")]
    Options(#[source] clap::Error),
}

impl From<crate::referrers::ReferencedError> for CliError {
    fn from(error: crate::referrers::ReferencedError) -> Self {
        CliError::Referenced(Box::new(error))
    }
}

impl From<OperationError> for CliError {
    fn from(error: OperationError) -> Self {
        CliError::Operation(Box::new(error))
    }
}
