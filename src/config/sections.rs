//! The settings by section, as typed values: durations, platform lists, enums, optional paths
//! and URLs, and counts that cannot be zero.

use std::num::{NonZeroU32, NonZeroU64, NonZeroUsize};
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::de::{
    keep_alive, log_level, lowercase_enum, ollama_url, openai_url, optional_path, optional_string,
    optional_url, platform_list, seconds,
};
use crate::domain::Platform;

/// Who may call, and how often.
#[derive(Debug, Clone, Deserialize)]
pub struct AuthSettings {
    /// Lines `CALLER_NAME SHA256_HEX`; `None` leaves the planner open.
    #[serde(deserialize_with = "optional_path")]
    pub keys_file: Option<PathBuf>,
    /// Whether `/ready` and `/metrics` need a token too (`/health` never does).
    pub protect_probes: bool,
    /// Requests per second per caller (per client address without authentication); 0 is off.
    pub rate_per_second: f64,
    /// Requests a caller may send at once before the rate applies.
    pub rate_burst: u32,
}

/// The policy gate: which file, which mode.
#[derive(Debug, Clone, Deserialize)]
pub struct PolicySettings {
    pub enabled: bool,
    pub mode: String,
    pub config_path: PathBuf,
}

/// The tier replicas share: model answers and A2A tasks.
#[derive(Debug, Clone, Deserialize)]
pub struct RedisSettings {
    /// `redis://host:6379/0`; `None` keeps every replica on its own.
    #[serde(deserialize_with = "optional_string")]
    pub url: Option<String>,
    /// The longest one Redis operation may take before the replica goes on without it.
    #[serde(rename = "deadline_seconds", deserialize_with = "seconds")]
    pub deadline: Duration,
}

/// Copies of `/a2a/task` requests sent to another deployment, for comparison.
#[derive(Debug, Clone, Deserialize)]
pub struct ShadowSettings {
    /// The other deployment's base URL; `None` turns shadowing off.
    #[serde(deserialize_with = "optional_url")]
    pub url: Option<reqwest::Url>,
    /// Requests waiting for the shadow; more are dropped (and counted).
    pub queue: NonZeroUsize,
    /// Shadow requests in flight at once.
    pub concurrency: NonZeroUsize,
    #[serde(rename = "timeout_seconds", deserialize_with = "seconds")]
    pub timeout: Duration,
}

/// How the planner names itself in responses.
#[derive(Debug, Clone, Deserialize)]
pub struct AgentSettings {
    pub id: String,
    pub name: String,
}

/// The HTTP edge: address, limits, timeouts.
#[derive(Debug, Clone, Deserialize)]
pub struct ServerSettings {
    pub host: String,
    pub port: u16,
    pub max_body_bytes: usize,
    pub max_in_flight: NonZeroUsize,
    #[serde(rename = "request_timeout_seconds", deserialize_with = "seconds")]
    pub request_timeout: Duration,
    #[serde(rename = "shutdown_grace_seconds", deserialize_with = "seconds")]
    pub shutdown_grace: Duration,
}

/// The planning pipeline: parallelism, step timeouts, limits, estimates.
#[derive(Debug, Clone, Deserialize)]
pub struct PlannerSettings {
    pub max_parallel_agents: NonZeroUsize,
    pub data_timeout_seconds: NonZeroU64,
    pub knowledge_timeout_seconds: NonZeroU64,
    pub knowledge_top_k: u64,
    pub max_query_chars: NonZeroUsize,
    pub max_plan_steps: NonZeroUsize,
    #[serde(deserialize_with = "platform_list")]
    pub default_platforms: Vec<Platform>,
    pub cost_per_1k_tokens_usd: f64,
    #[serde(deserialize_with = "lowercase_enum")]
    pub strategy: Strategy,
    pub knowledge_output_tokens: u64,
    pub data_output_tokens: u64,
}

/// How `/a2a/task` plans.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Strategy {
    /// The planner: analysis, selection, layering, estimates.
    Planner,
    /// The old mock's answers, exactly (the rollback side of a migration).
    Legacy,
}

