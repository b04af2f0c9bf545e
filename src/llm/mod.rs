//! The model side of query analysis.
//!
//! [`LlmBackend`] is the one front for both wire protocols (Ollama's native API and
//! OpenAI-compatible servers); nothing else knows which one is in use. [`LlmAnalyzer`] wraps it
//! with what makes a model safe to depend on: a deadline over the whole LLM part, a circuit
//! breaker, a moka cache with coalesced loads, one repair retry, token accounting, and fusion with
//! the keyword analysis. Whatever the model does, `analyze` returns an analysis: on any failure
//! the keyword analysis, marked `fallback` with the reason.

pub mod breaker;
pub mod ollama;
pub mod openai;
pub mod prompt;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use moka::future::Cache;
use serde::Serialize;
use thiserror::Error;

use crate::config::{CacheSettings, LlmSettings, Provider};
use crate::domain::{AnalysisSource, PlanningContext, QueryAnalysis};
use crate::pipeline::analyzer::KeywordAnalysis;
use crate::pipeline::estimator::tokenizer;
use crate::pipeline::fusion::{self, AnswerError, ModelAnswer};
use crate::wire::LlmUsage;
use breaker::Breaker;
use prompt::Prompts;

/// One call to the model.
#[derive(Debug, Clone)]
pub struct LlmRequest {
    pub system: String,
    pub prompt: String,
    pub schema: serde_json::Value,
    pub max_tokens: u32,
}

#[derive(Debug, Clone)]
pub struct LlmReply {
    pub text: String,
    pub prompt_tokens: Option<u64>,
    pub completion_tokens: Option<u64>,
    /// The model stopped at the token cap.
    pub truncated: bool,
}

/// Why the model's answer was not used; `reason()` is what the response and metrics record.
#[derive(Debug, Clone, Error)]
pub enum LlmError {
    #[error("the model did not answer within the timeout")]
    Timeout,
    #[error("the model server is unreachable: {0}")]
    Unreachable(String),
    #[error("the model is not available: {0}")]
    ModelMissing(String),
    #[error("the model server answered {}: {message}", status.map_or("an error".to_string(), |s| s.to_string()))]
    Status {
        status: Option<u16>,
        message: String,
    },
    #[error("the answer was cut off at the token limit")]
    Truncated,
    #[error("the answer is not JSON: {0}")]
    Unparseable(String),
    #[error("the answer does not fit the schema: {0}")]
    Invalid(String),
    #[error("the circuit breaker is open after repeated failures")]
    BreakerOpen,
    #[error("{0}")]
    Other(String),
}

impl LlmError {
    pub fn reason(&self) -> &'static str {
        match self {
            LlmError::Timeout => "timeout",
            LlmError::Unreachable(_) => "unreachable",
            LlmError::ModelMissing(_) => "model_missing",
            LlmError::Status { .. } => "server_error",
            LlmError::Truncated => "truncated",
            LlmError::Unparseable(_) => "unparseable",
            LlmError::Invalid(_) => "invalid_answer",
            LlmError::BreakerOpen => "breaker_open",
            LlmError::Other(_) => "error",
        }
    }
}

/// Maps a transport error of reqwest (timeouts, refused connections) to an [`LlmError`].
pub fn classify_reqwest(e: &reqwest::Error) -> LlmError {
    if e.is_timeout() {
        LlmError::Timeout
    } else if e.is_connect() {
        LlmError::Unreachable(error_chain(e))
    } else if e.is_decode() || e.is_body() {
        LlmError::Unparseable(error_chain(e))
    } else {
        LlmError::Other(error_chain(e))
    }
}

/// reqwest's Display is terse ("error sending request"); the cause is in the source chain.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

/// What a readiness probe found.
#[derive(Debug, Clone, Serialize)]
pub struct Probe {
    pub reachable: bool,
    pub model_present: Option<bool>,
    pub error: Option<String>,
}

#[derive(Debug)]
pub enum LlmBackend {
    Ollama(ollama::OllamaBackend),
    OpenAi(openai::OpenAiBackend),
}

