//! A typed IAM policy-document builder: statements, actions, resources, principals and
//! conditions, where resources, principals and condition keys may be other resources'
//! outputs (an OIDC provider's ARN, a hosted zone's ARN). No JSON strings in user code.
//!
//! ```
//! use girder_aws::iam::document::{PolicyDocument, Statement};
//! let doc = PolicyDocument::new().statement(
//!     Statement::allow(["autoscaling:DescribeAutoScalingGroups", "ec2:DescribeInstanceTypes"])
//!         .resource("*"),
//! );
//! let json = doc.to_output().known_value().unwrap();
//! assert_eq!(json["Statement"][0]["Effect"], "Allow");
//! ```

use std::collections::BTreeMap;
use std::sync::Arc;

use girder_core::expr::Apply;
use girder_core::{Diagnostic, Expr, Input, IntoInput, Output, Value};

/// The policy language version every document uses.
pub const VERSION: &str = "2012-10-17";

/// Values usable as an ARN in a document: strings, typed ARNs, and outputs of either.
pub trait IntoArn {
    /// The ARN as a string input.
    fn into_arn(self) -> Input<String>;
}

impl IntoArn for &str {
    fn into_arn(self) -> Input<String> {
        self.into_input()
    }
}

impl IntoArn for String {
    fn into_arn(self) -> Input<String> {
        self.into_input()
    }
}

impl IntoArn for &String {
    fn into_arn(self) -> Input<String> {
        self.into_input()
    }
}

impl IntoArn for Output<String> {
    fn into_arn(self) -> Input<String> {
        self.into_input()
    }
}

impl IntoArn for &Output<String> {
    fn into_arn(self) -> Input<String> {
        self.into_input()
    }
}

macro_rules! typed_arns {
    ($($t:ty),*) => {$(
        impl IntoArn for $t {
            fn into_arn(self) -> Input<String> {
                self.to_string().into_input()
            }
        }
        impl IntoArn for Output<$t> {
            fn into_arn(self) -> Input<String> {
                // Typed ids serialize as plain strings: the same expression, seen as a string.
                Output::<String>::from_expr(self.into_expr()).into_input()
            }
        }
        impl IntoArn for &Output<$t> {
            fn into_arn(self) -> Input<String> {
                Output::<String>::from_expr(self.expr().clone()).into_input()
            }
        }
    )*};
}
typed_arns!(
    crate::ids::PolicyArn,
    crate::ids::RoleArn,
    crate::ids::OidcProviderArn,
    crate::ids::HostedZoneArn,
    crate::ids::BucketArn,
    crate::ids::TableArn,
    crate::ids::ClusterArn,
    crate::ids::InstanceProfileArn
);

/// Allow or deny.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Allow the actions.
    Allow,
    /// Deny the actions (overrides any allow).
    Deny,
}

/// Who a trust-policy statement applies to.
#[derive(Clone, Debug)]
pub enum Principal {
    /// An AWS service, such as `eks.amazonaws.com`.
    Service(String),
    /// An AWS account or role ARN.
    Aws(Input<String>),
    /// A federated identity provider (an OIDC provider's ARN, for IRSA).
    Federated(Input<String>),
}

impl Principal {
    /// An AWS service principal.
    pub fn service(service: impl Into<String>) -> Principal {
        Principal::Service(service.into())
    }

    /// An AWS account or role principal.
    pub fn aws(arn: impl IntoArn) -> Principal {
        Principal::Aws(arn.into_arn())
    }

    /// A federated principal, such as an OIDC provider's ARN.
    pub fn federated(arn: impl IntoArn) -> Principal {
        Principal::Federated(arn.into_arn())
    }

    fn kind(&self) -> &'static str {
        match self {
            Principal::Service(_) => "Service",
            Principal::Aws(_) => "AWS",
            Principal::Federated(_) => "Federated",
        }
    }
}

/// A condition: an operator (`StringEquals`, `StringLike`, …), a key and its values.
#[derive(Clone, Debug)]
pub struct Condition {
    operator: String,
    key: Input<String>,
    values: Vec<Input<String>>,
}

