//! [`Graph`]: the frozen, validated program — nodes, dependency edges, a topological order.

use std::collections::{BTreeMap, HashMap};

use petgraph::algo::{tarjan_scc, toposort};
use petgraph::graph::{DiGraph, NodeIndex};

use crate::diagnostics::{Diagnostic, Diagnostics};
use crate::expr::Expr;
use crate::moved::{Moved, Renames};
use crate::resource::{NodeKind, NodeSpec};

/// The typed id of a node: which stack it belongs to and where.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId {
    stack: u32,
    index: u32,
}

impl NodeId {
    pub(crate) fn new(stack: u32, index: u32) -> NodeId {
        NodeId { stack, index }
    }

    /// The position of the node in its stack (and in the frozen graph).
    pub fn index(&self) -> usize {
        self.index as usize
    }

    /// The token of the stack the node was added to.
    pub fn stack_token(&self) -> u32 {
        self.stack
    }

    /// A node id for unit tests of expressions, outside any stack.
    #[doc(hidden)]
    pub fn for_tests(index: u32) -> NodeId {
        NodeId { stack: 0, index }
    }
}

/// One node of a frozen graph.
#[derive(Clone, Debug)]
pub struct Node {
    /// What the program declared.
    pub spec: NodeSpec,
    /// Indexes of the nodes this one depends on (sorted, without duplicates).
    pub dependencies: Vec<usize>,
    /// Indexes of the nodes that depend on this one (sorted, without duplicates).
    pub dependents: Vec<usize>,
}

/// The validated program: an acyclic graph of nodes and the stack's outputs.
#[derive(Clone, Debug)]
pub struct Graph {
    stack: String,
    token: u32,
    nodes: Vec<Node>,
    order: Vec<usize>,
    by_name: HashMap<String, usize>,
    outputs: BTreeMap<String, Expr>,
    renames: Renames,
    warnings: Diagnostics,
}

/// Characters allowed in resource names besides ASCII letters and digits.
const NAME_PUNCTUATION: &[char] = &['-', '_', '.', '/', ':', '@'];

fn check_name(spec: &NodeSpec, diagnostics: &mut Diagnostics) {
    let name = &spec.name;
    let valid_chars = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || NAME_PUNCTUATION.contains(&c));
    if name.is_empty() || name.len() > 200 || !valid_chars {
        diagnostics.push(
            Diagnostic::error(format!(
                "`{name}` is not a valid resource name for a `{}`",
                spec.type_name
            ))
            .resource(name.clone())
            .field("name")
            .value(name)
            .fix("use 1 to 200 ASCII letters, digits and `-_./:@`, such as `web-frontend`"),
        );
    }
    if !spec.type_name.contains(':') {
        diagnostics.push(
            Diagnostic::error(format!("`{}` is not a type token", spec.type_name))
                .resource(name.clone())
                .field("type")
                .value(&spec.type_name)
                .fix("type tokens have the form `package:module/kind`, such as `aws:ec2/vpc`"),
        );
    }
}

