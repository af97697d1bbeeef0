//! Lost responses: the action took effect upstream, but the caller gets a 500 in the
//! protocol's shape (a timeout or a broken connection after the fact, as the SDK sees it).

use crate::behaviours::Ctx;
use crate::protocol::AwsError;
use crate::reply::Reply;
use crate::world::World;

/// The 500 to answer instead of `reply`, when this response is lost.
pub(crate) fn check(ctx: &Ctx<'_>, world: &mut World, reply: &Reply) -> Option<AwsError> {
    let settings = &ctx.behaviours.lost_responses;
    let request = ctx.request;
    if !settings.enabled || !request.is_mutating() || !reply.is_success() {
        return None;
    }
    let key = request.key();
    if !settings.operations.is_empty() && !settings.operations.contains(&key) {
        return None;
    }
    let calls = world.mutating_calls.entry(key).or_default();
    *calls += 1;
    let lost = *calls <= settings.first_per_operation
        || (settings.rate > 0.0 && rand::random::<f64>() < settings.rate);
    lost.then(|| AwsError::internal(&request.service))
}
