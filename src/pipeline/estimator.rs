//! Duration, token and cost estimates of a layered plan.
//!
//! Duration is the worst case along the critical path: the longest chain of dependencies,
//! weighted by each step's timeout. Tokens are counted with the cl100k BPE (an estimate for
//! budgeting: the agents' own models tokenize differently) over what each step sends its agent,
//! plus a configured allowance for what it generates.

use std::collections::HashMap;

use tiktoken_rs::CoreBPE;

use crate::config::PlannerSettings;
use crate::domain::{AgentType, CostEstimate, Step};

/// Prices and assumed output sizes, from configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct EstimatorOptions {
    pub cost_per_1k_tokens_usd: f64,
    pub knowledge_output_tokens: u64,
    pub data_output_tokens: u64,
}

impl From<&PlannerSettings> for EstimatorOptions {
    fn from(p: &PlannerSettings) -> Self {
        EstimatorOptions {
            cost_per_1k_tokens_usd: p.cost_per_1k_tokens_usd,
            knowledge_output_tokens: p.knowledge_output_tokens,
            data_output_tokens: p.data_output_tokens,
        }
    }
}

/// A plan's worst-case duration, its critical path, and its token and cost estimate.
#[derive(Debug, Clone, PartialEq)]
pub struct Estimate {
    pub duration_seconds: u64,
    pub critical_path: Vec<String>,
    pub cost: CostEstimate,
}

/// Estimates a plan whose `groups` came from [`super::optimizer::layer`] (so every dependency
/// is known and sits in an earlier group). `planner_tokens` are the tokens the planner's own
/// model call spent on this plan.
pub fn estimate(
    steps: &[Step],
    groups: &[Vec<String>],
    planner_tokens: u64,
    bpe: &CoreBPE,
    opts: &EstimatorOptions,
) -> Estimate {
    let index: HashMap<&str, usize> = steps
        .iter()
        .enumerate()
        .map(|(i, s)| (s.step_id.as_str(), i))
        .collect();
    // Longest path, visiting steps in group order (a topological order).
    let mut finish = vec![0u64; steps.len()];
    let mut via: Vec<Option<usize>> = vec![None; steps.len()];
    for id in groups.iter().flatten() {
        let Some(&i) = index.get(id.as_str()) else {
            continue;
        };
        let mut start = 0;
        for d in &steps[i].depends_on {
            if let Some(&j) = index.get(d.as_str())
                && (via[i].is_none() || finish[j] > start)
            {
                start = finish[j];
                via[i] = Some(j);
            }
        }
        finish[i] = start + steps[i].timeout_seconds;
    }
    let mut critical_path = Vec::new();
    let mut at = (0..steps.len()).max_by_key(|&i| (finish[i], std::cmp::Reverse(i)));
    while let Some(i) = at {
        critical_path.push(steps[i].step_id.clone());
        at = via[i];
    }
    critical_path.reverse();

    let mut input_tokens = 0u64;
    let mut output_tokens = 0u64;
    for s in steps {
        let sent = serde_json::to_string(&s.parameters).unwrap_or_default();
        input_tokens += bpe.encode_ordinary(&sent).len() as u64;
        output_tokens += match s.agent_type {
            AgentType::Knowledge => opts.knowledge_output_tokens,
            AgentType::Data => opts.data_output_tokens,
        };
    }
    let total_tokens = input_tokens + output_tokens + planner_tokens;
    let cost_usd = total_tokens as f64 / 1000.0 * opts.cost_per_1k_tokens_usd;
    Estimate {
        duration_seconds: finish.iter().copied().max().unwrap_or(0),
        critical_path,
        cost: CostEstimate {
            input_tokens,
            output_tokens,
            planner_tokens,
            total_tokens,
            cost_usd: (cost_usd * 1e6).round() / 1e6,
            cost_per_1k_tokens_usd: opts.cost_per_1k_tokens_usd,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Settings;
    use crate::pipeline::optimizer::layer;
    use crate::tokens::encoder as tokenizer;

    fn defaults() -> EstimatorOptions {
        EstimatorOptions::from(&Settings::for_tests().planner)
    }
    use serde_json::json;

    fn step(id: &str, kind: AgentType, timeout: u64, deps: &[&str]) -> Step {
        let mut parameters = serde_json::Map::new();
        parameters.insert("query".into(), json!("show failed sign-ins"));
        Step {
            step_id: id.into(),
            agent_type: kind,
            agent_id: "a".into(),
            action: "x".into(),
            depends_on: deps.iter().map(|d| d.to_string()).collect(),
            parameters,
            timeout_seconds: timeout,
        }
    }

    #[test]
    fn duration_follows_the_longest_weighted_chain() {
        let steps = [
            step("k1", AgentType::Knowledge, 30, &[]),
            step("k2", AgentType::Knowledge, 45, &[]),
            step("d1", AgentType::Data, 60, &["k1", "k2"]),
            step("d2", AgentType::Data, 10, &["k1"]),
        ];
        let groups = layer(&steps, 5).unwrap();
        let e = estimate(&steps, &groups, 0, tokenizer(), &defaults());
        assert_eq!(e.duration_seconds, 105);
        assert_eq!(e.critical_path, ["k2", "d1"]);
    }

    #[test]
    fn tokens_and_cost_add_up() {
        let steps = [
            step("k1", AgentType::Knowledge, 30, &[]),
            step("d1", AgentType::Data, 60, &["k1"]),
        ];
        let groups = layer(&steps, 5).unwrap();
        let opts = EstimatorOptions {
            cost_per_1k_tokens_usd: 0.5,
            ..defaults()
        };
        let e = estimate(&steps, &groups, 100, tokenizer(), &opts);
        let c = &e.cost;
        assert!(c.input_tokens > 5 && c.input_tokens < 40, "{c:?}");
        assert_eq!(c.output_tokens, 700);
        assert_eq!(c.total_tokens, c.input_tokens + 700 + 100);
        assert!((c.cost_usd - c.total_tokens as f64 / 1000.0 * 0.5).abs() < 1e-6);
        assert_eq!(e.critical_path, ["k1", "d1"]);
    }

    #[test]
    fn an_empty_plan_costs_nothing() {
        let e = estimate(&[], &[], 0, tokenizer(), &defaults());
        assert_eq!(e.duration_seconds, 0);
        assert!(e.critical_path.is_empty());
        assert_eq!(e.cost.total_tokens, 0);
    }
}