impl Graph {
    pub(crate) fn build(
        stack: String,
        token: u32,
        specs: Vec<NodeSpec>,
        extra_edges: Vec<(crate::graph::NodeId, crate::graph::NodeId)>,
        outputs: BTreeMap<String, Expr>,
        renames: Renames,
        mut diagnostics: Diagnostics,
    ) -> Result<Graph, Diagnostics> {
        let count = specs.len();
        let mut by_name: HashMap<String, usize> = HashMap::with_capacity(count);
        let mut dependencies: Vec<Vec<usize>> = vec![Vec::new(); count];

        let resolve = |id: NodeId| (id.stack == token && id.index() < count).then(|| id.index());
        let dangling = |owner: &str, field: &str| {
            Diagnostic::error("refers to a resource that is not part of this stack")
                .resource(owner.to_owned())
                .field(field.to_owned())
                .fix("pass outputs of resources added to the same `Stack`; to read another stack's outputs use a stack reference")
        };

        for (index, spec) in specs.iter().enumerate() {
            check_name(spec, &mut diagnostics);
            if let Some(&first) = by_name.get(&spec.name) {
                diagnostics.push(
                    Diagnostic::error(format!(
                        "two resources are called `{}` (a `{}` and a `{}`)",
                        spec.name, specs[first].type_name, spec.type_name
                    ))
                    .resource(spec.name.clone())
                    .field("name")
                    .value(&spec.name)
                    .fix("give every resource in a stack a distinct name, for example by prefixing a module's resources with the module's name"),
                );
            } else {
                by_name.insert(spec.name.clone(), index);
            }

            let deps = &mut dependencies[index];
            let mut fields: Vec<(String, &Expr)> = match &spec.inputs {
                Expr::Object(map) => map.iter().map(|(k, e)| (k.clone(), e)).collect(),
                other => vec![("inputs".to_owned(), other)],
            };
            fields.sort_by(|a, b| a.0.cmp(&b.0));
            for (field, expr) in fields {
                for node in expr.dependencies() {
                    match resolve(node) {
                        Some(target) => deps.push(target),
                        None => diagnostics.push(dangling(&spec.name, &field)),
                    }
                }
            }
            for node in &spec.options.depends_on {
                match resolve(*node) {
                    Some(target) => deps.push(target),
                    None => diagnostics.push(dangling(&spec.name, "depends_on")),
                }
            }
            if let Some(provider) = spec.provider {
                match resolve(provider) {
                    Some(target) if specs[target].kind == NodeKind::Provider => deps.push(target),
                    Some(target) => diagnostics.push(
                        Diagnostic::error(format!(
                            "`{}` is a `{}`, not a provider",
                            specs[target].name, specs[target].type_name
                        ))
                        .resource(spec.name.clone())
                        .field("provider")
                        .fix("pass a provider node, such as the one `eks.kubernetes(s)` returns"),
                    ),
                    None => diagnostics.push(dangling(&spec.name, "provider")),
                }
            }
            for (option, paths) in [
                ("ignore_changes", &spec.options.ignore_changes),
                ("replace_on_changes", &spec.options.replace_on_changes),
            ] {
                for path in paths {
                    if let Err(error) = path.parse::<crate::FieldPath>() {
                        diagnostics.push(
                            Diagnostic::error(error.to_string())
                                .resource(spec.name.clone())
                                .field(option)
                                .value(path)
                                .fix("name an input field by its path, such as `tags.Name` or `spec.ports[0].port`"),
                        );
                    }
                }
            }
        }
        for (from, to) in extra_edges {
            match (resolve(from), resolve(to)) {
                (Some(from), Some(to)) => dependencies[from].push(to),
                (Some(from), None) => diagnostics.push(dangling(&specs[from].name, "depends_on")),
                _ => diagnostics.push(
                    Diagnostic::error("a dependency was added to a resource of another stack")
                        .field("depends_on")
                        .fix("add dependencies between resources of the same stack"),
                ),
            }
        }
        for (name, expr) in &outputs {
            for node in expr.dependencies() {
                if resolve(node).is_none() {
                    diagnostics.push(
                        Diagnostic::error(format!("the stack output `{name}` refers to a resource that is not part of this stack"))
                            .field(format!("outputs.{name}"))
                            .fix("export outputs of resources added to this stack"),
                    );
                }
            }
        }
        for deps in &mut dependencies {
            deps.sort_unstable();
            deps.dedup();
        }
        crate::moved::check(&renames.exact, &by_name, &mut diagnostics);
        crate::moved::check_prefixes(&renames.prefixes, &by_name, &mut diagnostics);

        let order = match topological_order(&dependencies) {
            Ok(order) => order,
            Err(cycles) => {
                for cycle in cycles {
                    let names: Vec<&str> = cycle.iter().map(|&i| specs[i].name.as_str()).collect();
                    diagnostics.push(
                        Diagnostic::error(format!(
                            "dependency cycle: {} -> {}",
                            names.join(" -> "),
                            names[0]
                        ))
                        .resource(names[0].to_owned())
                        .field("depends_on")
                        .fix("remove one of these dependencies; a resource cannot (indirectly) depend on itself"),
                    );
                }
                Vec::new()
            }
        };

        if diagnostics.has_errors() {
            return Err(diagnostics);
        }

        let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); count];
        for (index, deps) in dependencies.iter().enumerate() {
            for &dep in deps {
                dependents[dep].push(index);
            }
        }
        let nodes = specs
            .into_iter()
            .zip(dependencies)
            .zip(dependents)
            .map(|((spec, dependencies), dependents)| Node {
                spec,
                dependencies,
                dependents,
            })
            .collect();
        Ok(Graph {
            stack,
            token,
            nodes,
            order,
            by_name,
            outputs,
            renames,
            warnings: diagnostics,
        })
    }

    /// The stack's name.
    pub fn stack(&self) -> &str {
        &self.stack
    }

    /// The number of nodes.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// True if the program declares nothing.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// The node with this id.
    ///
    /// # Panics
    /// If the id belongs to another stack; ids of this graph's stack are always valid.
    pub fn node(&self, id: NodeId) -> &Node {
        assert_eq!(id.stack, self.token, "node id from another stack");
        &self.nodes[id.index()]
    }

    /// The node at `index`.
    pub fn node_at(&self, index: usize) -> &Node {
        &self.nodes[index]
    }

    /// All nodes, by index.
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// The node id for an index of this graph.
    pub fn id_at(&self, index: usize) -> NodeId {
        NodeId::new(self.token, index as u32)
    }

    /// The index of the node called `name`.
    pub fn find(&self, name: &str) -> Option<usize> {
        self.by_name.get(name).copied()
    }

    /// Node indexes such that every node comes after its dependencies.
    pub fn topological_order(&self) -> &[usize] {
        &self.order
    }

    /// The stack's exported outputs.
    pub fn outputs(&self) -> &BTreeMap<String, Expr> {
        &self.outputs
    }

    /// The declared renames ([`Stack::moved`](crate::Stack::moved)).
    pub fn moved(&self) -> &[Moved] {
        &self.renames.exact
    }

    /// The declared renames of name prefixes
    /// ([`Stack::moved_prefix`](crate::Stack::moved_prefix)).
    pub fn moved_prefixes(&self) -> &[Moved] {
        &self.renames.prefixes
    }

    /// Warnings reported while building (errors make [`Stack::finish`](crate::Stack::finish)
    /// fail instead).
    pub fn warnings(&self) -> &Diagnostics {
        &self.warnings
    }

    /// The token of the stack this graph was built from.
    pub fn stack_token(&self) -> u32 {
        self.token
    }

    /// Every edge as `(dependent, dependency)` node indexes.
    pub fn edges(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        self.nodes
            .iter()
            .enumerate()
            .flat_map(|(i, n)| n.dependencies.iter().map(move |&d| (i, d)))
    }
}

