//! Policies: `aws:iam/policy` (customer managed), `aws:iam/rolePolicy` (inline) and
//! `aws:iam/rolePolicyAttachment` (a managed policy attached to a role).
//!
//! Inline policies and attachments cannot be tagged; both are keyed by what they connect
//! (`role:policy`, `role/arn`) and creating them again is harmless, which keeps recovery safe.

use std::collections::{BTreeSet, HashMap};

use async_trait::async_trait;
use aws_sdk_iam::types::Policy;
use girder_engine::typed::{
    TypedCreateRequest, TypedCreateResponse, TypedDeleteRequest, TypedFindRequest,
    TypedFindResponse, TypedFound, TypedObserved, TypedReadRequest, TypedReadResponse,
    TypedResource, TypedUpdateRequest, TypedUpdateResponse,
};
use girder_engine::{CallContext, ProviderError, ResourceIdentity, ResourceSchema};
use serde::{Deserialize, Serialize};

use crate::clients::AwsClients;
use crate::error::{AwsResultExt, Call, is_not_found};
use crate::iam::{
    decode_policy, generated_name, iam_pairs, iam_tags, name_inputs, observed_policy,
};
use crate::tags::{self, Tags};

/// The type token of managed policies.
pub const POLICY: &str = "aws:iam/policy";
/// The type token of inline role policies.
pub const ROLE_POLICY: &str = "aws:iam/rolePolicy";
/// The type token of policy attachments.
pub const ROLE_POLICY_ATTACHMENT: &str = "aws:iam/rolePolicyAttachment";

fn default_path() -> String {
    "/".to_owned()
}

/// Inputs of `aws:iam/policy`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PolicyInputs {
    /// The exact name (else generated from `name_prefix`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The start of a generated name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_prefix: Option<String>,
    /// The path.
    #[serde(default = "default_path")]
    pub path: String,
    /// What it is for (cannot change: a change replaces the policy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The permissions.
    pub policy: serde_json::Value,
    /// User tags.
    #[serde(default, skip_serializing_if = "Tags::is_empty")]
    pub tags: Tags,
}

/// Outputs of `aws:iam/policy` (its id is the ARN).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PolicyOutputs {
    /// The ARN.
    pub arn: String,
    /// The name.
    pub name: String,
    /// The default version (`v3`).
    pub default_version_id: String,
}

/// The `aws:iam/policy` resource type.
#[derive(Clone, Copy, Debug, Default)]
pub struct PolicyResource;

async fn get_policy(
    iam: &aws_sdk_iam::Client,
    arn: &str,
) -> Result<Option<(Policy, serde_json::Value)>, ProviderError> {
    let policy = match iam
        .get_policy()
        .policy_arn(arn)
        .send()
        .await
        .aws(&Call::new("GetPolicy", arn))
    {
        Ok(out) => out.policy().cloned(),
        Err(e) if is_not_found(&e) => return Ok(None),
        Err(e) => return Err(e),
    };
    let Some(policy) = policy else {
        return Ok(None);
    };
    let version = iam
        .get_policy_version()
        .policy_arn(arn)
        .version_id(policy.default_version_id().unwrap_or("v1"))
        .send()
        .await
        .aws(&Call::new("GetPolicyVersion", arn))?;
    let document = version
        .policy_version()
        .and_then(|v| v.document())
        .map(decode_policy)
        .unwrap_or(serde_json::Value::Null);
    Ok(Some((policy, document)))
}

fn observe_policy(
    policy: &Policy,
    document: serde_json::Value,
    recorded: Option<&PolicyInputs>,
) -> TypedObserved<PolicyInputs, PolicyOutputs> {
    let name = policy.policy_name().unwrap_or_default();
    let (exact, prefix) = name_inputs(
        name,
        recorded.and_then(|r| r.name.as_deref()),
        recorded.and_then(|r| r.name_prefix.as_deref()),
    );
    TypedObserved::new(
        PolicyInputs {
            name: exact,
            name_prefix: prefix,
            path: policy.path().unwrap_or("/").to_owned(),
            description: policy
                .description()
                .filter(|d| !d.is_empty())
                .map(str::to_owned),
            policy: observed_policy(recorded.map(|r| &r.policy), document),
            tags: tags::user_tags(iam_pairs(policy.tags())),
        },
        PolicyOutputs {
            arn: policy.arn().unwrap_or_default().to_owned(),
            name: name.to_owned(),
            default_version_id: policy.default_version_id().unwrap_or_default().to_owned(),
        },
    )
}

