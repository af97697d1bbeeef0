//! EKS add-ons, served by the layer (moto has none): CreateAddon, DescribeAddon,
//! UpdateAddon, DeleteAddon, ListAddons and DescribeAddonVersions, with slow lifecycles.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::catalog::{addon as spec_of, addons as catalog};
use super::clusters::{
    cluster_phase, cluster_version, invalid_parameter, invalid_request, new_update, not_found,
    update_json,
};
use super::{Addon, ClusterRecord, Phase};
use crate::behaviours::Ctx;
use crate::clock::epoch_seconds;
use crate::protocol::AwsError;
use crate::reply::Reply;

fn addon_not_found(cluster: &str, name: &str) -> AwsError {
    AwsError::new(
        404,
        "ResourceNotFoundException",
        format!("No addon: {name} found in cluster: {cluster}"),
    )
}

/// The add-on's phase now.
fn phase(ctx: &Ctx<'_>, record: &ClusterRecord, addon: &Addon) -> Phase {
    let l = &ctx.behaviours.lifecycle;
    let updating = record.updates.iter().any(|u| {
        u.addon.as_deref() == Some(addon.name.as_str()) && super::clusters::in_progress(ctx, u)
    });
    Phase::of(
        ctx,
        addon.created_at,
        addon.deleted_at,
        (l.eks_addon_create_secs, l.eks_addon_delete_secs),
        updating,
    )
}

fn addon_json(ctx: &Ctx<'_>, record: &ClusterRecord, addon: &Addon) -> Value {
    let mut value = json!({
        "addonName": addon.name,
        "clusterName": addon.cluster_name,
        "status": phase(ctx, record, addon).status(),
        "addonVersion": addon.version,
        "health": { "issues": [] },
        "addonArn": addon.arn,
        "createdAt": epoch_seconds(addon.created_at),
        "modifiedAt": epoch_seconds(addon.modified_at),
        "tags": addon.tags,
        "publisher": "eks",
        "owner": "aws",
    });
    if let Some(role) = &addon.service_account_role_arn {
        value["serviceAccountRoleArn"] = json!(role);
    }
    if let Some(config) = &addon.configuration_values {
        value["configurationValues"] = json!(config);
    }
    value
}

/// The add-on `name` if it exists now (a deleted one that finished deleting is dropped).
fn live<'a>(ctx: &Ctx<'_>, record: &'a mut ClusterRecord, name: &str) -> Option<&'a mut Addon> {
    let gone = record
        .addons
        .get(name)
        .is_some_and(|a| phase(ctx, record, a) == Phase::Gone);
    if gone {
        record.addons.remove(name);
    }
    record.addons.get_mut(name)
}

fn check_configuration(values: Option<&str>) -> Result<(), AwsError> {
    let Some(values) = values.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(());
    };
    if values.starts_with('{') && serde_json::from_str::<Value>(values).is_err() {
        return Err(invalid_parameter(
            "ConfigurationValue provided in request is not supported: Json schema validation failed: the value is not valid JSON",
        ));
    }
    Ok(())
}

fn string_map(value: Option<&Value>) -> BTreeMap<String, String> {
    value
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                .collect()
        })
        .unwrap_or_default()
}

