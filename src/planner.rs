//! The planner: runs the pure stages in order for `create_plan`, and the optimizer and
//! estimator for `optimize_plan`. The only I/O on this path is the optional model call behind
//! [`crate::llm::Advisor`]; everything else is a pure function of the request.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Instant;

use crate::config::{PlannerSettings, Settings};
use crate::domain::{AgentType, KnowledgeDomain, Parameters, Plan, PlanningContext, Step};
use crate::error::TaskError;
use crate::llm::Advisor;
use crate::pipeline::analyzer::{self, AnalyzerOptions};
use crate::pipeline::estimator::{self, EstimatorOptions};
use crate::pipeline::generator::{self, GeneratorOptions};
use crate::pipeline::optimizer;
use crate::pipeline::selector::{self, Selection};
use crate::pipeline::text::Text;
use crate::security::policy::Gate;
use crate::wire::{LlmUsage, Metadata, PlanInput, SelectedAgent, TaskResult, Timings};

/// The crate version, reported in metadata and probes.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Limits the planner enforces on its inputs.
#[derive(Debug, Clone)]
struct Limits {
    max_query_chars: usize,
    max_plan_steps: usize,
    max_parallel_agents: usize,
    knowledge_timeout_seconds: u64,
    data_timeout_seconds: u64,
}

impl From<&PlannerSettings> for Limits {
    fn from(p: &PlannerSettings) -> Self {
        Limits {
            max_query_chars: p.max_query_chars,
            max_plan_steps: p.max_plan_steps,
            max_parallel_agents: p.max_parallel_agents,
            knowledge_timeout_seconds: p.knowledge_timeout_seconds,
            data_timeout_seconds: p.data_timeout_seconds,
        }
    }
}

/// Plans requests: the stages' options, the limits, and the model advisor when configured.
#[derive(Debug)]
pub struct Planner {
    limits: Limits,
    analyzer: AnalyzerOptions,
    generator: GeneratorOptions,
    estimator: EstimatorOptions,
    advisor: Option<Arc<Advisor>>,
    gate: Option<Arc<Gate>>,
}

impl Planner {
    /// A planner; `advisor` is `None` when no model is configured (keyword analysis only).
    pub fn new(settings: &Settings, advisor: Option<Arc<Advisor>>) -> Planner {
        let p = &settings.planner;
        Planner {
            limits: Limits::from(p),
            analyzer: AnalyzerOptions::from(p),
            generator: GeneratorOptions::from(p),
            estimator: EstimatorOptions::from(p),
            advisor,
            gate: None,
        }
    }

    /// This planner under the policy `gate`.
    pub fn with_gate(mut self, gate: Option<Arc<Gate>>) -> Planner {
        self.gate = gate;
        self
    }

    /// The policy gate, when one is enabled.
    pub fn gate(&self) -> Option<&Arc<Gate>> {
        self.gate.as_ref()
    }

    /// The model advisor, when one is configured.
    pub fn advisor(&self) -> Option<&Arc<Advisor>> {
        self.advisor.as_ref()
    }

    /// Plans `query` for the agents in `ctx`. `warnings` are carried into the plan (problems
    /// found while reading the request). A model failure never fails the plan.
    pub async fn create_plan(
        &self,
        task_id: &str,
        query: &str,
        ctx: &PlanningContext,
        warnings: Vec<String>,
    ) -> Result<TaskResult, TaskError> {
        self.create_plan_as(None, task_id, query, ctx, warnings)
            .await
    }

