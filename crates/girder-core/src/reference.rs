//! Stack references: one stack reading another stack's outputs, typed.
//!
//! Two programs share a contract of [`OutputKey`]s — a name and a type. The producing stack
//! exports with [`Stack::export_key`], which only accepts a value of the key's type; the
//! consuming stack reads with [`StackRef::get`], which yields an `Output` of that type.
//!
//! ```
//! use girder_core::{Output, OutputKey, Stack, StackReference};
//! // shared by both programs:
//! pub const CLUSTER_ENDPOINT: OutputKey<String> = OutputKey::new("cluster_endpoint");
//!
//! // the infra program:
//! let mut infra = Stack::new("infra");
//! infra.export_key(CLUSTER_ENDPOINT, "https://k8s.example");
//! assert!(infra.finish().is_ok());
//!
//! // the app program:
//! let mut app = Stack::new("app");
//! let infra = StackReference::new("infra").add(&mut app);
//! let endpoint: Output<String> = infra.get(CLUSTER_ENDPOINT);
//! # let _ = endpoint;
//! ```

use std::marker::PhantomData;

use crate::expr::Expr;
use crate::graph::NodeId;
use crate::output::{IntoInput, Output};
use crate::path::FieldPath;
use crate::resource::{Dependable, ResourceDecl};
use crate::stack::Stack;
use crate::value::Value;

/// The type token of stack references (read by the built-in `girder` package).
pub const STACK_REFERENCE_TYPE: &str = "girder:stack/reference";

/// A typed stack output name, shared by the stack that exports it and the stacks that read it.
pub struct OutputKey<T> {
    name: &'static str,
    _type: PhantomData<fn() -> T>,
}

impl<T> OutputKey<T> {
    /// A key called `name`.
    pub const fn new(name: &'static str) -> OutputKey<T> {
        OutputKey {
            name,
            _type: PhantomData,
        }
    }

    /// The output's name.
    pub const fn name(&self) -> &'static str {
        self.name
    }
}

impl<T> Clone for OutputKey<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for OutputKey<T> {}

impl<T> std::fmt::Debug for OutputKey<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "OutputKey({})", self.name)
    }
}

impl Stack {
    /// Exports a stack output under a typed key (see [`OutputKey`]).
    pub fn export_key<T>(&mut self, key: OutputKey<T>, value: impl IntoInput<T>) {
        self.export(key.name(), value.into_input().into_expr());
    }
}

/// A reference to another stack's outputs, under construction.
///
/// The reference is read when planning (so its outputs are known in the plan) and on every
/// apply. By default it reads the other stack from the same state location as this one.
#[derive(Clone, Debug)]
#[must_use = "a builder declares nothing until it is added to the stack with `.add(…)`"]
pub struct StackReference {
    stack: String,
    state: Option<String>,
}

impl StackReference {
    /// A reference to `stack`.
    pub fn new(stack: impl Into<String>) -> StackReference {
        StackReference {
            stack: stack.into(),
            state: None,
        }
    }

    /// Reads the stack from another state location (a directory or `s3://…`).
    pub fn state(mut self, location: impl Into<String>) -> StackReference {
        self.state = Some(location.into());
        self
    }

    /// Adds the reference to the stack as a read node named `stack-ref/<stack>`.
    pub fn add(self, s: &mut Stack) -> StackRef {
        let mut decl = ResourceDecl::read(
            STACK_REFERENCE_TYPE,
            format!("stack-ref/{}", self.stack),
            Expr::Value(Value::String(self.stack.clone())),
        );
        if let Some(state) = self.state {
            decl.set_input("state", state);
        }
        StackRef {
            node: decl.add(s).node(),
        }
    }
}

/// A stack reference in the stack: reads the other stack's outputs as typed [`Output`]s.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StackRef {
    node: NodeId,
}

impl StackRef {
    /// The output named by `key`, typed by it.
    pub fn get<T>(&self, key: OutputKey<T>) -> Output<T> {
        Output::from_ref(
            self.node,
            FieldPath::from_segments(vec![
                crate::path::Segment::Key("outputs".into()),
                crate::path::Segment::Key(key.name().into()),
            ]),
        )
    }

    /// An output by name, typed by the caller (prefer [`StackRef::get`] with a shared key).
    pub fn output<T>(&self, name: &str) -> Output<T> {
        Output::from_ref(self.node, FieldPath::key("outputs").child(name))
    }

    /// The node.
    pub fn node(&self) -> NodeId {
        self.node
    }
}

impl Dependable for StackRef {
    fn node_ids(&self) -> Vec<NodeId> {
        vec![self.node]
    }
}
