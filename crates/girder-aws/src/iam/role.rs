//! `aws:iam/role`: an IAM role with its trust policy.

use async_trait::async_trait;
use aws_sdk_iam::types::Role;
use girder_engine::typed::{
    TypedCreateRequest, TypedCreateResponse, TypedDeleteRequest, TypedFindRequest,
    TypedFindResponse, TypedFound, TypedObserved, TypedReadRequest, TypedReadResponse,
    TypedResource, TypedUpdateRequest, TypedUpdateResponse,
};
use girder_engine::{CallContext, ErrorKind, ProviderError, ResourceSchema};
use serde::{Deserialize, Serialize};

use crate::clients::AwsClients;
use crate::error::{AwsResultExt, Call, has_code, is_not_found};
use crate::iam::{
    decode_policy, generated_name, iam_pairs, iam_tags, name_inputs, observed_policy,
};
use crate::tags::{self, Tags};

/// The type token.
pub const ROLE: &str = "aws:iam/role";

fn default_path() -> String {
    "/".to_owned()
}

fn default_session() -> i32 {
    3600
}

/// Inputs of `aws:iam/role`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RoleInputs {
    /// The exact name (else generated from `name_prefix`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The start of a generated name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_prefix: Option<String>,
    /// The path (`/` unless the organisation uses paths).
    #[serde(default = "default_path")]
    pub path: String,
    /// What the role is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Who may assume the role.
    pub assume_role_policy: serde_json::Value,
    /// The longest session, in seconds (3600 to 43200).
    #[serde(default = "default_session")]
    pub max_session_duration: i32,
    /// The ARN of a policy that bounds the role's permissions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions_boundary: Option<String>,
    /// User tags.
    #[serde(default, skip_serializing_if = "Tags::is_empty")]
    pub tags: Tags,
}

/// Outputs of `aws:iam/role`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RoleOutputs {
    /// The ARN.
    pub arn: String,
    /// The name (generated when the inputs give a prefix).
    pub name: String,
    /// The stable unique id (`AROA…`).
    pub unique_id: String,
}

/// The `aws:iam/role` resource type.
#[derive(Clone, Copy, Debug, Default)]
pub struct RoleResource;

fn observe(role: &Role, recorded: Option<&RoleInputs>) -> TypedObserved<RoleInputs, RoleOutputs> {
    let (name, name_prefix) = name_inputs(
        role.role_name(),
        recorded.and_then(|r| r.name.as_deref()),
        recorded.and_then(|r| r.name_prefix.as_deref()),
    );
    let policy = role
        .assume_role_policy_document()
        .map(decode_policy)
        .unwrap_or(serde_json::Value::Null);
    TypedObserved::new(
        RoleInputs {
            name,
            name_prefix,
            path: role.path().to_owned(),
            description: role
                .description()
                .filter(|d| !d.is_empty())
                .map(str::to_owned),
            assume_role_policy: observed_policy(recorded.map(|r| &r.assume_role_policy), policy),
            max_session_duration: role.max_session_duration().unwrap_or(3600),
            permissions_boundary: role
                .permissions_boundary()
                .and_then(|b| b.permissions_boundary_arn())
                .map(str::to_owned),
            tags: tags::user_tags(iam_pairs(role.tags())),
        },
        RoleOutputs {
            arn: role.arn().to_owned(),
            name: role.role_name().to_owned(),
            unique_id: role.role_id().to_owned(),
        },
    )
}

