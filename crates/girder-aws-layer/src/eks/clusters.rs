//! Clusters and nodegroups: moto keeps them, the layer overlays their lifecycles, versions,
//! `accessConfig` and hosted endpoints, and serves the version updates and update tracking
//! moto lacks.

use std::time::SystemTime;

use base64::Engine as _;
use serde_json::{Value, json};

use super::catalog::{KUBERNETES_VERSIONS, minor};
use super::{AccessConfig, ClusterRecord, Hosting, NodegroupRecord, Phase, UpdateRecord};
use crate::behaviours::Ctx;
use crate::clock::epoch_seconds;
use crate::protocol::AwsError;

/// The Kubernetes version of a cluster created without one (the newest in standard support).
pub(crate) const DEFAULT_KUBERNETES_VERSION: &str = "1.35";

pub(crate) fn not_found(name: &str) -> AwsError {
    AwsError::new(
        404,
        "ResourceNotFoundException",
        format!("No cluster found for name: {name}."),
    )
}

pub(crate) fn invalid_parameter(message: impl Into<String>) -> AwsError {
    AwsError::new(400, "InvalidParameterException", message)
}

pub(crate) fn invalid_request(message: impl Into<String>) -> AwsError {
    AwsError::new(400, "InvalidRequestException", message)
}

fn lifecycle_secs<'a>(ctx: &Ctx<'a>) -> &'a crate::config::Lifecycle {
    &ctx.behaviours.lifecycle
}

/// Whether an update is still in progress.
pub(crate) fn in_progress(ctx: &Ctx<'_>, update: &UpdateRecord) -> bool {
    let l = lifecycle_secs(ctx);
    let secs = if update.addon.is_some() {
        l.eks_addon_update_secs
    } else if update.nodegroup.is_some() {
        l.eks_nodegroup_update_secs
    } else {
        l.eks_cluster_update_secs
    };
    l.enabled && ctx.within(Some(update.created), secs)
}

/// The update in progress on the cluster itself, if any.
pub(crate) fn cluster_update_in_progress<'a>(
    ctx: &Ctx<'_>,
    record: &'a ClusterRecord,
) -> Option<&'a UpdateRecord> {
    record
        .updates
        .iter()
        .find(|u| u.nodegroup.is_none() && u.addon.is_none() && in_progress(ctx, u))
}

/// The cluster's phase now.
pub(crate) fn cluster_phase(ctx: &Ctx<'_>, record: &ClusterRecord) -> Phase {
    let l = lifecycle_secs(ctx);
    Phase::of(
        ctx,
        record.created,
        record.deleted,
        (l.eks_cluster_create_secs, l.eks_cluster_delete_secs),
        cluster_update_in_progress(ctx, record).is_some(),
    )
}

/// The last value of `param` in finished version updates of the target, if any.
fn updated(
    ctx: &Ctx<'_>,
    record: &ClusterRecord,
    nodegroup: Option<&str>,
    param: &str,
) -> Option<String> {
    record
        .updates
        .iter()
        .filter(|u| {
            u.kind == "VersionUpdate"
                && u.addon.is_none()
                && u.nodegroup.as_deref() == nodegroup
                && !in_progress(ctx, u)
        })
        .filter_map(|u| {
            u.params
                .iter()
                .find(|(t, _)| t == param)
                .map(|(_, v)| v.clone())
        })
        .next_back()
}

/// The cluster's Kubernetes version now.
pub(crate) fn cluster_version(ctx: &Ctx<'_>, record: &ClusterRecord) -> String {
    updated(ctx, record, None, "Version").unwrap_or_else(|| {
        record
            .copy
            .get("version")
            .and_then(Value::as_str)
            .unwrap_or(DEFAULT_KUBERNETES_VERSION)
            .to_owned()
    })
}

/// The cluster as DescribeCluster reports it now.
pub(crate) fn cluster_json(ctx: &Ctx<'_>, record: &ClusterRecord) -> Value {
    let mut cluster = record.copy.clone();
    let mut phase = cluster_phase(ctx, record);
    if phase == Phase::Active && record.hosting == Hosting::Starting {
        // The host is still starting the control plane: not ACTIVE without an endpoint.
        phase = Phase::Creating;
    }
    cluster["status"] = json!(phase.status());
    cluster["version"] = json!(cluster_version(ctx, record));
    cluster["accessConfig"] = json!(record.access);
    if let Some(platform) = updated(ctx, record, None, "PlatformVersion") {
        cluster["platformVersion"] = json!(platform);
    }
    if let Some(object) = cluster.as_object_mut()
        && phase == Phase::Creating
    {
        // EKS has no endpoint or CA until the control plane is up.
        object.remove("endpoint");
        object.insert("certificateAuthority".into(), json!({}));
    }
    if let Hosting::Serving(Some(endpoint)) = &record.hosting
        && matches!(phase, Phase::Active | Phase::Updating)
    {
        cluster["endpoint"] = json!(endpoint.url);
        if !endpoint.ca_pem.is_empty() {
            cluster["certificateAuthority"] = json!({
                "data": base64::engine::general_purpose::STANDARD.encode(&endpoint.ca_pem),
            });
        }
    }
    cluster
}

