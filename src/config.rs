//! Settings: the compiled-in defaults (`config/default.toml`), then an optional file, then
//! environment variables, then command-line overrides. Validated once at start-up; an invalid
//! setting is an error message naming it, never a panic.

use std::path::Path;
use std::time::Duration;

use config::{Config, File, FileFormat};
use serde::Deserialize;
use thiserror::Error;

use crate::domain::Platform;

const DEFAULTS: &str = include_str!("../config/default.toml");

/// Environment variables and the setting each one sets.
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
    ("PLANNER_PROMPTS_DIR", "llm.prompts_dir"),
    ("PLANNER_BREAKER_FAILURES", "llm.breaker_failures"),
    ("PLANNER_BREAKER_COOLDOWN", "llm.breaker_cooldown_seconds"),
    ("PLANNER_LLM_MIN_CONFIDENCE", "llm.min_confidence"),
    ("PLANNER_ENABLE_CACHING", "cache.enabled"),
    ("PLANNER_CACHE_TTL", "cache.ttl_seconds"),
    ("PLANNER_CACHE_CAPACITY", "cache.capacity"),
    ("LOG_LEVEL", "log.level"),
    ("LOG_FORMAT", "log.format"),
];

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("configuration: {0}")]
    Load(#[from] config::ConfigError),
    #[error("configuration: {}", .0.join("; "))]
    Invalid(Vec<String>),
}

#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    pub agent: AgentSettings,
    pub server: ServerSettings,
    pub planner: PlannerSettings,
    pub llm: LlmSettings,
    pub cache: CacheSettings,
    pub log: LogSettings,
}

#[derive(Debug, Clone, Deserialize)]
pub struct AgentSettings {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ServerSettings {
    pub host: String,
    pub port: u16,
    pub max_body_bytes: usize,
    pub max_in_flight: usize,
    pub request_timeout_seconds: f64,
    pub shutdown_grace_seconds: f64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct PlannerSettings {
    pub max_parallel_agents: usize,
    pub data_timeout_seconds: u64,
    pub knowledge_timeout_seconds: u64,
    pub knowledge_top_k: u64,
    pub max_query_chars: usize,
    pub max_plan_steps: usize,
    pub default_platforms: String,
    pub cost_per_1k_tokens_usd: f64,
    pub knowledge_output_tokens: u64,
    pub data_output_tokens: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    Ollama,
    Openai,
    None,
}

#[derive(Debug, Clone, Deserialize)]
pub struct LlmSettings {
    pub provider: Provider,
    pub ollama_host: String,
    pub ollama_model: String,
    pub openai_base_url: String,
    pub openai_model: String,
    pub openai_api_key: String,
    pub timeout_seconds: f64,
    pub deadline_seconds: f64,
    pub connect_timeout_seconds: f64,
    pub max_output_tokens: u32,
    pub num_ctx: u64,
    pub temperature: f32,
    pub seed: i32,
    pub keep_alive: String,
    pub repair_retry: bool,
    pub warmup: bool,
    pub prompts_dir: String,
    pub breaker_failures: u32,
    pub breaker_cooldown_seconds: f64,
    pub min_confidence: f64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct CacheSettings {
    pub enabled: bool,
    pub ttl_seconds: f64,
    pub capacity: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct LogSettings {
    pub level: String,
    pub format: String,
}

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s.max(0.0))
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
        let mut settings: Settings = builder.build()?.try_deserialize()?;
        settings.normalise();
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

