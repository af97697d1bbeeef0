//! Security groups and their rules.

use girder_core::{
    Dependable, Diagnostic, HasOptions, Input, IntoInput, NodeId, Output, ResourceDecl,
    ResourceHandle, ResourceOptions, Stack,
};
use ipnet::Ipv4Net;

use crate::dsl::{check_tags, with_tags};
use crate::ec2::security_group::{SECURITY_GROUP, SECURITY_GROUP_RULE};
use crate::ids::{SecurityGroupId, VpcId};
use crate::tags::Tags;

/// Where a rule's traffic comes from (ingress) or goes to (egress).
#[derive(Clone, Debug)]
pub enum Peer {
    /// An IPv4 range.
    Cidr(String),
    /// Members of a security group.
    Group(Input<SecurityGroupId>),
}

/// One security group rule.
///
/// ```
/// use girder_aws::dsl::network::Rule;
/// let https = Rule::tcp(443).cidr("10.0.0.0/8").description("HTTPS inside the company");
/// let out = Rule::all_traffic().outbound().cidr("0.0.0.0/0");
/// # let _ = (https, out);
/// ```
#[derive(Clone, Debug)]
pub struct Rule {
    egress: bool,
    protocol: String,
    from_port: i32,
    to_port: i32,
    peer: Option<Peer>,
    description: Option<String>,
}

impl Rule {
    /// Inbound TCP on one port.
    pub fn tcp(port: u16) -> Rule {
        Rule::tcp_range(port, port)
    }

    /// Inbound TCP on a port range.
    pub fn tcp_range(from: u16, to: u16) -> Rule {
        Rule::ingress("tcp", i32::from(from), i32::from(to))
    }

    /// Inbound UDP on one port.
    pub fn udp(port: u16) -> Rule {
        Rule::ingress("udp", i32::from(port), i32::from(port))
    }

    /// Inbound traffic of every protocol and port.
    pub fn all_traffic() -> Rule {
        Rule::ingress("-1", -1, -1)
    }

    fn ingress(protocol: &str, from: i32, to: i32) -> Rule {
        Rule {
            egress: false,
            protocol: protocol.to_owned(),
            from_port: from,
            to_port: to,
            peer: None,
            description: None,
        }
    }

    /// Makes it an outbound rule.
    pub fn outbound(mut self) -> Rule {
        self.egress = true;
        self
    }

    /// From (or, outbound, to) an IPv4 range.
    pub fn cidr(mut self, cidr: impl Into<String>) -> Rule {
        self.peer = Some(Peer::Cidr(cidr.into()));
        self
    }

    /// From (or, outbound, to) members of a security group.
    pub fn group(mut self, group: impl IntoInput<SecurityGroupId>) -> Rule {
        self.peer = Some(Peer::Group(group.into_input()));
        self
    }

    /// What the rule is for.
    pub fn description(mut self, description: impl Into<String>) -> Rule {
        self.description = Some(description.into());
        self
    }

    fn label(&self) -> String {
        let direction = if self.egress { "egress" } else { "ingress" };
        let ports = if self.from_port == self.to_port {
            self.from_port.to_string()
        } else {
            format!("{}-{}", self.from_port, self.to_port)
        };
        let protocol = if self.protocol == "-1" {
            "all"
        } else {
            &self.protocol
        };
        format!("{direction}-{protocol}-{ports}")
    }
}

/// A security group under construction, with its rules.
///
/// ```
/// use girder_core::{Output, Stack};
/// use girder_aws::dsl::network::{Rule, SecurityGroup};
/// use girder_aws::VpcId;
/// let mut s = Stack::new("dev");
/// let vpc_id = Output::known(VpcId::new("vpc-123"));
/// let sg = SecurityGroup::new("api")
///     .vpc(&vpc_id)
///     .description("API servers")
///     .rule(Rule::tcp(443).cidr("10.0.0.0/8").description("HTTPS from the VPC"))
///     .add(&mut s);
/// assert!(s.finish().is_ok());
/// # let _ = sg.id();
/// ```
#[derive(Clone, Debug)]
#[must_use = "a builder declares nothing until it is added to the stack with `.add(…)`"]
pub struct SecurityGroup {
    resource: String,
    vpc: Option<Input<VpcId>>,
    description: Option<String>,
    rules: Vec<Rule>,
    tags: Tags,
    options: ResourceOptions,
}

impl SecurityGroup {
    /// A security group; `resource` is its name in the stack (its AWS name is generated from it).
    pub fn new(resource: impl Into<String>) -> SecurityGroup {
        SecurityGroup {
            resource: resource.into(),
            vpc: None,
            description: None,
            rules: Vec::new(),
            tags: Tags::new(),
            options: ResourceOptions::default(),
        }
    }

    /// The VPC.
    pub fn vpc(mut self, vpc: impl IntoInput<VpcId>) -> SecurityGroup {
        self.vpc = Some(vpc.into_input());
        self
    }

    /// What the group is for (cannot change later without replacing the group).
    pub fn description(mut self, description: impl Into<String>) -> SecurityGroup {
        self.description = Some(description.into());
        self
    }

