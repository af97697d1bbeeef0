//! EKS access entries and access policies, served by the layer (moto has none).

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::catalog::ACCESS_POLICIES;
use super::clusters::{cluster_phase, invalid_parameter, invalid_request, not_found};
use super::{AccessEntry, AccessScope, AssociatedAccessPolicy, ClusterRecord, Phase};
use crate::behaviours::Ctx;
use crate::clock::epoch_seconds;
use crate::protocol::AwsError;
use crate::reply::Reply;

const TYPES: [&str; 6] = [
    "STANDARD",
    "EC2_LINUX",
    "EC2_WINDOWS",
    "FARGATE_LINUX",
    "HYBRID_LINUX",
    "EC2",
];

fn entry_not_found() -> AwsError {
    AwsError::new(
        404,
        "ResourceNotFoundException",
        "The specified principalArn could not be found. You can view your available access entries with 'list-access-entries'.",
    )
}

fn entry_json(entry: &AccessEntry) -> Value {
    json!({
        "clusterName": entry.cluster_name,
        "principalArn": entry.principal_arn,
        "kubernetesGroups": entry.kubernetes_groups,
        "accessEntryArn": entry.access_entry_arn,
        "createdAt": epoch_seconds(entry.created_at),
        "modifiedAt": epoch_seconds(entry.modified_at),
        "tags": entry.tags,
        "username": entry.username,
        "type": entry.kind,
    })
}

fn policy_json(policy: &AssociatedAccessPolicy) -> Value {
    json!({
        "policyArn": policy.policy_arn,
        "accessScope": match &policy.scope {
            AccessScope::Cluster => json!({ "type": "cluster", "namespaces": [] }),
            AccessScope::Namespace { namespaces } => json!({ "type": "namespace", "namespaces": namespaces }),
        },
        "associatedAt": epoch_seconds(policy.associated_at),
        "modifiedAt": epoch_seconds(policy.modified_at),
    })
}

/// `(account, "role" | "user", name)` of an IAM principal ARN.
fn principal_parts(arn: &str) -> Option<(String, String, String)> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    if parts.len() != 6 || parts[0] != "arn" || parts[2] != "iam" {
        return None;
    }
    let (kind, path) = parts[5].split_once('/')?;
    if !matches!(kind, "role" | "user") || parts[4].len() != 12 {
        return None;
    }
    Some((
        parts[4].to_owned(),
        kind.to_owned(),
        path.rsplit('/').next()?.to_owned(),
    ))
}

/// A new access entry; checks the principal, type, groups and user name as EKS does.
pub(crate) fn new_entry(
    cluster: &str,
    record: &ClusterRecord,
    principal: &str,
    kind: &str,
    groups: Vec<String>,
    username: Option<String>,
    now: std::time::SystemTime,
) -> Result<AccessEntry, AwsError> {
    let (account, principal_kind, name) = principal_parts(principal).ok_or_else(|| {
        invalid_parameter(format!(
            "The principalArn {principal} is invalid: use the ARN of an IAM role or user, such as arn:aws:iam::111122223333:role/admin"
        ))
    })?;
    if !TYPES.contains(&kind) {
        return Err(invalid_parameter(format!(
            "The type {kind} is invalid; use one of {}",
            TYPES.join(", ")
        )));
    }
    if kind != "STANDARD" && (!groups.is_empty() || username.is_some()) {
        return Err(invalid_parameter(format!(
            "kubernetesGroups and username cannot be set for access entries of type {kind}"
        )));
    }
    if let Some(group) = groups.iter().find(|g| g.starts_with("system:")) {
        return Err(invalid_parameter(format!(
            "The kubernetes group name {group} is invalid, it cannot start with system:"
        )));
    }
    let username = username.unwrap_or_else(|| match (kind, principal_kind.as_str()) {
        ("STANDARD", "role") => {
            format!("arn:aws:sts::{account}:assumed-role/{name}/{{{{SessionName}}}}")
        }
        ("STANDARD", _) => principal.to_owned(),
        ("EC2_WINDOWS", _) | ("EC2_LINUX", _) | ("HYBRID_LINUX", _) | ("EC2", _) => {
            "system:node:{{EC2PrivateDNSName}}".to_owned()
        }
        _ => "system:node:{{SessionName}}".to_owned(),
    });
    Ok(AccessEntry {
        cluster_name: cluster.to_owned(),
        principal_arn: principal.to_owned(),
        kind: kind.to_owned(),
        username,
        kubernetes_groups: groups,
        access_entry_arn: format!(
            "arn:aws:eks:{}:{}:access-entry/{cluster}/{principal_kind}/{account}/{name}/{}",
            record.region,
            record.account(),
            uuid::Uuid::new_v4()
        ),
        tags: BTreeMap::new(),
        created_at: now,
        modified_at: now,
        policies: Vec::new(),
    })
}

