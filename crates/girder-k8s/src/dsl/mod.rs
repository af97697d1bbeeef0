//! The typed DSL: builders that declare Kubernetes objects and handles that wire them.
//!
//! Data flow is the dependency edge: a Service made by `deployment.expose(..)` reads the
//! deployment's pod selector, a ConfigMap holding `service.url()` reads the Service's name
//! and port, a pod reading `config.key("K")` reads the ConfigMap's name — so each is applied
//! after what it uses and deleted before it. Builders check what they can when an object is
//! added (ports, keys, requests, secure defaults) and report through `Stack::report`, so a
//! miswired program does not build.
//!
//! Every builder takes a [`ClusterTarget`] when added: [`DefaultProvider`] (the kubeconfig)
//! or a provider node's handle ([`Kubernetes`], or an EKS cluster's `kubernetes(s)`).
//! Objects made from another object (`expose`, autoscalers, budgets, policies, bindings)
//! use that object's provider and namespace.

mod config;
mod container;
mod deployment;
mod manifest;
mod namespace;
mod network;
pub(crate) mod object;
mod rbac;
mod scaling;
mod service;

pub use crate::check::OptOut;
pub use config::{
    CHECKSUM_PREFIX, ConfigMap, ConfigMapHandle, EnvFromRef, KeyRef, Secret, SecretHandle,
};
pub use container::{Container, ContainerPort, DEFAULT_USER, Resources, quantity_problem};
pub use deployment::{Deployment, DeploymentHandle, NAME_LABEL};
pub use manifest::Manifest;
pub use namespace::{Kubernetes, Namespace, NamespaceHandle, PodSecurity};
pub use network::NetworkPolicy;
pub use object::{ClusterTarget, DefaultProvider, IntoNamespace, ObjectHandle};
pub use rbac::{
    ClusterRole, ClusterRoleBinding, ClusterRoleHandle, IRSA_ANNOTATION, PolicyRule, Role,
    RoleBinding, RoleHandle, ServiceAccount, ServiceAccountHandle,
};
pub use scaling::{HorizontalPodAutoscaler, HpaHandle, PodDisruptionBudget};
pub use service::{
    AppProtocol, EXTERNAL_DNS_HOSTNAME, ExposedService, Service, ServiceHandle, ServicePort,
    ServiceType, TargetPort,
};
