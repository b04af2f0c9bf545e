//! Ollama's native API through ollama-rs: `/api/generate` with a JSON schema in `format`,
//! temperature 0, a seed, `num_predict`, `num_ctx` and `keep_alive`; `/api/tags` for readiness.
//! The timeout lives on the reqwest client (ollama-rs has none of its own).

use ollama_rs::Ollama;
use ollama_rs::error::OllamaError;
use ollama_rs::generation::completion::request::GenerationRequest;
use ollama_rs::generation::parameters::{FormatType, JsonStructure, KeepAlive, TimeUnit};
use ollama_rs::models::ModelOptions;

use super::types::{LlmError, LlmReply, LlmRequest, Probe, classify_reqwest};
use crate::config::{self, LlmSettings};

/// Ollama's native API.
#[derive(Debug, Clone)]
pub struct OllamaBackend {
    client: Ollama,
    pub model: String,
    pub base_url: String,
    temperature: f32,
    seed: i32,
    num_ctx: u64,
    keep_alive: KeepAlive,
}

impl OllamaBackend {
    /// A backend for the settings' Ollama server, over `http` (which carries the timeouts).
    pub fn new(s: &LlmSettings, http: reqwest::Client) -> OllamaBackend {
        OllamaBackend {
            client: Ollama::builder()
                .url(s.ollama_host.clone())
                .reqwest_client(http)
                .build(),
            model: s.ollama_model.clone(),
            base_url: s.ollama_host.to_string(),
            temperature: s.temperature,
            seed: s.seed,
            num_ctx: s.num_ctx,
            keep_alive: match s.keep_alive {
                config::KeepAlive::Forever => KeepAlive::Indefinitely,
                config::KeepAlive::Unload => KeepAlive::UnloadOnCompletion,
                config::KeepAlive::For(d) => keep_alive_for(d.as_secs()),
            },
        }
    }

    /// `/api/generate` with the schema in `format`.
    pub async fn complete(&self, req: &LlmRequest) -> Result<LlmReply, LlmError> {
        let schema = schemars::Schema::try_from(req.schema.clone())
            .map_err(|e| LlmError::Other(format!("schema: {e}")))?;
        let request = GenerationRequest::new(self.model.clone(), req.prompt.as_str())
            .system(req.system.as_str())
            .format(FormatType::StructuredJson(Box::new(
                JsonStructure::new_for_schema(schema),
            )))
            .options(
                ModelOptions::default()
                    .temperature(self.temperature)
                    .seed(self.seed)
                    .num_predict(req.max_tokens as i32)
                    .num_ctx(self.num_ctx)
                    .stop(req.stop.clone()),
            )
            .keep_alive(self.keep_alive.clone());
        let res = self.client.generate(request).await.map_err(map_error)?;
        // ollama-rs does not expose done_reason; an answer that used the whole budget was cut.
        let truncated = res
            .eval_count
            .is_some_and(|n| n >= u64::from(req.max_tokens));
        Ok(LlmReply {
            text: res.response,
            prompt_tokens: res.prompt_eval_count,
            completion_tokens: res.eval_count,
            truncated,
        })
    }

    /// `/api/tags`: reachable, and the model pulled.
    pub async fn probe(&self) -> Probe {
        match self.client.list_local_models().await {
            Ok(models) => {
                let names: Vec<String> = models.into_iter().map(|m| m.name).collect();
                let wanted = if self.model.contains(':') {
                    self.model.clone()
                } else {
                    format!("{}:latest", self.model)
                };
                let present = names.iter().any(|n| *n == wanted || *n == self.model);
                Probe {
                    reachable: true,
                    model_present: Some(present),
                    error: (!present).then(|| {
                        format!(
                            "model '{}' is not pulled (ollama pull {})",
                            self.model, self.model
                        )
                    }),
                }
            }
            Err(e) => Probe {
                reachable: false,
                model_present: None,
                error: Some(map_error(e).to_string()),
            },
        }
    }
}

/// Ollama's duration in its largest whole unit (`30m` stays `30m` on the wire).
fn keep_alive_for(secs: u64) -> KeepAlive {
    match secs {
        s if s % 3600 == 0 => KeepAlive::Until {
            time: s / 3600,
            unit: TimeUnit::Hours,
        },
        s if s % 60 == 0 => KeepAlive::Until {
            time: s / 60,
            unit: TimeUnit::Minutes,
        },
        s => KeepAlive::Until {
            time: s,
            unit: TimeUnit::Seconds,
        },
    }
}

fn map_error(e: OllamaError) -> LlmError {
    match e {
        OllamaError::ReqwestError(e) => classify_reqwest(&e),
        // A non-2xx answer: ollama-rs keeps only the body, `{"error": "..."}`.
        OllamaError::Other(body) => {
            let message = serde_json::from_str::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| v.get("error").and_then(|m| m.as_str()).map(str::to_string))
                .unwrap_or(body);
            if message.contains("not found") {
                LlmError::ModelMissing(message)
            } else {
                LlmError::Status {
                    status: None,
                    message,
                }
            }
        }
        OllamaError::JsonError(e) => LlmError::Unparseable(format!("response body: {e}")),
        other => LlmError::Other(other.to_string()),
    }
}