impl Condition {
    /// A condition with any operator.
    pub fn new<V: IntoInput<String>>(
        operator: impl Into<String>,
        key: impl IntoInput<String>,
        values: impl IntoIterator<Item = V>,
    ) -> Condition {
        Condition {
            operator: operator.into(),
            key: key.into_input(),
            values: values.into_iter().map(IntoInput::into_input).collect(),
        }
    }

    /// `StringEquals`: the key must equal the value exactly.
    pub fn string_equals(key: impl IntoInput<String>, value: impl IntoInput<String>) -> Condition {
        Condition::new("StringEquals", key, [value.into_input()])
    }

    /// `StringLike`: the key must match the value (with `*` and `?` wildcards).
    pub fn string_like(key: impl IntoInput<String>, value: impl IntoInput<String>) -> Condition {
        Condition::new("StringLike", key, [value.into_input()])
    }
}

/// One statement of a policy document.
#[derive(Clone, Debug)]
pub struct Statement {
    sid: Option<String>,
    effect: Effect,
    actions: Vec<String>,
    resources: Vec<Input<String>>,
    principals: Vec<Principal>,
    conditions: Vec<Condition>,
}

impl Statement {
    /// A statement that allows `actions` (such as `route53:ChangeResourceRecordSets`).
    pub fn allow<A: Into<String>>(actions: impl IntoIterator<Item = A>) -> Statement {
        Statement::new(Effect::Allow, actions)
    }

    /// A statement that denies `actions`.
    pub fn deny<A: Into<String>>(actions: impl IntoIterator<Item = A>) -> Statement {
        Statement::new(Effect::Deny, actions)
    }

    fn new<A: Into<String>>(effect: Effect, actions: impl IntoIterator<Item = A>) -> Statement {
        Statement {
            sid: None,
            effect,
            actions: actions.into_iter().map(Into::into).collect(),
            resources: Vec::new(),
            principals: Vec::new(),
            conditions: Vec::new(),
        }
    }

    /// Names the statement.
    pub fn sid(mut self, sid: impl Into<String>) -> Statement {
        self.sid = Some(sid.into());
        self
    }

    /// Adds a resource ARN (or `*`) the actions apply to.
    pub fn resource(mut self, resource: impl IntoArn) -> Statement {
        self.resources.push(resource.into_arn());
        self
    }

    /// Adds resources.
    pub fn resources<R: IntoArn>(mut self, resources: impl IntoIterator<Item = R>) -> Statement {
        self.resources
            .extend(resources.into_iter().map(IntoArn::into_arn));
        self
    }

    /// Adds a principal (trust policies).
    pub fn principal(mut self, principal: Principal) -> Statement {
        self.principals.push(principal);
        self
    }

    /// Adds a condition.
    pub fn condition(mut self, condition: Condition) -> Statement {
        self.conditions.push(condition);
        self
    }
}

/// An IAM policy document under construction.
#[derive(Clone, Debug, Default)]
pub struct PolicyDocument {
    statements: Vec<Statement>,
}

/// Whether a document grants permissions or says who may assume a role.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DocumentKind {
    /// A permissions policy: statements need resources and no principals.
    Permissions,
    /// A trust policy: statements need principals and no resources.
    Trust,
}

impl PolicyDocument {
    /// An empty document.
    pub fn new() -> PolicyDocument {
        PolicyDocument::default()
    }

    /// A trust policy letting an AWS service assume the role (`sts:AssumeRole`).
    ///
    /// ```
    /// use girder_aws::iam::document::PolicyDocument;
    /// let trust = PolicyDocument::service_trust(["eks.amazonaws.com"]).to_output();
    /// assert_eq!(
    ///     trust.known_value().unwrap()["Statement"][0]["Principal"]["Service"],
    ///     "eks.amazonaws.com"
    /// );
    /// ```
    pub fn service_trust<S: Into<String>>(services: impl IntoIterator<Item = S>) -> PolicyDocument {
        let mut statement = Statement::allow(["sts:AssumeRole"]);
        for service in services {
            statement = statement.principal(Principal::service(service));
        }
        PolicyDocument::new().statement(statement)
    }

    /// Adds a statement.
    pub fn statement(mut self, statement: Statement) -> PolicyDocument {
        self.statements.push(statement);
        self
    }

    /// The statements.
    pub fn len(&self) -> usize {
        self.statements.len()
    }

    /// True without statements.
    pub fn is_empty(&self) -> bool {
        self.statements.is_empty()
    }

