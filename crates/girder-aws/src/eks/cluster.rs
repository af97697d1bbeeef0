//! `aws:eks/cluster`: an EKS control plane.
//!
//! Create waits until ACTIVE (about ten minutes on AWS), delete until the cluster is gone.
//! Version, endpoint access and control-plane logging update in place (one EKS update each,
//! waited for); the role, subnets and security groups cannot change and force a replacement.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_eks::types::{Cluster, ClusterStatus, LogSetup, LogType, Logging, VpcConfigRequest};
use girder_engine::ExpectedDurations;
use girder_engine::provider::DefaultTimeouts;
use girder_engine::typed::{
    Recorded, TypedCreateRequest, TypedCreateResponse, TypedDeleteRequest, TypedFindRequest,
    TypedFindResponse, TypedFound, TypedObserved, TypedReadRequest, TypedReadResponse,
    TypedResource, TypedResumeRequest, TypedUpdateRequest, TypedUpdateResponse,
};
use girder_engine::{CallContext, ErrorKind, ProviderError, ResourceSchema};
use serde::{Deserialize, Serialize};

use crate::clients::AwsClients;
use crate::eks::{eks_tags, iam_propagation, sweep, tagged_as, update_tags, user_tags};
use crate::error::{AwsResultExt, Call, after_create, has_code, is_not_found};
use crate::tags::Tags;
use crate::util::{Poll, SLOW, keep_order, wait_until};

/// The type token.
pub const CLUSTER: &str = "aws:eks/cluster";

/// The control-plane log types EKS can send to CloudWatch Logs.
pub const LOG_TYPES: [&str; 5] = [
    "api",
    "audit",
    "authenticator",
    "controllerManager",
    "scheduler",
];

/// Inputs of `aws:eks/cluster`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClusterInputs {
    /// The cluster name (unique per account and region).
    pub name: String,
    /// The role the control plane uses.
    pub role_arn: String,
    /// The Kubernetes version (`1.36`); absent lets EKS choose its default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Where the control plane's network interfaces go (two AZs at least).
    pub subnet_ids: Vec<String>,
    /// Extra security groups for those interfaces.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub security_group_ids: Vec<String>,
    /// The API endpoint is reachable from the internet.
    pub endpoint_public_access: bool,
    /// The API endpoint is reachable from inside the VPC.
    pub endpoint_private_access: bool,
    /// Who may reach the public endpoint (absent: everyone).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub public_access_cidrs: Vec<String>,
    /// The control-plane log types sent to CloudWatch Logs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub enabled_log_types: Vec<String>,
    /// The service CIDR (absent: EKS picks 10.100.0.0/16 or 172.20.0.0/16).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_ipv4_cidr: Option<String>,
    /// How IAM principals authenticate: `API`, `API_AND_CONFIG_MAP` or `CONFIG_MAP` (absent:
    /// EKS's default). Changes only towards `API`, in place.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authentication_mode: Option<String>,
    /// Whether the creator gets a cluster-admin access entry (absent: EKS's default, yes);
    /// set when the cluster is created only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bootstrap_cluster_creator_admin_permissions: Option<bool>,
    /// User tags.
    #[serde(default, skip_serializing_if = "Tags::is_empty")]
    pub tags: Tags,
}

/// Outputs of `aws:eks/cluster` (the id is the name).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClusterOutputs {
    /// The ARN.
    pub arn: String,
    /// The API server URL.
    pub endpoint: String,
    /// The cluster CA certificate, base64 PEM (kubeconfig's `certificate-authority-data`).
    pub certificate_authority_data: String,
    /// The OIDC issuer URL (`https://oidc.eks.<region>.amazonaws.com/id/…`).
    pub oidc_issuer: String,
    /// The security group EKS created for the cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_security_group_id: Option<String>,
    /// The Kubernetes version running.
    pub version: String,
    /// The EKS platform version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform_version: Option<String>,
}

/// The CreateCluster `accessConfig` of the inputs, if they set any of it.
fn access_config(inputs: &ClusterInputs) -> Option<aws_sdk_eks::types::CreateAccessConfigRequest> {
    if inputs.authentication_mode.is_none()
        && inputs.bootstrap_cluster_creator_admin_permissions.is_none()
    {
        return None;
    }
    Some(
        aws_sdk_eks::types::CreateAccessConfigRequest::builder()
            .set_authentication_mode(
                inputs
                    .authentication_mode
                    .as_deref()
                    .map(aws_sdk_eks::types::AuthenticationMode::from),
            )
            .set_bootstrap_cluster_creator_admin_permissions(
                inputs.bootstrap_cluster_creator_admin_permissions,
            )
            .build(),
    )
}

