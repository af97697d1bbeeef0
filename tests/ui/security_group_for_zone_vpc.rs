// A private hosted zone is attached to a VPC: a security group's id is not a VPC id.
use girder::prelude::*;

fn main() {
    let mut s = Stack::new("dev");
    let vpc = Vpc::new("main").cidr("10.10.0.0/16").azs(["us-east-1a"]).add(&mut s);
    let sg = SecurityGroup::new("web").vpc(vpc.id()).add(&mut s);
    HostedZone::new("internal.example.com").private(sg.id()).add(&mut s);
}
