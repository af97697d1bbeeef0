//! `aws:s3/bucket`: a general purpose bucket with versioning, default encryption, the public
//! access block and tags.
//!
//! The cloud id is the bucket name. The name (or the prefix of a generated one) forces a
//! replacement; everything else updates in place. Versioning, once enabled, can only be
//! suspended: turning it off suspends it. Deleting a bucket that holds objects fails with
//! some of them named, unless `force_destroy` is set, in which case girder deletes every
//! object version first.

use async_trait::async_trait;
use aws_sdk_s3::types::{
    BucketLocationConstraint, BucketVersioningStatus, CreateBucketConfiguration,
    PublicAccessBlockConfiguration, ServerSideEncryption, ServerSideEncryptionByDefault,
    ServerSideEncryptionConfiguration, ServerSideEncryptionRule, Tagging, VersioningConfiguration,
};
use girder_engine::provider::DefaultTimeouts;
use girder_engine::typed::{
    TypedCreateRequest, TypedCreateResponse, TypedDeleteRequest, TypedFindRequest,
    TypedFindResponse, TypedFound, TypedObserved, TypedReadRequest, TypedReadResponse,
    TypedResource, TypedUpdateRequest, TypedUpdateResponse,
};
use girder_engine::{CallContext, ErrorKind, ProviderError, ResourceIdentity, ResourceSchema};
use serde::{Deserialize, Serialize};

use crate::checks::suggest_bucket_name;
use crate::clients::AwsClients;
use crate::error::{AwsResultExt, Call, after_create, has_code, is_not_found, sdk_error};
use crate::iam::{generated_name, name_inputs};
use crate::s3::{empty_bucket, s3_tags, sample_objects};
use crate::tags::{self, Tags};
use crate::util::name_suffix;

/// The type token.
pub const BUCKET: &str = "aws:s3/bucket";

/// Default encryption of new objects.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BucketEncryption {
    /// `AES256` (SSE-S3), `aws:kms` (SSE-KMS) or `aws:kms:dsse`.
    pub sse_algorithm: String,
    /// The KMS key (id, ARN or alias) for SSE-KMS; absent uses the AWS managed `aws/s3` key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kms_master_key_id: Option<String>,
    /// S3 Bucket Keys (fewer KMS requests, lower cost) for SSE-KMS.
    #[serde(default)]
    pub bucket_key_enabled: bool,
}

/// The four settings of the bucket's public access block.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicAccessBlockInputs {
    /// Refuse requests that set public ACLs.
    pub block_public_acls: bool,
    /// Ignore public ACLs.
    pub ignore_public_acls: bool,
    /// Refuse bucket policies that grant public access.
    pub block_public_policy: bool,
    /// Restrict access under public policies to AWS principals of this account.
    pub restrict_public_buckets: bool,
}

impl PublicAccessBlockInputs {
    fn any(&self) -> bool {
        self.block_public_acls
            || self.ignore_public_acls
            || self.block_public_policy
            || self.restrict_public_buckets
    }
}

fn is_false(value: &bool) -> bool {
    !*value
}

/// Inputs of `aws:s3/bucket`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BucketInputs {
    /// The exact bucket name (else generated from `name_prefix`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The start of a generated name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_prefix: Option<String>,
    /// Keep every version of every object.
    #[serde(default)]
    pub versioning: bool,
    /// Default encryption; absent leaves S3's default (SSE-S3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption: Option<BucketEncryption>,
    /// The public access block.
    #[serde(default)]
    pub public_access_block: PublicAccessBlockInputs,
    /// Delete every object version when deleting the bucket. Not an AWS setting: it must be
    /// recorded by an apply before the delete it allows.
    #[serde(default, skip_serializing_if = "is_false")]
    pub force_destroy: bool,
    /// User tags.
    #[serde(default, skip_serializing_if = "Tags::is_empty")]
    pub tags: Tags,
}

