//! Validating a plan's dependency graph and layering it into groups of steps that can run
//! together.
//!
//! Kahn's algorithm in O(V + E): each step's layer is one more than the deepest layer among its
//! dependencies (as early as possible), and steps within a layer keep the plan's order, so the
//! result is deterministic. Layers larger than the parallelism limit are split into consecutive
//! chunks, which keeps every dependency in an earlier group.

use rustc_hash::{FxHashMap, FxHashSet};

use thiserror::Error;

use crate::domain::Step;

/// Why a plan cannot be layered. Every variant names the offending steps.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PlanError {
    #[error("step at position {index} has an empty step_id")]
    EmptyStepId { index: usize },
    #[error("duplicate step_id: {}", quoted(ids))]
    DuplicateIds { ids: Vec<String> },
    #[error("unknown dependency: {}", missing.iter().map(|(s, d)| format!("step '{s}' depends on unknown step '{d}'")).collect::<Vec<_>>().join("; "))]
    UnknownDependencies { missing: Vec<(String, String)> },
    #[error("dependency cycle: {} (each step depends on the next)", path.join(" -> "))]
    Cycle { path: Vec<String> },
}

impl PlanError {
    /// A short machine-readable code for the error body.
    pub fn code(&self) -> &'static str {
        match self {
            PlanError::EmptyStepId { .. } => "invalid_plan",
            PlanError::DuplicateIds { .. } => "duplicate_step_id",
            PlanError::UnknownDependencies { .. } => "unknown_dependency",
            PlanError::Cycle { .. } => "dependency_cycle",
        }
    }
}

