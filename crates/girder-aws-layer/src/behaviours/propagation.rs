//! IAM propagation: a new role cannot be assumed by a service yet, and a new role or OIDC
//! provider cannot be named as a principal in a trust policy yet.

use crate::behaviours::Ctx;
use crate::protocol::{AwsError, Service};
use crate::world::World;

fn young_role(ctx: &Ctx<'_>, world: &World, arn: &str) -> bool {
    ctx.within(
        world.created_at(&format!("role-arn:{arn}")),
        ctx.behaviours.propagation.role_secs,
    )
}

fn cannot_assume(arn: &str) -> AwsError {
    AwsError::new(
        400,
        "InvalidParameterException",
        format!(
            "Role with arn: {arn} could not be assumed because it does not exist or the trusted entity is not correct"
        ),
    )
}

/// Refuses a request that relies on a role or OIDC provider IAM has not propagated yet.
pub(crate) fn check(ctx: &Ctx<'_>, world: &World) -> Option<AwsError> {
    if !ctx.behaviours.propagation.enabled {
        return None;
    }
    let request = ctx.request;
    match (&request.service, request.operation.as_str()) {
        (Service::Eks, "CreateCluster") => request
            .json_str("roleArn")
            .filter(|arn| young_role(ctx, world, arn))
            .map(cannot_assume),
        (Service::Eks, "CreateNodegroup") => request
            .json_str("nodeRole")
            .filter(|arn| young_role(ctx, world, arn))
            .map(cannot_assume),
        (Service::Eks, "CreateFargateProfile") => request
            .json_str("podExecutionRoleArn")
            .filter(|arn| young_role(ctx, world, arn))
            .map(cannot_assume),
        (Service::Ec2, "CreateFlowLogs") => request
            .param("DeliverLogsPermissionArn")
            .filter(|arn| young_role(ctx, world, arn))
            .map(|arn| {
                AwsError::new(
                    400,
                    "InvalidParameter",
                    format!("Unable to assume given IAM role ({arn})."),
                )
            }),
        (Service::Iam, "CreateRole") => {
            trust_policy(ctx, world, request.param("AssumeRolePolicyDocument")?)
        }
        (Service::Iam, "UpdateAssumeRolePolicy") => {
            trust_policy(ctx, world, request.param("PolicyDocument")?)
        }
        _ => None,
    }
}

/// `MalformedPolicyDocument` when a trust policy names a young OIDC provider (`Federated`)
/// or a young role (`AWS`).
fn trust_policy(ctx: &Ctx<'_>, world: &World, document: &str) -> Option<AwsError> {
    let policy: serde_json::Value = serde_json::from_str(document).ok()?;
    let statements = match policy.get("Statement")? {
        serde_json::Value::Array(list) => list.clone(),
        single => vec![single.clone()],
    };
    let names = |value: Option<&serde_json::Value>| -> Vec<String> {
        match value {
            Some(serde_json::Value::String(s)) => vec![s.clone()],
            Some(serde_json::Value::Array(list)) => list
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
            _ => Vec::new(),
        }
    };
    for statement in &statements {
        let principal = statement.get("Principal");
        for arn in names(principal.and_then(|p| p.get("Federated"))) {
            let key = format!("iam-oidc:{arn}");
            if ctx.within(
                world.created_at(&key),
                ctx.behaviours.propagation.oidc_provider_secs,
            ) {
                return Some(invalid_principal("FEDERATED", &arn));
            }
        }
        for arn in names(principal.and_then(|p| p.get("AWS"))) {
            if young_role(ctx, world, &arn) {
                return Some(invalid_principal("AWS", &arn));
            }
        }
    }
    None
}

fn invalid_principal(kind: &str, arn: &str) -> AwsError {
    AwsError::new(
        400,
        "MalformedPolicyDocument",
        format!("Invalid principal in policy: \"{kind}\":\"{arn}\""),
    )
}
