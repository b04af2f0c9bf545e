//! Duration, token and cost estimates of a layered plan.
//!
//! Duration is the worst case along the critical path: the longest chain of dependencies,
//! weighted by each step's timeout. Input tokens are what each step sends its agent, counted
//! with cl100k ([`crate::tokens`]); for the planner's own steps the request and the analysis
//! every step shares were counted once when the plan was made, and the JSON around them is a
//! constant counted once per process (within a couple of tokens of counting each step's JSON
//! whole: a test holds it there). A caller's step is counted whole. Output tokens are a
//! configured allowance per kind of step.

use std::sync::LazyLock;

use crate::config::PlannerSettings;
use crate::domain::{
    AgentType, CostEstimate, DataParameters, KnowledgeParameters, Parameters, Step,
};
use crate::tokens;

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
    opts: &EstimatorOptions,
) -> Estimate {
    let (duration_seconds, critical_path) = critical_path(steps, groups);
    let mut input = 0u64;
    let mut output_tokens = 0u64;
    for s in steps {
        input += input_tokens(&s.parameters);
        output_tokens += match s.agent_type {
            AgentType::Knowledge => opts.knowledge_output_tokens,
            AgentType::Data => opts.data_output_tokens,
        };
    }
    let total_tokens = input + output_tokens + planner_tokens;
    let cost_usd = total_tokens as f64 / 1000.0 * opts.cost_per_1k_tokens_usd;
    Estimate {
        duration_seconds,
        critical_path,
        cost: CostEstimate {
            input_tokens: input,
            output_tokens,
            planner_tokens,
            total_tokens,
            cost_usd: (cost_usd * 1e6).round() / 1e6,
            cost_per_1k_tokens_usd: opts.cost_per_1k_tokens_usd,
        },
    }
}

/// The longest weighted chain, visiting steps in group order (a topological order).
fn critical_path(steps: &[Step], groups: &[Vec<String>]) -> (u64, Vec<String>) {
    let index: rustc_hash::FxHashMap<&str, usize> = steps
        .iter()
        .enumerate()
        .map(|(i, s)| (s.step_id.as_str(), i))
        .collect();
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
    let mut path = Vec::new();
    let mut at = (0..steps.len()).max_by_key(|&i| (finish[i], std::cmp::Reverse(i)));
    while let Some(i) = at {
        path.push(steps[i].step_id.clone());
        at = via[i];
    }
    path.reverse();
    (finish.iter().copied().max().unwrap_or(0), path)
}

/// The JSON around a knowledge step's values, counted once.
static KNOWLEDGE_FRAME: LazyLock<u64> =
    LazyLock::new(|| tokens::count(r#"{"query":"","top_k":,"domain":""}"#));
/// The JSON around a data step's values, counted once.
static DATA_FRAME: LazyLock<u64> = LazyLock::new(|| {
    tokens::count(
        r#"{"platform":"","natural_language":"","request":"","use_knowledge":true,"entities":,"query_analysis":}"#,
    )
});

/// Tokens of a whole number written out: cl100k reads digits in runs of up to three, each one
/// token.
fn number_tokens(n: u64) -> u64 {
    u64::from(n.checked_ilog10().map_or(1, |l| l + 1)).div_ceil(3)
}

/// Tokens of `value` as JSON.
fn json_tokens<T: serde::Serialize + ?Sized>(value: &T) -> u64 {
    serde_json::to_string(value).map_or(0, |json| tokens::count(&json))
}

/// What a step sends its agent, in tokens: for the planner's own steps, the JSON around the
/// values plus each value (the request and the analysis counted when the plan was made); a
/// caller's step, its parameters' JSON.
fn input_tokens(parameters: &Parameters) -> u64 {
    match parameters {
        Parameters::Knowledge(KnowledgeParameters {
            query,
            top_k,
            domain,
        }) => {
            *KNOWLEDGE_FRAME
                + query.tokens()
                + tokens::count(domain.as_str())
                + number_tokens(*top_k)
        }
        Parameters::Data(d @ DataParameters { .. }) => {
            let alternates = if d.alternate_agent_ids.is_empty() {
                0
            } else {
                json_tokens(&d.alternate_agent_ids) + 6
            };
            let uses = if d.uses_results_of.is_empty() {
                0
            } else {
                json_tokens(&d.uses_results_of) + 8
            };
            *DATA_FRAME
                + d.natural_language.tokens()
                + d.request.tokens()
                + uses
                + d.query_analysis.tokens()
                + tokens::count(d.platform.as_str())
                + json_tokens(&d.entities)
                + alternates
        }
        Parameters::Given(map) => json_tokens(map),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Settings;
    use crate::pipeline::optimizer::layer;

    fn defaults() -> EstimatorOptions {
        EstimatorOptions::from(&Settings::for_tests().planner)
    }
    use serde_json::json;

    fn step(id: &str, kind: AgentType, timeout: u64, deps: &[&str]) -> Step {
        let mut parameters = serde_json::Map::new();
        parameters.insert("query".into(), json!("show failed sign-ins"));
        let parameters = Parameters::Given(parameters);
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
        let e = estimate(&steps, &groups, 0, &defaults());
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
        let e = estimate(&steps, &groups, 100, &opts);
        let c = &e.cost;
        assert!(c.input_tokens > 5 && c.input_tokens < 40, "{c:?}");
        assert_eq!(c.output_tokens, 700);
        assert_eq!(c.total_tokens, c.input_tokens + 700 + 100);
        assert!((c.cost_usd - c.total_tokens as f64 / 1000.0 * 0.5).abs() < 1e-6);
        assert_eq!(e.critical_path, ["k1", "d1"]);
    }

    #[test]
    fn numbers_count_as_the_counter_counts_them() {
        for n in [
            0,
            1,
            9,
            10,
            99,
            100,
            999,
            1000,
            12345,
            999_999,
            1_000_000,
            u64::MAX,
        ] {
            assert_eq!(number_tokens(n), tokens::count(&n.to_string()), "{n}");
        }
    }

    #[test]
    fn an_empty_plan_costs_nothing() {
        let e = estimate(&[], &[], 0, &defaults());
        assert_eq!(e.duration_seconds, 0);
        assert!(e.critical_path.is_empty());
        assert_eq!(e.cost.total_tokens, 0);
    }

    #[test]
    fn a_plans_estimate_is_within_a_few_tokens_of_counting_each_step_whole() {
        use crate::pipeline::generator::{GeneratorOptions, generate};
        use crate::pipeline::roster::Roster;
        use crate::pipeline::selector::select;
        use crate::pipeline::testing::{keywords, knowledge_agent, offered};
        use crate::pipeline::text::Text;
        let q = "Correlate Splunk firewall blocks with Azure sign-in failures by IP address";
        let mut o = offered(&["kql", "spl", "sql"]);
        o.knowledge_agents = vec![
            knowledge_agent("sop", "sop"),
            knowledge_agent("err", "errors"),
        ];
        let c = Roster::new(o);
        let a = keywords(q, &c).analysis;
        let settings = Settings::for_tests();
        let steps = generate(
            q,
            &a,
            &select(&Text::new(q), &a, &c),
            &GeneratorOptions::from(&settings.planner),
        );
        let groups = layer(&steps, 5).unwrap();
        let fast = estimate(&steps, &groups, 0, &defaults()).cost.input_tokens;
        let whole: u64 = steps
            .iter()
            .map(|s| tokens::count(&serde_json::to_string(&s.parameters).unwrap()))
            .sum();
        assert!(
            fast.abs_diff(whole) <= 2 * steps.len() as u64,
            "{fast} vs {whole}"
        );
    }
}
