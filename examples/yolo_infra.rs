//! The seed deployment's infrastructure as its own stack: network, cluster, zone and IRSA
//! roles. Its outputs are the typed contract `girder_examples::yolo::outputs`, which
//! `yolo_app` reads through a stack reference.
//!
//! ```text
//! cargo run --example yolo_infra -- --stack yolo-infra apply
//! cargo run --example yolo_app   -- --stack yolo-app apply
//! ```

use girder::prelude::*;
use girder_examples::yolo::{self, Settings};

fn main() -> girder::Exit {
    let settings = Settings::from_env();
    girder::run(move |s: &mut Stack| {
        let infra = yolo::infra(s, &settings);
        yolo::export_infra(s, &infra, &settings);
        Ok(())
    })
}
