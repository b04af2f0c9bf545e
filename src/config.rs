//! Settings: the compiled-in defaults (`config/default.toml`, the one source of defaults), then an
//! optional file, then environment variables, then command-line overrides. Parsed once at
//! start-up into typed values (durations, platform lists, enums, optional paths); an invalid
//! setting is an error naming the setting and its variable, never a panic.

use std::path::{Path, PathBuf};
use std::time::Duration;

use config::{Config, File, FileFormat};
use serde::{Deserialize, Deserializer};
use thiserror::Error;

use crate::domain::Platform;

const DEFAULTS: &str = include_str!("../config/default.toml");

/// Every setting that has an environment variable: (variable, setting key). The one table that
/// messages, the README and `config/default.toml` name settings by.
pub const ENV_VARS: &[(&str, &str)] = &[
    ("PLANNER_AGENT_ID", "agent.id"),
    ("PLANNER_AGENT_NAME", "agent.name"),
    ("PLANNER_HOST", "server.host"),
    ("PLANNER_PORT", "server.port"),
    ("PLANNER_MAX_BODY_BYTES", "server.max_body_bytes"),
    ("PLANNER_MAX_IN_FLIGHT", "server.max_in_flight"),
    ("PLANNER_REQUEST_TIMEOUT", "server.request_timeout_seconds"),
    ("PLANNER_SHUTDOWN_GRACE", "server.shutdown_grace_seconds"),
    ("PLANNER_MAX_PARALLEL_AGENTS", "planner.max_parallel_agents"),
    ("PLANNER_DEFAULT_TIMEOUT", "planner.data_timeout_seconds"),
    (
        "PLANNER_KNOWLEDGE_TIMEOUT",
        "planner.knowledge_timeout_seconds",
    ),
    ("PLANNER_KNOWLEDGE_TOP_K", "planner.knowledge_top_k"),
    ("PLANNER_MAX_QUERY_CHARS", "planner.max_query_chars"),
    ("PLANNER_MAX_PLAN_STEPS", "planner.max_plan_steps"),
    ("PLANNER_DEFAULT_PLATFORMS", "planner.default_platforms"),
    (
        "PLANNER_COST_PER_1K_TOKENS",
        "planner.cost_per_1k_tokens_usd",
    ),
    (
        "PLANNER_KNOWLEDGE_OUTPUT_TOKENS",
        "planner.knowledge_output_tokens",
    ),
    ("PLANNER_DATA_OUTPUT_TOKENS", "planner.data_output_tokens"),
    ("LLM_PROVIDER", "llm.provider"),
    ("OLLAMA_HOST", "llm.ollama_host"),
    ("OLLAMA_MODEL", "llm.ollama_model"),
    ("OLLAMA_TIMEOUT", "llm.timeout_seconds"),
    ("OLLAMA_KEEP_ALIVE", "llm.keep_alive"),
    ("OPENAI_BASE_URL", "llm.openai_base_url"),
    ("OPENAI_MODEL", "llm.openai_model"),
    ("OPENAI_API_KEY", "llm.openai_api_key"),
    ("PLANNER_LLM_DEADLINE", "llm.deadline_seconds"),
    ("PLANNER_LLM_CONNECT_TIMEOUT", "llm.connect_timeout_seconds"),
    ("PLANNER_LLM_MAX_TOKENS", "llm.max_output_tokens"),
    ("PLANNER_LLM_NUM_CTX", "llm.num_ctx"),
    ("PLANNER_LLM_TEMPERATURE", "llm.temperature"),
    ("PLANNER_LLM_SEED", "llm.seed"),
    ("PLANNER_LLM_REPAIR", "llm.repair_retry"),
    ("PLANNER_LLM_WARMUP", "llm.warmup"),
    ("PLANNER_LLM_STRUCTURE", "llm.structure"),
    ("PLANNER_PROMPTS_DIR", "llm.prompts_dir"),
    ("PLANNER_BREAKER_FAILURES", "llm.breaker_failures"),
    ("PLANNER_BREAKER_COOLDOWN", "llm.breaker_cooldown_seconds"),
    ("PLANNER_ENABLE_CACHING", "cache.enabled"),
    ("PLANNER_CACHE_TTL", "cache.ttl_seconds"),
    ("PLANNER_CACHE_CAPACITY", "cache.capacity"),
    ("PLANNER_STRATEGY", "planner.strategy"),
    ("PLANNER_SHADOW_URL", "shadow.url"),
    ("PLANNER_SHADOW_QUEUE", "shadow.queue"),
    ("PLANNER_SHADOW_CONCURRENCY", "shadow.concurrency"),
    ("PLANNER_SHADOW_TIMEOUT", "shadow.timeout_seconds"),
    ("PLANNER_API_KEYS_FILE", "auth.keys_file"),
    ("PLANNER_AUTH_PROBES", "auth.protect_probes"),
    ("PLANNER_RATE_LIMIT_PER_SECOND", "auth.rate_per_second"),
    ("PLANNER_RATE_LIMIT_BURST", "auth.rate_burst"),
    ("POLICY_GATE_ENABLED", "policy.enabled"),
    ("POLICY_MODE", "policy.mode"),
    ("POLICY_CONFIG_PATH", "policy.config_path"),
    ("PLANNER_REDIS_URL", "redis.url"),
    ("PLANNER_REDIS_DEADLINE", "redis.deadline_seconds"),
    ("PLANNER_PUBLIC_URL", "a2a.public_url"),
    ("PLANNER_A2A_CARD", "a2a.card"),
    ("PLANNER_A2A_CARD_MAX_AGE", "a2a.card_max_age_seconds"),
    ("PLANNER_A2A_TASK_CAPACITY", "a2a.task_capacity"),
    ("PLANNER_A2A_TASK_BYTES", "a2a.task_max_bytes"),
    ("PLANNER_A2A_TASK_TTL", "a2a.task_ttl_seconds"),
    ("LOG_LEVEL", "log.level"),
    ("LOG_FORMAT", "log.format"),
];

