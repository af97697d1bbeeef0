//! Typed data flow: [`Output<T>`] (a value a resource will produce) and [`Input<T>`]
//! (what a resource builder accepts: a literal or another resource's output).
//!
//! Both are typed views over an untyped [`Expr`]; combinators (`map`, `zip`, [`all`],
//! [`interpolate!`](crate::interpolate)) build new expressions and keep every reference, so the
//! dependency edges follow the data however it is transformed.

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::expr::{Apply, Expr, OutputRef};
use crate::graph::NodeId;
use crate::path::FieldPath;
use crate::value::Value;

/// Data that can flow between resources: anything `serde` can write and read back.
pub trait Data: Serialize + DeserializeOwned + Send + Sync + 'static {}

impl<T: Serialize + DeserializeOwned + Send + Sync + 'static> Data for T {}

/// A value of type `T` that may only be known after apply, with the resources it comes from.
///
/// ```
/// use girder_core::{Output, interpolate};
/// let port: Output<u16> = Output::known(8080);
/// let url = interpolate!("http://backend:{}", port);
/// assert_eq!(url.known_value(), Some("http://backend:8080".to_owned()));
/// ```
pub struct Output<T> {
    expr: Expr,
    _type: PhantomData<fn() -> T>,
}

impl<T> Clone for Output<T> {
    fn clone(&self) -> Self {
        Output {
            expr: self.expr.clone(),
            _type: PhantomData,
        }
    }
}

impl<T> fmt::Debug for Output<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Output").field(&self.expr).finish()
    }
}

impl<T> Output<T> {
    /// An output over an untyped expression; for DSL authors who know the expression's type.
    pub fn from_expr(expr: Expr) -> Output<T> {
        Output {
            expr,
            _type: PhantomData,
        }
    }

    /// The output field `path` of resource `node`; for DSL authors writing typed handles.
    pub fn from_ref(node: NodeId, path: FieldPath) -> Output<T> {
        Output::from_expr(Expr::Ref(OutputRef { node, path }))
    }

    /// The untyped expression.
    pub fn expr(&self) -> &Expr {
        &self.expr
    }

    /// Consumes the output into its untyped expression.
    pub fn into_expr(self) -> Expr {
        self.expr
    }

    /// The resources this output reads from.
    pub fn dependencies(&self) -> Vec<NodeId> {
        self.expr.dependencies()
    }

    /// The same output, marked secret: masked in every display and encrypted in the state.
    pub fn secret(&self) -> Output<T> {
        Output::from_expr(Expr::Secret(Box::new(self.expr.clone())))
    }
}

impl<T: Data> Output<T> {
    /// An output whose value is known now.
    pub fn known(value: T) -> Output<T> {
        let value = Value::from_serialize(&value).unwrap_or_else(|e| {
            // A `Data` type that fails to serialize is a bug in that type's Serialize impl;
            // carry the error into the graph instead of panicking, so it surfaces in the plan.
            Value::String(format!("<unserializable: {e}>"))
        });
        Output::from_expr(Expr::Value(value))
    }

    /// An output whose value is known now and secret.
    pub fn known_secret(value: T) -> Output<T> {
        Output::known(value).secret()
    }

    /// The value, if it is known now (a literal, not produced by a resource).
    pub fn known_value(&self) -> Option<T> {
        known_value_of(&self.expr)
    }

    /// Transforms the value once it is known; the result depends on the same resources.
    ///
    /// ```
    /// use girder_core::Output;
    /// let replicas = Output::known(3u32).map(|n| n * 2);
    /// assert_eq!(replicas.known_value(), Some(6));
    /// ```
    pub fn map<U: Data>(&self, function: impl Fn(T) -> U + Send + Sync + 'static) -> Output<U> {
        Output::from_expr(Expr::Apply(Arc::new(Apply {
            args: vec![self.expr.clone()],
            label: "map",
            function: Arc::new(move |args| {
                let input: T = args[0].deserialize_into().map_err(|e| e.to_string())?;
                Value::from_serialize(&function(input)).map_err(|e| e.to_string())
            }),
        })))
    }

    /// Combines two outputs into one that is known when both are.
    pub fn zip<U: Data>(&self, other: &Output<U>) -> Output<(T, U)> {
        Output::from_expr(Expr::Array(vec![self.expr.clone(), other.expr.clone()]))
    }
}

/// The value of an expression that references no resource (functions of literals are
/// evaluated), deserialized as `T`.
fn known_value_of<T: Data>(expr: &Expr) -> Option<T> {
    if !expr.dependencies().is_empty() {
        return None;
    }
    let value = expr.resolve(&|_| None).ok()?;
    if value.contains_unknown() {
        return None;
    }
    value.deserialize_into().ok()
}

/// Combines a list of outputs into one output of a list, known when all are.
///
/// ```
/// use girder_core::{Output, output::all};
/// let both = all(vec![Output::known(1u8), Output::known(2u8)]);
/// assert_eq!(both.known_value(), Some(vec![1, 2]));
/// ```
pub fn all<T: Data>(outputs: impl IntoIterator<Item = Output<T>>) -> Output<Vec<T>> {
    Output::from_expr(Expr::Array(
        outputs.into_iter().map(Output::into_expr).collect(),
    ))
}

