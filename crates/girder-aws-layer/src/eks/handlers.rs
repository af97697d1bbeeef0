//! Where EKS requests meet the registry: before moto (guards and what the layer serves)
//! and after moto (records, overlays, `DELETING` copies), and the cluster host calls.

use std::time::SystemTime;

use http::Method;
use serde_json::{Value, json};

use super::access::{association, new_entry};
use super::clusters::{
    DEFAULT_KUBERNETES_VERSION, change_mode, check_version_step, cluster_json, cluster_phase,
    cluster_version, config_update_kind, guard_cluster_update, in_progress, invalid_request,
    new_record, new_update, nodegroup_json, nodegroup_phase, not_found, platform_version,
    release_version, requested_access, update_json,
};
use super::{AccessConfig, Hosting, NodegroupRecord, Phase, access, addons, principal_of};
use crate::behaviours::Ctx;
use crate::host::ClusterInfo;
use crate::layer::Shared;
use crate::protocol::{AwsError, AwsRequest, Service};
use crate::reply::Reply;

/// Operations the layer answers itself (given a cluster name).
const SERVED: [&str; 18] = [
    "UpdateClusterVersion",
    "UpdateNodegroupVersion",
    "DescribeUpdate",
    "ListUpdates",
    "CreateAddon",
    "DescribeAddon",
    "ListAddons",
    "UpdateAddon",
    "DeleteAddon",
    "CreateAccessEntry",
    "DescribeAccessEntry",
    "ListAccessEntries",
    "UpdateAccessEntry",
    "DeleteAccessEntry",
    "AssociateAccessPolicy",
    "DisassociateAccessPolicy",
    "ListAssociatedAccessPolicies",
    "UpdateClusterConfig",
];

/// Operations moto answers, after the layer's lifecycle guards.
const GUARDED: [&str; 4] = [
    "CreateNodegroup",
    "CreateFargateProfile",
    "DeleteCluster",
    "UpdateNodegroupConfig",
];

fn encode(segment: &str) -> String {
    percent_encoding::utf8_percent_encode(segment, percent_encoding::NON_ALPHANUMERIC).to_string()
}

fn nodegroup_not_found(name: &str) -> AwsError {
    AwsError::new(
        404,
        "ResourceNotFoundException",
        format!("No node group found for name: {name}."),
    )
}

/// Makes sure the registry has the cluster (one moto made without the layer is adopted as
/// long ACTIVE).
async fn ensure_cluster(shared: &Shared, ctx: &Ctx<'_>, name: &str) -> Result<(), AwsError> {
    if let Some(record) = shared.eks.read().get(name) {
        return match cluster_phase(ctx, record) {
            Phase::Gone => Err(not_found(name)),
            _ => Ok(()),
        };
    }
    let reply = shared
        .upstream
        .call_as(
            ctx.request,
            "eks",
            Method::GET,
            &format!("/clusters/{}", encode(name)),
            None,
        )
        .await;
    let cluster = reply
        .is_success()
        .then(|| reply.body_json())
        .flatten()
        .and_then(|b| b.get("cluster").cloned())
        .ok_or_else(|| not_found(name))?;
    let access = AccessConfig {
        authentication_mode: "CONFIG_MAP".into(),
        bootstrap_cluster_creator_admin_permissions: true,
    };
    shared
        .eks
        .write()
        .entry(name.to_owned())
        .or_insert_with(|| {
            new_record(
                &cluster,
                &ctx.request.region,
                SystemTime::UNIX_EPOCH,
                access,
            )
        });
    Ok(())
}

/// Makes sure the registry has the nodegroup.
async fn ensure_nodegroup(
    shared: &Shared,
    ctx: &Ctx<'_>,
    cluster: &str,
    name: &str,
) -> Result<(), AwsError> {
    if shared
        .eks
        .read()
        .get(cluster)
        .is_some_and(|c| c.nodegroups.contains_key(name))
    {
        return Ok(());
    }
    let path = format!("/clusters/{}/node-groups/{}", encode(cluster), encode(name));
    let reply = shared
        .upstream
        .call_as(ctx.request, "eks", Method::GET, &path, None)
        .await;
    let copy = reply
        .is_success()
        .then(|| reply.body_json())
        .flatten()
        .and_then(|b| b.get("nodegroup").cloned())
        .ok_or_else(|| nodegroup_not_found(name))?;
    if let Some(record) = shared.eks.write().get_mut(cluster) {
        record
            .nodegroups
            .entry(name.to_owned())
            .or_insert(NodegroupRecord {
                created: SystemTime::UNIX_EPOCH,
                deleted: None,
                copy,
            });
    }
    Ok(())
}

