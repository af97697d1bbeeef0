//! `aws:iam/openIdConnectProvider`: an OIDC identity provider (an EKS cluster's issuer, for
//! IAM roles for service accounts).

use async_trait::async_trait;
use girder_engine::typed::{
    TypedCreateRequest, TypedCreateResponse, TypedDeleteRequest, TypedFindRequest,
    TypedFindResponse, TypedFound, TypedObserved, TypedReadRequest, TypedReadResponse,
    TypedResource, TypedUpdateRequest, TypedUpdateResponse,
};
use girder_engine::{CallContext, ErrorKind, ProviderError, ResourceSchema};
use serde::{Deserialize, Serialize};

use crate::clients::AwsClients;
use crate::error::{AwsResultExt, Call, has_code, is_not_found};
use crate::iam::{iam_pairs, iam_tags};
use crate::tags::{self, Tags};
use crate::util::keep_order;

/// The type token.
pub const OIDC_PROVIDER: &str = "aws:iam/openIdConnectProvider";

/// The SHA-1 thumbprint of the root CA behind every EKS OIDC issuer (Amazon Trust Services /
/// Starfield). IAM no longer checks it for EKS issuers, but the API still wants one.
pub const EKS_OIDC_THUMBPRINT: &str = "9e99a48a9960b14926bb7f3b02e22da2b0ab7280";

/// Inputs of `aws:iam/openIdConnectProvider`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OidcProviderInputs {
    /// The issuer URL, `https://…`.
    pub url: String,
    /// The audiences (`sts.amazonaws.com` for IRSA).
    pub client_ids: Vec<String>,
    /// SHA-1 thumbprints of the issuer's certificate chain, lowercase hex.
    pub thumbprints: Vec<String>,
    /// User tags.
    #[serde(default, skip_serializing_if = "Tags::is_empty")]
    pub tags: Tags,
}

/// Outputs of `aws:iam/openIdConnectProvider` (the id is the ARN).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OidcProviderOutputs {
    /// The ARN.
    pub arn: String,
    /// The issuer without `https://`: the prefix of condition keys (`<host>:sub`).
    pub issuer_host: String,
}

/// The `aws:iam/openIdConnectProvider` resource type.
#[derive(Clone, Copy, Debug, Default)]
pub struct OidcProviderResource;

fn host_of(url: &str) -> String {
    url.trim_start_matches("https://")
        .trim_end_matches('/')
        .to_owned()
}

async fn get(
    clients: &AwsClients,
    arn: &str,
    recorded: Option<&OidcProviderInputs>,
) -> Result<Option<(TypedObserved<OidcProviderInputs, OidcProviderOutputs>, Tags)>, ProviderError> {
    let iam = clients.iam().await?;
    let out = match iam
        .get_open_id_connect_provider()
        .open_id_connect_provider_arn(arn)
        .send()
        .await
        .aws(&Call::new("GetOpenIDConnectProvider", arn))
    {
        Ok(out) => out,
        Err(e) if is_not_found(&e) => return Ok(None),
        Err(e) => return Err(e),
    };
    let host = host_of(out.url().unwrap_or_default());
    // IAM stores the URL without its scheme; report the recorded spelling if it is the same.
    let url = recorded
        .map(|r| r.url.clone())
        .filter(|u| host_of(u) == host)
        .unwrap_or_else(|| format!("https://{host}"));
    let all_tags: Tags = iam_pairs(out.tags())
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    Ok(Some((
        TypedObserved::new(
            OidcProviderInputs {
                url,
                client_ids: keep_order(
                    recorded.map(|r| r.client_ids.as_slice()),
                    out.client_id_list().to_vec(),
                ),
                thumbprints: keep_order(
                    recorded.map(|r| r.thumbprints.as_slice()),
                    out.thumbprint_list()
                        .iter()
                        .map(|t| t.to_ascii_lowercase())
                        .collect(),
                ),
                tags: tags::user_tags(all_tags.iter().map(|(k, v)| (k.as_str(), v.as_str()))),
            },
            OidcProviderOutputs {
                arn: arn.to_owned(),
                issuer_host: host,
            },
        ),
        all_tags,
    )))
}