/// What a resource builder accepts for a field of type `T`: a literal `T` or an `Output<T>`.
pub struct Input<T> {
    expr: Expr,
    _type: PhantomData<fn() -> T>,
}

impl<T> Clone for Input<T> {
    fn clone(&self) -> Self {
        Input {
            expr: self.expr.clone(),
            _type: PhantomData,
        }
    }
}

impl<T> fmt::Debug for Input<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Input").field(&self.expr).finish()
    }
}

impl<T> Input<T> {
    /// The untyped expression.
    pub fn expr(&self) -> &Expr {
        &self.expr
    }

    /// Consumes the input into its untyped expression.
    pub fn into_expr(self) -> Expr {
        self.expr
    }

    /// The input viewed as an output (the same expression).
    pub fn into_output(self) -> Output<T> {
        Output::from_expr(self.expr)
    }
}

impl<T: Data> Input<T> {
    /// The literal value, if the input is known when the program is built (what build-time
    /// validation checks).
    pub fn known_value(&self) -> Option<T> {
        known_value_of(&self.expr)
    }
}

impl<T> From<Input<T>> for Expr {
    fn from(input: Input<T>) -> Self {
        input.expr
    }
}

impl<T> From<Output<T>> for Expr {
    fn from(output: Output<T>) -> Self {
        output.expr
    }
}

impl<T> From<&Output<T>> for Expr {
    fn from(output: &Output<T>) -> Self {
        output.expr.clone()
    }
}

/// Converts a builder argument into an [`Input<T>`]: a `T`, an `Output<T>` or a `&Output<T>`.
///
/// This is the trait behind typed wiring: a `SubnetId` output cannot be passed where a `VpcId`
/// is expected, and the compiler says so in these words.
#[diagnostic::on_unimplemented(
    message = "expected an input of type `{T}`, but got `{Self}`",
    label = "this is not a `{T}`",
    note = "a builder field of type `{T}` accepts a `{T}` value, an `Output<{T}>` or a `&Output<{T}>`",
    note = "typed ids keep resources apart: pass the output of the resource the field names (for example `vpc.id()` for a `VpcId`)"
)]
pub trait IntoInput<T> {
    /// Performs the conversion.
    fn into_input(self) -> Input<T>;
}

fn input_of<T>(expr: Expr) -> Input<T> {
    Input {
        expr,
        _type: PhantomData,
    }
}

impl<T: Data> IntoInput<T> for T {
    fn into_input(self) -> Input<T> {
        input_of(Output::known(self).into_expr())
    }
}

impl<T> IntoInput<T> for Output<T> {
    fn into_input(self) -> Input<T> {
        input_of(self.expr)
    }
}

impl<T> IntoInput<T> for &Output<T> {
    fn into_input(self) -> Input<T> {
        input_of(self.expr.clone())
    }
}

impl<T> IntoInput<T> for Input<T> {
    fn into_input(self) -> Input<T> {
        self
    }
}

/// Marks the id newtypes [`typed_id!`](crate::typed_id) declares: an id output can be passed
/// where a plain string is expected (an annotation, an environment variable), never where an id
/// of another kind is. Any other output (a port, a count) is turned into a string explicitly,
/// and the compiler says how when one is passed as a string.
#[diagnostic::on_unimplemented(
    message = "an `Output<{Self}>` is not a string: expected an input of type `String`",
    label = "`{Self}` is not a typed id, so its output cannot stand for a string",
    note = "format the value into a string first: `output.map(|v| v.to_string())`, or `interpolate!(\"{{}}\", output)` to build a longer one",
    note = "only typed ids (such as `VpcId` or `RoleArn`) and `Output<String>` pass where a string is expected"
)]
pub trait TypedId: Data + std::fmt::Display {}

impl<T: TypedId> IntoInput<String> for Output<T> {
    fn into_input(self) -> Input<String> {
        input_of(self.expr)
    }
}

impl<T: TypedId> IntoInput<String> for &Output<T> {
    fn into_input(self) -> Input<String> {
        input_of(self.expr.clone())
    }
}

impl IntoInput<String> for &str {
    fn into_input(self) -> Input<String> {
        input_of(Expr::Value(Value::String(self.to_owned())))
    }
}

impl IntoInput<String> for &String {
    fn into_input(self) -> Input<String> {
        input_of(Expr::Value(Value::String(self.clone())))
    }
}

/// A piece of an [`interpolate!`](crate::interpolate) call: an output or a displayable literal.
pub trait Interpolate {
    /// The expression whose value is formatted into the string.
    fn to_expr(&self) -> Expr;
}

impl<T> Interpolate for Output<T> {
    fn to_expr(&self) -> Expr {
        self.expr.clone()
    }
}

impl<T> Interpolate for &Output<T> {
    fn to_expr(&self) -> Expr {
        self.expr.clone()
    }
}

