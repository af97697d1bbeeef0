//! Tags: every resource carries the identity tags (`girder:stack`, `girder:resource`) next to
//! the user's tags. Reads report only the user's tags, so an edited or deleted tag shows as
//! drift, while the identity tags stay an implementation detail that `find` searches by.

use std::collections::BTreeMap;

use aws_sdk_ec2::types::{Filter, ResourceType, Tag, TagSpecification};
use girder_engine::{ProviderError, ResourceIdentity};

use crate::error::{AwsResultExt, Call};

/// Tags as a sorted map.
pub type Tags = BTreeMap<String, String>;

/// Prefixes of tag keys that are not the user's: ours and AWS's own.
const RESERVED_PREFIXES: [&str; 2] = ["girder:", "aws:"];

/// True for keys girder or AWS manage.
pub fn is_reserved(key: &str) -> bool {
    RESERVED_PREFIXES.iter().any(|p| key.starts_with(p))
}

/// The user's tags plus the identity tags.
pub fn with_identity(identity: &ResourceIdentity, user: &Tags) -> Tags {
    let mut all = user.clone();
    for (key, value) in identity.tags() {
        all.insert(key.to_owned(), value.to_owned());
    }
    all
}

/// The user's tags out of everything a resource carries.
pub fn user_tags<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Tags {
    pairs
        .into_iter()
        .filter(|(k, _)| !is_reserved(k))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// True if the tags name this identity.
pub fn names_identity<'a>(
    pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    identity: &ResourceIdentity,
) -> bool {
    let tags: BTreeMap<&str, &str> = pairs.into_iter().collect();
    identity
        .tags()
        .iter()
        .all(|(k, v)| tags.get(k).is_some_and(|found| found == v))
}

/// EC2 tag pairs.
pub fn ec2_pairs(tags: &[Tag]) -> impl Iterator<Item = (&str, &str)> {
    tags.iter()
        .map(|t| (t.key().unwrap_or_default(), t.value().unwrap_or_default()))
}

/// EC2 tags from a map.
pub fn ec2_tags(tags: &Tags) -> Vec<Tag> {
    tags.iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

/// The tag specification that tags an EC2 resource as it is created (so it is never
/// untagged, even if the create is interrupted).
pub fn ec2_tag_spec(
    resource_type: ResourceType,
    identity: &ResourceIdentity,
    user: &Tags,
) -> TagSpecification {
    TagSpecification::builder()
        .resource_type(resource_type)
        .set_tags(Some(ec2_tags(&with_identity(identity, user))))
        .build()
}

/// [`ec2_tag_spec`] plus the create's token (the `girder:create-token` tag): what a retried
/// create looks for when its API takes no idempotency token.
pub fn ec2_tag_spec_with_token(
    resource_type: ResourceType,
    identity: &ResourceIdentity,
    user: &Tags,
    token: &str,
) -> TagSpecification {
    let mut all = with_identity(identity, user);
    all.insert(
        crate::attempts::CREATE_TOKEN_TAG.to_owned(),
        token.to_owned(),
    );
    TagSpecification::builder()
        .resource_type(resource_type)
        .set_tags(Some(ec2_tags(&all)))
        .build()
}

/// Filters selecting the EC2 resource one create (its token) made for an identity.
pub fn ec2_token_filters(identity: &ResourceIdentity, token: &str) -> Vec<Filter> {
    let mut filters = ec2_identity_filters(identity);
    filters.push(
        Filter::builder()
            .name(format!("tag:{}", crate::attempts::CREATE_TOKEN_TAG))
            .values(token)
            .build(),
    );
    filters
}

/// Filters selecting the EC2 resources tagged with an identity.
pub fn ec2_identity_filters(identity: &ResourceIdentity) -> Vec<Filter> {
    identity
        .tags()
        .iter()
        .map(|(k, v)| {
            Filter::builder()
                .name(format!("tag:{k}"))
                .values(*v)
                .build()
        })
        .collect()
}

/// A filter on one field with many values (for batched describes).
pub fn ec2_filter(name: &str, values: impl IntoIterator<Item = impl Into<String>>) -> Filter {
    Filter::builder()
        .name(name)
        .set_values(Some(values.into_iter().map(Into::into).collect()))
        .build()
}

/// The keys of `old` that `new` no longer has: the tags (or labels) to remove.
pub fn removed_keys<V>(old: &BTreeMap<String, V>, new: &BTreeMap<String, V>) -> Vec<String> {
    old.keys()
        .filter(|k| !new.contains_key(*k))
        .cloned()
        .collect()
}

/// Brings an EC2 resource's tags from `old` to `new` (user tags; the identity tags are
/// rewritten too, in case someone removed them).
pub async fn ec2_update_tags(
    ec2: &aws_sdk_ec2::Client,
    id: &str,
    identity: &ResourceIdentity,
    old: &Tags,
    new: &Tags,
) -> Result<(), ProviderError> {
    let removed: Vec<Tag> = removed_keys(old, new)
        .into_iter()
        .map(|k| Tag::builder().key(k).build())
        .collect();
    if !removed.is_empty() {
        ec2.delete_tags()
            .resources(id)
            .set_tags(Some(removed))
            .send()
            .await
            .aws(&Call::new("DeleteTags", id))?;
    }
    ec2.create_tags()
        .resources(id)
        .set_tags(Some(ec2_tags(&with_identity(identity, new))))
        .send()
        .await
        .aws(&Call::new("CreateTags", id))?;
    Ok(())
}

/// Splits `ids` into chunks for describe filters (EC2 accepts up to 200 filter values).
pub fn chunks(ids: &[String]) -> impl Iterator<Item = &[String]> {
    ids.chunks(200)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removed_keys_are_those_the_new_set_lacks() {
        let old = Tags::from([("a".into(), "1".into()), ("b".into(), "2".into())]);
        let new = Tags::from([("b".into(), "3".into()), ("c".into(), "4".into())]);
        assert_eq!(removed_keys(&old, &new), ["a"]);
        assert!(removed_keys(&new, &new).is_empty());
    }

    fn identity() -> ResourceIdentity {
        ResourceIdentity {
            stack: "dev".into(),
            name: "main-vpc".into(),
            type_name: "aws:ec2/vpc".into(),
        }
    }

    #[test]
    fn identity_tags_are_added_and_hidden() {
        let user: Tags = [("Name".to_owned(), "main".to_owned())].into();
        let all = with_identity(&identity(), &user);
        assert_eq!(all["girder:stack"], "dev");
        assert_eq!(all["girder:resource"], "main-vpc");
        let seen = user_tags(
            all.iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .chain([("aws:cloudformation:stack-name", "x")]),
        );
        assert_eq!(seen, user);
        assert!(names_identity(
            all.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            &identity()
        ));
    }
}
