//! The typed DSL of simulated resources, as users write it in programs and tests.

use girder_core::{
    Dependable, HasOptions, IntoExpr, IntoInput, NodeId, Output, ResourceDecl, ResourceHandle,
    ResourceOptions, Stack, typed_id,
};

use super::SIM_RESOURCE;

typed_id!(
    /// The id of a simulated resource, such as `sim-3f2a…`.
    SimId
);

/// A simulated resource under construction.
///
/// ```
/// use girder_core::{Stack, WithOptions};
/// use girder_testing::sim::SimResource;
/// let mut s = Stack::new("dev");
/// let db = SimResource::new("db").zone("a").add(&mut s);
/// let app = SimResource::new("app").parent(db.id()).latency_ms(10).protect().add(&mut s);
/// let graph = s.finish().unwrap();
/// assert_eq!(graph.node(app.node()).dependencies, vec![db.node().index()]);
/// ```
#[derive(Clone, Debug)]
#[must_use = "a builder declares nothing until it is added to the stack with `.add(…)`"]
pub struct SimResource {
    decl: ResourceDecl,
}

impl SimResource {
    /// A `sim:resource` called `name`.
    pub fn new(name: impl Into<String>) -> SimResource {
        SimResource::of_type(SIM_RESOURCE, name)
    }

    /// A resource of another simulated type (registered with `SimPackage::with_type`).
    pub fn of_type(type_name: impl Into<String>, name: impl Into<String>) -> SimResource {
        SimResource {
            decl: ResourceDecl::new(type_name, name),
        }
    }

    /// Sets any input field.
    pub fn input(mut self, key: impl Into<String>, value: impl IntoExpr) -> SimResource {
        self.decl.set_input(key, value);
        self
    }

    /// The resource this one belongs to (a typed reference: only a [`SimId`] fits).
    pub fn parent(self, parent: impl IntoInput<SimId>) -> SimResource {
        self.input("parent", parent.into_input())
    }

    /// The zone; changing it replaces the resource.
    pub fn zone(self, zone: impl IntoInput<String>) -> SimResource {
        self.input("zone", zone.into_input())
    }

    /// How long each call on this resource takes.
    pub fn latency_ms(self, ms: u64) -> SimResource {
        self.input("latency_ms", ms)
    }

    /// Adds it to the stack.
    pub fn add(self, stack: &mut Stack) -> SimHandle {
        SimHandle {
            handle: self.decl.add(stack),
        }
    }
}

impl HasOptions for SimResource {
    fn options_mut(&mut self) -> &mut ResourceOptions {
        self.decl.options_mut()
    }
}

/// A simulated resource in the stack.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SimHandle {
    handle: ResourceHandle,
}

impl SimHandle {
    /// Its id, known after apply.
    pub fn id(&self) -> Output<SimId> {
        self.handle.output("id")
    }

    /// Its ARN, known after apply.
    pub fn arn(&self) -> Output<String> {
        self.handle.output("arn")
    }

    /// Any output field.
    pub fn output<T>(&self, path: &str) -> Output<T> {
        self.handle.output(path)
    }

    /// The node id.
    pub fn node(&self) -> NodeId {
        self.handle.node()
    }
}

impl Dependable for SimHandle {
    fn node_ids(&self) -> Vec<NodeId> {
        vec![self.handle.node()]
    }
}