#[async_trait]
impl TypedResource<AwsClients> for PolicyResource {
    type Inputs = PolicyInputs;
    type Outputs = PolicyOutputs;

    fn schema(&self) -> ResourceSchema {
        ResourceSchema::new(POLICY)
            .replace_on(["name", "name_prefix", "path", "description"])
            .computed_on_update(["default_version_id"])
    }

    async fn create(
        &self,
        clients: &AwsClients,
        req: TypedCreateRequest<PolicyInputs>,
        _ctx: &CallContext,
    ) -> Result<TypedCreateResponse<PolicyOutputs>, ProviderError> {
        let TypedCreateRequest {
            identity, inputs, ..
        } = req;
        let iam = clients.iam().await?;
        let attempt = clients.attempts().begin(&identity, &inputs);
        let name = generated_name(
            inputs.name.as_deref(),
            inputs.name_prefix.as_deref(),
            &identity,
            attempt.suffix(),
        );
        let created = iam
            .create_policy()
            .policy_name(&name)
            .path(&inputs.path)
            .set_description(inputs.description.clone())
            .policy_document(inputs.policy.to_string())
            .set_tags(Some(iam_tags(&identity, &inputs.tags)?))
            .send()
            .await
            .aws(&Call::new("CreatePolicy", &identity));
        let created = clients.attempts().sent(&attempt, created)?;
        let policy = created.policy().ok_or_else(|| {
            ProviderError::permanent(format!("CreatePolicy of {identity} returned no policy"))
        })?;
        let outputs = observe_policy(policy, inputs.policy.clone(), Some(&inputs)).outputs;
        Ok(TypedCreateResponse::new(outputs.arn.clone(), outputs))
    }

    async fn read(
        &self,
        clients: &AwsClients,
        req: TypedReadRequest<PolicyInputs>,
        _ctx: &CallContext,
    ) -> Result<TypedReadResponse<PolicyInputs, PolicyOutputs>, ProviderError> {
        let items = req.items;
        let iam = clients.iam().await?;
        let mut results = Vec::with_capacity(items.len());
        for item in &items {
            results.push(
                get_policy(iam, &item.id)
                    .await?
                    .map(|(p, d)| observe_policy(&p, d, item.inputs.as_ref())),
            );
        }
        Ok(TypedReadResponse::new(results))
    }

    async fn update(
        &self,
        clients: &AwsClients,
        req: TypedUpdateRequest<PolicyInputs, PolicyOutputs>,
        _ctx: &CallContext,
    ) -> Result<TypedUpdateResponse<PolicyOutputs>, ProviderError> {
        let TypedUpdateRequest { old, inputs, .. } = req;
        let iam = clients.iam().await?;
        let mut outputs = old.outputs.clone();
        if old.inputs.policy != inputs.policy {
            // A policy keeps at most five versions: drop the oldest non-default one first.
            let versions = iam
                .list_policy_versions()
                .policy_arn(&old.id)
                .send()
                .await
                .aws(&Call::new("ListPolicyVersions", &old.identity))?;
            let mut old_versions: Vec<_> = versions
                .versions()
                .iter()
                .filter(|v| !v.is_default_version())
                .collect();
            if versions.versions().len() >= 5 {
                old_versions.sort_by_key(|v| v.create_date().map(|d| d.secs()));
                if let Some(oldest) = old_versions.first().and_then(|v| v.version_id()) {
                    iam.delete_policy_version()
                        .policy_arn(&old.id)
                        .version_id(oldest)
                        .send()
                        .await
                        .aws(&Call::new("DeletePolicyVersion", &old.identity))?;
                }
            }
            let created = iam
                .create_policy_version()
                .policy_arn(&old.id)
                .policy_document(inputs.policy.to_string())
                .set_as_default(true)
                .send()
                .await
                .aws(&Call::new("CreatePolicyVersion", &old.identity))?;
            if let Some(version) = created.policy_version().and_then(|v| v.version_id()) {
                outputs.default_version_id = version.to_owned();
            }
        }
        if old.inputs.tags != inputs.tags {
            let removed = crate::tags::removed_keys(&old.inputs.tags, &inputs.tags);
            if !removed.is_empty() {
                iam.untag_policy()
                    .policy_arn(&old.id)
                    .set_tag_keys(Some(removed))
                    .send()
                    .await
                    .aws(&Call::new("UntagPolicy", &old.identity))?;
            }
            iam.tag_policy()
                .policy_arn(&old.id)
                .set_tags(Some(iam_tags(&old.identity, &inputs.tags)?))
                .send()
                .await
                .aws(&Call::new("TagPolicy", &old.identity))?;
        }
        Ok(TypedUpdateResponse::new(outputs))
    }

