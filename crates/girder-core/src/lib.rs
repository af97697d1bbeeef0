//! girder's IO-free core: the model a girder program builds.
//!
//! - [`Value`]: JSON plus *unknown* ("known after apply") and *secret* markers.
//! - [`Output<T>`] / [`Input<T>`]: typed data flow between resources; every reference is a
//!   dependency edge. Combinators ([`Output::map`], [`Output::zip`], [`output::all`],
//!   [`interpolate!`]) keep the edges.
//! - [`typed_id!`]: id newtypes, so a `SubnetId` cannot be passed where a `VpcId` is expected.
//! - [`Stack`], [`ResourceDecl`], [`ResourceOptions`]: declaring resources.
//! - [`Graph`]: the frozen, validated program; [`Diagnostics`] report every problem at once.
//!
//! Nothing here performs IO or spawns tasks: building a program is pure, and planning and
//! applying happen afterwards in `girder-engine`.

pub mod diagnostics;
pub mod expr;
pub mod graph;
pub mod moved;
pub mod output;
pub mod path;
pub mod reference;
pub mod resource;
pub mod stack;
pub mod value;

pub use diagnostics::{Diagnostic, Diagnostics, Severity};
pub use expr::{Expr, ExprError, OutputRef};
pub use graph::{Graph, Node, NodeId};
pub use moved::Moved;
pub use output::{Data, Input, IntoInput, Output};
pub use path::{FieldPath, PathError, Segment};
pub use reference::{OutputKey, STACK_REFERENCE_TYPE, StackRef, StackReference};
pub use resource::{
    Dependable, HasOptions, IntoExpr, NodeKind, NodeSpec, ProviderHandle, ResourceDecl,
    ResourceHandle, ResourceOptions, Timeouts, WithOptions, package_of,
};
pub use stack::Stack;
pub use value::{Value, ValueError};

#[doc(hidden)]
pub use serde as __serde;
