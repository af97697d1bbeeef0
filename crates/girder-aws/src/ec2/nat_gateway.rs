//! `aws:ec2/natGateway`: a NAT gateway; create waits until it is available and delete until it
//! is deleted (minutes on AWS), polling under the call's deadline.

use async_trait::async_trait;
use aws_sdk_ec2::types::{ConnectivityType, Filter, NatGateway, NatGatewayState, ResourceType};
use girder_engine::ExpectedDurations;
use girder_engine::provider::DefaultTimeouts;
use girder_engine::typed::{
    TypedCreateRequest, TypedCreateResponse, TypedDeleteRequest, TypedFindRequest,
    TypedFindResponse, TypedFound, TypedObserved, TypedReadRequest, TypedReadResponse,
    TypedResource, TypedResumeRequest, TypedUpdateRequest, TypedUpdateResponse,
};
use girder_engine::{CallContext, ProviderError, ResourceSchema};
use serde::{Deserialize, Serialize};

use crate::clients::AwsClients;
use crate::error::{AwsResultExt, Call, after_create, is_not_found};
use crate::tags::{self, Tags};
use crate::util::{Poll, SLOW, wait_until};

/// The type token.
pub const NAT_GATEWAY: &str = "aws:ec2/natGateway";

/// Inputs of `aws:ec2/natGateway`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NatGatewayInputs {
    /// The (public) subnet it lives in.
    pub subnet_id: String,
    /// The Elastic IP it uses (public NAT gateways).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allocation_id: Option<String>,
    /// `public` or `private`.
    pub connectivity_type: String,
    /// User tags.
    #[serde(default, skip_serializing_if = "Tags::is_empty")]
    pub tags: Tags,
}

/// Outputs of `aws:ec2/natGateway`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NatGatewayOutputs {
    /// The public address (public NAT gateways).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_ip: Option<String>,
    /// The private address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_ip: Option<String>,
    /// Its network interface.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_interface_id: Option<String>,
}

/// The `aws:ec2/natGateway` resource type.
#[derive(Clone, Copy, Debug, Default)]
pub struct NatGatewayResource;

fn observe(nat: &NatGateway) -> TypedObserved<NatGatewayInputs, NatGatewayOutputs> {
    let address = nat.nat_gateway_addresses().first();
    TypedObserved::new(
        NatGatewayInputs {
            subnet_id: nat.subnet_id().unwrap_or_default().to_owned(),
            allocation_id: address.and_then(|a| a.allocation_id()).map(str::to_owned),
            connectivity_type: nat
                .connectivity_type()
                .map(|c| c.as_str().to_owned())
                .unwrap_or_else(|| "public".to_owned()),
            tags: tags::user_tags(tags::ec2_pairs(nat.tags())),
        },
        NatGatewayOutputs {
            public_ip: address.and_then(|a| a.public_ip()).map(str::to_owned),
            private_ip: address.and_then(|a| a.private_ip()).map(str::to_owned),
            network_interface_id: address
                .and_then(|a| a.network_interface_id())
                .map(str::to_owned),
        },
    )
}

/// True for NAT gateways that exist (or are coming into existence).
fn is_live(nat: &NatGateway) -> bool {
    matches!(
        nat.state(),
        Some(NatGatewayState::Pending | NatGatewayState::Available)
    )
}

async fn describe(
    ec2: &aws_sdk_ec2::Client,
    filters: Vec<Filter>,
) -> Result<Vec<NatGateway>, ProviderError> {
    ec2.describe_nat_gateways()
        .set_filter(Some(filters))
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .aws(&Call::new("DescribeNatGateways", "NAT gateways"))
}

async fn describe_one(
    ec2: &aws_sdk_ec2::Client,
    id: &str,
) -> Result<Option<NatGateway>, ProviderError> {
    Ok(
        describe(ec2, vec![tags::ec2_filter("nat-gateway-id", [id])])
            .await?
            .into_iter()
            .next(),
    )
}

#[async_trait]
impl TypedResource<AwsClients> for NatGatewayResource {
    type Inputs = NatGatewayInputs;
    type Outputs = NatGatewayOutputs;