/// Which model server, if any, the analysis asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    Ollama,
    Openai,
    None,
}

/// How the answer's shape is imposed on an OpenAI-compatible server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Structure {
    /// A compact grammar where the server is llama.cpp (it says so in `/models`), else the
    /// JSON schema.
    Auto,
    /// `response_format: json_schema`: portable (OpenAI, vLLM, llama.cpp, LM Studio).
    Schema,
    /// A GBNF `grammar` with no whitespace: llama.cpp only, and the fastest there.
    Grammar,
}

/// How long Ollama keeps the model loaded after a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeepAlive {
    /// `-1`: never unload.
    Forever,
    /// `0`: unload after each call.
    Unload,
    /// `30m`, `1h`, `45s`.
    For(Duration),
}

/// The model side of the analysis.
#[derive(Debug, Clone, Deserialize)]
pub struct LlmSettings {
    pub provider: Provider,
    /// Ollama's base URL, always with a scheme and a trailing slash.
    #[serde(deserialize_with = "ollama_url")]
    pub ollama_host: reqwest::Url,
    pub ollama_model: String,
    /// The OpenAI-compatible base URL, without a trailing slash (`…/v1`).
    #[serde(deserialize_with = "openai_url")]
    pub openai_base_url: String,
    pub openai_model: String,
    pub openai_api_key: String,
    #[serde(rename = "timeout_seconds", deserialize_with = "seconds")]
    pub timeout: Duration,
    #[serde(rename = "deadline_seconds", deserialize_with = "seconds")]
    pub deadline: Duration,
    #[serde(rename = "connect_timeout_seconds", deserialize_with = "seconds")]
    pub connect_timeout: Duration,
    pub max_output_tokens: u32,
    pub num_ctx: u64,
    pub temperature: f32,
    pub seed: i32,
    #[serde(deserialize_with = "keep_alive")]
    pub keep_alive: KeepAlive,
    pub repair_retry: bool,
    pub warmup: bool,
    #[serde(deserialize_with = "lowercase_enum")]
    pub structure: Structure,
    #[serde(deserialize_with = "optional_path")]
    pub prompts_dir: Option<PathBuf>,
    pub breaker_failures: NonZeroU32,
    #[serde(rename = "breaker_cooldown_seconds", deserialize_with = "seconds")]
    pub breaker_cooldown: Duration,
}

/// The cache of model answers.
#[derive(Debug, Clone, Deserialize)]
pub struct CacheSettings {
    pub enabled: bool,
    #[serde(rename = "ttl_seconds", deserialize_with = "seconds")]
    pub ttl: Duration,
    pub capacity: u64,
}

/// Which agent card is served (see the README's "Use from any A2A client").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CardStyle {
    /// The v1.0 fields plus the v0.3 `url`, `protocolVersion`, `preferredTransport`: both SDK
    /// generations can read it (what a2a-sdk 1.x itself serves).
    Dual,
    /// Only the v1.0 fields: passes strict v1.0 card validation; a2a-sdk 0.3.x cannot read it.
    V1,
}

/// The standard A2A protocol: card and task store.
#[derive(Debug, Clone, Deserialize)]
pub struct A2aSettings {
    /// The URL clients reach the JSON-RPC endpoint at; `None` derives it from the bind address.
    #[serde(deserialize_with = "optional_url")]
    pub public_url: Option<reqwest::Url>,
    #[serde(deserialize_with = "lowercase_enum")]
    pub card: CardStyle,
    #[serde(rename = "card_max_age_seconds", deserialize_with = "seconds")]
    pub card_max_age: Duration,
    pub task_capacity: NonZeroUsize,
    pub task_max_bytes: usize,
    #[serde(rename = "task_ttl_seconds", deserialize_with = "seconds")]
    pub task_ttl: Duration,
}

/// Log lines: filter and format.
#[derive(Debug, Clone, Deserialize)]
pub struct LogSettings {
    #[serde(deserialize_with = "log_level")]
    pub level: String,
    #[serde(deserialize_with = "lowercase_enum")]
    pub format: LogFormat,
}

/// The format of log lines on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Json,
    Text,
}
