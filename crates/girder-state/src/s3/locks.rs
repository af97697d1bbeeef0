//! Locking a stack in S3: a DynamoDB item or an S3 lock object, each with a lease that the
//! holder's heartbeat renews, so a crashed holder's lock expires instead of blocking the team.

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::primitives::ByteStream;

use super::{S3Store, lease_of};
use crate::lock::{LockInfo, expiry_after};
use crate::{Locker, StateError};

fn now_epoch() -> i64 {
    jiff::Timestamp::now().as_second()
}

fn expires_epoch(info: &LockInfo) -> i64 {
    info.expires
        .as_deref()
        .and_then(|e| e.parse::<jiff::Timestamp>().ok())
        .map(|t| t.as_second())
        .unwrap_or(i64::MAX)
}

fn dynamo_error<E: ProvideErrorMetadata + std::fmt::Debug>(
    what: &str,
    error: &aws_sdk_dynamodb::error::SdkError<E>,
) -> String {
    match error.as_service_error() {
        Some(service) => format!(
            "{what}: {} ({})",
            service.message().unwrap_or("no message"),
            service.code().unwrap_or("no code")
        ),
        None => format!("{what}: {error}"),
    }
}

fn is_conditional_failure<E: ProvideErrorMetadata>(
    error: &aws_sdk_dynamodb::error::SdkError<E>,
) -> bool {
    error
        .as_service_error()
        .and_then(|e| e.code())
        .is_some_and(|c| c == "ConditionalCheckFailedException")
}

impl S3Store {
    fn locked_error(&self, holder: LockInfo) -> StateError {
        StateError::Locked {
            stack: self.stack_name().to_owned(),
            holder: Box::new(holder),
        }
    }

    fn lock_lost(&self, reason: &str) -> StateError {
        StateError::LockLost {
            stack: self.stack_name().to_owned(),
            reason: reason.to_owned(),
        }
    }

    fn parse_info(&self, json: &str) -> Result<LockInfo, StateError> {
        serde_json::from_str(json)
            .map_err(|e| self.storage_error(format!("the lock record does not parse: {e}")))
    }

    // --- DynamoDB -------------------------------------------------------------------------

