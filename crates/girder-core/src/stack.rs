//! [`Stack`]: what a user program adds resources to. Building is pure: the program runs once,
//! with no IO, and [`Stack::finish`] freezes the result into a validated [`Graph`].

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::diagnostics::{Diagnostic, Diagnostics};
use crate::expr::Expr;
use crate::graph::{Graph, NodeId};
use crate::moved::{Moved, Renames};
use crate::resource::{Dependable, NodeSpec};

/// Distinguishes stacks, so a handle from one stack used in another is caught as dangling.
static NEXT_STACK_TOKEN: AtomicU32 = AtomicU32::new(1);

/// A stack under construction: resources, their data flow, and the stack's outputs.
///
/// ```
/// use girder_core::{ResourceDecl, Stack, Output};
/// let mut s = Stack::new("dev");
/// let bucket = ResourceDecl::new("sim:resource", "bucket").add(&mut s);
/// let bucket_id: Output<String> = bucket.output("id");
/// s.export("bucket", &bucket_id);
/// let graph = s.finish().expect("no diagnostics");
/// assert_eq!(graph.len(), 1);
/// ```
#[derive(Debug)]
pub struct Stack {
    name: String,
    token: u32,
    nodes: Vec<NodeSpec>,
    extra_edges: Vec<(NodeId, NodeId)>,
    outputs: BTreeMap<String, Expr>,
    renames: Renames,
    diagnostics: Diagnostics,
}

impl Stack {
    /// An empty stack called `name` (an environment such as `dev` or `prod`).
    pub fn new(name: impl Into<String>) -> Stack {
        Stack {
            name: name.into(),
            token: NEXT_STACK_TOKEN.fetch_add(1, Ordering::Relaxed),
            nodes: Vec::new(),
            extra_edges: Vec::new(),
            outputs: BTreeMap::new(),
            renames: Renames::default(),
            diagnostics: Diagnostics::new(),
        }
    }

    /// The stack's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Adds a node and returns its id; problems are reported by [`Stack::finish`].
    pub fn add_node(&mut self, spec: NodeSpec) -> NodeId {
        let id = NodeId::new(self.token, self.nodes.len() as u32);
        self.nodes.push(spec);
        id
    }

    /// The spec of a node added to this stack.
    pub fn node(&self, id: NodeId) -> Option<&NodeSpec> {
        if id.stack_token() != self.token {
            return None;
        }
        self.nodes.get(id.index())
    }

    /// Records that `node` depends on `on` although no data flows between them (for modules
    /// that learn about a dependency after declaring a resource).
    pub fn add_dependency(&mut self, node: NodeId, on: impl Dependable) {
        for target in on.node_ids() {
            self.extra_edges.push((node, target));
        }
    }

    /// Exports a stack output: shown after apply, readable by `output NAME` and by other
    /// stacks.
    pub fn export(&mut self, name: impl Into<String>, value: impl Into<Expr>) {
        let name = name.into();
        if self.outputs.contains_key(&name) {
            self.report(
                Diagnostic::error(format!("the stack output `{name}` is exported twice"))
                    .field("outputs")
                    .value(&name)
                    .fix("give each stack output a distinct name"),
            );
        }
        self.outputs.insert(name, value.into());
    }

    /// Declares that the resource recorded as `from` is called `to` now, so that renaming a
    /// resource (or the module that names it) moves its record instead of deleting the cloud
    /// resource and creating it again. Keep the declaration until every stack has applied it;
    /// afterwards it is harmless. `to` must be declared by the program (or moved on by
    /// another declaration), `from` must not be.
    ///
    /// ```
    /// use girder_core::{ResourceDecl, Stack};
    /// let mut s = Stack::new("dev");
    /// ResourceDecl::new("sim:resource", "orders-db").add(&mut s);
    /// s.moved("db", "orders-db"); // was `ResourceDecl::new("sim:resource", "db")`
    /// assert_eq!(s.finish().unwrap().moved().len(), 1);
    /// ```
    pub fn moved(&mut self, from: impl Into<String>, to: impl Into<String>) {
        self.renames.exact.push(Moved {
            from: from.into(),
            to: to.into(),
        });
    }

    /// Declares that every recorded resource whose name starts with `from` is called `to`
    /// followed by the rest of its name now — for a renamed module, whose resources all carry
    /// its name (Terraform's `moved` block for a module). A recorded resource moves only if
    /// the program declares its new name and not its old one.
    ///
    /// ```
    /// use girder_core::{ResourceDecl, Stack};
    /// let mut s = Stack::new("dev");
    /// ResourceDecl::new("sim:resource", "core-vpc").add(&mut s);
    /// ResourceDecl::new("sim:resource", "core-subnet-a").add(&mut s);
    /// s.moved_prefix("main-", "core-"); // the module was `Vpc::new("main")`
    /// assert_eq!(s.finish().unwrap().moved_prefixes().len(), 1);
    /// ```
    pub fn moved_prefix(&mut self, from: impl Into<String>, to: impl Into<String>) {
        self.renames.prefixes.push(Moved {
            from: from.into(),
            to: to.into(),
        });
    }

    /// Reports a diagnostic (DSL builders use this for invalid literal values).
    pub fn report(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
    }

    /// The diagnostics reported so far.
    pub fn diagnostics(&self) -> &Diagnostics {
        &self.diagnostics
    }

    /// How many nodes have been added.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// True if no node has been added.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// The token that identifies this stack inside node ids.
    pub fn token(&self) -> u32 {
        self.token
    }

    /// Validates the program and freezes it into a graph.
    ///
    /// Every problem is reported at once: duplicate names, invalid names, references to
    /// resources of another stack, cycles, invalid option paths, moves that lead nowhere, and
    /// whatever the builders reported. Warnings alone do not fail; they are kept on the graph.
    pub fn finish(mut self) -> Result<Graph, Diagnostics> {
        self.diagnostics.dedup();
        Graph::build(
            self.name,
            self.token,
            self.nodes,
            self.extra_edges,
            self.outputs,
            self.renames,
            self.diagnostics,
        )
    }
}