    async fn delete(
        &self,
        clients: &AwsClients,
        req: TypedDeleteRequest<PolicyInputs, PolicyOutputs>,
        _ctx: &CallContext,
    ) -> Result<(), ProviderError> {
        let old = req.old;
        let iam = clients.iam().await?;
        let versions = match iam
            .list_policy_versions()
            .policy_arn(&old.id)
            .send()
            .await
            .aws(&Call::new("ListPolicyVersions", &old.identity))
        {
            Ok(v) => v,
            Err(e) if is_not_found(&e) => return Ok(()),
            Err(e) => return Err(e),
        };
        for version in versions
            .versions()
            .iter()
            .filter(|v| !v.is_default_version())
        {
            if let Some(id) = version.version_id() {
                iam.delete_policy_version()
                    .policy_arn(&old.id)
                    .version_id(id)
                    .send()
                    .await
                    .aws(&Call::deleting("DeletePolicyVersion", &old.identity))?;
            }
        }
        match iam
            .delete_policy()
            .policy_arn(&old.id)
            .send()
            .await
            .aws(&Call::deleting("DeletePolicy", &old.identity))
        {
            Err(e) if !is_not_found(&e) => Err(e),
            _ => Ok(()),
        }
    }

    async fn find(
        &self,
        clients: &AwsClients,
        req: TypedFindRequest,
        _ctx: &CallContext,
    ) -> Result<TypedFindResponse<PolicyInputs, PolicyOutputs>, ProviderError> {
        let identity = req.identity;
        let iam = clients.iam().await?;
        let policies: Vec<Policy> = iam
            .list_policies()
            .scope(aws_sdk_iam::types::PolicyScopeType::Local)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .aws(&Call::new("ListPolicies", "IAM policies"))?;
        let mut found = Vec::new();
        for candidate in policies.iter().filter(|p| {
            p.policy_name()
                .is_some_and(|n| n.starts_with(identity.name.as_str()))
        }) {
            if let Some((policy, document)) =
                get_policy(iam, candidate.arn().unwrap_or_default()).await?
                && tags::names_identity(iam_pairs(policy.tags()), &identity)
            {
                let observed = observe_policy(&policy, document, None);
                found.push(TypedFound::new(observed.outputs.arn.clone(), observed));
            }
        }
        Ok(TypedFindResponse::new(found))
    }
}

/// Inputs of `aws:iam/rolePolicy`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RolePolicyInputs {
    /// The role.
    pub role_name: String,
    /// The policy's name within the role.
    pub name: String,
    /// The permissions.
    pub policy: serde_json::Value,
}

/// Outputs of `aws:iam/rolePolicy`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RolePolicyOutputs {}

/// The `aws:iam/rolePolicy` resource type.
#[derive(Clone, Copy, Debug, Default)]
pub struct RolePolicyResource;

async fn put_role_policy(
    iam: &aws_sdk_iam::Client,
    inputs: &RolePolicyInputs,
    what: &ResourceIdentity,
) -> Result<(), ProviderError> {
    iam.put_role_policy()
        .role_name(&inputs.role_name)
        .policy_name(&inputs.name)
        .policy_document(inputs.policy.to_string())
        .send()
        .await
        .aws(&Call::new("PutRolePolicy", what))?;
    Ok(())
}

