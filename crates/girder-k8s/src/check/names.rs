//! Validators for the names Kubernetes accepts, so a bad name is reported when the program is
//! built instead of by the API server half-way through an apply.

/// Why a name is invalid, or `None` if it is a DNS-1123 label (Namespaces, Services,
/// containers: at most 63 lowercase letters, digits and `-`, starting and ending with a
/// letter or digit).
pub fn dns_label(name: &str) -> Option<String> {
    if name.is_empty() || name.len() > 63 {
        return Some(format!(
            "must be 1 to 63 characters long (it has {})",
            name.len()
        ));
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        return Some("may contain only lowercase letters, digits and `-`".into());
    }
    if name.starts_with('-') || name.ends_with('-') {
        return Some("must start and end with a letter or digit".into());
    }
    None
}

/// Why a name is invalid, or `None` if it is a DNS-1123 subdomain (most object names: at most
/// 253 characters, dot-separated DNS labels).
pub fn dns_subdomain(name: &str) -> Option<String> {
    if name.is_empty() || name.len() > 253 {
        return Some(format!(
            "must be 1 to 253 characters long (it has {})",
            name.len()
        ));
    }
    name.split('.').find_map(|part| {
        if part.is_empty() {
            Some("must not contain empty parts between dots".into())
        } else {
            dns_label(part)
        }
    })
}

/// Why a DNS label that becomes part of a host name (a Service's or a Namespace's name, in
/// `NAME.NAMESPACE.svc.cluster.local`) cannot be used in URLs, although Kubernetes accepts
/// it: labels starting with `xn--` are internationalized (punycode) labels, which URL parsers
/// (WHATWG, browsers, Rust's `url`) decode and refuse unless they are valid punycode.
pub fn idna_prefix(label: &str) -> Option<String> {
    label.get(..4).filter(|prefix| prefix.eq_ignore_ascii_case("xn--")).map(|_| {
        "starts with `xn--`, the prefix of internationalized (punycode) DNS labels: URL parsers decode such a label and refuse it unless it is valid punycode, so URLs naming it (`service.url()`) do not parse".to_owned()
    })
}

/// Why a public DNS name (an external-dns hostname such as `app.example.com`, `*.example.com`
/// or `example.com.`) is invalid: at most 253 characters, at least two dot-separated labels
/// of 1 to 63 letters, digits and `-` (not at either end), the first label may be `*`.
pub fn dns_hostname(name: &str) -> Option<String> {
    let name = name.strip_suffix('.').unwrap_or(name);
    if name.is_empty() || name.len() > 253 {
        return Some(format!(
            "must be 1 to 253 characters long (it has {})",
            name.len()
        ));
    }
    let labels: Vec<&str> = name.split('.').collect();
    if labels.len() < 2 {
        return Some(
            "has no domain: a public name needs at least two labels, such as `app.example.com`"
                .into(),
        );
    }
    labels.iter().enumerate().find_map(|(i, label)| {
        let ok = (i == 0 && *label == "*")
            || (!label.is_empty()
                && label.len() <= 63
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !label.starts_with('-')
                && !label.ends_with('-'));
        (!ok).then(|| {
            format!(
                "has the label `{label}`: labels are 1 to 63 letters, digits and `-`, not starting or ending with `-`"
            )
        })
    })
}

fn qualified_name_part(part: &str) -> bool {
    !part.is_empty()
        && part.len() <= 63
        && part
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && part.starts_with(|c: char| c.is_ascii_alphanumeric())
        && part.ends_with(|c: char| c.is_ascii_alphanumeric())
}

/// Why a label or annotation key is invalid (`[prefix/]name`).
pub fn qualified_key(key: &str) -> Option<String> {
    let (prefix, name) = match key.split_once('/') {
        Some((prefix, name)) => (Some(prefix), name),
        None => (None, key),
    };
    if let Some(problem) = prefix.and_then(dns_subdomain) {
        return Some(format!("the prefix {problem}"));
    }
    if !qualified_name_part(name) {
        return Some(
            "the name part must be 1 to 63 letters, digits, `-`, `_` or `.`, starting and ending with a letter or digit".into(),
        );
    }
    None
}

/// Why a label value is invalid (empty, or like a qualified name part).
pub fn label_value(value: &str) -> Option<String> {
    if value.is_empty() || qualified_name_part(value) {
        None
    } else {
        Some("label values are at most 63 letters, digits, `-`, `_` or `.`, starting and ending with a letter or digit".into())
    }
}

/// Why a ConfigMap or Secret key is invalid.
pub fn config_key(key: &str) -> Option<String> {
    if key.is_empty() || key.len() > 253 {
        return Some("keys must be 1 to 253 characters long".into());
    }
    if !key
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Some("keys may contain only letters, digits, `-`, `_` and `.`".into());
    }
    None
}

/// Why a port name is invalid (IANA service name: at most 15 lowercase letters, digits and
/// `-`, with at least one letter).
pub fn port_name(name: &str) -> Option<String> {
    if name.is_empty() || name.len() > 15 {
        return Some("port names are 1 to 15 characters long".into());
    }
    if dns_label(name).is_some() || !name.chars().any(|c| c.is_ascii_lowercase()) {
        return Some(
            "port names contain lowercase letters, digits and `-` (at least one letter)".into(),
        );
    }
    None
}

/// Why an environment variable name is invalid (C identifiers are the portable choice;
/// Kubernetes accepts any printable ASCII except `=`).
pub fn env_name(name: &str) -> Option<String> {
    if name.is_empty() || name.contains('=') || !name.chars().all(|c| c.is_ascii_graphic()) {
        Some("environment variable names are printable ASCII without `=` or spaces".into())
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(dns_label("backend-service"), None);
        assert!(dns_label("Backend").is_some());
        assert!(dns_label("-x").is_some());
        assert_eq!(dns_subdomain("a.b-c"), None);
        assert!(dns_subdomain("a..b").is_some());
        assert_eq!(qualified_key("app.kubernetes.io/name"), None);
        assert!(qualified_key("bad key").is_some());
        assert_eq!(label_value(""), None);
        assert!(label_value("-x").is_some());
        assert_eq!(config_key("BACKEND_URL"), None);
        assert!(config_key("a b").is_some());
        assert_eq!(port_name("http"), None);
        assert!(port_name("8080").is_some());
        assert!(port_name("a-very-long-port-name").is_some());
        assert!(env_name("A=B").is_some());
    }

    #[test]
    fn host_names() {
        assert!(idna_prefix("xn--0").is_some());
        assert_eq!(idna_prefix("xn-0"), None);
        assert_eq!(idna_prefix("ab--c"), None);
        for good in [
            "app.example.com",
            "*.example.com",
            "example.com.",
            "a-b.c0.io",
        ] {
            assert_eq!(dns_hostname(good), None, "{good}");
        }
        for bad in [
            "",
            "app",
            "app_x.example.com",
            "-a.example.com",
            "a..b",
            "*",
        ] {
            assert!(dns_hostname(bad).is_some(), "{bad}");
        }
    }
}