    /// Checks the literal parts (actions, resources, principals) and returns every problem,
    /// naming `resource` and `field`.
    pub fn check(&self, kind: DocumentKind, resource: &str, field: &str) -> Vec<Diagnostic> {
        let mut problems = Vec::new();
        let at = |i: usize, part: &str| format!("{field}.Statement[{i}].{part}");
        if self.statements.is_empty() {
            problems.push(
                Diagnostic::error("the policy document has no statements")
                    .resource(resource)
                    .field(field)
                    .fix("add a statement, such as `Statement::allow([\"s3:GetObject\"]).resource(bucket_arn)`"),
            );
        }
        for (i, statement) in self.statements.iter().enumerate() {
            if statement.actions.is_empty() {
                problems.push(
                    Diagnostic::error("the statement names no actions")
                        .resource(resource)
                        .field(at(i, "Action"))
                        .fix("list the actions, such as `[\"ec2:DescribeInstances\"]`"),
                );
            }
            for action in &statement.actions {
                if !valid_action(action) {
                    problems.push(
                        Diagnostic::error(
                            "an action is `service:Operation` (wildcards allowed) or `*`",
                        )
                        .resource(resource)
                        .field(at(i, "Action"))
                        .value(action)
                        .fix("write it like `autoscaling:SetDesiredCapacity` or `ec2:Describe*`"),
                    );
                }
            }
            for value in statement.resources.iter().filter_map(Input::known_value) {
                if value != "*" && !value.starts_with("arn:") {
                    problems.push(
                        Diagnostic::error("a resource is an ARN or `*`")
                            .resource(resource)
                            .field(at(i, "Resource"))
                            .value(&value)
                            .fix("pass an ARN (such as a handle's `arn()` output) or `\"*\"`"),
                    );
                }
            }
            match kind {
                DocumentKind::Permissions => {
                    if statement.resources.is_empty() {
                        problems.push(
                            Diagnostic::error("a permissions statement needs resources")
                                .resource(resource)
                                .field(at(i, "Resource"))
                                .fix("add `.resource(arn)`, or `.resource(\"*\")` for actions without resource-level permissions"),
                        );
                    }
                    if !statement.principals.is_empty() {
                        problems.push(
                            Diagnostic::error("a permissions policy cannot name principals")
                                .resource(resource)
                                .field(at(i, "Principal"))
                                .fix("put principals in the role's trust policy"),
                        );
                    }
                }
                DocumentKind::Trust => {
                    if statement.principals.is_empty() {
                        problems.push(
                            Diagnostic::error("a trust statement needs a principal")
                                .resource(resource)
                                .field(at(i, "Principal"))
                                .fix("add `.principal(Principal::service(\"ec2.amazonaws.com\"))` or a federated principal"),
                        );
                    }
                    if !statement.resources.is_empty() {
                        problems.push(
                            Diagnostic::error("a trust policy cannot name resources")
                                .resource(resource)
                                .field(at(i, "Resource"))
                                .fix("remove `.resource(..)` from the trust statement"),
                        );
                    }
                }
            }
        }
        problems
    }

    /// The document as JSON, known once every output it uses is known.
    pub fn to_output(&self) -> Output<serde_json::Value> {
        let mut args = Vec::new();
        let statements = self
            .statements
            .iter()
            .map(|s| statement_template(s, &mut args))
            .collect();
        let template = Template::Object(vec![
            (Key::Lit("Version".into()), Template::Lit(VERSION.into())),
            (Key::Lit("Statement".into()), Template::Array(statements)),
        ]);
        Output::from_expr(Expr::Apply(Arc::new(Apply {
            args,
            label: "policy document",
            function: Arc::new(move |values| {
                let json = template.render(values)?;
                Ok(Value::from_json(json))
            }),
        })))
    }
}

fn valid_action(action: &str) -> bool {
    if action == "*" {
        return true;
    }
    let Some((service, operation)) = action.split_once(':') else {
        return false;
    };
    !service.is_empty()
        && !operation.is_empty()
        && service
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && operation
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '*' || c == '?' || c == '-')
}

/// A JSON shape whose strings may come from expression arguments.
#[derive(Clone, Debug)]
enum Template {
    Lit(serde_json::Value),
    Arg(usize),
    Object(Vec<(Key, Template)>),
    Array(Vec<Template>),
    /// A single item as itself, several as an array (IAM's convention for values).
    OneOrMany(Vec<Template>),
}