    /// As [`Planner::create_plan`], for an authenticated `caller`: the policy gate (when
    /// enabled) withholds what the caller may not use and caps the plan.
    pub async fn create_plan_as(
        &self,
        caller: Option<&str>,
        task_id: &str,
        query: &str,
        ctx: &PlanningContext,
        mut warnings: Vec<String>,
    ) -> Result<TaskResult, TaskError> {
        let started = Instant::now();
        let query = query.trim();
        if query.is_empty() {
            return Err(TaskError::unprocessable(
                "empty_query",
                "parameters.natural_language is empty: there is nothing to plan",
            ));
        }
        let chars = query.chars().count();
        if chars > self.limits.max_query_chars {
            return Err(TaskError::too_large(
                "query_too_large",
                format!(
                    "parameters.natural_language has {chars} characters; the limit is {}",
                    self.limits.max_query_chars
                ),
            ));
        }

        let policy = self.gate.as_ref().map(|g| g.policy());
        let restricted;
        let ctx = match &policy {
            Some(p) => {
                let (c, withheld) = p.restrict(ctx, caller);
                warnings.extend(withheld);
                restricted = c;
                &restricted
            }
            None => ctx,
        };
        let limits = policy
            .as_ref()
            .map(|p| p.limits(caller))
            .unwrap_or_default();

        let mut text = Text::new(query);
        let keyword = analyzer::analyze_text(&mut text, ctx, &self.analyzer);
        let (analysis, usage) = match &self.advisor {
            Some(advisor) => {
                let advice = advisor.analyze(query, ctx, keyword).await;
                (advice.analysis, advice.usage)
            }
            None => (keyword.analysis, None),
        };
        let analysis_ms = ms(started);

        let selection = selector::select(&text, &analysis, ctx);
        let mut steps = generator::generate(query, &analysis, &selection, &self.generator);
        let mut selected_agents = selected_agents(&selection);
        warnings.extend(selection.warnings);
        if let Some((max, scope)) = &limits.max_steps
            && steps.len() > *max
        {
            let total = steps.len();
            let mut left_out = Vec::new();
            while steps.len() > *max {
                left_out.extend(drop_least(&mut steps));
            }
            metrics::counter!("planner_policy_blocks_total", "rule" => "max_steps").increment(1);
            warnings.push(format!(
                "policy ({scope}, max_steps {max}): plan capped at {max} of {total} steps; left out: {}",
                left_out.join(", ")
            ));
        }
        let max_parallel = limits
            .max_parallel
            .as_ref()
            .map_or(self.limits.max_parallel_agents, |(m, _)| {
                (*m).min(self.limits.max_parallel_agents)
            });
        let plan_id = ["plan_", task_id].concat();
        let plan = match &limits.max_estimated_cost_usd {
            // The usual case moves the steps into the plan; only a cost cap re-estimates.
            None => self.finish_with(plan_id, steps, warnings, usage.as_ref(), max_parallel)?,
            Some((cap, scope)) => {
                let mut before = None;
                let mut left_out = Vec::new();
                let mut plan = loop {
                    let plan = self.finish_with(
                        plan_id.clone(),
                        steps.clone(),
                        warnings.clone(),
                        usage.as_ref(),
                        max_parallel,
                    )?;
                    if plan.estimated_cost.cost_usd <= *cap || steps.len() <= 1 {
                        break plan;
                    }
                    before.get_or_insert(plan.estimated_cost.cost_usd);
                    left_out.extend(drop_least(&mut steps));
                };
                if let Some(before) = before
                    .or((plan.estimated_cost.cost_usd > *cap)
                        .then_some(plan.estimated_cost.cost_usd))
                {
                    metrics::counter!("planner_policy_blocks_total", "rule" => "max_estimated_cost_usd")
                        .increment(1);
                    plan.warnings.push(format!(
                        "policy ({scope}, max_estimated_cost_usd {cap}): estimate ${before:.4} over the cap; left out: {}; now ${:.4}{}",
                        if left_out.is_empty() { "nothing".to_string() } else { left_out.join(", ") },
                        plan.estimated_cost.cost_usd,
                        if plan.estimated_cost.cost_usd > *cap { " (still over: one step is the least a plan has)" } else { "" }
                    ));
                }
                plan
            }
        };
        selected_agents.retain(|a| plan.steps.iter().any(|s| s.agent_id == a.agent_id));
        let mut metadata = metadata("create_plan", analysis_ms, started, usage);
        metadata.caller = caller.map(str::to_string);
        Ok(TaskResult {
            plan,
            analysis: Some(analysis),
            selected_agents,
            metadata,
        })
    }