async fn get_role(iam: &aws_sdk_iam::Client, name: &str) -> Result<Option<Role>, ProviderError> {
    match iam
        .get_role()
        .role_name(name)
        .send()
        .await
        .aws(&Call::new("GetRole", name))
    {
        Ok(out) => Ok(out.role().cloned()),
        Err(e) if is_not_found(&e) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Detaches and deletes everything attached to a role so it can be deleted (policies
/// attached outside girder would otherwise block the delete forever).
async fn strip(iam: &aws_sdk_iam::Client, name: &str) -> Result<(), ProviderError> {
    let attached = iam
        .list_attached_role_policies()
        .role_name(name)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .aws(&Call::new("ListAttachedRolePolicies", name))?;
    for policy in attached {
        if let Some(arn) = policy.policy_arn() {
            match iam
                .detach_role_policy()
                .role_name(name)
                .policy_arn(arn)
                .send()
                .await
                .aws(&Call::deleting("DetachRolePolicy", name))
            {
                Err(e) if !is_not_found(&e) => return Err(e),
                _ => {}
            }
        }
    }
    let inline = iam
        .list_role_policies()
        .role_name(name)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .aws(&Call::new("ListRolePolicies", name))?;
    for policy in inline {
        match iam
            .delete_role_policy()
            .role_name(name)
            .policy_name(&policy)
            .send()
            .await
            .aws(&Call::deleting("DeleteRolePolicy", name))
        {
            Err(e) if !is_not_found(&e) => return Err(e),
            _ => {}
        }
    }
    let profiles = iam
        .list_instance_profiles_for_role()
        .role_name(name)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .aws(&Call::new("ListInstanceProfilesForRole", name))?;
    for profile in profiles {
        match iam
            .remove_role_from_instance_profile()
            .role_name(name)
            .instance_profile_name(profile.instance_profile_name())
            .send()
            .await
            .aws(&Call::deleting("RemoveRoleFromInstanceProfile", name))
        {
            Err(e) if !is_not_found(&e) => return Err(e),
            _ => {}
        }
    }
    Ok(())
}

#[async_trait]
impl TypedResource<AwsClients> for RoleResource {
    type Inputs = RoleInputs;
    type Outputs = RoleOutputs;

    fn schema(&self) -> ResourceSchema {
        ResourceSchema::new(ROLE).replace_on(["name", "name_prefix", "path"])
    }

    async fn create(
        &self,
        clients: &AwsClients,
        req: TypedCreateRequest<RoleInputs>,
        ctx: &CallContext,
    ) -> Result<TypedCreateResponse<RoleOutputs>, ProviderError> {
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
            .create_role()
            .role_name(&name)
            .path(&inputs.path)
            .assume_role_policy_document(inputs.assume_role_policy.to_string())
            .set_description(inputs.description.clone())
            .max_session_duration(inputs.max_session_duration)
            .set_permissions_boundary(inputs.permissions_boundary.clone())
            .set_tags(Some(iam_tags(&identity, &inputs.tags)?))
            .send()
            .await
            .aws(&Call::new("CreateRole", &identity));
        let role = match created {
            Ok(out) => {
                clients.attempts().sent(&attempt, Ok(()))?;
                out.role().cloned()
            }
            Err(e) if has_code(&e, "EntityAlreadyExists") => {
                // Ours if its identity tags say so (an unrecorded earlier create). After a
                // lost response GetRole may not know the new role yet: look through the
                // consistency window.
                let lookup = || async {
                    Ok(get_role(iam, &name)
                        .await?
                        .filter(|role| tags::names_identity(iam_pairs(role.tags()), &identity)))
                };
                let existing = match attempt.find_earlier(ctx, "IAM role", lookup).await? {
                    Some(role) => Some(role),
                    None => get_role(iam, &name).await?,
                };
                clients.attempts().settled(&attempt);
                match existing {
                    Some(role) if tags::names_identity(iam_pairs(role.tags()), &identity) => {
                        Some(role)
                    }
                    _ => {
                        return Err(ProviderError {
                            kind: ErrorKind::Conflict,
                            message: format!(
                                "{identity}: an IAM role named `{name}` already exists and does not belong to this resource; import it with `.import(\"{name}\")`, or use `name_prefix` to get a generated name"
                            ),
                            ..e
                        });
                    }
                }
            }
            Err(e) => return clients.attempts().sent(&attempt, Err(e)),
        };
        let role = role.ok_or_else(|| {
            ProviderError::permanent(format!("CreateRole of {identity} returned no role"))
        })?;
        Ok(TypedCreateResponse::new(
            role.role_name().to_owned(),
            observe(&role, Some(&inputs)).outputs,
        ))
    }

    async fn read(
        &self,
        clients: &AwsClients,
        req: TypedReadRequest<RoleInputs>,
        _ctx: &CallContext,
    ) -> Result<TypedReadResponse<RoleInputs, RoleOutputs>, ProviderError> {
        let items = req.items;
        let iam = clients.iam().await?;
        let mut results = Vec::with_capacity(items.len());
        for item in &items {
            // IAM has no batched describe: one GetRole per role (it includes the tags).
            results.push(
                get_role(iam, &item.id)
                    .await?
                    .map(|r| observe(&r, item.inputs.as_ref())),
            );
        }
        Ok(TypedReadResponse::new(results))
    }

    async fn update(
        &self,
        clients: &AwsClients,
        req: TypedUpdateRequest<RoleInputs, RoleOutputs>,
        _ctx: &CallContext,
    ) -> Result<TypedUpdateResponse<RoleOutputs>, ProviderError> {
        let TypedUpdateRequest { old, inputs, .. } = req;
        let iam = clients.iam().await?;
        let name = old.id.as_str();
        if old.inputs.assume_role_policy != inputs.assume_role_policy {
            iam.update_assume_role_policy()
                .role_name(name)
                .policy_document(inputs.assume_role_policy.to_string())
                .send()
                .await
                .aws(&Call::new("UpdateAssumeRolePolicy", &old.identity))?;
        }
        if old.inputs.description != inputs.description
            || old.inputs.max_session_duration != inputs.max_session_duration
        {
            iam.update_role()
                .role_name(name)
                .description(inputs.description.clone().unwrap_or_default())
                .max_session_duration(inputs.max_session_duration)
                .send()
                .await
                .aws(&Call::new("UpdateRole", &old.identity))?;
        }
        if old.inputs.permissions_boundary != inputs.permissions_boundary {
            match &inputs.permissions_boundary {
                Some(arn) => {
                    iam.put_role_permissions_boundary()
                        .role_name(name)
                        .permissions_boundary(arn)
                        .send()
                        .await
                        .aws(&Call::new("PutRolePermissionsBoundary", &old.identity))?;
                }
                None => {
                    iam.delete_role_permissions_boundary()
                        .role_name(name)
                        .send()
                        .await
                        .aws(&Call::new("DeleteRolePermissionsBoundary", &old.identity))?;
                }
            }
        }
        if old.inputs.tags != inputs.tags {
            let removed = crate::tags::removed_keys(&old.inputs.tags, &inputs.tags);
            if !removed.is_empty() {
                iam.untag_role()
                    .role_name(name)
                    .set_tag_keys(Some(removed))
                    .send()
                    .await
                    .aws(&Call::new("UntagRole", &old.identity))?;
            }
            iam.tag_role()
                .role_name(name)
                .set_tags(Some(iam_tags(&old.identity, &inputs.tags)?))
                .send()
                .await
                .aws(&Call::new("TagRole", &old.identity))?;
        }
        Ok(TypedUpdateResponse::new(old.outputs))
    }

    async fn delete(
        &self,
        clients: &AwsClients,
        req: TypedDeleteRequest<RoleInputs, RoleOutputs>,
        _ctx: &CallContext,
    ) -> Result<(), ProviderError> {
        let old = req.old;
        let iam = clients.iam().await?;
        match strip(iam, &old.id).await {
            Err(e) if is_not_found(&e) => return Ok(()),
            Err(e) => return Err(e),
            Ok(()) => {}
        }
        match iam
            .delete_role()
            .role_name(&old.id)
            .send()
            .await
            .aws(&Call::deleting("DeleteRole", &old.id))
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
    ) -> Result<TypedFindResponse<RoleInputs, RoleOutputs>, ProviderError> {
        let identity = req.identity;
        let iam = clients.iam().await?;
        // ListRoles returns no tags; only roles named after the resource are candidates.
        let roles: Vec<Role> = iam
            .list_roles()
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .aws(&Call::new("ListRoles", "IAM roles"))?;
        let mut found = Vec::new();
        for candidate in roles
            .iter()
            .filter(|r| r.role_name().starts_with(identity.name.as_str()))
        {
            if let Some(role) = get_role(iam, candidate.role_name()).await?
                && tags::names_identity(iam_pairs(role.tags()), &identity)
            {
                found.push(TypedFound::new(
                    role.role_name().to_owned(),
                    observe(&role, None),
                ));
            }
        }
        Ok(TypedFindResponse::new(found))
    }
}
