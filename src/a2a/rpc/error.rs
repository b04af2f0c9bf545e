//! A2A errors: JSON-RPC codes with `google.rpc.ErrorInfo` data (spec §9.5).

use serde::{Serialize, Serializer};
use serde_json::{Map, Value, json};

use crate::a2a::Version;
use crate::a2a::task::StoredTask;

/// A JSON-RPC / A2A error: code, message, and the ErrorInfo `reason` and `metadata`.
#[derive(Debug, Clone, PartialEq)]
pub struct RpcError {
    pub code: i64,
    pub message: String,
    pub reason: &'static str,
    pub metadata: Vec<(&'static str, Value)>,
}

impl RpcError {
    pub(super) fn new(code: i64, reason: &'static str, message: impl Into<String>) -> Self {
        RpcError {
            code,
            message: message.into(),
            reason,
            metadata: Vec::new(),
        }
    }

    pub(super) fn with(mut self, key: &'static str, value: impl Into<Value>) -> Self {
        self.metadata.push((key, value.into()));
        self
    }

    pub fn parse_error(message: impl Into<String>) -> Self {
        Self::new(-32700, "PARSE_ERROR", message)
    }
    pub fn invalid_request(message: impl Into<String>) -> Self {
        Self::new(-32600, "INVALID_REQUEST", message)
    }
    pub fn method_not_found(method: &str, hint: &str) -> Self {
        Self::new(
            -32601,
            "METHOD_NOT_FOUND",
            format!("Method not found: '{method}'{hint}"),
        )
        .with("method", method)
    }
    pub fn invalid_params(message: impl Into<String>) -> Self {
        Self::new(-32602, "INVALID_PARAMS", message)
    }
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(-32603, "INTERNAL", message)
    }
    pub(super) fn task_not_found(id: &str) -> Self {
        Self::new(-32001, "TASK_NOT_FOUND", format!("Task not found: '{id}'")).with("taskId", id)
    }
    pub(super) fn not_cancelable(task: &StoredTask, version: Version) -> Self {
        Self::new(
            -32002,
            "TASK_NOT_CANCELABLE",
            format!(
                "Task cannot be canceled: '{}' is already {}",
                task.id,
                task.state.name(version)
            ),
        )
        .with("taskId", task.id.as_str())
    }
    pub(super) fn push_not_supported() -> Self {
        Self::new(
            -32003,
            "PUSH_NOTIFICATION_NOT_SUPPORTED",
            "Push Notification is not supported: the card declares pushNotifications false",
        )
    }
    pub(super) fn unsupported(message: impl Into<String>) -> Self {
        Self::new(-32004, "UNSUPPORTED_OPERATION", message)
    }
    pub fn content_type(message: impl Into<String>) -> Self {
        Self::new(-32005, "CONTENT_TYPE_NOT_SUPPORTED", message)
    }
    pub(super) fn extended_card_not_configured() -> Self {
        Self::new(
            -32007,
            "EXTENDED_AGENT_CARD_NOT_CONFIGURED",
            "No extended agent card: the public card is the whole card",
        )
    }
    pub fn version_not_supported(version: &str) -> Self {
        Self::new(
            -32009,
            "VERSION_NOT_SUPPORTED",
            format!("A2A version '{version}' is not supported; this server speaks 1.0 and 0.3"),
        )
        .with("requestedVersion", version)
        .with("supportedVersions", "1.0,0.3")
    }
}

impl Serialize for RpcError {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        json!({
            "code": self.code,
            "message": self.message,
            "data": [{
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": self.reason,
                "domain": "a2a-protocol.org",
                "metadata": self.metadata.iter().map(|(k, v)| ((*k).to_string(), v.clone())).collect::<Map<String, Value>>(),
            }],
        })
        .serialize(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::a2a::rpc::response_body;

    #[test]
    fn errors_carry_error_info() {
        let body = response_body(&json!(1), Err(&RpcError::task_not_found("t1")));
        let v: Value = serde_json::from_slice(&body).expect("json");
        assert_eq!(v["error"]["code"], -32001);
        assert_eq!(
            v["error"]["data"][0]["@type"],
            "type.googleapis.com/google.rpc.ErrorInfo"
        );
        assert_eq!(v["error"]["data"][0]["reason"], "TASK_NOT_FOUND");
        assert_eq!(v["error"]["data"][0]["metadata"]["taskId"], "t1");
    }
}
