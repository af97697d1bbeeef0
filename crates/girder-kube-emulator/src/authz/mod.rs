//! Authorization, as an EKS API server decides: `system:masters` may do anything; discovery,
//! `/version` and the health endpoints are open to authenticated users; otherwise a request
//! is allowed when a rule of one of the caller's EKS access policies (in scope) or of an RBAC
//! binding stored in the cluster allows it, and forbidden (403, with the API server's
//! message) when none does.

mod rules;

use http::Method;

use crate::auth::Principal;
use crate::error::ApiError;
use crate::http::Query;
use crate::store::State;

pub(crate) use rules::policy_rules;

/// What a request asks to do (`authorizer.Attributes`, from the API server's
/// `RequestInfoFactory`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Attributes {
    /// `get`, `list`, `watch`, `create`, `update`, `patch`, `delete`, `deletecollection`; the
    /// lower-case method for non-resource requests.
    pub verb: String,
    /// Whether the path addresses a resource (`/api/v1/...`, `/apis/G/V/...`).
    pub resource_request: bool,
    pub api_group: String,
    pub resource: String,
    pub subresource: String,
    /// The namespace (a namespace's own name for requests on it); empty when cluster-wide.
    pub namespace: String,
    pub name: String,
    pub path: String,
}

/// The attributes of a request.
pub(crate) fn attributes(method: &Method, path: &str, query: &Query) -> Attributes {
    let mut attrs = Attributes {
        verb: method.as_str().to_ascii_lowercase(),
        path: path.to_string(),
        ..Attributes::default()
    };
    let mut parts: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    if parts.len() < 3 || !matches!(parts[0], "api" | "apis") {
        return attrs;
    }
    if parts[0] == "apis" {
        if parts.len() < 4 {
            return attrs;
        }
        attrs.api_group = parts[1].to_string();
        parts.drain(..2);
    } else {
        parts.remove(0);
    }
    attrs.resource_request = true;
    parts.remove(0); // the version
    if parts.first() == Some(&"watch") && parts.len() >= 2 {
        attrs.verb = "watch".into();
        parts.remove(0);
    } else {
        attrs.verb = match *method {
            Method::POST => "create",
            Method::GET | Method::HEAD => "get",
            Method::PUT => "update",
            Method::PATCH => "patch",
            Method::DELETE => "delete",
            _ => "",
        }
        .into();
    }
    if parts.first() == Some(&"namespaces") && parts.len() > 1 {
        attrs.namespace = parts[1].to_string();
        if parts.len() > 2 && !matches!(parts[2], "status" | "finalize") {
            parts.drain(..2);
        }
    }
    if let Some(resource) = parts.first() {
        attrs.resource = resource.to_string();
    }
    if let Some(name) = parts.get(1) {
        attrs.name = name.to_string();
    }
    if let Some(sub) = parts.get(2) {
        attrs.subresource = sub.to_string();
    }
    if attrs.name.is_empty() && attrs.verb == "get" {
        let watch = matches!(query.get("watch"), Some("true" | "1" | "True"));
        attrs.verb = if watch { "watch" } else { "list" }.into();
        // A list or watch of one name (`fieldSelector=metadata.name=NAME`) is about that name.
        if let Some(name) = query
            .get("fieldSelector")
            .and_then(|s| s.strip_prefix("metadata.name="))
            .filter(|n| !n.is_empty() && !n.contains([',', '/', '%']))
        {
            attrs.name = name.to_string();
        }
    }
    if attrs.name.is_empty() && attrs.verb == "delete" {
        attrs.verb = "deletecollection".into();
    }
    attrs
}

/// Paths anyone may GET, even without credentials (EKS keeps anonymous access to the health
/// checks only).
pub(crate) fn is_health_path(path: &str) -> bool {
    ["/healthz", "/livez", "/readyz"]
        .iter()
        .any(|p| path == *p || path.starts_with(&format!("{p}/")))
}

/// Discovery and version paths (`system:discovery`, `system:public-info-viewer`), allowed to
/// every authenticated user.
fn is_discovery_path(path: &str) -> bool {
    matches!(
        path,
        "/api" | "/apis" | "/version" | "/version/" | "/openapi"
    ) || ["/api/", "/apis/", "/openapi/"]
        .iter()
        .any(|p| path.starts_with(p))
}

/// Reviews of one's own access (`system:basic-user`).
fn is_self_review(attrs: &Attributes) -> bool {
    attrs.verb == "create"
        && ((attrs.api_group == "authorization.k8s.io"
            && matches!(
                attrs.resource.as_str(),
                "selfsubjectaccessreviews" | "selfsubjectrulesreviews"
            ))
            || (attrs.api_group == "authentication.k8s.io"
                && attrs.resource == "selfsubjectreviews"))
}