/// `key (VARIABLE)`: how messages name a setting.
pub fn describe(key: &str) -> String {
    match ENV_VARS.iter().find(|(_, k)| *k == key) {
        Some((var, _)) => format!("{key} ({var})"),
        None => key.to_string(),
    }
}

/// Why the settings could not be loaded.
#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("configuration: {0}")]
    Load(String),
    #[error("configuration: {}", .0.join("; "))]
    Invalid(Vec<String>),
}

impl From<config::ConfigError> for ConfigError {
    fn from(e: config::ConfigError) -> Self {
        // The config crate names the key (`... for key `server.port``); add its variable.
        let mut message = e.to_string();
        for (var, key) in ENV_VARS {
            if message.contains(&format!("`{key}`")) {
                message.push_str(&format!(" (set by {var})"));
                break;
            }
        }
        ConfigError::Load(message)
    }
}

/// All settings of the service.
#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    pub agent: AgentSettings,
    pub server: ServerSettings,
    pub planner: PlannerSettings,
    pub llm: LlmSettings,
    pub cache: CacheSettings,
    pub a2a: A2aSettings,
    pub shadow: ShadowSettings,
    pub redis: RedisSettings,
    pub auth: AuthSettings,
    pub policy: PolicySettings,
    pub log: LogSettings,
}

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
    pub queue: usize,
    /// Shadow requests in flight at once.
    pub concurrency: usize,
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
    pub max_in_flight: usize,
    #[serde(rename = "request_timeout_seconds", deserialize_with = "seconds")]
    pub request_timeout: Duration,
    #[serde(rename = "shutdown_grace_seconds", deserialize_with = "seconds")]
    pub shutdown_grace: Duration,
}

/// The planning pipeline: parallelism, step timeouts, limits, estimates.
#[derive(Debug, Clone, Deserialize)]
pub struct PlannerSettings {
    pub max_parallel_agents: usize,
    pub data_timeout_seconds: u64,
    pub knowledge_timeout_seconds: u64,
    pub knowledge_top_k: u64,
    pub max_query_chars: usize,
    pub max_plan_steps: usize,
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
    pub breaker_failures: u32,
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
    pub task_capacity: usize,
    pub task_max_bytes: usize,
    #[serde(rename = "task_ttl_seconds", deserialize_with = "seconds")]
    pub task_ttl: Duration,
}

