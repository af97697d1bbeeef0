//! S3 buckets: private, encrypted and locked down by default.

use girder_core::expr::Expr;
use girder_core::{
    Dependable, Diagnostic, HasOptions, Input, IntoInput, NodeId, Output, ResourceDecl,
    ResourceHandle, ResourceOptions, Stack,
};

use crate::checks::{bucket_name_problems, suggest_bucket_name};
use crate::dsl::{check_tags, with_tags};
use crate::ids::{BucketArn, BucketName};
use crate::s3::bucket::BUCKET;
use crate::tags::Tags;

/// Default encryption of a bucket's new objects.
///
/// ```
/// use girder_aws::dsl::s3::Encryption;
/// let sse_s3 = Encryption::S3Managed;
/// let aws_key = Encryption::kms();
/// let own_key = Encryption::kms_key("arn:aws:kms:us-east-1:123456789012:key/abcd");
/// assert_ne!(format!("{sse_s3:?}"), format!("{aws_key:?}"));
/// # let _ = own_key;
/// ```
#[derive(Clone, Debug)]
pub enum Encryption {
    /// SSE-S3: keys S3 manages (`AES256`); the default.
    S3Managed,
    /// SSE-KMS with S3 Bucket Keys (fewer KMS requests).
    Kms {
        /// The key (id, ARN or alias); `None` uses the AWS managed `aws/s3` key.
        key: Option<Input<String>>,
        /// Use S3 Bucket Keys (default on).
        bucket_key: bool,
    },
}

impl Encryption {
    /// SSE-KMS with the AWS managed `aws/s3` key.
    pub fn kms() -> Encryption {
        Encryption::Kms {
            key: None,
            bucket_key: true,
        }
    }

    /// SSE-KMS with a customer managed key (an id, ARN, alias, or a key's output).
    pub fn kms_key(key: impl IntoInput<String>) -> Encryption {
        Encryption::Kms {
            key: Some(key.into_input()),
            bucket_key: true,
        }
    }

    /// SSE-KMS without S3 Bucket Keys (one KMS request per object operation).
    pub fn without_bucket_key(self) -> Encryption {
        match self {
            Encryption::Kms { key, .. } => Encryption::Kms {
                key,
                bucket_key: false,
            },
            other => other,
        }
    }

    fn expr(self) -> Expr {
        let mut fields = std::collections::BTreeMap::new();
        match self {
            Encryption::S3Managed => {
                fields.insert("sse_algorithm".to_owned(), Expr::Value("AES256".into()));
                fields.insert("bucket_key_enabled".to_owned(), Expr::Value(false.into()));
            }
            Encryption::Kms { key, bucket_key } => {
                fields.insert("sse_algorithm".to_owned(), Expr::Value("aws:kms".into()));
                if let Some(key) = key {
                    fields.insert("kms_master_key_id".to_owned(), key.into_expr());
                }
                fields.insert(
                    "bucket_key_enabled".to_owned(),
                    Expr::Value(bucket_key.into()),
                );
            }
        }
        Expr::Object(fields)
    }
}

/// The four settings of a bucket's public access block.
///
/// ```
/// use girder_aws::dsl::s3::PublicAccessBlock;
/// assert!(PublicAccessBlock::all().block_public_policy);
/// assert!(!PublicAccessBlock::none().ignore_public_acls);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PublicAccessBlock {
    /// Refuse requests that set public ACLs.
    pub block_public_acls: bool,
    /// Ignore public ACLs.
    pub ignore_public_acls: bool,
    /// Refuse bucket policies that grant public access.
    pub block_public_policy: bool,
    /// Restrict access under public policies to AWS principals of this account.
    pub restrict_public_buckets: bool,
}

impl PublicAccessBlock {
    /// Every setting on: no public access at all (the default).
    pub fn all() -> PublicAccessBlock {
        PublicAccessBlock {
            block_public_acls: true,
            ignore_public_acls: true,
            block_public_policy: true,
            restrict_public_buckets: true,
        }
    }

