// An environment variable reads one key of a Secret: the Secret itself is not a key.
use girder::prelude::*;

fn main() {
    let mut s = Stack::new("dev");
    let db = Secret::new("db").string_data("password", "hunter2").add(DefaultProvider, &mut s);
    Deployment::new("api")
        .image("ghcr.io/acme/api:1.0")
        .env_from_key("DB_PASSWORD", db)
        .add(DefaultProvider, &mut s);
}