/// Before moto: refuses what EKS would refuse, and answers what the layer serves.
pub(crate) async fn before(shared: &Shared, ctx: &Ctx<'_>) -> Result<Option<Reply>, AwsError> {
    let request = ctx.request;
    if request.service != Service::Eks {
        return Ok(None);
    }
    let op = request.operation.as_str();
    match op {
        "CreateCluster" => return requested_access(&request.json).map(|_| None),
        "DescribeAddonVersions" => return Ok(Some(addons::describe_versions(ctx))),
        "ListAccessPolicies" => return Ok(Some(access::list_policies())),
        _ => {}
    }
    let Some(name) = request.path_param("name").map(str::to_owned) else {
        return Ok(None);
    };
    if SERVED.contains(&op) {
        ensure_cluster(shared, ctx, &name).await?;
    } else if !GUARDED.contains(&op) || !shared.eks.read().contains_key(&name) {
        return Ok(None);
    }
    if op == "UpdateNodegroupVersion" {
        let nodegroup = request.path_param("nodegroupName").unwrap_or_default();
        ensure_nodegroup(shared, ctx, &name, nodegroup).await?;
    }
    let lifecycles = ctx.behaviours.lifecycle.enabled;
    let mut clusters = shared.eks.write();
    let record = clusters.get_mut(&name).ok_or_else(|| not_found(&name))?;
    let not_active = || invalid_request(format!("Cluster '{name}' is not in ACTIVE status"));
    match op {
        "CreateNodegroup" | "CreateFargateProfile" => match cluster_phase(ctx, record) {
            Phase::Active | Phase::Updating => Ok(None),
            Phase::Gone => Err(not_found(&name)),
            _ => Err(not_active()),
        },
        "DeleteCluster" => {
            let draining = record
                .nodegroups
                .keys()
                .any(|ng| nodegroup_phase(ctx, record, ng) == Some(Phase::Deleting));
            if lifecycles && draining {
                return Err(AwsError::new(
                    409,
                    "ResourceInUseException",
                    "Cluster has nodegroups attached",
                ));
            }
            Ok(None)
        }
        "UpdateNodegroupConfig" => {
            let nodegroup = request.path_param("nodegroupName").unwrap_or_default();
            match nodegroup_phase(ctx, record, nodegroup) {
                Some(Phase::Active) | None => Ok(None),
                Some(_) => Err(AwsError::new(
                    409,
                    "ResourceInUseException",
                    format!(
                        "Nodegroup {nodegroup} cannot be updated as it is currently not in Active State"
                    ),
                )),
            }
        }
        "UpdateClusterConfig" => {
            let (kind, params) = config_update_kind(&request.json)?;
            guard_cluster_update(ctx, &name, record, kind)?;
            if kind != "AccessConfigUpdate" {
                return Ok(None);
            }
            change_mode(record, &params[0].1)?;
            let update = new_update(ctx, None, kind, params, (None, None));
            let value = update_json(ctx, &update);
            record.updates.push(update);
            Ok(Some(Reply::json(200, &json!({ "update": value }))))
        }
        "UpdateClusterVersion" => {
            guard_cluster_update(ctx, &name, record, "VersionUpdate")?;
            let wanted = request.json_str("version").unwrap_or_default();
            check_version_step(&cluster_version(ctx, record), wanted)?;
            let params = vec![
                ("Version".to_owned(), wanted.to_owned()),
                ("PlatformVersion".to_owned(), platform_version(wanted)),
            ];
            let update = new_update(ctx, None, "VersionUpdate", params, (None, None));
            let value = update_json(ctx, &update);
            record.updates.push(update);
            Ok(Some(Reply::json(200, &json!({ "update": value }))))
        }
        "UpdateNodegroupVersion" => {
            let nodegroup = request
                .path_param("nodegroupName")
                .unwrap_or_default()
                .to_owned();
            match nodegroup_phase(ctx, record, &nodegroup) {
                Some(Phase::Active) => {}
                Some(Phase::Gone) | None => return Err(nodegroup_not_found(&nodegroup)),
                Some(_) => {
                    return Err(AwsError::new(
                        409,
                        "ResourceInUseException",
                        format!(
                            "Nodegroup {nodegroup} cannot be updated as it is currently not in Active State"
                        ),
                    ));
                }
            }
            let cluster_k8s = cluster_version(ctx, record);
            let version = request
                .json_str("version")
                .unwrap_or(&cluster_k8s)
                .to_owned();
            if super::catalog::minor(&version) > super::catalog::minor(&cluster_k8s) {
                return Err(super::clusters::invalid_parameter(format!(
                    "Requested Nodegroup version {version} is newer than the cluster version {cluster_k8s}"
                )));
            }
            let release = request
                .json_str("releaseVersion")
                .map(str::to_owned)
                .unwrap_or_else(|| release_version(&version));
            let params = vec![
                ("Version".to_owned(), version),
                ("ReleaseVersion".to_owned(), release),
            ];
            let update = new_update(ctx, None, "VersionUpdate", params, (Some(&nodegroup), None));
            let value = update_json(ctx, &update);
            record.updates.push(update);
            Ok(Some(Reply::json(200, &json!({ "update": value }))))
        }
        "DescribeUpdate" | "ListUpdates" => {
            let query: Vec<(String, String)> = request
                .query
                .as_deref()
                .map(|q| {
                    url::form_urlencoded::parse(q.as_bytes())
                        .into_owned()
                        .collect()
                })
                .unwrap_or_default();
            let get = |k: &str| query.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
            let (nodegroup, addon) = (get("nodegroupName"), get("addonName"));
            let mine = record
                .updates
                .iter()
                .filter(|u| u.nodegroup == nodegroup && u.addon == addon);
            if op == "ListUpdates" {
                let ids: Vec<&str> = mine.map(|u| u.id.as_str()).collect();
                return Ok(Some(Reply::json(200, &json!({ "updateIds": ids }))));
            }
            let id = request.path_param("updateId").unwrap_or_default();
            let update = record
                .updates
                .iter()
                .find(|u| u.id == id && u.nodegroup == nodegroup && u.addon == addon)
                .ok_or_else(|| {
                    AwsError::new(
                        404,
                        "ResourceNotFoundException",
                        format!("No update found for ID: {id}"),
                    )
                })?;
            Ok(Some(Reply::json(
                200,
                &json!({ "update": update_json(ctx, update) }),
            )))
        }
        op if op.contains("Addon") => addons::handle(ctx, &name, record).map(Some),
        _ => access::handle(ctx, &name, record).map(Some),
    }
}

