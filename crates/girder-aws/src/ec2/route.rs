//! `aws:ec2/route`: one route of a route table.
//!
//! Routes have no id and no tags in EC2; girder names a route `<route table>_<destination>`
//! (as Terraform does) and creating a route that already exists with the same target adopts
//! it, which keeps crash recovery safe without tags.

use std::collections::{BTreeSet, HashMap};

use async_trait::async_trait;
use aws_sdk_ec2::types::Route;
use girder_engine::typed::{
    TypedCreateRequest, TypedCreateResponse, TypedDeleteRequest, TypedFindRequest,
    TypedFindResponse, TypedObserved, TypedReadRequest, TypedReadResponse, TypedResource,
    TypedUpdateRequest, TypedUpdateResponse,
};
use girder_engine::{CallContext, ErrorKind, ProviderError, ResourceSchema};
use serde::{Deserialize, Serialize};

use crate::clients::AwsClients;
use crate::ec2::route_table::describe_route_tables;
use crate::error::{AwsResultExt, Call, is_not_found};
use crate::tags;

/// The type token.
pub const ROUTE: &str = "aws:ec2/route";

/// Inputs of `aws:ec2/route`: a destination and exactly one target.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RouteInputs {
    /// The route table.
    pub route_table_id: String,
    /// The IPv4 destination, such as `0.0.0.0/0`.
    pub destination_cidr_block: String,
    /// An internet gateway.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway_id: Option<String>,
    /// A NAT gateway.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nat_gateway_id: Option<String>,
    /// A transit gateway.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transit_gateway_id: Option<String>,
    /// A VPC peering connection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vpc_peering_connection_id: Option<String>,
    /// A network interface.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_interface_id: Option<String>,
}

/// Outputs of `aws:ec2/route`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RouteOutputs {
    /// `active`, or `blackhole` when the target is gone.
    pub state: String,
}

/// The `aws:ec2/route` resource type.
#[derive(Clone, Copy, Debug, Default)]
pub struct RouteResource;

/// The id girder gives a route.
pub fn route_id(table: &str, destination: &str) -> String {
    format!("{table}_{destination}")
}

fn split_id(id: &str) -> Option<(&str, &str)> {
    id.split_once('_')
}

fn observe(table: &str, route: &Route) -> TypedObserved<RouteInputs, RouteOutputs> {
    TypedObserved::new(
        RouteInputs {
            route_table_id: table.to_owned(),
            destination_cidr_block: route
                .destination_cidr_block()
                .unwrap_or_default()
                .to_owned(),
            gateway_id: route.gateway_id().map(str::to_owned),
            nat_gateway_id: route.nat_gateway_id().map(str::to_owned),
            transit_gateway_id: route.transit_gateway_id().map(str::to_owned),
            vpc_peering_connection_id: route.vpc_peering_connection_id().map(str::to_owned),
            // Routes to a NAT gateway also report its interface: only a route *to* an
            // interface names one as its target.
            network_interface_id: if route.nat_gateway_id().is_some()
                || route.instance_id().is_some()
            {
                None
            } else {
                route.network_interface_id().map(str::to_owned)
            },
        },
        RouteOutputs {
            state: route
                .state()
                .map(|s| s.as_str().to_owned())
                .unwrap_or_default(),
        },
    )
}

fn same_target(a: &RouteInputs, b: &RouteInputs) -> bool {
    a.gateway_id == b.gateway_id
        && a.nat_gateway_id == b.nat_gateway_id
        && a.transit_gateway_id == b.transit_gateway_id
        && a.vpc_peering_connection_id == b.vpc_peering_connection_id
        && a.network_interface_id == b.network_interface_id
}

/// The routes of `tables`, by girder route id.
async fn routes_of(
    ec2: &aws_sdk_ec2::Client,
    tables: &[String],
) -> Result<HashMap<String, TypedObserved<RouteInputs, RouteOutputs>>, ProviderError> {
    let mut found = HashMap::new();
    for chunk in tags::chunks(tables) {
        for table in describe_route_tables(
            ec2,
            vec![tags::ec2_filter("route-table-id", chunk.iter().cloned())],
        )
        .await?
        {
            let table_id = table.route_table_id().unwrap_or_default();
            for route in table.routes() {
                if let Some(destination) = route.destination_cidr_block() {
                    found.insert(route_id(table_id, destination), observe(table_id, route));
                }
            }
        }
    }
    Ok(found)
}

#[async_trait]
impl TypedResource<AwsClients> for RouteResource {
    type Inputs = RouteInputs;
    type Outputs = RouteOutputs;

    fn schema(&self) -> ResourceSchema {
        // One route per destination: the replacement must wait for the old one to go.
        ResourceSchema::new(ROUTE)
            .replace_on(["route_table_id", "destination_cidr_block"])
            .delete_before_replace()
    }

