//! The layered DAG the benchmarks, the `sim_dag` example and the end-to-end tests share:
//! `n` resources in `layers` layers of width `w = n / layers`, where node `(k, i)` depends on
//! nodes `(k-1, i)` and `(k-1, (i+1) mod w)`.

use girder_core::Stack;

use super::{SimHandle, SimResource};

/// The shape of a layered DAG.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layered {
    /// Resources in all (rounded down to a multiple of `layers`).
    pub resources: usize,
    /// Layers (the critical path has this many resources).
    pub layers: usize,
}

impl Layered {
    /// The width of each layer.
    pub fn width(&self) -> usize {
        (self.resources / self.layers.max(1)).max(1)
    }

    /// The name of node `(layer, index)`.
    pub fn name(layer: usize, index: usize) -> String {
        format!("n{layer}-{index}")
    }

    /// Adds the DAG to `s`; returns the handles layer by layer.
    ///
    /// ```
    /// use girder_core::Stack;
    /// use girder_testing::sim::layered::Layered;
    /// let mut s = Stack::new("bench");
    /// let layers = Layered { resources: 100, layers: 10 }.add(&mut s);
    /// assert_eq!(layers.len(), 10);
    /// let graph = s.finish().unwrap();
    /// assert_eq!(graph.len(), 100);
    /// assert_eq!(graph.edges().count(), 90 * 2);
    /// ```
    pub fn add(&self, s: &mut Stack) -> Vec<Vec<SimHandle>> {
        let width = self.width();
        let mut layers: Vec<Vec<SimHandle>> = Vec::with_capacity(self.layers);
        for layer in 0..self.layers {
            let mut current = Vec::with_capacity(width);
            for index in 0..width {
                let mut resource =
                    SimResource::new(Layered::name(layer, index)).input("layer", layer as u64);
                if let Some(previous) = layers.last() {
                    let a: &SimHandle = &previous[index];
                    let b: &SimHandle = &previous[(index + 1) % width];
                    resource = resource.input("a", a.id()).input("b", b.id());
                }
                current.push(resource.add(s));
            }
            layers.push(current);
        }
        layers
    }
}