/// After moto: records what happened and overlays lifecycles; answers whether a status was
/// rewritten to a transitional one (the lifecycle behaviour fired).
pub(crate) async fn after(shared: &Shared, ctx: &Ctx<'_>, reply: &mut Reply) -> bool {
    let request = ctx.request;
    if request.service != Service::Eks {
        return false;
    }
    let op = request.operation.as_str();
    let name = request
        .path_param("name")
        .or_else(|| request.json_str("name"))
        .unwrap_or_default()
        .to_owned();
    if op == "CreateCluster" && reply.is_success() {
        return created_cluster(shared, ctx, &name, reply).await;
    }
    if op == "DescribeCluster" {
        // A cluster ACTIVE by now is served before it is described, so its first ACTIVE
        // description already names the endpoint and CA, as EKS's does.
        sweep(shared, ctx.behaviours, ctx.now).await;
    }
    let mut body = reply.body_json().unwrap_or(Value::Null);
    let mut clusters = shared.eks.write();
    if op == "ListClusters" && reply.is_success() {
        let deleting: Vec<String> = clusters
            .iter()
            .filter(|(_, r)| cluster_phase(ctx, r) == Phase::Deleting)
            .map(|(n, _)| n.clone())
            .collect();
        return add_deleting(&mut body, "clusters", deleting.into_iter(), reply);
    }
    let Some(record) = clusters.get_mut(&name) else {
        return false;
    };
    let nodegroup = request
        .path_param("nodegroupName")
        .or_else(|| request.json_str("nodegroupName"))
        .unwrap_or_default()
        .to_owned();
    let transitional = |v: &Value| {
        v.get("status")
            .and_then(Value::as_str)
            .is_some_and(|s| s != "ACTIVE")
    };
    match (op, reply.status.as_u16()) {
        ("DescribeCluster", 200) | ("DeleteCluster", 200) => {
            if let Some(fresh) = body.get("cluster") {
                let version = record.copy.get("version").cloned();
                record.copy = fresh.clone();
                if let Some(version) = version {
                    record.copy["version"] = version;
                }
            }
            if op == "DeleteCluster" && record.deleted.is_none() {
                record.deleted = Some(ctx.now);
                for addon in record.addons.values_mut() {
                    addon.deleted_at.get_or_insert(ctx.now);
                }
            }
            let cluster = cluster_json(ctx, record);
            let fired = transitional(&cluster);
            body["cluster"] = cluster;
            reply.set_json(&body);
            fired
        }
        ("DescribeCluster", 404) if cluster_phase(ctx, record) == Phase::Deleting => {
            *reply = Reply::json(200, &json!({ "cluster": cluster_json(ctx, record) }));
            true
        }
        ("UpdateClusterConfig", 200) => {
            let (kind, params) =
                config_update_kind(&request.json).unwrap_or(("ConfigUpdate", Vec::new()));
            let update = new_update(ctx, None, kind, params, (None, None));
            *reply = Reply::json(200, &json!({ "update": update_json(ctx, &update) }));
            record.updates.push(update);
            ctx.behaviours.lifecycle.enabled
        }
        ("CreateNodegroup", 200) => {
            let mut copy = body.get("nodegroup").cloned().unwrap_or(Value::Null);
            let version = request
                .json_str("version")
                .map(str::to_owned)
                .unwrap_or_else(|| cluster_version(ctx, record));
            copy["version"] = json!(version);
            record.nodegroups.insert(
                nodegroup.clone(),
                NodegroupRecord {
                    created: ctx.now,
                    deleted: None,
                    copy,
                },
            );
            // EKS gives a managed nodegroup's role an EC2_LINUX access entry itself.
            if let Some(role) = request.json_str("nodeRole")
                && record.access.uses_access_entries()
                && !record.entries.contains_key(role)
                && let Ok(entry) =
                    new_entry(&name, record, role, "EC2_LINUX", Vec::new(), None, ctx.now)
            {
                record.entries.insert(role.to_owned(), entry);
            }
            overlay_nodegroup(ctx, record, &nodegroup, &mut body, reply)
        }
        ("DescribeNodegroup", 200) | ("DeleteNodegroup", 200) => {
            let Some(ng) = record.nodegroups.get_mut(&nodegroup) else {
                return false;
            };
            if let Some(fresh) = body.get("nodegroup") {
                let version = ng.copy.get("version").cloned();
                ng.copy = fresh.clone();
                if let Some(version) = version {
                    ng.copy["version"] = version;
                }
            }
            if op == "DeleteNodegroup" && ng.deleted.is_none() {
                ng.deleted = Some(ctx.now);
            }
            overlay_nodegroup(ctx, record, &nodegroup, &mut body, reply)
        }
        ("DescribeNodegroup", 404)
            if nodegroup_phase(ctx, record, &nodegroup) == Some(Phase::Deleting) =>
        {
            let Some(ng) = nodegroup_json(ctx, record, &nodegroup) else {
                return false;
            };
            *reply = Reply::json(200, &json!({ "nodegroup": ng }));
            true
        }
        ("ListNodegroups", 200) => {
            let deleting: Vec<String> = record
                .nodegroups
                .keys()
                .filter(|ng| nodegroup_phase(ctx, record, ng) == Some(Phase::Deleting))
                .cloned()
                .collect();
            add_deleting(&mut body, "nodegroups", deleting.into_iter(), reply)
        }
        ("UpdateNodegroupConfig", 200) => {
            let id = body
                .pointer("/update/id")
                .and_then(Value::as_str)
                .map(str::to_owned);
            let kind = body
                .pointer("/update/type")
                .and_then(Value::as_str)
                .unwrap_or("ConfigUpdate")
                .to_owned();
            let params = body
                .pointer("/update/params")
                .and_then(Value::as_array)
                .map(|list| {
                    list.iter()
                        .filter_map(|p| {
                            Some((
                                p.get("type")?.as_str()?.to_owned(),
                                p.get("value")?.as_str()?.to_owned(),
                            ))
                        })
                        .collect()
                })
                .unwrap_or_default();
            let update = new_update(ctx, id, &kind, params, (Some(&nodegroup), None));
            *reply = Reply::json(200, &json!({ "update": update_json(ctx, &update) }));
            let fired = in_progress(ctx, &update);
            record.updates.push(update);
            fired
        }
        _ => false,
    }
}

