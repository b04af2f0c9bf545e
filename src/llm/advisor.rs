//! The advisor: the model as a second opinion on the keyword analysis, made safe to depend on.
//! A deadline over the whole model part, a circuit breaker, the answer cache with coalesced
//! loads, one repair retry, and token accounting. Whatever the model does, [`Advisor::analyze`]
//! returns an analysis: on any failure the keyword analysis, marked `fallback` with the reason.

use crate::pipeline::roster::Roster;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;

use super::LlmBackend;
use super::breaker::Breaker;
use super::cache::{self, AnswerCache, KeyScope};
use super::prompt::Prompts;
use super::types::{LlmError, LlmReply, LlmRequest, Probe};
use crate::config::{CacheSettings, LlmSettings};
use crate::domain::ModelUsage as LlmUsage;
use crate::domain::{AnalysisSource, QueryAnalysis};
use crate::pipeline::analyzer::KeywordAnalysis;
use crate::pipeline::analyzer::fusion::{self, AnswerError, Asked, ModelAnswer};
use crate::tokens;

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

/// A validated model answer and what it cost; what the cache holds (and shares).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Answered {
    answer: ModelAnswer,
    usage: LlmUsage,
}

/// What [`Advisor::analyze`] concludes: the analysis and what the model cost.
#[derive(Debug)]
pub struct Advice {
    pub analysis: QueryAnalysis,
    pub usage: Option<LlmUsage>,
}

/// A consultation that produced no usable answer, with what it cost when it got that far.
#[derive(Debug, Clone)]
pub struct Failure {
    error: LlmError,
    usage: Option<LlmUsage>,
}

/// The model side of query analysis; built once, shared by every request.
#[derive(Debug)]
pub struct Advisor {
    backend: LlmBackend,
    prompts: Prompts,
    breaker: Breaker,
    cache: AnswerCache<Answered>,
    deadline: Duration,
    max_tokens: u32,
    repair: bool,
    /// The provider, model and prompt version every usage record names, allocated once.
    labels: (Arc<str>, Arc<str>, Arc<str>),
    outcomes: Outcomes,
}

/// The outcomes of an analysis besides a failure's reason ([`LlmError::REASONS`]): an answer
/// from the model or the cache, the deadline passed, or the model not needed (the text decides
/// everything it could change).
const ANSWERED: [&str; 4] = ["llm", "cache", "deadline", fusion::NOT_NEEDED];

/// `planner_analysis_total{outcome}`'s handles, registered on first use: a labelled
/// `metrics::counter!` builds its key and looks it up in the registry on every call, and the
/// advisor is built before the recorder is installed (a handle taken then records nothing).
/// Registering them all at once also exports every outcome from the first request on, at 0.
#[derive(Default)]
struct Outcomes(std::sync::OnceLock<Vec<(&'static str, metrics::Counter)>>);

impl Outcomes {
    fn count(&self, outcome: &'static str) {
        let handles = self.0.get_or_init(|| {
            ANSWERED
                .iter()
                .chain(&LlmError::REASONS)
                .map(|&o| {
                    (
                        o,
                        metrics::counter!("planner_analysis_total", "outcome" => o),
                    )
                })
                .collect()
        });
        match handles.iter().find(|(o, _)| *o == outcome) {
            Some((_, counter)) => counter.increment(1),
            None => metrics::counter!("planner_analysis_total", "outcome" => outcome).increment(1),
        }
    }
}

impl std::fmt::Debug for Outcomes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Outcomes")
    }
}

impl Advisor {
    /// Shares model answers with other replicas through `redis` (a second level behind this
    /// replica's cache, same keys, the cache's TTL).
    pub fn share_answers(&mut self, redis: Arc<crate::redis::Redis>, ttl: Duration) {
        self.cache.share(redis, ttl);
    }

