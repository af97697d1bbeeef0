//! The command-line options the Kubernetes provider contributes to every girder program.
//!
//! They live here rather than in `girder-cli` so the command line knows nothing about
//! Kubernetes: a program without the Kubernetes provider has no `--kubeconfig`.

use std::path::PathBuf;

use crate::K8sPackage;

/// The Kubernetes provider's options: `--kubeconfig PATH` (or `GIRDER_KUBECONFIG`).
///
/// A program's command line gets them through `girder_cli::App::package_with_args`; the
/// `girder` facade does that when its `k8s` feature is on.
///
/// ```
/// use clap::Parser;
/// use girder_k8s::KubernetesSettings;
///
/// #[derive(Parser)]
/// struct Cli {
///     #[command(flatten)]
///     kubernetes: KubernetesSettings,
/// }
///
/// let cli = Cli::parse_from(["program", "--kubeconfig", "/tmp/kind.yaml"]);
/// assert_eq!(cli.kubernetes.kubeconfig.unwrap().to_str(), Some("/tmp/kind.yaml"));
/// let package = KubernetesSettings::default().configure(girder_k8s::package());
/// # let _ = package;
/// ```
#[derive(Clone, Debug, Default, clap::Args)]
pub struct KubernetesSettings {
    /// Use this kubeconfig for every Kubernetes provider, including those girder derives from
    /// a cluster's outputs (for a cluster girder does not manage, or to debug one it does).
    #[arg(long, global = true, env = crate::KUBECONFIG_OVERRIDE_ENV, value_name = "PATH")]
    pub kubeconfig: Option<PathBuf>,
}

impl KubernetesSettings {
    /// The package with these settings applied.
    pub fn configure(&self, package: K8sPackage) -> K8sPackage {
        match &self.kubeconfig {
            Some(path) => package.with_kubeconfig_override(path.clone()),
            None => package,
        }
    }
}
