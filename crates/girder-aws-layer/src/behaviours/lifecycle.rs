//! Slow lifecycles of EC2 and Route 53 objects: NAT gateways are `pending` before
//! `available` and `deleting` before `deleted`; Route 53 changes are `PENDING` before
//! `INSYNC`. Statuses are rewritten in responses relative to each object's create or delete
//! time. (EKS clusters, nodegroups and add-ons are in [`crate::eks`].)

use crate::behaviours::Ctx;
use crate::protocol::Service;
use crate::reply::Reply;
use crate::world::{World, change_id};

/// Rewrites statuses that are still transitioning; answers whether it did.
pub(crate) fn rewrite(ctx: &Ctx<'_>, world: &World, reply: &mut Reply) -> bool {
    let settings = &ctx.behaviours.lifecycle;
    if !settings.enabled || !reply.is_success() {
        return false;
    }
    let request = ctx.request;
    match (&request.service, request.operation.as_str()) {
        (Service::Ec2, "CreateNatGateway" | "DescribeNatGateways" | "DeleteNatGateway") => {
            let Some(mut document) = reply.body_xml() else {
                return false;
            };
            let mut changed = false;
            document.root.walk_mut(&mut |e| {
                let Some(id) = e.child_text("natGatewayId") else {
                    return;
                };
                let Some(times) = world.nat_gateways.get(&id) else {
                    return;
                };
                let state = if times.deleted.is_some() {
                    if ctx.within(times.deleted, settings.nat_gateway_delete_secs) {
                        "deleting"
                    } else {
                        "deleted"
                    }
                } else if ctx.within(times.created, settings.nat_gateway_create_secs) {
                    "pending"
                } else {
                    return;
                };
                if e.child_text("state").as_deref() != Some(state) {
                    e.set_child_text("state", state);
                    changed = true;
                }
            });
            if changed {
                reply.set_xml(&document);
            }
            changed
        }
        (Service::Route53, _) => {
            let Some(mut document) = reply.body_xml() else {
                return false;
            };
            let mut changed = false;
            document.root.walk_mut(&mut |e| {
                if e.local_name() != "ChangeInfo" {
                    return;
                }
                let Some(id) = e.child_text("Id") else {
                    return;
                };
                let submitted = world.route53_changes.get(change_id(&id)).copied();
                if ctx.within(submitted, settings.route53_change_secs) {
                    e.set_child_text("Status", "PENDING");
                    changed = true;
                }
            });
            if changed {
                reply.set_xml(&document);
            }
            changed
        }
        _ => false,
    }
}
