//! Throttling: a configurable probability per API, and EC2's per-API token buckets sized as
//! EC2's published request rate limits (mutating, non-mutating, unfiltered and unpaginated
//! non-mutating). Each protocol answers with its own throttling error.

use crate::behaviours::Ctx;
use crate::clock::since;
use crate::config::Bucket;
use crate::protocol::{AwsError, Service};
use crate::world::{BucketState, World};

/// Parameters that neither filter nor paginate.
const PLAIN: [&str; 3] = ["Action", "Version", "DryRun"];

/// Answers the service's throttling error when this call is throttled.
pub(crate) fn check(ctx: &Ctx<'_>, world: &mut World) -> Option<AwsError> {
    let settings = &ctx.behaviours.throttling;
    if !settings.enabled {
        return None;
    }
    let request = ctx.request;
    let key = request.key();
    let rate = settings.per_api.get(&key).copied().unwrap_or(settings.rate);
    if rate > 0.0 && rand::random::<f64>() < rate {
        return Some(AwsError::throttling(&request.service));
    }
    if settings.ec2_buckets && request.service == Service::Ec2 {
        // Unfiltered, unpaginated calls of an API draw from their own, smaller bucket.
        let (bucket, category) = if request.is_mutating() {
            (settings.ec2_mutating, "mutating")
        } else if request
            .params
            .iter()
            .all(|(k, _)| PLAIN.contains(&k.as_str()))
        {
            (settings.ec2_unfiltered, "unfiltered")
        } else {
            (settings.ec2_non_mutating, "non-mutating")
        };
        if !take(world, &format!("{key}:{category}"), bucket, ctx) {
            return Some(AwsError::throttling(&request.service));
        }
    }
    None
}

/// Takes a token from `key`'s bucket, refilled for the time since it was last used.
fn take(world: &mut World, key: &str, bucket: Bucket, ctx: &Ctx<'_>) -> bool {
    let state = world.buckets.entry(key.to_owned()).or_insert(BucketState {
        tokens: bucket.size,
        at: ctx.now,
    });
    let refill = since(ctx.now, state.at).as_secs_f64() * bucket.refill_per_sec;
    state.tokens = (state.tokens + refill).min(bucket.size);
    state.at = ctx.now;
    if state.tokens >= 1.0 {
        state.tokens -= 1.0;
        true
    } else {
        false
    }
}
