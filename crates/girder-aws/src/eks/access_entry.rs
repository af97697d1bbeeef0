//! `aws:eks/accessEntry`: an EKS access entry — an IAM principal allowed into a cluster —
//! with its associated access policies (cluster-wide or per namespace).
//!
//! Create makes the entry and associates its policies; an update changes groups and user
//! name in place and associates or disassociates policies; the cluster, principal and type
//! cannot change and force a replacement. Access entries take effect at once (no waiting).

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_eks::types::{AccessEntry, AccessScope, AccessScopeType, AssociatedAccessPolicy};
use girder_engine::provider::DefaultTimeouts;
use girder_engine::typed::{
    TypedCreateRequest, TypedCreateResponse, TypedDeleteRequest, TypedFindRequest,
    TypedFindResponse, TypedObserved, TypedReadRequest, TypedReadResponse, TypedResource,
    TypedUpdateRequest, TypedUpdateResponse,
};
use girder_engine::{CallContext, ErrorKind, ProviderError, ResourceSchema};
use serde::{Deserialize, Serialize};

use crate::clients::AwsClients;
use crate::eks::{eks_tags, iam_propagation, tagged_as};
use crate::error::{AwsResultExt, Call, after_create, has_code, is_not_found};

/// The type token.
pub const ACCESS_ENTRY: &str = "aws:eks/accessEntry";

/// The ARN prefix of EKS's access policies.
pub const ACCESS_POLICY_ARN_PREFIX: &str = "arn:aws:eks::aws:cluster-access-policy/";

fn standard() -> String {
    "STANDARD".to_owned()
}

fn is_standard(kind: &str) -> bool {
    kind == "STANDARD"
}

/// One access policy associated with the entry.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct AccessPolicyInput {
    /// `arn:aws:eks::aws:cluster-access-policy/NAME`.
    pub policy_arn: String,
    /// The namespaces it applies in; empty: the whole cluster.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub namespaces: Vec<String>,
}

/// Inputs of `aws:eks/accessEntry`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AccessEntryInputs {
    /// The cluster.
    pub cluster_name: String,
    /// The IAM role or user ARN.
    pub principal_arn: String,
    /// `STANDARD` (default, and then left out), `EC2_LINUX`, `EC2_WINDOWS`, `FARGATE_LINUX`, …
    #[serde(
        default = "standard",
        rename = "type",
        skip_serializing_if = "is_standard"
    )]
    pub kind: String,
    /// Kubernetes groups (for RBAC bindings).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kubernetes_groups: Vec<String>,
    /// The Kubernetes user name (absent: EKS's default for the principal).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Associated access policies.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub policies: Vec<AccessPolicyInput>,
}

/// Outputs of `aws:eks/accessEntry` (the id is `cluster:principalArn`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AccessEntryOutputs {
    /// The entry's ARN.
    pub access_entry_arn: String,
    /// The Kubernetes user name the principal authenticates as.
    pub username: String,
}

/// The `aws:eks/accessEntry` resource type.
#[derive(Clone, Copy, Debug, Default)]
pub struct AccessEntryResource;

fn split_id(id: &str) -> Result<(&str, &str), ProviderError> {
    id.split_once(':').ok_or_else(|| {
        ProviderError::invalid_input(format!(
            "`{id}` is not an access entry id (`cluster:principalArn`)"
        ))
    })
}

fn scope_of(policy: &AccessPolicyInput) -> AccessScope {
    if policy.namespaces.is_empty() {
        AccessScope::builder()
            .r#type(AccessScopeType::Cluster)
            .build()
    } else {
        AccessScope::builder()
            .r#type(AccessScopeType::Namespace)
            .set_namespaces(Some(policy.namespaces.clone()))
            .build()
    }
}

fn policy_of(associated: &AssociatedAccessPolicy) -> AccessPolicyInput {
    let scope = associated.access_scope();
    AccessPolicyInput {
        policy_arn: associated.policy_arn().unwrap_or_default().to_owned(),
        namespaces: match scope.and_then(|s| s.r#type()) {
            Some(AccessScopeType::Namespace) => {
                let mut namespaces = scope.map(|s| s.namespaces().to_vec()).unwrap_or_default();
                namespaces.sort();
                namespaces
            }
            _ => Vec::new(),
        },
    }
}