impl Settings {
    /// The JSON-RPC endpoint's public URL: the configured one, or `http://HOST:PORT/` (a
    /// wildcard bind address answered as `127.0.0.1`).
    pub fn public_url(&self) -> String {
        match &self.a2a.public_url {
            Some(url) => url.to_string(),
            None => {
                let host = match self.server.host.as_str() {
                    "0.0.0.0" | "::" | "[::]" | "" => "127.0.0.1",
                    h => h,
                };
                let host = if host.contains(':') && !host.starts_with('[') {
                    format!("[{host}]")
                } else {
                    host.to_string()
                };
                format!("http://{host}:{}/", self.server.port)
            }
        }
    }
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

impl Settings {
    /// Defaults, then `file`, then the process environment, then `overrides` (setting, value).
    pub fn load(
        file: Option<&Path>,
        overrides: &[(&str, String)],
    ) -> Result<Settings, ConfigError> {
        Self::load_with(file, |name| std::env::var(name).ok(), overrides)
    }

    /// As [`Settings::load`], with the environment given as a lookup function (for tests).
    pub fn load_with(
        file: Option<&Path>,
        env: impl Fn(&str) -> Option<String>,
        overrides: &[(&str, String)],
    ) -> Result<Settings, ConfigError> {
        let mut builder = Config::builder().add_source(File::from_str(DEFAULTS, FileFormat::Toml));
        if let Some(path) = file {
            builder = builder.add_source(File::from(path).required(true));
        }
        for (var, key) in ENV_VARS {
            if let Some(value) = env(var) {
                builder = builder.set_override(*key, value)?;
            }
        }
        for (key, value) in overrides {
            builder = builder.set_override(*key, value.clone())?;
        }
        let settings: Settings = builder.build()?.try_deserialize()?;
        settings.validate()?;
        Ok(settings)
    }

    /// Settings for tests and tools: the defaults with the model switched off.
    pub fn for_tests() -> Settings {
        let mut s =
            Self::load_with(None, |_| None, &[]).expect("the compiled-in defaults are valid");
        s.llm.provider = Provider::None;
        s.llm.warmup = false;
        s
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let (server, planner, llm) = (&self.server, &self.planner, &self.llm);
        let rules: &[(&str, bool, &str)] = &[
            (
                "agent.id",
                !self.agent.id.trim().is_empty(),
                "must not be empty",
            ),
            (
                "server.host",
                !server.host.trim().is_empty(),
                "must not be empty",
            ),
            (
                "server.max_body_bytes",
                server.max_body_bytes >= 1024,
                "must be at least 1024",
            ),
            (
                "server.max_in_flight",
                server.max_in_flight >= 1,
                "must be at least 1",
            ),
            (
                "server.request_timeout_seconds",
                !server.request_timeout.is_zero(),
                "must be positive",
            ),
            (
                "planner.max_parallel_agents",
                planner.max_parallel_agents >= 1,
                "must be at least 1",
            ),
            (
                "planner.data_timeout_seconds",
                planner.data_timeout_seconds >= 1,
                "must be at least 1",
            ),
            (
                "planner.knowledge_timeout_seconds",
                planner.knowledge_timeout_seconds >= 1,
                "must be at least 1",
            ),
            (
                "planner.max_query_chars",
                planner.max_query_chars >= 1,
                "must be at least 1",
            ),
            (
                "planner.max_plan_steps",
                planner.max_plan_steps >= 1,
                "must be at least 1",
            ),
            (
                "planner.default_platforms",
                !planner.default_platforms.is_empty(),
                "must name at least one platform",
            ),
            (
                "planner.cost_per_1k_tokens_usd",
                planner.cost_per_1k_tokens_usd >= 0.0,
                "must not be negative",
            ),
            (
                "llm.timeout_seconds",
                !llm.timeout.is_zero(),
                "must be positive",
            ),
            (
                "llm.deadline_seconds",
                !llm.deadline.is_zero(),
                "must be positive",
            ),
            (
                "llm.connect_timeout_seconds",
                !llm.connect_timeout.is_zero(),
                "must be positive",
            ),
            (
                "llm.max_output_tokens",
                llm.max_output_tokens >= 16,
                "must be at least 16",
            ),
            ("llm.num_ctx", llm.num_ctx >= 256, "must be at least 256"),
            (
                "llm.temperature",
                (0.0..=2.0).contains(&llm.temperature),
                "must be within 0..2",
            ),
            (
                "llm.breaker_failures",
                llm.breaker_failures >= 1,
                "must be at least 1",
            ),
            ("shadow.queue", self.shadow.queue >= 1, "must be at least 1"),
            (
                "shadow.concurrency",
                self.shadow.concurrency >= 1,
                "must be at least 1",
            ),
            (
                "shadow.timeout_seconds",
                !self.shadow.timeout.is_zero(),
                "must be positive",
            ),
            (
                "a2a.task_capacity",
                self.a2a.task_capacity >= 1,
                "must be at least 1",
            ),
            (
                "a2a.task_max_bytes",
                self.a2a.task_max_bytes >= 64 * 1024,
                "must be at least 65536",
            ),
            (
                "a2a.task_ttl_seconds",
                !self.a2a.task_ttl.is_zero(),
                "must be positive",
            ),
            (
                "cache.ttl_seconds",
                !self.cache.ttl.is_zero(),
                "must be positive",
            ),
            (
                "server.request_timeout_seconds",
                server.request_timeout > llm.deadline,
                "must exceed llm.deadline_seconds (PLANNER_LLM_DEADLINE) so a slow model falls back instead of timing the request out",
            ),
        ];
        let problems: Vec<String> = rules
            .iter()
            .filter(|(_, ok, _)| !ok)
            .map(|(key, _, requirement)| format!("{} {requirement}", describe(key)))
            .collect();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(ConfigError::Invalid(problems))
        }
    }
}

