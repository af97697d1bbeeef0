//! The seed's application as a reusable girder component: what its Helm chart (`yolo_app`)
//! deployed — a frontend and a backend, wired by the ConfigMap `frontend-configmap` holding
//! `BACKEND_URL` — with typed [values](YoloAppValues) built with `typed-builder`.
//!
//! Unlike the chart, the wiring cannot go wrong: `BACKEND_URL` is the backend Service's typed
//! URL (`http://backend-service.NAMESPACE.svc.cluster.local:80`), so it names the Service and
//! one of its ports whatever the values say; each Service selects its Deployment's pods and
//! targets a port the container declares; bad values are reported when the program is built,
//! naming the value and the fix.
//!
//! Another crate depends on `yolo-app`, overrides the values it cares about and composes the
//! app with the rest of its program — here with the cluster add-ons:
//!
//! ```
//! use std::time::Duration;
//! use girder_core::Stack;
//! use girder_k8s::addons::{ClusterAutoscaler, ExternalDns, MetricsServer};
//! use girder_k8s::dsl::*;
//! use yolo_app::{Autoscaling, BackendValues, FrontendValues, Scaling, YoloApp, YoloAppValues};
//!
//! let mut s = Stack::new("prod");
//! let k8s = DefaultProvider; // in a full program: `eks.kubernetes(&mut s)`
//! let metrics = MetricsServer::new().add(&k8s, &mut s);
//! ClusterAutoscaler::new("yolo")
//!     .region("us-east-1")
//!     .role_arn("arn:aws:iam::123456789012:role/yolo-cluster-autoscaler") // `role.arn()`
//!     .scale_down_unneeded(Duration::from_secs(10 * 60))
//!     .add(&k8s, &mut s);
//! ExternalDns::new()
//!     .domain_filter("example.com")
//!     .txt_owner_id("yolo")
//!     .role_arn("arn:aws:iam::123456789012:role/yolo-external-dns")
//!     .add(&k8s, &mut s);
//!
//! let values = YoloAppValues::builder()
//!     .namespace("shop")
//!     .create_namespace()
//!     .frontend(FrontendValues::builder().hostname("shop.example.com").build())
//!     .backend(BackendValues {
//!         image: "ghcr.io/acme/backend:1.5".into(),
//!         scaling: Scaling::Autoscaled(Autoscaling::builder().min_replicas(3).max_replicas(20).build()),
//!         ..Default::default()
//!     })
//!     .build();
//! let app = YoloApp::new(values).depends_on(&metrics).add(&k8s, &mut s);
//!
//! // The app's handle wires it into the rest of the program.
//! let reports = Deployment::new("reports")
//!     .namespace("shop")
//!     .image("ghcr.io/acme/reports:0.3")
//!     .env("BACKEND_URL", app.backend_url())
//!     .resources(Resources::new().cpu("50m", "200m").memory("64Mi", "128Mi"))
//!     .add(&k8s, &mut s);
//! # let _ = reports;
//! let graph = s.finish().expect("the program builds");
//! assert!(girder_k8s::check::check(&graph).is_empty());
//! ```

mod app;
mod tier;
mod values;

pub use app::{YoloApp, YoloAppHandle};
pub use values::{
    Autoscaling, BackendValues, FrontendValues, ResourceValues, Scaling, YoloAppValues,
};

/// The variable the frontend reads the backend's URL from.
pub const BACKEND_URL: &str = "BACKEND_URL";