async fn list_arns(clients: &AwsClients) -> Result<Vec<String>, ProviderError> {
    Ok(clients
        .iam()
        .await?
        .list_open_id_connect_providers()
        .send()
        .await
        .aws(&Call::new("ListOpenIDConnectProviders", "OIDC providers"))?
        .open_id_connect_provider_list()
        .iter()
        .filter_map(|p| p.arn().map(str::to_owned))
        .collect())
}

#[async_trait]
impl TypedResource<AwsClients> for OidcProviderResource {
    type Inputs = OidcProviderInputs;
    type Outputs = OidcProviderOutputs;

    fn schema(&self) -> ResourceSchema {
        // One provider per issuer URL per account: the replacement must wait.
        ResourceSchema::new(OIDC_PROVIDER)
            .replace_on(["url"])
            .delete_before_replace()
    }

    async fn create(
        &self,
        clients: &AwsClients,
        req: TypedCreateRequest<OidcProviderInputs>,
        ctx: &CallContext,
    ) -> Result<TypedCreateResponse<OidcProviderOutputs>, ProviderError> {
        let TypedCreateRequest {
            identity, inputs, ..
        } = req;
        let iam = clients.iam().await?;
        let attempt = clients.attempts().begin(&identity, &inputs);
        let created = iam
            .create_open_id_connect_provider()
            .url(&inputs.url)
            .set_client_id_list(Some(inputs.client_ids.clone()))
            .set_thumbprint_list(Some(inputs.thumbprints.clone()))
            .set_tags(Some(iam_tags(&identity, &inputs.tags)?))
            .send()
            .await
            .aws(&Call::new("CreateOpenIDConnectProvider", &identity));
        match created {
            Ok(out) => {
                clients.attempts().sent(&attempt, Ok(()))?;
                let arn = out
                    .open_id_connect_provider_arn()
                    .unwrap_or_default()
                    .to_owned();
                Ok(TypedCreateResponse::new(
                    arn.clone(),
                    OidcProviderOutputs {
                        arn,
                        issuer_host: host_of(&inputs.url),
                    },
                ))
            }
            Err(e) if has_code(&e, "EntityAlreadyExists") => {
                let host = host_of(&inputs.url);
                // Ours if its identity tags say so (an unrecorded earlier create). After a
                // lost response IAM may not list the new provider yet: look through the
                // consistency window.
                let lookup = || async {
                    for arn in list_arns(clients)
                        .await?
                        .into_iter()
                        .filter(|a| a.ends_with(&host))
                    {
                        if let Some((TypedObserved { outputs, .. }, all)) =
                            get(clients, &arn, Some(&inputs)).await?
                            && tags::names_identity(
                                all.iter().map(|(k, v)| (k.as_str(), v.as_str())),
                                &identity,
                            )
                        {
                            return Ok(Some((arn, outputs)));
                        }
                    }
                    Ok(None)
                };
                let found = match attempt.find_earlier(ctx, "OIDC provider", lookup).await? {
                    Some(found) => Some(found),
                    None => lookup().await?,
                };
                clients.attempts().settled(&attempt);
                if let Some((arn, outputs)) = found {
                    return Ok(TypedCreateResponse::new(arn, outputs));
                }
                Err(ProviderError {
                    kind: ErrorKind::Conflict,
                    message: format!(
                        "{identity}: an OIDC provider for `{}` already exists in this account and does not belong to this resource; import it by its ARN or remove it",
                        inputs.url
                    ),
                    ..e
                })
            }
            Err(e) => clients.attempts().sent(&attempt, Err(e)),
        }
    }

