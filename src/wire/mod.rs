//! The A2A task as it travels: request and response shapes of `POST /a2a/task` (the wire
//! contract the orchestrator speaks; the README's "API" section describes it), parsed into the
//! planner's [`Request`] once. Unknown fields are ignored everywhere; a missing or mistyped field
//! is an error that names it by path (`parameters.natural_language`).
//!
//! - [`roster`]: the execution context, and the roster read from it (kept in [`RosterCache`]).
//! - [`response`]: the task's answer, written from what the planner returns.

mod response;
mod roster;

use std::sync::Arc;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::domain::CallerPlan;
use crate::error::TaskError;
use crate::planner::{Action, Request};

pub use response::{ErrorBody, Metadata, Status, TaskResponse, TaskResult};
pub use roster::{ExecutionContext, ReadRoster, RosterCache};

/// Where the execution context sits in a task's body, to name its fields.
pub const CONTEXT: &str = "parameters.execution_context";

/// `POST /a2a/task`'s body as written.
#[derive(Debug, Deserialize)]
struct TaskBody {
    task_id: String,
    action: String,
    #[serde(default)]
    parameters: Option<TaskParameters>,
}

/// `parameters` with the fields of every action; each action takes the ones it needs.
#[derive(Debug, Default, Deserialize)]
struct TaskParameters {
    #[serde(default)]
    natural_language: Option<String>,
    #[serde(default)]
    plan: Option<CallerPlan>,
    #[serde(default)]
    execution_context: Option<ExecutionContext>,
}

/// A task read from its body: the planner's request (without a caller: that is the edge's to
/// add) and the orchestrator's journey, for the log.
#[derive(Debug)]
pub struct Task {
    pub request: Request,
    pub journey_id: Option<String>,
}

/// Why a body is not a task: the error, with the task id and the action when they were read.
#[derive(Debug)]
pub struct Rejected {
    pub task_id: Option<String>,
    pub action: Option<&'static str>,
    pub error: TaskError,
}

fn missing(field: &str) -> TaskError {
    TaskError::bad_request(
        "invalid_request",
        format!("missing required field 'parameters.{field}'"),
    )
}

impl Task {
    /// The task in `body`, its roster read through `rosters`; or why it is none.
    pub fn parse(body: &[u8], rosters: &RosterCache) -> Result<Task, Rejected> {
        let body: TaskBody = from_slice(body, "").map_err(|error| Rejected {
            task_id: task_id_of(body),
            action: None,
            error: match serde_json::from_slice::<Value>(body) {
                Ok(v) if !v.is_object() => {
                    TaskError::bad_request("invalid_request", "request body must be a JSON object")
                }
                _ => error,
            },
        })?;
        let task_id = body.task_id;
        let reject = |action, error| Rejected {
            task_id: Some(task_id.clone()),
            action,
            error,
        };
        let p = body.parameters.unwrap_or_default();
        let (action, journey_id) = match body.action.as_str() {
            "create_plan" => {
                let name = Some("create_plan");
                let query = p
                    .natural_language
                    .ok_or_else(|| reject(name, missing("natural_language")))?;
                let context = p.execution_context.unwrap_or_default();
                let journey_id = context.journey_id.clone();
                let read = context
                    .read(CONTEXT, rosters)
                    .map_err(|e| reject(name, e))?;
                let action = Action::CreatePlan {
                    query,
                    roster: read.roster,
                    warnings: read.warnings.to_vec(),
                };
                (action, journey_id)
            }
            "optimize_plan" => {
                let name = Some("optimize_plan");
                let plan = p.plan.ok_or_else(|| reject(name, missing("plan")))?;
                let journey_id = p
                    .execution_context
                    .as_ref()
                    .and_then(|c| c.journey_id.clone());
                let roster = match p.execution_context {
                    Some(c) => Some(
                        c.read(CONTEXT, rosters)
                            .map_err(|e| reject(name, e))?
                            .roster,
                    ),
                    None => None,
                };
                (Action::OptimizePlan { plan, roster }, journey_id)
            }
            other => {
                let error = TaskError::unprocessable(
                    "unknown_action",
                    format!("action '{other}' is not supported; use create_plan or optimize_plan"),
                );
                return Err(reject(None, error));
            }
        };
        Ok(Task {
            request: Request {
                task_id,
                caller: None,
                action,
            },
            journey_id,
        })
    }
}

/// The task id of an unreadable body, when it has a readable one (to echo it).
fn task_id_of(body: &[u8]) -> Option<String> {
    let value: Value = serde_json::from_slice(body).ok()?;
    value.get("task_id")?.as_str().map(str::to_string)
}

