//! `aws:ec2/routeTable` and `aws:ec2/routeTableAssociation`.
//!
//! Associations carry no tags in EC2, so they are found by what they connect: creating one for
//! a subnet that is already associated with the same table adopts it, and a subnet associated
//! with another table is moved with `ReplaceRouteTableAssociation` (no moment without routes),
//! which also makes crash recovery of an unrecorded create harmless.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_ec2::types::{Filter, ResourceType, RouteTable, RouteTableAssociationStateCode};
use girder_engine::typed::{
    TypedCreateRequest, TypedCreateResponse, TypedDeleteRequest, TypedFindRequest,
    TypedFindResponse, TypedFound, TypedObserved, TypedReadRequest, TypedReadResponse,
    TypedResource, TypedUpdateRequest, TypedUpdateResponse,
};
use girder_engine::{CallContext, ProviderError, ResourceSchema};
use serde::{Deserialize, Serialize};

use crate::clients::AwsClients;
use crate::error::{AwsResultExt, Call, is_not_found};
use crate::tags::{self, Tags};

/// The type token of route tables.
pub const ROUTE_TABLE: &str = "aws:ec2/routeTable";
/// The type token of route table associations.
pub const ROUTE_TABLE_ASSOCIATION: &str = "aws:ec2/routeTableAssociation";

/// Inputs of `aws:ec2/routeTable`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RouteTableInputs {
    /// The VPC.
    pub vpc_id: String,
    /// User tags.
    #[serde(default, skip_serializing_if = "Tags::is_empty")]
    pub tags: Tags,
}

/// Outputs of `aws:ec2/routeTable`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RouteTableOutputs {
    /// The ARN.
    pub arn: String,
}

/// The `aws:ec2/routeTable` resource type.
#[derive(Clone, Copy, Debug, Default)]
pub struct RouteTableResource;

pub(crate) async fn describe_route_tables(
    ec2: &aws_sdk_ec2::Client,
    filters: Vec<Filter>,
) -> Result<Vec<RouteTable>, ProviderError> {
    ec2.describe_route_tables()
        .set_filters(Some(filters))
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .aws(&Call::new("DescribeRouteTables", "route tables"))
}

fn observe_table(
    region: &str,
    table: &RouteTable,
) -> TypedObserved<RouteTableInputs, RouteTableOutputs> {
    TypedObserved::new(
        RouteTableInputs {
            vpc_id: table.vpc_id().unwrap_or_default().to_owned(),
            tags: tags::user_tags(tags::ec2_pairs(table.tags())),
        },
        RouteTableOutputs {
            arn: format!(
                "arn:aws:ec2:{region}:{}:route-table/{}",
                table.owner_id().unwrap_or_default(),
                table.route_table_id().unwrap_or_default()
            ),
        },
    )
}

#[async_trait]
impl TypedResource<AwsClients> for RouteTableResource {
    type Inputs = RouteTableInputs;
    type Outputs = RouteTableOutputs;

    fn schema(&self) -> ResourceSchema {
        ResourceSchema::new(ROUTE_TABLE).replace_on(["vpc_id"])
    }

    async fn create(
        &self,
        clients: &AwsClients,
        req: TypedCreateRequest<RouteTableInputs>,
        ctx: &CallContext,
    ) -> Result<TypedCreateResponse<RouteTableOutputs>, ProviderError> {
        let TypedCreateRequest {
            identity, inputs, ..
        } = req;
        let ec2 = clients.ec2().await?;
        // CreateRouteTable takes no idempotency token: the table carries the create's token
        // as a tag, and a retry after a lost response adopts the table carrying it.
        let attempt = clients.attempts().begin(&identity, &inputs);
        let table = clients
            .attempts()
            .adopt_or_create(
                &attempt,
                ctx,
                "route table",
                || async {
                    Ok(describe_route_tables(
                        ec2,
                        tags::ec2_token_filters(&identity, attempt.token()),
                    )
                    .await?
                    .into_iter()
                    .next())
                },
                || async {
                    let created = ec2
                        .create_route_table()
                        .vpc_id(&inputs.vpc_id)
                        .tag_specifications(tags::ec2_tag_spec_with_token(
                            ResourceType::RouteTable,
                            &identity,
                            &inputs.tags,
                            attempt.token(),
                        ))
                        .send()
                        .await
                        .aws(&Call::new("CreateRouteTable", &identity))?;
                    created.route_table().cloned().ok_or_else(|| {
                        ProviderError::permanent(format!(
                            "CreateRouteTable of {identity} returned no table"
                        ))
                    })
                },
            )
            .await?;
        Ok(TypedCreateResponse::new(
            table.route_table_id().unwrap_or_default().to_owned(),
            observe_table(clients.region().await?, &table).outputs,
        ))
    }

