//! IAM resources: roles, inline and managed policies, attachments, instance profiles and
//! OpenID Connect providers; plus the typed policy-document builder.
//!
//! IAM has no batched describe calls: reads cost one call per role, policy or provider
//! (attachments: one call per role). IAM names are account-wide, so girder generates them from
//! a prefix plus a random suffix unless the program names them exactly; `find` looks at the
//! names that start with the girder resource name and checks their identity tags.

pub mod document;
pub mod instance_profile;
pub mod oidc;
pub mod policy;
pub mod role;

use aws_sdk_iam::types::Tag;
use girder_engine::{ProviderError, ResourceIdentity};
use percent_encoding::percent_decode_str;

use crate::tags::{self, Tags};

/// IAM tags for the user's tags plus the identity tags.
pub(crate) fn iam_tags(
    identity: &ResourceIdentity,
    user: &Tags,
) -> Result<Vec<Tag>, ProviderError> {
    tags::with_identity(identity, user)
        .into_iter()
        .map(|(k, v)| {
            Tag::builder()
                .key(k)
                .value(v)
                .build()
                .map_err(|e| ProviderError::invalid_input(format!("invalid IAM tag: {e}")))
        })
        .collect()
}

/// IAM tag pairs.
pub(crate) fn iam_pairs(tags: &[Tag]) -> impl Iterator<Item = (&str, &str)> {
    tags.iter().map(|t| (t.key(), t.value()))
}

/// The name to create: the exact name, or the prefix plus `suffix` (the create attempt's,
/// so a retry after a lost response names the same entity, not a second one).
pub(crate) fn generated_name(
    name: Option<&str>,
    prefix: Option<&str>,
    identity: &ResourceIdentity,
    suffix: &str,
) -> String {
    match (name, prefix) {
        (Some(name), _) => name.to_owned(),
        (None, Some(prefix)) => format!("{prefix}{suffix}"),
        (None, None) => format!("{}-{suffix}", identity.name),
    }
}

/// The (name, name_prefix) pair to report for a name read back: a generated name reads as
/// the prefix it was made from, so it does not show as drift.
pub(crate) fn name_inputs(
    actual: &str,
    recorded_name: Option<&str>,
    recorded_prefix: Option<&str>,
) -> (Option<String>, Option<String>) {
    match (recorded_name, recorded_prefix) {
        (None, Some(prefix)) if actual.starts_with(prefix) => (None, Some(prefix.to_owned())),
        // Found or imported without a record: a name that looks generated reads as its prefix.
        (None, None) => match crate::util::generated_prefix(actual) {
            Some(prefix) => (None, Some(prefix.to_owned())),
            None => (Some(actual.to_owned()), None),
        },
        _ => (Some(actual.to_owned()), None),
    }
}

/// Parses a policy document as IAM returns it (URL-encoded JSON).
pub(crate) fn decode_policy(encoded: &str) -> serde_json::Value {
    let decoded = percent_decode_str(encoded).decode_utf8_lossy();
    serde_json::from_str(&decoded).unwrap_or(serde_json::Value::String(decoded.into_owned()))
}

/// The recorded document if IAM's copy means the same, else IAM's copy (so only real
/// changes show as drift).
pub(crate) fn observed_policy(
    recorded: Option<&serde_json::Value>,
    observed: serde_json::Value,
) -> serde_json::Value {
    match recorded {
        Some(recorded) if document::equivalent(recorded, &observed) => recorded.clone(),
        _ => observed,
    }
}
