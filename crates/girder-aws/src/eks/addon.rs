//! `aws:eks/addon`: an EKS managed add-on (vpc-cni, coredns, kube-proxy, …).

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_eks::types::{Addon, AddonStatus, ResolveConflicts};
use girder_engine::ExpectedDurations;
use girder_engine::provider::DefaultTimeouts;
use girder_engine::typed::{
    TypedCreateRequest, TypedCreateResponse, TypedDeleteRequest, TypedFindRequest,
    TypedFindResponse, TypedObserved, TypedReadRequest, TypedReadResponse, TypedResource,
    TypedUpdateRequest, TypedUpdateResponse,
};
use girder_engine::{CallContext, ErrorKind, ProviderError, ResourceSchema};
use serde::{Deserialize, Serialize};

use crate::clients::AwsClients;
use crate::eks::{eks_tags, tagged_as, update_tags, user_tags};
use crate::error::{AwsResultExt, Call, after_create, has_code, is_not_found};
use crate::tags::Tags;
use crate::util::{Poll, SLOW, wait_until};

/// The type token.
pub const ADDON: &str = "aws:eks/addon";

fn overwrite() -> String {
    "OVERWRITE".to_owned()
}

/// Inputs of `aws:eks/addon`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AddonInputs {
    /// The cluster.
    pub cluster_name: String,
    /// The add-on, such as `vpc-cni`.
    pub addon_name: String,
    /// Its version (absent: the default for the cluster's Kubernetes version).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub addon_version: Option<String>,
    /// The IAM role its service account uses (IRSA).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_role_arn: Option<String>,
    /// Configuration as a JSON string, per the add-on's schema.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub configuration_values: Option<String>,
    /// What to do with fields changed in the cluster: `OVERWRITE`, `PRESERVE` or `NONE`.
    #[serde(default = "overwrite")]
    pub resolve_conflicts: String,
    /// User tags.
    #[serde(default, skip_serializing_if = "Tags::is_empty")]
    pub tags: Tags,
}

/// Outputs of `aws:eks/addon` (the id is `cluster:addon`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AddonOutputs {
    /// The ARN.
    pub arn: String,
    /// The version installed.
    pub addon_version: String,
}

/// The `aws:eks/addon` resource type.
#[derive(Clone, Copy, Debug, Default)]
pub struct AddonResource;

fn observe(
    addon: &Addon,
    recorded: Option<&AddonInputs>,
) -> TypedObserved<AddonInputs, AddonOutputs> {
    let version = addon.addon_version().unwrap_or_default().to_owned();
    TypedObserved::new(
        AddonInputs {
            cluster_name: addon.cluster_name().unwrap_or_default().to_owned(),
            addon_name: addon.addon_name().unwrap_or_default().to_owned(),
            addon_version: match recorded {
                Some(r) if r.addon_version.is_none() => None,
                _ => Some(version.clone()),
            },
            service_account_role_arn: addon.service_account_role_arn().map(str::to_owned),
            configuration_values: addon
                .configuration_values()
                .filter(|c| !c.is_empty())
                .map(str::to_owned),
            // Not reported by EKS: it is how an update behaves, not a setting.
            resolve_conflicts: recorded
                .map(|r| r.resolve_conflicts.clone())
                .unwrap_or_else(overwrite),
            tags: user_tags(addon.tags()),
        },
        AddonOutputs {
            arn: addon.addon_arn().unwrap_or_default().to_owned(),
            addon_version: version,
        },
    )
}

fn split_id(id: &str) -> Result<(&str, &str), ProviderError> {
    id.split_once(':').ok_or_else(|| {
        ProviderError::invalid_input(format!("`{id}` is not an add-on id (`cluster:addon`)"))
    })
}

async fn describe(
    eks: &aws_sdk_eks::Client,
    cluster: &str,
    name: &str,
) -> Result<Option<Addon>, ProviderError> {
    match eks
        .describe_addon()
        .cluster_name(cluster)
        .addon_name(name)
        .send()
        .await
        .aws(&Call::new("DescribeAddon", format!("{cluster}:{name}")))
    {
        Ok(out) => Ok(out.addon().cloned()),
        Err(e) if is_not_found(&e) => Ok(None),
        Err(e) => Err(e),
    }
}