    async fn dynamo_get(&self) -> Result<Option<LockInfo>, StateError> {
        let (Some(client), super::LockKind::DynamoDb { table }) =
            (self.dynamodb(), &self.s3_location().lock)
        else {
            return Ok(None);
        };
        let item = client
            .get_item()
            .table_name(table)
            .key("LockID", AttributeValue::S(self.lock_id()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| {
                self.storage_error(dynamo_error(
                    &format!("reading the lock in DynamoDB table `{table}`"),
                    &e,
                ))
            })?;
        match item
            .item()
            .and_then(|i| i.get("Info"))
            .and_then(|v| v.as_s().ok())
        {
            Some(info) => Ok(Some(self.parse_info(info)?)),
            None => Ok(None),
        }
    }

    async fn dynamo_try_lock(&self, info: &LockInfo) -> Result<(), StateError> {
        let (Some(client), super::LockKind::DynamoDb { table }) =
            (self.dynamodb(), &self.s3_location().lock)
        else {
            return Err(self.storage_error("DynamoDB locking is not configured"));
        };
        let json = serde_json::to_string(info).map_err(|e| self.storage_error(e.to_string()))?;
        let previous = self.dynamo_get().await?;
        // Free, or held by a lease that ran out: taken atomically, so two runs that both saw
        // an expired lock cannot both win.
        let result = client
            .put_item()
            .table_name(table)
            .item("LockID", AttributeValue::S(self.lock_id()))
            .item("Info", AttributeValue::S(json))
            .item("Holder", AttributeValue::S(info.id.clone()))
            .item(
                "Expires",
                AttributeValue::N(expires_epoch(info).to_string()),
            )
            .condition_expression("attribute_not_exists(LockID) OR Expires < :now")
            .expression_attribute_values(":now", AttributeValue::N(now_epoch().to_string()))
            .send()
            .await;
        match result {
            Ok(_) => {
                if let Some(holder) = previous.filter(|p| expires_epoch(p) < now_epoch()) {
                    tracing::warn!("took over an expired lock: {holder}");
                    eprintln!(
                        "Warning: took over the expired lock of {holder}; its unfinished work is recovered now."
                    );
                }
                Ok(())
            }
            Err(error) if is_conditional_failure(&error) => match self.dynamo_get().await? {
                Some(holder) => Err(self.locked_error(holder)),
                None => {
                    Err(self.storage_error("the lock was released while being taken; try again"))
                }
            },
            Err(error) => Err(self.storage_error(dynamo_error(
                &format!("taking the lock in DynamoDB table `{table}`"),
                &error,
            ))),
        }
    }

    async fn dynamo_delete(&self, holder: Option<&str>) -> Result<(), StateError> {
        let (Some(client), super::LockKind::DynamoDb { table }) =
            (self.dynamodb(), &self.s3_location().lock)
        else {
            return Ok(());
        };
        let mut request = client
            .delete_item()
            .table_name(table)
            .key("LockID", AttributeValue::S(self.lock_id()));
        if let Some(holder) = holder {
            request = request
                .condition_expression("Holder = :holder")
                .expression_attribute_values(":holder", AttributeValue::S(holder.to_owned()));
        }
        match request.send().await {
            Ok(_) => Ok(()),
            Err(error) if is_conditional_failure(&error) => Ok(()),
            Err(error) => Err(self.storage_error(dynamo_error("releasing the lock", &error))),
        }
    }

    async fn dynamo_renew(&self, id: &str) -> Result<(), StateError> {
        let (Some(client), super::LockKind::DynamoDb { table }) =
            (self.dynamodb(), &self.s3_location().lock)
        else {
            return Ok(());
        };
        let Some(mut info) = self.dynamo_get().await? else {
            return Err(self.lock_lost("its lock record is gone (broken with `state unlock`?)"));
        };
        if info.id != id {
            return Err(self.lock_lost(&format!("another run holds it now: {info}")));
        }
        info.expires = Some(expiry_after(lease_of(self)));
        let json = serde_json::to_string(&info).map_err(|e| self.storage_error(e.to_string()))?;
        let result = client
            .update_item()
            .table_name(table)
            .key("LockID", AttributeValue::S(self.lock_id()))
            .update_expression("SET Expires = :expires, Info = :info")
            .condition_expression("Holder = :holder")
            .expression_attribute_values(
                ":expires",
                AttributeValue::N(expires_epoch(&info).to_string()),
            )
            .expression_attribute_values(":info", AttributeValue::S(json))
            .expression_attribute_values(":holder", AttributeValue::S(id.to_owned()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(error) if is_conditional_failure(&error) => {
                Err(self.lock_lost("another run took it while its lease was being renewed"))
            }
            Err(error) => {
                Err(self.storage_error(dynamo_error("renewing the lock's lease", &error)))
            }
        }
    }

    // --- S3 lock object ---------------------------------------------------------------------

    async fn s3_get_lock(&self) -> Result<Option<(LockInfo, Option<String>)>, StateError> {
        let result = self
            .s3()
            .get_object()
            .bucket(&self.s3_location().bucket)
            .key(self.lock_key())
            .send()
            .await;
        match result {
            Ok(object) => {
                let etag = object.e_tag().map(str::to_owned);
                let bytes = object
                    .body
                    .collect()
                    .await
                    .map_err(|e| self.storage_error(format!("reading the lock object: {e}")))?;
                let info = self.parse_info(&String::from_utf8_lossy(&bytes.into_bytes()))?;
                Ok(Some((info, etag)))
            }
            Err(error)
                if matches!(
                    error.as_service_error().and_then(|e| e.code()),
                    Some("NoSuchKey" | "NotFound")
                ) =>
            {
                Ok(None)
            }
            Err(error) => {
                Err(self.storage_error(super::aws_error("reading the lock object", &error)))
            }
        }
    }

    /// Writes the lock object: new only (`If-None-Match: *`) or replacing `etag` (`If-Match`).
    async fn s3_put_lock(
        &self,
        info: &LockInfo,
        replacing: Option<&str>,
    ) -> Result<bool, StateError> {
        let json = serde_json::to_vec(info).map_err(|e| self.storage_error(e.to_string()))?;
        let mut request = self
            .s3()
            .put_object()
            .bucket(&self.s3_location().bucket)
            .key(self.lock_key())
            .content_type("application/json")
            .body(ByteStream::from(json));
        request = match replacing {
            Some(etag) => request.if_match(etag),
            None => request.if_none_match("*"),
        };
        match request.send().await {
            Ok(_) => Ok(true),
            Err(error)
                if matches!(
                    error.as_service_error().and_then(|e| e.code()),
                    Some("PreconditionFailed" | "ConditionalRequestConflict")
                ) =>
            {
                Ok(false)
            }
            Err(error) => {
                Err(self.storage_error(super::aws_error("writing the lock object", &error)))
            }
        }
    }

    async fn s3_try_lock(&self, info: &LockInfo) -> Result<(), StateError> {
        if self.s3_put_lock(info, None).await? {
            return Ok(());
        }
        match self.s3_get_lock().await? {
            // The lease ran out: replace exactly that lock object, atomically.
            Some((holder, Some(etag))) if expires_epoch(&holder) < now_epoch() => {
                if self.s3_put_lock(info, Some(&etag)).await? {
                    tracing::warn!("took over an expired lock: {holder}");
                    eprintln!(
                        "Warning: took over the expired lock of {holder}; its unfinished work is recovered now."
                    );
                    Ok(())
                } else {
                    match self.s3_get_lock().await? {
                        Some((holder, _)) => Err(self.locked_error(holder)),
                        None => {
                            Err(self.storage_error("the lock changed while being taken; try again"))
                        }
                    }
                }
            }
            Some((holder, _)) => Err(self.locked_error(holder)),
            None => Err(self.storage_error("the lock was released while being taken; try again")),
        }
    }
}

#[async_trait::async_trait]
impl Locker for S3Store {
    async fn try_lock(&self, info: &LockInfo) -> Result<(), StateError> {
        match self.s3_location().lock {
            super::LockKind::DynamoDb { .. } => self.dynamo_try_lock(info).await,
            super::LockKind::S3 => self.s3_try_lock(info).await,
        }
    }

    async fn unlock(&self, id: &str) -> Result<(), StateError> {
        match self.s3_location().lock {
            super::LockKind::DynamoDb { .. } => self.dynamo_delete(Some(id)).await,
            super::LockKind::S3 => {
                if let Some((holder, _)) = self.s3_get_lock().await?
                    && holder.id == id
                {
                    self.s3()
                        .delete_object()
                        .bucket(&self.s3_location().bucket)
                        .key(self.lock_key())
                        .send()
                        .await
                        .map_err(|e| {
                            self.storage_error(super::aws_error("releasing the lock", &e))
                        })?;
                }
                Ok(())
            }
        }
    }

    async fn current_lock(&self) -> Result<Option<LockInfo>, StateError> {
        match self.s3_location().lock {
            super::LockKind::DynamoDb { .. } => self.dynamo_get().await,
            super::LockKind::S3 => Ok(self.s3_get_lock().await?.map(|(info, _)| info)),
        }
    }

    async fn force_unlock(&self) -> Result<Option<LockInfo>, StateError> {
        let held = self.current_lock().await?;
        match self.s3_location().lock {
            super::LockKind::DynamoDb { .. } => self.dynamo_delete(None).await?,
            super::LockKind::S3 => {
                self.s3()
                    .delete_object()
                    .bucket(&self.s3_location().bucket)
                    .key(self.lock_key())
                    .send()
                    .await
                    .map_err(|e| self.storage_error(super::aws_error("breaking the lock", &e)))?;
            }
        }
        Ok(held)
    }

    fn lease(&self) -> Option<std::time::Duration> {
        Some(lease_of(self))
    }

    async fn renew(&self, id: &str) -> Result<(), StateError> {
        match self.s3_location().lock {
            super::LockKind::DynamoDb { .. } => self.dynamo_renew(id).await,
            super::LockKind::S3 => match self.s3_get_lock().await? {
                Some((mut info, Some(etag))) if info.id == id => {
                    info.expires = Some(expiry_after(lease_of(self)));
                    if self.s3_put_lock(&info, Some(&etag)).await? {
                        Ok(())
                    } else {
                        Err(self.lock_lost("another run took it while its lease was being renewed"))
                    }
                }
                Some((holder, _)) if holder.id != id => {
                    Err(self.lock_lost(&format!("another run holds it now: {holder}")))
                }
                _ => Err(self.lock_lost("its lock object is gone (broken with `state unlock`?)")),
            },
        }
    }
}