/// The `aws:eks/cluster` resource type.
#[derive(Clone, Copy, Debug, Default)]
pub struct ClusterResource;

fn enabled_log_types(cluster: &Cluster) -> Vec<String> {
    cluster
        .logging()
        .map(|l| l.cluster_logging())
        .unwrap_or_default()
        .iter()
        .filter(|s| s.enabled() == Some(true))
        .flat_map(|s| s.types().iter().map(|t| t.as_str().to_owned()))
        .collect()
}

fn observe(
    cluster: &Cluster,
    recorded: Option<&ClusterInputs>,
) -> TypedObserved<ClusterInputs, ClusterOutputs> {
    let vpc = cluster.resources_vpc_config();
    let mut public_cidrs = vpc
        .map(|v| v.public_access_cidrs().to_vec())
        .unwrap_or_default();
    // EKS reports its default (everyone) when the program gave none.
    if recorded.is_none_or(|r| r.public_access_cidrs.is_empty()) && public_cidrs == ["0.0.0.0/0"] {
        public_cidrs.clear();
    }
    let version = cluster.version().unwrap_or_default().to_owned();
    TypedObserved::new(
        ClusterInputs {
            name: cluster.name().unwrap_or_default().to_owned(),
            role_arn: cluster.role_arn().unwrap_or_default().to_owned(),
            version: match recorded {
                Some(r) if r.version.is_none() => None,
                _ => Some(version.clone()),
            },
            subnet_ids: keep_order(
                recorded.map(|r| r.subnet_ids.as_slice()),
                vpc.map(|v| v.subnet_ids().to_vec()).unwrap_or_default(),
            ),
            security_group_ids: keep_order(
                recorded.map(|r| r.security_group_ids.as_slice()),
                vpc.map(|v| v.security_group_ids().to_vec())
                    .unwrap_or_default(),
            ),
            endpoint_public_access: vpc.map(|v| v.endpoint_public_access()).unwrap_or(true),
            endpoint_private_access: vpc.map(|v| v.endpoint_private_access()).unwrap_or(false),
            public_access_cidrs: keep_order(
                recorded.map(|r| r.public_access_cidrs.as_slice()),
                public_cidrs,
            ),
            enabled_log_types: keep_order(
                recorded.map(|r| r.enabled_log_types.as_slice()),
                enabled_log_types(cluster),
            ),
            service_ipv4_cidr: match recorded {
                Some(r) if r.service_ipv4_cidr.is_none() => None,
                _ => cluster
                    .kubernetes_network_config()
                    .and_then(|k| k.service_ipv4_cidr())
                    .map(str::to_owned),
            },
            authentication_mode: match recorded {
                Some(r) if r.authentication_mode.is_none() => None,
                _ => cluster
                    .access_config()
                    .and_then(|a| a.authentication_mode())
                    .map(|m| m.as_str().to_owned()),
            },
            // Reported only as it was at creation: the recorded choice stands.
            bootstrap_cluster_creator_admin_permissions: match recorded {
                Some(r) => r.bootstrap_cluster_creator_admin_permissions,
                None => cluster
                    .access_config()
                    .and_then(|a| a.bootstrap_cluster_creator_admin_permissions()),
            },
            tags: user_tags(cluster.tags()),
        },
        ClusterOutputs {
            arn: cluster.arn().unwrap_or_default().to_owned(),
            endpoint: cluster.endpoint().unwrap_or_default().to_owned(),
            certificate_authority_data: cluster
                .certificate_authority()
                .and_then(|c| c.data())
                .unwrap_or_default()
                .to_owned(),
            oidc_issuer: cluster
                .identity()
                .and_then(|i| i.oidc())
                .and_then(|o| o.issuer())
                .unwrap_or_default()
                .to_owned(),
            cluster_security_group_id: vpc
                .and_then(|v| v.cluster_security_group_id())
                .map(str::to_owned),
            version,
            platform_version: cluster.platform_version().map(str::to_owned),
        },
    )
}

async fn describe(eks: &aws_sdk_eks::Client, name: &str) -> Result<Option<Cluster>, ProviderError> {
    match eks
        .describe_cluster()
        .name(name)
        .send()
        .await
        .aws(&Call::new("DescribeCluster", name))
    {
        Ok(out) => Ok(out.cluster().cloned()),
        Err(e) if is_not_found(&e) => Ok(None),
        Err(e) => Err(e),
    }
}