fn observe(
    entry: &AccessEntry,
    policies: Vec<AccessPolicyInput>,
    recorded: Option<&AccessEntryInputs>,
) -> TypedObserved<AccessEntryInputs, AccessEntryOutputs> {
    let username = entry.username().unwrap_or_default().to_owned();
    // Policies in the program's order where the program lists them.
    let mut policies = policies;
    if let Some(recorded) = recorded {
        let position = |p: &AccessPolicyInput| {
            recorded
                .policies
                .iter()
                .position(|r| r.policy_arn == p.policy_arn)
                .unwrap_or(usize::MAX)
        };
        policies.sort_by_key(|p| (position(p), p.policy_arn.clone()));
        for policy in &mut policies {
            if let Some(wanted) = recorded
                .policies
                .iter()
                .find(|r| r.policy_arn == policy.policy_arn)
            {
                let mut sorted = wanted.namespaces.clone();
                sorted.sort();
                if sorted == policy.namespaces {
                    policy.namespaces = wanted.namespaces.clone();
                }
            }
        }
    }
    let mut groups = entry.kubernetes_groups().to_vec();
    if let Some(recorded) = recorded {
        let mut sorted = recorded.kubernetes_groups.clone();
        sorted.sort();
        let mut reported = groups.clone();
        reported.sort();
        if sorted == reported {
            groups = recorded.kubernetes_groups.clone();
        }
    }
    TypedObserved::new(
        AccessEntryInputs {
            cluster_name: entry.cluster_name().unwrap_or_default().to_owned(),
            principal_arn: entry.principal_arn().unwrap_or_default().to_owned(),
            kind: entry.r#type().unwrap_or("STANDARD").to_owned(),
            kubernetes_groups: groups,
            // EKS fills in a default user name: keep "absent" when the program gave none.
            username: match recorded {
                Some(r) if r.username.is_none() => None,
                _ => Some(username.clone()),
            },
            policies,
        },
        AccessEntryOutputs {
            access_entry_arn: entry.access_entry_arn().unwrap_or_default().to_owned(),
            username,
        },
    )
}

async fn describe(
    eks: &aws_sdk_eks::Client,
    cluster: &str,
    principal: &str,
) -> Result<Option<(AccessEntry, Vec<AccessPolicyInput>)>, ProviderError> {
    let target = format!("{cluster}:{principal}");
    let entry = match eks
        .describe_access_entry()
        .cluster_name(cluster)
        .principal_arn(principal)
        .send()
        .await
        .aws(&Call::new("DescribeAccessEntry", &target))
    {
        Ok(out) => match out.access_entry() {
            Some(entry) => entry.clone(),
            None => return Ok(None),
        },
        Err(e) if is_not_found(&e) => return Ok(None),
        Err(e) => return Err(e),
    };
    let policies = eks
        .list_associated_access_policies()
        .cluster_name(cluster)
        .principal_arn(principal)
        .send()
        .await
        .aws(&Call::new("ListAssociatedAccessPolicies", &target))?
        .associated_access_policies()
        .iter()
        .map(policy_of)
        .collect();
    Ok(Some((entry, policies)))
}

/// Associates `wanted` policies that are new or changed and disassociates the others.
async fn sync_policies(
    eks: &aws_sdk_eks::Client,
    cluster: &str,
    principal: &str,
    current: &[AccessPolicyInput],
    wanted: &[AccessPolicyInput],
    target: &str,
) -> Result<(), ProviderError> {
    let normal = |policies: &[AccessPolicyInput]| -> BTreeMap<String, Vec<String>> {
        policies
            .iter()
            .map(|p| {
                let mut namespaces = p.namespaces.clone();
                namespaces.sort();
                (p.policy_arn.clone(), namespaces)
            })
            .collect()
    };
    let (now, want) = (normal(current), normal(wanted));
    for policy in wanted {
        let mut namespaces = policy.namespaces.clone();
        namespaces.sort();
        if now.get(&policy.policy_arn) == Some(&namespaces) {
            continue;
        }
        eks.associate_access_policy()
            .cluster_name(cluster)
            .principal_arn(principal)
            .policy_arn(&policy.policy_arn)
            .access_scope(scope_of(policy))
            .send()
            .await
            .aws(&Call::new("AssociateAccessPolicy", target))?;
    }
    for arn in now.keys().filter(|arn| !want.contains_key(*arn)) {
        match eks
            .disassociate_access_policy()
            .cluster_name(cluster)
            .principal_arn(principal)
            .policy_arn(arn)
            .send()
            .await
            .aws(&Call::deleting("DisassociateAccessPolicy", target))
        {
            Err(e) if is_not_found(&e) => {}
            other => {
                other?;
            }
        }
    }
    Ok(())
}

#[async_trait]
impl TypedResource<AwsClients> for AccessEntryResource {
    type Inputs = AccessEntryInputs;
    type Outputs = AccessEntryOutputs;

    fn schema(&self) -> ResourceSchema {
        ResourceSchema::new(ACCESS_ENTRY)
            .replace_on(["cluster_name", "principal_arn", "type"])
            .delete_before_replace()
            .timeouts(DefaultTimeouts {
                create: Duration::from_secs(5 * 60),
                update: Duration::from_secs(5 * 60),
                delete: Duration::from_secs(5 * 60),
                read: Duration::from_secs(60),
            })
    }

