//! `aws:dynamodb/table`: a DynamoDB table with its key schema, billing mode, point-in-time
//! recovery, deletion protection and tags.
//!
//! The cloud id is the table name (unique per account and region). The name and the key
//! schema force a replacement (deleting first: the name must be free); the billing mode and
//! capacities, point-in-time recovery, deletion protection and tags update in place. Creates
//! and billing changes wait until the table is `ACTIVE`; deletes until it is gone.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, PointInTimeRecoverySpecification,
    PointInTimeRecoveryStatus, ProvisionedThroughput, ScalarAttributeType, TableDescription,
    TableStatus, Tag,
};
use girder_engine::provider::DefaultTimeouts;
use girder_engine::typed::{
    TypedCreateRequest, TypedCreateResponse, TypedDeleteRequest, TypedFindRequest,
    TypedFindResponse, TypedFound, TypedObserved, TypedReadRequest, TypedReadResponse,
    TypedResource, TypedUpdateRequest, TypedUpdateResponse,
};
use girder_engine::{CallContext, ErrorKind, ProviderError, ResourceIdentity, ResourceSchema};
use serde::{Deserialize, Serialize};

use crate::clients::AwsClients;
use crate::error::{AwsResultExt, Call, after_create, has_code, is_not_found};
use crate::tags::{self, Tags};
use crate::util::{Poll, wait_until};

/// The type token.
pub const TABLE: &str = "aws:dynamodb/table";

/// A key attribute: its name and type (`S`, `N` or `B`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyAttribute {
    /// The attribute name, such as `LockID`.
    pub name: String,
    /// `S` (string), `N` (number) or `B` (binary).
    #[serde(rename = "type")]
    pub kind: String,
}

fn is_false(value: &bool) -> bool {
    !*value
}

fn pay_per_request() -> String {
    "PAY_PER_REQUEST".to_owned()
}

/// Inputs of `aws:dynamodb/table`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TableInputs {
    /// The table name; changing it replaces the table.
    pub name: String,
    /// The partition key; changing it replaces the table.
    pub hash_key: KeyAttribute,
    /// The sort key; changing it replaces the table.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range_key: Option<KeyAttribute>,
    /// `PAY_PER_REQUEST` (on-demand) or `PROVISIONED`.
    #[serde(default = "pay_per_request")]
    pub billing_mode: String,
    /// Read capacity units (`PROVISIONED` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_capacity: Option<i64>,
    /// Write capacity units (`PROVISIONED` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub write_capacity: Option<i64>,
    /// Continuous backups with point-in-time recovery (the last 35 days).
    #[serde(default, skip_serializing_if = "is_false")]
    pub point_in_time_recovery: bool,
    /// DynamoDB refuses to delete the table while this is on.
    #[serde(default, skip_serializing_if = "is_false")]
    pub deletion_protection: bool,
    /// User tags.
    #[serde(default, skip_serializing_if = "Tags::is_empty")]
    pub tags: Tags,
}

/// Outputs of `aws:dynamodb/table`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TableOutputs {
    /// The table name (repeated from the inputs, so it is known when planning).
    pub name: String,
    /// The ARN.
    pub arn: String,
}

/// The `aws:dynamodb/table` resource type.
#[derive(Clone, Copy, Debug, Default)]
pub struct TableResource;

fn invalid(
    identity: &ResourceIdentity,
) -> impl Fn(aws_smithy_types::error::operation::BuildError) -> ProviderError + '_ {
    move |e| ProviderError::invalid_input(format!("{identity}: {e}"))
}

fn dynamodb_tags(identity: &ResourceIdentity, user: &Tags) -> Result<Vec<Tag>, ProviderError> {
    tags::with_identity(identity, user)
        .into_iter()
        .map(|(k, v)| {
            Tag::builder()
                .key(k)
                .value(v)
                .build()
                .map_err(invalid(identity))
        })
        .collect()
}

