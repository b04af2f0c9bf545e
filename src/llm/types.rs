//! What every backend speaks: one request to the model, its reply, why a call failed, and what a
//! readiness probe found. Backends import this module, never their parent.

use serde::Serialize;
use thiserror::Error;

/// One call to the model.
#[derive(Debug, Clone)]
pub struct LlmRequest {
    pub system: String,
    pub prompt: String,
    /// The JSON schema the answer must follow (Ollama's `format`, OpenAI's `response_format`).
    pub schema: serde_json::Value,
    /// The same shape as a compact GBNF grammar, for servers that take one (llama.cpp).
    pub grammar: String,
    /// Text that ends the answer as soon as it appears (the object's closing brace).
    pub stop: Vec<String>,
    pub max_tokens: u32,
}

/// The model's answer to one call, with its token counts when the backend reports them.
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
    /// Every [`reason`](LlmError::reason), for metrics registered ahead of use.
    pub const REASONS: [&'static str; 9] = [
        "timeout",
        "unreachable",
        "model_missing",
        "server_error",
        "truncated",
        "unparseable",
        "invalid_answer",
        "breaker_open",
        "error",
    ];

    /// A short label for responses (`fallback_reason`) and metrics.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reason_is_listed_once() {
        let s = String::new;
        let errors = [
            LlmError::Timeout,
            LlmError::Unreachable(s()),
            LlmError::ModelMissing(s()),
            LlmError::Status {
                status: None,
                message: s(),
            },
            LlmError::Truncated,
            LlmError::Unparseable(s()),
            LlmError::Invalid(s()),
            LlmError::BreakerOpen,
            LlmError::Other(s()),
        ];
        let reasons: Vec<&str> = errors.iter().map(LlmError::reason).collect();
        assert_eq!(reasons, LlmError::REASONS);
    }
}
