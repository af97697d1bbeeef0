// A namespace is named by a string or the program's namespace; a Service's name output (a
// string known only after apply) cannot place objects.
use girder::prelude::*;

fn main() {
    let mut s = Stack::new("dev");
    let web = Deployment::new("web").image("nginx:1.27").port(8080).add(DefaultProvider, &mut s);
    let service = web.expose(ServicePort::http(80, 8080)).add(&mut s);
    ConfigMap::new("settings").namespace(service.host()).add(DefaultProvider, &mut s);
}