    /// An advisor over `backend` with `prompts`, configured by `llm` and `cache`.
    pub fn new(
        backend: LlmBackend,
        prompts: Prompts,
        llm: &LlmSettings,
        cache: &CacheSettings,
    ) -> Advisor {
        let labels = (
            Arc::from(backend.provider()),
            Arc::from(backend.model()),
            Arc::from(prompts.version.as_str()),
        );
        Advisor {
            labels,
            backend,
            prompts,
            breaker: Breaker::new(llm.breaker_failures, llm.breaker_cooldown),
            cache: AnswerCache::new(cache),
            deadline: llm.deadline,
            max_tokens: llm.max_output_tokens,
            repair: llm.repair_retry,
            outcomes: Outcomes::default(),
        }
    }

    /// The advisor the settings ask for: `None` with `provider = "none"`.
    pub fn from_settings(
        llm: &LlmSettings,
        cache: &CacheSettings,
    ) -> Result<Option<Advisor>, String> {
        let Some(backend) = LlmBackend::from_settings(llm)? else {
            return Ok(None);
        };
        let prompts = match &llm.prompts_dir {
            None => Prompts::compiled_in(),
            Some(dir) => Prompts::load(dir).map_err(|e| format!("PLANNER_PROMPTS_DIR: {e}"))?,
        };
        Ok(Some(Advisor::new(backend, prompts, llm, cache)))
    }

    /// The version of the prompt set in use (a hash of its text).
    pub fn prompt_version(&self) -> &str {
        &self.prompts.version
    }

    /// The model name in use.
    pub fn model(&self) -> &str {
        self.backend.model()
    }

    /// The analysis of `query`: the model's answer fused with `keyword`, or `keyword` alone
    /// (marked `fallback` with the reason) when nothing the model could answer would change
    /// the plan, or the model fails, is slow, or is switched off by the breaker. Returns within
    /// the deadline plus a few milliseconds.
    pub async fn analyze(&self, query: &str, ctx: &Roster, keyword: KeywordAnalysis) -> Advice {
        let open = fusion::Open::of(&keyword);
        if !open.any() {
            self.outcomes.count(fusion::NOT_NEEDED);
            return Advice {
                analysis: fusion::not_needed(keyword),
                usage: None,
            };
        }
        let started = Instant::now();
        let ran = AtomicBool::new(false);
        let key = cache::key(self.key_scope(), query, ctx);
        // While the breaker is open the model is not asked: serve a cached answer or fall back,
        // without entering the cache's load machinery.
        if self.breaker.is_open() {
            let outcome = match self.cache.get(&key).await {
                Some(answered) => Ok(Ok(answered)),
                None => Ok(Err(Failure {
                    error: LlmError::BreakerOpen,
                    usage: None,
                })),
            };
            return self.conclude(outcome, &ran, started, keyword);
        }
        // A hit in this replica's cache needs none of the model call's machinery (the boxed
        // future below, the deadline's timer), which costs more than the lookup itself.
        if let Some(answered) = self.cache.local(&key).await {
            return self.conclude(Ok(Ok(answered)), &ran, started, keyword);
        }
        let load = async {
            ran.store(true, Ordering::Relaxed);
            self.ask(query, ctx, fusion::Asked::of(&open))
                .await
                .map(Arc::new)
        };
        // Boxed: the model call's future (the HTTP client's, the cache's load, the deadline) is
        // ~10 KB, and unboxed it is part of every future that awaits this one (the plan's, the
        // handler's, each layer's), which are moved on every request, the model's or not.
        let consult = Box::pin(tokio::time::timeout(
            self.deadline,
            self.cache.get_or_load(key, load),
        ));
        let outcome = consult.await;
        self.conclude(outcome, &ran, started, keyword)
    }

