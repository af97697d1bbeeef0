//! The seed's remote-state bootstrap against moto, through the real aws-sdk clients: an S3
//! bucket (versioning, encryption, public access blocked) and a DynamoDB lock table (hash
//! key `LockID`), checked through the AWS API and used the way girder's S3 state backend
//! uses them; plan after apply is empty; a tag or point-in-time recovery change updates in
//! place; drift is repaired; a bucket with objects is refused until `force_destroy`; destroy
//! leaves nothing.

mod support;

use aws_sdk_dynamodb::types::{AttributeValue, BillingMode, KeyType, ScalarAttributeType};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{BucketVersioningStatus, ServerSideEncryption};
use girder_aws::dsl::dynamodb::{AttributeType, Billing, Table};
use girder_aws::dsl::s3::{Bucket, Encryption};
use girder_aws::seed;
use girder_core::{Stack, Value};
use girder_engine::provider::{FindRequest, ProviderPackage};
use girder_engine::{CallContext, ResourceIdentity, StepKind};
use support::{Env, build, changes, of_kind};

/// The bucket's versioning status through the API. moto 5.2 names the answer's XML root
/// `GetBucketVersioningResponse`, which the SDK refuses to decode; read the raw answer then
/// (the provider does the same).
async fn versioning_status(env: &Env, bucket: &str) -> Option<BucketVersioningStatus> {
    match env.s3.get_bucket_versioning().bucket(bucket).send().await {
        Ok(out) => out.status().cloned(),
        Err(error) => {
            let body = error
                .raw_response()
                .and_then(|r| r.body().bytes())
                .map(|b| String::from_utf8_lossy(b).into_owned())
                .unwrap_or_else(|| panic!("{error:?}"));
            let status = body
                .split("<Status>")
                .nth(1)
                .and_then(|rest| rest.split("</Status>").next())?;
            Some(BucketVersioningStatus::from(status))
        }
    }
}

