//! `aws:ec2/flowLog`: a VPC flow log (to CloudWatch Logs or S3). Flow logs cannot be changed
//! after creation, except their tags: every other change replaces them.

use async_trait::async_trait;
use aws_sdk_ec2::types::{
    Filter, FlowLog, FlowLogsResourceType, LogDestinationType, ResourceType, TrafficType,
};
use girder_engine::typed::{
    TypedCreateRequest, TypedCreateResponse, TypedDeleteRequest, TypedFindRequest,
    TypedFindResponse, TypedFound, TypedObserved, TypedReadRequest, TypedReadResponse,
    TypedResource, TypedUpdateRequest, TypedUpdateResponse,
};
use girder_engine::{CallContext, ErrorKind, ProviderError, ResourceSchema};
use serde::{Deserialize, Serialize};

use crate::clients::AwsClients;
use crate::error::{AwsResultExt, Call};
use crate::tags::{self, Tags};

/// The type token.
pub const FLOW_LOG: &str = "aws:ec2/flowLog";

/// Inputs of `aws:ec2/flowLog`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FlowLogInputs {
    /// The VPC, subnet or network interface.
    pub resource_id: String,
    /// `VPC`, `Subnet` or `NetworkInterface`.
    pub resource_type: String,
    /// `ALL`, `ACCEPT` or `REJECT`.
    pub traffic_type: String,
    /// `cloud-watch-logs` or `s3`.
    pub log_destination_type: String,
    /// The log group (CloudWatch Logs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_group_name: Option<String>,
    /// The destination ARN (S3 buckets).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_destination: Option<String>,
    /// The role that lets the service write to CloudWatch Logs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deliver_logs_permission_arn: Option<String>,
    /// Seconds over which a flow record is aggregated: 60 or 600.
    pub max_aggregation_interval: i32,
    /// User tags.
    #[serde(default, skip_serializing_if = "Tags::is_empty")]
    pub tags: Tags,
}

/// Outputs of `aws:ec2/flowLog`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FlowLogOutputs {
    /// Whether delivery works (`SUCCESS` or `FAILED`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deliver_logs_status: Option<String>,
}

/// The `aws:ec2/flowLog` resource type.
#[derive(Clone, Copy, Debug, Default)]
pub struct FlowLogResource;

fn observe(
    log: &FlowLog,
    recorded: Option<&FlowLogInputs>,
) -> TypedObserved<FlowLogInputs, FlowLogOutputs> {
    let resource_id = log.resource_id().unwrap_or_default().to_owned();
    let resource_type = recorded
        .map(|r| r.resource_type.clone())
        .unwrap_or_else(|| {
            // The describe output does not repeat the type; the id's prefix tells it.
            if resource_id.starts_with("subnet-") {
                "Subnet"
            } else if resource_id.starts_with("eni-") {
                "NetworkInterface"
            } else {
                "VPC"
            }
            .to_owned()
        });
    TypedObserved::new(
        FlowLogInputs {
            resource_id,
            resource_type,
            traffic_type: log
                .traffic_type()
                .map(|t| t.as_str().to_owned())
                .unwrap_or_default(),
            log_destination_type: log
                .log_destination_type()
                .map(|t| t.as_str().to_owned())
                .unwrap_or_else(|| "cloud-watch-logs".to_owned()),
            log_group_name: log.log_group_name().map(str::to_owned),
            log_destination: log
                .log_destination()
                .map(str::to_owned)
                .filter(|_| log.log_group_name().is_none()),
            deliver_logs_permission_arn: log.deliver_logs_permission_arn().map(str::to_owned),
            max_aggregation_interval: log.max_aggregation_interval().unwrap_or(600),
            tags: tags::user_tags(tags::ec2_pairs(log.tags())),
        },
        FlowLogOutputs {
            deliver_logs_status: log.deliver_logs_status().map(str::to_owned),
        },
    )
}

async fn describe(
    ec2: &aws_sdk_ec2::Client,
    filters: Vec<Filter>,
) -> Result<Vec<FlowLog>, ProviderError> {
    ec2.describe_flow_logs()
        .set_filter(Some(filters))
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .aws(&Call::new("DescribeFlowLogs", "flow logs"))
}

#[async_trait]
impl TypedResource<AwsClients> for FlowLogResource {
    type Inputs = FlowLogInputs;
    type Outputs = FlowLogOutputs;

    fn schema(&self) -> ResourceSchema {
        ResourceSchema::new(FLOW_LOG).replace_on([
            "resource_id",
            "resource_type",
            "traffic_type",
            "log_destination_type",
            "log_group_name",
            "log_destination",
            "deliver_logs_permission_arn",
            "max_aggregation_interval",
        ])
    }