    fn schema(&self) -> ResourceSchema {
        ResourceSchema::new(NAT_GATEWAY)
            .replace_on(["subnet_id", "allocation_id", "connectivity_type"])
            .timeouts(DefaultTimeouts {
                create: std::time::Duration::from_secs(600),
                delete: std::time::Duration::from_secs(600),
                ..DefaultTimeouts::default()
            })
            // Estimates for the scheduler, not limits: NAT gateways take 1–2 minutes to become
            // available and about one to delete, so an apply starts them (and what waits on them)
            // before quick calls.
            .expected_durations(ExpectedDurations {
                create: Some(std::time::Duration::from_secs(2 * 60)),
                update: Some(std::time::Duration::from_secs(60)),
                delete: Some(std::time::Duration::from_secs(60)),
                read: None,
            })
    }

    async fn create(
        &self,
        clients: &AwsClients,
        req: TypedCreateRequest<NatGatewayInputs>,
        ctx: &CallContext,
    ) -> Result<TypedCreateResponse<NatGatewayOutputs>, ProviderError> {
        let TypedCreateRequest {
            identity, inputs, ..
        } = req;
        let ec2 = clients.ec2().await?;
        // The create's token goes as ClientToken (AWS answers a retry with the same gateway)
        // and as a tag, so a retry also finds the gateway where the token is not honoured.
        let attempt = clients.attempts().begin(&identity, &inputs);
        let earlier = attempt
            .find_earlier(ctx, "NAT gateway", || async {
                Ok(
                    describe(ec2, tags::ec2_token_filters(&identity, attempt.token()))
                        .await?
                        .into_iter()
                        .find(is_live),
                )
            })
            .await?;
        let nat = match earlier {
            Some(nat) => {
                clients.attempts().settled(&attempt);
                nat
            }
            None => {
                let created = clients.attempts().sent(
                    &attempt,
                    ec2.create_nat_gateway()
                        .client_token(attempt.token())
                        .subnet_id(&inputs.subnet_id)
                        .set_allocation_id(inputs.allocation_id.clone())
                        .connectivity_type(ConnectivityType::from(
                            inputs.connectivity_type.as_str(),
                        ))
                        .tag_specifications(tags::ec2_tag_spec_with_token(
                            ResourceType::Natgateway,
                            &identity,
                            &inputs.tags,
                            attempt.token(),
                        ))
                        .send()
                        .await
                        .aws(&Call::new("CreateNatGateway", &identity)),
                )?;
                created.nat_gateway().cloned().ok_or_else(|| {
                    ProviderError::permanent(format!(
                        "CreateNatGateway of {identity} returned no gateway"
                    ))
                })?
            }
        };
        let nat = &nat;
        let id = nat.nat_gateway_id().unwrap_or_default().to_owned();
        let first_outputs = observe(nat).outputs;
        let partial_outputs =
            girder_core::Value::from_serialize(&first_outputs).unwrap_or_default();
        let ready = wait_available(ec2, ctx, &id, &identity.to_string())
            .await
            .map_err(|e| after_create(e, &id, partial_outputs))?;
        Ok(TypedCreateResponse::new(id, observe(&ready).outputs))
    }

    /// A create that stopped waiting resumes by waiting for `available` again.
    async fn resume_create(
        &self,
        clients: &AwsClients,
        req: TypedResumeRequest<NatGatewayInputs>,
        ctx: &CallContext,
    ) -> Result<Option<TypedCreateResponse<NatGatewayOutputs>>, ProviderError> {
        let ec2 = clients.ec2().await?;
        let ready = wait_available(ec2, ctx, &req.id, &req.identity.to_string()).await?;
        Ok(Some(TypedCreateResponse::new(
            req.id.clone(),
            observe(&ready).outputs,
        )))
    }

