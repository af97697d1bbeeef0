//! external-dns as the sandbox plays it for a cluster: active only when the cluster runs an
//! external-dns Deployment for AWS (container args `--provider=aws` and
//! `--txt-owner-id=OWNER`), it writes a CNAME to the load balancer for each hostname in a
//! Service's `external-dns.alpha.kubernetes.io/hostname` annotation, with the TXT registry
//! records external-dns writes (at the name and, as external-dns 0.13 and later do, at the
//! type-prefixed `cname-NAME`), in the hosted zone that is the longest suffix of the name and
//! passes `--domain-filter`. With `--policy=upsert-only` nothing is ever deleted; with
//! `sync` (external-dns's default) the records it owns are deleted when their Service goes.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use girder_aws_layer::client::AwsClient;
use girder_kube_emulator::{CloudError, ClusterView};
use http::Method;
use serde_json::Value;

use super::cloud::{cloud_error, texts};

/// The annotation external-dns reads hostnames from.
pub const HOSTNAME_ANNOTATION: &str = "external-dns.alpha.kubernetes.io/hostname";
/// The TTL external-dns gives records without a TTL annotation.
const TTL: u32 = 300;
const ROUTE53: &str = "route53";

/// How an external-dns Deployment is configured.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Settings {
    owner: String,
    domain_filters: Vec<String>,
    /// `sync`, `upsert-only` or `create-only`.
    policy: String,
}

/// One record set as external-dns wants it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Record {
    zone: String,
    name: String,
    kind: &'static str,
    value: String,
}

/// The flags of a container's args: `--name=value` and `--name value`, repeatable.
fn flags(args: &[String]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < args.len() {
        if let Some(flag) = args[i].strip_prefix("--") {
            match flag.split_once('=') {
                Some((name, value)) => out.push((name.to_owned(), value.to_owned())),
                None => {
                    let value = args.get(i + 1).filter(|v| !v.starts_with("--")).cloned();
                    if value.is_some() {
                        i += 1;
                    }
                    out.push((flag.to_owned(), value.unwrap_or_else(|| "true".into())));
                }
            }
        }
        i += 1;
    }
    out
}

/// The settings of the first external-dns-for-AWS Deployment of the cluster.
fn settings(view: &ClusterView) -> Option<Settings> {
    view.deployments.iter().find_map(|deployment| {
        let containers = deployment
            .pointer("/spec/template/spec/containers")?
            .as_array()?;
        containers.iter().find_map(|container| {
            let args: Vec<String> = ["command", "args"]
                .iter()
                .filter_map(|f| container.get(*f)?.as_array())
                .flatten()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect();
            let flags = flags(&args);
            let all = |name: &str| -> Vec<String> {
                flags
                    .iter()
                    .filter(|(n, _)| n == name)
                    .map(|(_, v)| v.clone())
                    .collect()
            };
            let sources = all("source");
            if all("provider") != ["aws"]
                || !(sources.is_empty() || sources.iter().any(|s| s == "service"))
            {
                return None;
            }
            Some(Settings {
                owner: all("txt-owner-id").pop()?,
                domain_filters: all("domain-filter")
                    .into_iter()
                    .flat_map(|d| d.split(',').map(normalize).collect::<Vec<_>>())
                    .filter(|d| !d.is_empty())
                    .collect(),
                policy: all("policy").pop().unwrap_or_else(|| "sync".into()),
            })
        })
    })
}

fn normalize(name: &str) -> String {
    name.trim().trim_end_matches('.').to_lowercase()
}

fn within(name: &str, domain: &str) -> bool {
    name == domain || name.ends_with(&format!(".{domain}"))
}

/// `(hostname, load balancer hostname, resource)` for each annotated Service with a load
/// balancer.
fn endpoints(view: &ClusterView) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for svc in &view.services {
        let text = |path: &str| {
            svc.pointer(path)
                .and_then(Value::as_str)
                .unwrap_or_default()
        };
        let target = text("/status/loadBalancer/ingress/0/hostname");
        let names = svc
            .pointer("/metadata/annotations")
            .and_then(|a| a.get(HOSTNAME_ANNOTATION))
            .and_then(Value::as_str)
            .unwrap_or_default();
        if target.is_empty() || names.is_empty() {
            continue;
        }
        let resource = format!(
            "service/{}/{}",
            text("/metadata/namespace"),
            text("/metadata/name")
        );
        for name in names.split(',').map(normalize).filter(|n| !n.is_empty()) {
            out.push((name, target.to_owned(), resource.clone()));
        }
    }
    out
}