    async fn create(
        &self,
        clients: &AwsClients,
        req: TypedCreateRequest<FlowLogInputs>,
        ctx: &CallContext,
    ) -> Result<TypedCreateResponse<FlowLogOutputs>, ProviderError> {
        let TypedCreateRequest {
            identity, inputs, ..
        } = req;
        let ec2 = clients.ec2().await?;
        // The create's token goes as ClientToken (AWS answers a retry with the same flow log)
        // and as a tag, so a retry also finds the flow log where the token is not honoured.
        let attempt = clients.attempts().begin(&identity, &inputs);
        let lookup = || async {
            Ok(
                describe(ec2, tags::ec2_token_filters(&identity, attempt.token()))
                    .await?
                    .into_iter()
                    .next(),
            )
        };
        if let Some(earlier) = attempt.find_earlier(ctx, "flow log", lookup).await? {
            clients.attempts().settled(&attempt);
            return Ok(TypedCreateResponse::new(
                earlier.flow_log_id().unwrap_or_default().to_owned(),
                observe(&earlier, Some(&inputs)).outputs,
            ));
        }
        let created = ec2
            .create_flow_logs()
            .client_token(attempt.token())
            .resource_ids(&inputs.resource_id)
            .resource_type(FlowLogsResourceType::from(inputs.resource_type.as_str()))
            .traffic_type(TrafficType::from(inputs.traffic_type.as_str()))
            .log_destination_type(LogDestinationType::from(
                inputs.log_destination_type.as_str(),
            ))
            .set_log_group_name(inputs.log_group_name.clone())
            .set_log_destination(inputs.log_destination.clone())
            .set_deliver_logs_permission_arn(inputs.deliver_logs_permission_arn.clone())
            .max_aggregation_interval(inputs.max_aggregation_interval)
            .tag_specifications(tags::ec2_tag_spec_with_token(
                ResourceType::VpcFlowLog,
                &identity,
                &inputs.tags,
                attempt.token(),
            ))
            .send()
            .await
            .aws(&Call::new("CreateFlowLogs", &identity));
        let created = clients.attempts().sent(&attempt, created)?;
        if let Some(failure) = created.unsuccessful().first().and_then(|u| u.error()) {
            let message = failure.message().unwrap_or_default();
            let code = failure.code().unwrap_or("Unsuccessful");
            // The VPC already has this flow log: the one a lost response made, if it carries
            // this create's token.
            if code == "FlowLogAlreadyExists"
                && let Some(earlier) = lookup().await?
            {
                return Ok(TypedCreateResponse::new(
                    earlier.flow_log_id().unwrap_or_default().to_owned(),
                    observe(&earlier, Some(&inputs)).outputs,
                ));
            }
            // A role created moments ago is not assumable everywhere yet (IAM propagation
            // takes seconds to minutes): wait it out. Anything else is a real problem.
            let kind = if message.to_ascii_lowercase().contains("assume") {
                ErrorKind::Settling
            } else {
                ErrorKind::InvalidInput
            };
            return Err(ProviderError::new(
                kind,
                format!(
                    "CreateFlowLogs of {identity} failed: {message}; check the log destination and that the delivery role trusts vpc-flow-logs.amazonaws.com"
                ),
            )
            .with_code(failure.code().unwrap_or("Unsuccessful")));
        }
        let id = created.flow_log_ids().first().cloned().ok_or_else(|| {
            ProviderError::permanent(format!("CreateFlowLogs of {identity} returned no id"))
        })?;
        // The delivery status is known at once; report it as a read would.
        let outputs = describe(ec2, vec![tags::ec2_filter("flow-log-id", [id.as_str()])])
            .await?
            .first()
            .map(|l| observe(l, Some(&inputs)).outputs)
            .unwrap_or_default();
        Ok(TypedCreateResponse::new(id, outputs))
    }

    async fn read(
        &self,
        clients: &AwsClients,
        req: TypedReadRequest<FlowLogInputs>,
        _ctx: &CallContext,
    ) -> Result<TypedReadResponse<FlowLogInputs, FlowLogOutputs>, ProviderError> {
        let items = req.items;
        let ec2 = clients.ec2().await?;
        let found = super::describe_by_ids(
            &items,
            "flow-log-id",
            |f| describe(ec2, f),
            FlowLog::flow_log_id,
        )
        .await?;
        Ok(items
            .iter()
            .map(|i| found.get(&i.id).map(|l| observe(l, i.inputs.as_ref())))
            .collect())
    }

    async fn update(
        &self,
        clients: &AwsClients,
        req: TypedUpdateRequest<FlowLogInputs, FlowLogOutputs>,
        _ctx: &CallContext,
    ) -> Result<TypedUpdateResponse<FlowLogOutputs>, ProviderError> {
        let TypedUpdateRequest { old, inputs, .. } = req;
        let ec2 = clients.ec2().await?;
        tags::ec2_update_tags(ec2, &old.id, &old.identity, &old.inputs.tags, &inputs.tags).await?;
        Ok(TypedUpdateResponse::new(old.outputs))
    }

    async fn delete(
        &self,
        clients: &AwsClients,
        req: TypedDeleteRequest<FlowLogInputs, FlowLogOutputs>,
        _ctx: &CallContext,
    ) -> Result<(), ProviderError> {
        let old = req.old;
        let deleted = clients
            .ec2()
            .await?
            .delete_flow_logs()
            .flow_log_ids(&old.id)
            .send()
            .await
            .aws(&Call::deleting("DeleteFlowLogs", &old.id))?;
        match deleted.unsuccessful().first().and_then(|u| u.error()) {
            Some(error) if !error.code().unwrap_or_default().contains("NotFound") => {
                Err(ProviderError::permanent(format!(
                    "DeleteFlowLogs of {} failed: {}",
                    old.id,
                    error.message().unwrap_or_default()
                ))
                .with_code(error.code().unwrap_or("Unsuccessful")))
            }
            _ => Ok(()),
        }
    }

    async fn find(
        &self,
        clients: &AwsClients,
        req: TypedFindRequest,
        _ctx: &CallContext,
    ) -> Result<TypedFindResponse<FlowLogInputs, FlowLogOutputs>, ProviderError> {
        let identity = req.identity;
        let ec2 = clients.ec2().await?;
        Ok(describe(ec2, tags::ec2_identity_filters(&identity))
            .await?
            .iter()
            .filter(|l| !clients.attempts().made_by_open_create(&identity, l.tags()))
            .map(|l| {
                TypedFound::new(
                    l.flow_log_id().unwrap_or_default().to_owned(),
                    observe(l, None),
                )
            })
            .collect())
    }
}
