// A rule's peer is a security group: a subnet id is not a security group id.
use girder::prelude::*;

fn main() {
    let mut s = Stack::new("dev");
    let vpc = Vpc::new("main")
        .cidr("10.10.0.0/16")
        .azs(["us-east-1a"])
        .private_subnets(Auto)
        .add(&mut s);
    let subnet = vpc.subnet_ids(Tier::Private).remove(0);
    SecurityGroup::new("db")
        .vpc(vpc.id())
        .rule(Rule::tcp(5432).group(subnet))
        .add(&mut s);
}
