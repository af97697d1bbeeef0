//! S3 buckets (and the resources Terraform keeps their settings in) and DynamoDB tables.

use girder_core::Value;
use serde_json::json;

use super::PROVIDER;
use crate::display::terraform::attrs::{Attrs, Reference, TfResource, object};

pub(super) fn s3_bucket(a: &mut Attrs<'_, '_>) -> Vec<TfResource> {
    let src = a.src();
    a.copy("bucket", "name")
        .copy("bucket_prefix", "name_prefix")
        .copy("force_destroy", "force_destroy")
        .tags()
        .outputs(&["arn", "region", "bucket_regional_domain_name"]);
    let name = src
        .input("name")
        .cloned()
        .unwrap_or_else(|| src.output("name"));
    if src.input("name").is_none() {
        a.computed("bucket", name.clone());
    }
    a.computed("id", name.clone());
    let mut out = vec![a.finish("aws_s3_bucket", PROVIDER)];
    // Terraform keeps the bucket's settings in resources of their own, each naming the bucket
    // by `aws_s3_bucket.NAME.id`.
    let bucket_ref = || {
        let mut s = Attrs::new(src);
        let reference = Reference {
            address: format!("aws_s3_bucket.{}", src.name),
            path: vec![json!("id")],
        };
        s.computed("bucket", name.clone());
        s.set_expression(
            "bucket",
            crate::display::terraform::attrs::expression(&Value::Unknown, &[reference]),
        );
        s.computed("id", name.clone());
        s
    };
    if src.input("versioning").and_then(Value::as_bool) == Some(true) {
        let mut v = bucket_ref();
        v.block("versioning_configuration", |b| {
            b.set("status", Value::from("Enabled"), &["versioning"]);
        });
        out.push(v.finish("aws_s3_bucket_versioning", PROVIDER));
    }
    if let Some(encryption) = src.input("encryption") {
        let mut e = bucket_ref();
        let default = object([
            ("sse_algorithm", encryption.get("sse_algorithm").cloned()),
            (
                "kms_master_key_id",
                encryption.get("kms_master_key_id").cloned(),
            ),
        ]);
        let rule = object([
            (
                "apply_server_side_encryption_by_default",
                Some(Value::Array(vec![Value::Object(default)])),
            ),
            (
                "bucket_key_enabled",
                Some(
                    encryption
                        .get("bucket_key_enabled")
                        .cloned()
                        .unwrap_or(Value::Bool(false)),
                ),
            ),
        ]);
        e.set(
            "rule",
            Value::Array(vec![Value::Object(rule)]),
            &["encryption"],
        );
        out.push(e.finish(
            "aws_s3_bucket_server_side_encryption_configuration",
            PROVIDER,
        ));
    }
    let mut p = bucket_ref();
    for key in [
        "block_public_acls",
        "block_public_policy",
        "ignore_public_acls",
        "restrict_public_buckets",
    ] {
        p.copy_or(
            key,
            &format!("public_access_block.{key}"),
            Value::Bool(false),
        );
    }
    out.push(p.finish("aws_s3_bucket_public_access_block", PROVIDER));
    out
}

pub(super) fn dynamodb_table(a: &mut Attrs<'_, '_>) {
    let src = a.src();
    a.copy("name", "name")
        .copy("hash_key", "hash_key.name")
        .copy("range_key", "range_key.name");
    let attributes: Vec<Value> = ["hash_key", "range_key"]
        .iter()
        .filter_map(|key| src.input(key))
        .map(|key| {
            Value::Object(object([
                ("name", key.get("name").cloned()),
                ("type", key.get("type").cloned()),
            ]))
        })
        .collect();
    a.set(
        "attribute",
        Value::Array(attributes),
        &["hash_key", "range_key"],
    )
    .copy_or(
        "billing_mode",
        "billing_mode",
        Value::from("PAY_PER_REQUEST"),
    )
    .copy("read_capacity", "read_capacity")
    .copy("write_capacity", "write_capacity");
    let pitr = src
        .input("point_in_time_recovery")
        .cloned()
        .unwrap_or(Value::Bool(false));
    a.block("point_in_time_recovery", |b| {
        b.set("enabled", pitr, &["point_in_time_recovery"]);
    });
    let protection = src
        .input("deletion_protection")
        .cloned()
        .unwrap_or(Value::Bool(false));
    a.set(
        "deletion_protection_enabled",
        protection,
        &["deletion_protection"],
    )
    .tags()
    .outputs(&["arn"]);
    let name = src.input("name").cloned().unwrap_or(Value::Unknown);
    a.computed("id", name);
}
