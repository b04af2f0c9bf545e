//! The planner agent: turns a natural-language request into an execution plan over the
//! knowledge and data agents an orchestrator offers (A2A task API, see `CONTRACT.md` in the
//! shared material and the README).
//!
//! Data flows one way:
//!
//! ```text
//! request ─▶ analysis ─▶ selection ─▶ draft steps ─▶ layered plan ─▶ estimates ─▶ response
//!            (keyword,    (agents)     (generator)    (optimizer)     (estimator)
//!             + model)
//! ```
//!
//! # Layout
//! - [`wire`]: the A2A task as it travels; parsed into [`domain`] types once, at the edge.
//! - [`domain`]: platforms, knowledge domains, the analysis, steps and plans.
//! - [`pipeline`]: the pure stages (no I/O, no async), each testable and benchmarkable alone.
//! - [`llm`]: the model side of the analysis: Ollama or OpenAI-compatible backends behind one
//!   enum, with deadline, circuit breaker, cache and fusion with the keyword analysis.
//! - [`planner`]: the one async function that runs the stages in order.
//! - [`http`]: router, middleware, handlers and probes.
//! - [`config`]: layered settings (defaults, file, environment, flags).
//! - [`error`]: the task boundary's error type.

pub mod config;
pub mod domain;
pub mod error;
pub mod http;
pub mod llm;
pub mod pipeline;
pub mod planner;
pub mod wire;

use std::sync::Arc;

use config::Settings;
use llm::LlmAnalyzer;
use planner::Planner;

/// The planner the settings describe, with its model analyzer when one is configured.
pub fn build_planner(settings: Settings) -> Result<Arc<Planner>, String> {
    let llm = LlmAnalyzer::from_settings(&settings.llm, &settings.cache)?.map(Arc::new);
    Ok(Arc::new(Planner::new(Arc::new(settings), llm)))
}