    /// Validates a caller's plan and recomputes its groups and estimates. When `ctx` lists
    /// agents, every step must use one of them.
    pub fn optimize_plan(
        &self,
        task_id: &str,
        input: PlanInput,
        ctx: Option<&PlanningContext>,
    ) -> Result<TaskResult, TaskError> {
        self.optimize_plan_as(None, task_id, input, ctx)
    }

    /// As [`Planner::optimize_plan`], for an authenticated `caller`: a plan that uses an agent,
    /// platform or domain the policy denies is refused (422 naming the step and the rule).
    pub fn optimize_plan_as(
        &self,
        caller: Option<&str>,
        task_id: &str,
        input: PlanInput,
        ctx: Option<&PlanningContext>,
    ) -> Result<TaskResult, TaskError> {
        let started = Instant::now();
        let limit = self.limits.max_plan_steps;
        if input.steps.len() > limit {
            return Err(TaskError::too_large(
                "plan_too_large",
                format!(
                    "parameters.plan.steps has {} steps; the limit is {limit}",
                    input.steps.len()
                ),
            ));
        }
        let l = &self.limits;
        let steps: Vec<Step> = input
            .steps
            .into_iter()
            .map(|s| s.into_step(l.knowledge_timeout_seconds, l.data_timeout_seconds))
            .collect();
        if let Some(s) = steps.iter().find(|s| s.timeout_seconds == 0) {
            return Err(TaskError::unprocessable(
                "invalid_plan",
                format!(
                    "step '{}' has timeout_seconds 0; it must be at least 1",
                    s.step_id
                ),
            ));
        }
        if let Some(ctx) =
            ctx.filter(|c| !c.knowledge_agents.is_empty() || !c.data_agents.is_empty())
        {
            check_offered(&steps, ctx)?;
        }
        let mut warnings = input.warnings.unwrap_or_default();
        let mut max_parallel = self.limits.max_parallel_agents;
        let mut cost_cap = None;
        if let Some(policy) = self.gate.as_ref().map(|g| g.policy()) {
            if let Some((step, block)) = policy.forbidden_step(&steps, ctx, caller) {
                metrics::counter!("planner_policy_blocks_total", "rule" => block.rule).increment(1);
                return Err(TaskError::unprocessable(
                    "policy_denied",
                    format!(
                        "step '{}' uses agent '{}', which the policy denies ({block})",
                        step.step_id, step.agent_id
                    ),
                ));
            }
            let limits = policy.limits(caller);
            if let Some((max, scope)) = &limits.max_steps
                && steps.len() > *max
            {
                metrics::counter!("planner_policy_blocks_total", "rule" => "max_steps")
                    .increment(1);
                return Err(TaskError::unprocessable(
                    "policy_denied",
                    format!(
                        "the plan has {} steps; the policy allows {max} ({scope}, max_steps)",
                        steps.len()
                    ),
                ));
            }
            if let Some((m, _)) = &limits.max_parallel {
                max_parallel = max_parallel.min(*m);
            }
            cost_cap = limits.max_estimated_cost_usd;
        }
        let plan_id = input.plan_id.unwrap_or_else(|| format!("plan_{task_id}"));
        if let Some((cap, scope)) = &cost_cap {
            let probe = self.finish_with(
                plan_id.clone(),
                steps.clone(),
                Vec::new(),
                None,
                max_parallel,
            )?;
            if probe.estimated_cost.cost_usd > *cap {
                warnings.push(format!(
                    "policy ({scope}, max_estimated_cost_usd {cap}): the plan's estimate ${:.4} is over the cap",
                    probe.estimated_cost.cost_usd
                ));
            }
        }
        let plan = self.finish_with(plan_id, steps, warnings, None, max_parallel)?;
        let mut metadata = metadata("optimize_plan", 0.0, started, None);
        metadata.caller = caller.map(str::to_string);
        Ok(TaskResult {
            plan,
            analysis: None,
            selected_agents: Vec::new(),
            metadata,
        })
    }