/// Outputs of `aws:s3/bucket`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BucketOutputs {
    /// The bucket name.
    pub name: String,
    /// The ARN, `arn:aws:s3:::<name>`.
    pub arn: String,
    /// The region the bucket lives in.
    pub region: String,
    /// The regional endpoint host, `<name>.s3.<region>.amazonaws.com`.
    pub bucket_regional_domain_name: String,
}

/// The `aws:s3/bucket` resource type.
#[derive(Clone, Copy, Debug, Default)]
pub struct BucketResource;

fn outputs(name: &str, region: &str) -> BucketOutputs {
    BucketOutputs {
        name: name.to_owned(),
        arn: format!("arn:aws:s3:::{name}"),
        region: region.to_owned(),
        bucket_regional_domain_name: format!("{name}.s3.{region}.amazonaws.com"),
    }
}

async fn get_tags(s3: &aws_sdk_s3::Client, bucket: &str) -> Result<Tags, ProviderError> {
    match s3
        .get_bucket_tagging()
        .bucket(bucket)
        .send()
        .await
        .aws(&Call::new("GetBucketTagging", bucket))
    {
        Ok(out) => Ok(out
            .tag_set()
            .iter()
            .map(|t| (t.key().to_owned(), t.value().to_owned()))
            .collect()),
        Err(e) if has_code(&e, "NoSuchTagSet") => Ok(Tags::new()),
        Err(e) => Err(e),
    }
}

async fn put_tags(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    identity: &ResourceIdentity,
    user: &Tags,
) -> Result<(), ProviderError> {
    let tagging = Tagging::builder()
        .set_tag_set(Some(s3_tags(&tags::with_identity(identity, user))?))
        .build()
        .map_err(|e| ProviderError::invalid_input(format!("{identity}: invalid tags: {e}")))?;
    s3.put_bucket_tagging()
        .bucket(bucket)
        .tagging(tagging)
        .send()
        .await
        .aws(&Call::new("PutBucketTagging", identity))?;
    Ok(())
}

async fn get_versioning(s3: &aws_sdk_s3::Client, bucket: &str) -> Result<bool, ProviderError> {
    match s3.get_bucket_versioning().bucket(bucket).send().await {
        Ok(out) => Ok(out.status() == Some(&BucketVersioningStatus::Enabled)),
        Err(error) => {
            // Some S3-compatible endpoints (moto 5.2) name the answer's root element after the
            // operation (`GetBucketVersioningResponse`) instead of `VersioningConfiguration`,
            // which the SDK refuses to decode; the content is the same, so read it here.
            let body = error
                .raw_response()
                .filter(|r| r.status().is_success())
                .and_then(|r| r.body().bytes())
                .map(String::from_utf8_lossy);
            if let Some(body) = body
                && body.contains("<GetBucketVersioningResponse")
            {
                return Ok(body.contains("<Status>Enabled</Status>"));
            }
            Err(sdk_error(&Call::new("GetBucketVersioning", bucket), error))
        }
    }
}

async fn put_versioning(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    enabled: bool,
    identity: &ResourceIdentity,
) -> Result<(), ProviderError> {
    let status = if enabled {
        BucketVersioningStatus::Enabled
    } else {
        BucketVersioningStatus::Suspended
    };
    s3.put_bucket_versioning()
        .bucket(bucket)
        .versioning_configuration(VersioningConfiguration::builder().status(status).build())
        .send()
        .await
        .aws(&Call::new("PutBucketVersioning", identity))?;
    Ok(())
}