fn throughput(
    inputs: &TableInputs,
    identity: &ResourceIdentity,
) -> Result<Option<ProvisionedThroughput>, ProviderError> {
    if inputs.billing_mode != "PROVISIONED" {
        return Ok(None);
    }
    ProvisionedThroughput::builder()
        .read_capacity_units(inputs.read_capacity.unwrap_or(1))
        .write_capacity_units(inputs.write_capacity.unwrap_or(1))
        .build()
        .map(Some)
        .map_err(invalid(identity))
}

async fn describe(
    dynamodb: &aws_sdk_dynamodb::Client,
    name: &str,
) -> Result<Option<TableDescription>, ProviderError> {
    match dynamodb
        .describe_table()
        .table_name(name)
        .send()
        .await
        .aws(&Call::new("DescribeTable", name))
    {
        Ok(out) => Ok(out.table().cloned()),
        Err(e) if is_not_found(&e) => Ok(None),
        Err(e) => Err(e),
    }
}

async fn get_tags(dynamodb: &aws_sdk_dynamodb::Client, arn: &str) -> Result<Tags, ProviderError> {
    let mut found = Tags::new();
    let mut token: Option<String> = None;
    loop {
        let out = dynamodb
            .list_tags_of_resource()
            .resource_arn(arn)
            .set_next_token(token.take())
            .send()
            .await
            .aws(&Call::new("ListTagsOfResource", arn))?;
        found.extend(
            out.tags()
                .iter()
                .map(|t| (t.key().to_owned(), t.value().to_owned())),
        );
        match out.next_token() {
            Some(next) => token = Some(next.to_owned()),
            None => return Ok(found),
        }
    }
}

async fn get_pitr(dynamodb: &aws_sdk_dynamodb::Client, name: &str) -> Result<bool, ProviderError> {
    let out = dynamodb
        .describe_continuous_backups()
        .table_name(name)
        .send()
        .await
        .aws(&Call::new("DescribeContinuousBackups", name))?;
    Ok(out
        .continuous_backups_description()
        .and_then(|d| d.point_in_time_recovery_description())
        .and_then(|p| p.point_in_time_recovery_status())
        == Some(&PointInTimeRecoveryStatus::Enabled))
}

async fn set_pitr(
    dynamodb: &aws_sdk_dynamodb::Client,
    name: &str,
    enabled: bool,
    identity: &ResourceIdentity,
) -> Result<(), ProviderError> {
    dynamodb
        .update_continuous_backups()
        .table_name(name)
        .point_in_time_recovery_specification(
            PointInTimeRecoverySpecification::builder()
                .point_in_time_recovery_enabled(enabled)
                .build()
                .map_err(invalid(identity))?,
        )
        .send()
        .await
        .aws(&Call::new("UpdateContinuousBackups", identity))?;
    Ok(())
}

/// Waits until the table is `ACTIVE` (creates, billing mode changes).
async fn wait_active(
    dynamodb: &aws_sdk_dynamodb::Client,
    ctx: &CallContext,
    name: &str,
) -> Result<TableDescription, ProviderError> {
    wait_until(
        ctx,
        &format!("table {name} to become ACTIVE"),
        Duration::from_millis(500),
        Duration::from_secs(10),
        || async {
            Ok(match describe(dynamodb, name).await? {
                Some(table) if table.table_status() == Some(&TableStatus::Active) => {
                    Poll::Ready(table)
                }
                Some(table) => Poll::Pending(
                    table
                        .table_status()
                        .map(|s| s.as_str().to_owned())
                        .unwrap_or_default(),
                ),
                // Eventual consistency: a new table may not be described yet.
                None => Poll::Pending("not described yet".into()),
            })
        },
    )
    .await
}

fn key_of(table: &TableDescription, key_type: &KeyType) -> Option<KeyAttribute> {
    let name = table
        .key_schema()
        .iter()
        .find(|k| k.key_type() == key_type)?
        .attribute_name();
    let kind = table
        .attribute_definitions()
        .iter()
        .find(|a| a.attribute_name() == name)
        .map(|a| a.attribute_type().as_str().to_owned())
        .unwrap_or_default();
    Some(KeyAttribute {
        name: name.to_owned(),
        kind,
    })
}

