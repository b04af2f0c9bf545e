//! JSON-RPC 2.0 for A2A: the envelope, `A2A-Version` negotiation, method dispatch, and errors
//! with `google.rpc.ErrorInfo` data (spec §9.5). Every answer is a JSON-RPC response (HTTP 200);
//! a request that cannot be planned is a rejected task, not an error.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize, Serializer};
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};

use super::store::{Cursor, ListPage, ListQuery};
use super::task::{
    Artifact, Message, Part, Role, State, StoredTask, TaskView, View, now_ms, parse_iso8601,
};
use super::{A2a, Version};
use crate::error::{ErrorKind, TaskError};
use crate::planner::Planner;
use crate::wire::{self, ExecutionContext, PlanInput, TaskResult};

/// A JSON-RPC / A2A error: code, message, and the ErrorInfo `reason` and `metadata`.
#[derive(Debug, Clone, PartialEq)]
pub struct RpcError {
    pub code: i64,
    pub message: String,
    pub reason: &'static str,
    pub metadata: Vec<(&'static str, Value)>,
}

impl RpcError {
    fn new(code: i64, reason: &'static str, message: impl Into<String>) -> Self {
        RpcError {
            code,
            message: message.into(),
            reason,
            metadata: Vec::new(),
        }
    }

    fn with(mut self, key: &'static str, value: impl Into<Value>) -> Self {
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
    fn task_not_found(id: &str) -> Self {
        Self::new(-32001, "TASK_NOT_FOUND", format!("Task not found: '{id}'")).with("taskId", id)
    }
    fn not_cancelable(task: &StoredTask, version: Version) -> Self {
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
    fn push_not_supported() -> Self {
        Self::new(
            -32003,
            "PUSH_NOTIFICATION_NOT_SUPPORTED",
            "Push Notification is not supported: the card declares pushNotifications false",
        )
    }
    fn unsupported(message: impl Into<String>) -> Self {
        Self::new(-32004, "UNSUPPORTED_OPERATION", message)
    }
    pub fn content_type(message: impl Into<String>) -> Self {
        Self::new(-32005, "CONTENT_TYPE_NOT_SUPPORTED", message)
    }
    fn extended_card_not_configured() -> Self {
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

/// A parsed JSON-RPC request.
#[derive(Debug)]
pub struct Envelope {
    pub id: Value,
    pub method: String,
    pub params: Value,
}

impl Envelope {
    /// The request in `body`; `Err` carries the id to answer with (null when unreadable).
    pub fn parse(body: &[u8]) -> Result<Envelope, Box<(Value, RpcError)>> {
        let fail = |id: Value, e: RpcError| Box::new((id, e));
        let value: Value = serde_json::from_slice(body).map_err(|e| {
            fail(
                Value::Null,
                RpcError::parse_error(format!("Invalid JSON payload: {e}")),
            )
        })?;
        let Value::Object(mut obj) = value else {
            let what = if value.is_array() {
                "batch requests are not supported; send one request object"
            } else {
                "the request must be a JSON object"
            };
            return Err(fail(Value::Null, RpcError::invalid_request(what)));
        };
        let id = match obj.remove("id") {
            None => Value::Null,
            Some(id @ (Value::String(_) | Value::Number(_) | Value::Null)) => id,
            Some(_) => {
                return Err(fail(
                    Value::Null,
                    RpcError::invalid_request("'id' must be a string, a number or null"),
                ));
            }
        };
        if obj.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
            return Err(fail(
                id,
                RpcError::invalid_request("'jsonrpc' must be \"2.0\""),
            ));
        }
        let method = match obj.remove("method") {
            Some(Value::String(m)) => m,
            _ => {
                return Err(fail(
                    id,
                    RpcError::invalid_request("'method' must be a string"),
                ));
            }
        };
        let params = match obj.remove("params") {
            None | Some(Value::Null) => Value::Object(Map::new()),
            Some(p @ Value::Object(_)) => p,
            Some(_) => {
                return Err(fail(
                    id,
                    RpcError::invalid_params("'params' must be an object"),
                ));
            }
        };
        Ok(Envelope { id, method, params })
    }
}

/// What a method answers.
#[derive(Debug)]
pub enum Outcome {
    /// A task; `wrapped` puts it under `{"task": …}` (v1.0 `SendMessage`).
    Task {
        task: Arc<StoredTask>,
        view: View,
        wrapped: bool,
    },
    List {
        page: ListPage,
        view: View,
        page_size: usize,
    },
}

impl Serialize for Outcome {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        match self {
            Outcome::Task {
                task,
                view,
                wrapped,
            } => {
                let tv = TaskView { task, view: *view };
                if *wrapped {
                    let mut map = s.serialize_map(Some(1))?;
                    map.serialize_entry("task", &tv)?;
                    map.end()
                } else {
                    tv.serialize(s)
                }
            }
            Outcome::List {
                page,
                view,
                page_size,
            } => {
                let tasks: Vec<TaskView> = page
                    .tasks
                    .iter()
                    .map(|task| TaskView { task, view: *view })
                    .collect();
                let mut map = s.serialize_map(Some(4))?;
                map.serialize_entry("tasks", &tasks)?;
                map.serialize_entry(
                    "nextPageToken",
                    &page.next.map(Cursor::token).unwrap_or_default(),
                )?;
                map.serialize_entry("pageSize", page_size)?;
                map.serialize_entry("totalSize", &page.total)?;
                map.end()
            }
        }
    }
}

/// The JSON-RPC response body for `id` and `result`.
pub fn response_body(id: &Value, result: Result<&Outcome, &RpcError>) -> Vec<u8> {
    #[derive(Serialize)]
    struct Body<'a> {
        jsonrpc: &'static str,
        id: &'a Value,
        #[serde(skip_serializing_if = "Option::is_none")]
        result: Option<&'a Outcome>,
        #[serde(skip_serializing_if = "Option::is_none")]
        error: Option<&'a RpcError>,
    }
    let (result, error) = match result {
        Ok(r) => (Some(r), None),
        Err(e) => (None, Some(e)),
    };
    let mut buf = Vec::with_capacity(8 * 1024);
    if serde_json::to_writer(
        &mut buf,
        &Body {
            jsonrpc: "2.0",
            id,
            result,
            error,
        },
    )
    .is_err()
    {
        buf = br#"{"jsonrpc":"2.0","id":null,"error":{"code":-32603,"message":"Internal error"}}"#
            .to_vec();
    }
    buf
}

/// Runs A2A methods against the planner and the task store.
#[derive(Debug)]
pub struct Dispatcher<'a> {
    pub planner: &'a Planner,
    pub a2a: &'a A2a,
    /// The authenticated caller, when authentication is on (recorded in the task's plan).
    pub caller: Option<&'a str>,
}

/// Orders tasks of the same millisecond. Starts at a random point per process, so tasks written
/// by several replicas into one shared store keep distinct ordering keys.
static SEQ: std::sync::LazyLock<AtomicU64> = std::sync::LazyLock::new(|| {
    let random = uuid::Uuid::new_v4().as_u128() as u64;
    AtomicU64::new(random & 0xffff_ffff_0000_0000)
});

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

