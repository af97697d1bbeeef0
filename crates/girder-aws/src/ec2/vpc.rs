//! `aws:ec2/vpc`: a VPC with DNS support and hostnames settings.

use async_trait::async_trait;
use aws_sdk_ec2::types::{AttributeBooleanValue, ResourceType, VpcAttributeName, VpcState};
use girder_engine::typed::{
    TypedCreateRequest, TypedCreateResponse, TypedDeleteRequest, TypedFindRequest,
    TypedFindResponse, TypedFound, TypedObserved, TypedReadRequest, TypedReadResponse,
    TypedResource, TypedUpdateRequest, TypedUpdateResponse,
};
use girder_engine::{CallContext, ProviderError, ResourceSchema};
use serde::{Deserialize, Serialize};

use crate::clients::AwsClients;
use crate::error::{AwsResultExt, Call, after_create, is_not_found};
use crate::tags::{self, Tags};
use crate::util::{Poll, settle, wait_until};

/// The type token.
pub const VPC: &str = "aws:ec2/vpc";

/// Inputs of `aws:ec2/vpc`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VpcInputs {
    /// The IPv4 CIDR block; changing it replaces the VPC.
    pub cidr_block: String,
    /// Amazon-provided DNS resolution.
    pub enable_dns_support: bool,
    /// DNS hostnames for instances with public addresses.
    pub enable_dns_hostnames: bool,
    /// User tags.
    #[serde(default, skip_serializing_if = "Tags::is_empty")]
    pub tags: Tags,
}

/// Outputs of `aws:ec2/vpc`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VpcOutputs {
    /// The ARN.
    pub arn: String,
    /// The account that owns it.
    pub owner_id: String,
    /// The IPv4 CIDR block.
    pub cidr_block: String,
}

/// The `aws:ec2/vpc` resource type.
#[derive(Clone, Copy, Debug, Default)]
pub struct VpcResource;

fn outputs(region: &str, vpc: &aws_sdk_ec2::types::Vpc) -> VpcOutputs {
    let owner = vpc.owner_id().unwrap_or_default().to_owned();
    VpcOutputs {
        arn: format!(
            "arn:aws:ec2:{region}:{owner}:vpc/{}",
            vpc.vpc_id().unwrap_or_default()
        ),
        owner_id: owner,
        cidr_block: vpc.cidr_block().unwrap_or_default().to_owned(),
    }
}

async fn dns_attributes(
    ec2: &aws_sdk_ec2::Client,
    id: &str,
) -> Result<(bool, bool), ProviderError> {
    // EC2 reports each VPC attribute through its own call; there is no batched form.
    let support = ec2
        .describe_vpc_attribute()
        .vpc_id(id)
        .attribute(VpcAttributeName::EnableDnsSupport)
        .send()
        .await
        .aws(&Call::new("DescribeVpcAttribute", id))?
        .enable_dns_support()
        .and_then(AttributeBooleanValue::value)
        .unwrap_or(true);
    let hostnames = ec2
        .describe_vpc_attribute()
        .vpc_id(id)
        .attribute(VpcAttributeName::EnableDnsHostnames)
        .send()
        .await
        .aws(&Call::new("DescribeVpcAttribute", id))?
        .enable_dns_hostnames()
        .and_then(AttributeBooleanValue::value)
        .unwrap_or(false);
    Ok((support, hostnames))
}

async fn set_dns(
    ec2: &aws_sdk_ec2::Client,
    id: &str,
    support: Option<bool>,
    hostnames: Option<bool>,
) -> Result<(), ProviderError> {
    // One attribute per call: EC2 refuses both in one ModifyVpcAttribute request.
    if let Some(value) = support {
        ec2.modify_vpc_attribute()
            .vpc_id(id)
            .enable_dns_support(AttributeBooleanValue::builder().value(value).build())
            .send()
            .await
            .aws(&Call::new("ModifyVpcAttribute", id))?;
    }
    if let Some(value) = hostnames {
        ec2.modify_vpc_attribute()
            .vpc_id(id)
            .enable_dns_hostnames(AttributeBooleanValue::builder().value(value).build())
            .send()
            .await
            .aws(&Call::new("ModifyVpcAttribute", id))?;
    }
    Ok(())
}

async fn describe(
    ec2: &aws_sdk_ec2::Client,
    filters: Vec<aws_sdk_ec2::types::Filter>,
) -> Result<Vec<aws_sdk_ec2::types::Vpc>, ProviderError> {
    ec2.describe_vpcs()
        .set_filters(Some(filters))
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .aws(&Call::new("DescribeVpcs", "VPCs"))
}

async fn observe(
    clients: &AwsClients,
    vpc: &aws_sdk_ec2::types::Vpc,
) -> Result<TypedObserved<VpcInputs, VpcOutputs>, ProviderError> {
    let ec2 = clients.ec2().await?;
    let id = vpc.vpc_id().unwrap_or_default();
    let (support, hostnames) = dns_attributes(ec2, id).await?;
    Ok(TypedObserved::new(
        VpcInputs {
            cidr_block: vpc.cidr_block().unwrap_or_default().to_owned(),
            enable_dns_support: support,
            enable_dns_hostnames: hostnames,
            tags: tags::user_tags(tags::ec2_pairs(vpc.tags())),
        },
        outputs(clients.region().await?, vpc),
    ))
}

#[async_trait]
impl TypedResource<AwsClients> for VpcResource {
    type Inputs = VpcInputs;
    type Outputs = VpcOutputs;

    fn check(&self, name: &str, inputs: &girder_core::Value) -> girder_core::Diagnostics {
        crate::checks::cidr(name, inputs, "cidr_block")
    }

    fn schema(&self) -> ResourceSchema {
        ResourceSchema::new(VPC).replace_on(["cidr_block"])
    }