async fn wait_ready(
    eks: &aws_sdk_eks::Client,
    ctx: &CallContext,
    cluster: &str,
    name: &str,
) -> Result<Addon, ProviderError> {
    wait_until(ctx, &format!("add-on {name} of {cluster} to become ACTIVE"), SLOW.0, Duration::from_secs(20), || async {
        let Some(addon) = describe(eks, cluster, name).await? else {
            return Ok(Poll::Pending("not listed yet".into()));
        };
        match addon.status() {
            Some(AddonStatus::Active) => Ok(Poll::Ready(addon)),
            // Without nodes yet, some add-ons (coredns) stay DEGRADED; they work once nodes join.
            Some(AddonStatus::Degraded) => {
                ctx.progress(&format!("add-on {name} is DEGRADED (no nodes yet?)"));
                Ok(Poll::Ready(addon))
            }
            Some(AddonStatus::CreateFailed | AddonStatus::UpdateFailed) => Err(ProviderError::permanent(format!(
                "add-on {name} of {cluster} failed: {}; if it conflicts with existing objects, set resolve_conflicts to OVERWRITE",
                addon
                    .health()
                    .map(|h| h.issues().iter().map(|i| i.message().unwrap_or_default().to_owned()).collect::<Vec<_>>().join("; "))
                    .unwrap_or_default()
            ))),
            Some(status) => Ok(Poll::Pending(status.as_str().to_owned())),
            None => Ok(Poll::Pending("unknown".into())),
        }
    })
    .await
}

#[async_trait]
impl TypedResource<AwsClients> for AddonResource {
    type Inputs = AddonInputs;
    type Outputs = AddonOutputs;

    fn schema(&self) -> ResourceSchema {
        ResourceSchema::new(ADDON)
            .replace_on(["cluster_name", "addon_name"])
            .delete_before_replace()
            .timeouts(DefaultTimeouts {
                create: Duration::from_secs(20 * 60),
                update: Duration::from_secs(20 * 60),
                delete: Duration::from_secs(40 * 60),
                read: Duration::from_secs(60),
            })
            // Estimates for the scheduler, not limits: managed add-ons take about a minute to
            // become active, so an apply starts them (and what waits on them) before quick calls.
            .expected_durations(ExpectedDurations {
                create: Some(Duration::from_secs(60)),
                update: Some(Duration::from_secs(60)),
                delete: Some(Duration::from_secs(60)),
                read: None,
            })
    }

    async fn create(
        &self,
        clients: &AwsClients,
        req: TypedCreateRequest<AddonInputs>,
        ctx: &CallContext,
    ) -> Result<TypedCreateResponse<AddonOutputs>, ProviderError> {
        let TypedCreateRequest {
            identity, inputs, ..
        } = req;
        let eks = clients.eks().await?;
        let (cluster, name) = (inputs.cluster_name.clone(), inputs.addon_name.clone());
        // One token per create, the same for its retries: EKS answers a retry after a lost
        // response with the add-on the first request made.
        let attempt = clients.attempts().begin(&identity, &inputs);
        let created = eks
            .create_addon()
            .client_request_token(attempt.token())
            .cluster_name(&cluster)
            .addon_name(&name)
            .set_addon_version(inputs.addon_version.clone())
            .set_service_account_role_arn(inputs.service_account_role_arn.clone())
            .set_configuration_values(inputs.configuration_values.clone())
            .resolve_conflicts(ResolveConflicts::from(inputs.resolve_conflicts.as_str()))
            .set_tags(Some(eks_tags(&identity, &inputs.tags)))
            .send()
            .await
            .aws(&Call::new("CreateAddon", &identity));
        let created = clients.attempts().sent(&attempt, created).inspect_err(|e| {
            // Made by an earlier attempt (adopted below) or refused: this create is settled.
            if has_code(e, "ResourceInUseException") {
                clients.attempts().settled(&attempt);
            }
        });
        match created {
            Ok(_) => {}
            Err(e) if has_code(&e, "ResourceInUseException") => {
                match describe(eks, &cluster, &name).await? {
                    Some(existing) if tagged_as(existing.tags(), &identity) => {}
                    _ => {
                        return Err(ProviderError {
                            kind: ErrorKind::Conflict,
                            message: format!(
                                "{identity}: cluster `{cluster}` already has the add-on `{name}`, not installed by this resource; import it with `.import(\"{cluster}:{name}\")`"
                            ),
                            ..e
                        });
                    }
                }
            }
            Err(e) => return Err(e),
        }
        let id = format!("{cluster}:{name}");
        let ready = wait_ready(eks, ctx, &cluster, &name)
            .await
            .map_err(|e| after_create(e, &id, girder_core::Value::object()))?;
        Ok(TypedCreateResponse::new(
            id,
            observe(&ready, Some(&inputs)).outputs,
        ))
    }

