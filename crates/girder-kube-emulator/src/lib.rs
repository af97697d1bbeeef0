//! An in-process **Kubernetes API emulator** for girder's tests: the real `kube::Client` and
//! the real `kubectl` talk to it over plain HTTP on `http://127.0.0.1:PORT` — or, as the API
//! endpoint of an EKS cluster, over HTTPS with its own CA ([`KubeEmulator::ca_pem`]),
//! authenticating EKS bearer tokens through STS and authorizing them with the cluster's access
//! entries and access policies (see [`KubeEmulatorBuilder`], [`Authentication`],
//! [`EksAuthentication`], [`AccessSource`]).
//!
//! It is **not a cluster**. It keeps objects in memory, answers the REST API in the shape
//! of the real API server, and simulates just enough controller behaviour for deployment
//! tooling to observe rollouts. Start one with [`KubeEmulator::start`]; point clients at
//! [`KubeEmulator::url`] or a kubeconfig from [`KubeEmulator::kubeconfig_yaml`].
//!
//! # What it emulates
//!
//! - **Discovery**: `/api`, `/apis`, `/apis/{group}`, resource lists per group/version and
//!   `/version`, for core/v1, apps/v1, autoscaling/v2, batch/v1, policy/v1,
//!   networking.k8s.io/v1, rbac.authorization.k8s.io/v1, storage.k8s.io/v1,
//!   apiextensions.k8s.io/v1, and the groups of applied CRDs. Only legacy discovery is
//!   served; clients asking for aggregated discovery get it with `application/json` and fall
//!   back, as they do with older servers.
//! - **OpenAPI v3** (`/openapi/v3`): a minimal document per group/version that lists each
//!   kind's PATCH operation with the `fieldValidation` parameter, which is what kubectl's
//!   default `--validate=strict` checks. There are no field schemas; `fieldValidation` is
//!   accepted but unknown fields are not rejected. `/openapi/v2` is 404 (kubectl tolerates it).
//! - **Objects**: create, get, list (label selectors with `=`, `==`, `!=`, `in`, `notin`,
//!   exists, `!`; field selectors on any path; `limit`/`continue`; a built-in kind's items
//!   without `apiVersion`/`kind`, as the API server sends them), update (PUT), JSON merge
//!   patch, strategic merge patch (keyed merges of containers, ports, env, volumes, volume
//!   mounts, conditions, owner references, finalizers; `$patch`, `$setElementOrder`,
//!   `$retainKeys`, `$deleteFromPrimitiveList`), JSON patch, delete and delete-collection, on
//!   namespaced and cluster-scoped kinds; `/status` and `/scale` subresources. A global
//!   `resourceVersion` counter, `generation` bumped on changes outside `metadata`/`status`,
//!   `uid`, `creationTimestamp`, `generateName`, optimistic concurrency (409 on a stale
//!   `resourceVersion`), namespaces that must exist (404) and must not be terminating (403),
//!   `dryRun=All` on every write; Secrets' `stringData` is encoded into `data`. Errors are
//!   `metav1.Status` objects.
//! - **Server-side apply**: `application/apply-patch+yaml` (YAML or JSON body) with
//!   `fieldManager` creates or updates; `managedFields` in the real `FieldsV1` format for
//!   Apply and Update operations; conflicts (409 with `FieldManagerConflict` causes naming the
//!   field and the other manager); `force=true`; fields a manager stops applying are removed
//!   unless another manager owns them. List semantics come from a built-in table for core
//!   kinds and from `x-kubernetes-list-type` / `x-kubernetes-list-map-keys` in CRD schemas.
//! - **Deletion**: `propagationPolicy` Background, Foreground (owner kept with the
//!   `foregroundDeletion` finalizer until its dependents are gone) and Orphan; finalizers
//!   (the object stays with `deletionTimestamp` until an update removes them); owner-reference
//!   garbage collection; namespace termination deletes the namespace's contents.
//! - **Simulated controllers**: Deployments get ReplicaSets and Pods and a status that moves
//!   through a rollout (see [`EmulatorConfig`]); a new template yields a new ReplicaSet and
//!   scales the old one down; images matching `failing_image_patterns` never become ready and
//!   the rollout ends in `ProgressDeadlineExceeded`. Services get cluster IPs from
//!   10.96.0.0/12 and node ports; LoadBalancer Services get
//!   `status.loadBalancer.ingress[0].hostname` after a delay — or, with a [`CloudProvider`]
//!   ([`KubeEmulatorBuilder::cloud_provider`]), the `service.kubernetes.io/load-balancer-cleanup`
//!   finalizer and the DNS name of a load balancer the provider makes, deleted again before
//!   a deleted Service goes (the cloud controller manager's service controller); the provider
//!   also sees the cluster after each change, to play external-dns. Pods get a node, a phase, an IP
//!   and container statuses. CRDs are accepted and `Established` at once.
//! - **Watch**: `?watch=true` on collections (and the legacy `/watch/` paths), with selectors,
//!   `resourceVersion`, `sendInitialEvents` and `timeoutSeconds`.
//! - **Server-side printing**: `Table` responses so `kubectl get` prints columns.
//! - **Request counts** ([`KubeEmulator::requests`]): the resource requests served, by verb
//!   and resource, so a test can check from the server's side how many calls a client made.
//!
//! # What it does not emulate
//!
//! No scheduling (every Pod lands on one fake node), no kubelet, containers, images, probes,
//! logs, exec or port-forward; no real networking (IPs are labels; Services have no
//! Endpoints); no admission webhooks, no validating or mutating admission policies, no
//! OpenAPI field validation or defaulting beyond a few kinds; no authentication or
//! authorization (every request is allowed); no TLS; no aggregated APIs or API priority and
//! fairness; no protobuf; no CRD conversion webhooks (all versions of a CRD share storage);
//! no StatefulSet, DaemonSet, Job, CronJob or HPA controllers (their objects are stored but
//! nothing acts on them); no Deployment `paused`, `Recreate` strategy or revision history
//! clean-up; watches do not send periodic bookmarks or `DELETED` for objects leaving a
//! selector; state is lost when the emulator stops.

