// external-dns's policy is scoped by hosted zone ARNs: a zone's id is not its ARN.
use girder::prelude::*;

fn main() {
    let mut s = Stack::new("dev");
    let zone = HostedZone::new("example.com").add(&mut s);
    let _ = policies::external_dns([zone.zone_id()]);
}