#[async_trait]
impl TypedResource<AwsClients> for RolePolicyResource {
    type Inputs = RolePolicyInputs;
    type Outputs = RolePolicyOutputs;

    fn schema(&self) -> ResourceSchema {
        ResourceSchema::new(ROLE_POLICY).replace_on(["role_name", "name"])
    }

    async fn create(
        &self,
        clients: &AwsClients,
        req: TypedCreateRequest<RolePolicyInputs>,
        _ctx: &CallContext,
    ) -> Result<TypedCreateResponse<RolePolicyOutputs>, ProviderError> {
        let TypedCreateRequest {
            identity, inputs, ..
        } = req;
        put_role_policy(clients.iam().await?, &inputs, &identity).await?;
        Ok(TypedCreateResponse::new(
            format!("{}:{}", inputs.role_name, inputs.name),
            RolePolicyOutputs {},
        ))
    }

    async fn read(
        &self,
        clients: &AwsClients,
        req: TypedReadRequest<RolePolicyInputs>,
        _ctx: &CallContext,
    ) -> Result<TypedReadResponse<RolePolicyInputs, RolePolicyOutputs>, ProviderError> {
        let items = req.items;
        let iam = clients.iam().await?;
        let mut results = Vec::with_capacity(items.len());
        for item in &items {
            let Some((role, name)) = item.id.split_once(':') else {
                results.push(None);
                continue;
            };
            match iam
                .get_role_policy()
                .role_name(role)
                .policy_name(name)
                .send()
                .await
                .aws(&Call::new("GetRolePolicy", &item.id))
            {
                Ok(out) => results.push(Some(TypedObserved::new(
                    RolePolicyInputs {
                        role_name: role.to_owned(),
                        name: name.to_owned(),
                        policy: observed_policy(
                            item.inputs.as_ref().map(|i| &i.policy),
                            decode_policy(out.policy_document()),
                        ),
                    },
                    RolePolicyOutputs {},
                ))),
                Err(e) if is_not_found(&e) => results.push(None),
                Err(e) => return Err(e),
            }
        }
        Ok(TypedReadResponse::new(results))
    }

    async fn update(
        &self,
        clients: &AwsClients,
        req: TypedUpdateRequest<RolePolicyInputs, RolePolicyOutputs>,
        _ctx: &CallContext,
    ) -> Result<TypedUpdateResponse<RolePolicyOutputs>, ProviderError> {
        let TypedUpdateRequest { old, inputs, .. } = req;
        put_role_policy(clients.iam().await?, &inputs, &old.identity).await?;
        Ok(TypedUpdateResponse::new(old.outputs))
    }

    async fn delete(
        &self,
        clients: &AwsClients,
        req: TypedDeleteRequest<RolePolicyInputs, RolePolicyOutputs>,
        _ctx: &CallContext,
    ) -> Result<(), ProviderError> {
        let old = req.old;
        match clients
            .iam()
            .await?
            .delete_role_policy()
            .role_name(&old.inputs.role_name)
            .policy_name(&old.inputs.name)
            .send()
            .await
            .aws(&Call::deleting("DeleteRolePolicy", &old.id))
        {
            Err(e) if !is_not_found(&e) => Err(e),
            _ => Ok(()),
        }
    }

    async fn find(
        &self,
        _clients: &AwsClients,
        _req: TypedFindRequest,
        _ctx: &CallContext,
    ) -> Result<TypedFindResponse<RolePolicyInputs, RolePolicyOutputs>, ProviderError> {
        // Inline policies cannot be tagged; putting one again is harmless.
        Ok(TypedFindResponse::none())
    }
}

/// Inputs of `aws:iam/rolePolicyAttachment`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RolePolicyAttachmentInputs {
    /// The role.
    pub role_name: String,
    /// The managed policy.
    pub policy_arn: String,
}

/// Outputs of `aws:iam/rolePolicyAttachment`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RolePolicyAttachmentOutputs {}

/// The `aws:iam/rolePolicyAttachment` resource type.
#[derive(Clone, Copy, Debug, Default)]
pub struct RolePolicyAttachmentResource;

#[async_trait]
impl TypedResource<AwsClients> for RolePolicyAttachmentResource {
    type Inputs = RolePolicyAttachmentInputs;
    type Outputs = RolePolicyAttachmentOutputs;