    /// The analysis and usage for what the cache and the model produced.
    fn conclude(
        &self,
        outcome: Result<Result<Arc<Answered>, Failure>, tokio::time::error::Elapsed>,
        ran: &AtomicBool,
        started: Instant,
        keyword: KeywordAnalysis,
    ) -> Advice {
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
                let analysis = fusion::fuse(keyword, &answered.answer, source);
                let outcome = if cached { "cache" } else { "llm" };
                (analysis, Some(usage), outcome)
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
        self.outcomes.count(outcome);
        if let Some(u) = usage.as_ref().filter(|u| !u.cached) {
            metrics::histogram!("planner_llm_latency_seconds").record(u.latency_ms / 1000.0);
            metrics::counter!("planner_llm_tokens_total", "kind" => "prompt")
                .increment(u.prompt_tokens);
            metrics::counter!("planner_llm_tokens_total", "kind" => "completion")
                .increment(u.completion_tokens);
        }
        Advice { analysis, usage }
    }

    fn key_scope(&self) -> KeyScope<'_> {
        KeyScope {
            provider: self.backend.provider(),
            model: self.backend.model(),
            prompt_version: &self.prompts.version,
        }
    }

    /// One model consultation about the `asked` decisions: a call, and one repair call if the
    /// answer is unusable.
    async fn ask(&self, query: &str, ctx: &Roster, asked: Asked) -> Result<Answered, Failure> {
        if !self.breaker.allow() {
            return Err(Failure {
                error: LlmError::BreakerOpen,
                usage: None,
            });
        }
        let started = Instant::now();
        let prompt = self.prompts.analysis(query, ctx);
        let mut req = self.request(prompt.clone(), ctx, asked);
        let mut usage = LlmUsage {
            provider: self.labels.0.clone(),
            model: self.labels.1.clone(),
            prompt_version: self.labels.2.clone(),
            ..Default::default()
        };
        loop {
            usage.attempts += 1;
            let call_started = Instant::now();
            let result = self.backend.complete(&req).await;
            let outcome = match &result {
                Ok(_) => "answered",
                Err(e) => e.reason(),
            };
            metrics::histogram!("planner_llm_call_seconds", "outcome" => outcome)
                .record(call_started.elapsed().as_secs_f64());
            let reply = match result {
                Ok(reply) => reply,
                Err(error) => {
                    self.breaker.failure();
                    usage.latency_ms = ms(started);
                    let usage = (usage.attempts > 1).then_some(usage);
                    return Err(Failure { error, usage });
                }
            };
            account(&mut usage, &req, &reply);
            tracing::debug!(attempt = usage.attempts, truncated = reply.truncated, text = %reply.text, "model reply");
            let error = match fusion::parse_answer(&reply.text, ctx, asked) {
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

    /// One call's request: the prompt, the answer's shape as a schema and a grammar, a stop at
    /// the object's closing brace (the answer is a flat object) and the output cap.
    fn request(&self, prompt: String, ctx: &Roster, asked: Asked) -> LlmRequest {
        LlmRequest {
            system: self.prompts.system.clone(),
            prompt,
            schema: fusion::answer_schema(ctx, asked),
            grammar: fusion::answer_grammar(ctx, asked),
            stop: vec!["}".to_string()],
            max_tokens: self.max_tokens,
        }
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
        let ctx = Roster::default();
        let prompt = self
            .prompts
            .analysis("show failed sign-ins in the last hour", &ctx);
        let req = self.request(prompt, &ctx, Asked::ALL);
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
}

/// Adds a call's tokens: the backend's counts, else tiktoken estimates; and records them per
/// call.
fn account(usage: &mut LlmUsage, req: &LlmRequest, reply: &LlmReply) {
    let prompt = reply.prompt_tokens.unwrap_or_else(|| {
        usage.tokens_estimated = true;
        tokens::count(&req.system) + tokens::count(&req.prompt)
    });
    let completion = reply.completion_tokens.unwrap_or_else(|| {
        usage.tokens_estimated = true;
        tokens::count(&reply.text)
    });
    usage.prompt_tokens += prompt;
    usage.completion_tokens += completion;
    metrics::histogram!("planner_llm_call_prompt_tokens").record(prompt as f64);
    metrics::histogram!("planner_llm_call_answer_tokens").record(completion as f64);
}

fn ms(since: Instant) -> f64 {
    (since.elapsed().as_secs_f64() * 1e5).round() / 100.0
}
