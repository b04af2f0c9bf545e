//! The model side of query analysis.
//!
//! - [`types`]: requests, replies, errors and probes every backend speaks.
//! - [`ollama`] (Ollama's native API through ollama-rs) and [`openai`] (OpenAI-compatible
//!   servers through reqwest), behind the one [`LlmBackend`] enum; nothing else knows which is
//!   in use.
//! - [`advisor`]: the model made safe to depend on (deadline, breaker, cache, repair, fusion).
//! - [`cache`]: the answer cache and its key; [`breaker`]: the circuit breaker;
//!   [`prompt`]: the prompt set.

pub mod advisor;
pub mod breaker;
pub mod cache;
pub mod ollama;
pub mod openai;
pub mod prompt;
pub mod types;

use std::time::Duration;

pub use advisor::{Advisor, LlmStatus};
pub use types::{LlmError, LlmReply, LlmRequest, Probe};

use crate::config::{LlmSettings, Provider};

/// The configured model server, whichever protocol it speaks.
#[derive(Debug)]
pub enum LlmBackend {
    Ollama(ollama::OllamaBackend),
    OpenAi(openai::OpenAiBackend),
}

impl LlmBackend {
    /// The configured backend, or `None` for `provider = "none"`.
    pub fn from_settings(s: &LlmSettings) -> Result<Option<LlmBackend>, String> {
        let http = reqwest::Client::builder()
            .timeout(s.timeout)
            .connect_timeout(s.connect_timeout)
            .pool_idle_timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| format!("HTTP client: {e}"))?;
        Ok(match s.provider {
            Provider::None => None,
            Provider::Ollama => Some(LlmBackend::Ollama(ollama::OllamaBackend::new(s, http))),
            Provider::Openai => Some(LlmBackend::OpenAi(openai::OpenAiBackend::new(s, http))),
        })
    }

    /// `ollama` or `openai`.
    pub fn provider(&self) -> &'static str {
        match self {
            LlmBackend::Ollama(_) => "ollama",
            LlmBackend::OpenAi(_) => "openai",
        }
    }

    /// The model the backend asks for.
    pub fn model(&self) -> &str {
        match self {
            LlmBackend::Ollama(b) => &b.model,
            LlmBackend::OpenAi(b) => &b.model,
        }
    }

    /// The server's base URL.
    pub fn base_url(&self) -> &str {
        match self {
            LlmBackend::Ollama(b) => &b.base_url,
            LlmBackend::OpenAi(b) => &b.base_url,
        }
    }

    /// One call to the model.
    pub async fn complete(&self, req: &LlmRequest) -> Result<LlmReply, LlmError> {
        match self {
            LlmBackend::Ollama(b) => b.complete(req).await,
            LlmBackend::OpenAi(b) => b.complete(req).await,
        }
    }

    /// Whether the server answers and has the model.
    pub async fn probe(&self) -> Probe {
        match self {
            LlmBackend::Ollama(b) => b.probe().await,
            LlmBackend::OpenAi(b) => b.probe().await,
        }
    }
}
