// Typed ids of different services do not mix: a log group's name is not a VPC id.
use girder::prelude::*;

fn main() {
    let mut s = Stack::new("dev");
    let logs = LogGroup::new("app").retention_days(30).add(&mut s);
    SecurityGroup::new("web").vpc(logs.name()).add(&mut s);
}
