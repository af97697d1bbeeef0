//! EC2 networking resources: VPC, subnets, gateways, routing, security groups, flow logs;
//! the [`catalogue`] of instance types, for build-time checks; and the client-side
//! [`buckets`] that keep EC2 requests under EC2's rate limits.

pub mod buckets;
pub mod catalogue;
pub mod eip;
pub mod flow_log;
pub mod internet_gateway;
pub mod nat_gateway;
pub mod route;
pub mod route_table;
pub mod security_group;
pub mod subnet;
pub mod vpc;

use std::collections::HashMap;
use std::future::Future;

use aws_sdk_ec2::types::Filter;
use girder_engine::ProviderError;
use girder_engine::typed::ReadTarget;

use crate::tags;

/// Describes the objects `items` name, keyed by id: one describe call per 200 ids (filtered
/// by `filter`, such as `subnet-id`), never one per resource. Objects that no longer exist
/// are absent from the map.
pub(crate) async fn describe_by_ids<I, T, D, Fut>(
    items: &[ReadTarget<I>],
    filter: &str,
    describe: D,
    id_of: impl Fn(&T) -> Option<&str>,
) -> Result<HashMap<String, T>, ProviderError>
where
    D: Fn(Vec<Filter>) -> Fut,
    Fut: Future<Output = Result<Vec<T>, ProviderError>>,
{
    let ids: Vec<String> = items.iter().map(|i| i.id.clone()).collect();
    let mut found = HashMap::with_capacity(ids.len());
    for chunk in tags::chunks(&ids) {
        for object in describe(vec![tags::ec2_filter(filter, chunk.iter().cloned())]).await? {
            if let Some(id) = id_of(&object) {
                found.insert(id.to_owned(), object);
            }
        }
    }
    Ok(found)
}