mod access;
mod admission;
mod auth;
mod authz;
mod cli;
mod clock;
mod cloud;
mod config;
mod controllers;
mod deletion;
mod discovery;
mod error;
mod fieldpath;
mod http;
mod object;
mod openapi;
mod ops;
mod patch;
mod quantities;
mod requests;
mod resources;
mod reviews;
mod scale;
mod schema;
mod selectors;
mod server;
mod ssa;
mod store;
mod table;
mod tls;
mod watch;

pub use access::{
    ADMIN_POLICY, ADMIN_VIEW_POLICY, AccessEntry, AccessPolicyAssociation, AccessScope,
    AccessSource, AccessSourceError, CLUSTER_ADMIN_POLICY, EDIT_POLICY, FileAccessSource,
    InMemoryAccessSource, SECRET_READER_POLICY, VIEW_POLICY,
};
pub use auth::{
    Authentication, EksAuthentication, SigningSecrets, StaticSigningSecrets, StaticTokens,
    StsEndpoint, StsFlavor, UserInfo,
};
pub use cli::cli_main;
pub use clock::{Clock, ManualClock, SystemClock};
pub use cloud::{
    CloudError, CloudProvider, ClusterView, LOAD_BALANCER_FINALIZER, LoadBalancerService,
    LoadBalancerStatus, ServicePort,
};
pub use config::{CONTEXT_NAME, DEFAULT_SERVER_VERSION, EmulatorConfig};
pub use controllers::NODE_NAME;
pub use discovery::GIT_VERSION;
pub use error::{ApiError, Cause, EmulatorError};
pub use requests::{RequestCounts, RequestKey};
pub use server::{KubeEmulator, KubeEmulatorBuilder};
