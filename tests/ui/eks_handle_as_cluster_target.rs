// Objects go to a cluster through its Kubernetes provider (`eks.kubernetes(s)`), not through
// the EKS handle itself.
use girder::prelude::*;

fn main() {
    let mut s = Stack::new("dev");
    let vpc = Vpc::new("main")
        .cidr("10.10.0.0/16")
        .azs(["us-east-1a", "us-east-1b"])
        .private_subnets(Auto)
        .add(&mut s);
    let eks = Eks::new("prod").vpc(&vpc).add(&mut s);
    Deployment::new("web").image("nginx:1.27").add(&eks, &mut s);
}
