//! The request pipeline: classify, count, check each behaviour, serve or forward to moto,
//! learn from the answer, rewrite it, remember tokens, maybe lose it.

use axum::body::Body;
use axum::response::{IntoResponse, Response};

use crate::behaviours::{
    Ctx, consistency, draining, idempotency, lifecycle, lost, propagation, throttling,
};
use crate::layer::Shared;
use crate::protocol::{AwsError, AwsRequest, render};
use crate::reply::Reply;

/// A behaviour's check before the service.
type Check = fn(&Ctx<'_>, &crate::world::World) -> Option<AwsError>;

/// The largest request body the layer buffers (S3 uploads in tests stay far below).
pub(crate) const BODY_LIMIT: usize = 256 * 1024 * 1024;

/// Handles one AWS request.
pub(crate) async fn handle(shared: &Shared, request: AwsRequest) -> Reply {
    shared
        .tally
        .request(request.service.name(), &request.operation);
    let behaviours = shared.behaviours();
    let now = shared.clock.now();
    crate::eks::sweep(shared, &behaviours, now).await;
    let ctx = Ctx {
        behaviours: &behaviours,
        now,
        request: &request,
    };
    let key = request.key();
    let refuse = |behaviour: &str, error: AwsError| {
        tracing::debug!(%behaviour, operation = %key, %error, "refused");
        shared.tally.fired(behaviour, &key);
        render(&request.service, &error)
    };

    // Before the service: throttling first (AWS throttles before it looks at anything),
    // then a replayed token, then what the service would refuse right now.
    {
        let mut world = shared.world();
        if let Some(error) = throttling::check(&ctx, &mut world) {
            return refuse("throttling", error);
        }
        match idempotency::replay(&ctx, &world) {
            Some(Ok(reply)) => {
                shared.tally.fired("idempotency", &key);
                return reply;
            }
            Some(Err(error)) => return refuse("idempotency", error),
            None => {}
        }
        let checks: [(&str, Check); 3] = [
            ("consistency", consistency::check),
            ("propagation", propagation::check),
            ("draining", draining::check),
        ];
        for (behaviour, check) in checks {
            if let Some(error) = check(&ctx, &world) {
                return refuse(behaviour, error);
            }
        }
    }

    // The service: the layer's own EKS parts, or moto.
    let mut reply = match crate::eks::before(shared, &ctx).await {
        Ok(Some(reply)) => reply,
        Ok(None) => shared.upstream.forward(&request).await,
        Err(error) => {
            // A refusal because something is still CREATING/UPDATING/DELETING is the slow
            // lifecycle behaviour; any other is EKS validating the request.
            if ctx.behaviours.lifecycle.enabled && is_lifecycle_refusal(&error) {
                return refuse("lifecycle", error);
            }
            return render(&request.service, &error);
        }
    };

    // After the service: learn, rewrite, remember, maybe lose.
    if crate::eks::after(shared, &ctx, &mut reply).await && behaviours.lifecycle.enabled {
        shared.tally.fired("lifecycle", &key);
    }
    let mut world = shared.world();
    world.learn(&request, &reply, now);
    if lifecycle::rewrite(&ctx, &world, &mut reply) {
        shared.tally.fired("lifecycle", &key);
    }
    if consistency::rewrite(&ctx, &world, &mut reply) {
        shared.tally.fired("consistency", &key);
    }
    idempotency::store(&ctx, &mut world, &reply);
    if let Some(error) = lost::check(&ctx, &mut world, &reply) {
        return refuse("lost_responses", error);
    }
    reply
}

fn is_lifecycle_refusal(error: &AwsError) -> bool {
    [
        "not in ACTIVE status",
        "in progress",
        "not in Active State",
        "nodegroups attached",
        "currently in",
    ]
    .iter()
    .any(|m| error.message.contains(m))
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        let mut response = Response::new(Body::from(self.body));
        *response.status_mut() = self.status;
        *response.headers_mut() = self.headers;
        response
    }
}
