//! Route 53 hosted zones.

use std::collections::BTreeMap;

use girder_core::expr::Expr;
use girder_core::{
    Dependable, Diagnostic, HasOptions, Input, IntoInput, NodeId, Output, ResourceDecl,
    ResourceHandle, ResourceOptions, Stack,
};

use crate::checks::{domain_problem, normalize_domain};
use crate::dsl::{check_tags, regions, with_tags};
use crate::ids::{HostedZoneArn, HostedZoneId, VpcId};
use crate::route53::hosted_zone::HOSTED_ZONE;
use crate::tags::Tags;

/// A Route 53 hosted zone under construction: public by default, private once it is
/// associated with a VPC.
///
/// Its resource name in the stack is the domain unless [`HostedZone::resource_name`] sets
/// another (two zones for one domain, public and private, need distinct names).
///
/// ```
/// use girder_core::Stack;
/// use girder_aws::dsl::route53::HostedZone;
/// use girder_aws::dsl::eks::policies;
/// let mut s = Stack::new("dev");
/// let zone = HostedZone::new("example.com")
///     .comment("public names of the yolo app")
///     .tag("project", "yolo")
///     .add(&mut s);
/// assert_eq!(zone.domain(), "example.com");
/// // external-dns may change records in this zone only.
/// let dns = policies::external_dns([zone.arn()]);
/// assert_eq!(dns.len(), 2);
/// s.export("name_servers", zone.name_servers());
/// assert!(s.finish().is_ok());
/// ```
#[derive(Clone, Debug)]
#[must_use = "a builder declares nothing until it is added to the stack with `.add(…)`"]
pub struct HostedZone {
    domain: String,
    resource: Option<String>,
    comment: Option<String>,
    vpcs: Vec<(Input<VpcId>, Option<String>)>,
    force_destroy: bool,
    external_dns_owners: Vec<String>,
    tags: Tags,
    options: ResourceOptions,
}

impl HostedZone {
    /// A hosted zone for `domain` (such as `example.com`; case and a trailing dot do not
    /// matter).
    pub fn new(domain: impl Into<String>) -> HostedZone {
        HostedZone {
            domain: domain.into(),
            resource: None,
            comment: None,
            vpcs: Vec::new(),
            force_destroy: false,
            external_dns_owners: Vec::new(),
            tags: Tags::new(),
            options: ResourceOptions::default(),
        }
    }

    /// The zone's name in the stack (default: the domain).
    pub fn resource_name(mut self, name: impl Into<String>) -> HostedZone {
        self.resource = Some(name.into());
        self
    }

    /// A comment (at most 256 characters).
    pub fn comment(mut self, comment: impl Into<String>) -> HostedZone {
        self.comment = Some(comment.into());
        self
    }

    /// Makes the zone private and answers its names in `vpc` (of the provider's region);
    /// call again to add more VPCs. Public and private zones are different kinds: switching
    /// replaces the zone.
    pub fn private(mut self, vpc: impl IntoInput<VpcId>) -> HostedZone {
        self.vpcs.push((vpc.into_input(), None));
        self
    }

    /// Like [`HostedZone::private`], for a VPC in another region.
    pub fn private_in(
        mut self,
        vpc: impl IntoInput<VpcId>,
        region: impl Into<String>,
    ) -> HostedZone {
        self.vpcs.push((vpc.into_input(), Some(region.into())));
        self
    }

    /// Lets a delete remove the zone's records (all but its NS and SOA) first; without it a
    /// zone that still holds records — written by external-dns, say — is not deleted. Apply
    /// it before the destroy it is meant for: the delete reads the recorded setting.
    pub fn force_destroy(mut self) -> HostedZone {
        self.force_destroy = true;
        self
    }

    /// The TXT owner id (`--txt-owner-id`) of an external-dns of this program that writes
    /// into the zone: when the zone is deleted, the records that external-dns owns — its
    /// ownership TXT records and the records they mark — are deleted first, and only those.
    /// external-dns never deletes them itself on a destroy (with `upsert-only` never at all,
    /// and it is gone before the zone), and Route 53 refuses to delete a zone that is not
    /// empty. Records of other owners still stop the delete unless `force_destroy` is set.
    ///
    /// ```
    /// use girder_aws::dsl::route53::HostedZone;
    /// let zone = HostedZone::new("example.com").external_dns_owner("prod");
    /// # let _ = zone;
    /// ```
    pub fn external_dns_owner(mut self, owner_id: impl Into<String>) -> HostedZone {
        self.external_dns_owners.push(owner_id.into());
        self
    }

    /// Adds a tag.
    pub fn tag(mut self, key: impl Into<String>, value: impl Into<String>) -> HostedZone {
        self.tags.insert(key.into(), value.into());
        self
    }

