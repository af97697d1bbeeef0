//! Instance profiles and OpenID Connect identity providers.

use girder_core::{
    Dependable, Diagnostic, HasOptions, Input, IntoInput, NodeId, Output, ResourceDecl,
    ResourceHandle, ResourceOptions, Stack,
};

use super::IamRoleHandle;
use crate::dsl::{check_tags, iam_name_prefix, with_tags};
use crate::iam::instance_profile::INSTANCE_PROFILE;
use crate::iam::oidc::OIDC_PROVIDER;
use crate::ids::{InstanceProfileArn, OidcProviderArn, RoleName};
use crate::tags::Tags;

/// An instance profile under construction (hands a role to EC2 instances).
///
/// ```
/// use girder_core::Stack;
/// use girder_aws::dsl::iam::{InstanceProfile, IamRole};
/// use girder_aws::iam::document::PolicyDocument;
/// let mut s = Stack::new("dev");
/// let role = IamRole::new("web").trust(PolicyDocument::service_trust(["ec2.amazonaws.com"])).add(&mut s);
/// let profile = InstanceProfile::new("web-profile").role(&role).add(&mut s);
/// assert!(s.finish().is_ok());
/// # let _ = profile.arn();
/// ```
#[derive(Clone, Debug)]
#[must_use = "a builder declares nothing until it is added to the stack with `.add(…)`"]
pub struct InstanceProfile {
    resource: String,
    role: Option<Output<RoleName>>,
    tags: Tags,
    options: ResourceOptions,
}

impl InstanceProfile {
    /// An instance profile; `resource` is its name in the stack.
    pub fn new(resource: impl Into<String>) -> InstanceProfile {
        InstanceProfile {
            resource: resource.into(),
            role: None,
            tags: Tags::new(),
            options: ResourceOptions::default(),
        }
    }

    /// The role it carries.
    pub fn role(mut self, role: &IamRoleHandle) -> InstanceProfile {
        self.role = Some(role.name());
        self
    }

    /// Adds a tag.
    pub fn tag(mut self, key: impl Into<String>, value: impl Into<String>) -> InstanceProfile {
        self.tags.insert(key.into(), value.into());
        self
    }

    /// Adds it to the stack.
    pub fn add(self, s: &mut Stack) -> InstanceProfileHandle {
        check_tags(s, &self.resource, &self.tags);
        let mut decl = ResourceDecl::new(INSTANCE_PROFILE, &self.resource)
            .input("name_prefix", iam_name_prefix(&self.resource))
            .input("path", "/")
            .options(self.options);
        if let Some(role) = self.role {
            decl = decl.input("role", role);
        }
        InstanceProfileHandle {
            handle: with_tags(decl, &self.tags).add(s),
        }
    }
}

impl HasOptions for InstanceProfile {
    fn options_mut(&mut self) -> &mut ResourceOptions {
        &mut self.options
    }
}

/// An instance profile in the stack.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InstanceProfileHandle {
    handle: ResourceHandle,
}

impl InstanceProfileHandle {
    /// Its ARN, known after apply.
    pub fn arn(&self) -> Output<InstanceProfileArn> {
        self.handle.output("arn")
    }

    /// Its name, known after apply.
    pub fn name(&self) -> Output<String> {
        self.handle.output("name")
    }
}

impl Dependable for InstanceProfileHandle {
    fn node_ids(&self) -> Vec<NodeId> {
        vec![self.handle.node()]
    }
}

/// An IAM OpenID Connect identity provider under construction.
///
/// ```
/// use girder_core::Stack;
/// use girder_aws::dsl::iam::OidcProvider;
/// let mut s = Stack::new("dev");
/// let oidc = OidcProvider::new("ci")
///     .url("https://token.actions.githubusercontent.com")
///     .client_id("sts.amazonaws.com")
///     .add(&mut s);
/// assert!(s.finish().is_ok());
/// # let _ = oidc.arn();
/// ```
#[derive(Clone, Debug)]
#[must_use = "a builder declares nothing until it is added to the stack with `.add(…)`"]
pub struct OidcProvider {
    resource: String,
    url: Option<Input<String>>,
    client_ids: Vec<String>,
    thumbprints: Vec<String>,
    tags: Tags,
    options: ResourceOptions,
}