    /// Adds a rule.
    pub fn rule(mut self, rule: Rule) -> SecurityGroup {
        self.rules.push(rule);
        self
    }

    /// Adds a tag.
    pub fn tag(mut self, key: impl Into<String>, value: impl Into<String>) -> SecurityGroup {
        self.tags.insert(key.into(), value.into());
        self
    }

    /// Adds tags.
    pub fn tags(mut self, tags: &Tags) -> SecurityGroup {
        self.tags.extend(tags.clone());
        self
    }

    /// Adds the group and its rules to the stack.
    pub fn add(self, s: &mut Stack) -> SecurityGroupHandle {
        let resource = self.resource.clone();
        let vpc = self.vpc.clone().unwrap_or_else(|| {
            s.report(
                Diagnostic::error("a security group belongs to a VPC")
                    .resource(&resource)
                    .field("vpc")
                    .fix("add `.vpc(vpc.id())`"),
            );
            VpcId::new("vpc-unset").into_input()
        });
        let description = self
            .description
            .clone()
            .unwrap_or_else(|| format!("{resource} (girder)"));
        if description.len() > 255 || !description.is_ascii() {
            s.report(
                Diagnostic::error("a security group description has at most 255 ASCII characters")
                    .resource(&resource)
                    .field("description")
                    .value(&description)
                    .fix("shorten it and remove non-ASCII characters"),
            );
        }
        check_tags(s, &resource, &self.tags);
        let mut tags = self.tags.clone();
        tags.entry("Name".into())
            .or_insert_with(|| resource.clone());
        let decl = ResourceDecl::new(SECURITY_GROUP, &resource)
            .input(
                "name_prefix",
                format!("{}-", resource.replace(['/', ':', '@'], "-")),
            )
            .input("description", description.as_str())
            .input("vpc_id", vpc)
            .options(self.options);
        let group = with_tags(decl, &tags).add(s);
        let group_id: Output<SecurityGroupId> = group.output("id");
        let mut rules = Vec::new();
        let mut labels: Vec<String> = Vec::new();
        for rule in self.rules {
            let mut label = rule.label();
            let mut n = 2;
            while labels.contains(&label) {
                label = format!("{}-{n}", rule.label());
                n += 1;
            }
            labels.push(label.clone());
            let field = format!("rules.{label}");
            if rule.from_port > rule.to_port
                || (rule.protocol != "-1" && (rule.from_port < 0 || rule.to_port > 65535))
            {
                s.report(
                    Diagnostic::error("the port range is empty or outside 0–65535")
                        .resource(&resource)
                        .field(&field)
                        .value(format!("{}-{}", rule.from_port, rule.to_port))
                        .fix("give the lower port first"),
                );
            }
            let mut decl = ResourceDecl::new(SECURITY_GROUP_RULE, format!("{resource}-{label}"))
                .input("security_group_id", &group_id)
                .input("direction", if rule.egress { "egress" } else { "ingress" })
                .input("protocol", rule.protocol.as_str())
                .input("from_port", rule.from_port)
                .input("to_port", rule.to_port);
            match &rule.peer {
                Some(Peer::Cidr(cidr)) => {
                    if cidr.parse::<Ipv4Net>().is_err() {
                        s.report(
                            Diagnostic::error("not an IPv4 CIDR block")
                                .resource(&resource)
                                .field(&field)
                                .value(cidr)
                                .fix("write it like `10.0.0.0/16`"),
                        );
                    }
                    decl = decl.input("cidr_ipv4", cidr.as_str());
                }
                Some(Peer::Group(group)) => {
                    decl = decl.input("referenced_security_group_id", group.clone())
                }
                None => s.report(
                    Diagnostic::error("the rule names no peer")
                        .resource(&resource)
                        .field(&field)
                        .fix("add `.cidr(\"10.0.0.0/16\")` or `.group(other.id())`"),
                ),
            }
            if let Some(description) = &rule.description {
                decl = decl.input("description", description.as_str());
            }
            rules.push(decl.add(s).node());
        }
        SecurityGroupHandle { group, rules }
    }
}

impl HasOptions for SecurityGroup {
    fn options_mut(&mut self) -> &mut ResourceOptions {
        &mut self.options
    }
}

/// A security group in the stack; as a dependency it stands for the group and its rules.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecurityGroupHandle {
    group: ResourceHandle,
    rules: Vec<NodeId>,
}

impl SecurityGroupHandle {
    /// Its id, known after apply.
    pub fn id(&self) -> Output<SecurityGroupId> {
        self.group.output("id")
    }

    /// Its ARN, known after apply.
    pub fn arn(&self) -> Output<String> {
        self.group.output("arn")
    }

    /// The group's node.
    pub fn node(&self) -> NodeId {
        self.group.node()
    }
}

impl Dependable for SecurityGroupHandle {
    fn node_ids(&self) -> Vec<NodeId> {
        std::iter::once(self.group.node())
            .chain(self.rules.iter().copied())
            .collect()
    }
}
