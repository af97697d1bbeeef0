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
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        EmulatorConfig {
            rollout_step: Duration::from_millis(50),
            lb_hostname_delay: Duration::from_millis(200),
            failing_image_patterns: vec!["never-ready".to_string()],
            progress_deadline_scale: 0.01,
            min_progress_deadline: Duration::from_millis(150),
            controller_tick: Duration::from_millis(10),
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

    /// The emulated progress deadline for a Deployment's `progressDeadlineSeconds`.
    pub fn progress_deadline(&self, seconds: f64) -> Duration {
        let scaled = (seconds.max(0.0) * self.progress_deadline_scale.max(0.0)).min(1.0e9);
        Duration::from_secs_f64(scaled).max(self.min_progress_deadline)
    }
}

/// The name of the cluster, context and user in generated kubeconfigs.
pub const CONTEXT_NAME: &str = "girder-emulator";

/// A kubeconfig with one cluster, context and user named [`CONTEXT_NAME`], pointing at `url`.
pub(crate) fn kubeconfig_yaml(url: &str) -> String {
    format!(
        "apiVersion: v1
kind: Config
clusters:
- name: {CONTEXT_NAME}
  cluster:
    server: {url}
contexts:
- name: {CONTEXT_NAME}
  context:
    cluster: {CONTEXT_NAME}
    user: {CONTEXT_NAME}
    namespace: default
current-context: {CONTEXT_NAME}
users:
- name: {CONTEXT_NAME}
  user: {{}}
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
        let y = kubeconfig_yaml("http://127.0.0.1:1234");
        let v: serde_json::Value = serde_yaml_ng::from_str(&y).unwrap();
        assert_eq!(v["current-context"], CONTEXT_NAME);
        assert_eq!(
            v["clusters"][0]["cluster"]["server"],
            "http://127.0.0.1:1234"
        );
    }
}
