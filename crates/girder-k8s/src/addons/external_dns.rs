//! external-dns on AWS (Route 53) for Services — upstream's chart (v0.18) in Rust.

use std::time::Duration;

use girder_core::{Dependable, Diagnostic, Input, IntoInput, NodeId, Stack, interpolate};

use super::{ADDON_NAMESPACE, AddonNamespace, go_duration, irsa_subject, known, region_problem};
use crate::check::dns_hostname;
use crate::dsl::object::IntoNamespace;
use crate::dsl::{
    ClusterRole, ClusterRoleBinding, ClusterTarget, Deployment, DeploymentHandle, PolicyRule,
    Resources, ServiceAccount, ServiceAccountHandle,
};

/// Which records external-dns may change.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DnsPolicy {
    /// Create and update records, never delete them (the default: a deleted Service leaves
    /// its record, an outage of the cluster never empties a zone).
    #[default]
    UpsertOnly,
    /// Also delete the records of Services that are gone.
    Sync,
    /// Only create records.
    CreateOnly,
}

impl DnsPolicy {
    fn as_str(&self) -> &'static str {
        match self {
            DnsPolicy::UpsertOnly => "upsert-only",
            DnsPolicy::Sync => "sync",
            DnsPolicy::CreateOnly => "create-only",
        }
    }
}

/// Which Route 53 zones external-dns considers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ZoneType {
    /// Public hosted zones only.
    Public,
    /// Private hosted zones only.
    Private,
}

impl ZoneType {
    fn as_str(&self) -> &'static str {
        match self {
            ZoneType::Public => "public",
            ZoneType::Private => "private",
        }
    }
}

/// external-dns: publishes the hostnames of LoadBalancer Services (set with
/// [`.hostname(..)`](crate::dsl::ExposedService::hostname)) as Route 53 records pointing at
/// their load balancers, with TXT ownership records (`--registry=txt`) under the owner id, in
/// the zones of the domain filters, upserting only by default.
///
/// Its ServiceAccount carries the IRSA role ARN; the role should be trusted by
/// [`irsa_service_account`](ExternalDns::irsa_service_account) only and allowed to change
/// the records of the hosted zone only.
///
/// ```
/// use girder_core::Stack;
/// use girder_k8s::addons::{DnsPolicy, ExternalDns, ZoneType};
/// use girder_k8s::dsl::DefaultProvider;
/// let mut s = Stack::new("prod");
/// let dns = ExternalDns::new()
///     .domain_filter("example.com")      // or the hosted zone's name output
///     .txt_owner_id("prod")              // unique per cluster sharing the zone
///     .role_arn("arn:aws:iam::123456789012:role/prod-external-dns")
///     .zone_type(ZoneType::Public)
///     .policy(DnsPolicy::UpsertOnly)
///     .add(DefaultProvider, &mut s);
/// assert_eq!(dns.deployment().namespace(), Some("kube-system"));
/// assert!(s.finish().is_ok());
/// ```
#[derive(Clone, Debug)]
#[must_use = "a builder declares nothing until it is added to the stack with `.add(…)`"]
pub struct ExternalDns {
    domain_filters: Vec<Input<String>>,
    txt_owner_id: Option<Input<String>>,
    role_arn: Option<Input<String>>,
    region: Option<Input<String>>,
    zone_type: Option<ZoneType>,
    policy: DnsPolicy,
    interval: Duration,
    namespace: AddonNamespace,
    image: String,
    resources: Resources,
}

impl Default for ExternalDns {
    fn default() -> Self {
        ExternalDns::new()
    }
}

impl ExternalDns {
    /// The pinned image.
    pub const IMAGE: &'static str = "registry.k8s.io/external-dns/external-dns:v0.18.0";

    /// The name of its objects (ServiceAccount, RBAC, Deployment).
    pub const NAME: &'static str = "external-dns";

    /// external-dns in `kube-system` with the pinned image, `--source=service
    /// --provider=aws --registry=txt --policy=upsert-only`, a one-minute interval, and 50m /
    /// 200m CPU, 100Mi / 256Mi memory.
    pub fn new() -> ExternalDns {
        ExternalDns {
            domain_filters: Vec::new(),
            txt_owner_id: None,
            role_arn: None,
            region: None,
            zone_type: None,
            policy: DnsPolicy::UpsertOnly,
            interval: Duration::from_secs(60),
            namespace: AddonNamespace::new(ADDON_NAMESPACE),
            image: ExternalDns::IMAGE.to_owned(),
            resources: Resources::new().cpu("50m", "200m").memory("100Mi", "256Mi"),
        }
    }

