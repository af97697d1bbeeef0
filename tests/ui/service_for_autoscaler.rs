// An autoscaler scales a Deployment: a Service that exposes it cannot be scaled.
use girder::prelude::*;

fn main() {
    let mut s = Stack::new("dev");
    let web = Deployment::new("web").image("nginx:1.27").port(8080).add(DefaultProvider, &mut s);
    let service = web.expose(ServicePort::http(80, 8080)).add(&mut s);
    HorizontalPodAutoscaler::for_deployment(&service).replicas(2, 10).add(&mut s);
}
