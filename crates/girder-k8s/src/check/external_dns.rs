//! Hostnames that external-dns will publish. A Service's hostname annotation does nothing by
//! itself: external-dns reads it only if it watches Services (`--source=service`) and the name
//! lies inside one of its `--domain-filter`s. A name outside them is skipped without a word in
//! any status, so the name simply never resolves — found days later by a user, not by apply.

use girder_core::{Diagnostic, Diagnostics, Value};

use super::wiring::Program;
use super::{ObjectView, at};
use crate::dsl::EXTERNAL_DNS_HOSTNAME;

/// One external-dns of the program, as its arguments say.
struct Instance<'a> {
    view: &'a ObjectView<'a>,
    sources: Vec<String>,
    /// `None` when a filter is not known until apply (a zone's name output).
    filters: Option<Vec<String>>,
}

fn instances<'a>(program: &'a Program<'a>) -> Vec<Instance<'a>> {
    let mut found = Vec::new();
    for object in program.objects.iter().filter(|o| o.kind.has_pods()) {
        for container in object.containers() {
            let image = container.value.get("image").and_then(Value::as_str);
            if !image.is_some_and(|i| i.contains("external-dns")) {
                continue;
            }
            let args = container
                .value
                .get("args")
                .and_then(Value::as_array)
                .unwrap_or_default();
            let mut sources = Vec::new();
            let mut filters = Some(Vec::new());
            for arg in args {
                match arg.as_str() {
                    Some(text) => {
                        if let Some(source) = text.strip_prefix("--source=") {
                            sources.push(source.to_owned());
                        }
                        if let Some(filter) = text.strip_prefix("--domain-filter=")
                            && let Some(list) = filters.as_mut()
                        {
                            list.push(filter.trim_end_matches('.').to_ascii_lowercase());
                        }
                    }
                    None => filters = None,
                }
            }
            found.push(Instance {
                view: object,
                sources,
                filters,
            });
        }
    }
    found
}

/// True if `host` is `domain` or below it.
fn inside(host: &str, domain: &str) -> bool {
    host == domain || host.ends_with(&format!(".{domain}"))
}

/// Checks every Service hostname of the program against the program's external-dns.
pub(super) fn check(program: &Program<'_>, diagnostics: &mut Diagnostics) {
    let instances = instances(program);
    for service in program
        .objects
        .iter()
        .filter(|o| o.kind.group.is_empty() && o.kind.kind == "Service")
    {
        let Some(hostnames) = at(
            service.manifest,
            &["metadata", "annotations", EXTERNAL_DNS_HOSTNAME],
        )
        .and_then(Value::as_str) else {
            continue;
        };
        let field = format!("metadata.annotations[\"{EXTERNAL_DNS_HOSTNAME}\"]");
        let watching: Vec<&Instance<'_>> = instances
            .iter()
            .filter(|i| i.view.cluster == service.cluster)
            .collect();
        if watching.is_empty() {
            continue; // another installation may publish it; nothing to compare with
        }
        if !watching
            .iter()
            .any(|i| i.sources.iter().any(|s| s == "service"))
        {
            diagnostics.push(
                Diagnostic::error(format!(
                    "{} asks external-dns for `{hostnames}`, but the program's external-dns ({}) does not watch Services, so the name is never published",
                    service.describe(),
                    watching.iter().map(|i| i.view.describe()).collect::<Vec<_>>().join(", ")
                ))
                .resource(service.resource)
                .field(field.clone())
                .value(hostnames)
                .fix("run external-dns with `--source=service` (girder's `ExternalDns` add-on does)"),
            );
            continue;
        }
        let Some(filters) = watching
            .iter()
            .map(|i| i.filters.clone())
            .collect::<Option<Vec<Vec<String>>>>()
            .map(|lists| lists.concat())
        else {
            continue;
        };
        if filters.is_empty() {
            continue; // no filter: it manages every zone its role can reach
        }
        for host in hostnames
            .split(',')
            .map(str::trim)
            .filter(|h| !h.is_empty())
        {
            let name = host.trim_end_matches('.').to_ascii_lowercase();
            if filters.iter().any(|domain| inside(&name, domain)) {
                continue;
            }
            diagnostics.push(
                Diagnostic::error(format!(
                    "{} asks external-dns for `{host}`, but the program's external-dns manages only {}: it skips the name, which never resolves",
                    service.describe(),
                    filters.iter().map(|f| format!("`{f}`")).collect::<Vec<_>>().join(", ")
                ))
                .resource(service.resource)
                .field(field.clone())
                .value(host)
                .fix(format!(
                    "use a name under {} (such as `app.{}`), or add the zone it belongs to with `ExternalDns::new().domain_filter(..)`",
                    filters.iter().map(|f| format!("`{f}`")).collect::<Vec<_>>().join(" or "),
                    filters[0]
                )),
            );
        }
    }
}