    async fn read(
        &self,
        clients: &AwsClients,
        req: TypedReadRequest<RouteTableInputs>,
        _ctx: &CallContext,
    ) -> Result<TypedReadResponse<RouteTableInputs, RouteTableOutputs>, ProviderError> {
        let items = req.items;
        let ec2 = clients.ec2().await?;
        let region = clients.region().await?;
        let found = super::describe_by_ids(
            &items,
            "route-table-id",
            |f| describe_route_tables(ec2, f),
            RouteTable::route_table_id,
        )
        .await?;
        Ok(items
            .iter()
            .map(|i| found.get(&i.id).map(|t| observe_table(region, t)))
            .collect())
    }

    async fn update(
        &self,
        clients: &AwsClients,
        req: TypedUpdateRequest<RouteTableInputs, RouteTableOutputs>,
        _ctx: &CallContext,
    ) -> Result<TypedUpdateResponse<RouteTableOutputs>, ProviderError> {
        let TypedUpdateRequest { old, inputs, .. } = req;
        let ec2 = clients.ec2().await?;
        tags::ec2_update_tags(ec2, &old.id, &old.identity, &old.inputs.tags, &inputs.tags).await?;
        Ok(TypedUpdateResponse::new(old.outputs))
    }

    async fn delete(
        &self,
        clients: &AwsClients,
        req: TypedDeleteRequest<RouteTableInputs, RouteTableOutputs>,
        _ctx: &CallContext,
    ) -> Result<(), ProviderError> {
        let old = req.old;
        match clients
            .ec2()
            .await?
            .delete_route_table()
            .route_table_id(&old.id)
            .send()
            .await
            .aws(&Call::deleting("DeleteRouteTable", &old.id))
        {
            Err(e) if !is_not_found(&e) => Err(e),
            _ => Ok(()),
        }
    }

    async fn find(
        &self,
        clients: &AwsClients,
        req: TypedFindRequest,
        _ctx: &CallContext,
    ) -> Result<TypedFindResponse<RouteTableInputs, RouteTableOutputs>, ProviderError> {
        let identity = req.identity;
        let ec2 = clients.ec2().await?;
        let region = clients.region().await?;
        Ok(
            describe_route_tables(ec2, tags::ec2_identity_filters(&identity))
                .await?
                .iter()
                .filter(|t| !clients.attempts().made_by_open_create(&identity, t.tags()))
                .map(|t| {
                    TypedFound::new(
                        t.route_table_id().unwrap_or_default().to_owned(),
                        observe_table(region, t),
                    )
                })
                .collect(),
        )
    }
}

/// Inputs of `aws:ec2/routeTableAssociation`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RouteTableAssociationInputs {
    /// The route table.
    pub route_table_id: String,
    /// The subnet it routes.
    pub subnet_id: String,
}

/// Outputs of `aws:ec2/routeTableAssociation` (the id is the association id).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RouteTableAssociationOutputs {}

/// The `aws:ec2/routeTableAssociation` resource type.
#[derive(Clone, Copy, Debug, Default)]
pub struct RouteTableAssociationResource;

fn live_associations(
    table: &RouteTable,
) -> impl Iterator<Item = &aws_sdk_ec2::types::RouteTableAssociation> {
    table.associations().iter().filter(|a| {
        !matches!(
            a.association_state().and_then(|s| s.state()),
            Some(
                RouteTableAssociationStateCode::Disassociated
                    | RouteTableAssociationStateCode::Disassociating
            )
        )
    })
}

/// The association of `subnet` with any table, if there is one.
async fn association_of_subnet(
    ec2: &aws_sdk_ec2::Client,
    subnet: &str,
) -> Result<Option<(String, String)>, ProviderError> {
    let tables = describe_route_tables(
        ec2,
        vec![tags::ec2_filter("association.subnet-id", [subnet])],
    )
    .await?;
    Ok(tables.iter().find_map(|t| {
        live_associations(t)
            .find(|a| a.subnet_id() == Some(subnet))
            .map(|a| {
                (
                    a.route_table_association_id()
                        .unwrap_or_default()
                        .to_owned(),
                    t.route_table_id().unwrap_or_default().to_owned(),
                )
            })
    }))
}