/// A topological order (dependencies first), or every cycle found.
///
/// Programs mostly add a resource after what it depends on, so declaration order usually is a
/// topological order already; it is kept then, because plans read best in program order.
fn topological_order(dependencies: &[Vec<usize>]) -> Result<Vec<usize>, Vec<Vec<usize>>> {
    if dependencies
        .iter()
        .enumerate()
        .all(|(node, deps)| deps.iter().all(|&d| d < node))
    {
        return Ok((0..dependencies.len()).collect());
    }
    let mut graph: DiGraph<(), ()> = DiGraph::with_capacity(dependencies.len(), dependencies.len());
    for _ in dependencies {
        graph.add_node(());
    }
    for (node, deps) in dependencies.iter().enumerate() {
        for &dep in deps {
            graph.add_edge(NodeIndex::new(dep), NodeIndex::new(node), ());
        }
    }
    match toposort(&graph, None) {
        Ok(order) => Ok(order.into_iter().map(NodeIndex::index).collect()),
        Err(_) => {
            let cycles = tarjan_scc(&graph)
                .into_iter()
                .filter(|component| {
                    component.len() > 1
                        || dependencies[component[0].index()].contains(&component[0].index())
                })
                .map(|component| {
                    let mut members: Vec<usize> =
                        component.into_iter().map(NodeIndex::index).collect();
                    members.sort_unstable();
                    members
                })
                .collect();
            Err(cycles)
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::{Diagnostic, Output, ResourceDecl, Stack, WithOptions};

    #[test]
    fn reports_every_problem_at_once() {
        let mut s = Stack::new("dev");
        let a = ResourceDecl::new("sim:resource", "a").add(&mut s);
        ResourceDecl::new("sim:resource", "a").add(&mut s);
        ResourceDecl::new("sim:resource", "bad name").add(&mut s);
        let mut other = Stack::new("other");
        let foreign = ResourceDecl::new("sim:resource", "x").add(&mut other);
        let foreign_id: Output<String> = foreign.output("id");
        ResourceDecl::new("sim:resource", "c")
            .input("parent", &foreign_id)
            .ignore_changes(["tags..x"])
            .add(&mut s);
        let b = ResourceDecl::new("sim:resource", "b")
            .depends_on(a)
            .add(&mut s);
        s.add_dependency(a.node(), b);
        s.report(Diagnostic::error("from a builder").resource("a"));
        let diagnostics = s.finish().unwrap_err();
        let text = diagnostics.to_string();
        assert!(text.contains("two resources are called `a`"), "{text}");
        assert!(
            text.contains("`bad name` is not a valid resource name"),
            "{text}"
        );
        assert!(text.contains("not part of this stack"), "{text}");
        assert!(text.contains("invalid field path `tags..x`"), "{text}");
        assert!(
            text.contains("fix: name an input field by its path"),
            "{text}"
        );
        assert!(text.contains("dependency cycle: a -> b -> a"), "{text}");
        assert!(text.contains("from a builder"), "{text}");
        assert_eq!(diagnostics.errors().count(), 6);
    }

    #[test]
    fn orders_dependencies_first() {
        let mut s = Stack::new("dev");
        let a = ResourceDecl::new("sim:resource", "a").add(&mut s);
        let a_id: Output<String> = a.output("id");
        let b = ResourceDecl::new("sim:resource", "b")
            .input("a", &a_id)
            .add(&mut s);
        let c = ResourceDecl::new("sim:resource", "c")
            .depends_on(b)
            .add(&mut s);
        let graph = s.finish().unwrap();
        let order = graph.topological_order();
        let pos = |i: usize| order.iter().position(|&x| x == i).unwrap();
        assert!(pos(a.node().index()) < pos(b.node().index()));
        assert!(pos(b.node().index()) < pos(c.node().index()));
        assert_eq!(graph.node(b.node()).dependents, vec![c.node().index()]);
    }
}
