//! The seed deployment's platform and app as their own stack, on the cluster of the
//! `yolo-infra` stack (or `GIRDER_YOLO_INFRA_STACK`), read through a typed stack reference:
//! the cluster's endpoint, certificate authority and name configure the Kubernetes provider;
//! the IRSA roles go to cluster-autoscaler and external-dns.
//!
//! ```text
//! cargo run --example yolo_infra -- --stack yolo-infra apply
//! cargo run --example yolo_app   -- --stack yolo-app plan
//! ```

use girder::prelude::*;
use girder_examples::yolo::{self, ClusterFacts, Settings, outputs};

fn main() -> girder::Exit {
    let settings = Settings::from_env();
    girder::run(move |s: &mut Stack| {
        let infra = StackReference::new(settings.infra_stack.clone()).add(s);
        let k8s = Kubernetes::cluster(
            infra.get(outputs::ENDPOINT),
            infra.get(outputs::CERTIFICATE_AUTHORITY),
        )
        .eks_auth(infra.get(outputs::CLUSTER_NAME), infra.get(outputs::REGION))
        .add(s);
        let facts = ClusterFacts {
            cluster_name: infra.get(outputs::CLUSTER_NAME),
            cluster_autoscaler_role: infra.get(outputs::CLUSTER_AUTOSCALER_ROLE),
            external_dns_role: infra.get(outputs::EXTERNAL_DNS_ROLE),
        };
        let app = yolo::platform_and_app(s, &k8s, facts, &settings);
        yolo::export_app(s, &app, &settings);
        Ok(())
    })
}
