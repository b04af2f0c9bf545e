//! The planner: the one entry point both protocols call ([`Planner::plan`]). `create_plan` runs
//! the pure stages in order (analysis, with the model's opinion when one is configured;
//! selection; generation; the policy's caps; layering and estimates); `optimize_plan` validates
//! a caller's plan and layers and estimates it. The only I/O is the optional model call behind
//! [`crate::llm::Advisor`]; everything else is a pure function of the request.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Instant;

use crate::config::{PlannerSettings, Settings};
use crate::domain::{
    AgentType, CallerPlan, ModelUsage, Plan, Planned, SelectedAgent, Step, Timings,
};
use crate::error::TaskError;
use crate::llm::Advisor;
use crate::pipeline::analyzer::{self, AnalyzerOptions};
use crate::pipeline::estimator::{self, EstimatorOptions};
use crate::pipeline::generator::{self, GeneratorOptions};
use crate::pipeline::optimizer;
use crate::pipeline::roster::Roster;
use crate::pipeline::selector::{self, Selection};
use crate::pipeline::text::Text;
use crate::redis::Redis;
use crate::security::policy::{self, Gate, Policy};

/// The crate version, reported in metadata and probes.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// What a task asks the planner to do.
#[derive(Debug)]
pub enum Action {
    /// Plan `query` over the agents of `roster`; `warnings` (problems found while reading the
    /// request) are carried into the plan.
    CreatePlan {
        query: String,
        roster: Arc<Roster>,
        warnings: Vec<String>,
    },
    /// Validate, layer and estimate a caller's plan; with a roster, every step must use one of
    /// its agents.
    OptimizePlan {
        plan: CallerPlan,
        roster: Option<Arc<Roster>>,
    },
}

impl Action {
    /// The action's name on the wire (`create_plan`, `optimize_plan`).
    pub fn name(&self) -> &'static str {
        match self {
            Action::CreatePlan { .. } => "create_plan",
            Action::OptimizePlan { .. } => "optimize_plan",
        }
    }
}

/// A task for the planner: its id, who asks (when authentication is on), and what for.
#[derive(Debug)]
pub struct Request {
    pub task_id: String,
    pub caller: Option<Arc<str>>,
    pub action: Action,
}

impl Request {
    /// `create_plan` of `query` over `roster`, for no particular caller.
    pub fn create_plan(task_id: &str, query: &str, roster: Arc<Roster>) -> Request {
        Request {
            task_id: task_id.to_string(),
            caller: None,
            action: Action::CreatePlan {
                query: query.to_string(),
                roster,
                warnings: Vec::new(),
            },
        }
    }
}

