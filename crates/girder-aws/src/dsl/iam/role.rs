//! IAM roles (with inline policies and attachments) and customer-managed policies.

use girder_core::{
    Dependable, Diagnostic, HasOptions, Input, IntoInput, NodeId, Output, ResourceDecl,
    ResourceHandle, ResourceOptions, Stack,
};

use super::check_name;
use crate::dsl::{check_tags, iam_name_prefix, with_tags};
use crate::iam::document::{DocumentKind, PolicyDocument};
use crate::iam::policy::{POLICY, ROLE_POLICY, ROLE_POLICY_ATTACHMENT};
use crate::iam::role::ROLE;
use crate::ids::{PolicyArn, RoleArn, RoleName};
use crate::tags::Tags;

/// An IAM role under construction, with its trust policy, inline policies and attached
/// managed policies.
///
/// ```
/// use girder_core::Stack;
/// use girder_aws::dsl::iam::IamRole;
/// use girder_aws::iam::document::{PolicyDocument, Statement};
/// use girder_aws::PolicyArn;
/// let mut s = Stack::new("dev");
/// let role = IamRole::new("nodes")
///     .trust(PolicyDocument::service_trust(["ec2.amazonaws.com"]))
///     .managed_policy(PolicyArn::aws_managed("AmazonEKSWorkerNodePolicy"))
///     .policy("describe", PolicyDocument::new().statement(
///         Statement::allow(["ec2:DescribeInstances"]).resource("*"),
///     ))
///     .add(&mut s);
/// let graph = s.finish().unwrap();
/// assert_eq!(graph.len(), 3);
/// # let _ = role.arn();
/// ```
#[derive(Clone, Debug)]
#[must_use = "a builder declares nothing until it is added to the stack with `.add(…)`"]
pub struct IamRole {
    resource: String,
    name: Option<String>,
    path: Option<String>,
    description: Option<String>,
    trust: Option<PolicyDocument>,
    inline: Vec<(String, PolicyDocument)>,
    managed: Vec<Input<PolicyArn>>,
    max_session_duration: Option<i32>,
    permissions_boundary: Option<Input<PolicyArn>>,
    tags: Tags,
    options: ResourceOptions,
}

impl IamRole {
    /// A role; `resource` is its name in the stack. Its IAM name is generated from it
    /// (IAM names are account-wide) unless [`IamRole::role_name`] sets one.
    pub fn new(resource: impl Into<String>) -> IamRole {
        IamRole {
            resource: resource.into(),
            name: None,
            path: None,
            description: None,
            trust: None,
            inline: Vec::new(),
            managed: Vec::new(),
            max_session_duration: None,
            permissions_boundary: None,
            tags: Tags::new(),
            options: ResourceOptions::default(),
        }
    }

    /// The exact IAM name (it must be unique in the account).
    pub fn role_name(mut self, name: impl Into<String>) -> IamRole {
        self.name = Some(name.into());
        self
    }

    /// The IAM path (default `/`).
    pub fn path(mut self, path: impl Into<String>) -> IamRole {
        self.path = Some(path.into());
        self
    }

    /// What the role is for.
    pub fn description(mut self, description: impl Into<String>) -> IamRole {
        self.description = Some(description.into());
        self
    }

    /// Who may assume the role.
    pub fn trust(mut self, document: PolicyDocument) -> IamRole {
        self.trust = Some(document);
        self
    }

    /// Adds an inline policy called `name`.
    pub fn policy(mut self, name: impl Into<String>, document: PolicyDocument) -> IamRole {
        self.inline.push((name.into(), document));
        self
    }

    /// Attaches a managed policy (AWS managed, such as [`PolicyArn::aws_managed`], or a
    /// [`ManagedPolicy`]'s ARN).
    pub fn managed_policy(mut self, arn: impl IntoInput<PolicyArn>) -> IamRole {
        self.managed.push(arn.into_input());
        self
    }

    /// The longest session, in seconds (3600 to 43200).
    pub fn max_session_duration(mut self, seconds: i32) -> IamRole {
        self.max_session_duration = Some(seconds);
        self
    }

    /// A policy that bounds the role's permissions.
    pub fn permissions_boundary(mut self, arn: impl IntoInput<PolicyArn>) -> IamRole {
        self.permissions_boundary = Some(arn.into_input());
        self
    }

    /// Adds a tag.
    pub fn tag(mut self, key: impl Into<String>, value: impl Into<String>) -> IamRole {
        self.tags.insert(key.into(), value.into());
        self
    }

