//! JSON-RPC 2.0 for A2A, one file per method (mini-redis's `cmd/` layout): the envelope
//! ([`envelope`]), the errors ([`error`]), and `SendMessage`, `GetTask`, `ListTasks`,
//! `CancelTask`, each with its parameters. Every answer is a JSON-RPC response (HTTP 200); a
//! request that cannot be planned is a rejected task, not an error.

mod cancel_task;
mod envelope;
mod error;
mod get_task;
mod list_tasks;
mod send_message;

use std::sync::Arc;

use serde_json::Value;

use super::task::StoredTask;
use super::{A2a, Version};
use crate::planner::Planner;
use crate::wire::{self, RosterCache};

pub use envelope::{Envelope, Outcome, response_body};
pub use error::RpcError;

/// The methods this server knows, per version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    SendMessage,
    SendStreamingMessage,
    GetTask,
    ListTasks,
    CancelTask,
    SubscribeToTask,
    PushConfig,
    ExtendedCard,
}

impl Method {
    /// The method `name` under `version`; `Err` is the error to answer.
    pub fn resolve(name: &str, version: Version) -> Result<Method, RpcError> {
        let v1 = match name {
            "SendMessage" => Some(Method::SendMessage),
            "SendStreamingMessage" => Some(Method::SendStreamingMessage),
            "GetTask" => Some(Method::GetTask),
            "ListTasks" => Some(Method::ListTasks),
            "CancelTask" => Some(Method::CancelTask),
            "SubscribeToTask" => Some(Method::SubscribeToTask),
            "CreateTaskPushNotificationConfig"
            | "GetTaskPushNotificationConfig"
            | "ListTaskPushNotificationConfigs"
            | "DeleteTaskPushNotificationConfig" => Some(Method::PushConfig),
            "GetExtendedAgentCard" => Some(Method::ExtendedCard),
            _ => None,
        };
        let v03 = match name {
            "message/send" => Some(Method::SendMessage),
            "message/stream" => Some(Method::SendStreamingMessage),
            "tasks/get" => Some(Method::GetTask),
            "tasks/cancel" => Some(Method::CancelTask),
            "tasks/resubscribe" => Some(Method::SubscribeToTask),
            "tasks/pushNotificationConfig/set"
            | "tasks/pushNotificationConfig/get"
            | "tasks/pushNotificationConfig/list"
            | "tasks/pushNotificationConfig/delete" => Some(Method::PushConfig),
            "agent/getAuthenticatedExtendedCard" => Some(Method::ExtendedCard),
            _ => None,
        };
        match (version, v1, v03) {
            (Version::V10, Some(m), _) | (Version::V03, _, Some(m)) => Ok(m),
            // A v1.0 method without the header that selects v1.0 (spec §3.6.2: missing = 0.3).
            (Version::V03, Some(_), None) => Err(RpcError::version_not_supported("0.3")
                .with("method", name)
                .with("hint", "send the header A2A-Version: 1.0")),
            (Version::V10, None, Some(_)) => Err(RpcError::method_not_found(
                name,
                "; this is a v0.3 name: under A2A-Version 1.0 use the PascalCase methods \
                 (SendMessage, GetTask, ListTasks, CancelTask)",
            )),
            _ => Err(RpcError::method_not_found(name, "")),
        }
    }

    /// Whether the method answers over SSE when it is implemented.
    pub fn is_streaming(self) -> bool {
        matches!(self, Method::SendStreamingMessage | Method::SubscribeToTask)
    }

    pub fn label(self) -> &'static str {
        match self {
            Method::SendMessage => "send_message",
            Method::SendStreamingMessage => "send_streaming_message",
            Method::GetTask => "get_task",
            Method::ListTasks => "list_tasks",
            Method::CancelTask => "cancel_task",
            Method::SubscribeToTask => "subscribe_to_task",
            Method::PushConfig => "push_config",
            Method::ExtendedCard => "extended_card",
        }
    }
}

/// Runs A2A methods against the planner and the task store.
#[derive(Debug)]
pub struct Dispatcher<'a> {
    pub planner: &'a Planner,
    pub a2a: &'a A2a,
    /// The rosters read lately, shared with `/a2a/task`.
    pub rosters: &'a RosterCache,
    /// The authenticated caller, when authentication is on (recorded in the task's plan).
    pub caller: Option<Arc<str>>,
}

impl Dispatcher<'_> {
    /// Runs `method` with `params` under `version`.
    pub async fn call(
        &self,
        method: Method,
        params: Value,
        version: Version,
    ) -> Result<Outcome, RpcError> {
        match method {
            Method::SendMessage => self.send_message(params, version).await,
            Method::GetTask => self.get_task(params, version).await,
            Method::ListTasks => self.list_tasks(params, version).await,
            Method::CancelTask => self.cancel_task(params, version).await,
            Method::SendStreamingMessage | Method::SubscribeToTask => Err(RpcError::unsupported(
                "This operation is not supported: streaming is off (the card declares \
                     streaming false); use SendMessage, which answers the completed task",
            )),
            Method::PushConfig => Err(RpcError::push_not_supported()),
            Method::ExtendedCard => Err(match version {
                Version::V03 => RpcError::extended_card_not_configured(),
                Version::V10 => RpcError::unsupported(
                    "This operation is not supported: the card declares no extended agent card",
                ),
            }),
        }
    }

    async fn find(&self, id: &str) -> Result<Arc<StoredTask>, RpcError> {
        match self.a2a.store.get(id).await {
            Ok(Some(task)) => Ok(task),
            Ok(None) => Err(RpcError::task_not_found(id)),
            Err(e) => {
                tracing::warn!(error = %e, "task store failed on get");
                Err(RpcError::internal(
                    "the task store is unavailable; retry shortly",
                ))
            }
        }
    }
}

/// The history length a client asked for; a negative one is refused.
fn history_length(n: Option<i64>) -> Result<Option<usize>, RpcError> {
    match n {
        None => Ok(None),
        Some(n) if n >= 0 => Ok(Some(n as usize)),
        Some(n) => Err(RpcError::invalid_params(format!(
            "historyLength must not be negative, got {n}"
        ))),
    }
}

/// `params` as `T`, or -32602 naming the field.
fn params_of<T: serde::de::DeserializeOwned>(params: Value) -> Result<T, RpcError> {
    wire::from_value(params, "params").map_err(|e| RpcError::invalid_params(e.message))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_resolve_per_version() {
        assert_eq!(
            Method::resolve("SendMessage", Version::V10),
            Ok(Method::SendMessage)
        );
        assert_eq!(
            Method::resolve("message/send", Version::V03),
            Ok(Method::SendMessage)
        );
        assert_eq!(
            Method::resolve("SendMessage", Version::V03).map_err(|e| e.code),
            Err(-32009)
        );
        assert_eq!(
            Method::resolve("message/send", Version::V10).map_err(|e| e.code),
            Err(-32601)
        );
        assert_eq!(
            Method::resolve("Nope", Version::V10).map_err(|e| e.code),
            Err(-32601)
        );
        assert_eq!(
            Method::resolve("tasks/pushNotificationConfig/set", Version::V03),
            Ok(Method::PushConfig)
        );
    }
}
