// external-dns may change the records of hosted zones: a role's ARN is not a zone's ARN.
use girder::prelude::*;

fn main() {
    let mut s = Stack::new("dev");
    let role = IamRole::new("dns")
        .trust(PolicyDocument::service_trust(["ec2.amazonaws.com"]))
        .add(&mut s);
    let _ = policies::external_dns([role.arn()]);
}