/// An association of `policy` over `scope`; checks both.
pub(crate) fn association(
    policy: &str,
    scope: Option<&Value>,
    now: std::time::SystemTime,
) -> Result<AssociatedAccessPolicy, AwsError> {
    if !ACCESS_POLICIES.iter().any(|(_, arn)| *arn == policy) {
        return Err(invalid_parameter(format!(
            "The policyArn {policy} is invalid; list the access policies with 'list-access-policies'"
        )));
    }
    let kind = scope
        .and_then(|s| s.get("type"))
        .and_then(Value::as_str)
        .unwrap_or("cluster");
    let namespaces: Vec<String> = scope
        .and_then(|s| s.get("namespaces"))
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(|n| n.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let scope = match kind {
        "cluster" if namespaces.is_empty() => AccessScope::Cluster,
        "namespace" if !namespaces.is_empty() => AccessScope::Namespace { namespaces },
        _ => {
            return Err(invalid_parameter(
                "The accessScope is invalid: type cluster takes no namespaces, type namespace needs at least one",
            ));
        }
    };
    Ok(AssociatedAccessPolicy {
        policy_arn: policy.to_owned(),
        scope,
        associated_at: now,
        modified_at: now,
    })
}

fn strings(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// ListAccessPolicies.
pub(crate) fn list_policies() -> Reply {
    let policies: Vec<Value> = ACCESS_POLICIES
        .iter()
        .map(|(name, arn)| json!({ "name": name, "arn": arn }))
        .collect();
    Reply::json(200, &json!({ "accessPolicies": policies }))
}

/// Serves one access-entry operation on a cluster the layer knows.
pub(crate) fn handle(
    ctx: &Ctx<'_>,
    cluster: &str,
    record: &mut ClusterRecord,
) -> Result<Reply, AwsError> {
    let request = ctx.request;
    let body = &request.json;
    match cluster_phase(ctx, record) {
        Phase::Gone => return Err(not_found(cluster)),
        Phase::Deleting => {
            return Err(invalid_request(format!(
                "Cluster '{cluster}' is not in ACTIVE status"
            )));
        }
        _ => {}
    }
    if !record.access.uses_access_entries() {
        return Err(invalid_request(
            "The cluster's authentication mode must be set to one of [API, API_AND_CONFIG_MAP] to perform this operation.",
        ));
    }
    let principal = request
        .path_param("principalArn")
        .or_else(|| request.json_str("principalArn"))
        .unwrap_or_default()
        .to_owned();
    match request.operation.as_str() {
        "ListAccessEntries" => {
            let filter = request.query.as_deref().and_then(|q| {
                url::form_urlencoded::parse(q.as_bytes())
                    .find(|(k, _)| k == "associatedPolicyArn")
                    .map(|(_, v)| v.into_owned())
            });
            let arns: Vec<&str> = record
                .entries
                .values()
                .filter(|e| {
                    filter
                        .as_ref()
                        .is_none_or(|p| e.policies.iter().any(|x| &x.policy_arn == p))
                })
                .map(|e| e.principal_arn.as_str())
                .collect();
            Ok(Reply::json(200, &json!({ "accessEntries": arns })))
        }
        "CreateAccessEntry" => {
            if record.entries.contains_key(&principal) {
                return Err(AwsError::new(
                    409,
                    "ResourceInUseException",
                    "The specified access entry resource is already in use on this cluster.",
                ));
            }
            let mut entry = new_entry(
                cluster,
                record,
                &principal,
                request.json_str("type").unwrap_or("STANDARD"),
                strings(body.get("kubernetesGroups")),
                request.json_str("username").map(str::to_owned),
                ctx.now,
            )?;
            if let Some(tags) = body.get("tags").and_then(Value::as_object) {
                entry.tags = tags
                    .iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                    .collect();
            }
            let value = entry_json(&entry);
            record.entries.insert(principal, entry);
            Ok(Reply::json(200, &json!({ "accessEntry": value })))
        }
        "DescribeAccessEntry" => {
            let entry = record.entries.get(&principal).ok_or_else(entry_not_found)?;
            Ok(Reply::json(
                200,
                &json!({ "accessEntry": entry_json(entry) }),
            ))
        }
        "UpdateAccessEntry" => {
            let entry = record
                .entries
                .get_mut(&principal)
                .ok_or_else(entry_not_found)?;
            if let Some(groups) = body.get("kubernetesGroups") {
                let groups = strings(Some(groups));
                if let Some(group) = groups.iter().find(|g| g.starts_with("system:")) {
                    return Err(invalid_parameter(format!(
                        "The kubernetes group name {group} is invalid, it cannot start with system:"
                    )));
                }
                entry.kubernetes_groups = groups;
            }
            if let Some(username) = request.json_str("username") {
                entry.username = username.to_owned();
            }
            entry.modified_at = ctx.now;
            Ok(Reply::json(
                200,
                &json!({ "accessEntry": entry_json(entry) }),
            ))
        }
        "DeleteAccessEntry" => {
            record
                .entries
                .remove(&principal)
                .ok_or_else(entry_not_found)?;
            Ok(Reply::json(200, &json!({})))
        }
        "AssociateAccessPolicy" => {
            let policy = request.json_str("policyArn").unwrap_or_default();
            let association = association(policy, body.get("accessScope"), ctx.now)?;
            let entry = record
                .entries
                .get_mut(&principal)
                .ok_or_else(entry_not_found)?;
            let value = match entry.policies.iter_mut().find(|p| p.policy_arn == policy) {
                Some(existing) => {
                    existing.scope = association.scope;
                    existing.modified_at = ctx.now;
                    policy_json(existing)
                }
                None => {
                    let value = policy_json(&association);
                    entry.policies.push(association);
                    value
                }
            };
            Ok(Reply::json(
                200,
                &json!({ "clusterName": cluster, "principalArn": principal, "associatedAccessPolicy": value }),
            ))
        }
        "DisassociateAccessPolicy" => {
            let policy = request.path_param("policyArn").unwrap_or_default();
            let entry = record
                .entries
                .get_mut(&principal)
                .ok_or_else(entry_not_found)?;
            let before = entry.policies.len();
            entry.policies.retain(|p| p.policy_arn != policy);
            if entry.policies.len() == before {
                return Err(AwsError::new(
                    404,
                    "ResourceNotFoundException",
                    format!(
                        "The access policy {policy} is not associated with the principal {principal}"
                    ),
                ));
            }
            Ok(Reply::json(200, &json!({})))
        }
        "ListAssociatedAccessPolicies" => {
            let entry = record.entries.get(&principal).ok_or_else(entry_not_found)?;
            let policies: Vec<Value> = entry.policies.iter().map(policy_json).collect();
            Ok(Reply::json(
                200,
                &json!({ "clusterName": cluster, "principalArn": principal, "associatedAccessPolicies": policies }),
            ))
        }
        other => Err(invalid_request(format!(
            "{other} is not an access entry operation"
        ))),
    }
}
