//! `aws:eks/nodegroup`: an EKS managed nodegroup (ON_DEMAND or SPOT).
//!
//! Scaling, labels, taints, the update policy and the Kubernetes version update in place;
//! subnets, instance types, capacity type, AMI type, disk size and the node role cannot and
//! force a replacement. Names come from a prefix plus a suffix by default, so a replacement
//! group is created (and its nodes join) before the old one drains away.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_eks::types::{
    AmiTypes, CapacityTypes, Nodegroup, NodegroupScalingConfig, NodegroupStatus,
    NodegroupUpdateConfig, Taint, TaintEffect, UpdateLabelsPayload, UpdateTaintsPayload,
};
use girder_engine::ExpectedDurations;
use girder_engine::provider::DefaultTimeouts;
use girder_engine::typed::{
    TypedCreateRequest, TypedCreateResponse, TypedDeleteRequest, TypedFindRequest,
    TypedFindResponse, TypedFound, TypedObserved, TypedReadRequest, TypedReadResponse,
    TypedResource, TypedResumeRequest, TypedUpdateRequest, TypedUpdateResponse,
};
use girder_engine::{CallContext, ErrorKind, ProviderError, ResourceSchema};
use serde::{Deserialize, Serialize};

use crate::clients::AwsClients;
use crate::eks::{eks_tags, iam_propagation, tagged_as, update_tags, user_tags};
use crate::error::{AwsResultExt, Call, after_create, has_code, is_not_found};
use crate::tags::Tags;
use crate::util::{Poll, SLOW, keep_order, wait_until};

/// The type token.
pub const NODEGROUP: &str = "aws:eks/nodegroup";

/// Node counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scaling {
    /// The fewest nodes.
    pub min_size: i32,
    /// The most nodes.
    pub max_size: i32,
    /// The nodes wanted now (the cluster autoscaler changes it).
    pub desired_size: i32,
}

/// A Kubernetes taint put on every node of the group.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeTaint {
    /// The key.
    pub key: String,
    /// The value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// `NO_SCHEDULE`, `NO_EXECUTE` or `PREFER_NO_SCHEDULE`.
    pub effect: String,
}

/// How many nodes may be unavailable during an update.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdatePolicy {
    /// A number of nodes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_unavailable: Option<i32>,
    /// A percentage of nodes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_unavailable_percentage: Option<i32>,
}

/// Inputs of `aws:eks/nodegroup`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NodegroupInputs {
    /// The cluster.
    pub cluster_name: String,
    /// The exact nodegroup name (else generated from the prefix).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nodegroup_name: Option<String>,
    /// The start of a generated name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nodegroup_name_prefix: Option<String>,
    /// The role the nodes use.
    pub node_role_arn: String,
    /// Where nodes run.
    pub subnet_ids: Vec<String>,
    /// Instance types (several diversify SPOT capacity).
    pub instance_types: Vec<String>,
    /// `ON_DEMAND` or `SPOT`.
    pub capacity_type: String,
    /// The AMI family (absent: EKS's default for the version).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ami_type: Option<String>,
    /// Root volume size in GiB (absent: 20).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disk_size: Option<i32>,
    /// Node counts.
    pub scaling: Scaling,
    /// Kubernetes labels on every node.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Kubernetes taints on every node.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub taints: Vec<NodeTaint>,
    /// The update policy (absent: one node at a time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_config: Option<UpdatePolicy>,
    /// The Kubernetes version (absent: the cluster's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// User tags.
    #[serde(default, skip_serializing_if = "Tags::is_empty")]
    pub tags: Tags,
}

/// Outputs of `aws:eks/nodegroup` (the id is `cluster:nodegroup`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NodegroupOutputs {
    /// The ARN.
    pub arn: String,
    /// The nodegroup name.
    pub name: String,
    /// The Auto Scaling groups behind it.
    #[serde(default)]
    pub autoscaling_group_names: Vec<String>,
    /// The Kubernetes version of the nodes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

/// The `aws:eks/nodegroup` resource type.
#[derive(Clone, Copy, Debug, Default)]
pub struct NodegroupResource;

fn split_id(id: &str) -> Result<(&str, &str), ProviderError> {
    id.split_once(':').ok_or_else(|| {
        ProviderError::invalid_input(format!(
            "`{id}` is not a nodegroup id (`cluster:nodegroup`)"
        ))
    })
}

