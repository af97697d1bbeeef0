//! `aws:logs/logGroup`: a CloudWatch Logs log group with its retention.
//!
//! Log groups are named by the user (EKS even fixes the name: `/aws/eks/<cluster>/cluster`),
//! so the name is the id. Tags cannot be searched by, so `find` reports nothing and a create
//! that meets an existing group adopts it if its identity tags name this resource.

use async_trait::async_trait;
use aws_sdk_cloudwatchlogs::types::LogGroup;
use girder_engine::typed::{
    TypedCreateRequest, TypedCreateResponse, TypedDeleteRequest, TypedFindRequest,
    TypedFindResponse, TypedObserved, TypedReadRequest, TypedReadResponse, TypedResource,
    TypedUpdateRequest, TypedUpdateResponse,
};
use girder_engine::{CallContext, ErrorKind, ProviderError, ResourceSchema};
use serde::{Deserialize, Serialize};

use crate::clients::AwsClients;
use crate::error::{AwsResultExt, Call, has_code, is_not_found};
use crate::tags::{self, Tags};
use crate::util::settle;

/// The type token.
pub const LOG_GROUP: &str = "aws:logs/logGroup";

/// The retention periods CloudWatch Logs accepts, in days.
pub const RETENTION_DAYS: [i32; 23] = [
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653, 0,
];

/// Inputs of `aws:logs/logGroup`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LogGroupInputs {
    /// The name (unique per account and region).
    pub name: String,
    /// Days to keep events; absent keeps them forever.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention_in_days: Option<i32>,
    /// The KMS key that encrypts the events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kms_key_id: Option<String>,
    /// User tags.
    #[serde(default, skip_serializing_if = "Tags::is_empty")]
    pub tags: Tags,
}

/// Outputs of `aws:logs/logGroup`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LogGroupOutputs {
    /// The name (repeated from the inputs, so it is known when planning).
    pub name: String,
    /// The ARN (without the `:*` suffix).
    pub arn: String,
}

/// The `aws:logs/logGroup` resource type.
#[derive(Clone, Copy, Debug, Default)]
pub struct LogGroupResource;

fn arn_of(group: &LogGroup) -> String {
    group
        .log_group_arn()
        .map(str::to_owned)
        .or_else(|| group.arn().map(|a| a.trim_end_matches(":*").to_owned()))
        .unwrap_or_default()
}

async fn describe(
    logs: &aws_sdk_cloudwatchlogs::Client,
    names: &[String],
) -> Result<Vec<LogGroup>, ProviderError> {
    let mut groups = Vec::new();
    // `logGroupIdentifiers` takes up to 50 names per call.
    for chunk in names.chunks(50) {
        let found: Vec<LogGroup> = logs
            .describe_log_groups()
            .set_log_group_identifiers(Some(chunk.to_vec()))
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .aws(&Call::new("DescribeLogGroups", "log groups"))?;
        groups.extend(found.into_iter().filter(|g| {
            g.log_group_name()
                .is_some_and(|n| chunk.iter().any(|c| c == n))
        }));
    }
    Ok(groups)
}

async fn tags_of(logs: &aws_sdk_cloudwatchlogs::Client, arn: &str) -> Result<Tags, ProviderError> {
    Ok(logs
        .list_tags_for_resource()
        .resource_arn(arn)
        .send()
        .await
        .aws(&Call::new("ListTagsForResource", arn))?
        .tags()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .collect())
}

async fn set_retention(
    logs: &aws_sdk_cloudwatchlogs::Client,
    name: &str,
    days: Option<i32>,
) -> Result<(), ProviderError> {
    match days {
        Some(days) => {
            logs.put_retention_policy()
                .log_group_name(name)
                .retention_in_days(days)
                .send()
                .await
                .aws(&Call::new("PutRetentionPolicy", name))?;
        }
        None => {
            logs.delete_retention_policy()
                .log_group_name(name)
                .send()
                .await
                .aws(&Call::new("DeleteRetentionPolicy", name))?;
        }
    }
    Ok(())
}

#[async_trait]
impl TypedResource<AwsClients> for LogGroupResource {
    type Inputs = LogGroupInputs;
    type Outputs = LogGroupOutputs;

    fn check(&self, name: &str, inputs: &girder_core::Value) -> girder_core::Diagnostics {
        crate::checks::retention(name, inputs)
    }

    fn schema(&self) -> ResourceSchema {
        // Names are unique: a replacement must wait until the old group is deleted.
        ResourceSchema::new(LOG_GROUP)
            .replace_on(["name"])
            .echo_inputs()
            .computed(["arn"])
            .delete_before_replace()
    }