    /// Limits it to a domain and its subdomains (`example.com`, or a hosted zone's name
    /// output); repeatable.
    pub fn domain_filter(mut self, domain: impl IntoInput<String>) -> ExternalDns {
        self.domain_filters.push(domain.into_input());
        self
    }

    /// The owner id of its TXT records, unique per cluster sharing a zone (such as the
    /// cluster's name), so two clusters never take over each other's records. Required.
    pub fn txt_owner_id(mut self, owner: impl IntoInput<String>) -> ExternalDns {
        self.txt_owner_id = Some(owner.into_input());
        self
    }

    /// The ARN of the IAM role its pods assume through IRSA. Required.
    pub fn role_arn(mut self, arn: impl IntoInput<String>) -> ExternalDns {
        self.role_arn = Some(arn.into_input());
        self
    }

    /// The AWS region its SDK uses (`AWS_DEFAULT_REGION`; Route 53 itself is global).
    pub fn region(mut self, region: impl IntoInput<String>) -> ExternalDns {
        self.region = Some(region.into_input());
        self
    }

    /// Public or private hosted zones only (default: both).
    pub fn zone_type(mut self, zone_type: ZoneType) -> ExternalDns {
        self.zone_type = Some(zone_type);
        self
    }

    /// Which records it may change (default [`DnsPolicy::UpsertOnly`]).
    pub fn policy(mut self, policy: DnsPolicy) -> ExternalDns {
        self.policy = policy;
        self
    }

    /// How often it reconciles (default one minute).
    pub fn interval(mut self, interval: Duration) -> ExternalDns {
        self.interval = interval;
        self
    }

    /// The namespace (default `kube-system`).
    pub fn namespace(mut self, namespace: impl IntoNamespace) -> ExternalDns {
        self.namespace = AddonNamespace::new(namespace);
        self
    }

    /// Another image, such as a mirror of the pinned one.
    pub fn image(mut self, image: impl Into<String>) -> ExternalDns {
        self.image = image.into();
        self
    }

    /// Requests and limits.
    pub fn resources(mut self, resources: Resources) -> ExternalDns {
        self.resources = resources;
        self
    }

    /// The (namespace, name) of its ServiceAccount: what the IRSA role's trust policy must
    /// name.
    pub fn irsa_service_account(&self) -> (&str, &str) {
        (self.namespace.name(), ExternalDns::NAME)
    }

    fn problems(&self, resource: &str) -> Vec<Diagnostic> {
        let (namespace, name) = self.irsa_service_account();
        let mut problems = Vec::new();
        if self.domain_filters.is_empty() {
            problems.push(
                Diagnostic::warning("external-dns has no domain filter, so it manages records in every hosted zone its role can reach")
                    .field("args[--domain-filter]")
                    .fix("limit it to the app's zone: `.domain_filter(\"example.com\")` (or the hosted zone's name output)"),
            );
        }
        for (i, domain) in self.domain_filters.iter().enumerate() {
            if let Some(domain) = known(domain)
                && let Some(problem) = dns_hostname(&domain)
            {
                problems.push(
                    Diagnostic::error(format!("`{domain}` is not a domain: it {problem}"))
                        .field(format!("args[--domain-filter][{i}]"))
                        .value(&domain)
                        .fix("pass the hosted zone's domain, such as `example.com`"),
                );
            }
        }
        match self.txt_owner_id.as_ref().map(known) {
            None => problems.push(
                Diagnostic::error("external-dns has no TXT owner id: it would mark its records as owned by `default`, and clusters sharing the zone would take over each other's records")
                    .field("args[--txt-owner-id]")
                    .fix("set an id unique to this cluster, such as its name: `.txt_owner_id(\"prod\")`"),
            ),
            Some(Some(owner)) if owner.is_empty() || owner.contains([',', ' ', '"']) => problems.push(
                Diagnostic::error(format!("`{owner}` cannot be a TXT owner id"))
                    .field("args[--txt-owner-id]")
                    .value(&owner)
                    .fix("use letters, digits, `-`, `_` and `.`, such as the cluster's name"),
            ),
            Some(_) => {}
        }
        if self.role_arn.is_none() {
            problems.push(
                Diagnostic::error("external-dns changes Route 53 records through the AWS API, but has no IAM role")
                    .field("role_arn")
                    .fix(format!(
                        "pass the ARN of an IRSA role trusted by `{}` only and limited to the hosted zone: `.role_arn(eks.service_account_role(\"{namespace}\", \"{name}\").policy(\"route53\", policies::external_dns([zone.arn()])).add(s).arn())`",
                        irsa_subject(namespace, name)
                    )),
            );
        }
        if let Some(region) = self.region.as_ref().and_then(known)
            && let Some(problem) = region_problem(&region)
        {
            problems.push(
                Diagnostic::error(problem)
                    .field("env[AWS_DEFAULT_REGION]")
                    .value(&region)
                    .fix("use the cluster's region, such as `us-east-1`"),
            );
        }
        if self.interval < Duration::from_secs(10) {
            problems.push(
                Diagnostic::warning(format!(
                    "an interval of {} calls Route 53 so often that its API rate limit (5 requests per second per account) throttles external-dns",
                    go_duration(self.interval)
                ))
                .field("args[--interval]")
                .value(go_duration(self.interval))
                .fix("use a minute (the default) or more"),
            );
        }
        problems.into_iter().map(|p| p.resource(resource)).collect()
    }