/// A number of seconds (integer or fractional, not negative) as a [`Duration`].
fn seconds<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let s = f64::deserialize(d)?;
    Duration::try_from_secs_f64(s).map_err(|_| {
        serde::de::Error::custom(format!("{s} is not a number of seconds (0 or more)"))
    })
}

/// `kql`, `kql,spl` or `["kql", "spl"]`.
fn platform_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Platform>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        One(String),
        Many(Vec<String>),
    }
    let names = match Raw::deserialize(d)? {
        Raw::One(s) => s.split(',').map(str::to_string).collect(),
        Raw::Many(v) => v,
    };
    let mut out: Vec<Platform> = Vec::new();
    for p in names.iter().filter_map(|n| Platform::parse(n)) {
        if !out.contains(&p) {
            out.push(p);
        }
    }
    Ok(out)
}

/// A case-insensitive enum value (`JSON`, ` text `).
fn lowercase_enum<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    let raw = String::deserialize(d)?;
    let value = serde_json::Value::String(raw.trim().to_lowercase());
    serde_json::from_value(value).map_err(serde::de::Error::custom)
}

fn log_level<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let level = String::deserialize(d)?.trim().to_lowercase();
    tracing_subscriber::EnvFilter::try_new(&level).map_err(|_| {
        serde::de::Error::custom(format!(
            "'{level}' is not a level (error, warn, info, debug, trace) or a tracing filter"
        ))
    })?;
    Ok(level)
}

/// Ollama accepts `OLLAMA_HOST=0.0.0.0:11434`; a client needs a scheme and, for ollama-rs, a
/// trailing slash so paths join correctly.
fn ollama_url<'de, D: Deserializer<'de>>(d: D) -> Result<reqwest::Url, D::Error> {
    let raw = String::deserialize(d)?;
    let host = raw.trim();
    let mut host = if host.contains("://") {
        host.to_string()
    } else {
        format!("http://{host}")
    };
    if !host.ends_with('/') {
        host.push('/');
    }
    reqwest::Url::parse(&host)
        .map_err(|e| serde::de::Error::custom(format!("'{raw}' is not a valid URL: {e}")))
}