    async fn create(
        &self,
        clients: &AwsClients,
        req: TypedCreateRequest<AccessEntryInputs>,
        _ctx: &CallContext,
    ) -> Result<TypedCreateResponse<AccessEntryOutputs>, ProviderError> {
        let TypedCreateRequest {
            identity, inputs, ..
        } = req;
        let eks = clients.eks().await?;
        let (cluster, principal) = (inputs.cluster_name.clone(), inputs.principal_arn.clone());
        let created = eks
            .create_access_entry()
            .cluster_name(&cluster)
            .principal_arn(&principal)
            .r#type(&inputs.kind)
            .set_kubernetes_groups(
                (!inputs.kubernetes_groups.is_empty()).then(|| inputs.kubernetes_groups.clone()),
            )
            .set_username(inputs.username.clone())
            .set_tags(Some(eks_tags(&identity, &Default::default())))
            .send()
            .await
            .aws(&Call::new("CreateAccessEntry", &identity))
            .map_err(iam_propagation);
        match created {
            Ok(_) => {}
            Err(e) if has_code(&e, "ResourceInUseException") => {
                match describe(eks, &cluster, &principal).await? {
                    Some((existing, _)) if tagged_as(existing.tags(), &identity) => {}
                    _ => {
                        return Err(ProviderError {
                            kind: ErrorKind::Conflict,
                            message: format!(
                                "{identity}: cluster `{cluster}` already has an access entry for `{principal}`, not made by this resource; import it with `.import(\"{cluster}:{principal}\")`"
                            ),
                            ..e
                        });
                    }
                }
            }
            Err(e) => return Err(e),
        }
        let id = format!("{cluster}:{principal}");
        let target = identity.to_string();
        let partial = |e| after_create(e, &id, girder_core::Value::object());
        let current = describe(eks, &cluster, &principal)
            .await
            .map_err(partial)?
            .map(|(_, policies)| policies)
            .unwrap_or_default();
        sync_policies(
            eks,
            &cluster,
            &principal,
            &current,
            &inputs.policies,
            &target,
        )
        .await
        .map_err(partial)?;
        let (entry, policies) = describe(eks, &cluster, &principal)
            .await
            .map_err(partial)?
            .ok_or_else(|| {
                partial(ProviderError::not_found(format!(
                    "{identity}: the access entry disappeared after it was created"
                )))
            })?;
        Ok(TypedCreateResponse::new(
            id,
            observe(&entry, policies, Some(&inputs)).outputs,
        ))
    }

    async fn read(
        &self,
        clients: &AwsClients,
        req: TypedReadRequest<AccessEntryInputs>,
        _ctx: &CallContext,
    ) -> Result<TypedReadResponse<AccessEntryInputs, AccessEntryOutputs>, ProviderError> {
        let items = req.items;
        let eks = clients.eks().await?;
        let mut results = Vec::with_capacity(items.len());
        for item in &items {
            let (cluster, principal) = split_id(&item.id)?;
            let found = match describe(eks, cluster, principal).await {
                // A cluster that is gone has no entries.
                Err(e) if has_code(&e, "ResourceNotFoundException") => None,
                other => other?,
            };
            results.push(
                found.map(|(entry, policies)| observe(&entry, policies, item.inputs.as_ref())),
            );
        }
        Ok(TypedReadResponse::new(results))
    }

    async fn update(
        &self,
        clients: &AwsClients,
        req: TypedUpdateRequest<AccessEntryInputs, AccessEntryOutputs>,
        _ctx: &CallContext,
    ) -> Result<TypedUpdateResponse<AccessEntryOutputs>, ProviderError> {
        let TypedUpdateRequest { old, inputs, .. } = req;
        let eks = clients.eks().await?;
        let (cluster, principal) = split_id(&old.id)?;
        let target = old.identity.to_string();
        if old.inputs.kubernetes_groups != inputs.kubernetes_groups
            || old.inputs.username != inputs.username
        {
            eks.update_access_entry()
                .cluster_name(cluster)
                .principal_arn(principal)
                .set_kubernetes_groups(Some(inputs.kubernetes_groups.clone()))
                .set_username(inputs.username.clone())
                .send()
                .await
                .aws(&Call::new("UpdateAccessEntry", &target))?;
        }
        sync_policies(
            eks,
            cluster,
            principal,
            &old.inputs.policies,
            &inputs.policies,
            &target,
        )
        .await?;
        let (entry, policies) = describe(eks, cluster, principal).await?.ok_or_else(|| {
            ProviderError::not_found(format!("{} disappeared during its update", old.identity))
        })?;
        Ok(TypedUpdateResponse::new(
            observe(&entry, policies, Some(&inputs)).outputs,
        ))
    }

    async fn delete(
        &self,
        clients: &AwsClients,
        req: TypedDeleteRequest<AccessEntryInputs, AccessEntryOutputs>,
        _ctx: &CallContext,
    ) -> Result<(), ProviderError> {
        let old = req.old;
        let eks = clients.eks().await?;
        let (cluster, principal) = split_id(&old.id)?;
        match eks
            .delete_access_entry()
            .cluster_name(cluster)
            .principal_arn(principal)
            .send()
            .await
            .aws(&Call::deleting("DeleteAccessEntry", &old.identity))
        {
            Err(e) if is_not_found(&e) => Ok(()),
            Err(e) => Err(e),
            Ok(_) => Ok(()),
        }
    }

    async fn find(
        &self,
        _clients: &AwsClients,
        _req: TypedFindRequest,
        _ctx: &CallContext,
    ) -> Result<TypedFindResponse<AccessEntryInputs, AccessEntryOutputs>, ProviderError> {
        // An entry is unique per cluster and principal: a repeated create adopts a tagged one.
        Ok(TypedFindResponse::none())
    }
}
