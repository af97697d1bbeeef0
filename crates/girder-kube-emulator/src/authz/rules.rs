//! RBAC policy rules: matching a request against them, the rules of the EKS access
//! policies, and the rules granted by the RBAC objects stored in the emulator.

use std::collections::HashMap;
use std::sync::LazyLock;

use serde_json::Value;

use super::Attributes;
use crate::access::{
    ADMIN_POLICY, ADMIN_VIEW_POLICY, CLUSTER_ADMIN_POLICY, EDIT_POLICY, SECRET_READER_POLICY,
    VIEW_POLICY,
};
use crate::store::{ObjKey, State};

/// One `rbac.authorization.k8s.io/v1` PolicyRule.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct PolicyRule {
    pub verbs: Vec<String>,
    pub api_groups: Vec<String>,
    pub resources: Vec<String>,
    pub resource_names: Vec<String>,
    pub non_resource_urls: Vec<String>,
}

fn strings(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

impl PolicyRule {
    fn from_json(rule: &Value) -> PolicyRule {
        PolicyRule {
            verbs: strings(rule.get("verbs")),
            api_groups: strings(rule.get("apiGroups")),
            resources: strings(rule.get("resources")),
            resource_names: strings(rule.get("resourceNames")),
            non_resource_urls: strings(rule.get("nonResourceURLs")),
        }
    }

    /// Whether the rule allows the request (`RuleAllows` in the RBAC authorizer).
    pub fn allows(&self, attrs: &Attributes) -> bool {
        let verb_ok = self.verbs.iter().any(|v| v == "*" || *v == attrs.verb);
        if !verb_ok {
            return false;
        }
        if !attrs.resource_request {
            return self
                .non_resource_urls
                .iter()
                .any(|url| match url.strip_suffix('*') {
                    Some(prefix) => attrs.path.starts_with(prefix),
                    None => *url == attrs.path,
                });
        }
        let group_ok = self
            .api_groups
            .iter()
            .any(|g| g == "*" || *g == attrs.api_group);
        let resource_ok = self.resources.iter().any(|r| {
            if r == "*" {
                return true;
            }
            if attrs.subresource.is_empty() {
                return *r == attrs.resource;
            }
            *r == format!("{}/{}", attrs.resource, attrs.subresource)
                || *r == format!("{}/*", attrs.resource)
                || *r == format!("*/{}", attrs.subresource)
        });
        let name_ok = self.resource_names.is_empty() || self.resource_names.contains(&attrs.name);
        group_ok && resource_ok && name_ok
    }
}

const READ: &[&str] = &["get", "list", "watch"];
const WRITE: &[&str] = &["create", "delete", "deletecollection", "patch", "update"];

fn rule(groups: &[&str], resources: &[&str], verbs: &[&str]) -> PolicyRule {
    let owned = |s: &[&str]| s.iter().map(|x| x.to_string()).collect();
    PolicyRule {
        verbs: owned(verbs),
        api_groups: owned(groups),
        resources: owned(resources),
        ..PolicyRule::default()
    }
}

/// The rules of AmazonEKSViewPolicy (EKS's "Review access policy permissions" table).
fn view_rules() -> Vec<PolicyRule> {
    vec![
        rule(
            &["apps"],
            &[
                "controllerrevisions",
                "daemonsets",
                "daemonsets/status",
                "deployments",
                "deployments/scale",
                "deployments/status",
                "replicasets",
                "replicasets/scale",
                "replicasets/status",
                "statefulsets",
                "statefulsets/scale",
                "statefulsets/status",
            ],
            READ,
        ),
        rule(
            &["autoscaling"],
            &[
                "horizontalpodautoscalers",
                "horizontalpodautoscalers/status",
            ],
            READ,
        ),
        rule(
            &["batch"],
            &["cronjobs", "cronjobs/status", "jobs", "jobs/status"],
            READ,
        ),
        rule(&["discovery.k8s.io"], &["endpointslices"], READ),
        rule(
            &["extensions"],
            &[
                "daemonsets",
                "daemonsets/status",
                "deployments",
                "deployments/scale",
                "deployments/status",
                "ingresses",
                "ingresses/status",
                "networkpolicies",
                "replicasets",
                "replicasets/scale",
                "replicasets/status",
                "replicationcontrollers/scale",
            ],
            READ,
        ),
        rule(
            &["networking.k8s.io"],
            &["ingresses", "ingresses/status", "networkpolicies"],
            READ,
        ),
        rule(
            &["policy"],
            &["poddisruptionbudgets", "poddisruptionbudgets/status"],
            READ,
        ),
        rule(
            &[""],
            &[
                "configmaps",
                "endpoints",
                "persistentvolumeclaims",
                "persistentvolumeclaims/status",
                "pods",
                "replicationcontrollers",
                "replicationcontrollers/scale",
                "serviceaccounts",
                "services",
                "services/status",
            ],
            READ,
        ),
        rule(
            &[""],
            &[
                "bindings",
                "events",
                "limitranges",
                "namespaces/status",
                "pods/log",
                "pods/status",
                "replicationcontrollers/status",
                "resourcequotas",
                "resourcequotas/status",
            ],
            READ,
        ),
        rule(&[""], &["namespaces"], READ),
    ]
}

/// AmazonEKSEditPolicy: the view rules plus writes of workloads, config and Secrets (no
/// RBAC).
fn edit_rules() -> Vec<PolicyRule> {
    let mut rules = view_rules();
    rules.extend([
        rule(
            &["apps"],
            &[
                "daemonsets",
                "deployments",
                "deployments/rollback",
                "deployments/scale",
                "replicasets",
                "replicasets/scale",
                "statefulsets",
                "statefulsets/scale",
            ],
            WRITE,
        ),
        rule(&["autoscaling"], &["horizontalpodautoscalers"], WRITE),
        rule(&["batch"], &["cronjobs", "jobs"], WRITE),
        rule(
            &["extensions"],
            &[
                "daemonsets",
                "deployments",
                "deployments/rollback",
                "deployments/scale",
                "ingresses",
                "networkpolicies",
                "replicasets",
                "replicasets/scale",
                "replicationcontrollers/scale",
            ],
            WRITE,
        ),
        rule(
            &["networking.k8s.io"],
            &["ingresses", "networkpolicies"],
            WRITE,
        ),
        rule(&["policy"], &["poddisruptionbudgets"], WRITE),
        rule(
            &[""],
            &[
                "pods/attach",
                "pods/exec",
                "pods/portforward",
                "pods/proxy",
                "secrets",
                "services/proxy",
            ],
            READ,
        ),
        rule(&[""], &["serviceaccounts"], &["impersonate"]),
        rule(
            &[""],
            &[
                "pods",
                "pods/attach",
                "pods/exec",
                "pods/portforward",
                "pods/proxy",
            ],
            WRITE,
        ),
        rule(
            &[""],
            &[
                "configmaps",
                "events",
                "persistentvolumeclaims",
                "replicationcontrollers",
                "replicationcontrollers/scale",
                "secrets",
                "serviceaccounts",
                "services",
                "services/proxy",
            ],
            WRITE,
        ),
    ]);
    rules
}

/// AmazonEKSAdminPolicy: the edit rules plus Roles, RoleBindings and local access reviews.
fn admin_rules() -> Vec<PolicyRule> {
    let mut rules = edit_rules();
    rules.push(rule(
        &["authorization.k8s.io"],
        &["localsubjectaccessreviews"],
        &["create"],
    ));
    rules.push(rule(
        &["rbac.authorization.k8s.io"],
        &["rolebindings", "roles"],
        &[
            "create",
            "delete",
            "deletecollection",
            "get",
            "list",
            "patch",
            "update",
            "watch",
        ],
    ));
    rules
}

static POLICIES: LazyLock<HashMap<&'static str, Vec<PolicyRule>>> = LazyLock::new(|| {
    HashMap::from([
        (
            CLUSTER_ADMIN_POLICY,
            vec![
                rule(&["*"], &["*"], &["*"]),
                PolicyRule {
                    verbs: vec!["*".into()],
                    non_resource_urls: vec!["*".into()],
                    ..PolicyRule::default()
                },
            ],
        ),
        (ADMIN_POLICY, admin_rules()),
        (EDIT_POLICY, edit_rules()),
        (VIEW_POLICY, view_rules()),
        (ADMIN_VIEW_POLICY, vec![rule(&["*"], &["*"], READ)]),
        (SECRET_READER_POLICY, vec![rule(&[""], &["secrets"], READ)]),
    ])
});

