//! The seed's wiring failure, as girder reports it when the program is built: run with
//! `cargo run -p girder-k8s --example seed_wiring`.

use girder_core::Stack;
use girder_k8s::dsl::*;

fn main() {
    let small = || {
        Resources::new()
            .cpu("100m", "500m")
            .memory("128Mi", "256Mi")
    };
    let mut s = Stack::new("dev");
    let backend = Deployment::new("backend")
        .image("ghcr.io/acme/backend:1.4")
        .port(8080)
        .replicas(2)
        .resources(small())
        .add(DefaultProvider, &mut s);
    backend
        .expose(ServicePort::http(80, 8080))
        .name("backend-service")
        .add(&mut s);
    // The hand-written value that cost the seed's author a week.
    let config = ConfigMap::new("frontend-configmap")
        .data("BACKEND_URL", "backend-service")
        .add(DefaultProvider, &mut s);
    Deployment::new("frontend")
        .image("ghcr.io/acme/frontend:2.0")
        .port(3000)
        .env_from_key("BACKEND_URL", config.key("BACKEND_URL"))
        .resources(small())
        .add(DefaultProvider, &mut s);
    match s.finish() {
        Ok(_) => println!("the program builds"),
        Err(diagnostics) => println!("{diagnostics}"),
    }
}
