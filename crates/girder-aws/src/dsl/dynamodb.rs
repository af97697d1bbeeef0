//! DynamoDB tables.

use girder_core::{
    Dependable, Diagnostic, HasOptions, NodeId, Output, ResourceDecl, ResourceHandle,
    ResourceOptions, Stack, Value, object,
};

use crate::checks::{key_name_problem, table_name_problem};
use crate::dsl::{check_tags, with_tags};
use crate::dynamodb::table::TABLE;
use crate::ids::{TableArn, TableName};
use crate::tags::Tags;

/// The type of a key attribute.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttributeType {
    /// A string (`S`).
    String,
    /// A number (`N`).
    Number,
    /// Binary data (`B`).
    Binary,
}

impl AttributeType {
    /// DynamoDB's code: `S`, `N` or `B`.
    pub fn code(self) -> &'static str {
        match self {
            AttributeType::String => "S",
            AttributeType::Number => "N",
            AttributeType::Binary => "B",
        }
    }
}

/// How a table is billed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Billing {
    /// On demand: pay per request, no capacity to plan (the default).
    #[default]
    PayPerRequest,
    /// Provisioned read and write capacity units.
    Provisioned {
        /// Read capacity units (at least 1).
        read: i64,
        /// Write capacity units (at least 1).
        write: i64,
    },
}

impl Billing {
    /// Provisioned capacity.
    pub fn provisioned(read: i64, write: i64) -> Billing {
        Billing::Provisioned { read, write }
    }
}

/// A DynamoDB table under construction: a hash key, optionally a range key, on-demand
/// billing unless set otherwise.
///
/// Its name defaults to `<stack>-<resource>`, known when planning.
///
/// ```
/// use girder_core::Stack;
/// use girder_aws::dsl::dynamodb::{AttributeType, Table};
/// let mut s = Stack::new("dev");
/// let locks = Table::new("locks")
///     .hash_key("LockID", AttributeType::String)
///     .point_in_time_recovery(true)
///     .add(&mut s);
/// assert_eq!(locks.table_name().as_str(), "dev-locks");
/// s.export("table", locks.name());
/// assert!(s.finish().is_ok());
/// ```
#[derive(Clone, Debug)]
#[must_use = "a builder declares nothing until it is added to the stack with `.add(…)`"]
pub struct Table {
    resource: String,
    name: Option<String>,
    hash_key: Option<(String, AttributeType)>,
    range_key: Option<(String, AttributeType)>,
    billing: Billing,
    point_in_time_recovery: bool,
    deletion_protection: bool,
    tags: Tags,
    options: ResourceOptions,
}

impl Table {
    /// A table; `resource` is its name in the stack.
    pub fn new(resource: impl Into<String>) -> Table {
        Table {
            resource: resource.into(),
            name: None,
            hash_key: None,
            range_key: None,
            billing: Billing::PayPerRequest,
            point_in_time_recovery: false,
            deletion_protection: false,
            tags: Tags::new(),
            options: ResourceOptions::default(),
        }
    }

    /// The table name (unique per account and region; default `<stack>-<resource>`).
    /// Changing it replaces the table.
    pub fn name(mut self, name: impl Into<String>) -> Table {
        self.name = Some(name.into());
        self
    }

    /// The partition key (required). Changing it replaces the table.
    pub fn hash_key(mut self, name: impl Into<String>, kind: AttributeType) -> Table {
        self.hash_key = Some((name.into(), kind));
        self
    }

    /// The sort key. Changing it replaces the table.
    pub fn range_key(mut self, name: impl Into<String>, kind: AttributeType) -> Table {
        self.range_key = Some((name.into(), kind));
        self
    }

    /// How the table is billed (default [`Billing::PayPerRequest`]).
    pub fn billing(mut self, billing: Billing) -> Table {
        self.billing = billing;
        self
    }

    /// Continuous backups with point-in-time recovery over the last 35 days.
    pub fn point_in_time_recovery(mut self, enabled: bool) -> Table {
        self.point_in_time_recovery = enabled;
        self
    }

    /// Makes DynamoDB refuse to delete the table until this is turned off again.
    pub fn deletion_protection(mut self, enabled: bool) -> Table {
        self.deletion_protection = enabled;
        self
    }

    /// Adds a tag.
    pub fn tag(mut self, key: impl Into<String>, value: impl Into<String>) -> Table {
        self.tags.insert(key.into(), value.into());
        self
    }