/// The rules of an EKS access policy, `None` for a policy the emulator does not know.
pub(crate) fn policy_rules(policy_arn: &str) -> Option<&'static [PolicyRule]> {
    POLICIES.get(policy_arn).map(Vec::as_slice)
}

fn subject_matches(subject: &Value, user: &str, groups: &[String]) -> bool {
    let field = |name: &str| {
        subject
            .get(name)
            .and_then(Value::as_str)
            .unwrap_or_default()
    };
    match field("kind") {
        "User" => field("name") == user,
        "Group" => groups.iter().any(|g| g == field("name")),
        "ServiceAccount" => {
            format!(
                "system:serviceaccount:{}:{}",
                field("namespace"),
                field("name")
            ) == user
        }
        _ => false,
    }
}

fn role_rules(state: &State, kind: &str, namespace: &str, name: &str) -> Vec<PolicyRule> {
    let key = match kind {
        "ClusterRole" => ObjKey::new("rbac.authorization.k8s.io", "clusterroles", "", name),
        "Role" => ObjKey::new("rbac.authorization.k8s.io", "roles", namespace, name),
        _ => return Vec::new(),
    };
    state
        .get(&key)
        .and_then(|role| role.get("rules"))
        .and_then(Value::as_array)
        .map(|rules| rules.iter().map(PolicyRule::from_json).collect())
        .unwrap_or_default()
}

