//! `aws:ec2/subnet`: a subnet in one availability zone.

use async_trait::async_trait;
use aws_sdk_ec2::types::{AttributeBooleanValue, Filter, ResourceType, Subnet};
use girder_engine::typed::{
    TypedCreateRequest, TypedCreateResponse, TypedDeleteRequest, TypedFindRequest,
    TypedFindResponse, TypedFound, TypedObserved, TypedReadRequest, TypedReadResponse,
    TypedResource, TypedUpdateRequest, TypedUpdateResponse,
};
use girder_engine::{CallContext, ProviderError, ResourceSchema};
use serde::{Deserialize, Serialize};

use crate::clients::AwsClients;
use crate::error::{AwsResultExt, Call, after_create, has_code, is_not_found};
use crate::tags::{self, Tags};
use crate::util::settle;

/// The type token.
pub const SUBNET: &str = "aws:ec2/subnet";

/// Inputs of `aws:ec2/subnet`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SubnetInputs {
    /// The VPC.
    pub vpc_id: String,
    /// The IPv4 CIDR block, inside the VPC's.
    pub cidr_block: String,
    /// The availability zone, such as `us-east-1a`.
    pub availability_zone: String,
    /// Give instances launched here a public IPv4 address.
    pub map_public_ip_on_launch: bool,
    /// User tags.
    #[serde(default, skip_serializing_if = "Tags::is_empty")]
    pub tags: Tags,
}

/// Outputs of `aws:ec2/subnet`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SubnetOutputs {
    /// The ARN.
    pub arn: String,
    /// The zone id, such as `use1-az6` (the same physical zone in every account).
    pub availability_zone_id: String,
    /// The IPv4 CIDR block.
    pub cidr_block: String,
}

/// The `aws:ec2/subnet` resource type.
#[derive(Clone, Copy, Debug, Default)]
pub struct SubnetResource;

fn observe(subnet: &Subnet) -> TypedObserved<SubnetInputs, SubnetOutputs> {
    TypedObserved::new(
        SubnetInputs {
            vpc_id: subnet.vpc_id().unwrap_or_default().to_owned(),
            cidr_block: subnet.cidr_block().unwrap_or_default().to_owned(),
            availability_zone: subnet.availability_zone().unwrap_or_default().to_owned(),
            map_public_ip_on_launch: subnet.map_public_ip_on_launch().unwrap_or(false),
            tags: tags::user_tags(tags::ec2_pairs(subnet.tags())),
        },
        SubnetOutputs {
            arn: subnet.subnet_arn().unwrap_or_default().to_owned(),
            availability_zone_id: subnet.availability_zone_id().unwrap_or_default().to_owned(),
            cidr_block: subnet.cidr_block().unwrap_or_default().to_owned(),
        },
    )
}

async fn describe(
    ec2: &aws_sdk_ec2::Client,
    filters: Vec<Filter>,
) -> Result<Vec<Subnet>, ProviderError> {
    ec2.describe_subnets()
        .set_filters(Some(filters))
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .aws(&Call::new("DescribeSubnets", "subnets"))
}

async fn set_public_ip(
    ec2: &aws_sdk_ec2::Client,
    id: &str,
    value: bool,
) -> Result<(), ProviderError> {
    ec2.modify_subnet_attribute()
        .subnet_id(id)
        .map_public_ip_on_launch(AttributeBooleanValue::builder().value(value).build())
        .send()
        .await
        .aws(&Call::new("ModifySubnetAttribute", id))?;
    Ok(())
}

#[async_trait]
impl TypedResource<AwsClients> for SubnetResource {
    type Inputs = SubnetInputs;
    type Outputs = SubnetOutputs;

    fn check(&self, name: &str, inputs: &girder_core::Value) -> girder_core::Diagnostics {
        crate::checks::cidr(name, inputs, "cidr_block")
    }

    fn schema(&self) -> ResourceSchema {
        // A subnet's CIDR is unique within its VPC: the replacement can only be created once
        // the old subnet is gone.
        ResourceSchema::new(SUBNET)
            .replace_on(["vpc_id", "cidr_block", "availability_zone"])
            .delete_before_replace()
    }