async fn get_encryption(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
) -> Result<Option<BucketEncryption>, ProviderError> {
    match s3
        .get_bucket_encryption()
        .bucket(bucket)
        .send()
        .await
        .aws(&Call::new("GetBucketEncryption", bucket))
    {
        Ok(out) => Ok(out
            .server_side_encryption_configuration()
            .and_then(|c| c.rules().first())
            .and_then(|rule| {
                rule.apply_server_side_encryption_by_default()
                    .map(|d| BucketEncryption {
                        sse_algorithm: d.sse_algorithm().as_str().to_owned(),
                        kms_master_key_id: d
                            .kms_master_key_id()
                            .filter(|k| !k.is_empty())
                            .map(str::to_owned),
                        bucket_key_enabled: rule.bucket_key_enabled().unwrap_or(false),
                    })
            })),
        Err(e) if has_code(&e, "ServerSideEncryptionConfigurationNotFoundError") => Ok(None),
        Err(e) => Err(e),
    }
}

async fn put_encryption(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    encryption: Option<&BucketEncryption>,
    identity: &ResourceIdentity,
) -> Result<(), ProviderError> {
    let Some(encryption) = encryption else {
        // Back to S3's default (SSE-S3): every bucket is encrypted.
        s3.delete_bucket_encryption()
            .bucket(bucket)
            .send()
            .await
            .aws(&Call::new("DeleteBucketEncryption", identity))?;
        return Ok(());
    };
    let invalid = |e: aws_smithy_types::error::operation::BuildError| {
        ProviderError::invalid_input(format!("{identity}: invalid encryption: {e}"))
    };
    let default = ServerSideEncryptionByDefault::builder()
        .sse_algorithm(ServerSideEncryption::from(
            encryption.sse_algorithm.as_str(),
        ))
        .set_kms_master_key_id(encryption.kms_master_key_id.clone())
        .build()
        .map_err(invalid)?;
    let configuration = ServerSideEncryptionConfiguration::builder()
        .rules(
            ServerSideEncryptionRule::builder()
                .apply_server_side_encryption_by_default(default)
                .bucket_key_enabled(encryption.bucket_key_enabled)
                .build(),
        )
        .build()
        .map_err(invalid)?;
    s3.put_bucket_encryption()
        .bucket(bucket)
        .server_side_encryption_configuration(configuration)
        .send()
        .await
        .aws(&Call::new("PutBucketEncryption", identity))?;
    Ok(())
}

async fn get_public_access_block(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
) -> Result<PublicAccessBlockInputs, ProviderError> {
    match s3
        .get_public_access_block()
        .bucket(bucket)
        .send()
        .await
        .aws(&Call::new("GetPublicAccessBlock", bucket))
    {
        Ok(out) => Ok(out
            .public_access_block_configuration()
            .map(|c| PublicAccessBlockInputs {
                block_public_acls: c.block_public_acls().unwrap_or(false),
                ignore_public_acls: c.ignore_public_acls().unwrap_or(false),
                block_public_policy: c.block_public_policy().unwrap_or(false),
                restrict_public_buckets: c.restrict_public_buckets().unwrap_or(false),
            })
            .unwrap_or_default()),
        Err(e) if has_code(&e, "NoSuchPublicAccessBlockConfiguration") => {
            Ok(PublicAccessBlockInputs::default())
        }
        Err(e) => Err(e),
    }
}

async fn put_public_access_block(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    block: PublicAccessBlockInputs,
    identity: &ResourceIdentity,
) -> Result<(), ProviderError> {
    if !block.any() {
        s3.delete_public_access_block()
            .bucket(bucket)
            .send()
            .await
            .aws(&Call::new("DeletePublicAccessBlock", identity))?;
        return Ok(());
    }
    s3.put_public_access_block()
        .bucket(bucket)
        .public_access_block_configuration(
            PublicAccessBlockConfiguration::builder()
                .block_public_acls(block.block_public_acls)
                .ignore_public_acls(block.ignore_public_acls)
                .block_public_policy(block.block_public_policy)
                .restrict_public_buckets(block.restrict_public_buckets)
                .build(),
        )
        .send()
        .await
        .aws(&Call::new("PutPublicAccessBlock", identity))?;
    Ok(())
}