    fn normalise(&mut self) {
        self.log.level = self.log.level.trim().to_lowercase();
        self.log.format = self.log.format.trim().to_lowercase();
        let host = self.llm.ollama_host.trim();
        // Ollama accepts `OLLAMA_HOST=0.0.0.0:11434`; a client needs a scheme and, for
        // ollama-rs, a trailing slash so paths join correctly.
        let mut host = if host.contains("://") {
            host.to_string()
        } else {
            format!("http://{host}")
        };
        if !host.ends_with('/') {
            host.push('/');
        }
        self.llm.ollama_host = host;
        self.llm.openai_base_url = self
            .llm
            .openai_base_url
            .trim()
            .trim_end_matches('/')
            .to_string();
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let mut problems = Vec::new();
        let mut check = |ok: bool, msg: &str| {
            if !ok {
                problems.push(msg.to_string());
            }
        };
        check(
            !self.agent.id.trim().is_empty(),
            "agent.id (PLANNER_AGENT_ID) must not be empty",
        );
        check(
            !self.server.host.trim().is_empty(),
            "server.host (PLANNER_HOST) must not be empty",
        );
        check(
            self.server.max_body_bytes >= 1024,
            "server.max_body_bytes (PLANNER_MAX_BODY_BYTES) must be at least 1024",
        );
        check(
            self.server.max_in_flight >= 1,
            "server.max_in_flight (PLANNER_MAX_IN_FLIGHT) must be at least 1",
        );
        check(
            self.server.request_timeout_seconds > 0.0,
            "server.request_timeout_seconds (PLANNER_REQUEST_TIMEOUT) must be positive",
        );
        check(
            self.server.shutdown_grace_seconds >= 0.0,
            "server.shutdown_grace_seconds (PLANNER_SHUTDOWN_GRACE) must not be negative",
        );
        check(
            self.planner.max_parallel_agents >= 1,
            "planner.max_parallel_agents (PLANNER_MAX_PARALLEL_AGENTS) must be at least 1",
        );
        check(
            self.planner.data_timeout_seconds >= 1,
            "planner.data_timeout_seconds (PLANNER_DEFAULT_TIMEOUT) must be at least 1",
        );
        check(
            self.planner.knowledge_timeout_seconds >= 1,
            "planner.knowledge_timeout_seconds (PLANNER_KNOWLEDGE_TIMEOUT) must be at least 1",
        );
        check(
            self.planner.max_query_chars >= 1,
            "planner.max_query_chars (PLANNER_MAX_QUERY_CHARS) must be at least 1",
        );
        check(
            self.planner.max_plan_steps >= 1,
            "planner.max_plan_steps (PLANNER_MAX_PLAN_STEPS) must be at least 1",
        );
        check(
            self.planner.cost_per_1k_tokens_usd >= 0.0,
            "planner.cost_per_1k_tokens_usd (PLANNER_COST_PER_1K_TOKENS) must not be negative",
        );
        check(
            self.llm.timeout_seconds > 0.0,
            "llm.timeout_seconds (OLLAMA_TIMEOUT) must be positive",
        );
        check(
            self.llm.deadline_seconds > 0.0,
            "llm.deadline_seconds (PLANNER_LLM_DEADLINE) must be positive",
        );
        check(
            self.llm.connect_timeout_seconds > 0.0,
            "llm.connect_timeout_seconds (PLANNER_LLM_CONNECT_TIMEOUT) must be positive",
        );
        check(
            self.llm.max_output_tokens >= 16,
            "llm.max_output_tokens (PLANNER_LLM_MAX_TOKENS) must be at least 16",
        );
        check(
            self.llm.num_ctx >= 256,
            "llm.num_ctx (PLANNER_LLM_NUM_CTX) must be at least 256",
        );
        check(
            (0.0..=2.0).contains(&self.llm.temperature),
            "llm.temperature (PLANNER_LLM_TEMPERATURE) must be within 0..2",
        );
        check(
            (0.0..=1.0).contains(&self.llm.min_confidence),
            "llm.min_confidence (PLANNER_LLM_MIN_CONFIDENCE) must be within 0..1",
        );
        check(
            self.llm.breaker_failures >= 1,
            "llm.breaker_failures (PLANNER_BREAKER_FAILURES) must be at least 1",
        );
        check(
            self.llm.breaker_cooldown_seconds >= 0.0,
            "llm.breaker_cooldown_seconds (PLANNER_BREAKER_COOLDOWN) must not be negative",
        );
        check(
            self.cache.ttl_seconds > 0.0,
            "cache.ttl_seconds (PLANNER_CACHE_TTL) must be positive",
        );
        check(
            ["json", "text"].contains(&self.log.format.as_str()),
            "log.format (LOG_FORMAT) must be json or text",
        );
        check(
            tracing_subscriber::EnvFilter::try_new(&self.log.level).is_ok(),
            "log.level (LOG_LEVEL) must be a level (error, warn, info, debug, trace) or a tracing filter",
        );
        check(
            self.server.request_timeout_seconds > self.llm.deadline_seconds,
            "server.request_timeout_seconds (PLANNER_REQUEST_TIMEOUT) must exceed llm.deadline_seconds (PLANNER_LLM_DEADLINE) so a slow model falls back instead of timing the request out",
        );
        for (name, url) in [
            ("llm.ollama_host (OLLAMA_HOST)", &self.llm.ollama_host),
            (
                "llm.openai_base_url (OPENAI_BASE_URL)",
                &self.llm.openai_base_url,
            ),
        ] {
            check(
                reqwest::Url::parse(url).is_ok(),
                &format!("{name} is not a valid URL: '{url}'"),
            );
        }
        if self.default_platforms().is_empty() {
            problems.push("planner.default_platforms (PLANNER_DEFAULT_PLATFORMS) must name at least one platform".into());
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(ConfigError::Invalid(problems))
        }
    }

