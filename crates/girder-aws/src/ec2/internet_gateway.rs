//! `aws:ec2/internetGateway`: an internet gateway and its attachment to a VPC.
//!
//! The attachment is part of the gateway (its `vpc_id`), as in the EC2 API: a gateway is
//! attached to at most one VPC, and moving it is a detach and an attach.

use async_trait::async_trait;
use aws_sdk_ec2::types::{AttachmentStatus, Filter, InternetGateway, ResourceType};
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
pub const INTERNET_GATEWAY: &str = "aws:ec2/internetGateway";

/// Inputs of `aws:ec2/internetGateway`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InternetGatewayInputs {
    /// The VPC it is attached to, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vpc_id: Option<String>,
    /// User tags.
    #[serde(default, skip_serializing_if = "Tags::is_empty")]
    pub tags: Tags,
}

/// Outputs of `aws:ec2/internetGateway`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InternetGatewayOutputs {
    /// The ARN.
    pub arn: String,
}

/// The `aws:ec2/internetGateway` resource type.
#[derive(Clone, Copy, Debug, Default)]
pub struct InternetGatewayResource;

fn observe(
    region: &str,
    igw: &InternetGateway,
) -> TypedObserved<InternetGatewayInputs, InternetGatewayOutputs> {
    let vpc_id = igw
        .attachments()
        .iter()
        .find(|a| {
            // Attached gateways report `available` (not `attached`) in DescribeInternetGateways.
            !matches!(
                a.state(),
                Some(AttachmentStatus::Detached | AttachmentStatus::Detaching)
            )
        })
        .and_then(|a| a.vpc_id())
        .map(str::to_owned);
    TypedObserved::new(
        InternetGatewayInputs {
            vpc_id,
            tags: tags::user_tags(tags::ec2_pairs(igw.tags())),
        },
        InternetGatewayOutputs {
            arn: format!(
                "arn:aws:ec2:{region}:{}:internet-gateway/{}",
                igw.owner_id().unwrap_or_default(),
                igw.internet_gateway_id().unwrap_or_default()
            ),
        },
    )
}

async fn describe(
    ec2: &aws_sdk_ec2::Client,
    filters: Vec<Filter>,
) -> Result<Vec<InternetGateway>, ProviderError> {
    ec2.describe_internet_gateways()
        .set_filters(Some(filters))
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .aws(&Call::new("DescribeInternetGateways", "internet gateways"))
}

async fn attach(ec2: &aws_sdk_ec2::Client, id: &str, vpc: &str) -> Result<(), ProviderError> {
    ec2.attach_internet_gateway()
        .internet_gateway_id(id)
        .vpc_id(vpc)
        .send()
        .await
        .aws(&Call::new(
            "AttachInternetGateway",
            format!("{id} to {vpc}"),
        ))?;
    Ok(())
}

async fn detach(ec2: &aws_sdk_ec2::Client, id: &str, vpc: &str) -> Result<(), ProviderError> {
    // While NAT gateways of the VPC are being deleted their public addresses are still mapped,
    // and EC2 answers DependencyViolation: a deleting call, so the engine waits it out.
    match ec2
        .detach_internet_gateway()
        .internet_gateway_id(id)
        .vpc_id(vpc)
        .send()
        .await
        .aws(&Call::deleting(
            "DetachInternetGateway",
            format!("{id} from {vpc}"),
        )) {
        Err(e) if !is_not_found(&e) && e.code.as_deref() != Some("Gateway.NotAttached") => Err(e),
        _ => Ok(()),
    }
}

#[async_trait]
impl TypedResource<AwsClients> for InternetGatewayResource {
    type Inputs = InternetGatewayInputs;
    type Outputs = InternetGatewayOutputs;

    fn schema(&self) -> ResourceSchema {
        ResourceSchema::new(INTERNET_GATEWAY)
    }

