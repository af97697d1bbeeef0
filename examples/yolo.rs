//! The whole seed deployment in one program and one run: the network, the EKS cluster with an
//! on-demand and a spot nodegroup and control-plane logs, OIDC and IRSA, the Route 53 zone,
//! metrics-server, cluster-autoscaler, external-dns, and the app — a frontend and a backend
//! wired by `BACKEND_URL`, with autoscalers and locked-down pods — deployed into the cluster
//! the same run creates.
//!
//! ```text
//! cargo run --example yolo -- plan                 # offline, no credentials needed
//! cargo run --example yolo -- apply                # with AWS credentials, or in the sandbox:
//! cargo run -p girder-testing --bin sandbox -- --env-out sandbox.env --scale 0.01 &
//! source sandbox.env && cargo run --example yolo -- apply
//! cargo run --example yolo -- --kubeconfig ~/.kube/kind apply   # the Kubernetes side elsewhere
//! ```
//!
//! Environment knobs (with the seed's values as defaults): `GIRDER_YOLO_REGION`,
//! `GIRDER_YOLO_DOMAIN`, `GIRDER_YOLO_FRONTEND_IMAGE`, `GIRDER_YOLO_BACKEND_IMAGE`.

use girder::prelude::*;
use girder_examples::yolo::{self, ClusterFacts, Settings};

fn main() -> girder::Exit {
    let settings = Settings::from_env();
    girder::run(move |s: &mut Stack| {
        let infra = yolo::infra(s, &settings);
        yolo::export_infra(s, &infra, &settings);
        // A Kubernetes provider configured from the cluster's outputs: the app waits for the
        // cluster and its nodes, in the same run.
        let k8s = infra.eks.kubernetes(s);
        let facts = ClusterFacts {
            cluster_name: infra.eks.name().map(|name| name.to_string()),
            cluster_autoscaler_role: infra.cluster_autoscaler_role.arn(),
            external_dns_role: infra.external_dns_role.arn(),
        };
        let app = yolo::platform_and_app(s, &k8s, facts, &settings);
        yolo::export_app(s, &app, &settings);
        Ok(())
    })
}