    async fn create(
        &self,
        clients: &AwsClients,
        req: TypedCreateRequest<VpcInputs>,
        ctx: &CallContext,
    ) -> Result<TypedCreateResponse<VpcOutputs>, ProviderError> {
        let TypedCreateRequest {
            identity, inputs, ..
        } = req;
        let ec2 = clients.ec2().await?;
        // CreateVpc takes no idempotency token: the VPC carries the create's token as a tag,
        // and a retry after a lost response adopts the VPC that carries it.
        let attempt = clients.attempts().begin(&identity, &inputs);
        let vpc = clients
            .attempts()
            .adopt_or_create(
                &attempt,
                ctx,
                "VPC",
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
                        .create_vpc()
                        .cidr_block(&inputs.cidr_block)
                        .tag_specifications(tags::ec2_tag_spec_with_token(
                            ResourceType::Vpc,
                            &identity,
                            &inputs.tags,
                            attempt.token(),
                        ))
                        .send()
                        .await
                        .aws(&Call::new("CreateVpc", &identity))?;
                    created.vpc().cloned().ok_or_else(|| {
                        ProviderError::permanent(format!("CreateVpc of {identity} returned no VPC"))
                    })
                },
            )
            .await?;
        let id = vpc.vpc_id().unwrap_or_default().to_owned();
        let region = clients.region().await?.to_owned();
        let out = outputs(&region, &vpc);
        let partial = |e| {
            after_create(
                e,
                &id,
                girder_core::Value::from_serialize(&out).unwrap_or_default(),
            )
        };
        wait_until(
            ctx,
            &format!("VPC {id} to become available"),
            std::time::Duration::from_millis(500),
            std::time::Duration::from_secs(5),
            || async {
                let found = describe(ec2, vec![tags::ec2_filter("vpc-id", [id.as_str()])]).await?;
                Ok(match found.first().and_then(|v| v.state()) {
                    Some(VpcState::Available) => Poll::Ready(()),
                    Some(state) => Poll::Pending(state.as_str().to_owned()),
                    // Eventual consistency: a new VPC may not be listed yet.
                    None => Poll::Pending("not listed yet".into()),
                })
            },
        )
        .await
        .map_err(partial)?;
        settle(ctx, &format!("the DNS attributes of VPC {id}"), || {
            set_dns(
                ec2,
                &id,
                (!inputs.enable_dns_support).then_some(false),
                inputs.enable_dns_hostnames.then_some(true),
            )
        })
        .await
        .map_err(partial)?;
        Ok(TypedCreateResponse::new(id, out))
    }

    async fn read(
        &self,
        clients: &AwsClients,
        req: TypedReadRequest<VpcInputs>,
        _ctx: &CallContext,
    ) -> Result<TypedReadResponse<VpcInputs, VpcOutputs>, ProviderError> {
        let items = req.items;
        let ec2 = clients.ec2().await?;
        let found = super::describe_by_ids(
            &items,
            "vpc-id",
            |f| describe(ec2, f),
            aws_sdk_ec2::types::Vpc::vpc_id,
        )
        .await?;
        let mut results = Vec::with_capacity(items.len());
        for item in &items {
            results.push(match found.get(&item.id) {
                Some(vpc) => Some(observe(clients, vpc).await?),
                None => None,
            });
        }
        Ok(TypedReadResponse::new(results))
    }

    async fn update(
        &self,
        clients: &AwsClients,
        req: TypedUpdateRequest<VpcInputs, VpcOutputs>,
        _ctx: &CallContext,
    ) -> Result<TypedUpdateResponse<VpcOutputs>, ProviderError> {
        let TypedUpdateRequest { old, inputs, .. } = req;
        let ec2 = clients.ec2().await?;
        set_dns(
            ec2,
            &old.id,
            (old.inputs.enable_dns_support != inputs.enable_dns_support)
                .then_some(inputs.enable_dns_support),
            (old.inputs.enable_dns_hostnames != inputs.enable_dns_hostnames)
                .then_some(inputs.enable_dns_hostnames),
        )
        .await?;
        if old.inputs.tags != inputs.tags {
            tags::ec2_update_tags(ec2, &old.id, &old.identity, &old.inputs.tags, &inputs.tags)
                .await?;
        }
        Ok(TypedUpdateResponse::new(old.outputs))
    }

    async fn delete(
        &self,
        clients: &AwsClients,
        req: TypedDeleteRequest<VpcInputs, VpcOutputs>,
        _ctx: &CallContext,
    ) -> Result<(), ProviderError> {
        let old = req.old;
        let result = clients
            .ec2()
            .await?
            .delete_vpc()
            .vpc_id(&old.id)
            .send()
            .await
            .aws(&Call::deleting("DeleteVpc", &old.id));
        match result {
            Err(e) if !is_not_found(&e) => Err(e),
            _ => Ok(()),
        }
    }

    async fn find(
        &self,
        clients: &AwsClients,
        req: TypedFindRequest,
        _ctx: &CallContext,
    ) -> Result<TypedFindResponse<VpcInputs, VpcOutputs>, ProviderError> {
        let identity = req.identity;
        let ec2 = clients.ec2().await?;
        let mut found = Vec::new();
        for vpc in describe(ec2, tags::ec2_identity_filters(&identity))
            .await?
            .into_iter()
            .filter(|v| !clients.attempts().made_by_open_create(&identity, v.tags()))
        {
            if vpc.state() == Some(&VpcState::Available) || vpc.state() == Some(&VpcState::Pending)
            {
                found.push(TypedFound::new(
                    vpc.vpc_id().unwrap_or_default().to_owned(),
                    observe(clients, &vpc).await?,
                ));
            }
        }
        Ok(TypedFindResponse::new(found))
    }
}