/// Reads one table (three requests); `None` if it does not exist or is being deleted.
async fn observe(
    dynamodb: &aws_sdk_dynamodb::Client,
    name: &str,
) -> Result<Option<TypedObserved<TableInputs, TableOutputs>>, ProviderError> {
    let Some(table) = describe(dynamodb, name).await? else {
        return Ok(None);
    };
    if table.table_status() == Some(&TableStatus::Deleting) {
        return Ok(None);
    }
    let arn = table.table_arn().unwrap_or_default().to_owned();
    let (found_tags, pitr) = tokio::join!(get_tags(dynamodb, &arn), get_pitr(dynamodb, name));
    let provisioned = table
        .billing_mode_summary()
        .and_then(|b| b.billing_mode())
        .is_none_or(|m| m == &BillingMode::Provisioned);
    let capacity = |read: bool| {
        provisioned
            .then(|| {
                table.provisioned_throughput().and_then(|p| {
                    if read {
                        p.read_capacity_units()
                    } else {
                        p.write_capacity_units()
                    }
                })
            })
            .flatten()
    };
    let found_tags = found_tags?;
    Ok(Some(TypedObserved::new(
        TableInputs {
            name: name.to_owned(),
            hash_key: key_of(&table, &KeyType::Hash).unwrap_or(KeyAttribute {
                name: String::new(),
                kind: String::new(),
            }),
            range_key: key_of(&table, &KeyType::Range),
            billing_mode: if provisioned {
                "PROVISIONED".into()
            } else {
                pay_per_request()
            },
            read_capacity: capacity(true),
            write_capacity: capacity(false),
            point_in_time_recovery: pitr?,
            deletion_protection: table.deletion_protection_enabled().unwrap_or(false),
            tags: tags::user_tags(found_tags.iter().map(|(k, v)| (k.as_str(), v.as_str()))),
        },
        TableOutputs {
            name: name.to_owned(),
            arn,
        },
    )))
}

#[async_trait]
impl TypedResource<AwsClients> for TableResource {
    type Inputs = TableInputs;
    type Outputs = TableOutputs;

    fn check(&self, name: &str, inputs: &girder_core::Value) -> girder_core::Diagnostics {
        crate::checks::table(name, inputs)
    }

    fn schema(&self) -> ResourceSchema {
        ResourceSchema::new(TABLE)
            .replace_on(["name", "hash_key", "range_key"])
            .echo_inputs()
            .computed(["arn"])
            .delete_before_replace()
            .timeouts(DefaultTimeouts {
                create: Duration::from_secs(600),
                update: Duration::from_secs(1800),
                delete: Duration::from_secs(600),
                ..DefaultTimeouts::default()
            })
    }

