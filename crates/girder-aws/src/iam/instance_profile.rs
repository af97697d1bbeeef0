//! `aws:iam/instanceProfile`: the container that hands a role to EC2 instances.

use async_trait::async_trait;
use aws_sdk_iam::types::InstanceProfile;
use girder_engine::typed::{
    TypedCreateRequest, TypedCreateResponse, TypedDeleteRequest, TypedFindRequest,
    TypedFindResponse, TypedFound, TypedObserved, TypedReadRequest, TypedReadResponse,
    TypedResource, TypedUpdateRequest, TypedUpdateResponse,
};
use girder_engine::{CallContext, ProviderError, ResourceSchema};
use serde::{Deserialize, Serialize};

use crate::clients::AwsClients;
use crate::error::{AwsResultExt, Call, after_create, is_not_found};
use crate::iam::{generated_name, iam_pairs, iam_tags, name_inputs};
use crate::tags::{self, Tags};

/// The type token.
pub const INSTANCE_PROFILE: &str = "aws:iam/instanceProfile";

fn default_path() -> String {
    "/".to_owned()
}

/// Inputs of `aws:iam/instanceProfile`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InstanceProfileInputs {
    /// The exact name (else generated from `name_prefix`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The start of a generated name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_prefix: Option<String>,
    /// The path.
    #[serde(default = "default_path")]
    pub path: String,
    /// The role it carries (by name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// User tags.
    #[serde(default, skip_serializing_if = "Tags::is_empty")]
    pub tags: Tags,
}

/// Outputs of `aws:iam/instanceProfile`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InstanceProfileOutputs {
    /// The ARN.
    pub arn: String,
    /// The name.
    pub name: String,
}

/// The `aws:iam/instanceProfile` resource type.
#[derive(Clone, Copy, Debug, Default)]
pub struct InstanceProfileResource;

fn observe(
    profile: &InstanceProfile,
    recorded: Option<&InstanceProfileInputs>,
) -> TypedObserved<InstanceProfileInputs, InstanceProfileOutputs> {
    let (name, name_prefix) = name_inputs(
        profile.instance_profile_name(),
        recorded.and_then(|r| r.name.as_deref()),
        recorded.and_then(|r| r.name_prefix.as_deref()),
    );
    TypedObserved::new(
        InstanceProfileInputs {
            name,
            name_prefix,
            path: profile.path().to_owned(),
            role: profile.roles().first().map(|r| r.role_name().to_owned()),
            tags: tags::user_tags(iam_pairs(profile.tags())),
        },
        InstanceProfileOutputs {
            arn: profile.arn().to_owned(),
            name: profile.instance_profile_name().to_owned(),
        },
    )
}

async fn get(
    iam: &aws_sdk_iam::Client,
    name: &str,
) -> Result<Option<InstanceProfile>, ProviderError> {
    match iam
        .get_instance_profile()
        .instance_profile_name(name)
        .send()
        .await
        .aws(&Call::new("GetInstanceProfile", name))
    {
        Ok(out) => Ok(out.instance_profile().cloned()),
        Err(e) if is_not_found(&e) => Ok(None),
        Err(e) => Err(e),
    }
}

async fn add_role(
    iam: &aws_sdk_iam::Client,
    profile: &str,
    role: &str,
) -> Result<(), ProviderError> {
    iam.add_role_to_instance_profile()
        .instance_profile_name(profile)
        .role_name(role)
        .send()
        .await
        .aws(&Call::new("AddRoleToInstanceProfile", profile))?;
    Ok(())
}

async fn remove_role(
    iam: &aws_sdk_iam::Client,
    profile: &str,
    role: &str,
) -> Result<(), ProviderError> {
    match iam
        .remove_role_from_instance_profile()
        .instance_profile_name(profile)
        .role_name(role)
        .send()
        .await
        .aws(&Call::deleting("RemoveRoleFromInstanceProfile", profile))
    {
        Err(e) if !is_not_found(&e) => Err(e),
        _ => Ok(()),
    }
}

#[async_trait]
impl TypedResource<AwsClients> for InstanceProfileResource {
    type Inputs = InstanceProfileInputs;
    type Outputs = InstanceProfileOutputs;

    fn schema(&self) -> ResourceSchema {
        ResourceSchema::new(INSTANCE_PROFILE).replace_on(["name", "name_prefix", "path"])
    }