    async fn get_task(&self, params: Value, version: Version) -> Result<Outcome, RpcError> {
        let p: GetParams = params_of(params)?;
        let task = self.find(&p.id).await?;
        Ok(Outcome::Task {
            task,
            view: View {
                version,
                history_length: history_length(p.history_length)?,
                include_artifacts: true,
            },
            wrapped: false,
        })
    }

    async fn cancel_task(&self, params: Value, version: Version) -> Result<Outcome, RpcError> {
        let p: CancelParams = params_of(params)?;
        let task = self.find(&p.id).await?;
        // Planning finishes within the request: every stored task is already terminal.
        debug_assert!(task.state.is_terminal());
        Err(RpcError::not_cancelable(&task, version))
    }

    async fn list_tasks(&self, params: Value, version: Version) -> Result<Outcome, RpcError> {
        let p: ListParams = params_of(params)?;
        let page_size = match p.page_size {
            None => 50,
            Some(n @ 1..=100) => n as usize,
            Some(n) => {
                return Err(RpcError::invalid_params(format!(
                    "pageSize must be within 1..100, got {n}"
                )));
            }
        };
        let cursor = match p.page_token.as_deref() {
            None | Some("") => None,
            Some(t) => Some(Cursor::parse(t).ok_or_else(|| {
                RpcError::invalid_params(format!(
                    "pageToken '{t}' is not a token this server issued"
                ))
            })?),
        };
        let state = match p.status.as_deref() {
            None | Some("") => None,
            Some(s) => Some(State::parse_filter(s).map_err(|_| {
                RpcError::invalid_params(format!("status '{s}' is not a task state"))
            })?),
        };
        let after_ms = match p.status_timestamp_after.as_deref() {
            None | Some("") => None,
            Some(t) => Some(parse_iso8601(t).ok_or_else(|| {
                RpcError::invalid_params(format!(
                    "statusTimestampAfter '{t}' is not an ISO-8601 UTC timestamp"
                ))
            })?),
        };
        let query = ListQuery {
            context_id: p.context_id.filter(|c| !c.is_empty()),
            state,
            after_ms,
            page_size,
            cursor,
        };
        let page = self.a2a.store.list(&query).await.map_err(|e| {
            tracing::warn!(error = %e, "task store failed on list");
            RpcError::internal("the task store is unavailable; retry shortly")
        })?;
        Ok(Outcome::List {
            page,
            view: View {
                version,
                history_length: history_length(p.history_length)?,
                include_artifacts: p.include_artifacts.unwrap_or(false),
            },
            page_size,
        })
    }

