// A Kubernetes object's namespace is a name or a namespace of the program, never an AWS id.
use girder::prelude::*;

fn main() {
    let mut s = Stack::new("dev");
    let vpc = Vpc::new("main").cidr("10.10.0.0/16").azs(["us-east-1a"]).add(&mut s);
    Deployment::new("web")
        .image("nginx:1.27")
        .namespace(vpc.id())
        .add(DefaultProvider, &mut s);
}
