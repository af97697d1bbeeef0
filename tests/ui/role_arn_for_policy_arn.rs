// A role gets permissions from a managed policy's ARN; another role's ARN is not a policy.
use girder::prelude::*;

fn main() {
    let mut s = Stack::new("dev");
    let admin = IamRole::new("admin")
        .trust(PolicyDocument::service_trust(["ec2.amazonaws.com"]))
        .add(&mut s);
    IamRole::new("app")
        .trust(PolicyDocument::service_trust(["ec2.amazonaws.com"]))
        .managed_policy(admin.arn())
        .add(&mut s);
}