    async fn send_message(&self, params: Value, version: Version) -> Result<Outcome, RpcError> {
        let p: SendParams = params_of(params)?;
        let config = p.configuration.unwrap_or_default();
        if config.push_notification_config.is_some()
            || config.task_push_notification_config.is_some()
        {
            return Err(RpcError::push_not_supported());
        }
        if let Some(modes) = &config.accepted_output_modes
            && !modes.is_empty()
            && !modes.iter().any(|m| {
                matches!(
                    m.trim().to_ascii_lowercase().as_str(),
                    "application/json" | "application/*" | "*/*" | "*" | "data"
                )
            })
        {
            return Err(RpcError::content_type(format!(
                "Incompatible content types: the plan is application/json; accepted: {}",
                modes.join(", ")
            ))
            .with("supportedOutputModes", "application/json"));
        }
        let view = View {
            version,
            history_length: history_length(config.history_length)?,
            include_artifacts: true,
        };
        let message = p.message;
        match message
            .role
            .as_deref()
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("role_user" | "user") => {}
            Some(other) => {
                return Err(RpcError::invalid_params(format!(
                    "message.role '{other}': a request to the planner comes from the user \
                     (ROLE_USER, or \"user\" in v0.3)"
                )));
            }
            None => {
                return Err(RpcError::invalid_params(
                    "missing required field 'message.role'",
                ));
            }
        }
        if message.parts.is_empty() {
            return Err(RpcError::invalid_params(
                "message.parts is empty: send the request as a text part",
            ));
        }
        let parts = read_parts(message.parts)?;

        if let Some(task_id) = message.task_id.as_deref().filter(|t| !t.is_empty()) {
            let task = self.find(task_id).await?;
            if let Some(ctx) = message.context_id.as_deref()
                && !ctx.is_empty()
                && ctx != task.context_id
            {
                return Err(RpcError::invalid_params(format!(
                    "message.contextId '{ctx}' does not match task '{task_id}' (context '{}')",
                    task.context_id
                )));
            }
            return Err(RpcError::unsupported(format!(
                "Task '{task_id}' is {}: it takes no further messages; send a new message \
                 without taskId (same contextId) for a new plan",
                task.state.name(version)
            ))
            .with("taskId", task_id));
        }