#[derive(Clone, Debug)]
enum Key {
    Lit(String),
    Arg(usize),
}

fn arg(input: &Input<String>, args: &mut Vec<Expr>) -> Template {
    if let Some(value) = input.known_value() {
        return Template::Lit(value.into());
    }
    args.push(input.expr().clone());
    Template::Arg(args.len() - 1)
}

fn statement_template(statement: &Statement, args: &mut Vec<Expr>) -> Template {
    let mut fields = Vec::new();
    if let Some(sid) = &statement.sid {
        fields.push((Key::Lit("Sid".into()), Template::Lit(sid.clone().into())));
    }
    let effect = match statement.effect {
        Effect::Allow => "Allow",
        Effect::Deny => "Deny",
    };
    fields.push((Key::Lit("Effect".into()), Template::Lit(effect.into())));
    if !statement.principals.is_empty() {
        let mut by_kind: BTreeMap<&str, Vec<Template>> = BTreeMap::new();
        for principal in &statement.principals {
            let value = match principal {
                Principal::Service(s) => Template::Lit(s.clone().into()),
                Principal::Aws(input) | Principal::Federated(input) => arg(input, args),
            };
            by_kind.entry(principal.kind()).or_default().push(value);
        }
        fields.push((
            Key::Lit("Principal".into()),
            Template::Object(
                by_kind
                    .into_iter()
                    .map(|(k, v)| (Key::Lit(k.into()), Template::OneOrMany(v)))
                    .collect(),
            ),
        ));
    }
    fields.push((
        Key::Lit("Action".into()),
        Template::Array(
            statement
                .actions
                .iter()
                .map(|a| Template::Lit(a.clone().into()))
                .collect(),
        ),
    ));
    if !statement.resources.is_empty() {
        let resources = statement.resources.iter().map(|r| arg(r, args)).collect();
        fields.push((Key::Lit("Resource".into()), Template::Array(resources)));
    }
    if !statement.conditions.is_empty() {
        let mut by_operator: BTreeMap<&str, Vec<(Key, Template)>> = BTreeMap::new();
        for condition in &statement.conditions {
            let key = match condition.key.known_value() {
                Some(k) => Key::Lit(k),
                None => {
                    args.push(condition.key.expr().clone());
                    Key::Arg(args.len() - 1)
                }
            };
            let values = condition.values.iter().map(|v| arg(v, args)).collect();
            by_operator
                .entry(condition.operator.as_str())
                .or_default()
                .push((key, Template::OneOrMany(values)));
        }
        fields.push((
            Key::Lit("Condition".into()),
            Template::Object(
                by_operator
                    .into_iter()
                    .map(|(op, keys)| (Key::Lit(op.into()), Template::Object(keys)))
                    .collect(),
            ),
        ));
    }
    Template::Object(fields)
}

impl Template {
    fn render(&self, args: &[Value]) -> Result<serde_json::Value, String> {
        let string_arg = |i: usize| -> Result<String, String> {
            args.get(i)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| format!("argument {i} of a policy document is not a string"))
        };
        Ok(match self {
            Template::Lit(value) => value.clone(),
            Template::Arg(i) => serde_json::Value::String(string_arg(*i)?),
            Template::Object(fields) => {
                let mut map = serde_json::Map::new();
                for (key, value) in fields {
                    let key = match key {
                        Key::Lit(k) => k.clone(),
                        Key::Arg(i) => string_arg(*i)?,
                    };
                    map.insert(key, value.render(args)?);
                }
                serde_json::Value::Object(map)
            }
            Template::Array(items) => serde_json::Value::Array(
                items
                    .iter()
                    .map(|t| t.render(args))
                    .collect::<Result<_, _>>()?,
            ),
            Template::OneOrMany(items) => {
                let mut rendered: Vec<serde_json::Value> = items
                    .iter()
                    .map(|t| t.render(args))
                    .collect::<Result<_, _>>()?;
                if rendered.len() == 1 {
                    rendered.remove(0)
                } else {
                    serde_json::Value::Array(rendered)
                }
            }
        })
    }
}