/// Serves one add-on operation on a cluster the layer knows.
pub(crate) fn handle(
    ctx: &Ctx<'_>,
    cluster: &str,
    record: &mut ClusterRecord,
) -> Result<Reply, AwsError> {
    let request = ctx.request;
    let body = &request.json;
    let phase_now = cluster_phase(ctx, record);
    if phase_now == Phase::Gone {
        return Err(not_found(cluster));
    }
    match request.operation.as_str() {
        "ListAddons" => {
            let names: Vec<String> = record
                .addons
                .values()
                .filter(|a| phase(ctx, record, a) != Phase::Gone)
                .map(|a| a.name.clone())
                .collect();
            Ok(Reply::json(200, &json!({ "addons": names })))
        }
        "CreateAddon" => {
            let name = request.json_str("addonName").unwrap_or_default().to_owned();
            if phase_now != Phase::Active && phase_now != Phase::Updating {
                return Err(invalid_request(format!(
                    "Cluster '{cluster}' is not in ACTIVE status"
                )));
            }
            if live(ctx, record, &name).is_some() {
                return Err(AwsError::new(
                    409,
                    "ResourceInUseException",
                    "Addon already exists.",
                ));
            }
            let k8s = cluster_version(ctx, record);
            let spec = spec_of(&name).ok_or_else(|| {
                invalid_parameter(format!(
                    "Addon {name} specified is not supported in {k8s} cluster version"
                ))
            })?;
            let version = match request.json_str("addonVersion") {
                Some(v) if spec.compatible(v, &k8s) => v.to_owned(),
                Some(v) => {
                    return Err(invalid_parameter(format!(
                        "Addon version {v} specified is not supported in {k8s} cluster version"
                    )));
                }
                None => spec
                    .default_for(&k8s)
                    .map(|v| v.version.clone())
                    .ok_or_else(|| {
                        invalid_parameter(format!(
                            "Addon {name} specified is not supported in {k8s} cluster version"
                        ))
                    })?,
            };
            check_configuration(request.json_str("configurationValues"))?;
            let addon = Addon {
                arn: format!(
                    "arn:aws:eks:{}:{}:addon/{cluster}/{name}/{}",
                    record.region,
                    record.account(),
                    uuid::Uuid::new_v4()
                ),
                name: name.clone(),
                cluster_name: cluster.to_owned(),
                version,
                service_account_role_arn: request
                    .json_str("serviceAccountRoleArn")
                    .map(str::to_owned),
                configuration_values: request.json_str("configurationValues").map(str::to_owned),
                tags: string_map(body.get("tags")),
                created_at: ctx.now,
                modified_at: ctx.now,
                deleted_at: None,
            };
            let value = addon_json(ctx, record, &addon);
            record.addons.insert(name, addon);
            Ok(Reply::json(200, &json!({ "addon": value })))
        }
        "DescribeAddon" => {
            let name = request
                .path_param("addonName")
                .unwrap_or_default()
                .to_owned();
            let addon = live(ctx, record, &name)
                .cloned()
                .ok_or_else(|| addon_not_found(cluster, &name))?;
            Ok(Reply::json(
                200,
                &json!({ "addon": addon_json(ctx, record, &addon) }),
            ))
        }
        "UpdateAddon" => {
            let name = request
                .path_param("addonName")
                .unwrap_or_default()
                .to_owned();
            let k8s = cluster_version(ctx, record);
            let current = live(ctx, record, &name)
                .cloned()
                .ok_or_else(|| addon_not_found(cluster, &name))?;
            let status = phase(ctx, record, &current);
            if status != Phase::Active {
                return Err(invalid_request(format!(
                    "Addon {name} cannot be updated as it is currently in {} state",
                    status.status()
                )));
            }
            let mut params = Vec::new();
            let mut next = current.clone();
            if let Some(v) = request.json_str("addonVersion") {
                let spec = spec_of(&name).ok_or_else(|| addon_not_found(cluster, &name))?;
                if !spec.compatible(v, &k8s) {
                    return Err(invalid_parameter(format!(
                        "Addon version {v} specified is not supported in {k8s} cluster version"
                    )));
                }
                next.version = v.to_owned();
                params.push(("AddonVersion".to_owned(), v.to_owned()));
            }
            if let Some(role) = body.get("serviceAccountRoleArn").and_then(Value::as_str) {
                next.service_account_role_arn = (!role.is_empty()).then(|| role.to_owned());
                params.push(("ServiceAccountRoleArn".to_owned(), role.to_owned()));
            }
            if let Some(config) = body.get("configurationValues").and_then(Value::as_str) {
                check_configuration(Some(config))?;
                next.configuration_values = (!config.is_empty()).then(|| config.to_owned());
                params.push(("ConfigurationValues".to_owned(), config.to_owned()));
            }
            if let Some(resolve) = request.json_str("resolveConflicts") {
                params.push(("ResolveConflicts".to_owned(), resolve.to_owned()));
            }
            next.modified_at = ctx.now;
            record.addons.insert(name.clone(), next);
            let update = new_update(ctx, None, "AddonUpdate", params, (None, Some(&name)));
            let value = update_json(ctx, &update);
            record.updates.push(update);
            Ok(Reply::json(200, &json!({ "update": value })))
        }
        "DeleteAddon" => {
            let name = request
                .path_param("addonName")
                .unwrap_or_default()
                .to_owned();
            let now = ctx.now;
            let addon = live(ctx, record, &name).ok_or_else(|| addon_not_found(cluster, &name))?;
            if addon.deleted_at.is_none() {
                addon.deleted_at = Some(now);
                addon.modified_at = now;
            }
            let addon = addon.clone();
            Ok(Reply::json(
                200,
                &json!({ "addon": addon_json(ctx, record, &addon) }),
            ))
        }
        other => Err(invalid_request(format!(
            "{other} is not an add-on operation"
        ))),
    }
}

/// DescribeAddonVersions (no cluster needed).
pub(crate) fn describe_versions(ctx: &Ctx<'_>) -> Reply {
    let query: Vec<(String, String)> = ctx
        .request
        .query
        .as_deref()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default();
    let get = |k: &str| query.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let k8s = get("kubernetesVersion");
    let name = get("addonName");
    let addons: Vec<Value> = catalog()
        .iter()
        .filter(|a| name.is_none_or(|n| n == a.name))
        .map(|a| a.to_json(k8s))
        .filter(|a| a["addonVersions"].as_array().is_some_and(|v| !v.is_empty()))
        .collect();
    Reply::json(200, &json!({ "addons": addons }))
}
