// A Deployment runs as a Kubernetes service account; an IAM role is bound to one (IRSA), it
// is not one.
use girder::prelude::*;

fn main() {
    let mut s = Stack::new("dev");
    let role = IamRole::new("app")
        .trust(PolicyDocument::service_trust(["ec2.amazonaws.com"]))
        .add(&mut s);
    Deployment::new("web")
        .image("nginx:1.27")
        .service_account(&role)
        .add(DefaultProvider, &mut s);
}