    /// Every setting off (for buckets meant to be public, such as a static website).
    pub fn none() -> PublicAccessBlock {
        PublicAccessBlock {
            block_public_acls: false,
            ignore_public_acls: false,
            block_public_policy: false,
            restrict_public_buckets: false,
        }
    }

    fn value(self) -> girder_core::Value {
        girder_core::object! {
            "block_public_acls" => self.block_public_acls,
            "ignore_public_acls" => self.ignore_public_acls,
            "block_public_policy" => self.block_public_policy,
            "restrict_public_buckets" => self.restrict_public_buckets,
        }
    }
}

impl Default for PublicAccessBlock {
    fn default() -> Self {
        PublicAccessBlock::all()
    }
}

/// An S3 bucket under construction. Secure by default: every public access setting
/// blocked, SSE-S3 encryption; versioning is opt-in.
///
/// Bucket names are global across all AWS accounts, so unless [`Bucket::name`] sets one,
/// the name is generated when the bucket is created: the resource name plus 8 random hex
/// digits (`state-1a2b3c4d`), known after apply through [`BucketHandle::name`].
///
/// ```
/// use girder_core::Stack;
/// use girder_aws::dsl::s3::{Bucket, Encryption};
/// let mut s = Stack::new("dev");
/// let state = Bucket::new("state")
///     .versioning(true)
///     .encryption(Encryption::kms())
///     .tag("purpose", "girder state")
///     .add(&mut s);
/// s.export("bucket", state.name());
/// assert!(s.finish().is_ok());
/// ```
#[derive(Clone, Debug)]
#[must_use = "a builder declares nothing until it is added to the stack with `.add(…)`"]
pub struct Bucket {
    resource: String,
    name: Option<String>,
    versioning: bool,
    encryption: Encryption,
    public_access_block: PublicAccessBlock,
    force_destroy: bool,
    tags: Tags,
    options: ResourceOptions,
}

impl Bucket {
    /// A bucket; `resource` is its name in the stack.
    pub fn new(resource: impl Into<String>) -> Bucket {
        Bucket {
            resource: resource.into(),
            name: None,
            versioning: false,
            encryption: Encryption::S3Managed,
            public_access_block: PublicAccessBlock::all(),
            force_destroy: false,
            tags: Tags::new(),
            options: ResourceOptions::default(),
        }
    }

    /// The exact bucket name (3 to 63 lowercase letters, digits, hyphens; unique across
    /// all AWS accounts). Changing it replaces the bucket.
    pub fn name(mut self, name: impl Into<String>) -> Bucket {
        self.name = Some(name.into());
        self
    }

    /// Keeps every version of every object (turning it off later suspends it: S3 keeps the
    /// versions it has).
    pub fn versioning(mut self, enabled: bool) -> Bucket {
        self.versioning = enabled;
        self
    }

    /// Default encryption (default [`Encryption::S3Managed`]).
    pub fn encryption(mut self, encryption: Encryption) -> Bucket {
        self.encryption = encryption;
        self
    }

    /// The public access block (default [`PublicAccessBlock::all`]).
    pub fn public_access_block(mut self, block: PublicAccessBlock) -> Bucket {
        self.public_access_block = block;
        self
    }

    /// Lets a delete remove every object version first; without it a bucket holding
    /// objects is not deleted. Apply it before the destroy it is meant for: the delete reads
    /// the recorded setting.
    pub fn force_destroy(mut self) -> Bucket {
        self.force_destroy = true;
        self
    }

    /// Adds a tag.
    pub fn tag(mut self, key: impl Into<String>, value: impl Into<String>) -> Bucket {
        self.tags.insert(key.into(), value.into());
        self
    }

    /// Adds tags.
    pub fn tags<K: Into<String>, V: Into<String>>(
        mut self,
        tags: impl IntoIterator<Item = (K, V)>,
    ) -> Bucket {
        self.tags
            .extend(tags.into_iter().map(|(k, v)| (k.into(), v.into())));
        self
    }

