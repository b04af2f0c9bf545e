//! Settings: the compiled-in defaults (`config/default.toml`, the one source of defaults), then an
//! optional file, then environment variables, then command-line overrides. Parsed once at
//! start-up into typed values (durations, platform lists, enums, optional paths); an invalid
//! setting is an error naming the setting and its variable, never a panic.

mod de;
mod keys;

use std::num::{NonZeroU32, NonZeroU64, NonZeroUsize};
use std::path::{Path, PathBuf};
use std::time::Duration;

use config::{Config, File, FileFormat};
use de::{
    keep_alive, log_level, lowercase_enum, ollama_url, openai_url, optional_path, optional_string,
    optional_url, platform_list, seconds,
};
use serde::Deserialize;
use thiserror::Error;

use crate::domain::Platform;

pub use keys::{ENV_VARS, describe};

const DEFAULTS: &str = include_str!("../../config/default.toml");

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
                "server.request_timeout_seconds",
                !server.request_timeout.is_zero(),
                "must be positive",
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
                "shadow.timeout_seconds",
                !self.shadow.timeout.is_zero(),
                "must be positive",
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
        assert_eq!(s.planner.max_parallel_agents.get(), 5);
        assert_eq!(s.planner.data_timeout_seconds.get(), 60);
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
        assert_eq!(s.planner.max_parallel_agents.get(), 3);
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
        // A value the type rules out, named by the config crate; one a rule rules out, by ours.
        let err = load(&[("PLANNER_MAX_PARALLEL_AGENTS", "0")])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("planner.max_parallel_agents")
                && err.contains("PLANNER_MAX_PARALLEL_AGENTS")
                && err.contains("nonzero"),
            "{err}"
        );
        let err = load(&[
            ("PLANNER_LLM_NUM_CTX", "8"),
            ("PLANNER_LLM_MAX_TOKENS", "4"),
        ])
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("llm.max_output_tokens (PLANNER_LLM_MAX_TOKENS)"),
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
