//! Ollama's native API through ollama-rs: `/api/generate` with a JSON schema in `format`,
//! temperature 0, a seed, `num_predict`, `num_ctx` and `keep_alive`; `/api/tags` for readiness.
//! The timeout lives on the reqwest client (ollama-rs has none of its own).

use ollama_rs::Ollama;
use ollama_rs::error::OllamaError;
use ollama_rs::generation::completion::request::GenerationRequest;
use ollama_rs::generation::parameters::{FormatType, JsonStructure, KeepAlive, TimeUnit};
use ollama_rs::models::ModelOptions;

use super::{LlmError, LlmReply, LlmRequest, Probe, classify_reqwest};
use crate::config::LlmSettings;

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
    pub fn new(s: &LlmSettings, http: reqwest::Client) -> Result<OllamaBackend, String> {
        let url = reqwest::Url::parse(&s.ollama_host)
            .map_err(|e| format!("OLLAMA_HOST '{}': {e}", s.ollama_host))?;
        Ok(OllamaBackend {
            client: Ollama::builder().url(url).reqwest_client(http).build(),
            model: s.ollama_model.clone(),
            base_url: s.ollama_host.clone(),
            temperature: s.temperature,
            seed: s.seed,
            num_ctx: s.num_ctx,
            keep_alive: parse_keep_alive(&s.keep_alive)?,
        })
    }

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
                    .num_ctx(self.num_ctx),
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

/// `30m`, `1h`, `45s`, `-1` (forever), `0` (unload after each call).
fn parse_keep_alive(raw: &str) -> Result<KeepAlive, String> {
    let raw = raw.trim();
    match raw {
        "-1" => return Ok(KeepAlive::Indefinitely),
        "0" => return Ok(KeepAlive::UnloadOnCompletion),
        _ => {}
    }
    let (num, unit) = raw.split_at(raw.len().saturating_sub(1));
    let unit = match unit {
        "s" => TimeUnit::Seconds,
        "m" => TimeUnit::Minutes,
        "h" => TimeUnit::Hours,
        _ => {
            return Err(format!(
                "OLLAMA_KEEP_ALIVE '{raw}': expected -1, 0 or a number with s, m or h"
            ));
        }
    };
    let time = num.parse().map_err(|_| {
        format!("OLLAMA_KEEP_ALIVE '{raw}': expected -1, 0 or a number with s, m or h")
    })?;
    Ok(KeepAlive::Until { time, unit })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keep_alive_accepts_ollama_durations() {
        assert_eq!(
            parse_keep_alive("30m").unwrap(),
            KeepAlive::Until {
                time: 30,
                unit: TimeUnit::Minutes
            }
        );
        assert_eq!(parse_keep_alive("-1").unwrap(), KeepAlive::Indefinitely);
        assert!(parse_keep_alive("soon").is_err());
    }
}