/// A record for a cluster moto just created (or that the layer meets for the first time,
/// `created` then lies in the past).
pub(crate) fn new_record(
    cluster: &Value,
    region: &str,
    created: SystemTime,
    access: AccessConfig,
) -> ClusterRecord {
    ClusterRecord {
        arn: cluster
            .get("arn")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        region: region.to_owned(),
        created,
        deleted: None,
        copy: cluster.clone(),
        access,
        updates: Vec::new(),
        nodegroups: Default::default(),
        addons: Default::default(),
        entries: Default::default(),
        hosting: Hosting::Waiting,
        creator: None,
    }
}

/// The `accessConfig` of a CreateCluster request, checked.
pub(crate) fn requested_access(request: &Value) -> Result<AccessConfig, AwsError> {
    let access = request.get("accessConfig");
    let mode = access
        .and_then(|a| a.get("authenticationMode"))
        .and_then(Value::as_str)
        .unwrap_or("CONFIG_MAP");
    if !["CONFIG_MAP", "API", "API_AND_CONFIG_MAP"].contains(&mode) {
        return Err(invalid_parameter(format!(
            "The authenticationMode {mode} is invalid; use one of API, API_AND_CONFIG_MAP, CONFIG_MAP"
        )));
    }
    let bootstrap = access
        .and_then(|a| a.get("bootstrapClusterCreatorAdminPermissions"))
        .and_then(Value::as_bool)
        .unwrap_or(true);
    if mode == "CONFIG_MAP" && !bootstrap {
        return Err(invalid_parameter(
            "bootstrapClusterCreatorAdminPermissions must be true if cluster authentication mode is set to CONFIG_MAP",
        ));
    }
    if let Some(version) = request.get("version").and_then(Value::as_str)
        && !KUBERNETES_VERSIONS.contains(&version)
    {
        return Err(invalid_parameter(format!(
            "unsupported Kubernetes version {version}; EKS runs {}",
            KUBERNETES_VERSIONS.join(", ")
        )));
    }
    Ok(AccessConfig {
        authentication_mode: mode.to_owned(),
        bootstrap_cluster_creator_admin_permissions: bootstrap,
    })
}

/// An update as DescribeUpdate reports it.
pub(crate) fn update_json(ctx: &Ctx<'_>, update: &UpdateRecord) -> Value {
    json!({
        "id": update.id,
        "status": if in_progress(ctx, update) { "InProgress" } else { "Successful" },
        "type": update.kind,
        "params": update.params.iter()
            .map(|(t, v)| json!({ "type": t, "value": v }))
            .collect::<Vec<_>>(),
        "createdAt": epoch_seconds(update.created),
        "errors": [],
    })
}

/// A new update record.
pub(crate) fn new_update(
    ctx: &Ctx<'_>,
    id: Option<String>,
    kind: &str,
    params: Vec<(String, String)>,
    target: (Option<&str>, Option<&str>),
) -> UpdateRecord {
    UpdateRecord {
        id: id.unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
        kind: kind.to_owned(),
        params,
        created: ctx.now,
        nodegroup: target.0.map(str::to_owned),
        addon: target.1.map(str::to_owned),
    }
}

/// An update's parameters: `(type, value)` pairs.
pub(crate) type UpdateParams = Vec<(String, String)>;

/// The kind and parameters of an UpdateClusterConfig request; refuses mixed updates as EKS
/// does.
pub(crate) fn config_update_kind(body: &Value) -> Result<(&'static str, UpdateParams), AwsError> {
    let has = |k: &str| body.get(k).is_some_and(|v| !v.is_null());
    let kinds = [
        "resourcesVpcConfig",
        "logging",
        "accessConfig",
        "upgradePolicy",
        "kubernetesNetworkConfig",
    ]
    .into_iter()
    .filter(|k| has(k))
    .count();
    if kinds > 1 {
        return Err(invalid_parameter("Only one type of update can be allowed."));
    }
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if let Some(vpc) = body.get("resourcesVpcConfig").filter(|v| !v.is_null()) {
        let endpoint_keys = [
            ("endpointPublicAccess", "EndpointPublicAccess"),
            ("endpointPrivateAccess", "EndpointPrivateAccess"),
            ("publicAccessCidrs", "PublicAccessCidrs"),
        ];
        let params: Vec<(String, String)> = endpoint_keys
            .iter()
            .filter_map(|(k, t)| vpc.get(*k).map(|v| ((*t).to_owned(), text(v))))
            .collect();
        if !params.is_empty() {
            return Ok(("EndpointAccessUpdate", params));
        }
        let vpc_keys = [
            ("subnetIds", "Subnets"),
            ("securityGroupIds", "SecurityGroups"),
        ];
        let params = vpc_keys
            .iter()
            .filter_map(|(k, t)| vpc.get(*k).map(|v| ((*t).to_owned(), text(v))))
            .collect();
        return Ok(("VpcConfigUpdate", params));
    }
    if let Some(logging) = body.get("logging").filter(|v| !v.is_null()) {
        return Ok((
            "LoggingUpdate",
            vec![("ClusterLogging".into(), logging.to_string())],
        ));
    }
    if let Some(access) = body.get("accessConfig").filter(|v| !v.is_null()) {
        if access
            .get("bootstrapClusterCreatorAdminPermissions")
            .is_some()
        {
            return Err(invalid_parameter(
                "bootstrapClusterCreatorAdminPermissions can only be set when the cluster is created",
            ));
        }
        let mode = access
            .get("authenticationMode")
            .and_then(Value::as_str)
            .unwrap_or_default();
        return Ok((
            "AccessConfigUpdate",
            vec![("AuthenticationMode".into(), mode.to_owned())],
        ));
    }
    if let Some(policy) = body.get("upgradePolicy").filter(|v| !v.is_null()) {
        return Ok((
            "UpgradePolicyUpdate",
            vec![("UpgradePolicy".into(), policy.to_string())],
        ));
    }
    Ok(("ConfigUpdate", Vec::new()))
}

