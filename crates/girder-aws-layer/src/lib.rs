//! An **AWS behaviour layer** for tests: a loopback HTTP proxy in front of moto that behaves
//! the way real AWS does where moto forgives.
//!
//! moto answers every API at once and perfectly: clusters are ACTIVE when created, new ids
//! are visible everywhere at once, nothing is throttled, a new role can be assumed at once,
//! deletes never meet draining network interfaces. Code that passes against moto alone can
//! still create duplicates, give up on a throttled call or fail a destroy against AWS. The
//! layer reproduces those behaviours, each switchable at start and at run time, each with
//! its durations (multiplied by [`Behaviours::scale`]), with errors in the exact shape of
//! each protocol so the real `aws-sdk-*` clients classify them as they would against AWS:
//!
//! | switch | behaviour |
//! |---|---|
//! | `lifecycle` | EKS clusters, nodegroups, add-ons `CREATING`/`UPDATING`/`DELETING`; NAT gateways `pending`/`deleting`; Route 53 changes `PENDING` |
//! | `consistency` | new EC2 and IAM ids answer NotFound and are left out of listings for a few seconds |
//! | `propagation` | new roles cannot be assumed by EKS or VPC flow logs, nor named (with new OIDC providers) in trust policies |
//! | `throttling` | per-API probabilities and EC2's token buckets, with each protocol's throttling error |
//! | `draining` | `DependencyViolation` after a NAT gateway or load balancer delete; IAM `DeleteConflict` after a detach |
//! | `lost_responses` | a 500 after the action took effect |
//! | `idempotency` | `ClientToken` / `clientRequestToken` replay the first response |
//!
//! Whatever the behaviours, the layer also serves what moto lacks for EKS: add-ons, access
//! entries and access policies, version updates and `DescribeUpdate` (see [`eks`]), kept in
//! an [`eks::EksRegistry`] that a Kubernetes emulator can authorize requests from, and calls
//! a [`ClusterHost`] when a cluster becomes ACTIVE or is gone.
//!
//! ```no_run
//! use girder_aws_layer::{AwsLayer, Behaviours, LayerConfig};
//! use girder_aws_layer::moto::MotoServer;
//!
//! let moto = MotoServer::start().unwrap();
//! let layer = AwsLayer::start(LayerConfig::new(moto.endpoint()).behaviours(Behaviours::all())).unwrap();
//! // AWS_ENDPOINT_URL = layer.endpoint()
//! layer.set_enabled("throttling", false).unwrap();
//! println!("{:?}", layer.counters());
//! ```
//!
//! The control endpoint (`/_layer/…`, see [`control`]) switches behaviours and reads
//! counters from other processes.

pub mod client;
pub mod clock;
pub mod config;
pub mod control;
mod counters;
pub mod eks;
mod error;
mod host;
mod layer;
pub mod moto;
pub mod protocol;

mod behaviours;
mod proxy;
mod reply;
mod upstream;
mod world;
pub mod xml;

pub use config::{
    BEHAVIOUR_NAMES, Behaviours, Bucket, Consistency, Draining, Idempotency, Lifecycle,
    LostResponses, Propagation, Throttling,
};
pub use counters::Counters;
pub use error::LayerError;
pub use host::{ClusterEndpoint, ClusterHost, ClusterInfo};
pub use layer::{AwsLayer, LayerConfig};
pub use protocol::{AwsError, AwsRequest, Service};