    async fn create(
        &self,
        clients: &AwsClients,
        req: TypedCreateRequest<RouteInputs>,
        _ctx: &CallContext,
    ) -> Result<TypedCreateResponse<RouteOutputs>, ProviderError> {
        let TypedCreateRequest {
            identity, inputs, ..
        } = req;
        let ec2 = clients.ec2().await?;
        let id = route_id(&inputs.route_table_id, &inputs.destination_cidr_block);
        let result = ec2
            .create_route()
            .route_table_id(&inputs.route_table_id)
            .destination_cidr_block(&inputs.destination_cidr_block)
            .set_gateway_id(inputs.gateway_id.clone())
            .set_nat_gateway_id(inputs.nat_gateway_id.clone())
            .set_transit_gateway_id(inputs.transit_gateway_id.clone())
            .set_vpc_peering_connection_id(inputs.vpc_peering_connection_id.clone())
            .set_network_interface_id(inputs.network_interface_id.clone())
            .send()
            .await
            .aws(&Call::new("CreateRoute", &identity));
        match result {
            Ok(_) => Ok(TypedCreateResponse::new(
                id,
                RouteOutputs {
                    state: "active".into(),
                },
            )),
            Err(e) if e.code.as_deref() == Some("RouteAlreadyExists") => {
                let existing = routes_of(ec2, std::slice::from_ref(&inputs.route_table_id)).await?;
                match existing.get(&id) {
                    Some(TypedObserved {
                        inputs: found,
                        outputs,
                        ..
                    }) if same_target(found, &inputs) => {
                        tracing::info!(%identity, %id, "adopting the existing route");
                        Ok(TypedCreateResponse::new(id, outputs.clone()))
                    }
                    _ => Err(ProviderError {
                        kind: ErrorKind::Conflict,
                        message: format!(
                            "{identity}: route table {} already routes {} elsewhere; delete that route or change the destination",
                            inputs.route_table_id, inputs.destination_cidr_block
                        ),
                        ..e
                    }),
                }
            }
            Err(e) => Err(e),
        }
    }

    async fn read(
        &self,
        clients: &AwsClients,
        req: TypedReadRequest<RouteInputs>,
        _ctx: &CallContext,
    ) -> Result<TypedReadResponse<RouteInputs, RouteOutputs>, ProviderError> {
        let items = req.items;
        let ec2 = clients.ec2().await?;
        // One describe for all the tables the routes belong to.
        let tables: Vec<String> = items
            .iter()
            .filter_map(|i| split_id(&i.id).map(|(t, _)| t.to_owned()))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let mut found = routes_of(ec2, &tables).await?;
        Ok(items.iter().map(|i| found.remove(&i.id)).collect())
    }

    async fn update(
        &self,
        clients: &AwsClients,
        req: TypedUpdateRequest<RouteInputs, RouteOutputs>,
        _ctx: &CallContext,
    ) -> Result<TypedUpdateResponse<RouteOutputs>, ProviderError> {
        let TypedUpdateRequest { old, inputs, .. } = req;
        clients
            .ec2()
            .await?
            .replace_route()
            .route_table_id(&inputs.route_table_id)
            .destination_cidr_block(&inputs.destination_cidr_block)
            .set_gateway_id(inputs.gateway_id.clone())
            .set_nat_gateway_id(inputs.nat_gateway_id.clone())
            .set_transit_gateway_id(inputs.transit_gateway_id.clone())
            .set_vpc_peering_connection_id(inputs.vpc_peering_connection_id.clone())
            .set_network_interface_id(inputs.network_interface_id.clone())
            .send()
            .await
            .aws(&Call::new("ReplaceRoute", &old.identity))?;
        Ok(TypedUpdateResponse::new(RouteOutputs {
            state: "active".into(),
        }))
    }

    async fn delete(
        &self,
        clients: &AwsClients,
        req: TypedDeleteRequest<RouteInputs, RouteOutputs>,
        _ctx: &CallContext,
    ) -> Result<(), ProviderError> {
        let old = req.old;
        match clients
            .ec2()
            .await?
            .delete_route()
            .route_table_id(&old.inputs.route_table_id)
            .destination_cidr_block(&old.inputs.destination_cidr_block)
            .send()
            .await
            .aws(&Call::deleting("DeleteRoute", &old.id))
        {
            Err(e) if !is_not_found(&e) => Err(e),
            _ => Ok(()),
        }
    }

    async fn find(
        &self,
        _clients: &AwsClients,
        _req: TypedFindRequest,
        _ctx: &CallContext,
    ) -> Result<TypedFindResponse<RouteInputs, RouteOutputs>, ProviderError> {
        // Routes cannot be tagged; an unrecorded create is adopted by the next create.
        Ok(TypedFindResponse::none())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_split_back() {
        let id = route_id("rtb-1", "0.0.0.0/0");
        assert_eq!(split_id(&id), Some(("rtb-1", "0.0.0.0/0")));
    }
}