/// Applies an authentication mode change: only towards `API`, one step or two, never back.
pub(crate) fn change_mode(record: &mut ClusterRecord, mode: &str) -> Result<(), AwsError> {
    let rank = |m: &str| {
        ["CONFIG_MAP", "API_AND_CONFIG_MAP", "API"]
            .iter()
            .position(|x| *x == m)
    };
    let old = record.access.authentication_mode.clone();
    match (rank(&old), rank(mode)) {
        (Some(from), Some(to)) if to > from => {
            record.access.authentication_mode = mode.to_owned();
            Ok(())
        }
        _ => Err(invalid_parameter(format!(
            "Unsupported authentication mode update from {old} to {mode}"
        ))),
    }
}

/// Refuses a cluster update while the cluster is not ACTIVE, as EKS does.
pub(crate) fn guard_cluster_update(
    ctx: &Ctx<'_>,
    name: &str,
    record: &ClusterRecord,
    kind: &str,
) -> Result<(), AwsError> {
    if let Some(update) = cluster_update_in_progress(ctx, record) {
        return Err(invalid_request(format!(
            "Cannot {kind} because cluster {name} currently has update {} in progress",
            update.id
        )));
    }
    match cluster_phase(ctx, record) {
        Phase::Active => Ok(()),
        Phase::Gone => Err(not_found(name)),
        _ => Err(invalid_request(format!(
            "Cluster '{name}' is not in ACTIVE status"
        ))),
    }
}

/// Checks an UpdateClusterVersion target: one minor version up, and a version EKS runs.
pub(crate) fn check_version_step(current: &str, wanted: &str) -> Result<(), AwsError> {
    if !KUBERNETES_VERSIONS.contains(&wanted) || minor(wanted) != minor(current) + 1 {
        return Err(invalid_parameter(format!(
            "Unsupported Kubernetes minor version update from {current} to {wanted}"
        )));
    }
    Ok(())
}

/// The platform version EKS reports for a Kubernetes version.
pub(crate) fn platform_version(k8s: &str) -> String {
    format!("eks.{}", 40 - minor(k8s).min(36))
}

/// A nodegroup's phase now.
pub(crate) fn nodegroup_phase(ctx: &Ctx<'_>, record: &ClusterRecord, name: &str) -> Option<Phase> {
    let ng = record.nodegroups.get(name)?;
    let l = lifecycle_secs(ctx);
    let updating = record
        .updates
        .iter()
        .any(|u| u.nodegroup.as_deref() == Some(name) && in_progress(ctx, u));
    Some(Phase::of(
        ctx,
        ng.created,
        ng.deleted,
        (l.eks_nodegroup_create_secs, l.eks_nodegroup_delete_secs),
        updating,
    ))
}

/// A nodegroup as DescribeNodegroup reports it now.
pub(crate) fn nodegroup_json(ctx: &Ctx<'_>, record: &ClusterRecord, name: &str) -> Option<Value> {
    let ng: &NodegroupRecord = record.nodegroups.get(name)?;
    let mut copy = ng.copy.clone();
    copy["status"] = json!(nodegroup_phase(ctx, record, name)?.status());
    let version = updated(ctx, record, Some(name), "Version").unwrap_or_else(|| {
        copy.get("version")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .unwrap_or_else(|| cluster_version(ctx, record))
    });
    let release = updated(ctx, record, Some(name), "ReleaseVersion")
        .unwrap_or_else(|| release_version(&version));
    copy["version"] = json!(version);
    copy["releaseVersion"] = json!(release);
    Some(copy)
}

/// The AMI release EKS reports for a Kubernetes version.
pub(crate) fn release_version(k8s: &str) -> String {
    format!("{k8s}.0-20261118")
}