fn openai_url<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let raw = String::deserialize(d)?;
    let url = raw.trim().trim_end_matches('/').to_string();
    reqwest::Url::parse(&url)
        .map_err(|e| serde::de::Error::custom(format!("'{raw}' is not a valid URL: {e}")))?;
    Ok(url)
}

/// An empty string means "none"; otherwise an http(s) URL (a missing trailing slash added).
fn optional_url<'de, D: Deserializer<'de>>(d: D) -> Result<Option<reqwest::Url>, D::Error> {
    let raw = String::deserialize(d)?;
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    let url = reqwest::Url::parse(raw)
        .map_err(|e| serde::de::Error::custom(format!("'{raw}' is not a valid URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(serde::de::Error::custom(format!(
            "'{raw}' is not an http or https URL"
        )));
    }
    Ok(Some(url))
}

/// An empty string means "none".
fn optional_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let raw = String::deserialize(d)?;
    let raw = raw.trim();
    Ok((!raw.is_empty()).then(|| raw.to_string()))
}

/// An empty string means "none".
fn optional_path<'de, D: Deserializer<'de>>(d: D) -> Result<Option<PathBuf>, D::Error> {
    let raw = String::deserialize(d)?;
    let raw = raw.trim();
    Ok((!raw.is_empty()).then(|| PathBuf::from(raw)))
}