/// Plans requests: the stages' options, the limits, the model advisor and the policy gate when
/// configured.
#[derive(Debug)]
pub struct Planner {
    settings: PlannerSettings,
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
            settings: p.clone(),
            analyzer: AnalyzerOptions::from(p),
            generator: GeneratorOptions::from(p),
            estimator: EstimatorOptions::from(p),
            advisor,
            gate: None,
        }
    }

    /// The planner `settings` describe: its model advisor when a model is configured (sharing
    /// answers through `redis` when given), and the policy gate when enabled (its file read).
    pub fn from_settings(
        settings: &Settings,
        redis: Option<Arc<Redis>>,
    ) -> Result<Planner, String> {
        let mut advisor = Advisor::from_settings(&settings.llm, &settings.cache)?;
        if let (Some(advisor), Some(redis)) = (advisor.as_mut(), redis) {
            advisor.share_answers(redis, settings.cache.ttl);
        }
        let gate = if settings.policy.enabled {
            let p = &settings.policy;
            let gate = Gate::load(&p.config_path, &p.mode)
                .map_err(|e| format!("policy (POLICY_CONFIG_PATH): {e}"))?;
            Some(Arc::new(gate))
        } else {
            None
        };
        Ok(Planner::new(settings, advisor.map(Arc::new)).with_gate(gate))
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

    /// Plans `request`. A model failure never fails the plan.
    pub async fn plan(&self, request: Request) -> Result<Planned, TaskError> {
        let caller = request.caller.as_deref();
        let policy = self.gate.as_ref().map(|g| g.policy());
        match request.action {
            Action::CreatePlan {
                query,
                roster,
                warnings,
            } => {
                let plan_id = format!("plan_{}", request.task_id);
                self.create_plan(
                    &query,
                    &roster,
                    warnings,
                    plan_id,
                    policy.as_deref(),
                    caller,
                )
                .await
            }
            Action::OptimizePlan { plan, roster } => self.optimize_plan(
                plan,
                roster.as_deref(),
                &request.task_id,
                policy.as_deref(),
                caller,
            ),
        }
    }

    async fn create_plan(
        &self,
        query: &str,
        roster: &Arc<Roster>,
        mut warnings: Vec<String>,
        plan_id: String,
        policy: Option<&Policy>,
        caller: Option<&str>,
    ) -> Result<Planned, TaskError> {
        let started = Instant::now();
        let query = checked_query(query, self.settings.max_query_chars.get())?;
        let roster = match policy {
            Some(p) => {
                let (restricted, withheld) = p.restrict(roster, caller);
                warnings.extend(withheld);
                restricted
            }
            None => Arc::clone(roster),
        };
        let limits = policy.map(|p| p.limits(caller)).unwrap_or_default();

        let mut text = Text::new(query);
        let keyword = analyzer::analyze_text(&mut text, &roster, &self.analyzer);
        let (analysis, usage) = match &self.advisor {
            Some(advisor) => {
                let advice = advisor.analyze(query, &roster, keyword).await;
                (advice.analysis, advice.usage)
            }
            None => (keyword.analysis, None),
        };
        let analysis_ms = ms(started);

        let selection = selector::select(&text, &analysis, &roster);
        let mut steps = generator::generate(query, &analysis, &selection, &self.generator);
        let mut selected_agents = selected_agents(&selection);
        warnings.extend(selection.warnings);
        if let Some((max, scope)) = &limits.max_steps
            && let Some(capped) = policy::cap_steps(&mut steps, *max, scope)
        {
            count_block("max_steps");
            warnings.push(capped.warning);
        }
        let max_parallel = self.max_parallel(&limits);
        let planner_tokens = usage.as_ref().map_or(0, tokens_of);
        let mut cost_warning = None;
        if let Some((cap, scope)) = &limits.max_estimated_cost_usd {
            let cost = |steps: &[Step]| {
                self.finish(
                    String::new(),
                    steps.to_vec(),
                    Vec::new(),
                    planner_tokens,
                    max_parallel,
                )
                .map(|plan| plan.estimated_cost.cost_usd)
            };
            if let Some(capped) = policy::cap_cost(&mut steps, *cap, scope, cost)? {
                count_block("max_estimated_cost_usd");
                cost_warning = Some(capped.warning);
            }
        }
        let mut plan = self.finish(plan_id, steps, warnings, planner_tokens, max_parallel)?;
        plan.warnings.extend(cost_warning);
        selected_agents.retain(|a| plan.steps.iter().any(|s| s.agent_id == a.agent_id));
        Ok(Planned {
            plan,
            analysis: Some(analysis),
            selected_agents,
            usage,
            timings: Timings {
                analysis_ms,
                total_ms: ms(started),
            },
        })
    }

    fn optimize_plan(
        &self,
        input: CallerPlan,
        roster: Option<&Roster>,
        task_id: &str,
        policy: Option<&Policy>,
        caller: Option<&str>,
    ) -> Result<Planned, TaskError> {
        let started = Instant::now();
        let limit = self.settings.max_plan_steps.get();
        if input.steps.len() > limit {
            return Err(TaskError::too_large(
                "plan_too_large",
                format!(
                    "parameters.plan.steps has {} steps; the limit is {limit}",
                    input.steps.len()
                ),
            ));
        }
        let p = &self.settings;
        let steps: Vec<Step> = input
            .steps
            .into_iter()
            .map(|s| {
                s.into_step(
                    p.knowledge_timeout_seconds.get(),
                    p.data_timeout_seconds.get(),
                )
            })
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
        if let Some(roster) =
            roster.filter(|r| !r.knowledge_agents().is_empty() || !r.data_agents().is_empty())
        {
            check_offered(&steps, roster)?;
        }
        let limits = match policy {
            Some(policy) => {
                check_policy(&steps, roster, policy, caller)?;
                policy.limits(caller)
            }
            None => Default::default(),
        };
        let plan_id = input.plan_id.unwrap_or_else(|| format!("plan_{task_id}"));
        let warnings = input.warnings.unwrap_or_default();
        let mut plan = self.finish(plan_id, steps, warnings, 0, self.max_parallel(&limits))?;
        if let Some((cap, scope)) = &limits.max_estimated_cost_usd
            && plan.estimated_cost.cost_usd > *cap
        {
            plan.warnings.push(format!(
                "policy ({scope}, max_estimated_cost_usd {cap}): the plan's estimate ${:.4} is over the cap",
                plan.estimated_cost.cost_usd
            ));
        }
        Ok(Planned {
            plan,
            analysis: None,
            selected_agents: Vec::new(),
            usage: None,
            timings: Timings {
                analysis_ms: 0.0,
                total_ms: ms(started),
            },
        })
    }

    /// The largest parallel group: the configured one, or the policy's when smaller.
    fn max_parallel(&self, limits: &policy::Limits) -> usize {
        let configured = self.settings.max_parallel_agents.get();
        limits
            .max_parallel
            .as_ref()
            .map_or(configured, |(m, _)| m.get().min(configured))
    }

    /// Layers (at most `max_parallel` steps at once) and estimates `steps` into a plan.
    fn finish(
        &self,
        plan_id: String,
        steps: Vec<Step>,
        warnings: Vec<String>,
        planner_tokens: u64,
        max_parallel: usize,
    ) -> Result<Plan, TaskError> {
        let groups = optimizer::layer(&steps, max_parallel)?;
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

/// The request, trimmed, unless it is empty or longer than `max_chars`.
fn checked_query(query: &str, max_chars: usize) -> Result<&str, TaskError> {
    let query = query.trim();
    if query.is_empty() {
        return Err(TaskError::unprocessable(
            "empty_query",
            "parameters.natural_language is empty: there is nothing to plan",
        ));
    }
    let chars = query.chars().count();
    if chars > max_chars {
        return Err(TaskError::too_large(
            "query_too_large",
            format!("parameters.natural_language has {chars} characters; the limit is {max_chars}"),
        ));
    }
    Ok(query)
}

/// Every step must use an agent `roster` offers, of the step's type.
fn check_offered(steps: &[Step], roster: &Roster) -> Result<(), TaskError> {
    let offered: HashSet<(AgentType, &str)> = roster
        .knowledge_agents()
        .iter()
        .map(|a| (AgentType::Knowledge, a.agent_id.as_str()))
        .chain(
            roster
                .data_agents()
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

/// A caller's plan must use no agent the policy denies and no more steps than it allows.
fn check_policy(
    steps: &[Step],
    roster: Option<&Roster>,
    policy: &Policy,
    caller: Option<&str>,
) -> Result<(), TaskError> {
    if let Some((step, block)) = policy.forbidden_step(steps, roster, caller) {
        count_block(block.rule);
        return Err(TaskError::unprocessable(
            "policy_denied",
            format!(
                "step '{}' uses agent '{}', which the policy denies ({block})",
                step.step_id, step.agent_id
            ),
        ));
    }
    if let Some((max, scope)) = policy.limits(caller).max_steps
        && steps.len() > max.get()
    {
        count_block("max_steps");
        return Err(TaskError::unprocessable(
            "policy_denied",
            format!(
                "the plan has {} steps; the policy allows {max} ({scope}, max_steps)",
                steps.len()
            ),
        ));
    }
    Ok(())
}

fn count_block(rule: &'static str) {
    metrics::counter!("planner_policy_blocks_total", "rule" => rule).increment(1);
}

fn tokens_of(usage: &ModelUsage) -> u64 {
    usage.prompt_tokens + usage.completion_tokens
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

fn ms(since: Instant) -> f64 {
    (since.elapsed().as_secs_f64() * 1e5).round() / 100.0
}
