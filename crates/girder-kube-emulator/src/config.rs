//! Configuration of the emulator and of its simulated controllers, and the kubeconfig it
//! hands to clients.

use std::time::Duration;

/// Tunables of the emulated cluster. `EmulatorConfig::default()` gives fast, successful
/// rollouts; list images in `failing_image_patterns` to make rollouts fail.
#[derive(Debug, Clone, PartialEq)]
pub struct EmulatorConfig {
    /// Time for one simulated replica step: a ReplicaSet creates at most one Pod per step and
    /// a Pod becomes ready one step after it was created. Default 50 ms.
    pub rollout_step: Duration,
    /// Delay before a `LoadBalancer` Service gets `status.loadBalancer.ingress[0].hostname`.
    /// Default 200 ms.
    pub lb_hostname_delay: Duration,
    /// Pods with a container whose image contains any of these substrings never become ready
    /// (they stay `Pending` with an `ImagePullBackOff` waiting reason). Default `["never-ready"]`.
    pub failing_image_patterns: Vec<String>,
    /// Factor applied to a Deployment's `spec.progressDeadlineSeconds` (default 600 s) to get
    /// the emulated deadline. Default 0.01, so 600 s become 6 s and a `progressDeadlineSeconds`
    /// of 10 becomes 100 ms.
    pub progress_deadline_scale: f64,
    /// Lower bound of the scaled progress deadline, so a tiny `progressDeadlineSeconds` still
    /// leaves time for a healthy rollout. Default 150 ms.
    pub min_progress_deadline: Duration,
    /// How often the simulated controllers re-check time-based transitions when nothing else
    /// wakes them. Default 10 ms.
    pub controller_tick: Duration,
    /// The version `/version` reports (and the node's kubelet), in EKS's form
    /// `vMAJOR.MINOR.PATCH-eks-COMMIT`. Default [`DEFAULT_SERVER_VERSION`].
    pub server_version: String,
    /// How long the namespace controller leaves a deleted namespace alone before deleting its
    /// contents (read on the emulator's [`crate::Clock`]). A real controller is seconds behind
    /// the DELETE, which is why `kubectl delete -f` of a namespace and its objects finds the
    /// objects still there. Default 1 s.
    pub namespace_deletion_delay: Duration,
    /// With a [`crate::CloudProvider`]: how long a deleted LoadBalancer Service waits before
    /// its load balancer is deleted (read on the emulator's [`crate::Clock`]), as the real
    /// service controller acts some time after the DELETE. Default 0.
    pub lb_deletion_delay: Duration,
}

/// The default server version: Kubernetes 1.35 as EKS serves it (in EKS standard support
/// until March 2027).
pub const DEFAULT_SERVER_VERSION: &str = "v1.35.2-eks-b5b1d42";

impl Default for EmulatorConfig {
    fn default() -> Self {
        EmulatorConfig {
            rollout_step: Duration::from_millis(50),
            lb_hostname_delay: Duration::from_millis(200),
            failing_image_patterns: vec!["never-ready".to_string()],
            progress_deadline_scale: 0.01,
            min_progress_deadline: Duration::from_millis(150),
            controller_tick: Duration::from_millis(10),
            server_version: DEFAULT_SERVER_VERSION.to_string(),
            namespace_deletion_delay: Duration::from_secs(1),
            lb_deletion_delay: Duration::ZERO,
        }
    }
}

impl EmulatorConfig {
    /// Whether an image matches one of the failing patterns.
    pub fn image_fails(&self, image: &str) -> bool {
        self.failing_image_patterns
            .iter()
            .any(|p| !p.is_empty() && image.contains(p.as_str()))
    }