    /// Adds tags.
    pub fn tags<K: Into<String>, V: Into<String>>(
        mut self,
        tags: impl IntoIterator<Item = (K, V)>,
    ) -> Table {
        self.tags
            .extend(tags.into_iter().map(|(k, v)| (k.into(), v.into())));
        self
    }

    /// Adds the table to the stack, reporting invalid values.
    pub fn add(self, s: &mut Stack) -> TableHandle {
        let resource = self.resource.clone();
        let name = self
            .name
            .clone()
            .unwrap_or_else(|| format!("{}-{}", s.name(), resource));
        if let Some((message, fix)) = table_name_problem(&name) {
            s.report(
                Diagnostic::error(message)
                    .resource(&resource)
                    .field("name")
                    .value(&name)
                    .fix(fix),
            );
        }
        let mut decl = ResourceDecl::new(TABLE, &resource)
            .input("name", name.as_str())
            .options(self.options);
        match &self.hash_key {
            None => s.report(
                Diagnostic::error("a table needs a hash (partition) key")
                    .resource(&resource)
                    .field("hash_key")
                    .fix("add `.hash_key(\"pk\", AttributeType::String)`"),
            ),
            Some((key, kind)) => {
                if let Some((message, fix)) = key_name_problem(key) {
                    s.report(
                        Diagnostic::error(message)
                            .resource(&resource)
                            .field("hash_key")
                            .value(format!("{key:?}"))
                            .fix(fix),
                    );
                }
                decl = decl.input("hash_key", key_value(key, *kind));
            }
        }
        if let Some((key, kind)) = &self.range_key {
            if let Some((message, fix)) = key_name_problem(key) {
                s.report(
                    Diagnostic::error(message)
                        .resource(&resource)
                        .field("range_key")
                        .value(format!("{key:?}"))
                        .fix(fix),
                );
            }
            if self.hash_key.as_ref().is_some_and(|(hash, _)| hash == key) {
                s.report(
                    Diagnostic::error("the range key has the hash key's name")
                        .resource(&resource)
                        .field("range_key")
                        .value(key)
                        .fix("give the two key attributes different names"),
                );
            }
            decl = decl.input("range_key", key_value(key, *kind));
        }
        match self.billing {
            Billing::PayPerRequest => decl = decl.input("billing_mode", "PAY_PER_REQUEST"),
            Billing::Provisioned { read, write } => {
                for (field, units) in [("billing.read", read), ("billing.write", write)] {
                    if units < 1 {
                        s.report(
                            Diagnostic::error("provisioned capacity is at least 1 unit")
                                .resource(&resource)
                                .field(field)
                                .value(units)
                                .fix("use at least 1, or `Billing::PayPerRequest`"),
                        );
                    }
                }
                decl = decl
                    .input("billing_mode", "PROVISIONED")
                    .input("read_capacity", read)
                    .input("write_capacity", write);
            }
        }
        if self.point_in_time_recovery {
            decl = decl.input("point_in_time_recovery", true);
        }
        if self.deletion_protection {
            decl = decl.input("deletion_protection", true);
        }
        check_tags(s, &resource, &self.tags);
        let handle = with_tags(decl, &self.tags).add(s);
        TableHandle {
            handle,
            name: TableName::new(name),
        }
    }
}

fn key_value(name: &str, kind: AttributeType) -> Value {
    object! { "name" => name, "type" => kind.code() }
}

impl HasOptions for Table {
    fn options_mut(&mut self) -> &mut ResourceOptions {
        &mut self.options
    }
}

/// A table in the stack.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableHandle {
    handle: ResourceHandle,
    name: TableName,
}

impl TableHandle {
    /// The table name: known when planning, and a dependency on the table.
    pub fn name(&self) -> Output<TableName> {
        self.handle.output("name")
    }

    /// The table name as the program gave it (or its default).
    pub fn table_name(&self) -> &TableName {
        &self.name
    }

    /// The table's ARN, known after apply.
    pub fn arn(&self) -> Output<TableArn> {
        self.handle.output("arn")
    }

    /// The node.
    pub fn node(&self) -> NodeId {
        self.handle.node()
    }
}

impl Dependable for TableHandle {
    fn node_ids(&self) -> Vec<NodeId> {
        vec![self.handle.node()]
    }
}
