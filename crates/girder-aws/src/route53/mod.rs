//! Route 53: hosted zones.
//!
//! Route 53 cannot tag a zone as it creates it, so girder writes the identity into the
//! zone's *caller reference* (`girder/<stack>/<resource>/<random>`), which `ListHostedZones`
//! returns, and tags the zone right after. `find` recognises a zone by either, so even a
//! create interrupted between the two calls is found again.

pub mod external_dns;
pub mod hosted_zone;

use aws_sdk_route53::types::{Tag, TagResourceType};
use girder_engine::{ProviderError, ResourceIdentity};

use crate::error::{AwsResultExt, Call};
use crate::tags::{self, Tags};

/// Route 53 tags from a map.
pub(crate) fn route53_tags(tags: &Tags) -> Vec<Tag> {
    tags.iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

/// Route 53 tag pairs.
pub(crate) fn route53_pairs(tags: &[Tag]) -> impl Iterator<Item = (&str, &str)> {
    tags.iter()
        .map(|t| (t.key().unwrap_or_default(), t.value().unwrap_or_default()))
}

/// The tags of many zones (ids without `/hostedzone/`), ten per `ListTagsForResources` call
/// (the API's limit); zones without tags map to an empty list.
pub(crate) async fn zone_tags(
    route53: &aws_sdk_route53::Client,
    ids: &[String],
) -> Result<std::collections::HashMap<String, Vec<Tag>>, ProviderError> {
    let mut found = std::collections::HashMap::new();
    for chunk in ids.chunks(10) {
        let out = route53
            .list_tags_for_resources()
            .resource_type(TagResourceType::Hostedzone)
            .set_resource_ids(Some(chunk.to_vec()))
            .send()
            .await
            .aws(&Call::new("ListTagsForResources", "hosted zones"))?;
        for set in out.resource_tag_sets() {
            if let Some(id) = set.resource_id() {
                found.insert(id.to_owned(), set.tags().to_vec());
            }
        }
    }
    Ok(found)
}

/// Brings a zone's tags from `old` to `new`, rewriting the identity tags too (in case
/// someone removed them): one `ChangeTagsForResource` call.
pub(crate) async fn update_zone_tags(
    route53: &aws_sdk_route53::Client,
    zone_id: &str,
    identity: &ResourceIdentity,
    old: &Tags,
    new: &Tags,
) -> Result<(), ProviderError> {
    let removed = crate::tags::removed_keys(old, new);
    route53
        .change_tags_for_resource()
        .resource_type(TagResourceType::Hostedzone)
        .resource_id(zone_id)
        .set_add_tags(Some(route53_tags(&tags::with_identity(identity, new))))
        .set_remove_tag_keys((!removed.is_empty()).then_some(removed))
        .send()
        .await
        .aws(&Call::new("ChangeTagsForResource", identity))?;
    Ok(())
}

/// The start of the caller references of zones girder creates for `identity`.
///
/// Caller references have at most 128 characters: long stack and resource names are
/// replaced by a stable 64-bit FNV-1a hash of both.
pub(crate) fn caller_reference_prefix(identity: &ResourceIdentity) -> String {
    let plain = format!("girder/{}/{}/", identity.stack, identity.name);
    if plain.len() <= 100 {
        return plain;
    }
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in identity
        .stack
        .bytes()
        .chain([0])
        .chain(identity.name.bytes())
    {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("girder/#{hash:016x}/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caller_references_name_the_identity_and_fit() {
        let identity = ResourceIdentity {
            stack: "dev".into(),
            name: "example.com".into(),
            type_name: "aws:route53/hostedZone".into(),
        };
        assert_eq!(
            caller_reference_prefix(&identity),
            "girder/dev/example.com/"
        );
        let long = ResourceIdentity {
            name: "x".repeat(150),
            ..identity.clone()
        };
        let prefix = caller_reference_prefix(&long);
        assert!(prefix.len() < 40, "{prefix}");
        assert_eq!(prefix, caller_reference_prefix(&long));
        assert_ne!(
            prefix,
            caller_reference_prefix(&ResourceIdentity {
                stack: "prod".into(),
                ..long
            })
        );
    }
}
