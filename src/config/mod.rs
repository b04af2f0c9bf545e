//! Settings: the compiled-in defaults (`config/default.toml`, the one source of defaults), then an
//! optional file, then environment variables, then command-line overrides. Parsed once at
//! start-up into typed values (durations, platform lists, enums, optional paths); an invalid
//! setting is an error naming the setting and its variable, never a panic.

mod de;
mod keys;
mod sections;

use std::path::Path;

use config::{Config, File, FileFormat};
use serde::Deserialize;
use thiserror::Error;

pub use keys::{ENV_VARS, describe};
pub use sections::{
    A2aSettings, AgentSettings, AuthSettings, CacheSettings, CardStyle, KeepAlive, LlmSettings,
    LogFormat, LogSettings, PlannerSettings, PolicySettings, Provider, RedisSettings,
    ServerSettings, ShadowSettings, Strategy, Structure,
};

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
    use crate::domain::Platform;
    use std::collections::HashMap;
    use std::time::Duration;

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
