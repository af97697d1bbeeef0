//! The typed DSL: builders that add AWS resources to a `girder_core::Stack` and
//! handles whose typed outputs wire resources together.
//!
//! - [`vpc`]: the `Vpc` module (subnets per tier and AZ, gateways, routes, flow logs).
//! - [`eks`]: the `Eks` module (cluster, nodegroups, OIDC, IRSA, the Kubernetes provider).
//! - [`iam`]: roles, policies, instance profiles, OIDC providers.
//! - [`network`]: security groups and their rules; [`logs`]: log groups.
//! - [`route53`]: hosted zones; [`s3`]: buckets; [`dynamodb`]: tables.
//! - [`cidr`]: the subnet allocator; [`regions`]: regions and AZs for build-time checks.

pub mod cidr;
pub mod dynamodb;
pub mod eks;
pub mod iam;
pub mod logs;
pub mod network;
pub mod regions;
pub mod route53;
pub mod s3;
pub mod vpc;

use girder_core::{Diagnostic, Stack, Value};

use crate::tags::{Tags, is_reserved};

/// User tags as an input value (absent when empty, as the providers report them).
pub(crate) fn tags_value(tags: &Tags) -> Option<Value> {
    (!tags.is_empty()).then(|| {
        Value::Object(
            tags.iter()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect(),
        )
    })
}

/// Sets `tags` on a declaration unless empty.
pub(crate) fn with_tags(decl: girder_core::ResourceDecl, tags: &Tags) -> girder_core::ResourceDecl {
    match tags_value(tags) {
        Some(value) => decl.input("tags", value),
        None => decl,
    }
}

/// Reports user tags AWS or girder would refuse.
pub(crate) fn check_tags(s: &mut Stack, resource: &str, tags: &Tags) {
    for (key, value) in tags {
        if is_reserved(key) {
            s.report(
                Diagnostic::error("tag keys starting with `aws:` or `girder:` are reserved")
                    .resource(resource)
                    .field(format!("tags.{key}"))
                    .value(key)
                    .fix("choose another key; girder adds `girder:stack` and `girder:resource` itself"),
            );
        }
        if key.is_empty() || key.chars().count() > 128 {
            s.report(
                Diagnostic::error("a tag key has 1 to 128 characters")
                    .resource(resource)
                    .field("tags")
                    .value(key)
                    .fix("shorten the key"),
            );
        }
        if value.chars().count() > 256 {
            s.report(
                Diagnostic::error("a tag value has at most 256 characters")
                    .resource(resource)
                    .field(format!("tags.{key}"))
                    .value(format!("{}…", value.chars().take(40).collect::<String>()))
                    .fix("shorten the value"),
            );
        }
    }
}

/// An IAM-safe name prefix derived from a girder resource name: the resource name (which
/// lets `find` recognise generated names), cut to leave room for the generated suffix.
pub(crate) fn iam_name_prefix(resource: &str) -> String {
    let cleaned: String = resource
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "+=,.@-_".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect();
    // IAM role names have at most 64 characters; the suffix adds 8.
    let cut: String = cleaned.chars().take(55).collect();
    format!("{cut}-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iam_prefixes_are_safe_and_short() {
        assert_eq!(iam_name_prefix("main-flow-logs"), "main-flow-logs-");
        assert_eq!(iam_name_prefix("a/b:c"), "a-b-c-");
        assert_eq!(iam_name_prefix(&"x".repeat(100)).len(), 56);
    }
}
