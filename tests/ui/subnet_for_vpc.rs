// A subnet id where a security group needs its VPC's id does not compile, and says what to pass.
use girder::prelude::*;

fn main() {
    let mut s = Stack::new("dev");
    let vpc = Vpc::new("main")
        .cidr("10.10.0.0/16")
        .azs(["us-east-1a"])
        .private_subnets(Auto)
        .add(&mut s);
    let subnet = vpc.subnet_ids(Tier::Private).remove(0);
    SecurityGroup::new("web").vpc(subnet).add(&mut s);
}