fn tags_of(tags: &[aws_sdk_s3::types::Tag]) -> std::collections::BTreeMap<&str, &str> {
    tags.iter().map(|t| (t.key(), t.value())).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_state_backend_applies_and_matches_the_aws_api() {
    let env = Env::start().await;
    let graph = build(|s| {
        seed::state_backend(s);
    });
    let plan = env.harness.plan(&graph).await.unwrap();
    assert_eq!(plan.summary().create, 2);
    env.calls.reset();
    let (_, elapsed) = env.apply(&graph).await;
    let apply_calls = env.calls.snapshot();
    let state = env.harness.snapshot();
    let bucket = state.resources["girder-state"].id.clone();
    let table = state.resources["girder-locks"].id.clone();
    assert!(bucket.starts_with("girder-state-"), "{bucket}");
    assert_eq!(table, "dev-girder-locks");
    assert_eq!(state.outputs["bucket"], Value::from(bucket.as_str()));
    assert_eq!(state.outputs["table"], Value::from("dev-girder-locks"));
    assert_eq!(
        state.outputs["state_url"],
        Value::from(format!(
            "s3://{bucket}/girder?lock=dynamodb:dev-girder-locks"
        ))
    );

    // The bucket: versioned, encrypted, every public access setting blocked, tagged.
    assert_eq!(
        versioning_status(&env, &bucket).await,
        Some(BucketVersioningStatus::Enabled)
    );
    let encryption = env
        .s3
        .get_bucket_encryption()
        .bucket(&bucket)
        .send()
        .await
        .unwrap();
    let rule = &encryption
        .server_side_encryption_configuration()
        .unwrap()
        .rules()[0];
    assert_eq!(
        rule.apply_server_side_encryption_by_default()
            .unwrap()
            .sse_algorithm(),
        &ServerSideEncryption::Aes256
    );
    let block = env
        .s3
        .get_public_access_block()
        .bucket(&bucket)
        .send()
        .await
        .unwrap();
    let block = block.public_access_block_configuration().unwrap();
    assert_eq!(
        (
            block.block_public_acls(),
            block.ignore_public_acls(),
            block.block_public_policy(),
            block.restrict_public_buckets()
        ),
        (Some(true), Some(true), Some(true), Some(true))
    );
    let tagging = env
        .s3
        .get_bucket_tagging()
        .bucket(&bucket)
        .send()
        .await
        .unwrap();
    let tags = tags_of(tagging.tag_set());
    assert_eq!(tags["girder:stack"], "dev");
    assert_eq!(tags["girder:resource"], "girder-state");
    assert_eq!(tags["owner"], "platform");

    // The lock table: hash key LockID (a string), on demand, tagged.
    let described = env
        .dynamodb
        .describe_table()
        .table_name(&table)
        .send()
        .await
        .unwrap();
    let described = described.table().unwrap();
    let keys = described.key_schema();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0].attribute_name(), "LockID");
    assert_eq!(keys[0].key_type(), &KeyType::Hash);
    let definitions = described.attribute_definitions();
    assert_eq!(definitions[0].attribute_name(), "LockID");
    assert_eq!(definitions[0].attribute_type(), &ScalarAttributeType::S);
    assert_eq!(
        described.billing_mode_summary().unwrap().billing_mode(),
        Some(&BillingMode::PayPerRequest)
    );
    let table_tags = env
        .dynamodb
        .list_tags_of_resource()
        .resource_arn(described.table_arn().unwrap())
        .send()
        .await
        .unwrap();
    assert!(
        table_tags
            .tags()
            .iter()
            .any(|t| t.key() == "girder:resource" && t.value() == "girder-locks")
    );
    assert_eq!(
        state.resources["girder-locks"]
            .outputs
            .get("arn")
            .and_then(Value::as_str),
        described.table_arn()
    );

    // Used as girder's S3 state backend uses them: a journal object written only if absent,
    // a lock item written only if no live lock holds it.
    env.s3
        .put_object()
        .bucket(&bucket)
        .key("girder/dev/journal/1.json")
        .if_none_match("*")
        .body(ByteStream::from_static(b"{}"))
        .send()
        .await
        .unwrap();
    let lock = |holder: &'static str| {
        env.dynamodb
            .put_item()
            .table_name(&table)
            .item("LockID", AttributeValue::S("girder/dev".into()))
            .item("Holder", AttributeValue::S(holder.into()))
            .condition_expression("attribute_not_exists(LockID)")
            .send()
    };
    lock("first").await.unwrap();
    let refused = lock("second").await.unwrap_err();
    assert!(
        format!("{:?}", refused).contains("ConditionalCheckFailed"),
        "{refused:?}"
    );
    env.dynamodb
        .delete_item()
        .table_name(&table)
        .key("LockID", AttributeValue::S("girder/dev".into()))
        .send()
        .await
        .unwrap();

    // find: both are recognised by their identity tags; another stack's identity finds
    // nothing.
    let provider = girder_aws::package_with(env.settings.clone())
        .configure(&Value::Null)
        .await
        .unwrap();
    let ctx = CallContext::detached(std::time::Duration::from_secs(30));
    for (name, type_name, id) in [
        ("girder-state", "aws:s3/bucket", &bucket),
        ("girder-locks", "aws:dynamodb/table", &table),
    ] {
        for (stack, expected) in [("dev", vec![id.as_str()]), ("prod", vec![])] {
            let identity = ResourceIdentity {
                stack: stack.into(),
                name: name.into(),
                type_name: type_name.into(),
            };
            let found = provider
                .find(FindRequest { identity }, &ctx)
                .await
                .unwrap_or_else(|e| panic!("find {name}: {e}"))
                .found;
            assert_eq!(
                found.iter().map(|f| f.id.as_str()).collect::<Vec<_>>(),
                expected,
                "{stack}/{name}"
            );
            if let Some(found) = found.first() {
                let recorded = &state.resources[name].inputs;
                for field in [
                    "tags",
                    "name_prefix",
                    "hash_key",
                    "versioning",
                    "public_access_block",
                ] {
                    assert_eq!(
                        found.observed.inputs.get(field),
                        recorded.get(field),
                        "{name}.{field}"
                    );
                }
            }
        }
    }

    // Nothing to do afterwards; what a refresh costs.
    env.assert_converged(&graph).await;
    let (refresh, by_operation) = env.refresh_calls(&graph).await;
    println!(
        "state backend: apply took {elapsed:?} with {apply_calls:?}; one refresh makes {refresh} requests: {by_operation:?}"
    );
    // Bucket: versioning, encryption, public access block, tags. Table: describe, tags, PITR.
    assert_eq!(refresh, 7, "{by_operation:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tag_and_point_in_time_recovery_changes_update_in_place() {
    let env = Env::start().await;
    env.apply(&build(|s| {
        seed::state_backend_with(s, "ops", false);
    }))
    .await;
    let changed = build(|s| {
        seed::state_backend_with(s, "platform", true);
    });
    let plan = env.harness.plan(&changed).await.unwrap();
    let summary = plan.summary();
    assert_eq!(
        (
            summary.create,
            summary.replace,
            summary.delete,
            summary.update
        ),
        (0, 0, 0, 2),
        "{:#?}",
        changes(&plan)
    );
    let mut found = changes(&plan);
    found.sort();
    assert_eq!(
        found,
        [
            (
                "girder-locks".to_owned(),
                StepKind::Update,
                vec!["point_in_time_recovery".to_owned(), "tags.owner".to_owned()]
            ),
            (
                "girder-state".to_owned(),
                StepKind::Update,
                vec!["tags.owner".to_owned()]
            ),
        ]
    );
    let report = env.harness.apply(&changed, plan).await.unwrap();
    support::assert_success(&report);
    env.assert_converged(&changed).await;

    let table = env.harness.snapshot().resources["girder-locks"].id.clone();
    let backups = env
        .dynamodb
        .describe_continuous_backups()
        .table_name(&table)
        .send()
        .await
        .unwrap();
    assert_eq!(
        backups
            .continuous_backups_description()
            .and_then(|d| d.point_in_time_recovery_description())
            .and_then(|p| p.point_in_time_recovery_status())
            .map(|s| s.as_str()),
        Some("ENABLED")
    );
    let bucket = env.harness.snapshot().resources["girder-state"].id.clone();
    let tagging = env
        .s3
        .get_bucket_tagging()
        .bucket(&bucket)
        .send()
        .await
        .unwrap();
    assert_eq!(tags_of(tagging.tag_set())["owner"], "platform");
    assert_eq!(tags_of(tagging.tag_set())["girder:stack"], "dev");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drift_is_detected_and_repaired() {
    let env = Env::start().await;
    let graph = build(|s| {
        seed::state_backend(s);
    });
    env.apply(&graph).await;
    let bucket = env.harness.snapshot().resources["girder-state"].id.clone();
    // Out of band: versioning suspended, the public access block removed.
    env.s3
        .put_bucket_versioning()
        .bucket(&bucket)
        .versioning_configuration(
            aws_sdk_s3::types::VersioningConfiguration::builder()
                .status(BucketVersioningStatus::Suspended)
                .build(),
        )
        .send()
        .await
        .unwrap();
    env.s3
        .delete_public_access_block()
        .bucket(&bucket)
        .send()
        .await
        .unwrap();
    let plan = env.harness.plan(&graph).await.unwrap();
    assert_eq!(of_kind(&plan, StepKind::Update), ["girder-state"]);
    let mut fields: Vec<String> = plan
        .step("girder-state")
        .unwrap()
        .diffs
        .iter()
        .map(|d| d.path.to_string())
        .collect();
    fields.sort();
    assert_eq!(
        fields,
        [
            "public_access_block.block_public_acls",
            "public_access_block.block_public_policy",
            "public_access_block.ignore_public_acls",
            "public_access_block.restrict_public_buckets",
            "versioning"
        ]
    );
    let report = env.harness.apply(&graph, plan).await.unwrap();
    support::assert_success(&report);
    env.assert_converged(&graph).await;
    assert_eq!(
        versioning_status(&env, &bucket).await,
        Some(BucketVersioningStatus::Enabled)
    );
}

/// A named bucket with objects and a provisioned table with a range key.
fn data(s: &mut Stack, force_destroy: bool, kms: bool) {
    let mut bucket = Bucket::new("data")
        .name("acme-data-bucket")
        .versioning(true)
        .encryption(if kms {
            Encryption::kms_key("alias/data")
        } else {
            Encryption::S3Managed
        });
    if force_destroy {
        bucket = bucket.force_destroy();
    }
    bucket.add(s);
    Table::new("events")
        .name("events")
        .hash_key("tenant", AttributeType::String)
        .range_key("at", AttributeType::Number)
        .billing(Billing::provisioned(2, 1))
        .add(s);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bucket_with_objects_is_kept_until_force_destroy_and_destroy_leaves_nothing() {
    let env = Env::start().await;
    let graph = build(|s| data(s, false, false));
    env.apply(&graph).await;
    env.assert_converged(&graph).await;

    // The table's key schema and provisioned capacity.
    let described = env
        .dynamodb
        .describe_table()
        .table_name("events")
        .send()
        .await
        .unwrap();
    let described = described.table().unwrap();
    let range = described
        .key_schema()
        .iter()
        .find(|k| k.key_type() == &KeyType::Range)
        .unwrap();
    assert_eq!(range.attribute_name(), "at");
    assert_eq!(
        described
            .provisioned_throughput()
            .and_then(|p| p.read_capacity_units()),
        Some(2)
    );

    // Encryption switches to SSE-KMS in place.
    let kms = build(|s| data(s, false, true));
    let plan = env.harness.plan(&kms).await.unwrap();
    assert_eq!(of_kind(&plan, StepKind::Update), ["data"]);
    support::assert_success(&env.harness.apply(&kms, plan).await.unwrap());
    env.assert_converged(&kms).await;
    let encryption = env
        .s3
        .get_bucket_encryption()
        .bucket("acme-data-bucket")
        .send()
        .await
        .unwrap();
    let default = encryption
        .server_side_encryption_configuration()
        .unwrap()
        .rules()[0]
        .apply_server_side_encryption_by_default()
        .unwrap()
        .clone();
    assert_eq!(default.sse_algorithm(), &ServerSideEncryption::AwsKms);
    assert_eq!(default.kms_master_key_id(), Some("alias/data"));

    // Two versions of one object, and another object.
    for (key, body) in [("a.txt", "1"), ("a.txt", "2"), ("b.txt", "x")] {
        env.s3
            .put_object()
            .bucket("acme-data-bucket")
            .key(key)
            .body(ByteStream::from(body.as_bytes().to_vec()))
            .send()
            .await
            .unwrap();
    }
    let report = env.harness.destroy(&kms).await.unwrap();
    let failure = report
        .failed
        .iter()
        .find(|f| f.resource == "data")
        .unwrap_or_else(|| panic!("{report:#?}"));
    for expected in [
        "aws:s3/bucket `data`",
        "`acme-data-bucket` is not empty",
        "`a.txt`",
        ".force_destroy()",
    ] {
        assert!(
            failure.error.contains(expected),
            "{expected}: {}",
            failure.error
        );
    }
    // The bucket and its objects are still there; the table went.
    assert!(env.harness.snapshot().resources.contains_key("data"));
    assert!(!env.harness.snapshot().resources.contains_key("events"));

    // Recording force_destroy is an update without AWS changes; then destroy empties it.
    let forced = build(|s| data(s, true, true));
    let plan = env.harness.plan(&forced).await.unwrap();
    assert_eq!(
        changes(&plan)
            .into_iter()
            .filter(|(r, ..)| r == "data")
            .collect::<Vec<_>>(),
        [(
            "data".to_owned(),
            StepKind::Update,
            vec!["force_destroy".to_owned()]
        )]
    );
    support::assert_success(&env.harness.apply(&forced, plan).await.unwrap());
    let report = env.harness.destroy(&forced).await.unwrap();
    support::assert_success(&report);
    assert_eq!(env.harness.snapshot().resource_count(), 0);
    let buckets = env.s3.list_buckets().send().await.unwrap();
    assert!(buckets.buckets().is_empty(), "{:?}", buckets.buckets());
    let tables = env.dynamodb.list_tables().send().await.unwrap();
    assert!(
        tables.table_names().is_empty(),
        "{:?}",
        tables.table_names()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_state_backend_is_destroyed_without_a_trace() {
    let env = Env::start().await;
    let graph = build(|s| {
        seed::state_backend(s);
    });
    env.apply(&graph).await;
    let report = env.harness.destroy(&graph).await.unwrap();
    support::assert_success(&report);
    assert_eq!(env.harness.snapshot().resource_count(), 0);
    let buckets = env.s3.list_buckets().send().await.unwrap();
    assert!(buckets.buckets().is_empty(), "{:?}", buckets.buckets());
    let tables = env.dynamodb.list_tables().send().await.unwrap();
    assert!(
        tables.table_names().is_empty(),
        "{:?}",
        tables.table_names()
    );
}
