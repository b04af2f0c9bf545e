//! The policy's caps on a plan being made, as pure functions over its steps: at most
//! `max_steps` steps, and steps left out until the cost estimate fits `max_estimated_cost_usd`
//! (the estimate passed in as a function). The least needed steps go first.

use std::num::NonZeroUsize;

use crate::domain::{AgentType, KnowledgeDomain, Parameters, Step};

/// What a cap left out, and the warning that says so.
#[derive(Debug, Clone, PartialEq)]
pub struct Capped {
    pub left_out: Vec<String>,
    pub warning: String,
}

/// Leaves the least needed steps out of `steps` until at most `max` remain; `None` when the
/// plan was within the cap.
pub fn cap_steps(steps: &mut Vec<Step>, max: NonZeroUsize, scope: &str) -> Option<Capped> {
    let total = steps.len();
    if total <= max.get() {
        return None;
    }
    let mut left_out = Vec::new();
    while steps.len() > max.get() {
        left_out.extend(drop_least(steps));
    }
    let warning = format!(
        "policy ({scope}, max_steps {max}): plan capped at {max} of {total} steps; left out: {}",
        left_out.join(", ")
    );
    Some(Capped { left_out, warning })
}

/// Leaves the least needed steps out of `steps` until `cost` of them is within `cap`, keeping
/// at least one step; `None` when the plan was within the cap. An error of `cost` (a plan that
/// cannot be layered) is returned as it is.
pub fn cap_cost<E>(
    steps: &mut Vec<Step>,
    cap: f64,
    scope: &str,
    cost: impl Fn(&[Step]) -> Result<f64, E>,
) -> Result<Option<Capped>, E> {
    let before = cost(steps)?;
    if before <= cap {
        return Ok(None);
    }
    let mut left_out = Vec::new();
    let mut now = before;
    while now > cap && steps.len() > 1 {
        left_out.extend(drop_least(steps));
        now = cost(steps)?;
    }
    let warning = format!(
        "policy ({scope}, max_estimated_cost_usd {cap}): estimate ${before:.4} over the cap; \
         left out: {}; now ${now:.4}{}",
        if left_out.is_empty() {
            "nothing".to_string()
        } else {
            left_out.join(", ")
        },
        if now > cap {
            " (still over: one step is the least a plan has)"
        } else {
            ""
        }
    );
    Ok(Some(Capped { left_out, warning }))
}

/// Removes the step a capped plan can best do without, and every dependency on it; returns its
/// id. Least needed first: wiki knowledge, other knowledge, data steps after the first, error
/// knowledge, SOPs, and the first data step last; among equals, the later one.
fn drop_least(steps: &mut Vec<Step>) -> Option<String> {
    let first_data = steps.iter().position(|s| s.agent_type == AgentType::Data);
    let need = |i: usize, s: &Step| -> u8 {
        match (&s.parameters, s.agent_type) {
            (Parameters::Knowledge(k), _) => match k.domain {
                KnowledgeDomain::Wiki => 0,
                KnowledgeDomain::Other(_) => 1,
                KnowledgeDomain::Errors => 3,
                KnowledgeDomain::Sop => 4,
            },
            (_, AgentType::Data) if Some(i) == first_data => 5,
            (_, AgentType::Data) => 2,
            (_, AgentType::Knowledge) => 1,
        }
    };
    let (at, _) = steps
        .iter()
        .enumerate()
        .min_by_key(|(i, s)| (need(*i, s), std::cmp::Reverse(*i)))?;
    let removed = steps.remove(at);
    for s in steps.iter_mut() {
        s.depends_on.retain(|d| *d != removed.step_id);
    }
    Some(removed.step_id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{KnowledgeParameters, SharedText};

    fn knowledge(id: &str, domain: KnowledgeDomain) -> Step {
        Step {
            step_id: id.into(),
            agent_type: AgentType::Knowledge,
            agent_id: id.into(),
            action: "retrieve_context".into(),
            depends_on: vec![],
            parameters: Parameters::Knowledge(KnowledgeParameters {
                query: SharedText::new("q"),
                top_k: 5,
                domain,
            }),
            timeout_seconds: 30,
        }
    }

    fn data(id: &str, deps: &[&str]) -> Step {
        Step {
            step_id: id.into(),
            agent_type: AgentType::Data,
            agent_id: id.into(),
            action: "generate_query".into(),
            depends_on: deps.iter().map(|d| d.to_string()).collect(),
            parameters: Parameters::default(),
            timeout_seconds: 60,
        }
    }

    fn plan() -> Vec<Step> {
        vec![
            knowledge("knowledge_sop", KnowledgeDomain::Sop),
            knowledge("knowledge_wiki", KnowledgeDomain::Wiki),
            knowledge("knowledge_errors", KnowledgeDomain::Errors),
            data("data_kql", &["knowledge_sop", "knowledge_wiki"]),
            data("data_spl", &["knowledge_sop"]),
        ]
    }

    fn ids(steps: &[Step]) -> Vec<&str> {
        steps.iter().map(|s| s.step_id.as_str()).collect()
    }

    #[test]
    fn the_least_needed_steps_go_first_and_their_dependents_are_rewired() {
        let mut steps = plan();
        let capped = cap_steps(&mut steps, NonZeroUsize::MIN.saturating_add(2), "mode prod");
        let capped = capped.expect("five steps over a cap of three");
        assert_eq!(capped.left_out, ["knowledge_wiki", "data_spl"]);
        assert_eq!(
            ids(&steps),
            ["knowledge_sop", "knowledge_errors", "data_kql"]
        );
        assert_eq!(steps[2].depends_on, ["knowledge_sop"]);
        assert!(
            capped.warning.contains("capped at 3 of 5"),
            "{}",
            capped.warning
        );
        assert_eq!(
            cap_steps(&mut steps, NonZeroUsize::MIN.saturating_add(2), "m"),
            None
        );
    }

    #[test]
    fn the_cost_cap_leaves_steps_out_until_the_estimate_fits_and_keeps_one() {
        let cost = |steps: &[Step]| Ok::<_, ()>(steps.len() as f64 * 0.01);
        let mut steps = plan();
        let capped = cap_cost(&mut steps, 0.025, "mode prod", cost)
            .unwrap()
            .expect("over");
        assert_eq!(steps.len(), 2);
        assert!(
            capped.warning.contains("estimate $0.0500 over the cap"),
            "{}",
            capped.warning
        );
        assert!(
            capped.warning.ends_with("now $0.0200"),
            "{}",
            capped.warning
        );
        let mut steps = plan();
        let capped = cap_cost(&mut steps, 0.001, "m", cost)
            .unwrap()
            .expect("over");
        assert_eq!(
            ids(&steps),
            ["data_kql"],
            "the first data step is kept last"
        );
        assert!(capped.warning.contains("still over"), "{}", capped.warning);
        assert_eq!(cap_cost(&mut plan(), 1.0, "m", cost), Ok(None));
    }
}
