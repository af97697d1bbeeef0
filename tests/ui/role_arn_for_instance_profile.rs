// An instance profile wraps a role of the program (its handle), not an ARN.
use girder::prelude::*;

fn main() {
    let mut s = Stack::new("dev");
    let role = IamRole::new("node")
        .trust(PolicyDocument::service_trust(["ec2.amazonaws.com"]))
        .add(&mut s);
    InstanceProfile::new("node").role(role.arn()).add(&mut s);
}
