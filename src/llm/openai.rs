//! OpenAI-compatible servers (llama.cpp's server, vLLM, LM Studio, Ollama's `/v1`):
//! `/v1/chat/completions` with the answer's shape as `response_format: json_schema`, or as a
//! compact GBNF `grammar` where the server is llama.cpp (which says so in `/v1/models`); a stop
//! at the closing brace; `/v1/models` for readiness.

use serde::Deserialize;
use serde_json::json;

use super::types::{LlmError, LlmReply, LlmRequest, Probe, classify_reqwest};
use crate::config::{LlmSettings, Structure};

/// An OpenAI-compatible chat-completions server.
#[derive(Debug, Clone)]
pub struct OpenAiBackend {
    http: reqwest::Client,
    pub model: String,
    pub base_url: String,
    api_key: Option<String>,
    temperature: f32,
    seed: i32,
    structure: Structure,
    /// Whether the server is llama.cpp, once `/models` has said (for `Structure::Auto`).
    llamacpp: tokio::sync::OnceCell<bool>,
}

#[derive(Deserialize)]
struct Completion {
    #[serde(default)]
    choices: Vec<Choice>,
    #[serde(default)]
    usage: Option<Usage>,
}

#[derive(Deserialize)]
struct Choice {
    message: Message,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct Message {
    #[serde(default)]
    content: Option<String>,
}

#[derive(Deserialize)]
struct Usage {
    #[serde(default)]
    prompt_tokens: Option<u64>,
    #[serde(default)]
    completion_tokens: Option<u64>,
}

impl OpenAiBackend {
    /// A backend for the settings' server, over `http` (which carries the timeouts).
    pub fn new(s: &LlmSettings, http: reqwest::Client) -> OpenAiBackend {
        OpenAiBackend {
            http,
            model: s.openai_model.clone(),
            base_url: s.openai_base_url.clone(),
            api_key: Some(s.openai_api_key.clone()).filter(|k| !k.is_empty()),
            temperature: s.temperature,
            seed: s.seed,
            structure: s.structure,
            llamacpp: tokio::sync::OnceCell::new(),
        }
    }

    /// Whether to send a grammar rather than a JSON schema.
    async fn use_grammar(&self) -> bool {
        match self.structure {
            Structure::Grammar => true,
            Structure::Schema => false,
            Structure::Auto => self
                .llamacpp
                .get_or_try_init(|| async {
                    // A server that answers without a list is no llama.cpp; one that cannot be
                    // reached is asked again next time.
                    match self.models().await {
                        Ok(models) => Ok(models.iter().any(|m| {
                            m.get("owned_by").and_then(|o| o.as_str()) == Some("llamacpp")
                        })),
                        Err(LlmError::Status { .. }) => Ok(false),
                        Err(_) => Err(()),
                    }
                })
                .await
                .copied()
                .unwrap_or(false),
        }
    }

    /// `GET /models`: the `data` entries.
    async fn models(&self) -> Result<Vec<serde_json::Value>, LlmError> {
        let url = format!("{}/models", self.base_url);
        let res = self
            .request(self.http.get(url))
            .send()
            .await
            .map_err(|e| classify_reqwest(&e))?;
        if !res.status().is_success() {
            return Err(LlmError::Status {
                status: Some(res.status().as_u16()),
                message: "GET /models".into(),
            });
        }
        let value = res
            .json::<serde_json::Value>()
            .await
            .map_err(|e| classify_reqwest(&e))?;
        Ok(value
            .get("data")
            .and_then(|d| d.as_array())
            .cloned()
            .unwrap_or_default())
    }

    fn request(&self, builder: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.api_key {
            Some(key) => builder.bearer_auth(key),
            None => builder,
        }
    }

    /// `/chat/completions` with the answer's shape as a schema or a grammar.
    pub async fn complete(&self, req: &LlmRequest) -> Result<LlmReply, LlmError> {
        let mut body = json!({
            "model": self.model,
            "messages": [
                {"role": "system", "content": req.system},
                {"role": "user", "content": req.prompt},
            ],
            "temperature": self.temperature,
            "seed": self.seed,
            "max_tokens": req.max_tokens,
            "stream": false,
            "stop": req.stop,
        });
        if self.use_grammar().await {
            body["grammar"] = json!(req.grammar);
        } else {
            body["response_format"] = json!({
                "type": "json_schema",
                "json_schema": {"name": "query_analysis", "strict": true, "schema": req.schema},
            });
        }
        let url = format!("{}/chat/completions", self.base_url);
        let res = self
            .request(self.http.post(url))
            .json(&body)
            .send()
            .await
            .map_err(|e| classify_reqwest(&e))?;
        let status = res.status();
        let bytes = res.bytes().await.map_err(|e| classify_reqwest(&e))?;
        if !status.is_success() {
            let text = String::from_utf8_lossy(&bytes);
            let message = serde_json::from_slice::<serde_json::Value>(&bytes)
                .ok()
                .and_then(|v| {
                    let e = v.get("error")?;
                    e.get("message")
                        .and_then(|m| m.as_str())
                        .or(e.as_str())
                        .map(str::to_string)
                })
                .unwrap_or_else(|| text.chars().take(300).collect());
            return Err(if status == reqwest::StatusCode::NOT_FOUND {
                LlmError::ModelMissing(message)
            } else {
                LlmError::Status {
                    status: Some(status.as_u16()),
                    message,
                }
            });
        }
        let completion: Completion = serde_json::from_slice(&bytes)
            .map_err(|e| LlmError::Unparseable(format!("response body: {e}")))?;
        let choice = completion
            .choices
            .into_iter()
            .next()
            .ok_or_else(|| LlmError::Unparseable("response has no choices".into()))?;
        let usage = completion.usage;
        Ok(LlmReply {
            text: choice.message.content.unwrap_or_default(),
            prompt_tokens: usage.as_ref().and_then(|u| u.prompt_tokens),
            completion_tokens: usage.as_ref().and_then(|u| u.completion_tokens),
            truncated: choice.finish_reason.as_deref() == Some("length"),
        })
    }

    /// `/models`: reachable, and the model listed.
    pub async fn probe(&self) -> Probe {
        let models = match self.models().await {
            Ok(m) => m,
            Err(e @ LlmError::Status { .. }) => {
                return Probe {
                    reachable: true,
                    model_present: None,
                    error: Some(e.to_string()),
                };
            }
            Err(e) => {
                return Probe {
                    reachable: false,
                    model_present: None,
                    error: Some(e.to_string()),
                };
            }
        };
        let ids: Vec<String> = models
            .iter()
            .filter_map(|m| m.get("id").and_then(|i| i.as_str()).map(str::to_string))
            .collect();
        // A single-model server (llama.cpp) answers whatever model name it is sent.
        let present = ids.contains(&self.model) || ids.len() == 1;
        Probe {
            reachable: true,
            model_present: Some(present),
            error: (!present).then(|| format!("model '{}' not among {ids:?}", self.model)),
        }
    }
}
