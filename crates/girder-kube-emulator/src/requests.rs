//! Counting the API requests the emulator serves, by verb and resource, so that a test can
//! check how many calls a client made (one LIST instead of fifty GETs) from the server's side
//! rather than trusting the client's own count.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// What a resource request was about, in the API server's authorization terms.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RequestKey {
    /// `get`, `list`, `watch`, `create`, `update`, `patch`, `delete`, `deletecollection`.
    pub verb: String,
    /// The API group (`""` for the core group, `apps`, …).
    pub group: String,
    /// The resource's plural (`configmaps`), with `/subresource` when one was addressed
    /// (`deployments/status`).
    pub resource: String,
}

/// How many resource requests the emulator served, per [`RequestKey`]. Discovery, OpenAPI
/// and health requests are not counted: they say nothing about how a client reads objects.
///
/// ```
/// use girder_kube_emulator::RequestCounts;
/// let counts = RequestCounts::default();
/// assert_eq!(counts.count("list", "", "configmaps"), 0);
/// assert_eq!(counts.total(), 0);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RequestCounts(pub BTreeMap<RequestKey, u64>);

impl RequestCounts {
    /// Requests with this verb on this group's resource.
    pub fn count(&self, verb: &str, group: &str, resource: &str) -> u64 {
        self.0
            .iter()
            .filter(|(k, _)| k.verb == verb && k.group == group && k.resource == resource)
            .map(|(_, n)| n)
            .sum()
    }

    /// Requests with this verb, on any resource.
    pub fn verb(&self, verb: &str) -> u64 {
        self.0
            .iter()
            .filter(|(k, _)| k.verb == verb)
            .map(|(_, n)| n)
            .sum()
    }

    /// Every counted request.
    pub fn total(&self) -> u64 {
        self.0.values().sum()
    }
}

/// The counter the HTTP front shares with [`KubeEmulator`](crate::KubeEmulator). A map of
/// counts, not a log, so that a long-running emulator (the sandbox) does not grow with every
/// request.
#[derive(Clone, Debug, Default)]
pub(crate) struct RequestCounter(Arc<Mutex<BTreeMap<RequestKey, u64>>>);

impl RequestCounter {
    pub fn record(&self, attrs: &crate::authz::Attributes) {
        if !attrs.resource_request {
            return;
        }
        let resource = if attrs.subresource.is_empty() {
            attrs.resource.clone()
        } else {
            format!("{}/{}", attrs.resource, attrs.subresource)
        };
        let key = RequestKey {
            verb: attrs.verb.clone(),
            group: attrs.api_group.clone(),
            resource,
        };
        *self
            .0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(key)
            .or_default() += 1;
    }

    pub fn snapshot(&self) -> RequestCounts {
        RequestCounts(self.0.lock().unwrap_or_else(|p| p.into_inner()).clone())
    }

    pub fn reset(&self) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }
}