    async fn create(
        &self,
        clients: &AwsClients,
        req: TypedCreateRequest<LogGroupInputs>,
        ctx: &CallContext,
    ) -> Result<TypedCreateResponse<LogGroupOutputs>, ProviderError> {
        let TypedCreateRequest {
            identity, inputs, ..
        } = req;
        let logs = clients.logs().await?;
        let all_tags = tags::with_identity(&identity, &inputs.tags);
        let created = logs
            .create_log_group()
            .log_group_name(&inputs.name)
            .set_kms_key_id(inputs.kms_key_id.clone())
            .set_tags(Some(all_tags.clone().into_iter().collect()))
            .send()
            .await
            .aws(&Call::new("CreateLogGroup", &identity));
        match created {
            Ok(_) => {}
            Err(e) if has_code(&e, "ResourceAlreadyExistsException") => {
                // Each look is retried on its own: a throttled look must not repeat the create.
                let what = format!("the tags of log group {}", inputs.name);
                let found = settle(ctx, &what, || async {
                    let existing = describe(logs, std::slice::from_ref(&inputs.name)).await?;
                    let arn = existing.first().map(arn_of).unwrap_or_default();
                    tags_of(logs, &arn).await
                })
                .await?;
                if !tags::names_identity(
                    found.iter().map(|(k, v)| (k.as_str(), v.as_str())),
                    &identity,
                ) {
                    return Err(ProviderError {
                        kind: ErrorKind::Conflict,
                        message: format!(
                            "{identity}: a log group named `{}` already exists and does not belong to this resource; import it with `.import(\"{}\")` or choose another name",
                            inputs.name, inputs.name
                        ),
                        ..e
                    });
                }
                tracing::info!(%identity, name = %inputs.name, "adopting the existing log group");
            }
            Err(e) => return Err(e),
        }
        // The group exists from here on: its remaining steps are retried on their own (a
        // retry of the whole create would only meet ResourceAlreadyExists and start over).
        if inputs.retention_in_days.is_some() {
            settle(
                ctx,
                &format!("the retention of log group {}", inputs.name),
                || set_retention(logs, &inputs.name, inputs.retention_in_days),
            )
            .await?;
        }
        let arn = settle(ctx, &format!("log group {}", inputs.name), || async {
            Ok(describe(logs, std::slice::from_ref(&inputs.name))
                .await?
                .first()
                .map(arn_of)
                .unwrap_or_default())
        })
        .await?;
        Ok(TypedCreateResponse::new(
            inputs.name.clone(),
            LogGroupOutputs {
                name: inputs.name,
                arn,
            },
        ))
    }

    async fn read(
        &self,
        clients: &AwsClients,
        req: TypedReadRequest<LogGroupInputs>,
        _ctx: &CallContext,
    ) -> Result<TypedReadResponse<LogGroupInputs, LogGroupOutputs>, ProviderError> {
        let items = req.items;
        let logs = clients.logs().await?;
        let names: Vec<String> = items.iter().map(|i| i.id.clone()).collect();
        let groups = describe(logs, &names).await?;
        let mut results = Vec::with_capacity(items.len());
        for item in &items {
            let Some(group) = groups
                .iter()
                .find(|g| g.log_group_name() == Some(item.id.as_str()))
            else {
                results.push(None);
                continue;
            };
            let arn = arn_of(group);
            // Tags are not part of DescribeLogGroups: one call per group.
            let found = tags_of(logs, &arn).await?;
            results.push(Some(TypedObserved::new(
                LogGroupInputs {
                    name: item.id.clone(),
                    retention_in_days: group.retention_in_days(),
                    kms_key_id: group.kms_key_id().map(str::to_owned),
                    tags: tags::user_tags(found.iter().map(|(k, v)| (k.as_str(), v.as_str()))),
                },
                LogGroupOutputs {
                    name: item.id.clone(),
                    arn,
                },
            )));
        }
        Ok(TypedReadResponse::new(results))
    }

    async fn update(
        &self,
        clients: &AwsClients,
        req: TypedUpdateRequest<LogGroupInputs, LogGroupOutputs>,
        _ctx: &CallContext,
    ) -> Result<TypedUpdateResponse<LogGroupOutputs>, ProviderError> {
        let TypedUpdateRequest { old, inputs, .. } = req;
        let logs = clients.logs().await?;
        if old.inputs.retention_in_days != inputs.retention_in_days {
            set_retention(logs, &old.id, inputs.retention_in_days).await?;
        }
        if old.inputs.kms_key_id != inputs.kms_key_id {
            match &inputs.kms_key_id {
                Some(key) => {
                    logs.associate_kms_key()
                        .log_group_name(&old.id)
                        .kms_key_id(key)
                        .send()
                        .await
                        .aws(&Call::new("AssociateKmsKey", &old.identity))?;
                }
                None => {
                    logs.disassociate_kms_key()
                        .log_group_name(&old.id)
                        .send()
                        .await
                        .aws(&Call::new("DisassociateKmsKey", &old.identity))?;
                }
            }
        }
        if old.inputs.tags != inputs.tags {
            let removed = crate::tags::removed_keys(&old.inputs.tags, &inputs.tags);
            if !removed.is_empty() {
                logs.untag_resource()
                    .resource_arn(&old.outputs.arn)
                    .set_tag_keys(Some(removed))
                    .send()
                    .await
                    .aws(&Call::new("UntagResource", &old.identity))?;
            }
            logs.tag_resource()
                .resource_arn(&old.outputs.arn)
                .set_tags(Some(
                    tags::with_identity(&old.identity, &inputs.tags)
                        .into_iter()
                        .collect(),
                ))
                .send()
                .await
                .aws(&Call::new("TagResource", &old.identity))?;
        }
        Ok(TypedUpdateResponse::new(old.outputs))
    }

    async fn delete(
        &self,
        clients: &AwsClients,
        req: TypedDeleteRequest<LogGroupInputs, LogGroupOutputs>,
        _ctx: &CallContext,
    ) -> Result<(), ProviderError> {
        let old = req.old;
        match clients
            .logs()
            .await?
            .delete_log_group()
            .log_group_name(&old.id)
            .send()
            .await
            .aws(&Call::deleting("DeleteLogGroup", &old.id))
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
    ) -> Result<TypedFindResponse<LogGroupInputs, LogGroupOutputs>, ProviderError> {
        // Log groups cannot be listed by tag; see the module documentation.
        Ok(TypedFindResponse::none())
    }
}
