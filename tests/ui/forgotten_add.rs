// A builder that is never added to the stack declares nothing: with `unused_must_use` denied
// (as CI denies warnings), forgetting `.add(…)` does not compile.
#![deny(unused_must_use)]
use girder::prelude::*;

fn main() {
    let mut s = Stack::new("dev");
    let vpc = Vpc::new("main").cidr("10.10.0.0/16").azs(["us-east-1a"]).add(&mut s);
    SecurityGroup::new("web").vpc(vpc.id());
}