/// `-1` (forever), `0` (unload after each call), or a number with `s`, `m` or `h`.
fn keep_alive<'de, D: Deserializer<'de>>(d: D) -> Result<KeepAlive, D::Error> {
    let raw = String::deserialize(d)?;
    let raw = raw.trim();
    let bad = || {
        serde::de::Error::custom(format!(
            "'{raw}': expected -1, 0 or a number with s, m or h"
        ))
    };
    match raw {
        "-1" => return Ok(KeepAlive::Forever),
        "0" => return Ok(KeepAlive::Unload),
        _ => {}
    }
    let (num, unit) = raw.split_at(raw.len().saturating_sub(1));
    let n: u64 = num.parse().map_err(|_| bad())?;
    let secs = match unit {
        "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        _ => return Err(bad()),
    };
    Ok(KeepAlive::For(Duration::from_secs(secs)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn load(env: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let env: HashMap<String, String> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::load_with(None, |k| env.get(k).cloned(), &[])
    }

    #[test]
    fn defaults_are_valid_and_match_the_seed() {
        let s = load(&[]).unwrap();
        assert_eq!(s.agent.id, "workflow_planner");
        assert_eq!((s.server.host.as_str(), s.server.port), ("0.0.0.0", 9000));
        assert_eq!(s.planner.max_parallel_agents, 5);
        assert_eq!(s.planner.data_timeout_seconds, 60);
        assert_eq!(s.planner.default_platforms, [Platform::Kql]);
        assert_eq!(s.llm.provider, Provider::Ollama);
        assert_eq!(s.llm.ollama_host.as_str(), "http://127.0.0.1:11434/");
        assert_eq!(s.llm.keep_alive, KeepAlive::For(Duration::from_secs(1800)));
        assert_eq!(s.llm.prompts_dir, None);
        assert_eq!(s.log.format, LogFormat::Json);
        assert!(s.cache.enabled);
    }

    #[test]
    fn the_seed_environment_names_override_defaults() {
        let s = load(&[
            ("PLANNER_PORT", "9100"),
            ("OLLAMA_HOST", "ollama:11434"),
            ("OLLAMA_MODEL", "qwen2.5:3b"),
            ("OLLAMA_TIMEOUT", "2.5"),
            ("PLANNER_ENABLE_CACHING", "false"),
            ("PLANNER_MAX_PARALLEL_AGENTS", "3"),
            ("PLANNER_DEFAULT_PLATFORMS", "SPL, sql,spl"),
            ("PLANNER_PROMPTS_DIR", "/etc/planner/prompts"),
            ("LOG_LEVEL", "DEBUG"),
            ("LOG_FORMAT", " Text "),
        ])
        .unwrap();
        assert_eq!(s.server.port, 9100);
        assert_eq!(s.llm.ollama_host.as_str(), "http://ollama:11434/");
        assert_eq!(s.llm.ollama_model, "qwen2.5:3b");
        assert_eq!(s.llm.timeout, Duration::from_millis(2500));
        assert!(!s.cache.enabled);
        assert_eq!(s.planner.max_parallel_agents, 3);
        assert_eq!(s.planner.default_platforms, [Platform::Spl, Platform::Sql]);
        assert_eq!(
            s.llm.prompts_dir.as_deref(),
            Some(Path::new("/etc/planner/prompts"))
        );
        assert_eq!(s.log.level, "debug");
        assert_eq!(s.log.format, LogFormat::Text);
    }

    #[test]
    fn invalid_values_are_reported_by_setting_and_variable() {
        let err = load(&[
            ("PLANNER_MAX_PARALLEL_AGENTS", "0"),
            ("PLANNER_LLM_NUM_CTX", "8"),
        ])
        .unwrap_err()
        .to_string();
        assert!(
            err.contains(
                "planner.max_parallel_agents (PLANNER_MAX_PARALLEL_AGENTS) must be at least 1"
            ),
            "{err}"
        );
        assert!(err.contains("llm.num_ctx (PLANNER_LLM_NUM_CTX)"), "{err}");
        for (var, value, key) in [
            ("PLANNER_PORT", "ninety", "server.port"),
            ("LLM_PROVIDER", "gpt", "llm.provider"),
            ("LOG_FORMAT", "xml", "log.format"),
            ("OLLAMA_KEEP_ALIVE", "soon", "llm.keep_alive"),
            (
                "PLANNER_REQUEST_TIMEOUT",
                "-3",
                "server.request_timeout_seconds",
            ),
            ("OPENAI_BASE_URL", "not a url", "llm.openai_base_url"),
        ] {
            let err = load(&[(var, value)]).unwrap_err().to_string();
            assert!(err.contains(key) && err.contains(var), "{var}: {err}");
        }
    }

    #[test]
    fn the_request_timeout_must_exceed_the_model_deadline() {
        let err = load(&[
            ("PLANNER_REQUEST_TIMEOUT", "5"),
            ("PLANNER_LLM_DEADLINE", "5"),
        ])
        .unwrap_err()
        .to_string();
        assert!(err.contains("PLANNER_REQUEST_TIMEOUT"), "{err}");
    }

    #[test]
    fn keep_alive_accepts_ollama_durations() {
        for (raw, want) in [
            ("-1", KeepAlive::Forever),
            ("0", KeepAlive::Unload),
            ("45s", KeepAlive::For(Duration::from_secs(45))),
            ("2h", KeepAlive::For(Duration::from_secs(7200))),
        ] {
            let s = load(&[("OLLAMA_KEEP_ALIVE", raw)]).unwrap();
            assert_eq!(s.llm.keep_alive, want, "{raw}");
        }
    }

    #[test]
    fn every_variable_names_a_setting_the_defaults_have() {
        let defaults: toml_like::Keys = toml_like::keys(DEFAULTS);
        for (var, key) in ENV_VARS {
            assert!(
                defaults.iter().any(|k| k == key),
                "{var} -> {key} is not in config/default.toml"
            );
            assert!(
                DEFAULTS.contains(var),
                "config/default.toml does not name {var}"
            );
        }
    }

    /// The dotted keys of a flat two-level TOML file, enough for the check above.
    mod toml_like {
        pub type Keys = Vec<String>;
        pub fn keys(text: &str) -> Keys {
            let mut section = String::new();
            let mut out = Vec::new();
            for line in text.lines().map(str::trim) {
                if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                    section = name.to_string();
                } else if let Some((key, _)) = line.split_once('=')
                    && !line.starts_with('#')
                {
                    out.push(format!("{section}.{}", key.trim()));
                }
            }
            out
        }
    }

    #[test]
    fn a_missing_config_file_is_an_error() {
        let err = Settings::load_with(Some(Path::new("/nonexistent/planner.toml")), |_| None, &[])
            .unwrap_err();
        assert!(err.to_string().contains("planner.toml"), "{err}");
    }
}
