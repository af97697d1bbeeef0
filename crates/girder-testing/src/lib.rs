//! girder's testing toolkit.
//!
//! - [`sim`]: the simulated provider — configurable latency and failures, a cloud that lives in
//!   a directory — for engine specification tests, examples and benchmarks.
//! - [`harness`]: the engine in memory over the simulated provider.
//! - [`plan`], [`mock`], [`mocked`], [`strategies`], [`snapshot`]: testing infrastructure
//!   modules in memory — queryable plans and assertions, mocked outputs, upgrade diffs, the
//!   standard invariants, proptest strategies and stable snapshot text.
//! - [`fuzz`]: arbitrary input (any string, integer limits, duplicate names) and the check
//!   that every error diagnostic names its resource, field and fix, for never-panic tests.
//! - [`moto`]: starts the AWS API emulator (moto) for tests.
//! - [`aws_layer`]: the AWS behaviour layer in front of moto (re-exported from
//!   `girder-aws-layer`); [`sandbox`]: moto, the layer and a Kubernetes emulator per EKS
//!   cluster together (the `sandbox` binary).
//! - [`kube`]: the Kubernetes API emulator (re-exported from `girder-kube-emulator`).

pub mod fuzz;
pub mod harness;
pub mod mock;
pub mod mocked;
pub mod moto;
pub mod plan;
pub mod policy;
pub mod sandbox;
pub mod sim;
pub mod snapshot;
pub mod strategies;
pub mod tools;

/// The Kubernetes API emulator the Kubernetes provider is tested against.
pub mod kube {
    pub use girder_kube_emulator::*;
}

/// The AWS behaviour layer the AWS provider is tested against.
pub mod aws_layer {
    pub use girder_aws_layer::*;
}
