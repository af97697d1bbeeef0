// An EKS add-on's service account assumes an IRSA role by ARN; the role's name is not enough.
use girder::prelude::*;

fn main() {
    let mut s = Stack::new("dev");
    let vpc = Vpc::new("main")
        .cidr("10.10.0.0/16")
        .azs(["us-east-1a", "us-east-1b"])
        .private_subnets(Auto)
        .add(&mut s);
    let eks = Eks::new("prod").vpc(&vpc).add(&mut s);
    let cni = eks.service_account_role("kube-system", "aws-node").add(&mut s);
    let _ = Eks::new("other").vpc(&vpc).addon(Addon::vpc_cni().service_account_role(cni.name()));
}