    async fn read(
        &self,
        clients: &AwsClients,
        req: TypedReadRequest<OidcProviderInputs>,
        _ctx: &CallContext,
    ) -> Result<TypedReadResponse<OidcProviderInputs, OidcProviderOutputs>, ProviderError> {
        let items = req.items;
        let mut results = Vec::with_capacity(items.len());
        for item in &items {
            results.push(
                get(clients, &item.id, item.inputs.as_ref())
                    .await?
                    .map(|(o, _)| o),
            );
        }
        Ok(TypedReadResponse::new(results))
    }

    async fn update(
        &self,
        clients: &AwsClients,
        req: TypedUpdateRequest<OidcProviderInputs, OidcProviderOutputs>,
        _ctx: &CallContext,
    ) -> Result<TypedUpdateResponse<OidcProviderOutputs>, ProviderError> {
        let TypedUpdateRequest { old, inputs, .. } = req;
        let iam = clients.iam().await?;
        let arn = old.id.as_str();
        for added in inputs
            .client_ids
            .iter()
            .filter(|c| !old.inputs.client_ids.contains(c))
        {
            iam.add_client_id_to_open_id_connect_provider()
                .open_id_connect_provider_arn(arn)
                .client_id(added)
                .send()
                .await
                .aws(&Call::new(
                    "AddClientIDToOpenIDConnectProvider",
                    &old.identity,
                ))?;
        }
        for removed in old
            .inputs
            .client_ids
            .iter()
            .filter(|c| !inputs.client_ids.contains(c))
        {
            iam.remove_client_id_from_open_id_connect_provider()
                .open_id_connect_provider_arn(arn)
                .client_id(removed)
                .send()
                .await
                .aws(&Call::new(
                    "RemoveClientIDFromOpenIDConnectProvider",
                    &old.identity,
                ))?;
        }
        if old.inputs.thumbprints != inputs.thumbprints {
            iam.update_open_id_connect_provider_thumbprint()
                .open_id_connect_provider_arn(arn)
                .set_thumbprint_list(Some(inputs.thumbprints.clone()))
                .send()
                .await
                .aws(&Call::new(
                    "UpdateOpenIDConnectProviderThumbprint",
                    &old.identity,
                ))?;
        }
        if old.inputs.tags != inputs.tags {
            let removed = crate::tags::removed_keys(&old.inputs.tags, &inputs.tags);
            if !removed.is_empty() {
                iam.untag_open_id_connect_provider()
                    .open_id_connect_provider_arn(arn)
                    .set_tag_keys(Some(removed))
                    .send()
                    .await
                    .aws(&Call::new("UntagOpenIDConnectProvider", &old.identity))?;
            }
            iam.tag_open_id_connect_provider()
                .open_id_connect_provider_arn(arn)
                .set_tags(Some(iam_tags(&old.identity, &inputs.tags)?))
                .send()
                .await
                .aws(&Call::new("TagOpenIDConnectProvider", &old.identity))?;
        }
        Ok(TypedUpdateResponse::new(old.outputs))
    }

    async fn delete(
        &self,
        clients: &AwsClients,
        req: TypedDeleteRequest<OidcProviderInputs, OidcProviderOutputs>,
        _ctx: &CallContext,
    ) -> Result<(), ProviderError> {
        let old = req.old;
        match clients
            .iam()
            .await?
            .delete_open_id_connect_provider()
            .open_id_connect_provider_arn(&old.id)
            .send()
            .await
            .aws(&Call::deleting("DeleteOpenIDConnectProvider", &old.id))
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
    ) -> Result<TypedFindResponse<OidcProviderInputs, OidcProviderOutputs>, ProviderError> {
        let identity = req.identity;
        let mut found = Vec::new();
        for arn in list_arns(clients).await? {
            if let Some((observed, all)) = get(clients, &arn, None).await?
                && tags::names_identity(
                    all.iter().map(|(k, v)| (k.as_str(), v.as_str())),
                    &identity,
                )
            {
                found.push(TypedFound::new(arn, observed));
            }
        }
        Ok(TypedFindResponse::new(found))
    }
}