/// Reads one bucket (four concurrent requests); `None` if it does not exist.
async fn observe(
    clients: &AwsClients,
    bucket: &str,
    recorded: Option<&BucketInputs>,
) -> Result<Option<TypedObserved<BucketInputs, BucketOutputs>>, ProviderError> {
    let s3 = clients.s3().await?;
    let region = clients.region().await?;
    let (versioning, encryption, block, found_tags) = tokio::join!(
        get_versioning(s3, bucket),
        get_encryption(s3, bucket),
        get_public_access_block(s3, bucket),
        get_tags(s3, bucket),
    );
    let results = [
        versioning.as_ref().err(),
        encryption.as_ref().err(),
        block.as_ref().err(),
        found_tags.as_ref().err(),
    ];
    if results.iter().flatten().any(|e| is_not_found(e)) {
        return Ok(None);
    }
    let (name, name_prefix) = name_inputs(
        bucket,
        recorded.and_then(|r| r.name.as_deref()),
        recorded.and_then(|r| r.name_prefix.as_deref()),
    );
    let found_tags = found_tags?;
    Ok(Some(TypedObserved::new(
        BucketInputs {
            name,
            name_prefix,
            versioning: versioning?,
            encryption: encryption?,
            public_access_block: block?,
            force_destroy: recorded.is_some_and(|r| r.force_destroy),
            tags: tags::user_tags(found_tags.iter().map(|(k, v)| (k.as_str(), v.as_str()))),
        },
        outputs(bucket, region),
    )))
}

/// Applies every setting of a new (or adopted) bucket.
async fn configure(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    identity: &ResourceIdentity,
    inputs: &BucketInputs,
) -> Result<(), ProviderError> {
    put_tags(s3, bucket, identity, &inputs.tags).await?;
    // Public access first: the bucket is locked down before anything else happens.
    if inputs.public_access_block.any() {
        put_public_access_block(s3, bucket, inputs.public_access_block, identity).await?;
    }
    if inputs.encryption.is_some() {
        put_encryption(s3, bucket, inputs.encryption.as_ref(), identity).await?;
    }
    if inputs.versioning {
        put_versioning(s3, bucket, true, identity).await?;
    }
    Ok(())
}

fn not_ours(
    identity: &ResourceIdentity,
    bucket: &str,
    error: Option<ProviderError>,
) -> ProviderError {
    let message = format!(
        "{identity}: a bucket named `{bucket}` already exists in this account and does not belong to this resource; import it with `.import(\"{bucket}\")`, or choose another name (or none, to get a generated one)"
    );
    match error {
        Some(e) => ProviderError {
            kind: ErrorKind::Conflict,
            message,
            ..e
        },
        None => {
            ProviderError::new(ErrorKind::Conflict, message).with_code("BucketAlreadyOwnedByYou")
        }
    }
}

#[async_trait]
impl TypedResource<AwsClients> for BucketResource {
    type Inputs = BucketInputs;
    type Outputs = BucketOutputs;

    fn check(&self, name: &str, inputs: &girder_core::Value) -> girder_core::Diagnostics {
        crate::checks::bucket(name, inputs)
    }

    fn schema(&self) -> ResourceSchema {
        // A named bucket's replacement needs its name: delete first (the delete refuses a
        // bucket with objects unless `force_destroy`, so no data goes silently).
        ResourceSchema::new(BUCKET)
            .replace_on(["name", "name_prefix"])
            .echo_inputs()
            .computed(["arn", "region", "bucket_regional_domain_name"])
            .delete_before_replace()
            .timeouts(DefaultTimeouts {
                // `force_destroy` may delete many objects.
                delete: std::time::Duration::from_secs(1800),
                ..DefaultTimeouts::default()
            })
    }

