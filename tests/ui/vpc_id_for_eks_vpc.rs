// An EKS cluster takes the VPC module's handle (for its subnets by tier), not the VPC's id.
use girder::prelude::*;

fn main() {
    let mut s = Stack::new("dev");
    let vpc = Vpc::new("main").cidr("10.10.0.0/16").azs(["us-east-1a"]).add(&mut s);
    Eks::new("prod").vpc(vpc.id()).add(&mut s);
}