    async fn read(
        &self,
        clients: &AwsClients,
        req: TypedReadRequest<NatGatewayInputs>,
        _ctx: &CallContext,
    ) -> Result<TypedReadResponse<NatGatewayInputs, NatGatewayOutputs>, ProviderError> {
        let items = req.items;
        let ec2 = clients.ec2().await?;
        let found = super::describe_by_ids(
            &items,
            "nat-gateway-id",
            |f| describe(ec2, f),
            NatGateway::nat_gateway_id,
        )
        .await?;
        // Deleted and failed gateways stay listed for about an hour; they are gone.
        Ok(items
            .iter()
            .map(|i| found.get(&i.id).filter(|nat| is_live(nat)).map(observe))
            .collect())
    }

    async fn update(
        &self,
        clients: &AwsClients,
        req: TypedUpdateRequest<NatGatewayInputs, NatGatewayOutputs>,
        _ctx: &CallContext,
    ) -> Result<TypedUpdateResponse<NatGatewayOutputs>, ProviderError> {
        let TypedUpdateRequest { old, inputs, .. } = req;
        let ec2 = clients.ec2().await?;
        tags::ec2_update_tags(ec2, &old.id, &old.identity, &old.inputs.tags, &inputs.tags).await?;
        Ok(TypedUpdateResponse::new(old.outputs))
    }

    async fn delete(
        &self,
        clients: &AwsClients,
        req: TypedDeleteRequest<NatGatewayInputs, NatGatewayOutputs>,
        ctx: &CallContext,
    ) -> Result<(), ProviderError> {
        let old = req.old;
        let ec2 = clients.ec2().await?;
        match ec2
            .delete_nat_gateway()
            .nat_gateway_id(&old.id)
            .send()
            .await
            .aws(&Call::deleting("DeleteNatGateway", &old.id))
        {
            Err(e) if is_not_found(&e) => return Ok(()),
            Err(e) => return Err(e),
            Ok(_) => {}
        }
        // Its Elastic IP and the internet gateway detach only once it is really gone.
        wait_until(
            ctx,
            &format!("NAT gateway {} to be deleted", old.id),
            SLOW.0,
            SLOW.1,
            || async {
                Ok(match describe_one(ec2, &old.id).await? {
                    None => Poll::Ready(()),
                    Some(nat) => match nat.state() {
                        Some(NatGatewayState::Deleted | NatGatewayState::Failed) | None => {
                            Poll::Ready(())
                        }
                        Some(state) => Poll::Pending(state.as_str().to_owned()),
                    },
                })
            },
        )
        .await
    }

    async fn find(
        &self,
        clients: &AwsClients,
        req: TypedFindRequest,
        _ctx: &CallContext,
    ) -> Result<TypedFindResponse<NatGatewayInputs, NatGatewayOutputs>, ProviderError> {
        let identity = req.identity;
        let ec2 = clients.ec2().await?;
        Ok(describe(ec2, tags::ec2_identity_filters(&identity))
            .await?
            .iter()
            .filter(|n| is_live(n))
            .filter(|n| !clients.attempts().made_by_open_create(&identity, n.tags()))
            .map(|n| {
                TypedFound::new(
                    n.nat_gateway_id().unwrap_or_default().to_owned(),
                    observe(n),
                )
            })
            .collect())
    }
}

/// Waits until the NAT gateway `id` is available (minutes on AWS); a failed gateway is a
/// permanent error that says what to check.
async fn wait_available(
    ec2: &aws_sdk_ec2::Client,
    ctx: &CallContext,
    id: &str,
    identity: &str,
) -> Result<NatGateway, ProviderError> {
    wait_until(ctx, &format!("NAT gateway {id} to become available"), SLOW.0, SLOW.1, || async {
        let Some(nat) = describe_one(ec2, id).await? else {
            return Ok(Poll::Pending("not listed yet".into()));
        };
        match nat.state() {
            Some(NatGatewayState::Available) => Ok(Poll::Ready(nat)),
            Some(NatGatewayState::Failed) => Err(ProviderError::permanent(format!(
                "NAT gateway {id} of {identity} failed: {} ({}); check the subnet is public and the Elastic IP is free",
                nat.failure_message().unwrap_or("no reason given"),
                nat.failure_code().unwrap_or("no code"),
            ))),
            Some(state) => Ok(Poll::Pending(state.as_str().to_owned())),
            None => Ok(Poll::Pending("unknown".into())),
        }
    })
    .await
}