    async fn create(
        &self,
        clients: &AwsClients,
        req: TypedCreateRequest<BucketInputs>,
        _ctx: &CallContext,
    ) -> Result<TypedCreateResponse<BucketOutputs>, ProviderError> {
        let TypedCreateRequest {
            identity, inputs, ..
        } = req;
        let s3 = clients.s3().await?;
        let region = clients.region().await?.to_owned();
        let name = match (&inputs.name, &inputs.name_prefix) {
            (None, None) => {
                // Declared without a name or prefix: a valid prefix from the resource name.
                let base: String = suggest_bucket_name(&identity.name)
                    .chars()
                    .take(54)
                    .collect();
                format!(
                    "{}-{}",
                    if base.is_empty() { "girder" } else { &base },
                    name_suffix()
                )
            }
            (name, prefix) => generated_name(
                name.as_deref(),
                prefix.as_deref(),
                &identity,
                &crate::util::name_suffix(),
            ),
        };
        // In us-east-1, creating a bucket the account already owns succeeds silently: look
        // first, and adopt only what carries this identity.
        let mut adopt = false;
        if inputs.name.is_some()
            && s3
                .head_bucket()
                .bucket(&name)
                .send()
                .await
                .aws(&Call::new("HeadBucket", &name))
                .is_ok()
        {
            let found = get_tags(s3, &name).await?;
            if !tags::names_identity(
                found.iter().map(|(k, v)| (k.as_str(), v.as_str())),
                &identity,
            ) {
                return Err(not_ours(&identity, &name, None));
            }
            tracing::info!(%identity, bucket = %name, "adopting the existing bucket");
            adopt = true;
        }
        if !adopt {
            let created = s3
                .create_bucket()
                .bucket(&name)
                .set_create_bucket_configuration((region != "us-east-1").then(|| {
                    CreateBucketConfiguration::builder()
                        .location_constraint(BucketLocationConstraint::from(region.as_str()))
                        .build()
                }))
                .send()
                .await
                .aws(&Call::new("CreateBucket", &identity));
            match created {
                Ok(_) => {}
                Err(e) if has_code(&e, "BucketAlreadyOwnedByYou") => {
                    let found = get_tags(s3, &name).await?;
                    if !tags::names_identity(
                        found.iter().map(|(k, v)| (k.as_str(), v.as_str())),
                        &identity,
                    ) {
                        return Err(not_ours(&identity, &name, Some(e)));
                    }
                }
                Err(e) if has_code(&e, "BucketAlreadyExists") => {
                    return Err(ProviderError {
                        message: format!(
                            "{identity}: the bucket name `{name}` is taken by another AWS account (bucket names are global); choose another name, or leave it out to get a generated one"
                        ),
                        ..e
                    });
                }
                Err(e) => return Err(e),
            }
        }
        let out = outputs(&name, &region);
        configure(s3, &name, &identity, &inputs)
            .await
            .map_err(|e| {
                after_create(
                    e,
                    &name,
                    girder_core::Value::from_serialize(&out).unwrap_or_default(),
                )
            })?;
        Ok(TypedCreateResponse::new(name, out))
    }

    async fn read(
        &self,
        clients: &AwsClients,
        req: TypedReadRequest<BucketInputs>,
        _ctx: &CallContext,
    ) -> Result<TypedReadResponse<BucketInputs, BucketOutputs>, ProviderError> {
        let items = req.items;
        let mut results = Vec::with_capacity(items.len());
        for item in &items {
            results.push(observe(clients, &item.id, item.inputs.as_ref()).await?);
        }
        Ok(TypedReadResponse::new(results))
    }

    async fn update(
        &self,
        clients: &AwsClients,
        req: TypedUpdateRequest<BucketInputs, BucketOutputs>,
        _ctx: &CallContext,
    ) -> Result<TypedUpdateResponse<BucketOutputs>, ProviderError> {
        let TypedUpdateRequest { old, inputs, .. } = req;
        let s3 = clients.s3().await?;
        let (bucket, identity) = (old.id.as_str(), &old.identity);
        if old.inputs.public_access_block != inputs.public_access_block {
            put_public_access_block(s3, bucket, inputs.public_access_block, identity).await?;
        }
        if old.inputs.encryption != inputs.encryption {
            put_encryption(s3, bucket, inputs.encryption.as_ref(), identity).await?;
        }
        if old.inputs.versioning != inputs.versioning {
            put_versioning(s3, bucket, inputs.versioning, identity).await?;
        }
        if old.inputs.tags != inputs.tags {
            put_tags(s3, bucket, identity, &inputs.tags).await?;
        }
        // `force_destroy` is girder's own setting: recording it is the whole update.
        Ok(TypedUpdateResponse::new(old.outputs))
    }