impl LlmBackend {
    /// The configured backend, or `None` for `provider = "none"`.
    pub fn from_settings(s: &LlmSettings) -> Result<Option<LlmBackend>, String> {
        let http = reqwest::Client::builder()
            .timeout(s.timeout())
            .connect_timeout(s.connect_timeout())
            .pool_idle_timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| format!("HTTP client: {e}"))?;
        Ok(match s.provider {
            Provider::None => None,
            Provider::Ollama => Some(LlmBackend::Ollama(ollama::OllamaBackend::new(s, http)?)),
            Provider::Openai => Some(LlmBackend::OpenAi(openai::OpenAiBackend::new(s, http)?)),
        })
    }

    pub fn provider(&self) -> &'static str {
        match self {
            LlmBackend::Ollama(_) => "ollama",
            LlmBackend::OpenAi(_) => "openai",
        }
    }

    pub fn model(&self) -> &str {
        match self {
            LlmBackend::Ollama(b) => &b.model,
            LlmBackend::OpenAi(b) => &b.model,
        }
    }

    pub fn base_url(&self) -> &str {
        match self {
            LlmBackend::Ollama(b) => &b.base_url,
            LlmBackend::OpenAi(b) => &b.base_url,
        }
    }

    pub async fn complete(&self, req: &LlmRequest) -> Result<LlmReply, LlmError> {
        match self {
            LlmBackend::Ollama(b) => b.complete(req).await,
            LlmBackend::OpenAi(b) => b.complete(req).await,
        }
    }

    pub async fn probe(&self) -> Probe {
        match self {
            LlmBackend::Ollama(b) => b.probe().await,
            LlmBackend::OpenAi(b) => b.probe().await,
        }
    }
}

/// The readiness view of the model side.
#[derive(Debug, Clone, Serialize)]
pub struct LlmStatus {
    pub provider: String,
    pub model: String,
    pub base_url: String,
    pub prompt_version: String,
    pub breaker: &'static str,
    #[serde(flatten)]
    pub probe: Probe,
}

/// A validated model answer and what it cost; what the cache holds.
#[derive(Debug, Clone)]
struct Answered {
    answer: ModelAnswer,
    usage: LlmUsage,
}

#[derive(Debug, Clone)]
struct Failure {
    error: LlmError,
    usage: Option<LlmUsage>,
}

#[derive(Debug)]
pub struct LlmAnalyzer {
    backend: LlmBackend,
    prompts: Prompts,
    breaker: Breaker,
    cache: Option<Cache<String, Arc<Answered>>>,
    deadline: Duration,
    max_tokens: u32,
    repair: bool,
    min_confidence: f64,
}

impl LlmAnalyzer {
    pub fn new(
        backend: LlmBackend,
        prompts: Prompts,
        llm: &LlmSettings,
        cache: &CacheSettings,
    ) -> LlmAnalyzer {
        LlmAnalyzer {
            backend,
            prompts,
            breaker: Breaker::new(llm.breaker_failures, llm.breaker_cooldown()),
            cache: cache.enabled.then(|| {
                Cache::builder()
                    .max_capacity(cache.capacity)
                    .time_to_live(cache.ttl())
                    .name("llm_analysis")
                    .build()
            }),
            deadline: llm.deadline(),
            max_tokens: llm.max_output_tokens,
            repair: llm.repair_retry,
            min_confidence: llm.min_confidence,
        }
    }

    /// The analyzer the settings ask for: `None` with `provider = "none"`.
    pub fn from_settings(
        llm: &LlmSettings,
        cache: &CacheSettings,
    ) -> Result<Option<LlmAnalyzer>, String> {
        let Some(backend) = LlmBackend::from_settings(llm)? else {
            return Ok(None);
        };
        let prompts = if llm.prompts_dir.trim().is_empty() {
            Prompts::compiled_in()
        } else {
            Prompts::load(std::path::Path::new(llm.prompts_dir.trim()))
                .map_err(|e| format!("PLANNER_PROMPTS_DIR: {e}"))?
        };
        Ok(Some(LlmAnalyzer::new(backend, prompts, llm, cache)))
    }

    pub fn prompt_version(&self) -> &str {
        &self.prompts.version
    }

