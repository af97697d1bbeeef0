//! URL-valued settings: the seed's week-long failure.
//!
//! The frontend read `BACKEND_URL` from a ConfigMap and the value *looked* right when printed
//! in the pod, yet the frontend requested `/` on itself and the backend never saw a request.
//! That is what an HTTP client does with a value that is not an absolute URL — `backend-service`
//! or `backend-service:80` parse as a relative reference (or as a URL with the scheme
//! `backend-service`), so the request goes to the client's own origin. Nothing in Kubernetes
//! checks a ConfigMap's values, so the mistake deploys cleanly. girder checks every setting
//! whose name says it holds a URL (`*_URL`, `*Uri`, `*_ENDPOINT`) and every value consumed by
//! such an environment variable: it must be `scheme://host[:port]`, and if the host is a
//! Service of the program, the port must be one of that Service's ports.

use url::Url;

/// True for setting names that hold a URL: `BACKEND_URL`, `apiBaseUrl`, `AUTH_ENDPOINT`,
/// `DATABASE_URI`.
pub fn is_url_setting(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    ["url", "uri", "endpoint"]
        .iter()
        .any(|suffix| lower.ends_with(suffix))
}

/// An absolute URL's parts that matter for wiring.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// The scheme.
    pub scheme: String,
    /// The host.
    pub host: String,
    /// The port, explicit or the scheme's default.
    pub port: Option<u16>,
}

/// Parses `value` as an absolute URL with a host, or says why it is not one.
pub fn parse_absolute(value: &str) -> Result<Target, String> {
    let trimmed = value.trim();
    if trimmed != value {
        return Err("it has leading or trailing whitespace".into());
    }
    if !value.contains("://") {
        return Err(if value.is_empty() {
            "it is empty".into()
        } else {
            "it has no `scheme://`".into()
        });
    }
    let url = Url::parse(value).map_err(|e| format!("it does not parse: {e}"))?;
    let host = url
        .host_str()
        .filter(|h| !h.is_empty())
        .ok_or_else(|| "it has no host".to_owned())?;
    Ok(Target {
        scheme: url.scheme().to_owned(),
        host: host.to_owned(),
        port: url.port_or_known_default(),
    })
}

/// The fix for a setting that is not a URL.
pub fn fix(key: &str) -> String {
    format!(
        "wire it to the Service with its typed URL — `.env(\"{key}\", service.url())` or `ConfigMap::new(..).data(\"{key}\", service.url())` — which is `http://NAME.NAMESPACE.svc.cluster.local:PORT` and cannot name a missing Service or port; or write the full `http://host:port` by hand"
    )
}

/// What a client does with a value that is not an absolute URL.
pub const CONSEQUENCE: &str = "an HTTP client resolves it as a relative reference against the pod's own origin, so requests go to `/` on the pod itself and never reach a Service";

/// How a host names a Service in-cluster (the spellings cluster DNS answers).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HostForm {
    /// `name`: a Service in the consumer's namespace, or any other host (`localhost`).
    Bare,
    /// `name.namespace`: a Service if `namespace` is one, else an ordinary domain
    /// (`example.com`).
    Short,
    /// `name.namespace.svc` or `name.namespace.svc.cluster.local`: only ever a Service.
    Cluster,
    /// `pod.name.namespace.svc[.cluster.local]`: one pod behind a headless Service.
    Pod,
}

/// A Service named by a host.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServiceHost<'a> {
    /// The Service's name.
    pub name: &'a str,
    /// Its namespace (the consumer's, when the host does not say).
    pub namespace: &'a str,
    /// The spelling.
    pub form: HostForm,
}

/// The Service a host names in-cluster: `name`, `name.namespace`, `name.namespace.svc` or
/// `name.namespace.svc.cluster.local` (the namespace defaults to the consumer's), a pod of a
/// headless Service (`pod.name.namespace.svc…`), with or without the root's trailing dot.
pub fn service_of_host<'a>(host: &'a str, consumer_namespace: &'a str) -> Option<ServiceHost<'a>> {
    let host = host.strip_suffix('.').unwrap_or(host);
    let parts: Vec<&str> = host.split('.').collect();
    let (name, namespace, form) = match parts.as_slice() {
        [name] => (*name, consumer_namespace, HostForm::Bare),
        [name, namespace] => (*name, *namespace, HostForm::Short),
        [name, namespace, "svc"] | [name, namespace, "svc", "cluster", "local"] => {
            (*name, *namespace, HostForm::Cluster)
        }
        [_, name, namespace, "svc"] | [_, name, namespace, "svc", "cluster", "local"] => {
            (*name, *namespace, HostForm::Pod)
        }
        _ => return None,
    };
    (!name.is_empty() && !namespace.is_empty()).then_some(ServiceHost {
        name,
        namespace,
        form,
    })
}

/// Services every cluster has without a program declaring them: the API server's and
/// cluster DNS's (EKS names its CoreDNS Service `kube-dns`).
pub const CLUSTER_SERVICES: [(&str, &str); 2] =
    [("kubernetes", "default"), ("kube-dns", "kube-system")];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_settings_and_parsing() {
        assert!(is_url_setting("BACKEND_URL"));
        assert!(is_url_setting("apiBaseUrl"));
        assert!(is_url_setting("AUTH_ENDPOINT"));
        assert!(!is_url_setting("BACKEND_HOST"));
        assert_eq!(
            parse_absolute("http://backend.default.svc.cluster.local:80").unwrap(),
            Target {
                scheme: "http".into(),
                host: "backend.default.svc.cluster.local".into(),
                port: Some(80)
            }
        );
        assert_eq!(
            parse_absolute("https://api.example.com").unwrap().port,
            Some(443)
        );
        for bad in [
            "backend-service",
            "backend-service:80",
            "/api",
            "",
            "http://",
        ] {
            assert!(parse_absolute(bad).is_err(), "{bad}");
        }
        let named = |host| service_of_host(host, "default").map(|s| (s.name, s.namespace, s.form));
        assert_eq!(
            named("backend-service"),
            Some(("backend-service", "default", HostForm::Bare))
        );
        assert_eq!(named("b.apps"), Some(("b", "apps", HostForm::Short)));
        assert_eq!(named("b.apps.svc"), Some(("b", "apps", HostForm::Cluster)));
        assert_eq!(
            named("b.apps.svc.cluster.local"),
            Some(("b", "apps", HostForm::Cluster))
        );
        assert_eq!(
            named("b.apps.svc.cluster.local."),
            Some(("b", "apps", HostForm::Cluster))
        );
        assert_eq!(
            named("db-0.db.apps.svc.cluster.local"),
            Some(("db", "apps", HostForm::Pod))
        );
        assert_eq!(named("api.example.com"), None);
    }
}