    async fn delete(
        &self,
        clients: &AwsClients,
        req: TypedDeleteRequest<BucketInputs, BucketOutputs>,
        _ctx: &CallContext,
    ) -> Result<(), ProviderError> {
        let old = req.old;
        let s3 = clients.s3().await?;
        let bucket = old.id.as_str();
        if old.inputs.force_destroy {
            match empty_bucket(s3, bucket).await {
                Ok(0) => {}
                Ok(count) => {
                    tracing::info!(identity = %old.identity, count, "force_destroy: deleted the bucket's objects");
                }
                Err(e) if is_not_found(&e) => return Ok(()),
                Err(e) => return Err(e),
            }
        }
        let error = match s3
            .delete_bucket()
            .bucket(bucket)
            .send()
            .await
            .aws(&Call::deleting("DeleteBucket", &old.identity))
        {
            Ok(_) => return Ok(()),
            Err(e) if is_not_found(&e) => return Ok(()),
            Err(e) if has_code(&e, "BucketNotEmpty") => e,
            Err(e) => return Err(e),
        };
        if old.inputs.force_destroy {
            // Something wrote an object meanwhile: the engine retries the whole delete.
            return Err(ProviderError {
                kind: ErrorKind::Retryable,
                ..error
            });
        }
        let (sample, more) = sample_objects(s3, bucket, 3).await?;
        Err(ProviderError {
            kind: ErrorKind::Conflict,
            message: format!(
                "{}: the bucket `{bucket}` is not empty (it holds {}{}); girder does not delete data \
                 unasked. Empty it (`aws s3 rm s3://{bucket} --recursive`, and its old versions \
                 if versioning was on), or set `.force_destroy()` on the bucket and apply once, \
                 so that girder deletes every object version with the bucket",
                old.identity,
                sample
                    .iter()
                    .map(|k| format!("`{k}`"))
                    .collect::<Vec<_>>()
                    .join(", "),
                if more { " and more" } else { "" },
            ),
            ..error
        })
    }

    async fn find(
        &self,
        clients: &AwsClients,
        req: TypedFindRequest,
        _ctx: &CallContext,
    ) -> Result<TypedFindResponse<BucketInputs, BucketOutputs>, ProviderError> {
        let identity = req.identity;
        let s3 = clients.s3().await?;
        let region = clients.region().await?;
        // S3 cannot list buckets by tag: list this region's buckets, then read each one's
        // tags (one call per bucket; find runs only for recovery and orphan searches).
        let buckets: Vec<aws_sdk_s3::types::Bucket> = s3
            .list_buckets()
            .bucket_region(region)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .aws(&Call::new("ListBuckets", "buckets"))?;
        let mut found = Vec::new();
        for bucket in buckets {
            let Some(name) = bucket.name() else { continue };
            if bucket.bucket_region().is_some_and(|r| r != region) {
                continue;
            }
            let bucket_tags = match get_tags(s3, name).await {
                Ok(t) => t,
                Err(e) if is_not_found(&e) => continue,
                Err(e) => return Err(e),
            };
            if tags::names_identity(
                bucket_tags.iter().map(|(k, v)| (k.as_str(), v.as_str())),
                &identity,
            ) && let Some(observed) = observe(clients, name, None).await?
            {
                found.push(TypedFound::new(name.to_owned(), observed));
            }
        }
        Ok(TypedFindResponse::new(found))
    }
}