impl OidcProvider {
    /// A provider; `resource` is its name in the stack.
    pub fn new(resource: impl Into<String>) -> OidcProvider {
        OidcProvider {
            resource: resource.into(),
            url: None,
            client_ids: Vec::new(),
            thumbprints: Vec::new(),
            tags: Tags::new(),
            options: ResourceOptions::default(),
        }
    }

    /// The issuer URL (`https://…`).
    pub fn url(mut self, url: impl IntoInput<String>) -> OidcProvider {
        self.url = Some(url.into_input());
        self
    }

    /// Adds an audience.
    pub fn client_id(mut self, id: impl Into<String>) -> OidcProvider {
        self.client_ids.push(id.into());
        self
    }

    /// Adds a certificate thumbprint (SHA-1, hex). Default: the root CA of AWS-hosted issuers.
    pub fn thumbprint(mut self, thumbprint: impl Into<String>) -> OidcProvider {
        self.thumbprints
            .push(thumbprint.into().to_ascii_lowercase());
        self
    }

    /// Adds a tag.
    pub fn tag(mut self, key: impl Into<String>, value: impl Into<String>) -> OidcProvider {
        self.tags.insert(key.into(), value.into());
        self
    }

    /// Adds tags.
    pub fn tags(mut self, tags: &Tags) -> OidcProvider {
        self.tags.extend(tags.clone());
        self
    }

    /// Adds it to the stack.
    pub fn add(self, s: &mut Stack) -> OidcProviderHandle {
        let resource = self.resource.clone();
        let url = match self.url {
            Some(url) => {
                if let Some(literal) = url.known_value()
                    && !literal.starts_with("https://")
                {
                    s.report(
                        Diagnostic::error("an OIDC issuer URL starts with `https://`")
                            .resource(&resource)
                            .field("url")
                            .value(&literal)
                            .fix("write the issuer's full URL"),
                    );
                }
                url
            }
            None => {
                s.report(
                    Diagnostic::error("an OIDC provider needs the issuer URL")
                        .resource(&resource)
                        .field("url")
                        .fix("add `.url(cluster.oidc_issuer())` or the issuer's URL"),
                );
                "https://invalid".into_input()
            }
        };
        let thumbprints = if self.thumbprints.is_empty() {
            vec![crate::iam::oidc::EKS_OIDC_THUMBPRINT.to_owned()]
        } else {
            self.thumbprints
        };
        for thumbprint in &thumbprints {
            if thumbprint.len() != 40 || !thumbprint.chars().all(|c| c.is_ascii_hexdigit()) {
                s.report(
                    Diagnostic::error("a thumbprint is the 40 hex digits of a SHA-1 fingerprint")
                        .resource(&resource)
                        .field("thumbprints")
                        .value(thumbprint)
                        .fix("take it from `openssl x509 -fingerprint -sha1` of the issuer's root CA"),
                );
            }
        }
        let client_ids = if self.client_ids.is_empty() {
            vec!["sts.amazonaws.com".to_owned()]
        } else {
            self.client_ids
        };
        check_tags(s, &resource, &self.tags);
        let decl = ResourceDecl::new(OIDC_PROVIDER, &resource)
            .input("url", url)
            .input("client_ids", serde_json::json!(client_ids))
            .input("thumbprints", serde_json::json!(thumbprints))
            .options(self.options);
        OidcProviderHandle {
            handle: with_tags(decl, &self.tags).add(s),
        }
    }
}

impl HasOptions for OidcProvider {
    fn options_mut(&mut self) -> &mut ResourceOptions {
        &mut self.options
    }
}

/// An OIDC provider in the stack.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OidcProviderHandle {
    handle: ResourceHandle,
}

impl OidcProviderHandle {
    /// Its ARN, known after apply (the federated principal of IRSA trust policies).
    pub fn arn(&self) -> Output<OidcProviderArn> {
        self.handle.output("arn")
    }

    /// The issuer without `https://`: the prefix of trust-policy condition keys.
    pub fn issuer_host(&self) -> Output<String> {
        self.handle.output("issuer_host")
    }

    /// The node.
    pub fn node(&self) -> NodeId {
        self.handle.node()
    }
}

impl Dependable for OidcProviderHandle {
    fn node_ids(&self) -> Vec<NodeId> {
        vec![self.handle.node()]
    }
}