macro_rules! interpolate_literal {
    ($($t:ty),*) => {$(
        impl Interpolate for $t {
            fn to_expr(&self) -> Expr {
                Expr::Value(Value::from_serialize(self).unwrap_or(Value::Null))
            }
        }
    )*};
}
interpolate_literal!(&str, String, u16, u32, u64, i32, i64, usize, bool);

/// Formats `template`, replacing each `{}` with the next argument's value (strings without
/// quotes). Used by [`interpolate!`](crate::interpolate).
pub fn format_template(template: &'static str, args: Vec<Expr>) -> Output<String> {
    Output::from_expr(Expr::Apply(Arc::new(Apply {
        args,
        label: "format",
        function: Arc::new(move |values| {
            let mut pieces = template.split("{}");
            let mut text = pieces.next().unwrap_or_default().to_owned();
            for (i, piece) in pieces.enumerate() {
                let value = values
                    .get(i)
                    .ok_or_else(|| format!("`{template}` has more `{{}}` than arguments"))?;
                match value {
                    Value::String(s) => text.push_str(s),
                    Value::Null => {}
                    other => text.push_str(
                        &other
                            .to_revealed_json()
                            .map_err(|e| e.to_string())?
                            .to_string(),
                    ),
                }
                text.push_str(piece);
            }
            Ok(Value::String(text))
        }),
    })))
}

/// Builds an `Output<String>` from a template with `{}` placeholders and outputs or literals;
/// the result depends on every output used.
///
/// ```
/// use girder_core::{Output, interpolate};
/// let host = Output::known("backend.default.svc.cluster.local".to_owned());
/// let url = interpolate!("http://{}:{}", host, 80u16);
/// assert_eq!(url.known_value().unwrap(), "http://backend.default.svc.cluster.local:80");
/// ```
#[macro_export]
macro_rules! interpolate {
    ($template:literal $(, $arg:expr)* $(,)?) => {
        $crate::output::format_template(
            $template,
            vec![$($crate::output::Interpolate::to_expr(&$arg)),*],
        )
    };
}

/// Declares a typed id: a string newtype that is its own type, so that ids of different kinds
/// of resources cannot be mixed up.
///
/// ```
/// girder_core::typed_id!(
///     /// The id of a widget, such as `w-123`.
///     WidgetId
/// );
/// let id = WidgetId::new("w-123");
/// assert_eq!(id.as_str(), "w-123");
/// ```
#[macro_export]
macro_rules! typed_id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $crate::__serde::Serialize for $name {
            fn serialize<S: $crate::__serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.0)
            }
        }

        impl<'de> $crate::__serde::Deserialize<'de> for $name {
            fn deserialize<D: $crate::__serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                <String as $crate::__serde::Deserialize<'de>>::deserialize(deserializer).map(Self)
            }
        }

        impl $name {
            /// Wraps a raw id.
            pub fn new(id: impl Into<String>) -> Self {
                Self(id.into())
            }

            /// The raw id.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl $crate::output::TypedId for $name {}

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::object;

    #[test]
    fn map_and_zip_keep_dependencies() {
        let a: Output<String> = Output::from_ref(NodeId::for_tests(1), "id".parse().unwrap());
        let b: Output<u16> = Output::from_ref(NodeId::for_tests(2), "port".parse().unwrap());
        let url = interpolate!("{}:{}", a, b);
        assert_eq!(
            url.dependencies(),
            vec![NodeId::for_tests(1), NodeId::for_tests(2)]
        );
        let zipped = a.zip(&b).map(|(a, b)| format!("{a}/{b}"));
        assert_eq!(zipped.dependencies().len(), 2);
        let first = object! { "id" => "i-1" };
        let second = object! { "port" => 80 };
        let resolved = zipped
            .expr()
            .resolve(&|node| {
                Some(if node == NodeId::for_tests(1) {
                    &first
                } else {
                    &second
                })
            })
            .unwrap();
        assert_eq!(resolved, Value::from("i-1/80"));
    }

    #[test]
    fn secret_output_stays_secret_through_map() {
        let pw = Output::known_secret("hunter2".to_owned()).map(|p| p.len() as u64);
        let value = pw.expr().resolve(&|_| None).unwrap();
        assert_eq!(value, Value::from(7u64).into_secret());
    }

    crate::typed_id!(
        /// An id for the test.
        RoleArn
    );

    #[test]
    fn typed_ids_pass_where_strings_are_expected() {
        fn annotation(value: impl IntoInput<String>) -> Input<String> {
            value.into_input()
        }
        let role = RoleArn::new("arn:aws:iam::1:role/x");
        assert_eq!(role.as_str(), "arn:aws:iam::1:role/x");
        let arn: Output<RoleArn> = Output::known(role);
        assert_eq!(
            annotation(&arn).known_value().as_deref(),
            Some("arn:aws:iam::1:role/x")
        );
    }

    #[test]
    fn inputs_accept_literals_and_outputs() {
        fn takes(input: impl IntoInput<String>) -> Input<String> {
            input.into_input()
        }
        assert_eq!(takes("x").known_value().as_deref(), Some("x"));
        let out: Output<String> = Output::known("y".into());
        assert_eq!(takes(&out).known_value().as_deref(), Some("y"));
    }
}