        let task_id = uuid::Uuid::new_v4().to_string();
        let context_id = message
            .context_id
            .filter(|c| !c.is_empty())
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let result = self.plan(&task_id, &parts).await;
        let (state, status_text, artifact) = match result {
            Ok(result) => {
                let summary = summary(&result);
                let data = serde_json::value::to_raw_value(&result)
                    .map_err(|e| RpcError::internal(format!("plan did not serialize: {e}")))?;
                let artifact = Artifact {
                    artifact_id: format!("{task_id}-plan"),
                    description: format!("Execution plan {}", result.plan.plan_id),
                    data,
                };
                (State::Completed, summary, Some(artifact))
            }
            Err(err) => {
                let state = match err.kind {
                    ErrorKind::Overloaded | ErrorKind::Internal => State::Failed,
                    _ => State::Rejected,
                };
                tracing::info!(code = err.code, message = %err.message, "A2A task not planned");
                (state, format!("{}: {}", err.code, err.message), None)
            }
        };
        let history = vec![Message {
            message_id: message.message_id,
            role: Role::User,
            parts: parts.into_iter().map(|p| p.part).collect(),
        }];
        let task = Arc::new(StoredTask {
            id: task_id,
            context_id,
            state,
            timestamp_ms: now_ms(),
            seq: SEQ.fetch_add(1, Ordering::Relaxed),
            status_text,
            artifact,
            history,
        });
        if let Err(e) = self.a2a.store.put(task.clone()).await {
            // The answer still carries the whole task; only a later GetTask misses it.
            tracing::warn!(error = %e, task_id = %task.id, "task store failed on put");
        }
        Ok(Outcome::Task {
            task,
            view,
            wrapped: version == Version::V10,
        })
    }

    /// Plans the request in `parts`: `create_plan` from the text (with the data part as the
    /// execution context), or `optimize_plan` when the data part carries a `plan`.
    async fn plan(&self, task_id: &str, parts: &[ReadPart]) -> Result<TaskResult, TaskError> {
        let text: Vec<&str> = parts
            .iter()
            .filter_map(|p| match &p.part {
                Part::Text(t) => Some(t.as_str()),
                Part::Data(_) => None,
            })
            .collect();
        let text = text.join("\n");
        let data = parts
            .iter()
            .find_map(|p| p.data.as_ref().map(|d| (p.index, d)));
        let Some((index, data)) = data else {
            return self
                .planner
                .create_plan_as(self.caller, task_id, &text, &Default::default(), Vec::new())
                .await;
        };
        let prefix = format!("message.parts[{index}].data");
        let Value::Object(obj) = data else {
            return Err(TaskError::bad_request(
                "invalid_request",
                format!("{prefix} must be an object (the execution_context, or {{\"plan\": …}})"),
            ));
        };
        let context_value = match obj.get("execution_context") {
            Some(ctx) => Some((ctx.clone(), format!("{prefix}.execution_context"))),
            None if obj.contains_key("plan") => None,
            None => Some((data.clone(), prefix.clone())),
        };
        let ctx = match context_value {
            Some((value, path)) => {
                let ctx: ExecutionContext = wire::from_value(value, &path)?;
                Some(ctx.into_context(&path)?)
            }
            None => None,
        };
        if let Some(plan) = obj.get("plan") {
            let plan: PlanInput = wire::from_value(plan.clone(), &format!("{prefix}.plan"))?;
            return self.planner.optimize_plan_as(
                self.caller,
                task_id,
                plan,
                ctx.as_ref().map(|(c, _)| c),
            );
        }
        let (ctx, warnings) = ctx.unwrap_or_default();
        if let Some(journey) = &ctx.journey_id {
            tracing::Span::current().record("journey_id", journey.as_str());
        }
        self.planner
            .create_plan_as(self.caller, task_id, &text, &ctx, warnings)
            .await
    }
}

/// The status message of a completed task.
fn summary(result: &TaskResult) -> String {
    let plan = &result.plan;
    format!(
        "Plan {}: {} step(s) in {} parallel group(s), at most {} s, about ${:.4}{}",
        plan.plan_id,
        plan.steps.len(),
        plan.parallel_execution_groups.len(),
        plan.estimated_duration_seconds,
        plan.estimated_cost.cost_usd,
        if plan.warnings.is_empty() {
            String::new()
        } else {
            format!("; warnings: {}", plan.warnings.join("; "))
        }
    )
}