/// Allows or forbids a request.
pub(crate) fn authorize(
    state: &State,
    principal: &Principal,
    attrs: &Attributes,
) -> Result<(), ApiError> {
    let user = &principal.user;
    if user.groups.iter().any(|g| g == "system:masters") {
        return Ok(());
    }
    if !attrs.resource_request
        && matches!(attrs.verb.as_str(), "get" | "head")
        && (is_health_path(&attrs.path) || (!principal.anonymous && is_discovery_path(&attrs.path)))
    {
        return Ok(());
    }
    if !principal.anonymous && is_self_review(attrs) {
        return Ok(());
    }
    for association in &principal.policies {
        let in_scope = if attrs.resource_request {
            association.access_scope.covers(&attrs.namespace)
        } else {
            association.access_scope == crate::access::AccessScope::Cluster
        };
        if in_scope
            && policy_rules(&association.policy_arn)
                .is_some_and(|rules| rules.iter().any(|r| r.allows(attrs)))
        {
            return Ok(());
        }
    }
    if rules::rbac_allows(state, &user.username, &user.groups, attrs) {
        return Ok(());
    }
    Err(forbidden(&user.username, attrs))
}

/// The 403 the API server answers (`responsewriters.Forbidden`).
fn forbidden(username: &str, attrs: &Attributes) -> ApiError {
    if !attrs.resource_request {
        return ApiError::forbidden_for(
            "",
            "",
            "",
            &format!(
                "User {username:?} cannot {} path {:?}",
                attrs.verb, attrs.path
            ),
        );
    }
    let resource = if attrs.subresource.is_empty() {
        attrs.resource.clone()
    } else {
        format!("{}/{}", attrs.resource, attrs.subresource)
    };
    let scope = if attrs.namespace.is_empty() {
        "at the cluster scope".to_string()
    } else {
        format!("in the namespace {:?}", attrs.namespace)
    };
    ApiError::forbidden_for(
        &attrs.api_group,
        &attrs.resource,
        &attrs.name,
        &format!(
            "User {username:?} cannot {} resource {resource:?} in API group {:?} {scope}",
            attrs.verb, attrs.api_group
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(method: Method, path_and_query: &str) -> Attributes {
        let (path, query) = path_and_query
            .split_once('?')
            .unwrap_or((path_and_query, ""));
        attributes(&method, path, &Query::parse(Some(query)))
    }

    #[test]
    fn request_info_like_the_api_server() {
        let a = of(Method::POST, "/apis/apps/v1/namespaces/default/deployments");
        assert_eq!(
            (
                a.verb.as_str(),
                a.api_group.as_str(),
                a.resource.as_str(),
                a.namespace.as_str()
            ),
            ("create", "apps", "deployments", "default")
        );
        let a = of(Method::GET, "/api/v1/namespaces/kube-system");
        assert_eq!(
            (
                a.verb.as_str(),
                a.resource.as_str(),
                a.name.as_str(),
                a.namespace.as_str()
            ),
            ("get", "namespaces", "kube-system", "kube-system")
        );
        let a = of(Method::PUT, "/api/v1/namespaces/x/finalize");
        assert_eq!(
            (a.resource.as_str(), a.subresource.as_str()),
            ("namespaces", "finalize")
        );
        let a = of(Method::GET, "/api/v1/pods?watch=true");
        assert_eq!((a.verb.as_str(), a.namespace.as_str()), ("watch", ""));
        let a = of(Method::GET, "/api/v1/watch/namespaces/d/pods/p");
        assert_eq!((a.verb.as_str(), a.name.as_str()), ("watch", "p"));
        let a = of(
            Method::GET,
            "/api/v1/namespaces/d/pods?fieldSelector=metadata.name%3Dp",
        );
        assert_eq!((a.verb.as_str(), a.name.as_str()), ("list", "p"));
        let a = of(Method::DELETE, "/api/v1/namespaces/d/configmaps");
        assert_eq!(a.verb, "deletecollection");
        let a = of(
            Method::PATCH,
            "/apis/apps/v1/namespaces/d/deployments/web/scale",
        );
        assert_eq!(
            (a.verb.as_str(), a.subresource.as_str()),
            ("patch", "scale")
        );
        for non_resource in [
            "/api",
            "/api/v1",
            "/apis",
            "/apis/apps/v1",
            "/version",
            "/healthz",
        ] {
            let a = of(Method::GET, non_resource);
            assert!(!a.resource_request, "{non_resource}");
            assert_eq!(a.verb, "get");
        }
    }

    #[test]
    fn forbidden_messages_are_the_api_servers() {
        let a = of(Method::POST, "/apis/apps/v1/namespaces/default/deployments");
        let e = forbidden("alice", &a);
        assert_eq!(e.code, 403);
        assert_eq!(
            e.message,
            r#"deployments.apps is forbidden: User "alice" cannot create resource "deployments" in API group "apps" in the namespace "default""#
        );
        let a = of(Method::GET, "/api/v1/namespaces/default/secrets/db");
        assert_eq!(
            forbidden("bob", &a).message,
            r#"secrets "db" is forbidden: User "bob" cannot get resource "secrets" in API group "" in the namespace "default""#
        );
        let a = of(Method::GET, "/api/v1/nodes");
        assert_eq!(
            forbidden("bob", &a).message,
            r#"nodes is forbidden: User "bob" cannot list resource "nodes" in API group "" at the cluster scope"#
        );
        let a = of(Method::GET, "/metrics");
        assert_eq!(
            forbidden("bob", &a).message,
            r#"forbidden: User "bob" cannot get path "/metrics""#
        );
    }
}
