//! A layered DAG of simulated resources, for benchmarks and end-to-end tests of the engine,
//! the state store and the command line.
//!
//! `GIRDER_SIM_N` resources (default 100) in `GIRDER_SIM_LAYERS` layers (default 10); node
//! (k, i) depends on (k-1, i) and (k-1, (i+1) mod width). Every provider call takes
//! `GIRDER_SIM_LATENCY_MS` (default 0) and fails with probability `GIRDER_SIM_FAIL_RATE`
//! (default 0; retryable unless `GIRDER_SIM_FAILURE=permanent`). The simulated cloud lives in
//! `GIRDER_SIM_DIR` (default `.girder-sim`), one file per live resource. With
//! `GIRDER_SIM_HOLD_FILE` set, creates after the first `GIRDER_SIM_HOLD_AFTER` (default 0)
//! wait while that file exists (tests stop an apply at an exact point this way).
//!
//! ```text
//! cargo run --example sim_dag -- plan
//! cargo run --example sim_dag -- apply --yes
//! ```

use std::time::Duration;

use girder::testing::sim::layered::Layered;
use girder::testing::sim::{FailureKind, SimPackage};

fn setting<T: std::str::FromStr>(name: &str, default: T) -> girder::Result<T> {
    match std::env::var(name) {
        Ok(text) => text
            .parse()
            .map_err(|_| format!("{name}=`{text}` is not a valid value").into()),
        Err(_) => Ok(default),
    }
}

/// Reading the settings can fail before any command runs; then the command's own status.
fn main() -> girder::Result<girder::Exit> {
    let shape = Layered {
        resources: setting("GIRDER_SIM_N", 100usize)?,
        layers: setting("GIRDER_SIM_LAYERS", 10usize)?.max(1),
    };
    let latency = Duration::from_millis(setting("GIRDER_SIM_LATENCY_MS", 0u64)?);
    let fail_rate: f64 = setting("GIRDER_SIM_FAIL_RATE", 0.0)?;
    let failure = match std::env::var("GIRDER_SIM_FAILURE").as_deref() {
        Ok("permanent") => FailureKind::Permanent,
        _ => FailureKind::Retryable,
    };
    let dir = std::env::var("GIRDER_SIM_DIR").unwrap_or_else(|_| ".girder-sim".into());
    let mut sim = SimPackage::in_dir(dir)?
        .latency(latency)
        .fail_rate(fail_rate, failure);
    if let Ok(file) = std::env::var("GIRDER_SIM_HOLD_FILE") {
        sim = sim.hold_creates_after(setting("GIRDER_SIM_HOLD_AFTER", 0u64)?, file);
    }

    Ok(girder::Program::new().package(sim).run(move |s| {
        let layers = shape.add(s);
        if let (Some(first), Some(last)) = (layers.first(), layers.last()) {
            s.export("first", first[0].id());
            s.export("last", last[last.len() - 1].id());
        }
        Ok(())
    }))
}