    async fn create(
        &self,
        clients: &AwsClients,
        req: TypedCreateRequest<InstanceProfileInputs>,
        _ctx: &CallContext,
    ) -> Result<TypedCreateResponse<InstanceProfileOutputs>, ProviderError> {
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
            .create_instance_profile()
            .instance_profile_name(&name)
            .path(&inputs.path)
            .set_tags(Some(iam_tags(&identity, &inputs.tags)?))
            .send()
            .await
            .aws(&Call::new("CreateInstanceProfile", &identity));
        let created = clients.attempts().sent(&attempt, created)?;
        let profile = created.instance_profile().ok_or_else(|| {
            ProviderError::permanent(format!(
                "CreateInstanceProfile of {identity} returned no profile"
            ))
        })?;
        let outputs = observe(profile, Some(&inputs)).outputs;
        if let Some(role) = &inputs.role {
            add_role(iam, &name, role).await.map_err(|e| {
                after_create(
                    e,
                    &name,
                    girder_core::Value::from_serialize(&outputs).unwrap_or_default(),
                )
            })?;
        }
        Ok(TypedCreateResponse::new(name, outputs))
    }

    async fn read(
        &self,
        clients: &AwsClients,
        req: TypedReadRequest<InstanceProfileInputs>,
        _ctx: &CallContext,
    ) -> Result<TypedReadResponse<InstanceProfileInputs, InstanceProfileOutputs>, ProviderError>
    {
        let items = req.items;
        let iam = clients.iam().await?;
        let mut results = Vec::with_capacity(items.len());
        for item in &items {
            results.push(
                get(iam, &item.id)
                    .await?
                    .map(|p| observe(&p, item.inputs.as_ref())),
            );
        }
        Ok(TypedReadResponse::new(results))
    }

    async fn update(
        &self,
        clients: &AwsClients,
        req: TypedUpdateRequest<InstanceProfileInputs, InstanceProfileOutputs>,
        _ctx: &CallContext,
    ) -> Result<TypedUpdateResponse<InstanceProfileOutputs>, ProviderError> {
        let TypedUpdateRequest { old, inputs, .. } = req;
        let iam = clients.iam().await?;
        if old.inputs.role != inputs.role {
            if let Some(role) = &old.inputs.role {
                remove_role(iam, &old.id, role).await?;
            }
            if let Some(role) = &inputs.role {
                add_role(iam, &old.id, role).await?;
            }
        }
        if old.inputs.tags != inputs.tags {
            let removed = crate::tags::removed_keys(&old.inputs.tags, &inputs.tags);
            if !removed.is_empty() {
                iam.untag_instance_profile()
                    .instance_profile_name(&old.id)
                    .set_tag_keys(Some(removed))
                    .send()
                    .await
                    .aws(&Call::new("UntagInstanceProfile", &old.identity))?;
            }
            iam.tag_instance_profile()
                .instance_profile_name(&old.id)
                .set_tags(Some(iam_tags(&old.identity, &inputs.tags)?))
                .send()
                .await
                .aws(&Call::new("TagInstanceProfile", &old.identity))?;
        }
        Ok(TypedUpdateResponse::new(old.outputs))
    }

    async fn delete(
        &self,
        clients: &AwsClients,
        req: TypedDeleteRequest<InstanceProfileInputs, InstanceProfileOutputs>,
        _ctx: &CallContext,
    ) -> Result<(), ProviderError> {
        let old = req.old;
        let iam = clients.iam().await?;
        let Some(profile) = get(iam, &old.id).await? else {
            return Ok(());
        };
        for role in profile.roles() {
            remove_role(iam, &old.id, role.role_name()).await?;
        }
        match iam
            .delete_instance_profile()
            .instance_profile_name(&old.id)
            .send()
            .await
            .aws(&Call::deleting("DeleteInstanceProfile", &old.id))
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
    ) -> Result<TypedFindResponse<InstanceProfileInputs, InstanceProfileOutputs>, ProviderError>
    {
        let identity = req.identity;
        let iam = clients.iam().await?;
        let profiles: Vec<InstanceProfile> = iam
            .list_instance_profiles()
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .aws(&Call::new("ListInstanceProfiles", "instance profiles"))?;
        let mut found = Vec::new();
        for candidate in profiles.iter().filter(|p| {
            p.instance_profile_name()
                .starts_with(identity.name.as_str())
        }) {
            if let Some(profile) = get(iam, candidate.instance_profile_name()).await?
                && tags::names_identity(iam_pairs(profile.tags()), &identity)
            {
                found.push(TypedFound::new(
                    profile.instance_profile_name().to_owned(),
                    observe(&profile, None),
                ));
            }
        }
        Ok(TypedFindResponse::new(found))
    }
}
