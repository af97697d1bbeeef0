//! The sandbox: moto, the AWS behaviour layer in front of it, and a Kubernetes API emulator
//! for each EKS cluster once it is ACTIVE — so a user, an example and an end-to-end test
//! all try the whole seed the same way, without an AWS account.
//!
//! Each cluster is served as EKS serves it ([`EmulatorHost`]): HTTPS with the cluster's own
//! CA, `k8s-aws-v1.` tokens verified through the layer's STS (the AWS endpoint in use),
//! authorization from the layer's access entries ([`LayerAccessSource`]), and the cluster's
//! Kubernetes version as the server version. DescribeCluster reports the emulator's endpoint
//! and CA, so a program configures its Kubernetes provider from the cluster's outputs.
//!
//! ```no_run
//! use girder_testing::sandbox::{Sandbox, SandboxOptions};
//! use girder_aws_layer::Behaviours;
//!
//! let sandbox = Sandbox::start(SandboxOptions {
//!     behaviours: Behaviours::all(),
//!     scale: 0.01,
//!     ..SandboxOptions::default()
//! })
//! .unwrap();
//! for (name, value) in sandbox.env() {
//!     println!("export {name}={value}");
//! }
//! sandbox.stop();
//! ```

mod cloud;
mod external_dns;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use girder_aws_layer::client::AwsClient;

use girder_aws_layer::eks::{AccessScope as LayerScope, EksRegistry};
use girder_aws_layer::moto::{MotoError, MotoServer};
use girder_aws_layer::{
    AwsLayer, Behaviours, ClusterEndpoint, ClusterHost, ClusterInfo, LayerConfig, LayerError,
};
use girder_kube_emulator::{
    AccessEntry, AccessScope, AccessSource, AccessSourceError, Authentication,
    CLUSTER_ADMIN_POLICY, EksAuthentication, EmulatorConfig, EmulatorError, KubeEmulator,
    StsEndpoint,
};

pub use cloud::{AwsCloudProvider, load_balancer_name};
pub use external_dns::HOSTNAME_ANNOTATION;

/// The environment variable that sets the scale of the sandbox's durations in the tests
/// that start one (`scripts/real-durations.sh` sets it to `1`).
pub const SCALE_ENV: &str = "GIRDER_SANDBOX_SCALE";

/// The scale of durations for a test's sandbox: [`SCALE_ENV`] when it is set to a positive
/// number, else `default` (the tests use `0.01`, so a ten-minute EKS creation takes six
/// seconds and the suite stays inside CI's budget).
///
/// ```
/// assert_eq!(girder_testing::sandbox::test_scale(0.01), 0.01);
/// ```
pub fn test_scale(default: f64) -> f64 {
    std::env::var(SCALE_ENV)
        .ok()
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|v| v.is_finite() && *v > 0.0)
        .unwrap_or(default)
}

/// How the sandbox starts.
#[derive(Clone, Debug)]
pub struct SandboxOptions {
    /// The behaviours of the layer.
    pub behaviours: Behaviours,
    /// The scale of every duration (`0.01`: a ten-minute cluster creation takes six seconds).
    pub scale: f64,
    /// The region the environment names.
    pub region: String,
    /// Whether each cluster's emulator plays the AWS cloud controller (classic ELBs and
    /// security groups for LoadBalancer Services) and, when the cluster runs it,
    /// external-dns (Route 53 records), as on EKS; see [`AwsCloudProvider`].
    pub cloud_controller: bool,
}

impl Default for SandboxOptions {
    fn default() -> Self {
        SandboxOptions {
            behaviours: Behaviours::all(),
            scale: 1.0,
            region: "us-east-1".into(),
            cloud_controller: true,
        }
    }
}