    /// Layers (at most `max_parallel` steps at once) and estimates `steps` into a plan.
    fn finish_with(
        &self,
        plan_id: String,
        steps: Vec<Step>,
        warnings: Vec<String>,
        usage: Option<&LlmUsage>,
        max_parallel: usize,
    ) -> Result<Plan, TaskError> {
        let groups = optimizer::layer(&steps, max_parallel)?;
        let planner_tokens = usage.map_or(0, |u| u.prompt_tokens + u.completion_tokens);
        let est = estimator::estimate(&steps, &groups, planner_tokens, &self.estimator);
        Ok(Plan {
            plan_id,
            steps,
            parallel_execution_groups: groups,
            estimated_duration_seconds: est.duration_seconds,
            critical_path: est.critical_path,
            estimated_cost: est.cost,
            warnings,
        })
    }
}

/// Every step must use an agent `ctx` offers, of the step's type.
fn check_offered(steps: &[Step], ctx: &PlanningContext) -> Result<(), TaskError> {
    let offered: HashSet<(AgentType, &str)> = ctx
        .knowledge_agents
        .iter()
        .map(|a| (AgentType::Knowledge, a.agent_id.as_str()))
        .chain(
            ctx.data_agents
                .iter()
                .map(|a| (AgentType::Data, a.agent_id.as_str())),
        )
        .collect();
    let unknown: Vec<String> = steps
        .iter()
        .filter(|s| !offered.contains(&(s.agent_type, s.agent_id.as_str())))
        .map(|s| {
            format!(
                "step '{}' uses {:?} agent '{}'",
                s.step_id, s.agent_type, s.agent_id
            )
            .to_lowercase()
        })
        .take(10)
        .collect();
    if unknown.is_empty() {
        Ok(())
    } else {
        Err(TaskError::unprocessable(
            "unknown_agent",
            format!(
                "agents not offered in execution_context.available_agents: {}",
                unknown.join("; ")
            ),
        ))
    }
}

fn metadata(action: &str, analysis_ms: f64, started: Instant, llm: Option<LlmUsage>) -> Metadata {
    Metadata {
        planner_version: VERSION.to_string(),
        action: action.to_string(),
        timings_ms: Timings {
            analysis_ms,
            total_ms: ms(started),
        },
        llm,
        caller: None,
    }
}

fn selected_agents(selection: &Selection) -> Vec<SelectedAgent> {
    let knowledge = selection.knowledge.iter().map(|k| SelectedAgent {
        agent_id: k.agent.agent_id.clone(),
        agent_type: AgentType::Knowledge,
        serves: k.domain.as_str().to_string(),
        reason: k.reason.clone(),
    });
    let data = selection.data.iter().map(|d| SelectedAgent {
        agent_id: d.agent.agent_id.clone(),
        agent_type: AgentType::Data,
        serves: d.platform.as_str().to_string(),
        reason: d.reason.clone(),
    });
    knowledge.chain(data).collect()
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

fn ms(since: Instant) -> f64 {
    (since.elapsed().as_secs_f64() * 1e5).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The plan's future is moved whole on every request (into the handler's future, and by
    /// each layer that boxes or wraps it), so what it holds across its await costs every
    /// request. The model call's own future (~10 KB with the HTTP client's) is boxed by the
    /// advisor; unboxed, the plan's future was 11 KB.
    #[test]
    fn the_plan_future_stays_small_with_a_model_configured() {
        let mut settings = Settings::for_tests();
        settings.llm.provider = crate::config::Provider::Ollama;
        let advisor = Advisor::from_settings(&settings.llm, &settings.cache)
            .expect("the test settings are valid")
            .map(Arc::new);
        assert!(advisor.is_some(), "a model is configured");
        let planner = Planner::new(&settings, advisor);
        let ctx = PlanningContext::default();
        let plan = planner.create_plan_as(None, "t", "q", &ctx, Vec::new());
        let size = std::mem::size_of_val(&plan);
        assert!(size <= 4096, "the plan's future is {size} bytes");
    }
}