fn txt_value(owner: &str, resource: &str) -> String {
    format!("\"heritage=external-dns,external-dns/owner={owner},external-dns/resource={resource}\"")
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// external-dns for one cluster.
#[derive(Debug)]
pub(super) struct ExternalDns {
    client: AwsClient,
    /// The records last written: nothing is sent while they stay the same.
    written: Mutex<Option<BTreeSet<Record>>>,
}

impl ExternalDns {
    pub(super) fn new(client: AwsClient) -> ExternalDns {
        ExternalDns {
            client,
            written: Mutex::new(None),
        }
    }

    /// One reconciliation, as external-dns runs it every interval.
    pub(super) async fn sync(&self, view: &ClusterView) -> Result<(), CloudError> {
        let Some(settings) = settings(view) else {
            return Ok(());
        };
        let wanted_endpoints = endpoints(view);
        let wanted_names: BTreeSet<&str> = wanted_endpoints
            .iter()
            .map(|(n, _, _)| n.as_str())
            .collect();
        let previously = self
            .written
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        if previously.is_none() && wanted_endpoints.is_empty() {
            return Ok(());
        }
        let zones = self.zones().await?;
        let mut wanted = BTreeSet::new();
        for (name, target, resource) in &wanted_endpoints {
            let filtered = settings.domain_filters.is_empty()
                || settings.domain_filters.iter().any(|d| within(name, d));
            let zone = zones
                .iter()
                .filter(|(_, zone)| filtered && within(name, zone))
                .max_by_key(|(_, zone)| zone.len());
            let Some((zone_id, _)) = zone else {
                tracing::debug!(%name, "no hosted zone for the name passes the domain filter");
                continue;
            };
            let txt = txt_value(&settings.owner, resource);
            for (record_name, kind, value) in [
                (name.clone(), "CNAME", target.clone()),
                (name.clone(), "TXT", txt.clone()),
                (format!("cname-{name}"), "TXT", txt),
            ] {
                wanted.insert(Record {
                    zone: zone_id.clone(),
                    name: record_name,
                    kind,
                    value,
                });
            }
        }
        if previously.as_ref() == Some(&wanted) {
            return Ok(());
        }
        let mut changes: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for record in &wanted {
            if previously.as_ref().is_some_and(|p| p.contains(record)) {
                continue;
            }
            changes.entry(record.zone.clone()).or_default().push(change(
                "UPSERT",
                &record.name,
                record.kind,
                TTL,
                &record.value,
            ));
        }
        if settings.policy == "sync" {
            let owned = format!("external-dns/owner={}", settings.owner);
            for (zone_id, _) in &zones {
                let sets = self.record_sets(zone_id).await?;
                for (name, kind, ttl, value) in &sets {
                    let owner_name = name.strip_prefix("cname-").unwrap_or(name);
                    if kind != "TXT" || !value.contains(&owned) || wanted_names.contains(owner_name)
                    {
                        continue;
                    }
                    let zone_changes = changes.entry(zone_id.clone()).or_default();
                    zone_changes.push(change("DELETE", name, "TXT", *ttl, value));
                    if name == owner_name {
                        // The TXT at the name vouches for the CNAME there: it goes too.
                        for (n, k, t, v) in &sets {
                            if n == name && k == "CNAME" {
                                zone_changes.push(change("DELETE", n, "CNAME", *t, v));
                            }
                        }
                    }
                }
            }
        }
        for (zone_id, zone_changes) in changes.into_iter().filter(|(_, c)| !c.is_empty()) {
            let body = format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ChangeResourceRecordSetsRequest xmlns=\"https://route53.amazonaws.com/doc/2013-04-01/\"><ChangeBatch><Comment>external-dns (girder sandbox)</Comment><Changes>{}</Changes></ChangeBatch></ChangeResourceRecordSetsRequest>",
                zone_changes.concat()
            );
            self.client
                .rest_xml(
                    ROUTE53,
                    "ChangeResourceRecordSets",
                    Method::POST,
                    &format!("/2013-04-01/hostedzone/{zone_id}/rrset"),
                    Some(body),
                )
                .await
                .map_err(cloud_error)?;
            tracing::info!(zone = %zone_id, changes = zone_changes.len(), owner = %settings.owner, "external-dns changed records");
        }
        *self.written.lock().unwrap_or_else(|e| e.into_inner()) = Some(wanted);
        Ok(())
    }

    /// Every hosted zone: (id without `/hostedzone/`, name without the final dot).
    async fn zones(&self) -> Result<Vec<(String, String)>, CloudError> {
        let mut zones = Vec::new();
        let mut next: Option<String> = None;
        loop {
            let path = match &next {
                Some(name) => format!("/2013-04-01/hostedzonesbyname?dnsname={name}&maxitems=100"),
                None => "/2013-04-01/hostedzonesbyname?maxitems=100".to_owned(),
            };
            let answer = self
                .client
                .rest_xml(ROUTE53, "ListHostedZonesByName", Method::GET, &path, None)
                .await
                .map_err(cloud_error)?;
            if let Some(list) = answer.root.child("HostedZones") {
                for zone in list.elements() {
                    if let (Some(id), Some(name)) = (zone.child_text("Id"), zone.child_text("Name"))
                    {
                        let id = id.rsplit('/').next().unwrap_or(&id).to_owned();
                        if !zones.iter().any(|(known, _)| *known == id) {
                            zones.push((id, normalize(&name)));
                        }
                    }
                }
            }
            match answer.root.child_text("NextDNSName") {
                Some(name) if answer.root.child_text("IsTruncated").as_deref() == Some("true") => {
                    next = Some(name);
                }
                _ => return Ok(zones),
            }
        }
    }

    /// A zone's record sets with one value each: (name without the final dot, type, TTL,
    /// value).
    async fn record_sets(
        &self,
        zone_id: &str,
    ) -> Result<Vec<(String, String, u32, String)>, CloudError> {
        let answer = self
            .client
            .rest_xml(
                ROUTE53,
                "ListResourceRecordSets",
                Method::GET,
                &format!("/2013-04-01/hostedzone/{zone_id}/rrset"),
                None,
            )
            .await
            .map_err(cloud_error)?;
        let mut out = Vec::new();
        if let Some(sets) = answer.root.child("ResourceRecordSets") {
            for set in sets.elements() {
                let name = normalize(&set.child_text("Name").unwrap_or_default());
                let kind = set.child_text("Type").unwrap_or_default();
                let ttl = set
                    .child_text("TTL")
                    .and_then(|t| t.parse().ok())
                    .unwrap_or(TTL);
                for value in texts(set, "Value") {
                    out.push((name.clone(), kind.clone(), ttl, value));
                }
            }
        }
        Ok(out)
    }
}