/// Why the sandbox could not start.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// moto did not start.
    #[error(transparent)]
    Moto(#[from] MotoError),
    /// The layer did not start.
    #[error(transparent)]
    Layer(#[from] LayerError),
}

/// What an emulator needs from the layer: the STS endpoint tokens are presigned for (the
/// AWS endpoint in use) and the EKS registry with the clusters' access entries.
#[derive(Clone, Debug)]
struct LayerLink {
    sts_endpoint: String,
    registry: EksRegistry,
    /// The scale of durations (the service controller's delay before it deletes).
    scale: f64,
    /// Whether the clusters get a cloud controller.
    cloud_controller: bool,
}

/// How long after a LoadBalancer Service's DELETE the cloud controller deletes its load
/// balancer, unscaled (the real controller's queue takes seconds).
const LOAD_BALANCER_DELETION_SECS: f64 = 5.0;

/// A cluster's access entries as the layer keeps them, read on every request, so entries
/// created, changed or deleted through the EKS API take effect at once. In `CONFIG_MAP`
/// mode the cluster's creator is a cluster admin without an entry, as EKS keeps it.
#[derive(Clone, Debug)]
pub struct LayerAccessSource {
    registry: EksRegistry,
}

impl LayerAccessSource {
    /// Entries from the layer's registry.
    pub fn new(registry: EksRegistry) -> LayerAccessSource {
        LayerAccessSource { registry }
    }

    /// The entries of `cluster` in the emulator's terms.
    pub fn entries(&self, cluster: &str) -> Vec<AccessEntry> {
        let Some(config) = self.registry.access_config(cluster) else {
            return Vec::new();
        };
        let mut entries: Vec<AccessEntry> = if config.uses_access_entries() {
            self.registry
                .access_entries(cluster)
                .into_iter()
                .map(|entry| {
                    let mut converted = AccessEntry::new(entry.principal_arn)
                        .username(entry.username)
                        .kubernetes_groups(entry.kubernetes_groups);
                    for policy in entry.policies {
                        let scope = match policy.scope {
                            LayerScope::Cluster => AccessScope::Cluster,
                            LayerScope::Namespace { namespaces } => {
                                AccessScope::Namespaces(namespaces)
                            }
                        };
                        converted = converted.policy(policy.policy_arn, scope);
                    }
                    converted
                })
                .collect()
        } else {
            Vec::new()
        };
        if !config.uses_access_entries()
            && let Some(creator) = self.registry.creator(cluster)
        {
            entries
                .push(AccessEntry::new(creator).policy(CLUSTER_ADMIN_POLICY, AccessScope::Cluster));
        }
        entries
    }
}

#[async_trait::async_trait]
impl AccessSource for LayerAccessSource {
    async fn access_entries(&self, cluster: &str) -> Result<Vec<AccessEntry>, AccessSourceError> {
        Ok(self.entries(cluster))
    }
}

/// The version an emulator reports for an EKS cluster's Kubernetes version (`1.36` →
/// `v1.36.1-eks-3a7c1f0`, EKS's form).
pub fn server_version(kubernetes_version: &str) -> String {
    format!("v{kubernetes_version}.1-eks-3a7c1f0")
}

/// Serves each ACTIVE EKS cluster with its own Kubernetes API emulator, as EKS serves it:
/// HTTPS with the cluster's own CA, `k8s-aws-v1.` tokens verified through the layer's STS,
/// authorization from the layer's access entries, and the cluster's Kubernetes version.
#[derive(Debug, Default)]
pub struct EmulatorHost {
    clusters: Mutex<BTreeMap<String, KubeEmulator>>,
    link: OnceLock<LayerLink>,
}

impl EmulatorHost {
    /// The URL of the emulator serving `cluster`, if it runs.
    pub fn url(&self, cluster: &str) -> Option<String> {
        self.lock().get(cluster).map(KubeEmulator::url)
    }

    /// The PEM of the CA of the emulator serving `cluster`, if it runs.
    pub fn ca_pem(&self, cluster: &str) -> Option<String> {
        self.lock()
            .get(cluster)
            .and_then(|e| e.ca_pem().map(str::to_owned))
    }

    /// An admin kubeconfig of `cluster` (a static token of `kubernetes-admin` in
    /// `system:masters`, and the cluster's CA), if it is served.
    pub fn admin_kubeconfig(&self, cluster: &str) -> Option<String> {
        self.lock().get(cluster).map(KubeEmulator::kubeconfig_yaml)
    }

    /// The clusters being served.
    pub fn clusters(&self) -> Vec<String> {
        self.lock().keys().cloned().collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, KubeEmulator>> {
        self.clusters.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Stops every emulator.
    pub fn stop_all(&self) {
        let emulators = std::mem::take(&mut *self.lock());
        for (_, emulator) in emulators {
            emulator.stop();
        }
    }

    fn start_emulator(&self, cluster: &ClusterInfo) -> Result<KubeEmulator, EmulatorError> {
        let mut config = EmulatorConfig {
            server_version: server_version(&cluster.version),
            ..EmulatorConfig::default()
        };
        let Some(link) = self.link.get() else {
            // Not attached to a layer: plain HTTP, no authentication, no cloud.
            return KubeEmulator::builder().config(config).start();
        };
        config.lb_deletion_delay =
            Duration::from_secs_f64((LOAD_BALANCER_DELETION_SECS * link.scale).max(0.0));
        let sts = StsEndpoint::moto(&link.sts_endpoint)?;
        let mut builder = KubeEmulator::builder()
            .config(config)
            .https()
            .authentication(Authentication::Eks(EksAuthentication::new(
                cluster.name.clone(),
                sts,
            )))
            .access_source(LayerAccessSource::new(link.registry.clone()));
        if link.cloud_controller {
            // Through the layer, as the real controller calls the AWS the program calls.
            match AwsClient::new(&link.sts_endpoint, "testing", &cluster.region) {
                Ok(client) => {
                    builder = builder.cloud_provider(AwsCloudProvider::new(
                        client,
                        &cluster.name,
                        cluster.subnet_ids.clone(),
                    ));
                }
                Err(error) => {
                    tracing::error!(cluster = %cluster.name, %error, "no cloud controller for the cluster");
                }
            }
        }
        builder.start()
    }
}

impl ClusterHost for EmulatorHost {
    fn cluster_active(&self, cluster: &ClusterInfo) -> Option<ClusterEndpoint> {
        match self.start_emulator(cluster) {
            Ok(emulator) => {
                let url = emulator.url();
                let ca_pem = emulator.ca_pem().unwrap_or_default().to_owned();
                tracing::info!(cluster = %cluster.name, %url, version = %cluster.version, "serving the cluster's Kubernetes API");
                if let Some(old) = self.lock().insert(cluster.name.clone(), emulator) {
                    old.stop();
                }
                Some(ClusterEndpoint { url, ca_pem })
            }
            Err(error) => {
                tracing::error!(cluster = %cluster.name, %error, "the Kubernetes emulator did not start");
                None
            }
        }
    }

    fn cluster_deleted(&self, name: &str) {
        if let Some(emulator) = self.lock().remove(name) {
            emulator.stop();
        }
    }
}

/// A running sandbox; stops everything (moto's process too) on [`Sandbox::stop`] or drop.
#[derive(Debug)]
pub struct Sandbox {
    layer: Option<AwsLayer>,
    host: Arc<EmulatorHost>,
    moto: Option<MotoServer>,
    region: String,
}

impl Sandbox {
    /// Starts moto (with AWS managed IAM policies loaded, as AWS has them), the layer in
    /// front of it and the cluster host.
    pub fn start(options: SandboxOptions) -> Result<Sandbox, SandboxError> {
        let moto = MotoServer::start_with_env(&[("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")])?;
        let host = Arc::new(EmulatorHost::default());
        let layer = AwsLayer::start(
            LayerConfig::new(moto.endpoint())
                .behaviours(options.behaviours)
                .scale(options.scale)
                .cluster_host(host.clone()),
        )?;
        let _ = host.link.set(LayerLink {
            sts_endpoint: layer.endpoint(),
            registry: layer.eks(),
            scale: options.scale,
            cloud_controller: options.cloud_controller,
        });
        Ok(Sandbox {
            layer: Some(layer),
            host,
            moto: Some(moto),
            region: options.region,
        })
    }

    /// The layer (switch behaviours, read counters, read the EKS registry).
    pub fn layer(&self) -> &AwsLayer {
        self.layer.as_ref().expect("the layer runs until stop")
    }

    /// The emulators serving the clusters.
    pub fn host(&self) -> &EmulatorHost {
        &self.host
    }

    /// moto's endpoint (behind the layer).
    pub fn moto_endpoint(&self) -> String {
        self.moto
            .as_ref()
            .map(MotoServer::endpoint)
            .unwrap_or_default()
    }

    /// moto's process id.
    pub fn moto_pid(&self) -> u32 {
        self.moto.as_ref().map(MotoServer::pid).unwrap_or_default()
    }

    /// The environment a program needs to use the sandbox.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        let endpoint = self.layer().endpoint();
        vec![
            ("AWS_ENDPOINT_URL", endpoint.clone()),
            ("AWS_REGION", self.region.clone()),
            ("AWS_DEFAULT_REGION", self.region.clone()),
            ("AWS_ACCESS_KEY_ID", "testing".into()),
            ("AWS_SECRET_ACCESS_KEY", "testing".into()),
            ("AWS_SESSION_TOKEN", "testing".into()),
            ("AWS_EC2_METADATA_DISABLED", "true".into()),
            ("GIRDER_AWS_LAYER_CONTROL", format!("{endpoint}/_layer")),
            ("GIRDER_SANDBOX_MOTO_ENDPOINT", self.moto_endpoint()),
            ("GIRDER_SANDBOX_MOTO_PID", self.moto_pid().to_string()),
        ]
    }

    /// [`Sandbox::env`] as `export NAME='VALUE'` lines for a shell to `source`.
    pub fn env_script(&self) -> String {
        self.env()
            .iter()
            .map(|(name, value)| format!("export {name}='{}'\n", value.replace('\'', r"'\''")))
            .collect()
    }

    /// Stops the layer, the emulators and moto (its process is killed and reaped).
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        if let Some(layer) = self.layer.take() {
            layer.stop();
        }
        self.host.stop_all();
        self.moto.take();
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        self.shutdown();
    }
}