async fn wait_active(
    eks: &aws_sdk_eks::Client,
    ctx: &CallContext,
    name: &str,
) -> Result<Cluster, ProviderError> {
    wait_until(ctx, &format!("EKS cluster {name} to become ACTIVE"), SLOW.0, Duration::from_secs(30), || async {
        let Some(cluster) = describe(eks, name).await? else {
            return Ok(Poll::Pending("not listed yet".into()));
        };
        match cluster.status() {
            Some(ClusterStatus::Active) => Ok(Poll::Ready(cluster)),
            Some(ClusterStatus::Failed) => Err(ProviderError::permanent(format!(
                "EKS cluster {name} failed to create: {}; check the subnets (two AZs), the role's trust policy and the service quotas",
                cluster
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

/// Waits for the update `id` (or until the cluster is ACTIVE again).
async fn settle(
    eks: &aws_sdk_eks::Client,
    ctx: &CallContext,
    name: &str,
    id: Option<&str>,
) -> Result<(), ProviderError> {
    crate::eks::settle(eks, ctx, (name, None, None), id, || async {
        wait_active(eks, ctx, name).await.map(|_| ())
    })
    .await
}

fn logging(enabled: &[String]) -> Logging {
    let disabled: Vec<LogType> = LOG_TYPES
        .iter()
        .filter(|t| !enabled.iter().any(|e| e == *t))
        .map(|t| LogType::from(*t))
        .collect();
    let mut setups = vec![];
    if !enabled.is_empty() {
        setups.push(
            LogSetup::builder()
                .set_types(Some(
                    enabled.iter().map(|t| LogType::from(t.as_str())).collect(),
                ))
                .enabled(true)
                .build(),
        );
    }
    if !disabled.is_empty() {
        setups.push(
            LogSetup::builder()
                .set_types(Some(disabled))
                .enabled(false)
                .build(),
        );
    }
    Logging::builder().set_cluster_logging(Some(setups)).build()
}

#[async_trait]
impl TypedResource<AwsClients> for ClusterResource {
    type Inputs = ClusterInputs;
    type Outputs = ClusterOutputs;

    fn schema(&self) -> ResourceSchema {
        // Cluster names are unique: a replacement must wait until the old one is gone.
        ResourceSchema::new(CLUSTER)
            .replace_on([
                "name",
                "role_arn",
                "subnet_ids",
                "security_group_ids",
                "service_ipv4_cidr",
                "bootstrap_cluster_creator_admin_permissions",
            ])
            .delete_before_replace()
            .timeouts(DefaultTimeouts {
                create: Duration::from_secs(30 * 60),
                update: Duration::from_secs(60 * 60),
                delete: Duration::from_secs(15 * 60),
                read: Duration::from_secs(60),
            })
            // Estimates for the scheduler, not limits: EKS control planes take about 10 minutes to
            // create and several to delete, so an apply starts them (and what waits on them) before
            // quick calls.
            .expected_durations(ExpectedDurations {
                create: Some(Duration::from_secs(10 * 60)),
                update: Some(Duration::from_secs(5 * 60)),
                delete: Some(Duration::from_secs(8 * 60)),
                read: None,
            })
    }

    fn delete_effects(&self, old: &Recorded<ClusterInputs, ClusterOutputs>) -> Vec<String> {
        vec![
            format!(
                "waits until EKS has deleted the control plane (usually 5 to 10 minutes; time limit {} min)",
                self.schema().timeouts.delete.as_secs() / 60
            ),
            sweep::plan_note(&old.id),
        ]
    }

    async fn create(
        &self,
        clients: &AwsClients,
        req: TypedCreateRequest<ClusterInputs>,
        ctx: &CallContext,
    ) -> Result<TypedCreateResponse<ClusterOutputs>, ProviderError> {
        let TypedCreateRequest {
            identity, inputs, ..
        } = req;
        let eks = clients.eks().await?;
        // One token per create, the same for its retries: EKS answers a retry after a lost
        // response with the cluster the first request made.
        let attempt = clients.attempts().begin(&identity, &inputs);
        let vpc = VpcConfigRequest::builder()
            .set_subnet_ids(Some(inputs.subnet_ids.clone()))
            .set_security_group_ids(Some(inputs.security_group_ids.clone()))
            .endpoint_public_access(inputs.endpoint_public_access)
            .endpoint_private_access(inputs.endpoint_private_access)
            .set_public_access_cidrs(
                (!inputs.public_access_cidrs.is_empty())
                    .then(|| inputs.public_access_cidrs.clone()),
            )
            .build();
        let created = eks
            .create_cluster()
            .client_request_token(attempt.token())
            .name(&inputs.name)
            .role_arn(&inputs.role_arn)
            .set_version(inputs.version.clone())
            .resources_vpc_config(vpc)
            .set_logging(
                (!inputs.enabled_log_types.is_empty()).then(|| logging(&inputs.enabled_log_types)),
            )
            .set_kubernetes_network_config(inputs.service_ipv4_cidr.as_ref().map(|cidr| {
                aws_sdk_eks::types::KubernetesNetworkConfigRequest::builder()
                    .service_ipv4_cidr(cidr)
                    .build()
            }))
            .set_access_config(access_config(&inputs))
            .set_tags(Some(eks_tags(&identity, &inputs.tags)))
            .send()
            .await
            .aws(&Call::new("CreateCluster", &identity))
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
                match describe(eks, &inputs.name).await? {
                    Some(existing) if tagged_as(existing.tags(), &identity) => {
                        tracing::info!(%identity, "adopting the existing EKS cluster");
                    }
                    _ => {
                        return Err(ProviderError {
                            kind: ErrorKind::Conflict,
                            message: format!(
                                "{identity}: an EKS cluster named `{}` already exists and does not belong to this resource; choose another name or import it",
                                inputs.name
                            ),
                            ..e
                        });
                    }
                }
            }
            Err(e) => return Err(e),
        }
        let name = inputs.name.clone();
        let ready = wait_active(eks, ctx, &name)
            .await
            .map_err(|e| after_create(e, &name, girder_core::Value::object()))?;
        Ok(TypedCreateResponse::new(
            name,
            observe(&ready, Some(&inputs)).outputs,
        ))
    }

    /// A create that stopped waiting (its deadline, a run cut short) resumes by waiting for
    /// ACTIVE again: a cluster that is still CREATING can be read, but is not ready.
    async fn resume_create(
        &self,
        clients: &AwsClients,
        req: TypedResumeRequest<ClusterInputs>,
        ctx: &CallContext,
    ) -> Result<Option<TypedCreateResponse<ClusterOutputs>>, ProviderError> {
        let eks = clients.eks().await?;
        let ready = wait_active(eks, ctx, &req.id).await?;
        Ok(Some(TypedCreateResponse::new(
            req.id,
            observe(&ready, Some(&req.inputs)).outputs,
        )))
    }

    async fn read(
        &self,
        clients: &AwsClients,
        req: TypedReadRequest<ClusterInputs>,
        _ctx: &CallContext,
    ) -> Result<TypedReadResponse<ClusterInputs, ClusterOutputs>, ProviderError> {
        let items = req.items;
        let eks = clients.eks().await?;
        let mut results = Vec::with_capacity(items.len());
        for item in &items {
            let cluster = describe(eks, &item.id).await?;
            results.push(
                cluster
                    .filter(|c| !matches!(c.status(), Some(ClusterStatus::Deleting)))
                    .map(|c| observe(&c, item.inputs.as_ref())),
            );
        }
        Ok(TypedReadResponse::new(results))
    }

    async fn update(
        &self,
        clients: &AwsClients,
        req: TypedUpdateRequest<ClusterInputs, ClusterOutputs>,
        ctx: &CallContext,
    ) -> Result<TypedUpdateResponse<ClusterOutputs>, ProviderError> {
        let TypedUpdateRequest { old, inputs, .. } = req;
        let eks = clients.eks().await?;
        let name = old.id.as_str();
        // EKS runs one update at a time per cluster: each is waited for before the next.
        if old.inputs.version != inputs.version
            && let Some(version) = &inputs.version
        {
            let out = eks
                .update_cluster_version()
                .name(name)
                .version(version)
                .send()
                .await
                .aws(&Call::new("UpdateClusterVersion", &old.identity))?;
            settle(eks, ctx, name, out.update().and_then(|u| u.id())).await?;
        }
        if old.inputs.endpoint_public_access != inputs.endpoint_public_access
            || old.inputs.endpoint_private_access != inputs.endpoint_private_access
            || old.inputs.public_access_cidrs != inputs.public_access_cidrs
        {
            let cidrs = if inputs.public_access_cidrs.is_empty() {
                vec!["0.0.0.0/0".to_owned()]
            } else {
                inputs.public_access_cidrs.clone()
            };
            let out = eks
                .update_cluster_config()
                .name(name)
                .resources_vpc_config(
                    VpcConfigRequest::builder()
                        .endpoint_public_access(inputs.endpoint_public_access)
                        .endpoint_private_access(inputs.endpoint_private_access)
                        .set_public_access_cidrs(Some(cidrs))
                        .build(),
                )
                .send()
                .await
                .aws(&Call::new("UpdateClusterConfig", &old.identity))?;
            settle(eks, ctx, name, out.update().and_then(|u| u.id())).await?;
        }
        if old.inputs.authentication_mode != inputs.authentication_mode
            && let Some(mode) = &inputs.authentication_mode
        {
            let out = eks
                .update_cluster_config()
                .name(name)
                .access_config(
                    aws_sdk_eks::types::UpdateAccessConfigRequest::builder()
                        .authentication_mode(aws_sdk_eks::types::AuthenticationMode::from(
                            mode.as_str(),
                        ))
                        .build(),
                )
                .send()
                .await
                .aws(&Call::new("UpdateClusterConfig", &old.identity))?;
            settle(eks, ctx, name, out.update().and_then(|u| u.id())).await?;
        }
        if old.inputs.enabled_log_types != inputs.enabled_log_types {
            let out = eks
                .update_cluster_config()
                .name(name)
                .logging(logging(&inputs.enabled_log_types))
                .send()
                .await
                .aws(&Call::new("UpdateClusterConfig", &old.identity))?;
            settle(eks, ctx, name, out.update().and_then(|u| u.id())).await?;
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
        let now = describe(eks, name).await?.ok_or_else(|| {
            ProviderError::not_found(format!("{} disappeared during its update", old.identity))
        })?;
        Ok(TypedUpdateResponse::new(
            observe(&now, Some(&inputs)).outputs,
        ))
    }

    async fn delete(
        &self,
        clients: &AwsClients,
        req: TypedDeleteRequest<ClusterInputs, ClusterOutputs>,
        ctx: &CallContext,
    ) -> Result<(), ProviderError> {
        let old = req.old;
        let eks = clients.eks().await?;
        match eks
            .delete_cluster()
            .name(&old.id)
            .send()
            .await
            .aws(&Call::deleting("DeleteCluster", &old.identity))
        {
            // Gone already (a retried delete): what it left may still be there.
            Err(e) if is_not_found(&e) => {}
            // Nodegroups or add-ons still being deleted: EKS refuses until they are gone.
            Err(e) if has_code(&e, "ResourceInUseException") => {
                return Err(ProviderError {
                    kind: ErrorKind::Retryable,
                    ..e
                });
            }
            Err(e) => return Err(e),
            Ok(_) => {}
        }
        wait_until(
            ctx,
            &format!("EKS cluster {} to be deleted", old.id),
            SLOW.0,
            Duration::from_secs(30),
            || async {
                Ok(match describe(eks, &old.id).await? {
                    None => Poll::Ready(()),
                    Some(c) => Poll::Pending(
                        c.status()
                            .map(|s| s.as_str().to_owned())
                            .unwrap_or_default(),
                    ),
                })
            },
        )
        .await?;
        // Its controllers' load balancers, security groups and interfaces would otherwise
        // hold the network for ever; nothing can remake them now.
        sweep::sweep(clients, &old.id, ctx).await?;
        Ok(())
    }

    async fn find(
        &self,
        clients: &AwsClients,
        req: TypedFindRequest,
        _ctx: &CallContext,
    ) -> Result<TypedFindResponse<ClusterInputs, ClusterOutputs>, ProviderError> {
        let identity = req.identity;
        // What a create still open in this process made is that create's to adopt (by
        // name): it waits until ACTIVE, which an adoption here would skip.
        if clients.attempts().open_token(&identity).is_some() {
            return Ok(TypedFindResponse::none());
        }
        let eks = clients.eks().await?;
        let names: Vec<String> = eks
            .list_clusters()
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .aws(&Call::new("ListClusters", "EKS clusters"))?;
        let mut found = Vec::new();
        for name in names {
            if let Some(cluster) = describe(eks, &name).await?
                && tagged_as(cluster.tags(), &identity)
            {
                found.push(TypedFound::new(name, observe(&cluster, None)));
            }
        }
        Ok(TypedFindResponse::new(found))
    }
}