    async fn read(
        &self,
        clients: &AwsClients,
        req: TypedReadRequest<AddonInputs>,
        _ctx: &CallContext,
    ) -> Result<TypedReadResponse<AddonInputs, AddonOutputs>, ProviderError> {
        let items = req.items;
        let eks = clients.eks().await?;
        let mut results = Vec::with_capacity(items.len());
        for item in &items {
            let (cluster, name) = split_id(&item.id)?;
            results.push(
                describe(eks, cluster, name)
                    .await?
                    .filter(|a| !matches!(a.status(), Some(AddonStatus::Deleting)))
                    .map(|a| observe(&a, item.inputs.as_ref())),
            );
        }
        Ok(TypedReadResponse::new(results))
    }

    async fn update(
        &self,
        clients: &AwsClients,
        req: TypedUpdateRequest<AddonInputs, AddonOutputs>,
        ctx: &CallContext,
    ) -> Result<TypedUpdateResponse<AddonOutputs>, ProviderError> {
        let TypedUpdateRequest { old, inputs, .. } = req;
        let eks = clients.eks().await?;
        let (cluster, name) = split_id(&old.id)?;
        if old.inputs.addon_version != inputs.addon_version
            || old.inputs.service_account_role_arn != inputs.service_account_role_arn
            || old.inputs.configuration_values != inputs.configuration_values
        {
            let out = eks
                .update_addon()
                .cluster_name(cluster)
                .addon_name(name)
                .set_addon_version(inputs.addon_version.clone())
                .service_account_role_arn(
                    inputs.service_account_role_arn.clone().unwrap_or_default(),
                )
                .configuration_values(inputs.configuration_values.clone().unwrap_or_default())
                .resolve_conflicts(ResolveConflicts::from(inputs.resolve_conflicts.as_str()))
                .send()
                .await
                .aws(&Call::new("UpdateAddon", &old.identity))?;
            crate::eks::settle(
                eks,
                ctx,
                (cluster, None, Some(name)),
                out.update().and_then(|u| u.id()),
                || async { wait_ready(eks, ctx, cluster, name).await.map(|_| ()) },
            )
            .await?;
        }
        if old.inputs.tags != inputs.tags {
            update_tags(
                eks,
                &old.outputs.arn,
                &old.identity,
                &old.inputs.tags,
                &inputs.tags,
            )
            .await?;
        }
        let now = describe(eks, cluster, name).await?.ok_or_else(|| {
            ProviderError::not_found(format!("{} disappeared during its update", old.identity))
        })?;
        Ok(TypedUpdateResponse::new(
            observe(&now, Some(&inputs)).outputs,
        ))
    }

    async fn delete(
        &self,
        clients: &AwsClients,
        req: TypedDeleteRequest<AddonInputs, AddonOutputs>,
        ctx: &CallContext,
    ) -> Result<(), ProviderError> {
        let old = req.old;
        let eks = clients.eks().await?;
        let (cluster, name) = split_id(&old.id)?;
        match eks
            .delete_addon()
            .cluster_name(cluster)
            .addon_name(name)
            .send()
            .await
            .aws(&Call::deleting("DeleteAddon", &old.identity))
        {
            Err(e) if is_not_found(&e) => return Ok(()),
            Err(e) => return Err(e),
            Ok(_) => {}
        }
        wait_until(
            ctx,
            &format!("add-on {name} of {cluster} to be deleted"),
            SLOW.0,
            Duration::from_secs(20),
            || async {
                Ok(match describe(eks, cluster, name).await? {
                    None => Poll::Ready(()),
                    Some(a) => Poll::Pending(
                        a.status()
                            .map(|s| s.as_str().to_owned())
                            .unwrap_or_default(),
                    ),
                })
            },
        )
        .await
    }

    async fn find(
        &self,
        _clients: &AwsClients,
        _req: TypedFindRequest,
        _ctx: &CallContext,
    ) -> Result<TypedFindResponse<AddonInputs, AddonOutputs>, ProviderError> {
        // An add-on's name is fixed per cluster: a repeated create adopts a tagged one.
        Ok(TypedFindResponse::none())
    }
}
