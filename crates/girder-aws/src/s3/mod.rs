//! S3: general purpose buckets with versioning, default encryption, the public access block
//! and tags.
//!
//! S3 has no batched describe and reports each bucket setting through its own call, so a
//! bucket costs four requests per refresh (versioning, encryption, public access block,
//! tags), sent concurrently. Bucket names are global across all AWS accounts: girder
//! generates them from a prefix plus a random suffix unless the program names the bucket.

pub mod bucket;

use aws_sdk_s3::types::{Delete, ObjectIdentifier, Tag};
use girder_engine::ProviderError;

use crate::error::{AwsResultExt, Call};
use crate::tags::Tags;

/// S3 tags from a map.
pub(crate) fn s3_tags(tags: &Tags) -> Result<Vec<Tag>, ProviderError> {
    tags.iter()
        .map(|(k, v)| {
            Tag::builder()
                .key(k)
                .value(v)
                .build()
                .map_err(|e| ProviderError::invalid_input(format!("invalid S3 tag `{k}`: {e}")))
        })
        .collect()
}

/// Up to `limit` objects (versions and delete markers included) of a bucket, as
/// `key (version)` for messages, and whether there are more.
pub(crate) async fn sample_objects(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    limit: i32,
) -> Result<(Vec<String>, bool), ProviderError> {
    let out = s3
        .list_object_versions()
        .bucket(bucket)
        .max_keys(limit)
        .send()
        .await
        .aws(&Call::new("ListObjectVersions", bucket))?;
    let mut keys: Vec<String> = out
        .versions()
        .iter()
        .map(|v| v.key().unwrap_or_default().to_owned())
        .chain(
            out.delete_markers()
                .iter()
                .map(|m| format!("{} (delete marker)", m.key().unwrap_or_default())),
        )
        .collect();
    keys.dedup();
    Ok((keys, out.is_truncated().unwrap_or(false)))
}

/// Deletes every object version and delete marker of a bucket, 1000 per `DeleteObjects`
/// call; returns how many were deleted.
pub(crate) async fn empty_bucket(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
) -> Result<usize, ProviderError> {
    let mut deleted = 0;
    loop {
        // Always list from the start: what was deleted is gone, and objects written
        // meanwhile are found too.
        let out = s3
            .list_object_versions()
            .bucket(bucket)
            .max_keys(1000)
            .send()
            .await
            .aws(&Call::new("ListObjectVersions", bucket))?;
        let objects = out
            .versions()
            .iter()
            .map(|v| (v.key(), v.version_id()))
            .chain(
                out.delete_markers()
                    .iter()
                    .map(|m| (m.key(), m.version_id())),
            )
            .map(|(key, version)| {
                ObjectIdentifier::builder()
                    .key(key.unwrap_or_default())
                    .set_version_id(version.filter(|v| *v != "null").map(str::to_owned))
                    .build()
                    .map_err(|e| ProviderError::permanent(format!("an object id is invalid: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        if objects.is_empty() {
            return Ok(deleted);
        }
        let count = objects.len();
        let out = s3
            .delete_objects()
            .bucket(bucket)
            .delete(
                Delete::builder()
                    .set_objects(Some(objects))
                    .quiet(true)
                    .build()
                    .map_err(|e| ProviderError::permanent(format!("a delete is invalid: {e}")))?,
            )
            .send()
            .await
            .aws(&Call::deleting("DeleteObjects", bucket))?;
        if let Some(error) = out.errors().first() {
            return Err(ProviderError::retryable(format!(
                "DeleteObjects of bucket `{bucket}` could not delete `{}`: {} ({}); girder retries",
                error.key().unwrap_or_default(),
                error.message().unwrap_or_default(),
                error.code().unwrap_or_default(),
            )));
        }
        deleted += count;
    }
}