    async fn create(
        &self,
        clients: &AwsClients,
        req: TypedCreateRequest<TableInputs>,
        ctx: &CallContext,
    ) -> Result<TypedCreateResponse<TableOutputs>, ProviderError> {
        let TypedCreateRequest {
            identity, inputs, ..
        } = req;
        let dynamodb = clients.dynamodb().await?;
        let mut keys = vec![(&inputs.hash_key, KeyType::Hash)];
        if let Some(range) = &inputs.range_key {
            keys.push((range, KeyType::Range));
        }
        let key_schema = keys
            .iter()
            .map(|(k, t)| {
                KeySchemaElement::builder()
                    .attribute_name(&k.name)
                    .key_type(t.clone())
                    .build()
                    .map_err(invalid(&identity))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let definitions = keys
            .iter()
            .map(|(k, _)| {
                AttributeDefinition::builder()
                    .attribute_name(&k.name)
                    .attribute_type(ScalarAttributeType::from(k.kind.as_str()))
                    .build()
                    .map_err(invalid(&identity))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let created = dynamodb
            .create_table()
            .table_name(&inputs.name)
            .set_key_schema(Some(key_schema))
            .set_attribute_definitions(Some(definitions))
            .billing_mode(BillingMode::from(inputs.billing_mode.as_str()))
            .set_provisioned_throughput(throughput(&inputs, &identity)?)
            .deletion_protection_enabled(inputs.deletion_protection)
            // DynamoDB tags as it creates: the table is never without its identity.
            .set_tags(Some(dynamodb_tags(&identity, &inputs.tags)?))
            .send()
            .await
            .aws(&Call::new("CreateTable", &identity));
        match created {
            Ok(_) => {}
            Err(e) if has_code(&e, "ResourceInUseException") => {
                // Ours if its &identity tags say so (an earlier create that was not recorded).
                let existing = describe(dynamodb, &inputs.name).await?;
                let arn = existing
                    .as_ref()
                    .and_then(|t| t.table_arn())
                    .unwrap_or_default()
                    .to_owned();
                let found = if arn.is_empty() {
                    Tags::new()
                } else {
                    get_tags(dynamodb, &arn).await?
                };
                if !tags::names_identity(
                    found.iter().map(|(k, v)| (k.as_str(), v.as_str())),
                    &identity,
                ) {
                    return Err(ProviderError {
                        kind: ErrorKind::Conflict,
                        message: format!(
                            "{identity}: a DynamoDB table named `{}` already exists and does not belong to this resource; import it with `.import(\"{}\")` or choose another name",
                            inputs.name, inputs.name
                        ),
                        ..e
                    });
                }
                tracing::info!(%identity, table = %inputs.name, "adopting the existing table");
            }
            Err(e) => return Err(e),
        }
        let partial = |e, arn: &str| {
            after_create(
                e,
                &inputs.name,
                girder_core::Value::from_serialize(&TableOutputs {
                    name: inputs.name.clone(),
                    arn: arn.to_owned(),
                })
                .unwrap_or_default(),
            )
        };
        let table = wait_active(dynamodb, ctx, &inputs.name)
            .await
            .map_err(|e| partial(e, ""))?;
        let arn = table.table_arn().unwrap_or_default().to_owned();
        if inputs.point_in_time_recovery {
            set_pitr(dynamodb, &inputs.name, true, &identity)
                .await
                .map_err(|e| partial(e, &arn))?;
        }
        Ok(TypedCreateResponse::new(
            inputs.name.clone(),
            TableOutputs {
                name: inputs.name,
                arn,
            },
        ))
    }

    async fn read(
        &self,
        clients: &AwsClients,
        req: TypedReadRequest<TableInputs>,
        _ctx: &CallContext,
    ) -> Result<TypedReadResponse<TableInputs, TableOutputs>, ProviderError> {
        let items = req.items;
        let dynamodb = clients.dynamodb().await?;
        // DynamoDB has no batched describe: DescribeTable, ListTagsOfResource and
        // DescribeContinuousBackups per table (the last two concurrently).
        let mut results = Vec::with_capacity(items.len());
        for item in &items {
            results.push(observe(dynamodb, &item.id).await?);
        }
        Ok(TypedReadResponse::new(results))
    }

    async fn update(
        &self,
        clients: &AwsClients,
        req: TypedUpdateRequest<TableInputs, TableOutputs>,
        ctx: &CallContext,
    ) -> Result<TypedUpdateResponse<TableOutputs>, ProviderError> {
        let TypedUpdateRequest { old, inputs, .. } = req;
        let dynamodb = clients.dynamodb().await?;
        let (name, identity) = (old.id.as_str(), &old.identity);
        let billing_changed = old.inputs.billing_mode != inputs.billing_mode
            || old.inputs.read_capacity != inputs.read_capacity
            || old.inputs.write_capacity != inputs.write_capacity;
        let protection_changed = old.inputs.deletion_protection != inputs.deletion_protection;
        if billing_changed || protection_changed {
            let mut request = dynamodb.update_table().table_name(name);
            if billing_changed {
                request = request
                    .billing_mode(BillingMode::from(inputs.billing_mode.as_str()))
                    .set_provisioned_throughput(throughput(&inputs, identity)?);
            }
            if protection_changed {
                request = request.deletion_protection_enabled(inputs.deletion_protection);
            }
            request
                .send()
                .await
                .aws(&Call::new("UpdateTable", identity))?;
            wait_active(dynamodb, ctx, name).await?;
        }
        if old.inputs.point_in_time_recovery != inputs.point_in_time_recovery {
            set_pitr(dynamodb, name, inputs.point_in_time_recovery, identity).await?;
        }
        if old.inputs.tags != inputs.tags {
            let removed = crate::tags::removed_keys(&old.inputs.tags, &inputs.tags);
            if !removed.is_empty() {
                dynamodb
                    .untag_resource()
                    .resource_arn(&old.outputs.arn)
                    .set_tag_keys(Some(removed))
                    .send()
                    .await
                    .aws(&Call::new("UntagResource", identity))?;
            }
            dynamodb
                .tag_resource()
                .resource_arn(&old.outputs.arn)
                .set_tags(Some(dynamodb_tags(identity, &inputs.tags)?))
                .send()
                .await
                .aws(&Call::new("TagResource", identity))?;
        }
        Ok(TypedUpdateResponse::new(old.outputs))
    }

    async fn delete(
        &self,
        clients: &AwsClients,
        req: TypedDeleteRequest<TableInputs, TableOutputs>,
        ctx: &CallContext,
    ) -> Result<(), ProviderError> {
        let old = req.old;
        let dynamodb = clients.dynamodb().await?;
        let name = old.id.as_str();
        match dynamodb
            .delete_table()
            .table_name(name)
            .send()
            .await
            .aws(&Call::deleting("DeleteTable", &old.identity))
        {
            Ok(_) => {}
            Err(e) if is_not_found(&e) => return Ok(()),
            // Still CREATING or UPDATING: worth waiting for.
            Err(e) if has_code(&e, "ResourceInUseException") => {
                return Err(ProviderError {
                    kind: ErrorKind::Retryable,
                    ..e
                });
            }
            Err(e) if e.message.contains("DeletionProtectionEnabled") => {
                return Err(ProviderError {
                    kind: ErrorKind::Conflict,
                    message: format!(
                        "{}: the table `{name}` has deletion protection on; remove `.deletion_protection()` and apply before deleting it",
                        old.identity
                    ),
                    ..e
                });
            }
            Err(e) => return Err(e),
        }
        wait_until(
            ctx,
            &format!("table {name} to be deleted"),
            Duration::from_millis(500),
            Duration::from_secs(10),
            || async {
                Ok(match describe(dynamodb, name).await? {
                    None => Poll::Ready(()),
                    Some(table) => Poll::Pending(
                        table
                            .table_status()
                            .map(|s| s.as_str().to_owned())
                            .unwrap_or_default(),
                    ),
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
    ) -> Result<TypedFindResponse<TableInputs, TableOutputs>, ProviderError> {
        let identity = req.identity;
        let dynamodb = clients.dynamodb().await?;
        // DynamoDB cannot list tables by tag: list the region's tables (100 per call), then
        // read each one's tags by ARN (built from the account id, one STS call).
        let names: Vec<String> = dynamodb
            .list_tables()
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .aws(&Call::new("ListTables", "DynamoDB tables"))?;
        if names.is_empty() {
            return Ok(TypedFindResponse::none());
        }
        let caller = clients
            .sts()
            .await?
            .get_caller_identity()
            .send()
            .await
            .aws(&Call::new("GetCallerIdentity", "the caller"))?;
        let account = caller.account().unwrap_or_default();
        // `aws`, `aws-cn`, `aws-us-gov`: the caller's ARN names the partition.
        let partition = caller
            .arn()
            .and_then(|a| a.split(':').nth(1))
            .filter(|p| !p.is_empty())
            .unwrap_or("aws");
        let region = clients.region().await?;
        let mut found = Vec::new();
        for name in names {
            let arn = format!("arn:{partition}:dynamodb:{region}:{account}:table/{name}");
            let table_tags = match get_tags(dynamodb, &arn).await {
                Ok(t) => t,
                Err(e) if is_not_found(&e) => continue,
                Err(e) => return Err(e),
            };
            if tags::names_identity(
                table_tags.iter().map(|(k, v)| (k.as_str(), v.as_str())),
                &identity,
            ) && let Some(observed) = observe(dynamodb, &name).await?
            {
                found.push(TypedFound::new(name, observed));
            }
        }
        Ok(TypedFindResponse::new(found))
    }
}