    /// Adds the bucket to the stack, reporting invalid values.
    pub fn add(self, s: &mut Stack) -> BucketHandle {
        let resource = self.resource.clone();
        let mut decl = ResourceDecl::new(BUCKET, &resource).options(self.options);
        match &self.name {
            Some(name) => {
                for (message, fix) in bucket_name_problems(name, false) {
                    s.report(
                        Diagnostic::error(message)
                            .resource(&resource)
                            .field("name")
                            .value(name)
                            .fix(fix),
                    );
                }
                if name.contains('.') {
                    s.report(
                        Diagnostic::warning(
                            "dots in a bucket name break HTTPS to virtual-hosted addresses (`name.s3.amazonaws.com`)",
                        )
                        .resource(&resource)
                        .field("name")
                        .value(name)
                        .fix("use hyphens instead of dots"),
                    );
                }
                decl = decl.input("name", name.as_str());
            }
            None => {
                // A valid start for a generated name: the resource name, cleaned and cut.
                let base: String = suggest_bucket_name(&resource).chars().take(54).collect();
                let prefix = format!("{}-", base.trim_end_matches(['-', '.']));
                for (message, fix) in bucket_name_problems(&prefix, true) {
                    s.report(
                        Diagnostic::error(format!(
                            "the name generated from the resource name is invalid: {message}"
                        ))
                        .resource(&resource)
                        .field("name")
                        .value(&prefix)
                        .fix(format!("name the bucket with `.name(..)`, or {fix}")),
                    );
                }
                decl = decl.input("name_prefix", prefix.as_str());
            }
        }
        if let Encryption::Kms { key: Some(key), .. } = &self.encryption
            && key.known_value().is_some_and(|k| k.trim().is_empty())
        {
            s.report(
                Diagnostic::error("the KMS key is empty")
                    .resource(&resource)
                    .field("encryption.kms_master_key_id")
                    .value("\"\"")
                    .fix("pass a key id, ARN or alias, or use `Encryption::kms()` for the AWS managed key"),
            );
        }
        check_tags(s, &resource, &self.tags);
        decl = decl
            .input("versioning", self.versioning)
            .input("encryption", self.encryption.expr())
            .input("public_access_block", self.public_access_block.value());
        if self.force_destroy {
            decl = decl.input("force_destroy", true);
        }
        let handle = with_tags(decl, &self.tags).add(s);
        BucketHandle {
            handle,
            name: self.name.map(BucketName::new),
        }
    }
}

impl HasOptions for Bucket {
    fn options_mut(&mut self) -> &mut ResourceOptions {
        &mut self.options
    }
}

/// A bucket in the stack.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BucketHandle {
    handle: ResourceHandle,
    name: Option<BucketName>,
}

impl BucketHandle {
    /// The bucket name: known when planning if the program named it, else after apply.
    pub fn name(&self) -> Output<BucketName> {
        self.handle.output("name")
    }

    /// The name as the program gave it (`None` for generated names).
    pub fn bucket_name(&self) -> Option<&BucketName> {
        self.name.as_ref()
    }

    /// The bucket's ARN (`arn:aws:s3:::<name>`), known after apply; `<arn>/*` names its
    /// objects in IAM policies.
    pub fn arn(&self) -> Output<BucketArn> {
        self.handle.output("arn")
    }

    /// The region the bucket lives in, known after apply.
    pub fn region(&self) -> Output<String> {
        self.handle.output("region")
    }

    /// The regional endpoint host (`<name>.s3.<region>.amazonaws.com`), known after apply.
    pub fn regional_domain_name(&self) -> Output<String> {
        self.handle.output("bucket_regional_domain_name")
    }

    /// The node.
    pub fn node(&self) -> NodeId {
        self.handle.node()
    }
}

impl Dependable for BucketHandle {
    fn node_ids(&self) -> Vec<NodeId> {
        vec![self.handle.node()]
    }
}