    async fn create(
        &self,
        clients: &AwsClients,
        req: TypedCreateRequest<InternetGatewayInputs>,
        ctx: &CallContext,
    ) -> Result<TypedCreateResponse<InternetGatewayOutputs>, ProviderError> {
        let TypedCreateRequest {
            identity, inputs, ..
        } = req;
        let ec2 = clients.ec2().await?;
        // CreateInternetGateway takes no idempotency token: the gateway carries the create's
        // token as a tag, and a retry after a lost response adopts the gateway carrying it.
        let attempt = clients.attempts().begin(&identity, &inputs);
        let igw = clients
            .attempts()
            .adopt_or_create(
                &attempt,
                ctx,
                "internet gateway",
                || async {
                    Ok(
                        describe(ec2, tags::ec2_token_filters(&identity, attempt.token()))
                            .await?
                            .into_iter()
                            .next(),
                    )
                },
                || async {
                    let created = ec2
                        .create_internet_gateway()
                        .tag_specifications(tags::ec2_tag_spec_with_token(
                            ResourceType::InternetGateway,
                            &identity,
                            &inputs.tags,
                            attempt.token(),
                        ))
                        .send()
                        .await
                        .aws(&Call::new("CreateInternetGateway", &identity))?;
                    created.internet_gateway().cloned().ok_or_else(|| {
                        ProviderError::permanent(format!(
                            "CreateInternetGateway of {identity} returned no gateway"
                        ))
                    })
                },
            )
            .await?;
        let id = igw.internet_gateway_id().unwrap_or_default().to_owned();
        let outputs = observe(clients.region().await?, &igw).outputs;
        let attached = |igw: &InternetGateway, vpc: &str| {
            igw.attachments().iter().any(|a| a.vpc_id() == Some(vpc))
        };
        if let Some(vpc) = inputs.vpc_id.as_deref().filter(|vpc| !attached(&igw, vpc)) {
            settle(ctx, &format!("attaching {id} to {vpc}"), || async {
                match attach(ec2, &id, vpc).await {
                    // A retried attach whose first response was lost: done.
                    Err(e) if has_code(&e, "Resource.AlreadyAssociated") => Ok(()),
                    other => other,
                }
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
        req: TypedReadRequest<InternetGatewayInputs>,
        _ctx: &CallContext,
    ) -> Result<TypedReadResponse<InternetGatewayInputs, InternetGatewayOutputs>, ProviderError>
    {
        let items = req.items;
        let ec2 = clients.ec2().await?;
        let region = clients.region().await?;
        let found = super::describe_by_ids(
            &items,
            "internet-gateway-id",
            |f| describe(ec2, f),
            InternetGateway::internet_gateway_id,
        )
        .await?;
        Ok(items
            .iter()
            .map(|i| found.get(&i.id).map(|igw| observe(region, igw)))
            .collect())
    }

    async fn update(
        &self,
        clients: &AwsClients,
        req: TypedUpdateRequest<InternetGatewayInputs, InternetGatewayOutputs>,
        _ctx: &CallContext,
    ) -> Result<TypedUpdateResponse<InternetGatewayOutputs>, ProviderError> {
        let TypedUpdateRequest { old, inputs, .. } = req;
        let ec2 = clients.ec2().await?;
        if old.inputs.vpc_id != inputs.vpc_id {
            if let Some(vpc) = &old.inputs.vpc_id {
                detach(ec2, &old.id, vpc).await?;
            }
            if let Some(vpc) = &inputs.vpc_id {
                attach(ec2, &old.id, vpc).await?;
            }
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
        req: TypedDeleteRequest<InternetGatewayInputs, InternetGatewayOutputs>,
        _ctx: &CallContext,
    ) -> Result<(), ProviderError> {
        let old = req.old;
        let ec2 = clients.ec2().await?;
        // Detach from whatever VPC it is attached to now, not only the recorded one.
        let current = describe(
            ec2,
            vec![tags::ec2_filter("internet-gateway-id", [old.id.as_str()])],
        )
        .await?;
        let Some(igw) = current.first() else {
            return Ok(());
        };
        for attachment in igw.attachments() {
            if let Some(vpc) = attachment.vpc_id() {
                detach(ec2, &old.id, vpc).await?;
            }
        }
        match ec2
            .delete_internet_gateway()
            .internet_gateway_id(&old.id)
            .send()
            .await
            .aws(&Call::deleting("DeleteInternetGateway", &old.id))
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
    ) -> Result<TypedFindResponse<InternetGatewayInputs, InternetGatewayOutputs>, ProviderError>
    {
        let identity = req.identity;
        let ec2 = clients.ec2().await?;
        let region = clients.region().await?;
        Ok(describe(ec2, tags::ec2_identity_filters(&identity))
            .await?
            .iter()
            .filter(|g| !clients.attempts().made_by_open_create(&identity, g.tags()))
            .map(|g| {
                TypedFound::new(
                    g.internet_gateway_id().unwrap_or_default().to_owned(),
                    observe(region, g),
                )
            })
            .collect())
    }
}
