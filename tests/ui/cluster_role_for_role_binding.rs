// A RoleBinding binds a namespaced Role; a ClusterRole takes a ClusterRoleBinding.
use girder::prelude::*;

fn main() {
    let mut s = Stack::new("dev");
    let reader = ClusterRole::new("pod-reader")
        .rule(PolicyRule::new([""], ["pods"], ["get", "list"]))
        .add(DefaultProvider, &mut s);
    let account = ServiceAccount::new("ci").add(DefaultProvider, &mut s);
    RoleBinding::new("ci-reads-pods", &reader).subject(&account).add(&mut s);
}
