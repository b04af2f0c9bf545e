//! `SendMessage` (`message/send` in v0.3): the message's text parts are the request, an
//! optional data part the execution context (or `{"plan": …}` to optimize a plan); the
//! answer is a completed task whose artifact `plan` is the `/a2a/task` result, or a rejected
//! task with the reason.

use std::sync::Arc;

use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::Value;
use serde_json::value::RawValue;

use super::{Dispatcher, Outcome, RpcError, history_length, params_of};
use crate::a2a::Version;
use crate::a2a::task::{Artifact, Message, Part, Role, State, StoredTask, View, now_ms};
use crate::error::{ErrorKind, TaskError};
use crate::planner::{Action, Request};
use crate::wire::{self, ExecutionContext, TaskResult};

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

impl Dispatcher<'_> {
    pub(super) async fn send_message(
        &self,
        params: Value,
        version: Version,
    ) -> Result<Outcome, RpcError> {
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
            seq: self.a2a.next_seq(),
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

    /// Plans the request in `parts`: `create_plan` of the text (with the data part as the
    /// execution context), or `optimize_plan` when the data part carries a `plan`.
    async fn plan(&self, task_id: &str, parts: &[ReadPart]) -> Result<TaskResult, TaskError> {
        let action = self.action(parts)?;
        let name = action.name();
        let request = Request {
            task_id: task_id.to_string(),
            caller: self.caller.clone(),
            action,
        };
        let planned = self.planner.plan(request).await?;
        Ok(TaskResult::new(planned, name, self.caller.as_deref()))
    }

    /// What `parts` ask the planner for.
    fn action(&self, parts: &[ReadPart]) -> Result<Action, TaskError> {
        let text: Vec<&str> = parts
            .iter()
            .filter_map(|p| match &p.part {
                Part::Text(t) => Some(t.as_str()),
                Part::Data(_) => None,
            })
            .collect();
        let query = text.join("\n");
        let data = parts
            .iter()
            .find_map(|p| p.data.as_ref().map(|d| (p.index, d)));
        let Some((index, data)) = data else {
            return Ok(Action::CreatePlan {
                query,
                roster: Arc::default(),
                warnings: Vec::new(),
            });
        };
        let prefix = format!("message.parts[{index}].data");
        let Value::Object(obj) = data else {
            return Err(TaskError::bad_request(
                "invalid_request",
                format!("{prefix} must be an object (the execution_context, or {{\"plan\": …}})"),
            ));
        };
        let context = match obj.get("execution_context") {
            Some(ctx) => Some((ctx.clone(), format!("{prefix}.execution_context"))),
            None if obj.contains_key("plan") => None,
            None => Some((data.clone(), prefix.clone())),
        };
        let read = match context {
            Some((value, path)) => {
                let context: ExecutionContext = wire::from_value(value, &path)?;
                if let Some(journey) = &context.journey_id {
                    tracing::Span::current().record("journey_id", journey.as_str());
                }
                Some(context.read(&path, self.rosters)?)
            }
            None => None,
        };
        if let Some(plan) = obj.get("plan") {
            let plan = wire::from_value(plan.clone(), &format!("{prefix}.plan"))?;
            return Ok(Action::OptimizePlan {
                plan,
                roster: read.map(|r| r.roster),
            });
        }
        let read = read.unwrap_or_default();
        Ok(Action::CreatePlan {
            query,
            roster: read.roster,
            warnings: read.warnings.to_vec(),
        })
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