fn overlay_nodegroup(
    ctx: &Ctx<'_>,
    record: &super::ClusterRecord,
    nodegroup: &str,
    body: &mut Value,
    reply: &mut Reply,
) -> bool {
    let Some(ng) = nodegroup_json(ctx, record, nodegroup) else {
        return false;
    };
    let fired = ng.get("status").and_then(Value::as_str) != Some("ACTIVE");
    body["nodegroup"] = ng;
    reply.set_json(body);
    fired
}

fn add_deleting(
    body: &mut Value,
    field: &str,
    deleting: impl Iterator<Item = String>,
    reply: &mut Reply,
) -> bool {
    let Some(list) = body.get_mut(field).and_then(Value::as_array_mut) else {
        return false;
    };
    let mut added = false;
    for name in deleting {
        if !list.iter().any(|v| v.as_str() == Some(name.as_str())) {
            list.push(json!(name));
            added = true;
        }
    }
    if added {
        reply.set_json(body);
    }
    added
}

/// CreateCluster succeeded upstream: record it, bootstrap the creator's access entry, and
/// report it `CREATING`.
async fn created_cluster(shared: &Shared, ctx: &Ctx<'_>, name: &str, reply: &mut Reply) -> bool {
    let request = ctx.request;
    let Some(mut body) = reply.body_json() else {
        return false;
    };
    let access = requested_access(&request.json).unwrap_or(AccessConfig {
        authentication_mode: "CONFIG_MAP".into(),
        bootstrap_cluster_creator_admin_permissions: true,
    });
    // The creator is admin through an access entry (when bootstrapped) or, in CONFIG_MAP
    // mode, through EKS's hidden mapping; either way the record remembers who it is.
    let creator = shared
        .upstream
        .caller_arn(request)
        .await
        .map(|arn| principal_of(&arn));
    let mut cluster = body.get("cluster").cloned().unwrap_or(Value::Null);
    if request.json_str("version").is_none() {
        cluster["version"] = json!(DEFAULT_KUBERNETES_VERSION);
    }
    let bootstrap =
        access.bootstrap_cluster_creator_admin_permissions && access.uses_access_entries();
    let mut record = new_record(&cluster, &request.region, ctx.now, access);
    record.creator = creator.clone();
    if let Some(principal) = creator.filter(|_| bootstrap)
        && let Ok(mut entry) = new_entry(
            name,
            &record,
            &principal,
            "STANDARD",
            Vec::new(),
            None,
            ctx.now,
        )
        && let Ok(admin) = association(
            "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy",
            None,
            ctx.now,
        )
    {
        entry.policies.push(admin);
        record.entries.insert(principal, entry);
    }
    let shown = cluster_json(ctx, &record);
    let fired = shown.get("status").and_then(Value::as_str) != Some("ACTIVE");
    body["cluster"] = shown;
    reply.set_json(&body);
    let replaced = shared.eks.write().insert(name.to_owned(), record);
    if let (Some(old), Some(host)) = (replaced, shared.host.clone())
        && matches!(old.hosting, Hosting::Serving(_) | Hosting::Starting)
    {
        let name = name.to_owned();
        let _ = tokio::task::spawn_blocking(move || host.cluster_deleted(&name)).await;
    }
    fired
}