    /// Adds its ServiceAccount, RBAC and Deployment to the stack.
    pub fn add(self, target: impl ClusterTarget, stack: &mut Stack) -> ExternalDnsHandle {
        let name = ExternalDns::NAME;
        let resource = format!("deployment/{}/{name}", self.namespace.name());
        for problem in self.problems(&resource) {
            stack.report(problem);
        }

        let mut account = ServiceAccount::new(name)
            .namespace(&self.namespace)
            .label("k8s-app", name);
        if let Some(arn) = &self.role_arn {
            account = account.irsa_role_arn(arn.clone());
        }
        let account = account.add(&target, stack);
        // What the `service` source reads.
        let role = ClusterRole::new(name)
            .label("k8s-app", name)
            .rule(PolicyRule::new(
                [""],
                ["services", "endpoints", "pods"],
                ["get", "watch", "list"],
            ))
            .rule(PolicyRule::new([""], ["nodes"], ["list", "watch"]))
            .rule(PolicyRule::new(
                ["discovery.k8s.io"],
                ["endpointslices"],
                ["get", "watch", "list"],
            ))
            .add(&target, stack);
        ClusterRoleBinding::new(format!("{name}-viewer"), &role)
            .label("k8s-app", name)
            .subject(&account)
            .add(stack);

        let mut deployment = Deployment::new(name)
            .namespace(&self.namespace)
            .label("k8s-app", name)
            .image(self.image.as_str())
            .args([
                "--source=service".to_owned(),
                "--provider=aws".to_owned(),
                "--registry=txt".to_owned(),
                format!("--policy={}", self.policy.as_str()),
                format!("--interval={}", go_duration(self.interval)),
                "--log-format=json".to_owned(),
            ]);
        if let Some(owner) = &self.txt_owner_id {
            let owner = owner.clone().into_output();
            deployment = deployment.arg(interpolate!("--txt-owner-id={}", owner));
        }
        for domain in &self.domain_filters {
            let domain = domain.clone().into_output();
            deployment = deployment.arg(interpolate!("--domain-filter={}", domain));
        }
        if let Some(zone_type) = self.zone_type {
            deployment = deployment.arg(format!("--aws-zone-type={}", zone_type.as_str()));
        }
        if let Some(region) = &self.region {
            deployment = deployment.env("AWS_DEFAULT_REGION", region.clone());
        }
        let deployment = deployment
            .named_port("http", 7979)
            .readiness_http("/healthz", 7979)
            .liveness_http("/healthz", 7979)
            .resources(self.resources.clone())
            .service_account(&account)
            .node_selector("kubernetes.io/os", "linux")
            // Two instances would race on the same records: exactly one.
            .replicas(1)
            .add(&target, stack);
        ExternalDnsHandle {
            deployment,
            service_account: account,
        }
    }
}

/// The objects of an [`ExternalDns`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExternalDnsHandle {
    deployment: DeploymentHandle,
    service_account: ServiceAccountHandle,
}

impl ExternalDnsHandle {
    /// The Deployment.
    pub fn deployment(&self) -> &DeploymentHandle {
        &self.deployment
    }

    /// The ServiceAccount carrying the IRSA role.
    pub fn service_account(&self) -> &ServiceAccountHandle {
        &self.service_account
    }
}

impl Dependable for ExternalDnsHandle {
    fn node_ids(&self) -> Vec<NodeId> {
        vec![self.deployment.node()]
    }
}