    /// The analysis of `query`: the model's answer fused with `keyword`, or `keyword` alone
    /// (marked `fallback` with the reason) when the model fails, is slow, or is switched off by
    /// the breaker. Returns within the deadline plus a few milliseconds.
    pub async fn analyze(
        &self,
        query: &str,
        ctx: &PlanningContext,
        keyword: KeywordAnalysis,
    ) -> (QueryAnalysis, Option<LlmUsage>) {
        let started = Instant::now();
        let ran = AtomicBool::new(false);
        let load = async {
            ran.store(true, Ordering::Relaxed);
            self.ask(query, ctx).await.map(Arc::new)
        };
        let outcome = tokio::time::timeout(self.deadline, async {
            match &self.cache {
                Some(cache) => cache
                    .try_get_with(self.cache_key(query, ctx), load)
                    .await
                    .map_err(|e| (*e).clone()),
                None => load.await,
            }
        })
        .await;
        let (analysis, usage, outcome) = match outcome {
            Ok(Ok(answered)) => {
                let cached = !ran.load(Ordering::Relaxed);
                let source = if cached {
                    AnalysisSource::Cache
                } else {
                    AnalysisSource::Llm
                };
                let mut usage = answered.usage.clone();
                if cached {
                    usage.cached = true;
                    usage.latency_ms = ms(started);
                }
                let analysis = fusion::fuse(keyword, &answered.answer, self.min_confidence, source);
                (analysis, Some(usage), if cached { "cache" } else { "llm" })
            }
            Ok(Err(failure)) => {
                let reason = failure.error.reason();
                // While the breaker is open every request skips the model: not news each time.
                if matches!(failure.error, LlmError::BreakerOpen) {
                    tracing::debug!(reason, "model skipped; keyword analysis used");
                } else {
                    tracing::warn!(reason, error = %failure.error, "model analysis failed; keyword analysis used");
                }
                (fusion::fallback(keyword, reason), failure.usage, reason)
            }
            Err(_) => {
                if ran.load(Ordering::Relaxed) {
                    self.breaker.failure();
                }
                tracing::warn!(
                    deadline_ms = self.deadline.as_millis() as u64,
                    "model analysis passed its deadline; keyword analysis used"
                );
                (fusion::fallback(keyword, "deadline"), None, "deadline")
            }
        };
        metrics::counter!("planner_analysis_total", "outcome" => outcome).increment(1);
        if let Some(u) = usage.as_ref().filter(|u| !u.cached) {
            metrics::histogram!("planner_llm_latency_seconds").record(u.latency_ms / 1000.0);
            metrics::counter!("planner_llm_tokens_total", "kind" => "prompt")
                .increment(u.prompt_tokens);
            metrics::counter!("planner_llm_tokens_total", "kind" => "completion")
                .increment(u.completion_tokens);
        }
        (analysis, usage)
    }

    /// One model consultation: a call, and one repair call if the answer is unusable.
    async fn ask(&self, query: &str, ctx: &PlanningContext) -> Result<Answered, Failure> {
        if !self.breaker.allow() {
            return Err(Failure {
                error: LlmError::BreakerOpen,
                usage: None,
            });
        }
        let started = Instant::now();
        let prompt = self.prompts.analysis(query, ctx);
        let mut req = LlmRequest {
            system: self.prompts.system.clone(),
            prompt: prompt.clone(),
            schema: fusion::answer_schema(ctx),
            max_tokens: self.max_tokens,
        };
        let mut usage = LlmUsage {
            provider: self.backend.provider().into(),
            model: self.backend.model().into(),
            prompt_version: self.prompts.version.clone(),
            ..Default::default()
        };
        loop {
            usage.attempts += 1;
            let reply = match self.backend.complete(&req).await {
                Ok(reply) => reply,
                Err(error) => {
                    self.breaker.failure();
                    usage.latency_ms = ms(started);
                    let usage = (usage.attempts > 1).then_some(usage);
                    return Err(Failure { error, usage });
                }
            };
            self.account(&mut usage, &req, &reply);
            tracing::debug!(attempt = usage.attempts, truncated = reply.truncated, text = %reply.text, "model reply");
            let error = match fusion::parse_answer(&reply.text, ctx) {
                Ok(answer) => {
                    self.breaker.success();
                    usage.latency_ms = ms(started);
                    return Ok(Answered { answer, usage });
                }
                Err(AnswerError::Unparseable(_)) if reply.truncated => LlmError::Truncated,
                Err(AnswerError::Unparseable(m)) => LlmError::Unparseable(m),
                Err(AnswerError::Invalid(m)) => LlmError::Invalid(m),
            };
            if self.repair && usage.attempts == 1 {
                tracing::debug!(%error, "model answer unusable; asking once more");
                req.prompt = format!(
                    "{prompt}{}",
                    self.prompts.repair(&reply.text, &error.to_string())
                );
                continue;
            }
            self.breaker.failure();
            usage.latency_ms = ms(started);
            return Err(Failure {
                error,
                usage: Some(usage),
            });
        }
    }