fn change(action: &str, name: &str, kind: &str, ttl: u32, value: &str) -> String {
    format!(
        "<Change><Action>{action}</Action><ResourceRecordSet><Name>{}</Name><Type>{kind}</Type><TTL>{ttl}</TTL><ResourceRecords><ResourceRecord><Value>{}</Value></ResourceRecord></ResourceRecords></ResourceRecordSet></Change>",
        escape(name),
        escape(value)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_an_aws_external_dns_with_an_owner_counts() {
        let deployment = |args: Value| json!({"spec": {"template": {"spec": {"containers": [{"name": "external-dns", "args": args}]}}}});
        let view = ClusterView {
            services: vec![],
            deployments: vec![
                deployment(json!(["--provider=google", "--txt-owner-id=x"])),
                deployment(json!([
                    "--source=service",
                    "--provider=aws",
                    "--registry=txt",
                    "--policy=upsert-only",
                    "--txt-owner-id=yolo",
                    "--domain-filter",
                    "example.com."
                ])),
            ],
        };
        assert_eq!(
            settings(&view),
            Some(Settings {
                owner: "yolo".into(),
                domain_filters: vec!["example.com".into()],
                policy: "upsert-only".into(),
            })
        );
        let without_owner = ClusterView {
            services: vec![],
            deployments: vec![deployment(json!(["--provider=aws"]))],
        };
        assert_eq!(settings(&without_owner), None);
    }

    #[test]
    fn annotated_services_with_a_load_balancer_are_endpoints() {
        let view = ClusterView {
            services: vec![
                json!({"metadata": {"namespace": "web", "name": "frontend",
                                    "annotations": {HOSTNAME_ANNOTATION: "www.example.com, Example.com."}},
                       "status": {"loadBalancer": {"ingress": [{"hostname": "a1.elb.amazonaws.com"}]}}}),
                json!({"metadata": {"namespace": "web", "name": "pending",
                                    "annotations": {HOSTNAME_ANNOTATION: "soon.example.com"}}}),
            ],
            deployments: vec![],
        };
        assert_eq!(
            endpoints(&view),
            vec![
                (
                    "www.example.com".into(),
                    "a1.elb.amazonaws.com".into(),
                    "service/web/frontend".into()
                ),
                (
                    "example.com".into(),
                    "a1.elb.amazonaws.com".into(),
                    "service/web/frontend".into()
                ),
            ]
        );
        assert_eq!(
            txt_value("yolo", "service/web/frontend"),
            "\"heritage=external-dns,external-dns/owner=yolo,external-dns/resource=service/web/frontend\""
        );
    }
}