/// A document in a canonical form: single values as one-item lists, string lists sorted,
/// `Statement` always a list. IAM may return a document in another but equivalent form.
pub fn canonical(document: &serde_json::Value) -> serde_json::Value {
    fn walk(value: &serde_json::Value, key: Option<&str>) -> serde_json::Value {
        use serde_json::Value as J;
        match value {
            J::Object(map) => J::Object(
                map.iter()
                    .map(|(k, v)| (k.clone(), walk(v, Some(k))))
                    .collect(),
            ),
            J::Array(items) if items.iter().all(J::is_string) => {
                let mut strings: Vec<J> = items.clone();
                strings.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
                strings.dedup();
                J::Array(strings)
            }
            J::Array(items) => J::Array(items.iter().map(|v| walk(v, None)).collect()),
            J::String(_) if !matches!(key, Some("Version" | "Sid" | "Effect") | None) => {
                J::Array(vec![value.clone()])
            }
            other => other.clone(),
        }
    }
    let mut out = walk(document, None);
    if let Some(statement) = out.get_mut("Statement")
        && statement.is_object()
    {
        *statement = serde_json::Value::Array(vec![statement.take()]);
    }
    out
}

/// True if the two documents mean the same.
pub fn equivalent(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    canonical(a) == canonical(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use girder_core::{NodeId, interpolate};
    use serde_json::json;

    #[test]
    fn documents_render_with_outputs() {
        let issuer: Output<String> =
            Output::from_ref(NodeId::for_tests(0), "issuer_host".parse().unwrap());
        let arn: Output<String> = Output::from_ref(NodeId::for_tests(1), "arn".parse().unwrap());
        let doc = PolicyDocument::new().statement(
            Statement::allow(["sts:AssumeRoleWithWebIdentity"])
                .principal(Principal::federated(&arn))
                .condition(Condition::string_equals(
                    interpolate!("{}:sub", issuer),
                    "system:serviceaccount:kube-system:external-dns",
                ))
                .condition(Condition::string_equals(
                    interpolate!("{}:aud", issuer),
                    "sts.amazonaws.com",
                )),
        );
        let output = doc.to_output();
        assert_eq!(output.dependencies().len(), 2);
        let first =
            girder_core::object! { "issuer_host" => "oidc.eks.us-east-1.amazonaws.com/id/X" };
        let second = girder_core::object! { "arn" => "arn:aws:iam::1:oidc-provider/x" };
        let resolved = output
            .expr()
            .resolve(&|n| {
                Some(if n == NodeId::for_tests(0) {
                    &first
                } else {
                    &second
                })
            })
            .unwrap()
            .to_json();
        assert_eq!(
            resolved,
            json!({
                "Version": "2012-10-17",
                "Statement": [{
                    "Effect": "Allow",
                    "Principal": {"Federated": "arn:aws:iam::1:oidc-provider/x"},
                    "Action": ["sts:AssumeRoleWithWebIdentity"],
                    "Condition": {"StringEquals": {
                        "oidc.eks.us-east-1.amazonaws.com/id/X:sub": "system:serviceaccount:kube-system:external-dns",
                        "oidc.eks.us-east-1.amazonaws.com/id/X:aud": "sts.amazonaws.com"
                    }}
                }]
            })
        );
    }

    #[test]
    fn checks_report_every_problem() {
        let doc = PolicyDocument::new()
            .statement(Statement::allow(["not an action"]))
            .statement(Statement::allow(["s3:GetObject"]).resource("bucket"));
        let problems = doc.check(DocumentKind::Permissions, "r", "policy");
        assert_eq!(problems.len(), 3, "{problems:#?}");
        assert!(
            problems
                .iter()
                .any(|p| p.value.as_deref() == Some("bucket"))
        );
        let trust = PolicyDocument::new().statement(Statement::allow(["sts:AssumeRole"]));
        assert_eq!(trust.check(DocumentKind::Trust, "r", "trust").len(), 1);
    }

    #[test]
    fn equivalence_ignores_form() {
        let a = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["b:X", "a:Y"], "Resource": "*"}]});
        let b = json!({"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": ["a:Y", "b:X"], "Resource": ["*"]}});
        assert!(equivalent(&a, &b));
        let c = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "a:Y", "Resource": "*"}]});
        assert!(!equivalent(&a, &c));
    }
}
