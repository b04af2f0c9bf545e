//! The planner agent: turns a natural-language request into an execution plan over the
//! knowledge and data agents an orchestrator offers (the A2A task API described in the README).
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
//! - [`pipeline`]: the pure stages (no I/O, no async), each testable and benchmarkable alone:
//!   [`pipeline::analyzer`] (keyword analysis and its fusion with a model's answer),
//!   [`pipeline::selector`], [`pipeline::generator`], [`pipeline::optimizer`],
//!   [`pipeline::estimator`], and [`pipeline::text`] (tokens and matching).
//! - [`llm`]: the model side: Ollama or OpenAI-compatible backends behind one enum, and the
//!   [`llm::Advisor`] that makes a model safe to depend on (deadline, breaker, cache).
//! - [`planner`]: the one async function that runs the stages in order.
//! - [`a2a`]: the standard A2A protocol (agent card, JSON-RPC v1.0 and v0.3, task store).
//! - [`http`]: router, middleware, handlers, probes, and `serve` with a bounded drain.
//! - [`legacy`]: the old mock's answers (`PLANNER_STRATEGY=legacy`), the rollback side.
//! - [`rollout`]: plan summaries, shadow traffic and the side-by-side `compare` command.
//! - [`redis`]: the client of the Redis tier replicas share (model answers, A2A tasks), with
//!   deadlines and degradation to each replica alone.
//! - [`cli`]: the binary's commands (`serve`, `plan`, `healthcheck`).
//! - [`config`]: typed settings (defaults, file, environment, flags).
//! - [`telemetry`]: tracing and the Prometheus recorder.
//! - [`tokens`]: the shared cl100k token counter.
//! - [`error`]: the task boundary's error type.

pub mod a2a;
pub mod cli;
pub mod config;
pub mod domain;
pub mod error;
pub mod http;
pub mod legacy;
pub mod llm;
pub mod pipeline;
pub mod planner;
pub mod redis;
pub mod rollout;
pub mod security;
pub mod telemetry;
pub mod tokens;
pub mod wire;
