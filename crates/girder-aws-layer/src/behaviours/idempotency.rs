//! Idempotency tokens as AWS honours them: a repeated EC2 request with the same
//! `ClientToken`, or an EKS request with the same `clientRequestToken`, gets the first
//! response instead of acting twice; the same token with other parameters is refused.
//! (moto ignores both tokens.)

use crate::behaviours::Ctx;
use crate::protocol::{AwsError, AwsRequest, Service};
use crate::reply::Reply;
use crate::world::{TokenUse, World};

/// The token and the fingerprint of everything else in the request.
fn token_of(request: &AwsRequest) -> Option<(String, String)> {
    match request.service {
        Service::Ec2 => {
            let token = request.param("ClientToken")?.to_owned();
            let mut rest: Vec<_> = request
                .params
                .iter()
                .filter(|(k, _)| k != "ClientToken")
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            rest.sort();
            Some((token, rest.join("&")))
        }
        Service::Eks => {
            let token = request.json_str("clientRequestToken")?.to_owned();
            let mut rest = request.json.clone();
            if let Some(object) = rest.as_object_mut() {
                object.remove("clientRequestToken");
            }
            Some((token, format!("{} {}", request.path, canonical(&rest))))
        }
        _ => None,
    }
}

/// `value` with every object's keys sorted: AWS compares parameters, not their order, and
/// the SDK serializes maps (tags, labels) from a `HashMap`, whose order differs per request.
fn canonical(value: &serde_json::Value) -> String {
    fn sorted(value: &serde_json::Value) -> serde_json::Value {
        match value {
            serde_json::Value::Object(object) => {
                let mut entries: Vec<_> = object.iter().collect();
                entries.sort_by(|a, b| a.0.cmp(b.0));
                serde_json::Value::Object(
                    entries
                        .into_iter()
                        .map(|(k, v)| (k.clone(), sorted(v)))
                        .collect(),
                )
            }
            serde_json::Value::Array(items) => {
                serde_json::Value::Array(items.iter().map(sorted).collect())
            }
            other => other.clone(),
        }
    }
    sorted(value).to_string()
}

fn key(request: &AwsRequest, token: &str) -> String {
    format!("{}:{}", request.key(), token)
}

/// The stored reply to a repeated call, or the mismatch error.
pub(crate) fn replay(ctx: &Ctx<'_>, world: &World) -> Option<Result<Reply, AwsError>> {
    if !ctx.behaviours.idempotency.enabled {
        return None;
    }
    let request = ctx.request;
    let (token, fingerprint) = token_of(request)?;
    let used = world.tokens.get(&key(request, &token))?;
    if used.fingerprint == fingerprint {
        return Some(Ok(used.reply.clone()));
    }
    Some(Err(match request.service {
        Service::Ec2 => AwsError::new(
            400,
            "IdempotentParameterMismatch",
            format!("The client token '{token}' has already been used with different parameters."),
        ),
        _ => AwsError::new(
            400,
            "InvalidParameterException",
            format!(
                "The client request token '{token}' has already been used with different parameters."
            ),
        ),
    }))
}

/// Remembers a successful reply to a call with a token.
pub(crate) fn store(ctx: &Ctx<'_>, world: &mut World, reply: &Reply) {
    if !ctx.behaviours.idempotency.enabled || !reply.is_success() {
        return;
    }
    if let Some((token, fingerprint)) = token_of(ctx.request) {
        world.tokens.insert(
            key(ctx.request, &token),
            TokenUse {
                fingerprint,
                reply: reply.clone(),
            },
        );
    }
}
