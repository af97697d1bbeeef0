//! girder's testing toolkit.
//!
//! - [`sim`]: the simulated provider — configurable latency and failures, a cloud that lives in
//!   a directory — for engine specification tests, examples and benchmarks.
//! - [`harness`]: the engine in memory over the simulated provider.
//! - [`moto`]: starts the AWS API emulator (moto) for tests.
//! - [`kube`]: the Kubernetes API emulator (re-exported from `girder-kube-emulator`).

pub mod harness;
pub mod moto;
pub mod sim;

/// The Kubernetes API emulator the Kubernetes provider is tested against.
pub mod kube {
    pub use girder_kube_emulator::*;
}
