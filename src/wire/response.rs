//! The answer to a task, in the contract's shape: `{task_id, agent_id, status, result | error}`,
//! written from what the planner returns ([`Planned`]) or from a [`TaskError`].

use serde::{Deserialize, Serialize};

use crate::domain::{ModelUsage, Plan, Planned, QueryAnalysis, SelectedAgent, Timings};
use crate::error::TaskError;
use crate::planner::VERSION;

/// How a task ended, as the contract names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Completed,
    Failed,
}

/// The response body, for success and failure alike.
#[derive(Debug, Serialize, Deserialize)]
pub struct TaskResponse {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task_id: Option<String>,
    pub agent_id: String,
    pub status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<TaskResult>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorBody>,
}

/// `error` of a failed task: a machine-readable code and a message for people.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ErrorBody {
    pub code: String,
    pub message: String,
}

/// `result` of a completed task.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TaskResult {
    pub plan: Plan,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub analysis: Option<QueryAnalysis>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub selected_agents: Vec<SelectedAgent>,
    pub metadata: Metadata,
}

/// How the plan was made: version, action, timings, the model call, the caller.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Metadata {
    pub planner_version: String,
    pub action: String,
    pub timings_ms: Timings,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub llm: Option<ModelUsage>,
    /// The authenticated caller, when authentication is on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caller: Option<String>,
}

impl TaskResult {
    /// The result of `planned`, a task of `action` for `caller`.
    pub fn new(planned: Planned, action: &str, caller: Option<&str>) -> TaskResult {
        TaskResult {
            plan: planned.plan,
            analysis: planned.analysis,
            selected_agents: planned.selected_agents,
            metadata: Metadata {
                planner_version: VERSION.to_string(),
                action: action.to_string(),
                timings_ms: planned.timings,
                llm: planned.usage,
                caller: caller.map(str::to_string),
            },
        }
    }
}

impl TaskResponse {
    /// A completed task carrying `result`.
    pub fn completed(task_id: Option<String>, agent_id: &str, result: TaskResult) -> Self {
        TaskResponse {
            task_id,
            agent_id: agent_id.to_string(),
            status: Status::Completed,
            result: Some(result),
            error: None,
        }
    }

    /// A failed task carrying `err`'s code and message.
    pub fn failed(task_id: Option<String>, agent_id: &str, err: &TaskError) -> Self {
        TaskResponse {
            task_id,
            agent_id: agent_id.to_string(),
            status: Status::Failed,
            result: None,
            error: Some(ErrorBody {
                code: err.code.into(),
                message: err.message.clone(),
            }),
        }
    }
}