/// Tells the cluster host about clusters that became ACTIVE or are gone.
pub(crate) async fn sweep(
    shared: &Shared,
    behaviours: &crate::config::Behaviours,
    now: SystemTime,
) {
    let Some(host) = shared.host.clone() else {
        return;
    };
    let placeholder = AwsRequest::parse(
        Method::GET,
        &http::Uri::from_static("/"),
        Default::default(),
        Default::default(),
    );
    let ctx = Ctx {
        behaviours,
        now,
        request: &placeholder,
    };
    let mut start = Vec::new();
    let mut stop = Vec::new();
    {
        let mut clusters = shared.eks.write();
        for (name, record) in clusters.iter_mut() {
            match (&record.hosting, cluster_phase(&ctx, record)) {
                (Hosting::Waiting, Phase::Active | Phase::Updating) => {
                    record.hosting = Hosting::Starting;
                    start.push(ClusterInfo {
                        name: name.clone(),
                        arn: record.arn.clone(),
                        version: cluster_version(&ctx, record),
                        region: record.region.clone(),
                        subnet_ids: record
                            .copy
                            .pointer("/resourcesVpcConfig/subnetIds")
                            .and_then(Value::as_array)
                            .map(|ids| {
                                ids.iter()
                                    .filter_map(Value::as_str)
                                    .map(str::to_owned)
                                    .collect()
                            })
                            .unwrap_or_default(),
                    });
                }
                (Hosting::Serving(_), Phase::Gone) => {
                    record.hosting = Hosting::Stopped;
                    stop.push(name.clone());
                }
                _ => {}
            }
        }
    }
    for info in start {
        let asked = host.clone();
        let name = info.name.clone();
        let endpoint = tokio::task::spawn_blocking(move || asked.cluster_active(&info))
            .await
            .ok()
            .flatten();
        if let Some(record) = shared.eks.write().get_mut(&name)
            && record.hosting == Hosting::Starting
        {
            record.hosting = Hosting::Serving(endpoint);
        }
    }
    for name in stop {
        let asked = host.clone();
        let _ = tokio::task::spawn_blocking(move || asked.cluster_deleted(&name)).await;
    }
}