    /// Adds tags.
    pub fn tags<K: Into<String>, V: Into<String>>(
        mut self,
        tags: impl IntoIterator<Item = (K, V)>,
    ) -> IamRole {
        self.tags
            .extend(tags.into_iter().map(|(k, v)| (k.into(), v.into())));
        self
    }

    /// Adds the role, its inline policies and attachments to the stack.
    pub fn add(self, s: &mut Stack) -> IamRoleHandle {
        let resource = self.resource.clone();
        if let Some(name) = &self.name {
            check_name(s, &resource, "role_name", name, 64);
        }
        if let Some(path) = &self.path
            && (!path.starts_with('/') || !path.ends_with('/'))
        {
            s.report(
                Diagnostic::error("an IAM path starts and ends with `/`")
                    .resource(&resource)
                    .field("path")
                    .value(path)
                    .fix("write it like `/teams/platform/`"),
            );
        }
        if let Some(seconds) = self.max_session_duration
            && !(3600..=43200).contains(&seconds)
        {
            s.report(
                Diagnostic::error("the maximum session lasts 1 to 12 hours")
                    .resource(&resource)
                    .field("max_session_duration")
                    .value(seconds)
                    .fix("use 3600 to 43200 seconds"),
            );
        }
        let trust = match &self.trust {
            Some(trust) => {
                for problem in trust.check(DocumentKind::Trust, &resource, "trust") {
                    s.report(problem);
                }
                trust.to_output()
            }
            None => {
                s.report(
                    Diagnostic::error("a role needs a trust policy saying who may assume it")
                        .resource(&resource)
                        .field("trust")
                        .fix("add `.trust(PolicyDocument::service_trust([\"ec2.amazonaws.com\"]))` or similar"),
                );
                PolicyDocument::new().to_output()
            }
        };
        check_tags(s, &resource, &self.tags);
        let mut decl = ResourceDecl::new(ROLE, &resource)
            .input("path", self.path.clone().unwrap_or_else(|| "/".into()))
            .input("assume_role_policy", trust)
            .input(
                "max_session_duration",
                self.max_session_duration.unwrap_or(3600),
            )
            .options(self.options);
        decl = match &self.name {
            Some(name) => decl.input("name", name.as_str()),
            None => decl.input("name_prefix", iam_name_prefix(&resource)),
        };
        if let Some(description) = &self.description {
            decl = decl.input("description", description.as_str());
        }
        if let Some(boundary) = self.permissions_boundary {
            decl = decl.input("permissions_boundary", boundary);
        }
        let role = with_tags(decl, &self.tags).add(s);
        let role_name: Output<RoleName> = role.output("name");
        let mut extras = Vec::new();
        let mut seen = Vec::new();
        for (name, document) in &self.inline {
            check_name(s, &resource, "policy", name, 128);
            if seen.contains(name) {
                s.report(
                    Diagnostic::error("two inline policies of the role have the same name")
                        .resource(&resource)
                        .field("policy")
                        .value(name)
                        .fix("give each inline policy its own name"),
                );
                continue;
            }
            seen.push(name.clone());
            for problem in document.check(
                DocumentKind::Permissions,
                &resource,
                &format!("policy.{name}"),
            ) {
                s.report(problem);
            }
            let policy = ResourceDecl::new(ROLE_POLICY, format!("{resource}-{name}"))
                .input("role_name", &role_name)
                .input("name", name.as_str())
                .input("policy", document.to_output())
                .add(s);
            extras.push(policy.node());
        }
        for (i, arn) in self.managed.iter().enumerate() {
            let label = arn
                .known_value()
                .map(|a| a.as_str().rsplit('/').next().unwrap_or_default().to_owned())
                .filter(|l| !l.is_empty())
                .unwrap_or_else(|| format!("policy-{i}"));
            let attachment =
                ResourceDecl::new(ROLE_POLICY_ATTACHMENT, format!("{resource}-{label}"))
                    .input("role_name", &role_name)
                    .input("policy_arn", arn.clone())
                    .add(s);
            extras.push(attachment.node());
        }
        IamRoleHandle { role, extras }
    }
}

impl HasOptions for IamRole {
    fn options_mut(&mut self) -> &mut ResourceOptions {
        &mut self.options
    }
}

/// A role in the stack. As a dependency it stands for the role *and* its policies, so
/// whatever depends on it starts once the role has its permissions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IamRoleHandle {
    role: ResourceHandle,
    extras: Vec<NodeId>,
}