    fn schema(&self) -> ResourceSchema {
        ResourceSchema::new(ROLE_POLICY_ATTACHMENT).replace_on(["role_name", "policy_arn"])
    }

    async fn create(
        &self,
        clients: &AwsClients,
        req: TypedCreateRequest<RolePolicyAttachmentInputs>,
        _ctx: &CallContext,
    ) -> Result<TypedCreateResponse<RolePolicyAttachmentOutputs>, ProviderError> {
        let TypedCreateRequest {
            identity, inputs, ..
        } = req;
        clients
            .iam()
            .await?
            .attach_role_policy()
            .role_name(&inputs.role_name)
            .policy_arn(&inputs.policy_arn)
            .send()
            .await
            .aws(&Call::new("AttachRolePolicy", &identity))?;
        Ok(TypedCreateResponse::new(
            format!("{}/{}", inputs.role_name, inputs.policy_arn),
            RolePolicyAttachmentOutputs {},
        ))
    }

    async fn read(
        &self,
        clients: &AwsClients,
        req: TypedReadRequest<RolePolicyAttachmentInputs>,
        _ctx: &CallContext,
    ) -> Result<
        TypedReadResponse<RolePolicyAttachmentInputs, RolePolicyAttachmentOutputs>,
        ProviderError,
    > {
        let items = req.items;
        let iam = clients.iam().await?;
        // One listing per role covers all of its attachments.
        let roles: BTreeSet<&str> = items
            .iter()
            .filter_map(|i| i.id.split_once('/').map(|(r, _)| r))
            .collect();
        let mut attached: HashMap<&str, BTreeSet<String>> = HashMap::new();
        for role in roles {
            let listed = iam
                .list_attached_role_policies()
                .role_name(role)
                .into_paginator()
                .items()
                .send()
                .try_collect()
                .await
                .aws(&Call::new("ListAttachedRolePolicies", role));
            let arns = match listed {
                Ok(policies) => policies
                    .iter()
                    .filter_map(|p| p.policy_arn().map(str::to_owned))
                    .collect(),
                Err(e) if is_not_found(&e) => BTreeSet::new(),
                Err(e) => return Err(e),
            };
            attached.insert(role, arns);
        }
        Ok(items
            .iter()
            .map(|item| {
                let (role, arn) = item.id.split_once('/')?;
                attached.get(role)?.contains(arn).then(|| {
                    TypedObserved::new(
                        RolePolicyAttachmentInputs {
                            role_name: role.to_owned(),
                            policy_arn: arn.to_owned(),
                        },
                        RolePolicyAttachmentOutputs {},
                    )
                })
            })
            .collect())
    }

    async fn update(
        &self,
        _clients: &AwsClients,
        req: TypedUpdateRequest<RolePolicyAttachmentInputs, RolePolicyAttachmentOutputs>,
        _ctx: &CallContext,
    ) -> Result<TypedUpdateResponse<RolePolicyAttachmentOutputs>, ProviderError> {
        let old = req.old;
        // Every input forces a replacement.
        Ok(TypedUpdateResponse::new(old.outputs))
    }

    async fn delete(
        &self,
        clients: &AwsClients,
        req: TypedDeleteRequest<RolePolicyAttachmentInputs, RolePolicyAttachmentOutputs>,
        _ctx: &CallContext,
    ) -> Result<(), ProviderError> {
        let old = req.old;
        match clients
            .iam()
            .await?
            .detach_role_policy()
            .role_name(&old.inputs.role_name)
            .policy_arn(&old.inputs.policy_arn)
            .send()
            .await
            .aws(&Call::deleting("DetachRolePolicy", &old.id))
        {
            Err(e) if !is_not_found(&e) => Err(e),
            _ => Ok(()),
        }
    }

    async fn find(
        &self,
        _clients: &AwsClients,
        _req: TypedFindRequest,
        _ctx: &CallContext,
    ) -> Result<
        TypedFindResponse<RolePolicyAttachmentInputs, RolePolicyAttachmentOutputs>,
        ProviderError,
    > {
        // Attachments cannot be tagged; attaching again is harmless.
        Ok(TypedFindResponse::none())
    }
}
