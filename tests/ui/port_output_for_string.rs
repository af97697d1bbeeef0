// A ConfigMap holds strings: a Service's port is an `Output<u16>` and must be formatted first.
use girder::prelude::*;

fn main() {
    let mut s = Stack::new("dev");
    let api = Deployment::new("api").image("ghcr.io/acme/api:1.0").port(8080).add(DefaultProvider, &mut s);
    let service = api.expose(ServicePort::http(80, 8080)).add(&mut s);
    ConfigMap::new("settings").data("API_PORT", service.port()).add(DefaultProvider, &mut s);
}