struct ReadPart {
    index: usize,
    part: Part,
    data: Option<Value>,
}

/// The message's parts: text and JSON data; file parts are not accepted.
fn read_parts(parts: Vec<Value>) -> Result<Vec<ReadPart>, RpcError> {
    let mut out = Vec::with_capacity(parts.len());
    for (index, part) in parts.into_iter().enumerate() {
        let Value::Object(mut obj) = part else {
            return Err(RpcError::invalid_params(format!(
                "message.parts[{index}] must be an object"
            )));
        };
        let kind = obj.get("kind").and_then(Value::as_str).unwrap_or("");
        if kind == "file"
            || obj.contains_key("raw")
            || obj.contains_key("url")
            || obj.contains_key("file")
        {
            return Err(RpcError::content_type(format!(
                "Incompatible content types: message.parts[{index}] is a file; the planner \
                 reads text and JSON data parts"
            ))
            .with("supportedInputModes", "text/plain,application/json"));
        }
        if let Some(Value::String(text)) = obj.remove("text") {
            out.push(ReadPart {
                index,
                part: Part::Text(text),
                data: None,
            });
        } else if let Some(data) = obj.remove("data") {
            let raw: Box<RawValue> = serde_json::value::to_raw_value(&data).map_err(|e| {
                RpcError::invalid_params(format!("message.parts[{index}].data: {e}"))
            })?;
            out.push(ReadPart {
                index,
                part: Part::Data(raw),
                data: Some(data),
            });
        } else {
            return Err(RpcError::invalid_params(format!(
                "message.parts[{index}] has no text or data"
            )));
        }
    }
    Ok(out)
}

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

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SendParams {
    message: InMessage,
    #[serde(default)]
    configuration: Option<SendConfig>,
    #[serde(default)]
    #[allow(dead_code)]
    metadata: Option<IgnoredAny>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct InMessage {
    message_id: String,
    #[serde(default)]
    role: Option<String>,
    parts: Vec<Value>,
    #[serde(default)]
    context_id: Option<String>,
    #[serde(default)]
    task_id: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SendConfig {
    #[serde(default)]
    accepted_output_modes: Option<Vec<String>>,
    #[serde(default)]
    history_length: Option<i64>,
    #[serde(default)]
    push_notification_config: Option<IgnoredAny>,
    #[serde(default)]
    task_push_notification_config: Option<IgnoredAny>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct GetParams {
    id: String,
    #[serde(default)]
    history_length: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CancelParams {
    id: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListParams {
    #[serde(default)]
    context_id: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    page_size: Option<i64>,
    #[serde(default)]
    page_token: Option<String>,
    #[serde(default)]
    history_length: Option<i64>,
    #[serde(default)]
    status_timestamp_after: Option<String>,
    #[serde(default)]
    include_artifacts: Option<bool>,
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

    #[test]
    fn envelope_errors_keep_the_id_when_it_is_readable() {
        let (id, e) = *Envelope::parse(b"{nope").expect_err("bad json");
        assert_eq!((id, e.code), (Value::Null, -32700));
        let (id, e) = *Envelope::parse(br#"{"id":7,"method":"GetTask"}"#).expect_err("no jsonrpc");
        assert_eq!((id, e.code), (json!(7), -32600));
        let (_, e) = *Envelope::parse(br#"[{"jsonrpc":"2.0"}]"#).expect_err("batch");
        assert_eq!(e.code, -32600);
        let (id, e) =
            *Envelope::parse(br#"{"jsonrpc":"2.0","id":"a","method":"GetTask","params":[1]}"#)
                .expect_err("params");
        assert_eq!((id, e.code), (json!("a"), -32602));
        let ok =
            Envelope::parse(br#"{"jsonrpc":"2.0","id":null,"method":"GetTask"}"#).expect("valid");
        assert_eq!(ok.method, "GetTask");
    }

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
