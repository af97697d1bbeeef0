//! CloudWatch Logs log groups.

use girder_core::{
    Dependable, Diagnostic, HasOptions, IntoInput, NodeId, Output, ResourceDecl, ResourceHandle,
    ResourceOptions, Stack,
};

use crate::dsl::{check_tags, with_tags};
use crate::ids::LogGroupName;
use crate::logs::LOG_GROUP;
use crate::tags::Tags;

/// A CloudWatch Logs log group under construction.
///
/// ```
/// use girder_core::Stack;
/// use girder_aws::dsl::logs::LogGroup;
/// let mut s = Stack::new("dev");
/// let group = LogGroup::new("app-logs").name("/app/dev").retention_days(30).add(&mut s);
/// assert_eq!(group.log_group_name().as_str(), "/app/dev");
/// assert!(s.finish().is_ok());
/// ```
#[derive(Clone, Debug)]
#[must_use = "a builder declares nothing until it is added to the stack with `.add(…)`"]
pub struct LogGroup {
    resource: String,
    name: Option<String>,
    retention_days: Option<i32>,
    kms_key_id: Option<girder_core::Input<String>>,
    tags: Tags,
    options: ResourceOptions,
}

impl LogGroup {
    /// A log group; `resource` is its name in the stack.
    pub fn new(resource: impl Into<String>) -> LogGroup {
        LogGroup {
            resource: resource.into(),
            name: None,
            retention_days: None,
            kms_key_id: None,
            tags: Tags::new(),
            options: ResourceOptions::default(),
        }
    }

    /// The log group's name in CloudWatch Logs (default `/girder/<stack>/<resource>`).
    pub fn name(mut self, name: impl Into<String>) -> LogGroup {
        self.name = Some(name.into());
        self
    }

    /// Days to keep events (one of CloudWatch's periods: 1, 3, 5, 7, 14, 30, 60, 90, …).
    pub fn retention_days(mut self, days: i32) -> LogGroup {
        self.retention_days = Some(days);
        self
    }

    /// Encrypts events with a KMS key.
    pub fn kms_key(mut self, key_arn: impl IntoInput<String>) -> LogGroup {
        self.kms_key_id = Some(key_arn.into_input());
        self
    }

    /// Adds a tag.
    pub fn tag(mut self, key: impl Into<String>, value: impl Into<String>) -> LogGroup {
        self.tags.insert(key.into(), value.into());
        self
    }

    /// Adds tags.
    pub fn tags<K: Into<String>, V: Into<String>>(
        mut self,
        tags: impl IntoIterator<Item = (K, V)>,
    ) -> LogGroup {
        self.tags
            .extend(tags.into_iter().map(|(k, v)| (k.into(), v.into())));
        self
    }

    /// Adds it to the stack, reporting invalid values.
    pub fn add(self, s: &mut Stack) -> LogGroupHandle {
        let name = self.name.clone().unwrap_or_else(|| {
            let clean: String = self
                .resource
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || "-_./#".contains(c) {
                        c
                    } else {
                        '-'
                    }
                })
                .collect();
            format!("/girder/{}/{clean}", s.name())
        });
        let valid_name = !name.is_empty()
            && name.len() <= 512
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_./#".contains(c));
        if !valid_name {
            s.report(
                Diagnostic::error("a log group name has 1 to 512 letters, digits and `-_./#`")
                    .resource(&self.resource)
                    .field("name")
                    .value(&name)
                    .fix("use a name such as `/app/prod/api`"),
            );
        }
        if let Some(days) = self.retention_days
            && let Some((message, fix)) = crate::checks::retention_problem(i64::from(days))
        {
            s.report(
                Diagnostic::error(message)
                    .resource(&self.resource)
                    .field("retention_days")
                    .value(days)
                    .fix(fix),
            );
        }
        check_tags(s, &self.resource, &self.tags);
        let mut decl = ResourceDecl::new(LOG_GROUP, &self.resource)
            .input("name", name.as_str())
            .options(self.options);
        if let Some(days) = self.retention_days {
            decl = decl.input("retention_in_days", days);
        }
        if let Some(key) = self.kms_key_id {
            decl = decl.input("kms_key_id", key);
        }
        let handle = with_tags(decl, &self.tags).add(s);
        LogGroupHandle {
            handle,
            name: LogGroupName::new(name),
        }
    }
}

impl HasOptions for LogGroup {
    fn options_mut(&mut self) -> &mut ResourceOptions {
        &mut self.options
    }
}

/// A log group in the stack.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogGroupHandle {
    handle: ResourceHandle,
    name: LogGroupName,
}

impl LogGroupHandle {
    /// The log group's name: known when planning, and a dependency on the group.
    pub fn name(&self) -> Output<LogGroupName> {
        self.handle.output("name")
    }

    /// The log group's name as the program gave it.
    pub fn log_group_name(&self) -> &LogGroupName {
        &self.name
    }

    /// Its ARN, known after apply.
    pub fn arn(&self) -> Output<String> {
        self.handle.output("arn")
    }

    /// The node.
    pub fn node(&self) -> NodeId {
        self.handle.node()
    }
}

impl Dependable for LogGroupHandle {
    fn node_ids(&self) -> Vec<NodeId> {
        vec![self.handle.node()]
    }
}