/// Whether the RBAC objects in the store (ClusterRoleBindings anywhere, RoleBindings in the
/// request's namespace) grant the request. Aggregated ClusterRoles count with the rules they
/// have stored.
pub(crate) fn rbac_allows(
    state: &State,
    user: &str,
    groups: &[String],
    attrs: &Attributes,
) -> bool {
    let grants = |binding: &Value, binding_namespace: &str| {
        let bound = binding
            .get("subjects")
            .and_then(Value::as_array)
            .is_some_and(|subjects| subjects.iter().any(|s| subject_matches(s, user, groups)));
        if !bound {
            return false;
        }
        let kind = binding
            .pointer("/roleRef/kind")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let name = binding
            .pointer("/roleRef/name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        role_rules(state, kind, binding_namespace, name)
            .iter()
            .any(|r| r.allows(attrs))
    };
    let cluster_wide = state
        .list("rbac.authorization.k8s.io", "clusterrolebindings", Some(""))
        .into_iter()
        .any(|(_, binding)| grants(binding, ""));
    cluster_wide
        || (!attrs.namespace.is_empty()
            && state
                .list(
                    "rbac.authorization.k8s.io",
                    "rolebindings",
                    Some(&attrs.namespace),
                )
                .into_iter()
                .any(|(_, binding)| grants(binding, &attrs.namespace)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs(verb: &str, group: &str, resource: &str, sub: &str, ns: &str) -> Attributes {
        Attributes {
            verb: verb.into(),
            resource_request: true,
            api_group: group.into(),
            resource: resource.into(),
            subresource: sub.into(),
            namespace: ns.into(),
            name: String::new(),
            path: String::new(),
        }
    }

    fn allowed(policy: &str, a: &Attributes) -> bool {
        policy_rules(policy).unwrap().iter().any(|r| r.allows(a))
    }

    #[test]
    fn the_policies_model_the_user_facing_roles() {
        let read_secret = attrs("get", "", "secrets", "", "default");
        let create_deploy = attrs("create", "apps", "deployments", "", "default");
        let create_role = attrs(
            "create",
            "rbac.authorization.k8s.io",
            "roles",
            "",
            "default",
        );
        let scale = attrs("update", "apps", "deployments", "scale", "default");
        let create_ns = attrs("create", "", "namespaces", "", "");
        assert!(!allowed(VIEW_POLICY, &read_secret));
        assert!(allowed(
            VIEW_POLICY,
            &attrs("list", "apps", "deployments", "", "x")
        ));
        assert!(!allowed(VIEW_POLICY, &create_deploy));
        assert!(allowed(EDIT_POLICY, &read_secret) && allowed(EDIT_POLICY, &create_deploy));
        assert!(allowed(EDIT_POLICY, &scale));
        assert!(!allowed(EDIT_POLICY, &create_role));
        assert!(allowed(ADMIN_POLICY, &create_role));
        assert!(!allowed(ADMIN_POLICY, &create_ns));
        assert!(allowed(CLUSTER_ADMIN_POLICY, &create_ns));
        assert!(allowed(ADMIN_VIEW_POLICY, &read_secret));
        assert!(!allowed(ADMIN_VIEW_POLICY, &create_deploy));
        assert!(allowed(SECRET_READER_POLICY, &read_secret));
        let mut version = attrs("get", "", "", "", "");
        version.resource_request = false;
        version.path = "/metrics".into();
        assert!(allowed(CLUSTER_ADMIN_POLICY, &version));
        assert!(!allowed(ADMIN_POLICY, &version));
        assert!(policy_rules("arn:aws:eks::aws:cluster-access-policy/Unknown").is_none());
    }

    #[test]
    fn rule_matching_wildcards_and_names() {
        let rule = PolicyRule::from_json(&serde_json::json!({
            "verbs": ["get"], "apiGroups": ["apps"], "resources": ["deployments/*"], "resourceNames": ["web"]
        }));
        let mut a = attrs("get", "apps", "deployments", "scale", "default");
        assert!(!rule.allows(&a));
        a.name = "web".into();
        assert!(rule.allows(&a));
        let any_scale = PolicyRule::from_json(&serde_json::json!({
            "verbs": ["*"], "apiGroups": ["*"], "resources": ["*/scale"]
        }));
        assert!(any_scale.allows(&a));
        a.subresource = String::new();
        assert!(!any_scale.allows(&a));
    }
}
