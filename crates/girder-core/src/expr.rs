//! [`Expr`]: the untyped expression behind every [`Output`](crate::Output) and
//! [`Input`](crate::Input).
//!
//! An expression is a tree of literal values, references to another resource's output fields,
//! and deferred functions over other expressions. The references in it are the dependency edges
//! of the graph: data flow *is* the dependency. The engine resolves expressions when the values
//! they reference become known.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use crate::graph::NodeId;
use crate::path::FieldPath;
use crate::value::Value;

/// The function of an [`Expr::Apply`]: gets its arguments revealed and known.
pub type ApplyFn = dyn Fn(&[Value]) -> Result<Value, String> + Send + Sync;

/// A reference to a field of another resource's outputs.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct OutputRef {
    /// The resource whose outputs are read.
    pub node: NodeId,
    /// The field inside those outputs (the root path means all outputs).
    pub path: FieldPath,
}

/// A deferred function over other expressions (`map`, `zip`, interpolation).
pub struct Apply {
    /// The expressions whose values the function receives, in order.
    pub args: Vec<Expr>,
    /// What the function is, for graph and plan displays (`map`, `format`, …).
    pub label: &'static str,
    /// The function.
    pub function: Arc<ApplyFn>,
}

impl fmt::Debug for Apply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Apply")
            .field("label", &self.label)
            .field("args", &self.args)
            .finish_non_exhaustive()
    }
}

/// An untyped expression producing a [`Value`].
#[derive(Clone, Debug)]
pub enum Expr {
    /// A literal.
    Value(Value),
    /// A field of another resource's outputs.
    Ref(OutputRef),
    /// A function of other expressions, evaluated once their values are known.
    Apply(Arc<Apply>),
    /// An object whose fields are expressions.
    Object(BTreeMap<String, Expr>),
    /// A list whose items are expressions.
    Array(Vec<Expr>),
    /// The wrapped expression's value, marked secret.
    Secret(Box<Expr>),
}

/// Why an expression could not be evaluated.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ExprError {
    /// A deferred function returned an error.
    #[error("`{label}` failed: {message}")]
    Apply {
        /// The function's label.
        label: &'static str,
        /// What it reported.
        message: String,
    },
}

impl Expr {
    /// An empty object expression.
    pub fn object() -> Expr {
        Expr::Object(BTreeMap::new())
    }

    /// Every resource this expression reads from, in first-seen order, without duplicates.
    pub fn dependencies(&self) -> Vec<NodeId> {
        let mut found = Vec::new();
        self.collect_dependencies(&mut found);
        found
    }

    /// Appends the resources this expression reads from to `out` (may add duplicates).
    pub fn collect_dependencies(&self, out: &mut Vec<NodeId>) {
        match self {
            Expr::Value(_) => {}
            Expr::Ref(reference) => {
                if !out.contains(&reference.node) {
                    out.push(reference.node);
                }
            }
            Expr::Apply(apply) => apply.args.iter().for_each(|a| a.collect_dependencies(out)),
            Expr::Object(map) => map.values().for_each(|e| e.collect_dependencies(out)),
            Expr::Array(items) => items.iter().for_each(|e| e.collect_dependencies(out)),
            Expr::Secret(inner) => inner.collect_dependencies(out),
        }
    }

    /// Every output reference in this expression.
    pub fn references(&self) -> Vec<&OutputRef> {
        let mut found = Vec::new();
        self.collect_references(&mut found);
        found
    }

