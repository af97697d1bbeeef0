//! EKS: clusters, managed nodegroups, add-ons and access entries; the Kubernetes bearer token and kubeconfig.
//!
//! EKS describes one object per call (no batched describe): reads cost one call per cluster,
//! nodegroup or add-on. Creates wait until ACTIVE and deletes until the object is gone,
//! polling with the engine's deadline; updates wait for their EKS update to finish.

pub mod access_entry;
pub mod addon;
pub mod cluster;
pub mod kubeconfig;
pub mod nodegroup;
mod sweep;
pub mod token;

use std::collections::HashMap;

use aws_sdk_eks::types::UpdateStatus;
use girder_engine::{CallContext, ErrorKind, ProviderError, ResourceIdentity};

use crate::error::{AwsResultExt, Call};
use crate::tags::{self, Tags};
use crate::util::{Poll, SLOW, wait_until};

/// EKS tags for the user's tags plus the identity tags.
pub(crate) fn eks_tags(identity: &ResourceIdentity, user: &Tags) -> HashMap<String, String> {
    tags::with_identity(identity, user).into_iter().collect()
}

/// The user's tags out of what EKS reports.
pub(crate) fn user_tags(tags: Option<&HashMap<String, String>>) -> Tags {
    tags::user_tags(
        tags.into_iter()
            .flatten()
            .map(|(k, v)| (k.as_str(), v.as_str())),
    )
}

/// True if EKS's tags name this identity.
pub(crate) fn tagged_as(
    tags: Option<&HashMap<String, String>>,
    identity: &ResourceIdentity,
) -> bool {
    tags::names_identity(
        tags.into_iter()
            .flatten()
            .map(|(k, v)| (k.as_str(), v.as_str())),
        identity,
    )
}

/// A role created moments ago may not be usable by EKS yet (IAM is eventually consistent);
/// EKS then rejects the request as invalid. That is the cloud settling: retried until the
/// create's time limit, not a failure.
pub(crate) fn iam_propagation(error: ProviderError) -> ProviderError {
    let message = error.message.to_ascii_lowercase();
    if error.kind == ErrorKind::InvalidInput
        && (message.contains("could not be assumed")
            || message.contains("cannot be assumed")
            || message.contains("role") && message.contains("does not exist"))
    {
        ProviderError {
            kind: ErrorKind::Settling,
            message: format!(
                "{} (a new IAM role may not be visible to EKS yet)",
                error.message
            ),
            ..error
        }
    } else {
        error
    }
}

/// Brings an EKS resource's tags from `old` to `new`.
pub(crate) async fn update_tags(
    eks: &aws_sdk_eks::Client,
    arn: &str,
    identity: &ResourceIdentity,
    old: &Tags,
    new: &Tags,
) -> Result<(), ProviderError> {
    let removed = crate::tags::removed_keys(old, new);
    if !removed.is_empty() {
        eks.untag_resource()
            .resource_arn(arn)
            .set_tag_keys(Some(removed))
            .send()
            .await
            .aws(&Call::new("UntagResource", identity))?;
    }
    eks.tag_resource()
        .resource_arn(arn)
        .set_tags(Some(eks_tags(identity, new)))
        .send()
        .await
        .aws(&Call::new("TagResource", identity))?;
    Ok(())
}

/// Waits for update `id` if EKS gave one, else (or if EKS cannot describe it: emulators do
/// not track updates) runs `fallback`, which waits until the object is ACTIVE again.
pub(crate) async fn settle<F, Fut>(
    eks: &aws_sdk_eks::Client,
    ctx: &CallContext,
    (cluster, nodegroup, addon): (&str, Option<&str>, Option<&str>),
    id: Option<&str>,
    fallback: F,
) -> Result<(), ProviderError>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<(), ProviderError>>,
{
    match id {
        Some(id) => match wait_for_update(eks, ctx, cluster, nodegroup, addon, id).await {
            Err(e) if e.kind == ErrorKind::NotFound => fallback().await,
            other => other,
        },
        None => fallback().await,
    }
}

/// Waits for an EKS update to finish (`Successful`), failing with EKS's reasons otherwise.
pub(crate) async fn wait_for_update(
    eks: &aws_sdk_eks::Client,
    ctx: &CallContext,
    cluster: &str,
    nodegroup: Option<&str>,
    addon: Option<&str>,
    update_id: &str,
) -> Result<(), ProviderError> {
    let what = format!(
        "EKS update {update_id} of {}",
        nodegroup.or(addon).unwrap_or(cluster)
    );
    wait_until(ctx, &what, SLOW.0, SLOW.1, || async {
        let out = eks
            .describe_update()
            .name(cluster)
            .update_id(update_id)
            .set_nodegroup_name(nodegroup.map(str::to_owned))
            .set_addon_name(addon.map(str::to_owned))
            .send()
            .await
            .aws(&Call::new("DescribeUpdate", &what))?;
        let Some(update) = out.update() else {
            return Ok(Poll::Pending("not listed yet".into()));
        };
        match update.status() {
            Some(UpdateStatus::Successful) => Ok(Poll::Ready(())),
            Some(UpdateStatus::Failed | UpdateStatus::Cancelled) => {
                Err(ProviderError::permanent(format!(
                    "{what} failed: {}",
                    update
                        .errors()
                        .iter()
                        .map(|e| format!(
                            "{} ({})",
                            e.error_message().unwrap_or_default(),
                            e.error_code().map(|c| c.as_str()).unwrap_or("no code")
                        ))
                        .collect::<Vec<_>>()
                        .join("; ")
                )))
            }
            Some(status) => Ok(Poll::Pending(status.as_str().to_owned())),
            None => Ok(Poll::Pending("unknown".into())),
        }
    })
    .await
}