    /// Adds a call's tokens: the backend's counts, else tiktoken estimates.
    fn account(&self, usage: &mut LlmUsage, req: &LlmRequest, reply: &LlmReply) {
        let prompt = reply.prompt_tokens.unwrap_or_else(|| {
            usage.tokens_estimated = true;
            (tokenizer().encode_ordinary(&req.system).len()
                + tokenizer().encode_ordinary(&req.prompt).len()) as u64
        });
        let completion = reply.completion_tokens.unwrap_or_else(|| {
            usage.tokens_estimated = true;
            tokenizer().encode_ordinary(&reply.text).len() as u64
        });
        usage.prompt_tokens += prompt;
        usage.completion_tokens += completion;
    }

    /// Everything that can change the model's answer: the query (case and spacing folded), the
    /// offered platforms and domains, the schema hints, the model and the prompt version.
    fn cache_key(&self, query: &str, ctx: &PlanningContext) -> String {
        let query: String = query
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase();
        let mut agents: Vec<String> = ctx
            .data_agents
            .iter()
            .filter_map(|a| a.platform.as_ref().map(|p| format!("d:{p}")))
            .collect();
        agents.sort();
        agents.dedup();
        let mut hints: Vec<String> = ctx
            .schema_hints
            .iter()
            .flat_map(|(p, h)| {
                h.tables
                    .iter()
                    .chain(&h.indexes)
                    .map(move |t| format!("{p}:{}", t.to_lowercase()))
            })
            .collect();
        hints.sort();
        format!(
            "{}\u{1f}{}\u{1f}{}\u{1f}{query}\u{1f}{}\u{1f}{}",
            self.backend.provider(),
            self.backend.model(),
            self.prompts.version,
            agents.join(","),
            hints.join(",")
        )
    }

    /// Readiness: whether the backend answers and has the model, and the breaker's state.
    pub async fn status(&self) -> LlmStatus {
        LlmStatus {
            provider: self.backend.provider().into(),
            model: self.backend.model().into(),
            base_url: self.backend.base_url().into(),
            prompt_version: self.prompts.version.clone(),
            breaker: self.breaker.state(),
            probe: self.backend.probe().await,
        }
    }

    /// One throwaway analysis so the first user request does not pay the model load.
    pub async fn warm_up(&self) {
        let ctx = PlanningContext::default();
        let req = LlmRequest {
            system: self.prompts.system.clone(),
            prompt: self
                .prompts
                .analysis("show failed sign-ins in the last hour", &ctx),
            schema: fusion::answer_schema(&ctx),
            max_tokens: self.max_tokens,
        };
        let started = Instant::now();
        match self.backend.complete(&req).await {
            Ok(_) => tracing::info!(
                elapsed_ms = ms(started),
                model = self.backend.model(),
                "model warmed up"
            ),
            Err(e) => {
                tracing::warn!(error = %e, reason = e.reason(), "model warm-up failed; plans use the keyword analysis until it answers")
            }
        }
    }

    /// Entries in the cache (for tests and metrics).
    pub async fn cache_entries(&self) -> u64 {
        match &self.cache {
            Some(c) => {
                c.run_pending_tasks().await;
                c.entry_count()
            }
            None => 0,
        }
    }
}

fn ms(since: Instant) -> f64 {
    (since.elapsed().as_secs_f64() * 1e5).round() / 100.0
}