impl IamRoleHandle {
    /// Its ARN, known after apply.
    pub fn arn(&self) -> Output<RoleArn> {
        self.role.output("arn")
    }

    /// Its IAM name, known after apply.
    pub fn name(&self) -> Output<RoleName> {
        self.role.output("name")
    }

    /// The role's node.
    pub fn node(&self) -> NodeId {
        self.role.node()
    }

    /// The nodes of its inline policies and attachments.
    pub fn policy_nodes(&self) -> &[NodeId] {
        &self.extras
    }
}

impl Dependable for IamRoleHandle {
    fn node_ids(&self) -> Vec<NodeId> {
        std::iter::once(self.role.node())
            .chain(self.extras.iter().copied())
            .collect()
    }
}

/// A customer-managed IAM policy under construction.
///
/// ```
/// use girder_core::Stack;
/// use girder_aws::dsl::iam::ManagedPolicy;
/// use girder_aws::iam::document::{PolicyDocument, Statement};
/// let mut s = Stack::new("dev");
/// let policy = ManagedPolicy::new("read-logs")
///     .document(PolicyDocument::new().statement(Statement::allow(["logs:GetLogEvents"]).resource("*")))
///     .add(&mut s);
/// assert!(s.finish().is_ok());
/// # let _ = policy.arn();
/// ```
#[derive(Clone, Debug)]
#[must_use = "a builder declares nothing until it is added to the stack with `.add(…)`"]
pub struct ManagedPolicy {
    resource: String,
    name: Option<String>,
    description: Option<String>,
    document: Option<PolicyDocument>,
    tags: Tags,
    options: ResourceOptions,
}

impl ManagedPolicy {
    /// A policy; `resource` is its name in the stack.
    pub fn new(resource: impl Into<String>) -> ManagedPolicy {
        ManagedPolicy {
            resource: resource.into(),
            name: None,
            description: None,
            document: None,
            tags: Tags::new(),
            options: ResourceOptions::default(),
        }
    }

    /// The exact IAM name (else generated).
    pub fn policy_name(mut self, name: impl Into<String>) -> ManagedPolicy {
        self.name = Some(name.into());
        self
    }

    /// What it is for.
    pub fn description(mut self, description: impl Into<String>) -> ManagedPolicy {
        self.description = Some(description.into());
        self
    }

    /// The permissions.
    pub fn document(mut self, document: PolicyDocument) -> ManagedPolicy {
        self.document = Some(document);
        self
    }

    /// Adds a tag.
    pub fn tag(mut self, key: impl Into<String>, value: impl Into<String>) -> ManagedPolicy {
        self.tags.insert(key.into(), value.into());
        self
    }

    /// Adds it to the stack.
    pub fn add(self, s: &mut Stack) -> ManagedPolicyHandle {
        let resource = self.resource.clone();
        let document = match &self.document {
            Some(document) => {
                for problem in document.check(DocumentKind::Permissions, &resource, "document") {
                    s.report(problem);
                }
                document.to_output()
            }
            None => {
                s.report(
                    Diagnostic::error("a managed policy needs a document")
                        .resource(&resource)
                        .field("document")
                        .fix("add `.document(PolicyDocument::new().statement(..))`"),
                );
                PolicyDocument::new().to_output()
            }
        };
        if let Some(name) = &self.name {
            check_name(s, &resource, "policy_name", name, 128);
        }
        check_tags(s, &resource, &self.tags);
        let mut decl = ResourceDecl::new(POLICY, &resource)
            .input("path", "/")
            .input("policy", document)
            .options(self.options);
        decl = match &self.name {
            Some(name) => decl.input("name", name.as_str()),
            None => decl.input("name_prefix", iam_name_prefix(&resource)),
        };
        if let Some(description) = &self.description {
            decl = decl.input("description", description.as_str());
        }
        ManagedPolicyHandle {
            handle: with_tags(decl, &self.tags).add(s),
        }
    }
}

impl HasOptions for ManagedPolicy {
    fn options_mut(&mut self) -> &mut ResourceOptions {
        &mut self.options
    }
}

/// A managed policy in the stack.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ManagedPolicyHandle {
    handle: ResourceHandle,
}

impl ManagedPolicyHandle {
    /// Its ARN, known after apply.
    pub fn arn(&self) -> Output<PolicyArn> {
        self.handle.output("arn")
    }

    /// The node.
    pub fn node(&self) -> NodeId {
        self.handle.node()
    }
}

impl Dependable for ManagedPolicyHandle {
    fn node_ids(&self) -> Vec<NodeId> {
        vec![self.handle.node()]
    }
}
