//! Finding the configured provider for a recorded resource outside an apply (refresh,
//! recovery): the program's provider node if its configuration can be computed from recorded
//! outputs, else the configuration recorded in the state.

use girder_core::{Graph, NodeKind, Value};

use crate::provider::ProviderError;
use crate::registry::{Configured, Instances, ProviderKey};
use crate::state::Snapshot;

/// Why a provider cannot be configured yet.
#[derive(Debug)]
pub(crate) enum Unavailable {
    /// Its configuration depends on values that are not known yet (a cluster not created).
    Unknown(String),
    /// Configuring failed.
    Failed(ProviderError),
}

/// The provider for resources of `type_name` with an optional provider node.
pub(crate) async fn provider_for(
    instances: &Instances,
    type_name: &str,
    provider: Option<&str>,
    snapshot: &Snapshot,
    graph: Option<&Graph>,
) -> Result<Configured, Unavailable> {
    let key = ProviderKey::for_resource(type_name, provider);
    if let Some(configured) = instances.configured(&key) {
        return Ok(configured);
    }
    let (package, config) = match &key {
        ProviderKey::Default(package) => (package.clone(), Value::Null),
        ProviderKey::Node(name) => node_config(name, snapshot, graph)?,
    };
    instances
        .get(&key, &package, &config)
        .await
        .map_err(Unavailable::Failed)
}

fn node_config(
    name: &str,
    snapshot: &Snapshot,
    graph: Option<&Graph>,
) -> Result<(String, Value), Unavailable> {
    if let Some(graph) = graph
        && let Some(index) = graph.find(name)
    {
        let node = graph.node_at(index);
        if node.spec.kind == NodeKind::Provider {
            let recorded = |id: girder_core::NodeId| {
                snapshot
                    .resources
                    .get(&graph.node(id).spec.name)
                    .map(|r| &r.outputs)
            };
            let config =
                node.spec.inputs.resolve(&recorded).map_err(|e| {
                    Unavailable::Failed(ProviderError::invalid_input(e.to_string()))
                })?;
            if !config.contains_unknown() {
                return Ok((node.spec.package().to_owned(), config));
            }
        }
    }
    match snapshot.resources.get(name) {
        Some(recorded) if recorded.kind == NodeKind::Provider => {
            Ok((recorded.package().to_owned(), recorded.inputs.clone()))
        }
        _ => Err(Unavailable::Unknown(format!(
            "the configuration of provider `{name}` is not known yet"
        ))),
    }
}