    fn collect_references<'a>(&'a self, out: &mut Vec<&'a OutputRef>) {
        match self {
            Expr::Value(_) => {}
            Expr::Ref(reference) => out.push(reference),
            Expr::Apply(apply) => apply.args.iter().for_each(|a| a.collect_references(out)),
            Expr::Object(map) => map.values().for_each(|e| e.collect_references(out)),
            Expr::Array(items) => items.iter().for_each(|e| e.collect_references(out)),
            Expr::Secret(inner) => inner.collect_references(out),
        }
    }

    /// The value, if the expression contains no reference and no function.
    pub fn as_literal(&self) -> Option<Value> {
        match self {
            Expr::Value(value) => Some(value.clone()),
            Expr::Ref(_) | Expr::Apply(_) => None,
            Expr::Object(map) => map
                .iter()
                .map(|(k, e)| e.as_literal().map(|v| (k.clone(), v)))
                .collect::<Option<BTreeMap<_, _>>>()
                .map(Value::Object),
            Expr::Array(items) => items
                .iter()
                .map(Expr::as_literal)
                .collect::<Option<Vec<_>>>()
                .map(Value::Array),
            Expr::Secret(inner) => inner.as_literal().map(Value::into_secret),
        }
    }

    /// Evaluates the expression.
    ///
    /// `outputs` gives the outputs of a resource as far as they are known: `None` when the
    /// resource's outputs are not known at all yet (it is being created), or a value that may
    /// contain [`Value::Unknown`] parts. A reference to an absent field reads as `null`.
    pub fn resolve<'a>(
        &self,
        outputs: &dyn Fn(NodeId) -> Option<&'a Value>,
    ) -> Result<Value, ExprError> {
        self.resolve_refs(&|reference| match outputs(reference.node) {
            None => Value::Unknown,
            Some(value) => value.lookup(&reference.path).unwrap_or(Value::Null),
        })
    }

    /// Evaluates the expression, asking `lookup` for the value of every output reference
    /// (the planner uses it to read absent fields of resources being created as unknown).
    pub fn resolve_refs(&self, lookup: &dyn Fn(&OutputRef) -> Value) -> Result<Value, ExprError> {
        let outputs = lookup;
        Ok(match self {
            Expr::Value(value) => value.clone(),
            Expr::Ref(reference) => outputs(reference),
            Expr::Apply(apply) => {
                let args = apply
                    .args
                    .iter()
                    .map(|a| a.resolve_refs(outputs))
                    .collect::<Result<Vec<_>, _>>()?;
                if args.iter().any(Value::contains_unknown) {
                    return Ok(Value::Unknown);
                }
                let secret = args.iter().any(Value::contains_secret);
                let revealed: Vec<Value> = args.iter().map(Value::reveal).collect();
                let result = (apply.function)(&revealed).map_err(|message| ExprError::Apply {
                    label: apply.label,
                    message,
                })?;
                if secret { result.into_secret() } else { result }
            }
            Expr::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, e)| Ok((k.clone(), e.resolve_refs(outputs)?)))
                    .collect::<Result<_, ExprError>>()?,
            ),
            Expr::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|e| e.resolve_refs(outputs))
                    .collect::<Result<_, _>>()?,
            ),
            Expr::Secret(inner) => inner.resolve_refs(outputs)?.into_secret(),
        })
    }

    /// Inserts a field into an object expression (turning `Value(Object)` into `Object`).
    pub fn insert(&mut self, key: impl Into<String>, value: Expr) {
        if let Expr::Value(Value::Object(map)) = self {
            let fields = std::mem::take(map)
                .into_iter()
                .map(|(k, v)| (k, Expr::Value(v)))
                .collect();
            *self = Expr::Object(fields);
        }
        if !matches!(self, Expr::Object(_)) {
            *self = Expr::object();
        }
        if let Expr::Object(map) = self {
            map.insert(key.into(), value);
        }
    }

    /// The field of an object expression.
    pub fn field(&self, key: &str) -> Option<&Expr> {
        match self {
            Expr::Object(map) => map.get(key),
            _ => None,
        }
    }
}

impl From<Value> for Expr {
    fn from(value: Value) -> Self {
        Expr::Value(value)
    }
}

impl From<OutputRef> for Expr {
    fn from(reference: OutputRef) -> Self {
        Expr::Ref(reference)
    }
}

impl<E: Into<Expr>> From<Vec<E>> for Expr {
    fn from(items: Vec<E>) -> Self {
        Expr::Array(items.into_iter().map(Into::into).collect())
    }
}

impl<E: Into<Expr>> From<BTreeMap<String, E>> for Expr {
    fn from(map: BTreeMap<String, E>) -> Self {
        Expr::Object(map.into_iter().map(|(k, v)| (k, v.into())).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::NodeId;

    fn node(i: u32) -> NodeId {
        NodeId::for_tests(i)
    }

    #[test]
    fn unknown_reference_propagates_through_apply() {
        let reference = Expr::Ref(OutputRef {
            node: node(0),
            path: "id".parse().unwrap(),
        });
        let apply = Expr::Apply(Arc::new(Apply {
            args: vec![reference],
            label: "map",
            function: Arc::new(|args| {
                Ok(Value::String(format!("x-{}", args[0].as_str().unwrap())))
            }),
        }));
        assert_eq!(apply.resolve(&|_| None).unwrap(), Value::Unknown);
        let outputs = crate::object! { "id" => "abc" };
        let known = apply.resolve(&|_| Some(&outputs)).unwrap();
        assert_eq!(known, Value::from("x-abc"));
        assert_eq!(apply.dependencies(), vec![node(0)]);
    }

    #[test]
    fn secret_taints_apply_results() {
        let secret = Expr::Secret(Box::new(Expr::Value("pw".into())));
        let apply = Expr::Apply(Arc::new(Apply {
            args: vec![secret],
            label: "map",
            function: Arc::new(|args| Ok(Value::String(format!("{}!", args[0].as_str().unwrap())))),
        }));
        assert_eq!(
            apply.resolve(&|_| None).unwrap(),
            Value::from("pw!").into_secret()
        );
    }

    #[test]
    fn literal_detection() {
        let mut e = Expr::object();
        e.insert("a", Expr::Value(1.into()));
        assert_eq!(e.as_literal(), Some(crate::object! { "a" => 1 }));
        e.insert(
            "b",
            Expr::Ref(OutputRef {
                node: node(1),
                path: FieldPath::root(),
            }),
        );
        assert_eq!(e.as_literal(), None);
    }
}