    /// (major, minor) of [`EmulatorConfig::server_version`], or why it is malformed.
    pub fn version_numbers(&self) -> Result<(u32, u32), String> {
        let numbers = self
            .server_version
            .strip_prefix('v')
            .map(|v| v.split(['-', '+']).next().unwrap_or_default())
            .unwrap_or_default();
        let parts: Vec<&str> = numbers.split('.').collect();
        match parts[..] {
            [major, minor, patch]
                if [major, minor, patch]
                    .iter()
                    .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit())) =>
            {
                Ok((
                    major.parse().map_err(|e| format!("{e}"))?,
                    minor.parse().map_err(|e| format!("{e}"))?,
                ))
            }
            _ => Err(format!(
                "server_version {:?} is not a Kubernetes version; write it like {DEFAULT_SERVER_VERSION:?} (vMAJOR.MINOR.PATCH with an optional -suffix)",
                self.server_version
            )),
        }
    }

    /// The emulated progress deadline for a Deployment's `progressDeadlineSeconds`.
    pub fn progress_deadline(&self, seconds: f64) -> Duration {
        let scaled = (seconds.max(0.0) * self.progress_deadline_scale.max(0.0)).min(1.0e9);
        Duration::from_secs_f64(scaled).max(self.min_progress_deadline)
    }
}

/// The name of the cluster, context and user in generated kubeconfigs.
pub const CONTEXT_NAME: &str = "girder-emulator";

/// A kubeconfig with one cluster, context and user named [`CONTEXT_NAME`], pointing at `url`;
/// the cluster trusts `ca_pem` when given, and the user sends `token` when given.
pub(crate) fn kubeconfig_yaml(url: &str, ca_pem: Option<&str>, token: Option<&str>) -> String {
    use base64::Engine as _;
    let ca = ca_pem
        .map(|pem| {
            format!(
                "\n    certificate-authority-data: {}",
                base64::engine::general_purpose::STANDARD.encode(pem)
            )
        })
        .unwrap_or_default();
    let user = match token {
        Some(token) => format!("\n    token: {}", serde_json::Value::from(token)),
        None => " {}".to_string(),
    };
    format!(
        "apiVersion: v1
kind: Config
clusters:
- name: {CONTEXT_NAME}
  cluster:
    server: {url}{ca}
contexts:
- name: {CONTEXT_NAME}
  context:
    cluster: {CONTEXT_NAME}
    user: {CONTEXT_NAME}
    namespace: default
current-context: {CONTEXT_NAME}
users:
- name: {CONTEXT_NAME}
  user:{user}
preferences: {{}}
"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_deadline() {
        let c = EmulatorConfig::default();
        assert!(c.image_fails("ghcr.io/acme/never-ready:1"));
        assert!(!c.image_fails("nginx:1.27"));
        assert_eq!(c.progress_deadline(600.0), Duration::from_secs(6));
        assert_eq!(c.progress_deadline(1.0), Duration::from_millis(150));
    }

    #[test]
    fn kubeconfig_parses_as_yaml() {
        let y = kubeconfig_yaml("http://127.0.0.1:1234", None, None);
        let v: serde_json::Value = serde_yaml_ng::from_str(&y).unwrap();
        assert_eq!(v["current-context"], CONTEXT_NAME);
        assert_eq!(
            v["clusters"][0]["cluster"]["server"],
            "http://127.0.0.1:1234"
        );
        assert_eq!(v["users"][0]["user"], serde_json::json!({}));
        let y = kubeconfig_yaml(
            "https://127.0.0.1:1234",
            Some("-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n"),
            Some("t: o\"ken"),
        );
        let v: serde_json::Value = serde_yaml_ng::from_str(&y).unwrap();
        assert_eq!(v["users"][0]["user"]["token"], "t: o\"ken");
        assert!(
            v["clusters"][0]["cluster"]["certificate-authority-data"]
                .as_str()
                .unwrap()
                .starts_with("LS0tLS1CRUdJTi")
        );
    }

    #[test]
    fn server_versions() {
        let mut c = EmulatorConfig::default();
        assert_eq!(c.version_numbers(), Ok((1, 35)));
        c.server_version = "v1.36.0".into();
        assert_eq!(c.version_numbers(), Ok((1, 36)));
        for bad in ["1.35.2", "v1.35", "vX.Y.Z", ""] {
            c.server_version = bad.into();
            assert!(
                c.version_numbers()
                    .unwrap_err()
                    .contains("vMAJOR.MINOR.PATCH")
            );
        }
    }
}
