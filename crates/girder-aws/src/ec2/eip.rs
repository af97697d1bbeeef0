//! `aws:ec2/eip`: an Elastic IP address in the VPC domain (for NAT gateways).

use async_trait::async_trait;
use aws_sdk_ec2::types::{Address, DomainType, Filter, ResourceType};
use girder_engine::typed::{
    TypedCreateRequest, TypedCreateResponse, TypedDeleteRequest, TypedFindRequest,
    TypedFindResponse, TypedFound, TypedObserved, TypedReadRequest, TypedReadResponse,
    TypedResource, TypedUpdateRequest, TypedUpdateResponse,
};
use girder_engine::{CallContext, ErrorKind, ProviderError, ResourceSchema};
use serde::{Deserialize, Serialize};

use crate::clients::AwsClients;
use crate::error::{AwsResultExt, Call, is_not_found};
use crate::tags::{self, Tags};

/// The type token.
pub const EIP: &str = "aws:ec2/eip";

/// Inputs of `aws:ec2/eip`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EipInputs {
    /// User tags.
    #[serde(default, skip_serializing_if = "Tags::is_empty")]
    pub tags: Tags,
}

/// Outputs of `aws:ec2/eip`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EipOutputs {
    /// The public IPv4 address.
    pub public_ip: String,
}

/// The `aws:ec2/eip` resource type.
#[derive(Clone, Copy, Debug, Default)]
pub struct EipResource;

fn observe(address: &Address) -> TypedObserved<EipInputs, EipOutputs> {
    TypedObserved::new(
        EipInputs {
            tags: tags::user_tags(tags::ec2_pairs(address.tags())),
        },
        EipOutputs {
            public_ip: address.public_ip().unwrap_or_default().to_owned(),
        },
    )
}

async fn describe(
    ec2: &aws_sdk_ec2::Client,
    filters: Vec<Filter>,
) -> Result<Vec<Address>, ProviderError> {
    // DescribeAddresses is not paginated: it returns every match at once.
    Ok(ec2
        .describe_addresses()
        .set_filters(Some(filters))
        .send()
        .await
        .aws(&Call::new("DescribeAddresses", "Elastic IPs"))?
        .addresses()
        .to_vec())
}

#[async_trait]
impl TypedResource<AwsClients> for EipResource {
    type Inputs = EipInputs;
    type Outputs = EipOutputs;

    fn schema(&self) -> ResourceSchema {
        ResourceSchema::new(EIP)
    }

    async fn create(
        &self,
        clients: &AwsClients,
        req: TypedCreateRequest<EipInputs>,
        ctx: &CallContext,
    ) -> Result<TypedCreateResponse<EipOutputs>, ProviderError> {
        let TypedCreateRequest {
            identity, inputs, ..
        } = req;
        let ec2 = clients.ec2().await?;
        // AllocateAddress takes no idempotency token: the address carries the create's token
        // as a tag, and a retry after a lost response adopts the address carrying it.
        let attempt = clients.attempts().begin(&identity, &inputs);
        let earlier = attempt
            .find_earlier(ctx, "Elastic IP", || async {
                Ok(
                    describe(ec2, tags::ec2_token_filters(&identity, attempt.token()))
                        .await?
                        .into_iter()
                        .next(),
                )
            })
            .await?;
        if let Some(address) = earlier {
            clients.attempts().settled(&attempt);
            return Ok(TypedCreateResponse::new(
                address.allocation_id().unwrap_or_default().to_owned(),
                observe(&address).outputs,
            ));
        }
        let allocated = ec2
            .allocate_address()
            .domain(DomainType::Vpc)
            .tag_specifications(tags::ec2_tag_spec_with_token(
                ResourceType::ElasticIp,
                &identity,
                &inputs.tags,
                attempt.token(),
            ))
            .send()
            .await
            .aws(&Call::new("AllocateAddress", &identity));
        let allocated = clients.attempts().sent(&attempt, allocated)?;
        Ok(TypedCreateResponse::new(
            allocated.allocation_id().unwrap_or_default().to_owned(),
            EipOutputs {
                public_ip: allocated.public_ip().unwrap_or_default().to_owned(),
            },
        ))
    }

    async fn read(
        &self,
        clients: &AwsClients,
        req: TypedReadRequest<EipInputs>,
        _ctx: &CallContext,
    ) -> Result<TypedReadResponse<EipInputs, EipOutputs>, ProviderError> {
        let items = req.items;
        let ec2 = clients.ec2().await?;
        let found = super::describe_by_ids(
            &items,
            "allocation-id",
            |f| describe(ec2, f),
            Address::allocation_id,
        )
        .await?;
        Ok(items
            .iter()
            .map(|i| found.get(&i.id).map(observe))
            .collect())
    }

    async fn update(
        &self,
        clients: &AwsClients,
        req: TypedUpdateRequest<EipInputs, EipOutputs>,
        _ctx: &CallContext,
    ) -> Result<TypedUpdateResponse<EipOutputs>, ProviderError> {
        let TypedUpdateRequest { old, inputs, .. } = req;
        let ec2 = clients.ec2().await?;
        tags::ec2_update_tags(ec2, &old.id, &old.identity, &old.inputs.tags, &inputs.tags).await?;
        Ok(TypedUpdateResponse::new(old.outputs))
    }

    async fn delete(
        &self,
        clients: &AwsClients,
        req: TypedDeleteRequest<EipInputs, EipOutputs>,
        _ctx: &CallContext,
    ) -> Result<(), ProviderError> {
        let old = req.old;
        match clients
            .ec2()
            .await?
            .release_address()
            .allocation_id(&old.id)
            .send()
            .await
            .aws(&Call::deleting("ReleaseAddress", &old.id))
        {
            Ok(_) => Ok(()),
            Err(e) if is_not_found(&e) => Ok(()),
            // The address stays associated until the NAT gateway using it is fully deleted.
            Err(e) if e.code.as_deref() == Some("InvalidIPAddress.InUse") => Err(ProviderError {
                kind: ErrorKind::Retryable,
                ..e
            }),
            Err(e) => Err(e),
        }
    }

    async fn find(
        &self,
        clients: &AwsClients,
        req: TypedFindRequest,
        _ctx: &CallContext,
    ) -> Result<TypedFindResponse<EipInputs, EipOutputs>, ProviderError> {
        let identity = req.identity;
        let ec2 = clients.ec2().await?;
        Ok(describe(ec2, tags::ec2_identity_filters(&identity))
            .await?
            .iter()
            .filter(|a| !clients.attempts().made_by_open_create(&identity, a.tags()))
            .map(|a| TypedFound::new(a.allocation_id().unwrap_or_default().to_owned(), observe(a)))
            .collect())
    }
}