/// Parses JSON `bytes` into `T`, naming the offending field by path on failure; unreadable
/// JSON is `invalid_json`.
pub fn from_slice<'a, T: Deserialize<'a>>(bytes: &'a [u8], prefix: &str) -> Result<T, TaskError> {
    // The common case tracks no field paths; a failure is parsed again to name the field.
    if let Ok(value) = serde_json::from_slice(bytes) {
        return Ok(value);
    }
    let invalid_json = |e: &serde_json::Error| {
        TaskError::bad_request(
            "invalid_json",
            format!("request body is not valid JSON: {e}"),
        )
    };
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        if e.inner().is_data() {
            path_error(e.path().to_string(), e.into_inner().to_string(), prefix)
        } else {
            invalid_json(e.inner())
        }
    })?;
    de.end().map_err(|e| invalid_json(&e))?;
    Ok(value)
}

/// Deserialises `value` into `T`, naming the offending field by path on failure.
pub fn from_value<T: DeserializeOwned>(value: Value, prefix: &str) -> Result<T, TaskError> {
    serde_path_to_error::deserialize(value)
        .map_err(|e| path_error(e.path().to_string(), e.into_inner().to_string(), prefix))
}

/// The message for a field that is missing or of the wrong type, named by its path.
fn path_error(path: String, inner: String, prefix: &str) -> TaskError {
    let field = match (prefix.is_empty(), path.as_str()) {
        (true, _) => path.clone(),
        (false, ".") => prefix.to_string(),
        (false, _) => format!("{prefix}.{path}"),
    };
    // serde names a missing field itself; say where it was missing from.
    let message = if let Some(rest) = inner.strip_prefix("missing field `") {
        let name = rest.split('`').next().unwrap_or(rest);
        if field == "." || field.is_empty() {
            format!("missing required field '{name}'")
        } else {
            format!("missing required field '{field}.{name}'")
        }
    } else {
        // serde_json appends ` at line 1 column 42`; meaningless once the body was parsed.
        let inner = inner.split(" at line ").next().unwrap_or(&inner);
        format!("field '{field}': {inner}")
    };
    TaskError::bad_request("invalid_request", message)
}

/// A request's roster as shared between tasks.
pub type SharedRoster = Arc<crate::pipeline::roster::Roster>;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(body: &Value) -> Result<Task, Rejected> {
        Task::parse(body.to_string().as_bytes(), &RosterCache::new(16))
    }

    #[test]
    fn a_missing_field_is_named_with_its_parent() {
        let err = parse(&json!({"task_id": "t", "action": "create_plan"}))
            .unwrap_err()
            .error;
        assert_eq!(
            err.message,
            "missing required field 'parameters.natural_language'"
        );
        let err = parse(&json!({"task_id": "t"})).unwrap_err();
        assert_eq!(err.error.message, "missing required field 'action'");
        assert_eq!(err.task_id.as_deref(), Some("t"), "the id is echoed");
    }

    #[test]
    fn a_wrongly_typed_nested_field_is_named_by_path() {
        let body = json!({"task_id": "t", "action": "create_plan", "parameters": {
            "natural_language": "x",
            "execution_context": {"available_agents": {"data": [{"agent_id": 5}]}}}});
        let err = parse(&body).unwrap_err().error;
        assert!(
            err.message.starts_with(
                "field 'parameters.execution_context.available_agents.data[0].agent_id'"
            ),
            "{}",
            err.message
        );
        let body = json!({"task_id": "t", "action": "optimize_plan",
            "parameters": {"plan": {"steps": [{"step_id": "a"}]}}});
        let err = parse(&body).unwrap_err().error;
        assert_eq!(
            err.message,
            "missing required field 'parameters.plan.steps[0].agent_type'"
        );
    }

    #[test]
    fn an_unknown_action_is_refused_by_name_and_a_non_object_body_as_such() {
        let err = parse(&json!({"task_id": "t", "action": "delete_plan"})).unwrap_err();
        assert_eq!(err.error.code, "unknown_action");
        assert!(err.error.message.contains("'delete_plan'"));
        let err = parse(&json!([1, 2])).unwrap_err().error;
        assert_eq!(err.message, "request body must be a JSON object");
        let err = Task::parse(b"{nope", &RosterCache::new(1))
            .unwrap_err()
            .error;
        assert_eq!(err.code, "invalid_json");
    }

    #[test]
    fn a_task_carries_its_journey_and_its_roster() {
        let body = json!({"task_id": "t", "action": "create_plan", "parameters": {
            "natural_language": "failed sign-ins",
            "execution_context": {"journey_id": "j1",
                "available_agents": {"data": [{"agent_id": "kql_data", "platform": "kql"}]}}}});
        let task = parse(&body).expect("a task");
        assert_eq!(task.journey_id.as_deref(), Some("j1"));
        assert_eq!(task.request.task_id, "t");
        let Action::CreatePlan { query, roster, .. } = task.request.action else {
            panic!("create_plan");
        };
        assert_eq!(query, "failed sign-ins");
        assert_eq!(roster.data_agents().len(), 1);
    }
}