fn quoted(ids: &[String]) -> String {
    ids.iter()
        .map(|i| format!("'{i}'"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// At most this many problems are listed in one message.
const MAX_LISTED: usize = 10;

/// The parallel execution groups of `steps`, at most `max_parallel` steps each.
pub fn layer(steps: &[Step], max_parallel: usize) -> Result<Vec<Vec<String>>, PlanError> {
    let max_parallel = max_parallel.max(1);
    let n = steps.len();
    let mut index: FxHashMap<&str, usize> =
        FxHashMap::with_capacity_and_hasher(n, Default::default());
    let mut duplicates = Vec::new();
    for (i, s) in steps.iter().enumerate() {
        if s.step_id.trim().is_empty() {
            return Err(PlanError::EmptyStepId { index: i });
        }
        if index.insert(s.step_id.as_str(), i).is_some() && !duplicates.contains(&s.step_id) {
            duplicates.push(s.step_id.clone());
        }
    }
    if !duplicates.is_empty() {
        duplicates.truncate(MAX_LISTED);
        return Err(PlanError::DuplicateIds { ids: duplicates });
    }

    // Each step's dependencies as one flat list (`dep_of[dep_at[i]..dep_at[i + 1]]` are step
    // `i`'s), repeated entries in one depends_on counted once: a few allocations per plan, not
    // one per step.
    let mut dep_at: Vec<usize> = Vec::with_capacity(n + 1);
    let mut dep_of: Vec<usize> = Vec::with_capacity(steps.iter().map(|s| s.depends_on.len()).sum());
    let mut missing = Vec::new();
    let mut seen = FxHashSet::default();
    dep_at.push(0);
    for s in steps {
        let first = dep_of.len();
        let many = s.depends_on.len() > 8;
        if many {
            seen.clear();
        }
        for d in &s.depends_on {
            match index.get(d.as_str()) {
                Some(&j) => {
                    let fresh = if many {
                        seen.insert(j)
                    } else {
                        !dep_of[first..].contains(&j)
                    };
                    if fresh {
                        dep_of.push(j);
                    }
                }
                None if missing.len() < MAX_LISTED => missing.push((s.step_id.clone(), d.clone())),
                None => {}
            }
        }
        dep_at.push(dep_of.len());
    }
    if !missing.is_empty() {
        return Err(PlanError::UnknownDependencies { missing });
    }
    let deps = |i: usize| &dep_of[dep_at[i]..dep_at[i + 1]];

    // The reverse edges, flat the same way: `out_of[out_at[j]..out_at[j + 1]]` are the steps
    // that wait for step `j`.
    let (out_at, out_of) = by_key(n, (0..n).flat_map(|i| deps(i).iter().map(move |&j| (j, i))));
    let mut pending: Vec<usize> = (0..n).map(|i| deps(i).len()).collect();
    let mut level = vec![0usize; n];
    let mut queue: Vec<usize> = Vec::with_capacity(n);
    queue.extend((0..n).filter(|&i| pending[i] == 0));
    let mut head = 0;
    while head < queue.len() {
        let i = queue[head];
        head += 1;
        for &j in &out_of[out_at[i]..out_at[i + 1]] {
            level[j] = level[j].max(level[i] + 1);
            pending[j] -= 1;
            if pending[j] == 0 {
                queue.push(j);
            }
        }
    }
    if queue.len() < n {
        return Err(PlanError::Cycle {
            path: find_cycle(steps, deps, &pending),
        });
    }

    // The steps by layer, in the plan's order within each, cut into groups of at most
    // `max_parallel`.
    let depth = level.iter().max().map_or(0, |m| m + 1);
    let (layer_at, by_layer) = by_key(depth, level.iter().copied().zip(0..n));
    let mut groups = Vec::with_capacity(depth);
    for l in 0..depth {
        for chunk in by_layer[layer_at[l]..layer_at[l + 1]].chunks(max_parallel) {
            groups.push(chunk.iter().map(|&i| steps[i].step_id.clone()).collect());
        }
    }
    Ok(groups)
}

/// A counting sort of `(key, value)` pairs with keys below `keys`: `of[at[k]..at[k + 1]]` are
/// the values of key `k`, in the pairs' order. Two passes over the pairs, two allocations.
fn by_key<P>(keys: usize, pairs: P) -> (Vec<usize>, Vec<usize>)
where
    P: DoubleEndedIterator<Item = (usize, usize)> + Clone,
{
    let mut at = vec![0usize; keys + 1];
    let mut len = 0;
    for (k, _) in pairs.clone() {
        at[k] += 1;
        len += 1;
    }
    for k in 1..=keys {
        at[k] += at[k - 1];
    }
    // `at[k]` is now where key `k`'s values end; filling from the back moves it to their start.
    let mut of = vec![0usize; len];
    for (k, v) in pairs.rev() {
        at[k] -= 1;
        of[at[k]] = v;
    }
    (at, of)
}

/// A cycle among the steps Kahn's algorithm could not release. Every such step waits on at
/// least one other unreleased step, so walking those dependencies must revisit a step.
fn find_cycle<'d>(
    steps: &[Step],
    deps: impl Fn(usize) -> &'d [usize],
    pending: &[usize],
) -> Vec<String> {
    let stuck = |i: usize| pending[i] > 0;
    let Some(start) = (0..steps.len()).find(|&i| stuck(i)) else {
        return Vec::new();
    };
    let mut position = vec![usize::MAX; steps.len()];
    let mut path = Vec::new();
    let mut at = start;
    loop {
        if position[at] != usize::MAX {
            let mut cycle: Vec<String> = path[position[at]..]
                .iter()
                .map(|&i: &usize| steps[i].step_id.clone())
                .collect();
            cycle.push(steps[at].step_id.clone());
            return cycle;
        }
        position[at] = path.len();
        path.push(at);
        match deps(at).iter().copied().find(|&j| stuck(j)) {
            Some(next) => at = next,
            None => return path.iter().map(|&i| steps[i].step_id.clone()).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::AgentType;

    fn step(id: &str, deps: &[&str]) -> Step {
        Step {
            step_id: id.into(),
            agent_type: AgentType::Data,
            agent_id: "a".into(),
            action: "generate_query".into(),
            depends_on: deps.iter().map(|d| d.to_string()).collect(),
            parameters: Default::default(),
            timeout_seconds: 60,
        }
    }

    #[test]
    fn independent_steps_share_a_layer_and_dependents_follow() {
        let steps = [
            step("k1", &[]),
            step("k2", &[]),
            step("d1", &["k1", "k2"]),
            step("d2", &["k1"]),
        ];
        assert_eq!(
            layer(&steps, 5).unwrap(),
            vec![vec!["k1", "k2"], vec!["d1", "d2"]]
        );
    }

    #[test]
    fn a_step_goes_in_the_layer_after_its_deepest_dependency() {
        let steps = [
            step("a", &[]),
            step("b", &["a"]),
            step("c", &["a", "b"]),
            step("d", &[]),
        ];
        assert_eq!(
            layer(&steps, 5).unwrap(),
            vec![vec!["a", "d"], vec!["b"], vec!["c"]]
        );
    }

    #[test]
    fn wide_layers_are_split_at_the_parallelism_limit() {
        let steps: Vec<Step> = (0..5).map(|i| step(&format!("s{i}"), &[])).collect();
        assert_eq!(
            layer(&steps, 2).unwrap(),
            vec![vec!["s0", "s1"], vec!["s2", "s3"], vec!["s4"]]
        );
    }

    #[test]
    fn repeated_dependencies_count_once() {
        let steps = [step("a", &[]), step("b", &["a", "a"])];
        assert_eq!(layer(&steps, 5).unwrap(), vec![vec!["a"], vec!["b"]]);
    }

    #[test]
    fn duplicates_unknown_dependencies_and_cycles_name_the_steps() {
        let dup = layer(&[step("a", &[]), step("a", &[])], 5).unwrap_err();
        assert_eq!(dup.to_string(), "duplicate step_id: 'a'");

        let unknown = layer(&[step("a", &["ghost"])], 5).unwrap_err();
        assert_eq!(
            unknown.to_string(),
            "unknown dependency: step 'a' depends on unknown step 'ghost'"
        );

        let cycle = layer(
            &[
                step("x", &[]),
                step("a", &["c"]),
                step("b", &["a"]),
                step("c", &["b"]),
            ],
            5,
        )
        .unwrap_err();
        assert_eq!(
            cycle,
            PlanError::Cycle {
                path: vec!["a".into(), "c".into(), "b".into(), "a".into()]
            }
        );
        assert!(
            cycle
                .to_string()
                .starts_with("dependency cycle: a -> c -> b -> a")
        );

        let selfloop = layer(&[step("a", &["a"])], 5).unwrap_err();
        assert_eq!(
            selfloop,
            PlanError::Cycle {
                path: vec!["a".into(), "a".into()]
            }
        );
    }

    #[test]
    fn an_empty_plan_has_no_groups() {
        assert!(layer(&[], 5).unwrap().is_empty());
    }

    #[test]
    fn long_chains_are_layered_one_step_per_group() {
        let ids: Vec<String> = (0..1000).map(|i| format!("s{i}")).collect();
        let steps: Vec<Step> = ids
            .iter()
            .enumerate()
            .map(|(i, id)| {
                let deps: Vec<&str> = if i == 0 {
                    vec![]
                } else {
                    vec![ids[i - 1].as_str()]
                };
                step(id, &deps)
            })
            .collect();
        let groups = layer(&steps, 5).unwrap();
        assert_eq!(groups.len(), 1000);
        assert_eq!(groups[999], vec!["s999"]);
    }

    /// Layers by the definition: a step's layer is one more than its deepest dependency's,
    /// found by relaxing until nothing changes; groups are each layer in plan order, chunked.
    fn reference(deps: &[Vec<usize>], max_parallel: usize) -> Vec<Vec<String>> {
        let mut level = vec![0usize; deps.len()];
        let mut changed = true;
        while changed {
            changed = false;
            for (i, ds) in deps.iter().enumerate() {
                let l = ds.iter().map(|&j| level[j] + 1).max().unwrap_or(0);
                if l != level[i] {
                    level[i] = l;
                    changed = true;
                }
            }
        }
        let depth = level.iter().max().map_or(0, |m| m + 1);
        let mut groups = Vec::new();
        for l in 0..depth {
            let ids: Vec<String> = (0..deps.len())
                .filter(|&i| level[i] == l)
                .map(|i| format!("s{i}"))
                .collect();
            groups.extend(ids.chunks(max_parallel).map(<[String]>::to_vec));
        }
        groups
    }

    proptest::proptest! {
        #[test]
        fn layers_match_their_definition_on_random_plans(
            // Each step's dependencies as offsets back from it (so the plan is acyclic),
            // repeats included, some lists longer than eight.
            back in proptest::collection::vec(proptest::collection::vec(1usize..12, 0..14), 0..40),
            max_parallel in 1usize..6,
        ) {
            let deps: Vec<Vec<usize>> = back
                .iter()
                .enumerate()
                .map(|(i, b)| b.iter().filter(|&&o| o <= i).map(|&o| i - o).collect())
                .collect();
            let ids: Vec<String> = (0..deps.len()).map(|i| format!("s{i}")).collect();
            let steps: Vec<Step> = deps
                .iter()
                .enumerate()
                .map(|(i, ds)| {
                    let names: Vec<&str> = ds.iter().map(|&j| ids[j].as_str()).collect();
                    step(&ids[i], &names)
                })
                .collect();
            proptest::prop_assert_eq!(
                layer(&steps, max_parallel).unwrap(),
                reference(&deps, max_parallel)
            );
        }
    }
}