    async fn create(
        &self,
        clients: &AwsClients,
        req: TypedCreateRequest<SubnetInputs>,
        ctx: &CallContext,
    ) -> Result<TypedCreateResponse<SubnetOutputs>, ProviderError> {
        let TypedCreateRequest {
            identity, inputs, ..
        } = req;
        let ec2 = clients.ec2().await?;
        // CreateSubnet takes no idempotency token: the subnet carries the create's token as a
        // tag, and a retry after a lost response adopts the subnet that carries it (its CIDR
        // is taken, so creating again would fail with InvalidSubnet.Conflict).
        let attempt = clients.attempts().begin(&identity, &inputs);
        let lookup = || async {
            Ok(
                describe(ec2, tags::ec2_token_filters(&identity, attempt.token()))
                    .await?
                    .into_iter()
                    .next(),
            )
        };
        let subnet = match attempt.find_earlier(ctx, "subnet", lookup).await? {
            Some(subnet) => {
                clients.attempts().settled(&attempt);
                subnet
            }
            None => {
                let created = ec2
                    .create_subnet()
                    .vpc_id(&inputs.vpc_id)
                    .cidr_block(&inputs.cidr_block)
                    .availability_zone(&inputs.availability_zone)
                    .tag_specifications(tags::ec2_tag_spec_with_token(
                        ResourceType::Subnet,
                        &identity,
                        &inputs.tags,
                        attempt.token(),
                    ))
                    .send()
                    .await
                    .aws(&Call::new("CreateSubnet", &identity));
                let created = match created {
                    // The CIDR is taken: by the subnet a lost response made, if it carries
                    // this create's token.
                    Err(e) if has_code(&e, "InvalidSubnet.Conflict") => {
                        match attempt.find_earlier(ctx, "subnet", lookup).await? {
                            Some(subnet) => Ok(subnet),
                            None => Err(e),
                        }
                    }
                    other => other.and_then(|created| {
                        created.subnet().cloned().ok_or_else(|| {
                            ProviderError::permanent(format!(
                                "CreateSubnet of {identity} returned no subnet"
                            ))
                        })
                    }),
                };
                clients.attempts().sent(&attempt, created)?
            }
        };
        let id = subnet.subnet_id().unwrap_or_default().to_owned();
        let outputs = observe(&subnet).outputs;
        if inputs.map_public_ip_on_launch {
            settle(ctx, &format!("MapPublicIpOnLaunch of subnet {id}"), || {
                set_public_ip(ec2, &id, true)
            })
            .await
            .map_err(|e| {
                after_create(
                    e,
                    &id,
                    girder_core::Value::from_serialize(&outputs).unwrap_or_default(),
                )
            })?;
        }
        Ok(TypedCreateResponse::new(id, outputs))
    }

    async fn read(
        &self,
        clients: &AwsClients,
        req: TypedReadRequest<SubnetInputs>,
        _ctx: &CallContext,
    ) -> Result<TypedReadResponse<SubnetInputs, SubnetOutputs>, ProviderError> {
        let items = req.items;
        let ec2 = clients.ec2().await?;
        let found =
            super::describe_by_ids(&items, "subnet-id", |f| describe(ec2, f), Subnet::subnet_id)
                .await?;
        Ok(items
            .iter()
            .map(|i| found.get(&i.id).map(observe))
            .collect())
    }

    async fn update(
        &self,
        clients: &AwsClients,
        req: TypedUpdateRequest<SubnetInputs, SubnetOutputs>,
        _ctx: &CallContext,
    ) -> Result<TypedUpdateResponse<SubnetOutputs>, ProviderError> {
        let TypedUpdateRequest { old, inputs, .. } = req;
        let ec2 = clients.ec2().await?;
        if old.inputs.map_public_ip_on_launch != inputs.map_public_ip_on_launch {
            set_public_ip(ec2, &old.id, inputs.map_public_ip_on_launch).await?;
        }
        if old.inputs.tags != inputs.tags {
            tags::ec2_update_tags(ec2, &old.id, &old.identity, &old.inputs.tags, &inputs.tags)
                .await?;
        }
        Ok(TypedUpdateResponse::new(old.outputs))
    }

    async fn delete(
        &self,
        clients: &AwsClients,
        req: TypedDeleteRequest<SubnetInputs, SubnetOutputs>,
        _ctx: &CallContext,
    ) -> Result<(), ProviderError> {
        let old = req.old;
        match clients
            .ec2()
            .await?
            .delete_subnet()
            .subnet_id(&old.id)
            .send()
            .await
            .aws(&Call::deleting("DeleteSubnet", &old.id))
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
    ) -> Result<TypedFindResponse<SubnetInputs, SubnetOutputs>, ProviderError> {
        let identity = req.identity;
        let ec2 = clients.ec2().await?;
        Ok(describe(ec2, tags::ec2_identity_filters(&identity))
            .await?
            .iter()
            .filter(|s| !clients.attempts().made_by_open_create(&identity, s.tags()))
            .map(|s| TypedFound::new(s.subnet_id().unwrap_or_default().to_owned(), observe(s)))
            .collect())
    }
}
