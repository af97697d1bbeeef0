//! girder's Kubernetes provider and its DSL.
//!
//! - [`dsl`]: typed builders and handles — [`Deployment`](dsl::Deployment),
//!   [`Service`](dsl::Service) (from `deployment.expose(..)`), [`ConfigMap`](dsl::ConfigMap),
//!   [`Secret`](dsl::Secret), [`ServiceAccount`](dsl::ServiceAccount) (IRSA),
//!   [`HorizontalPodAutoscaler`](dsl::HorizontalPodAutoscaler),
//!   [`PodDisruptionBudget`](dsl::PodDisruptionBudget), [`NetworkPolicy`](dsl::NetworkPolicy),
//!   RBAC, [`Namespace`](dsl::Namespace), and [`Manifest`](dsl::Manifest) for any
//!   `k8s-openapi` type or raw YAML (CRDs before their custom resources).
//! - [`package()`]: the provider package (`k8s`): server-side apply with the field manager
//!   `girder`, conflicts reported with the other manager's name, foreground deletes that wait,
//!   drift read from the live object, rollout and load-balancer waits.
//! - [`check`]: secure defaults and the wiring check, at build time and at plan time.
//! - [`render()`]: every object of a program as YAML, one file per object.
//! - [`addons`]: metrics-server, cluster-autoscaler and external-dns as typed components
//!   with pinned images.
//!
//! ```
//! use girder_core::Stack;
//! use girder_k8s::dsl::*;
//!
//! let mut s = Stack::new("dev");
//! let small = Resources::new().cpu("100m", "500m").memory("128Mi", "256Mi");
//! let backend = Deployment::new("backend")
//!     .image("ghcr.io/acme/backend:1.4")
//!     .port(8080)
//!     .replicas(2)
//!     .resources(small.clone())
//!     .add(DefaultProvider, &mut s);
//! let backend_svc = backend.expose(ServicePort::http(80, 8080)).name("backend-service").add(&mut s);
//! let config = ConfigMap::new("frontend-configmap")
//!     .data("BACKEND_URL", backend_svc.url())
//!     .add(DefaultProvider, &mut s);
//! Deployment::new("frontend")
//!     .image("ghcr.io/acme/frontend:2.0")
//!     .port(3000)
//!     .env_from_key("BACKEND_URL", config.key("BACKEND_URL"))
//!     .resources(small)
//!     .add(DefaultProvider, &mut s);
//! let graph = s.finish().expect("the program is wired correctly");
//! assert!(girder_k8s::check::check(&graph).is_empty());
//! ```

// `.add(stack)` is the DSL's verb for every builder (see DESIGN.md); builders are not numbers,
// so the lint's suggestion (implement `std::ops::Add`) does not apply.
#![allow(clippy::should_implement_trait)]

pub mod addons;
pub mod check;
mod config;
pub mod dsl;
mod error;
pub mod kinds;
mod package;
mod provider;
mod render;
mod settings;

pub use config::{ClusterAuth, Connection, KUBECONFIG_OVERRIDE_ENV, TokenSource};
pub use error::K8sError;
pub use kinds::{Kind, PROVIDER_TYPE};
pub use package::{K8sPackage, package};
pub use provider::{ReadCount, ReadCounter};
pub use render::{
    RenderOptions, RenderedManifest, UNKNOWN_PLACEHOLDER, render, render_applicable, render_with,
};
pub use settings::KubernetesSettings;

/// The field manager girder applies with.
pub const FIELD_MANAGER: &str = "girder";

/// The top-level input key holding girder's own settings for an object (force, waits); it
/// is never sent to the API server.
pub const GIRDER_SETTINGS: &str = "girder";

/// The label every object girder applies carries.
pub const MANAGED_BY_LABEL: (&str, &str) = ("app.kubernetes.io/managed-by", "girder");

/// The annotation naming the stack that owns an object.
pub const STACK_ANNOTATION: &str = "girder.dev/stack";

/// The annotation naming the resource (graph node) an object is.
pub const RESOURCE_ANNOTATION: &str = "girder.dev/resource";