    /// Adds tags.
    pub fn tags<K: Into<String>, V: Into<String>>(
        mut self,
        tags: impl IntoIterator<Item = (K, V)>,
    ) -> HostedZone {
        self.tags
            .extend(tags.into_iter().map(|(k, v)| (k.into(), v.into())));
        self
    }

    /// Adds the zone to the stack, reporting invalid values.
    pub fn add(self, s: &mut Stack) -> HostedZoneHandle {
        let domain = normalize_domain(&self.domain);
        let resource = self.resource.clone().unwrap_or_else(|| domain.clone());
        if let Some((message, fix)) = domain_problem(&self.domain) {
            s.report(
                Diagnostic::error(message)
                    .resource(&resource)
                    .field("domain")
                    .value(&self.domain)
                    .fix(fix),
            );
        }
        if let Some(comment) = &self.comment
            && comment.chars().count() > 256
        {
            s.report(
                Diagnostic::error("a hosted zone comment has at most 256 characters")
                    .resource(&resource)
                    .field("comment")
                    .value(format!("{}…", comment.chars().take(40).collect::<String>()))
                    .fix("shorten the comment"),
            );
        }
        for owner in &self.external_dns_owners {
            if owner.is_empty() || owner.contains([',', ' ', '"', '=']) {
                s.report(
                    Diagnostic::error(format!("`{owner}` cannot be an external-dns TXT owner id"))
                        .resource(&resource)
                        .field("external_dns_owners")
                        .value(owner)
                        .fix("use the `--txt-owner-id` the program's external-dns runs with: a non-empty id without spaces, commas, `=` or quotes, such as the cluster's name"),
                );
            }
        }
        for (i, (_, region)) in self.vpcs.iter().enumerate() {
            if let Some(region) = region
                && !regions::looks_like_region(region)
            {
                s.report(
                    Diagnostic::error("not an AWS region")
                        .resource(&resource)
                        .field(format!("vpcs[{i}].region"))
                        .value(region)
                        .fix("use a region such as `us-east-1`"),
                );
            }
        }
        check_tags(s, &resource, &self.tags);
        let mut decl = ResourceDecl::new(HOSTED_ZONE, &resource)
            .input("name", domain.as_str())
            .options(self.options);
        if let Some(comment) = &self.comment {
            decl = decl.input("comment", comment.as_str());
        }
        if !self.vpcs.is_empty() {
            let vpcs = self
                .vpcs
                .into_iter()
                .map(|(vpc, region)| {
                    let mut fields = BTreeMap::new();
                    fields.insert("vpc_id".to_owned(), vpc.into_expr());
                    if let Some(region) = region {
                        fields.insert("vpc_region".to_owned(), Expr::Value(region.into()));
                    }
                    Expr::Object(fields)
                })
                .collect();
            decl = decl
                .input("private_zone", true)
                .input("vpcs", Expr::Array(vpcs));
        }
        if self.force_destroy {
            decl = decl.input("force_destroy", true);
        }
        if !self.external_dns_owners.is_empty() {
            let mut owners = self.external_dns_owners.clone();
            owners.sort();
            owners.dedup();
            decl = decl.input(
                "external_dns_owners",
                Expr::Array(owners.into_iter().map(|o| Expr::Value(o.into())).collect()),
            );
        }
        let handle = with_tags(decl, &self.tags).add(s);
        HostedZoneHandle { handle, domain }
    }
}

impl HasOptions for HostedZone {
    fn options_mut(&mut self) -> &mut ResourceOptions {
        &mut self.options
    }
}

/// A hosted zone in the stack.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostedZoneHandle {
    handle: ResourceHandle,
    domain: String,
}

impl HostedZoneHandle {
    /// The domain as the program gave it (lowercase, without the trailing dot).
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// The domain as an output: known when planning, and a dependency on the zone (for
    /// external-dns's domain filter, say).
    pub fn name(&self) -> Output<String> {
        self.handle.output("name")
    }

    /// The zone id (`Z0123…`), known after apply.
    pub fn zone_id(&self) -> Output<HostedZoneId> {
        self.handle.output("zone_id")
    }

    /// The zone's ARN, known after apply: what IAM policies scope Route 53 permissions to
    /// (see [`policies::external_dns`](crate::dsl::eks::policies::external_dns)).
    pub fn arn(&self) -> Output<HostedZoneArn> {
        self.handle.output("arn")
    }

    /// The name servers to delegate the domain to at its registrar or parent zone (empty
    /// for private zones), known after apply.
    pub fn name_servers(&self) -> Output<Vec<String>> {
        self.handle.output("name_servers")
    }

    /// The node.
    pub fn node(&self) -> NodeId {
        self.handle.node()
    }
}

impl Dependable for HostedZoneHandle {
    fn node_ids(&self) -> Vec<NodeId> {
        vec![self.handle.node()]
    }
}
