//! The seed network (`examples/network`) through moto and the AWS behaviour layer.
//!
//! Each behaviour of the AWS behaviour layer alone, then all together, at a hundredth of AWS's
//! durations: apply, re-plan (no changes), destroy, then moto itself (bypassing the layer)
//! holds nothing the program made and never held two of anything. The runs print their
//! request counts and wall times (`--nocapture` shows them).

mod layer;

use girder_aws::seed;
use layer::{LayerEnv, behaviours};

async fn run(name: &str) {
    let env = LayerEnv::start(behaviours(name)).await;
    let mut s = girder_core::Stack::new("dev");
    seed::network(&mut s);
    let graph = s.finish().unwrap_or_else(|d| panic!("{d}"));
    env.round_trip(name, &graph).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn network_with_none() {
    run("none").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn network_with_lifecycle() {
    run("lifecycle").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn network_with_consistency() {
    run("consistency").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn network_with_propagation() {
    run("propagation").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn network_with_throttling() {
    run("throttling").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn network_with_draining() {
    run("draining").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn network_with_lost_responses() {
    run("lost_responses").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn network_with_idempotency() {
    run("idempotency").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn network_with_all() {
    run("all").await;
}