    pub fn default_platforms(&self) -> Vec<Platform> {
        self.planner
            .default_platforms
            .split(',')
            .filter_map(Platform::parse)
            .collect()
    }

    pub fn request_timeout(&self) -> Duration {
        secs(self.server.request_timeout_seconds)
    }

    pub fn shutdown_grace(&self) -> Duration {
        secs(self.server.shutdown_grace_seconds)
    }
}

impl LlmSettings {
    pub fn timeout(&self) -> Duration {
        secs(self.timeout_seconds)
    }

    pub fn deadline(&self) -> Duration {
        secs(self.deadline_seconds)
    }

    pub fn connect_timeout(&self) -> Duration {
        secs(self.connect_timeout_seconds)
    }

    pub fn breaker_cooldown(&self) -> Duration {
        secs(self.breaker_cooldown_seconds)
    }
}

impl CacheSettings {
    pub fn ttl(&self) -> Duration {
        secs(self.ttl_seconds)
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
        assert_eq!(s.planner.max_parallel_agents, 5);
        assert_eq!(s.planner.data_timeout_seconds, 60);
        assert_eq!(s.llm.provider, Provider::Ollama);
        assert_eq!(s.llm.ollama_host, "http://127.0.0.1:11434/");
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
            ("LOG_LEVEL", "DEBUG"),
        ])
        .unwrap();
        assert_eq!(s.server.port, 9100);
        assert_eq!(s.llm.ollama_host, "http://ollama:11434/");
        assert_eq!(s.llm.ollama_model, "qwen2.5:3b");
        assert_eq!(s.llm.timeout(), Duration::from_millis(2500));
        assert!(!s.cache.enabled);
        assert_eq!(s.planner.max_parallel_agents, 3);
        assert_eq!(s.log.level, "debug");
    }

    #[test]
    fn invalid_values_are_reported_by_name() {
        let err = load(&[("PLANNER_MAX_PARALLEL_AGENTS", "0"), ("LOG_FORMAT", "xml")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("PLANNER_MAX_PARALLEL_AGENTS"), "{err}");
        assert!(err.contains("LOG_FORMAT"), "{err}");
        let err = load(&[("PLANNER_PORT", "ninety")]).unwrap_err().to_string();
        assert!(err.contains("server.port"), "{err}");
        let err = load(&[("LLM_PROVIDER", "gpt")]).unwrap_err().to_string();
        assert!(err.contains("provider"), "{err}");
    }

    #[test]
    fn a_missing_config_file_is_an_error() {
        let err = Settings::load_with(Some(Path::new("/nonexistent/planner.toml")), |_| None, &[])
            .unwrap_err();
        assert!(err.to_string().contains("planner.toml"), "{err}");
    }
}
