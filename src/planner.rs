//! The planner: runs the pure stages in order for `create_plan`, and the optimizer and
//! estimator for `optimize_plan`. The only I/O on this path is the optional model call behind
//! [`crate::llm::LlmAnalyzer`]; everything else is a pure function of the request.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Instant;

use crate::config::Settings;
use crate::domain::{AgentType, Plan, PlanningContext, QueryAnalysis, Step};
use crate::error::TaskError;
use crate::llm::LlmAnalyzer;
use crate::pipeline::analyzer::{self, AnalyzerOptions};
use crate::pipeline::estimator::{self, EstimatorOptions};
use crate::pipeline::generator::{self, GeneratorOptions};
use crate::pipeline::optimizer;
use crate::pipeline::selector::{self, Selection};
use crate::wire::{LlmUsage, Metadata, PlanInput, SelectedAgent, TaskResult, Timings};

pub const VERSION: &str = env!("CARGO_PKG_VERSION");

#[derive(Debug)]
pub struct Planner {
    settings: Arc<Settings>,
    analyzer: AnalyzerOptions,
    generator: GeneratorOptions,
    estimator: EstimatorOptions,
    llm: Option<Arc<LlmAnalyzer>>,
}

impl Planner {
    /// A planner; `llm` is `None` when no model is configured (keyword analysis only).
    pub fn new(settings: Arc<Settings>, llm: Option<Arc<LlmAnalyzer>>) -> Planner {
        let p = &settings.planner;
        Planner {
            analyzer: AnalyzerOptions {
                default_platforms: settings.default_platforms(),
            },
            generator: GeneratorOptions {
                knowledge_timeout_seconds: p.knowledge_timeout_seconds,
                data_timeout_seconds: p.data_timeout_seconds,
                knowledge_top_k: p.knowledge_top_k,
            },
            estimator: EstimatorOptions {
                cost_per_1k_tokens_usd: p.cost_per_1k_tokens_usd,
                knowledge_output_tokens: p.knowledge_output_tokens,
                data_output_tokens: p.data_output_tokens,
            },
            llm,
            settings,
        }
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    pub fn llm(&self) -> Option<&Arc<LlmAnalyzer>> {
        self.llm.as_ref()
    }

    /// Plans `query` for the agents in `ctx`. `warnings` are carried into the plan (problems
    /// found while reading the request). A model failure never fails the plan.
    pub async fn create_plan(
        &self,
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
        if chars > self.settings.planner.max_query_chars {
            return Err(TaskError::too_large(
                "query_too_large",
                format!(
                    "parameters.natural_language has {chars} characters; the limit is {}",
                    self.settings.planner.max_query_chars
                ),
            ));
        }

        let keyword = analyzer::analyze(query, ctx, &self.analyzer);
        let (analysis, usage) = match &self.llm {
            Some(llm) => llm.analyze(query, ctx, keyword).await,
            None => (keyword.analysis, None),
        };
        let analysis_ms = ms(started);

        let selection = selector::select(query, &analysis, ctx);
        let steps = generator::generate(query, &analysis, &selection, &self.generator);
        let selected_agents = selected_agents(&selection);
        warnings.extend(selection.warnings);
        let plan = self.finish(format!("plan_{task_id}"), steps, warnings, usage.as_ref())?;
        Ok(TaskResult {
            plan,
            analysis: Some(analysis),
            selected_agents,
            metadata: self.metadata("create_plan", analysis_ms, started, usage),
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
        let started = Instant::now();
        let limit = self.settings.planner.max_plan_steps;
        if input.steps.len() > limit {
            return Err(TaskError::too_large(
                "plan_too_large",
                format!(
                    "parameters.plan.steps has {} steps; the limit is {limit}",
                    input.steps.len()
                ),
            ));
        }
        let p = &self.settings.planner;
        let steps: Vec<Step> = input
            .steps
            .into_iter()
            .map(|s| s.into_step(p.knowledge_timeout_seconds, p.data_timeout_seconds))
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
            if !unknown.is_empty() {
                return Err(TaskError::unprocessable(
                    "unknown_agent",
                    format!(
                        "agents not offered in execution_context.available_agents: {}",
                        unknown.join("; ")
                    ),
                ));
            }
        }
        let plan_id = input.plan_id.unwrap_or_else(|| format!("plan_{task_id}"));
        let plan = self.finish(plan_id, steps, input.warnings.unwrap_or_default(), None)?;
        Ok(TaskResult {
            plan,
            analysis: None,
            selected_agents: Vec::new(),
            metadata: self.metadata("optimize_plan", 0.0, started, None),
        })
    }

    /// Layers and estimates `steps` into a plan.
    fn finish(
        &self,
        plan_id: String,
        steps: Vec<Step>,
        warnings: Vec<String>,
        usage: Option<&LlmUsage>,
    ) -> Result<Plan, TaskError> {
        let groups = optimizer::layer(&steps, self.settings.planner.max_parallel_agents)?;
        let planner_tokens = usage.map_or(0, |u| u.prompt_tokens + u.completion_tokens);
        let est = estimator::estimate(
            &steps,
            &groups,
            planner_tokens,
            estimator::tokenizer(),
            &self.estimator,
        );
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

    fn metadata(
        &self,
        action: &str,
        analysis_ms: f64,
        started: Instant,
        llm: Option<LlmUsage>,
    ) -> Metadata {
        Metadata {
            planner_version: VERSION.to_string(),
            action: action.to_string(),
            timings_ms: Timings {
                analysis_ms,
                total_ms: ms(started),
            },
            llm,
        }
    }
}

/// Keyword analysis alone, for tools that want the analysis without a plan.
pub fn keyword_analysis(query: &str, ctx: &PlanningContext, settings: &Settings) -> QueryAnalysis {
    let opts = AnalyzerOptions {
        default_platforms: settings.default_platforms(),
    };
    analyzer::analyze(query, ctx, &opts).analysis
}

fn selected_agents(selection: &Selection) -> Vec<SelectedAgent> {
    let knowledge = selection.knowledge.iter().map(|k| SelectedAgent {
        agent_id: k.agent.agent_id.clone(),
        agent_type: AgentType::Knowledge,
        serves: k.domain.to_string(),
        reason: k.reason.clone(),
    });
    let data = selection.data.iter().map(|d| SelectedAgent {
        agent_id: d.agent.agent_id.clone(),
        agent_type: AgentType::Data,
        serves: d.platform.to_string(),
        reason: d.reason.clone(),
    });
    knowledge.chain(data).collect()
}

fn ms(since: Instant) -> f64 {
    (since.elapsed().as_secs_f64() * 1e5).round() / 100.0
}
