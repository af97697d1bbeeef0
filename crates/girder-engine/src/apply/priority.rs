//! Critical-path-first priorities for the walk's ready queue, and a discrete-event simulation
//! of the walk that predicts the makespan of a queue order.
//!
//! With a parallelism bound, the order in which ready actions start decides the makespan: an
//! EKS control plane (~10 minutes) that waits behind a hundred two-second tags finishes minutes
//! late, and everything behind it with it. Starting first the action with the longest remaining
//! path to the end of the graph (the "highest level first" list schedule) keeps the critical
//! path moving. Weights are expected durations in milliseconds; the computation is pure so it
//! can be tested without a runtime.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// The longest remaining path from each action to the end of the graph: its own weight plus
/// the heaviest path through its dependents. O(V + E): one topological order (Kahn), walked
/// backwards.
///
/// `dependents(a)` lists the actions that wait for `a`. Actions on a cycle (which the action
/// graph never has) get their own weight, so a bug elsewhere degrades the order, not the apply.
pub(crate) fn longest_remaining<'a>(
    weights: &[u64],
    dependents: impl Fn(usize) -> &'a [usize],
) -> Vec<u64> {
    let n = weights.len();
    let mut waiting_for = vec![0usize; n];
    for action in 0..n {
        for &dependent in dependents(action) {
            waiting_for[dependent] += 1;
        }
    }
    let mut order: Vec<usize> = (0..n).filter(|&a| waiting_for[a] == 0).collect();
    let mut next = 0;
    while next < order.len() {
        let action = order[next];
        next += 1;
        for &dependent in dependents(action) {
            waiting_for[dependent] -= 1;
            if waiting_for[dependent] == 0 {
                order.push(dependent);
            }
        }
    }
    let mut remaining = weights.to_vec();
    for &action in order.iter().rev() {
        let tail = dependents(action)
            .iter()
            .map(|&d| remaining[d])
            .max()
            .unwrap_or(0);
        remaining[action] = weights[action].saturating_add(tail);
    }
    remaining
}

/// A ready queue: the action with the highest key starts first; equal keys go by the smaller
/// tie-breaker, so the order is deterministic. The walk and [`simulate`] share it, so the
/// simulation orders exactly as the walk does.
#[derive(Debug, Default)]
pub(crate) struct ReadyQueue {
    heap: BinaryHeap<(u64, Reverse<u64>, usize)>,
    /// Arrival counter, the tie-breaker of a FIFO queue.
    arrivals: u64,
    /// True if every key is equal and arrival order decides (FIFO).
    fifo: bool,
}

impl ReadyQueue {
    /// A queue ordered by key (ties by action index), or by arrival alone if `fifo`.
    pub(crate) fn new(fifo: bool) -> ReadyQueue {
        ReadyQueue {
            fifo,
            ..ReadyQueue::default()
        }
    }

    /// Adds a ready action with its key.
    pub(crate) fn push(&mut self, action: usize, key: u64) {
        let (key, tie) = if self.fifo {
            self.arrivals += 1;
            (0, self.arrivals)
        } else {
            (key, action as u64)
        };
        self.heap.push((key, Reverse(tie), action));
    }

    /// The next action to start.
    pub(crate) fn pop(&mut self) -> Option<usize> {
        self.heap.pop().map(|(_, _, action)| action)
    }
}

/// One action as [`simulate`] sees it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SimAction<'a> {
    /// Expected duration in milliseconds.
    pub weight: u64,
    /// Runs inline in the scheduler (no provider call): finishes when started, takes no slot.
    pub inline: bool,
    /// Actions that wait for this one.
    pub dependents: &'a [usize],
    /// Dependencies it waits for.
    pub dependencies: usize,
}