fn observe(
    group: &Nodegroup,
    recorded: Option<&NodegroupInputs>,
) -> TypedObserved<NodegroupInputs, NodegroupOutputs> {
    let name = group.nodegroup_name().unwrap_or_default().to_owned();
    let prefix = match recorded {
        Some(r) if r.nodegroup_name.is_none() => r
            .nodegroup_name_prefix
            .clone()
            .filter(|p| name.starts_with(p.as_str())),
        Some(_) => None,
        // Found or imported without a record: a name that looks generated reads as its prefix.
        None => crate::util::generated_prefix(&name).map(str::to_owned),
    };
    let scaling = group.scaling_config();
    let keep_default = |recorded_none: bool| recorded.is_some() && recorded_none;
    TypedObserved::new(
        NodegroupInputs {
            cluster_name: group.cluster_name().unwrap_or_default().to_owned(),
            nodegroup_name: prefix.is_none().then(|| name.clone()),
            nodegroup_name_prefix: prefix,
            node_role_arn: group.node_role().unwrap_or_default().to_owned(),
            subnet_ids: keep_order(
                recorded.map(|r| r.subnet_ids.as_slice()),
                group.subnets().to_vec(),
            ),
            instance_types: keep_order(
                recorded.map(|r| r.instance_types.as_slice()),
                group.instance_types().to_vec(),
            ),
            capacity_type: group
                .capacity_type()
                .map(|c| c.as_str().to_owned())
                .unwrap_or_else(|| "ON_DEMAND".to_owned()),
            ami_type: if keep_default(recorded.is_some_and(|r| r.ami_type.is_none())) {
                None
            } else {
                group.ami_type().map(|a| a.as_str().to_owned())
            },
            disk_size: if keep_default(recorded.is_some_and(|r| r.disk_size.is_none())) {
                None
            } else {
                group.disk_size()
            },
            scaling: Scaling {
                min_size: scaling.and_then(|s| s.min_size()).unwrap_or_default(),
                max_size: scaling.and_then(|s| s.max_size()).unwrap_or_default(),
                desired_size: scaling.and_then(|s| s.desired_size()).unwrap_or_default(),
            },
            labels: group
                .labels()
                .map(|l| l.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default(),
            taints: {
                let mut taints: Vec<NodeTaint> = group
                    .taints()
                    .iter()
                    .map(|t| NodeTaint {
                        key: t.key().unwrap_or_default().to_owned(),
                        value: t.value().map(str::to_owned),
                        effect: t
                            .effect()
                            .map(|e| e.as_str().to_owned())
                            .unwrap_or_default(),
                    })
                    .collect();
                // Keep the program's order when the same taints come back in another one.
                if let Some(r) = recorded
                    && r.taints.len() == taints.len()
                    && r.taints.iter().all(|t| taints.contains(t))
                {
                    taints = r.taints.clone();
                }
                taints
            },
            update_config: if keep_default(recorded.is_some_and(|r| r.update_config.is_none())) {
                None
            } else {
                group.update_config().map(|u| UpdatePolicy {
                    max_unavailable: u.max_unavailable(),
                    max_unavailable_percentage: u.max_unavailable_percentage(),
                })
            },
            version: if keep_default(recorded.is_some_and(|r| r.version.is_none())) {
                None
            } else {
                group.version().map(str::to_owned)
            },
            tags: user_tags(group.tags()),
        },
        NodegroupOutputs {
            arn: group.nodegroup_arn().unwrap_or_default().to_owned(),
            name,
            autoscaling_group_names: group
                .resources()
                .map(|r| {
                    r.auto_scaling_groups()
                        .iter()
                        .filter_map(|g| g.name().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default(),
            version: group.version().map(str::to_owned),
        },
    )
}

async fn describe(
    eks: &aws_sdk_eks::Client,
    cluster: &str,
    name: &str,
) -> Result<Option<Nodegroup>, ProviderError> {
    match eks
        .describe_nodegroup()
        .cluster_name(cluster)
        .nodegroup_name(name)
        .send()
        .await
        .aws(&Call::new("DescribeNodegroup", format!("{cluster}:{name}")))
    {
        Ok(out) => Ok(out.nodegroup().cloned()),
        Err(e) if is_not_found(&e) => Ok(None),
        Err(e) => Err(e),
    }
}

async fn wait_active(
    eks: &aws_sdk_eks::Client,
    ctx: &CallContext,
    cluster: &str,
    name: &str,
) -> Result<Nodegroup, ProviderError> {
    wait_until(ctx, &format!("nodegroup {name} of {cluster} to become ACTIVE"), SLOW.0, Duration::from_secs(30), || async {
        let Some(group) = describe(eks, cluster, name).await? else {
            return Ok(Poll::Pending("not listed yet".into()));
        };
        match group.status() {
            Some(NodegroupStatus::Active) => Ok(Poll::Ready(group)),
            Some(NodegroupStatus::CreateFailed | NodegroupStatus::Degraded) => Err(ProviderError::permanent(format!(
                "nodegroup {name} of {cluster} is {}: {}; check the node role's policies, the subnets' routes to the internet or NAT, and the instance type quotas",
                group.status().map(|s| s.as_str()).unwrap_or_default(),
                group
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

fn scaling_config(scaling: &Scaling) -> NodegroupScalingConfig {
    NodegroupScalingConfig::builder()
        .min_size(scaling.min_size)
        .max_size(scaling.max_size)
        .desired_size(scaling.desired_size)
        .build()
}

fn taint(t: &NodeTaint) -> Taint {
    Taint::builder()
        .key(&t.key)
        .set_value(t.value.clone())
        .effect(TaintEffect::from(t.effect.as_str()))
        .build()
}

fn update_config(policy: &UpdatePolicy) -> NodegroupUpdateConfig {
    NodegroupUpdateConfig::builder()
        .set_max_unavailable(policy.max_unavailable)
        .set_max_unavailable_percentage(policy.max_unavailable_percentage)
        .build()
}

#[async_trait]
impl TypedResource<AwsClients> for NodegroupResource {
    type Inputs = NodegroupInputs;
    type Outputs = NodegroupOutputs;

    fn check(&self, name: &str, inputs: &girder_core::Value) -> girder_core::Diagnostics {
        crate::checks::nodegroup(name, inputs)
    }

    fn schema(&self) -> ResourceSchema {
        ResourceSchema::new(NODEGROUP)
            .replace_on([
                "cluster_name",
                "nodegroup_name",
                "nodegroup_name_prefix",
                "node_role_arn",
                "subnet_ids",
                "instance_types",
                "capacity_type",
                "ami_type",
                "disk_size",
            ])
            .timeouts(DefaultTimeouts {
                create: Duration::from_secs(60 * 60),
                update: Duration::from_secs(60 * 60),
                delete: Duration::from_secs(60 * 60),
                read: Duration::from_secs(60),
            })
            // Estimates for the scheduler, not limits: nodegroups take 2–4 minutes to create;
            // updates roll nodes and deletes drain them, so an apply starts them (and what waits on
            // them) before quick calls.
            .expected_durations(ExpectedDurations {
                create: Some(Duration::from_secs(3 * 60)),
                update: Some(Duration::from_secs(5 * 60)),
                delete: Some(Duration::from_secs(5 * 60)),
                read: None,
            })
    }

    async fn create(
        &self,
        clients: &AwsClients,
        req: TypedCreateRequest<NodegroupInputs>,
        ctx: &CallContext,
    ) -> Result<TypedCreateResponse<NodegroupOutputs>, ProviderError> {
        let TypedCreateRequest {
            identity, inputs, ..
        } = req;
        let eks = clients.eks().await?;
        // One token per create, the same for its retries: EKS answers a retry after a lost
        // response with the nodegroup the first request made. A generated name ends in the
        // token's last characters, so the retry names the same nodegroup too.
        let attempt = clients.attempts().begin(&identity, &inputs);
        let token = attempt.token();
        let suffix = &token[token.len().saturating_sub(8)..];
        let name = match (&inputs.nodegroup_name, &inputs.nodegroup_name_prefix) {
            (Some(name), _) => name.clone(),
            (None, Some(prefix)) => format!("{prefix}{suffix}"),
            (None, None) => format!("{}-{suffix}", identity.name),
        };
        let cluster = inputs.cluster_name.clone();
        let created = eks
            .create_nodegroup()
            .client_request_token(attempt.token())
            .cluster_name(&cluster)
            .nodegroup_name(&name)
            .node_role(&inputs.node_role_arn)
            .set_subnets(Some(inputs.subnet_ids.clone()))
            .set_instance_types(Some(inputs.instance_types.clone()))
            .capacity_type(CapacityTypes::from(inputs.capacity_type.as_str()))
            .set_ami_type(inputs.ami_type.as_deref().map(AmiTypes::from))
            .set_disk_size(inputs.disk_size)
            .scaling_config(scaling_config(&inputs.scaling))
            .set_labels(
                (!inputs.labels.is_empty()).then(|| inputs.labels.clone().into_iter().collect()),
            )
            .set_taints(
                (!inputs.taints.is_empty()).then(|| inputs.taints.iter().map(taint).collect()),
            )
            .set_update_config(inputs.update_config.as_ref().map(update_config))
            .set_version(inputs.version.clone())
            .set_tags(Some(eks_tags(&identity, &inputs.tags)))
            .send()
            .await
            .aws(&Call::new("CreateNodegroup", &identity))
            .map_err(iam_propagation);
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
                    Some(existing) if tagged_as(existing.tags(), &identity) => {
                        tracing::info!(%identity, "adopting the existing nodegroup");
                    }
                    _ => {
                        return Err(ProviderError {
                            kind: ErrorKind::Conflict,
                            message: format!(
                                "{identity}: cluster `{cluster}` already has a nodegroup named `{name}` that does not belong to this resource; use a name prefix or another name"
                            ),
                            ..e
                        });
                    }
                }
            }
            Err(e) => return Err(e),
        }
        let id = format!("{cluster}:{name}");
        let ready = wait_active(eks, ctx, &cluster, &name)
            .await
            .map_err(|e| after_create(e, &id, girder_core::object! { "name" => name.as_str() }))?;
        Ok(TypedCreateResponse::new(
            id,
            observe(&ready, Some(&inputs)).outputs,
        ))
    }

    /// A create that stopped waiting resumes by waiting for ACTIVE again (nodes join for
    /// minutes after the nodegroup can be read).
    async fn resume_create(
        &self,
        clients: &AwsClients,
        req: TypedResumeRequest<NodegroupInputs>,
        ctx: &CallContext,
    ) -> Result<Option<TypedCreateResponse<NodegroupOutputs>>, ProviderError> {
        let eks = clients.eks().await?;
        let Some((cluster, name)) = req.id.split_once(':') else {
            return Err(ProviderError::permanent(format!(
                "{}: the recorded id `{}` is not `cluster:nodegroup`",
                req.identity, req.id
            )));
        };
        let ready = wait_active(eks, ctx, cluster, name).await?;
        Ok(Some(TypedCreateResponse::new(
            req.id.clone(),
            observe(&ready, Some(&req.inputs)).outputs,
        )))
    }

    async fn read(
        &self,
        clients: &AwsClients,
        req: TypedReadRequest<NodegroupInputs>,
        _ctx: &CallContext,
    ) -> Result<TypedReadResponse<NodegroupInputs, NodegroupOutputs>, ProviderError> {
        let items = req.items;
        let eks = clients.eks().await?;
        let mut results = Vec::with_capacity(items.len());
        for item in &items {
            let (cluster, name) = split_id(&item.id)?;
            let group = describe(eks, cluster, name).await?;
            results.push(
                group
                    .filter(|g| !matches!(g.status(), Some(NodegroupStatus::Deleting)))
                    .map(|g| observe(&g, item.inputs.as_ref())),
            );
        }
        Ok(TypedReadResponse::new(results))
    }

    async fn update(
        &self,
        clients: &AwsClients,
        req: TypedUpdateRequest<NodegroupInputs, NodegroupOutputs>,
        ctx: &CallContext,
    ) -> Result<TypedUpdateResponse<NodegroupOutputs>, ProviderError> {
        let TypedUpdateRequest { old, inputs, .. } = req;
        let eks = clients.eks().await?;
        let (cluster, name) = split_id(&old.id)?;
        let settle = |id: Option<String>| async move {
            crate::eks::settle(
                eks,
                ctx,
                (cluster, Some(name), None),
                id.as_deref(),
                || async { wait_active(eks, ctx, cluster, name).await.map(|_| ()) },
            )
            .await
        };
        let config_changed = old.inputs.scaling != inputs.scaling
            || old.inputs.labels != inputs.labels
            || old.inputs.taints != inputs.taints
            || (old.inputs.update_config != inputs.update_config && inputs.update_config.is_some());
        if config_changed {
            let mut request = eks
                .update_nodegroup_config()
                .cluster_name(cluster)
                .nodegroup_name(name);
            if old.inputs.scaling != inputs.scaling {
                // The desired size is often left to the cluster autoscaler (ignored changes):
                // keep it inside new bounds, which EKS insists on.
                let mut scaling = inputs.scaling;
                scaling.desired_size = scaling
                    .desired_size
                    .clamp(scaling.min_size, scaling.max_size.max(scaling.min_size));
                request = request.scaling_config(scaling_config(&scaling));
            }
            if old.inputs.labels != inputs.labels {
                let removed = crate::tags::removed_keys(&old.inputs.labels, &inputs.labels);
                let changed: std::collections::HashMap<String, String> = inputs
                    .labels
                    .iter()
                    .filter(|(k, v)| old.inputs.labels.get(*k) != Some(v))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                request = request.labels(
                    UpdateLabelsPayload::builder()
                        .set_add_or_update_labels((!changed.is_empty()).then_some(changed))
                        .set_remove_labels((!removed.is_empty()).then_some(removed))
                        .build(),
                );
            }
            if old.inputs.taints != inputs.taints {
                let removed: Vec<Taint> = old
                    .inputs
                    .taints
                    .iter()
                    .filter(|t| !inputs.taints.contains(t))
                    .map(taint)
                    .collect();
                let added: Vec<Taint> = inputs
                    .taints
                    .iter()
                    .filter(|t| !old.inputs.taints.contains(t))
                    .map(taint)
                    .collect();
                request = request.taints(
                    UpdateTaintsPayload::builder()
                        .set_add_or_update_taints((!added.is_empty()).then_some(added))
                        .set_remove_taints((!removed.is_empty()).then_some(removed))
                        .build(),
                );
            }
            if old.inputs.update_config != inputs.update_config
                && let Some(policy) = &inputs.update_config
            {
                request = request.update_config(update_config(policy));
            }
            let out = request
                .send()
                .await
                .aws(&Call::new("UpdateNodegroupConfig", &old.identity))?;
            settle(out.update().and_then(|u| u.id()).map(str::to_owned)).await?;
        }
        if old.inputs.version != inputs.version
            && let Some(version) = &inputs.version
        {
            let out = eks
                .update_nodegroup_version()
                .cluster_name(cluster)
                .nodegroup_name(name)
                .version(version)
                .send()
                .await
                .aws(&Call::new("UpdateNodegroupVersion", &old.identity))?;
            settle(out.update().and_then(|u| u.id()).map(str::to_owned)).await?;
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
        req: TypedDeleteRequest<NodegroupInputs, NodegroupOutputs>,
        ctx: &CallContext,
    ) -> Result<(), ProviderError> {
        let old = req.old;
        let eks = clients.eks().await?;
        let (cluster, name) = split_id(&old.id)?;
        match eks
            .delete_nodegroup()
            .cluster_name(cluster)
            .nodegroup_name(name)
            .send()
            .await
            .aws(&Call::deleting("DeleteNodegroup", &old.identity))
        {
            Err(e) if is_not_found(&e) => return Ok(()),
            // A nodegroup that is still updating cannot be deleted yet.
            Err(e) if has_code(&e, "ResourceInUseException") => {
                return Err(ProviderError {
                    kind: ErrorKind::Retryable,
                    ..e
                });
            }
            Err(e) => return Err(e),
            Ok(_) => {}
        }
        wait_until(ctx, &format!("nodegroup {name} of {cluster} to be deleted"), SLOW.0, Duration::from_secs(30), || async {
            Ok(match describe(eks, cluster, name).await? {
                None => Poll::Ready(()),
                Some(g) if matches!(g.status(), Some(NodegroupStatus::DeleteFailed)) => {
                    return Err(ProviderError::permanent(format!(
                        "nodegroup {name} of {cluster} failed to delete; see its health issues in the EKS console"
                    )));
                }
                Some(g) => Poll::Pending(g.status().map(|s| s.as_str().to_owned()).unwrap_or_default()),
            })
        })
        .await
    }

    async fn find(
        &self,
        clients: &AwsClients,
        req: TypedFindRequest,
        _ctx: &CallContext,
    ) -> Result<TypedFindResponse<NodegroupInputs, NodegroupOutputs>, ProviderError> {
        let identity = req.identity;
        // What a create still open in this process made is that create's to adopt (by
        // name): it waits until ACTIVE, which an adoption here would skip.
        if clients.attempts().open_token(&identity).is_some() {
            return Ok(TypedFindResponse::none());
        }
        let eks = clients.eks().await?;
        let clusters: Vec<String> = eks
            .list_clusters()
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .aws(&Call::new("ListClusters", "EKS clusters"))?;
        let mut found = Vec::new();
        for cluster in clusters {
            let groups: Vec<String> = eks
                .list_nodegroups()
                .cluster_name(&cluster)
                .into_paginator()
                .items()
                .send()
                .try_collect()
                .await
                .aws(&Call::new("ListNodegroups", &cluster))?;
            for name in groups {
                if let Some(group) = describe(eks, &cluster, &name).await?
                    && tagged_as(group.tags(), &identity)
                {
                    found.push(TypedFound::new(
                        format!("{cluster}:{name}"),
                        observe(&group, None),
                    ));
                }
            }
        }
        Ok(TypedFindResponse::new(found))
    }
}