#[async_trait]
impl TypedResource<AwsClients> for RouteTableAssociationResource {
    type Inputs = RouteTableAssociationInputs;
    type Outputs = RouteTableAssociationOutputs;

    fn schema(&self) -> ResourceSchema {
        ResourceSchema::new(ROUTE_TABLE_ASSOCIATION).replace_on(["route_table_id", "subnet_id"])
    }

    async fn create(
        &self,
        clients: &AwsClients,
        req: TypedCreateRequest<RouteTableAssociationInputs>,
        _ctx: &CallContext,
    ) -> Result<TypedCreateResponse<RouteTableAssociationOutputs>, ProviderError> {
        let TypedCreateRequest {
            identity, inputs, ..
        } = req;
        let ec2 = clients.ec2().await?;
        match association_of_subnet(ec2, &inputs.subnet_id).await? {
            Some((association, table)) if table == inputs.route_table_id => {
                tracing::info!(%identity, %association, "adopting the existing route table association");
                Ok(TypedCreateResponse::new(
                    association,
                    RouteTableAssociationOutputs {},
                ))
            }
            Some((association, _)) => {
                let replaced = ec2
                    .replace_route_table_association()
                    .association_id(&association)
                    .route_table_id(&inputs.route_table_id)
                    .send()
                    .await
                    .aws(&Call::new("ReplaceRouteTableAssociation", &identity))?;
                Ok(TypedCreateResponse::new(
                    replaced.new_association_id().unwrap_or_default().to_owned(),
                    RouteTableAssociationOutputs {},
                ))
            }
            None => {
                let created = ec2
                    .associate_route_table()
                    .route_table_id(&inputs.route_table_id)
                    .subnet_id(&inputs.subnet_id)
                    .send()
                    .await
                    .aws(&Call::new("AssociateRouteTable", &identity))?;
                Ok(TypedCreateResponse::new(
                    created.association_id().unwrap_or_default().to_owned(),
                    RouteTableAssociationOutputs {},
                ))
            }
        }
    }

    async fn read(
        &self,
        clients: &AwsClients,
        req: TypedReadRequest<RouteTableAssociationInputs>,
        _ctx: &CallContext,
    ) -> Result<
        TypedReadResponse<RouteTableAssociationInputs, RouteTableAssociationOutputs>,
        ProviderError,
    > {
        let items = req.items;
        let ec2 = clients.ec2().await?;
        let ids: Vec<String> = items.iter().map(|i| i.id.clone()).collect();
        let mut found = HashMap::new();
        for chunk in tags::chunks(&ids) {
            let filter = tags::ec2_filter(
                "association.route-table-association-id",
                chunk.iter().cloned(),
            );
            for table in describe_route_tables(ec2, vec![filter]).await? {
                for association in live_associations(&table) {
                    if let (Some(id), Some(subnet)) = (
                        association.route_table_association_id(),
                        association.subnet_id(),
                    ) {
                        found.insert(
                            id.to_owned(),
                            TypedObserved::new(
                                RouteTableAssociationInputs {
                                    route_table_id: table
                                        .route_table_id()
                                        .unwrap_or_default()
                                        .to_owned(),
                                    subnet_id: subnet.to_owned(),
                                },
                                RouteTableAssociationOutputs {},
                            ),
                        );
                    }
                }
            }
        }
        Ok(items.iter().map(|i| found.remove(&i.id)).collect())
    }

    async fn update(
        &self,
        _clients: &AwsClients,
        req: TypedUpdateRequest<RouteTableAssociationInputs, RouteTableAssociationOutputs>,
        _ctx: &CallContext,
    ) -> Result<TypedUpdateResponse<RouteTableAssociationOutputs>, ProviderError> {
        let old = req.old;
        // Every input forces a replacement; nothing is left to update.
        Ok(TypedUpdateResponse::new(old.outputs))
    }

    async fn delete(
        &self,
        clients: &AwsClients,
        req: TypedDeleteRequest<RouteTableAssociationInputs, RouteTableAssociationOutputs>,
        _ctx: &CallContext,
    ) -> Result<(), ProviderError> {
        let old = req.old;
        match clients
            .ec2()
            .await?
            .disassociate_route_table()
            .association_id(&old.id)
            .send()
            .await
            .aws(&Call::deleting("DisassociateRouteTable", &old.id))
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
    ) -> Result<
        TypedFindResponse<RouteTableAssociationInputs, RouteTableAssociationOutputs>,
        ProviderError,
    > {
        // Associations cannot be tagged; an unrecorded create is adopted by the next create
        // (see the module documentation).
        Ok(TypedFindResponse::none())
    }
}