/// The makespan (ms) of walking `actions` with `parallelism` slots, starting ready actions in
/// the order of `queue` with `keys`, if every action takes exactly its weight. Mirrors the
/// walk: inline actions finish when started; all actions finishing at the same instant are
/// recorded before the next ones start. O((V + E) log V).
pub(crate) fn simulate(
    actions: &[SimAction<'_>],
    keys: &[u64],
    fifo: bool,
    parallelism: usize,
) -> u64 {
    let parallelism = parallelism.max(1);
    let mut waiting: Vec<usize> = actions.iter().map(|a| a.dependencies).collect();
    let mut ready = ReadyQueue::new(fifo);
    for (action, spec) in actions.iter().enumerate() {
        if spec.dependencies == 0 {
            ready.push(action, keys[action]);
        }
    }
    // (finish time, action), earliest first.
    let mut running: BinaryHeap<Reverse<(u64, usize)>> = BinaryHeap::new();
    let mut now = 0u64;
    let release = |action: usize, waiting: &mut Vec<usize>, ready: &mut ReadyQueue| {
        for &dependent in actions[action].dependents {
            waiting[dependent] -= 1;
            if waiting[dependent] == 0 {
                ready.push(dependent, keys[dependent]);
            }
        }
    };
    loop {
        while running.len() < parallelism {
            let Some(action) = ready.pop() else { break };
            if actions[action].inline {
                release(action, &mut waiting, &mut ready);
            } else {
                running.push(Reverse((now + actions[action].weight, action)));
            }
        }
        let Some(Reverse((at, action))) = running.pop() else {
            break;
        };
        now = at;
        release(action, &mut waiting, &mut ready);
        while let Some(&Reverse((at, action))) = running.peek() {
            if at != now {
                break;
            }
            running.pop();
            release(action, &mut waiting, &mut ready);
        }
    }
    now
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Dependents lists from (dependency, dependent) edges.
    fn dependents(n: usize, edges: &[(usize, usize)]) -> Vec<Vec<usize>> {
        let mut out = vec![Vec::new(); n];
        for &(from, to) in edges {
            out[from].push(to);
        }
        out
    }

    fn sim_actions<'a>(
        weights: &[u64],
        deps: &'a [Vec<usize>],
        edges: &[(usize, usize)],
    ) -> Vec<SimAction<'a>> {
        (0..weights.len())
            .map(|a| SimAction {
                weight: weights[a],
                inline: false,
                dependents: &deps[a],
                dependencies: edges.iter().filter(|e| e.1 == a).count(),
            })
            .collect()
    }

    #[test]
    fn a_chain_sums_its_weights_from_the_end() {
        let deps = dependents(3, &[(0, 1), (1, 2)]);
        let p = longest_remaining(&[5, 7, 11], |a| &deps[a]);
        assert_eq!(p, vec![23, 18, 11]);
    }

    #[test]
    fn a_fork_takes_the_heavier_branch() {
        // 0 -> {1, 2}, 1 -> 3; weights make 0-2 heavier than 0-1-3.
        let deps = dependents(4, &[(0, 1), (0, 2), (1, 3)]);
        let p = longest_remaining(&[1, 2, 10, 3], |a| &deps[a]);
        assert_eq!(p, vec![11, 5, 10, 3]);
    }

    #[test]
    fn independent_actions_weigh_themselves_and_zero_weights_pass_through() {
        // An inline action (weight 0) in the middle of a chain carries its tail forward.
        let deps = dependents(4, &[(0, 1), (1, 2)]);
        let p = longest_remaining(&[4, 0, 6, 9], |a| &deps[a]);
        assert_eq!(p, vec![10, 6, 6, 9]);
    }

    #[test]
    fn a_cycle_degrades_to_own_weights_instead_of_panicking() {
        let deps = dependents(2, &[(0, 1), (1, 0)]);
        assert_eq!(longest_remaining(&[3, 4], |a| &deps[a]), vec![3, 4]);
    }

    #[test]
    fn the_queue_pops_the_highest_key_then_the_lowest_index() {
        let mut q = ReadyQueue::new(false);
        for (action, key) in [(3, 5), (1, 9), (2, 5), (0, 1)] {
            q.push(action, key);
        }
        let order: Vec<usize> = std::iter::from_fn(|| q.pop()).collect();
        assert_eq!(order, vec![1, 2, 3, 0]);
        let mut fifo = ReadyQueue::new(true);
        for (action, key) in [(3, 5), (1, 9), (2, 5)] {
            fifo.push(action, key);
        }
        let order: Vec<usize> = std::iter::from_fn(|| fifo.pop()).collect();
        assert_eq!(order, vec![3, 1, 2]);
    }

    #[test]
    fn the_long_chain_goes_first_under_a_bound() {
        // Four 1 ms actions listed before a chain of two 10 ms actions, two slots: FIFO runs
        // the short ones first and the chain late; priority starts the chain at once.
        let edges = [(4, 5)];
        let deps = dependents(6, &edges);
        let weights = [1, 1, 1, 1, 10, 10];
        let actions = sim_actions(&weights, &deps, &edges);
        let keys = longest_remaining(&weights, |a| &deps[a]);
        assert_eq!(simulate(&actions, &keys, false, 2), 20);
        assert_eq!(simulate(&actions, &keys, true, 2), 22);
        assert_eq!(simulate(&actions, &keys, false, 100), 20);
    }

    #[test]
    fn critical_path_first_can_lose_to_fifo() {
        // Found by a property test of this model (Graham's anomaly): on two slots, starting
        // the 9 and the 8 first leaves the 1 -> 2 chain to finish at 11, while FIFO runs
        // 8 and 1, then 9 beside 2, and is done at 10. Why the walk simulates both.
        let edges = [(1, 3)];
        let deps = dependents(4, &edges);
        let weights = [8, 1, 9, 2];
        let actions = sim_actions(&weights, &deps, &edges);
        let keys = longest_remaining(&weights, |a| &deps[a]);
        assert_eq!(simulate(&actions, &keys, false, 2), 11);
        assert_eq!(simulate(&actions, &keys, true, 2), 10);
    }
}
