//! Draining dependencies: after a NAT gateway or a load balancer is deleted, its VPC keeps
//! mapped public addresses and network interfaces for a while, so deleting what it stood in
//! fails with `DependencyViolation`; right after a policy is detached, deleting the role or
//! the policy fails with `DeleteConflict`.

use crate::behaviours::Ctx;
use crate::protocol::{AwsError, Service};
use crate::world::{DrainSource, World};

fn draining_vpc(ctx: &Ctx<'_>, world: &World, vpc: &str) -> bool {
    let settings = &ctx.behaviours.draining;
    world.draining.get(vpc).is_some_and(|(at, source)| {
        let secs = match source {
            DrainSource::NatGateway(_) => settings.nat_gateway_secs,
            DrainSource::LoadBalancer(_) => settings.load_balancer_secs,
        };
        ctx.within(Some(*at), secs)
    })
}

fn dependency(message: String) -> AwsError {
    AwsError::new(400, "DependencyViolation", message)
}

/// Refuses deletes that touch a draining VPC, and deletes of just-detached IAM entities.
pub(crate) fn check(ctx: &Ctx<'_>, world: &World) -> Option<AwsError> {
    let settings = &ctx.behaviours.draining;
    if !settings.enabled {
        return None;
    }
    let request = ctx.request;
    let param = |name: &str| request.param(name);
    let in_draining_vpc = |id: &str| {
        world
            .vpc_of
            .get(id)
            .is_some_and(|vpc| draining_vpc(ctx, world, vpc))
    };
    match (&request.service, request.operation.as_str()) {
        (Service::Ec2, "DeleteSubnet") => param("SubnetId").filter(|id| in_draining_vpc(id)).map(|id| {
            dependency(format!("The subnet '{id}' has dependencies and cannot be deleted."))
        }),
        (Service::Ec2, "DetachInternetGateway") => param("VpcId")
            .filter(|vpc| draining_vpc(ctx, world, vpc))
            .map(|vpc| {
                dependency(format!(
                    "Network {vpc} has some mapped public address(es). Please unmap those public address(es) before detaching the gateway."
                ))
            }),
        (Service::Ec2, "DeleteInternetGateway") => param("InternetGatewayId")
            .filter(|id| in_draining_vpc(id))
            .map(|id| {
                dependency(format!(
                    "The internetGateway '{id}' has dependencies and cannot be deleted."
                ))
            }),
        (Service::Ec2, "DeleteVpc") => param("VpcId")
            .filter(|vpc| draining_vpc(ctx, world, vpc))
            .map(|vpc| dependency(format!("The vpc '{vpc}' has dependencies and cannot be deleted."))),
        (Service::Ec2, "DeleteSecurityGroup") => param("GroupId")
            .filter(|id| in_draining_vpc(id))
            .map(|id| dependency(format!("resource {id} has a dependent object"))),
        (Service::Iam, "DeleteRole") => {
            let role = param("RoleName")?;
            let (at, why) = world.detached_roles.get(role)?;
            ctx.within(Some(*at), settings.iam_detach_secs).then(|| {
                let message = if *why == "instance profile" {
                    "Cannot delete entity, must remove roles from instance profile first."
                } else {
                    "Cannot delete entity, must detach all policies first."
                };
                AwsError::new(409, "DeleteConflict", message)
            })
        }
        (Service::Iam, "DeletePolicy") => {
            let policy = param("PolicyArn")?;
            let at = world.detached_policies.get(policy)?;
            ctx.within(Some(*at), settings.iam_detach_secs).then(|| {
                AwsError::new(409, "DeleteConflict", "Cannot delete a policy attached to entities.")
            })
        }
        _ => None,
    }
}
