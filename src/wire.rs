//! The A2A task as it travels: request and response shapes of `POST /a2a/task` (the wire
//! contract the orchestrator speaks; the README's "API" section describes it), parsed into domain
//! types once. Unknown fields are ignored everywhere; a missing or mistyped field is an error that
//! names it by path (`parameters.natural_language`).

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::domain::{
    AgentDescriptor, AgentType, KnowledgeDomain, Parameters, Plan, PlanningContext, Platform,
    QueryAnalysis, SchemaHint, Step,
};
use crate::error::TaskError;
use crate::recent::Recent;

/// `POST /a2a/task`'s body, parsed in one pass.
#[derive(Debug, Deserialize)]
pub struct TaskRequest {
    pub task_id: String,
    #[serde(default)]
    pub agent_id: Option<String>,
    pub action: String,
    #[serde(default)]
    pub parameters: Option<TaskParameters>,
}

/// `parameters` with the fields of every action; each action checks for the ones it needs.
#[derive(Debug, Default, Deserialize)]
pub struct TaskParameters {
    #[serde(default)]
    pub natural_language: Option<String>,
    #[serde(default)]
    pub plan: Option<PlanInput>,
    #[serde(default)]
    pub execution_context: Option<ExecutionContext>,
}

fn missing(field: &str) -> TaskError {
    TaskError::bad_request(
        "invalid_request",
        format!("missing required field 'parameters.{field}'"),
    )
}

impl TaskRequest {
    /// The task in `body`, or an error naming what is wrong (and the task id, when the body
    /// has a readable one).
    pub fn parse(body: &[u8]) -> Result<TaskRequest, (Option<String>, TaskError)> {
        from_slice(body, "").map_err(|e| {
            // Read the task id back only on this error path, to echo it.
            let value: Option<Value> = serde_json::from_slice(body).ok();
            let task_id = value
                .as_ref()
                .and_then(|v| v.get("task_id"))
                .and_then(Value::as_str)
                .map(str::to_string);
            let e = match value {
                Some(v) if !v.is_object() => {
                    TaskError::bad_request("invalid_request", "request body must be a JSON object")
                }
                _ => e,
            };
            (task_id, e)
        })
    }

    /// The parameters of `create_plan`.
    pub fn create_plan(&mut self) -> Result<CreatePlanParams, TaskError> {
        let p = self.parameters.take().unwrap_or_default();
        Ok(CreatePlanParams {
            natural_language: p
                .natural_language
                .ok_or_else(|| missing("natural_language"))?,
            execution_context: p.execution_context,
        })
    }

    /// The parameters of `optimize_plan`.
    pub fn optimize_plan(&mut self) -> Result<OptimizePlanParams, TaskError> {
        let p = self.parameters.take().unwrap_or_default();
        Ok(OptimizePlanParams {
            plan: p.plan.ok_or_else(|| missing("plan"))?,
            execution_context: p.execution_context,
        })
    }
}

/// `parameters` of `create_plan`.
#[derive(Debug, Deserialize)]
pub struct CreatePlanParams {
    pub natural_language: String,
    #[serde(default)]
    pub execution_context: Option<ExecutionContext>,
}

/// What the orchestrator tells the planner besides the query; every field optional.
///
/// The roster (the offered agents and the schema hints) is kept as JSON until
/// [`ExecutionContext::into_context`] reads it: an orchestrator sends the same roster with every
/// task, and a roster this thread read lately is not read again.
#[derive(Debug, Default, Deserialize)]
pub struct ExecutionContext {
    #[serde(default)]
    pub journey_id: Option<String>,
    #[serde(default)]
    pub current_state: Option<String>,
    #[serde(default)]
    pub state_history_count: Option<u64>,
    /// [`AvailableAgents`], as the caller wrote it.
    #[serde(default)]
    pub available_agents: Option<Box<RawValue>>,
    /// Accepted and not used in planning (skipped, never built into a tree).
    #[serde(default)]
    pub user_context: Option<serde::de::IgnoredAny>,
    /// Hints by platform name ([`SchemaHintWire`]), as the caller wrote them.
    #[serde(default)]
    pub schema_hints: Option<Box<RawValue>>,
}

/// The offered agents by kind.
#[derive(Debug, Default, Deserialize)]
pub struct AvailableAgents {
    /// Planner agents (this one among them): accepted and not used in planning, so skipped
    /// without being built into strings.
    #[serde(default)]
    pub planner: Option<serde::de::IgnoredAny>,
    #[serde(default)]
    pub knowledge: Option<Vec<AgentWire>>,
    #[serde(default)]
    pub data: Option<Vec<AgentWire>>,
}

/// One offered agent as the orchestrator describes it.
#[derive(Debug, Deserialize)]
pub struct AgentWire {
    pub agent_id: String,
    #[serde(default)]
    pub agent_name: Option<String>,
    #[serde(default)]
    pub capabilities: Option<Vec<String>>,
    #[serde(default)]
    pub knowledge_domain: Option<String>,
    #[serde(default)]
    pub platform: Option<String>,
}

/// `{"tables": [...], "indexes": [...]}`, or just a list of table names.
#[derive(Debug)]
pub enum SchemaHintWire {
    Names(Vec<String>),
    Detailed {
        tables: Option<Vec<String>>,
        indexes: Option<Vec<String>>,
    },
}

impl<'de> Deserialize<'de> for SchemaHintWire {
    /// Either shape, read in one pass (an untagged enum would buffer the value first).
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Shapes;
        impl<'de> serde::de::Visitor<'de> for Shapes {
            type Value = SchemaHintWire;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a list of table names or {\"tables\": [...], \"indexes\": [...]}")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Self::Value, A::Error> {
                let mut names = Vec::new();
                while let Some(name) = seq.next_element::<String>()? {
                    names.push(name);
                }
                Ok(SchemaHintWire::Names(names))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Self::Value, A::Error> {
                let (mut tables, mut indexes) = (None, None);
                while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                    match key.as_ref() {
                        "tables" => tables = map.next_value()?,
                        "indexes" => indexes = map.next_value()?,
                        _ => {
                            map.next_value::<serde::de::IgnoredAny>()?;
                        }
                    }
                }
                Ok(SchemaHintWire::Detailed { tables, indexes })
            }
        }
        d.deserialize_any(Shapes)
    }
}

/// `parameters` of `optimize_plan`.
#[derive(Debug, Deserialize)]
pub struct OptimizePlanParams {
    pub plan: PlanInput,
    #[serde(default)]
    pub execution_context: Option<ExecutionContext>,
}

/// A caller's plan to validate and layer.
#[derive(Debug, Deserialize)]
pub struct PlanInput {
    #[serde(default)]
    pub plan_id: Option<String>,
    pub steps: Vec<StepInput>,
    #[serde(default)]
    pub warnings: Option<Vec<String>>,
}

/// One step of a caller's plan; action and timeout default by agent type.
#[derive(Debug, Deserialize)]
pub struct StepInput {
    pub step_id: String,
    pub agent_type: AgentType,
    pub agent_id: String,
    #[serde(default)]
    pub action: Option<String>,
    #[serde(default)]
    pub depends_on: Option<Vec<String>>,
    #[serde(default)]
    pub parameters: Option<Map<String, Value>>,
    #[serde(default)]
    pub timeout_seconds: Option<u64>,
}

/// The response body, for success and failure alike.
#[derive(Debug, Serialize, Deserialize)]
pub struct TaskResponse {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task_id: Option<String>,
    pub agent_id: String,
    pub status: String,
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

/// An agent the plan uses and why.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SelectedAgent {
    pub agent_id: String,
    pub agent_type: AgentType,
    /// The knowledge domain or platform the agent was chosen for.
    pub serves: String,
    pub reason: String,
}

/// How the plan was made: version, action, timings, the model call.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Metadata {
    pub planner_version: String,
    pub action: String,
    pub timings_ms: Timings,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub llm: Option<LlmUsage>,
    /// The authenticated caller, when authentication is on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caller: Option<String>,
}

/// Where the planner's own time went, in milliseconds.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Timings {
    pub analysis_ms: f64,
    pub total_ms: f64,
}

/// What the planner's own model call cost (absent when no model was asked).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LlmUsage {
    /// Shared with the advisor (one copy for every cached answer, not one each).
    pub provider: Arc<str>,
    pub model: Arc<str>,
    pub prompt_version: Arc<str>,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    /// Whether the counts are tiktoken estimates because the backend reported none.
    pub tokens_estimated: bool,
    pub latency_ms: f64,
    pub attempts: u32,
    pub cached: bool,
}

impl TaskResponse {
    /// A completed task carrying `result`.
    pub fn completed(task_id: Option<String>, agent_id: &str, result: TaskResult) -> Self {
        TaskResponse {
            task_id,
            agent_id: agent_id.to_string(),
            status: "completed".into(),
            result: Some(result),
            error: None,
        }
    }

    /// A failed task carrying `err`'s code and message.
    pub fn failed(task_id: Option<String>, agent_id: &str, err: &TaskError) -> Self {
        TaskResponse {
            task_id,
            agent_id: agent_id.to_string(),
            status: "failed".into(),
            result: None,
            error: Some(ErrorBody {
                code: err.code.into(),
                message: err.message.clone(),
            }),
        }
    }
}

/// Parses JSON `bytes` into `T`, naming the offending field by path on failure; unreadable
/// JSON is `invalid_json`.
pub fn from_slice<'a, T: Deserialize<'a>>(bytes: &'a [u8], prefix: &str) -> Result<T, TaskError> {
    // The fast path validates UTF-8 once (not string by string) and tracks no field paths; a
    // failure is parsed again to name the field.
    if let Ok(text) = std::str::from_utf8(bytes)
        && let Ok(value) = serde_json::from_str(text)
    {
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
    {
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
            format!("field '{field}': {}", strip_position(&inner))
        };
        TaskError::bad_request("invalid_request", message)
    }
}

/// serde_json appends ` at line 1 column 42`; meaningless once the body was parsed.
fn strip_position(msg: &str) -> &str {
    msg.split(" at line ").next().unwrap_or(msg)
}

/// The largest roster kept (its JSON, agents and hints together): hundreds of agents. A larger
/// one is read on every task rather than held, with its copy, by every thread.
const MAX_KEPT_ROSTER_BYTES: usize = 64 * 1024;

/// A roster read: the planning context's shared parts and the warnings about agents that
/// cannot be used.
#[derive(Debug, Clone)]
struct Roster {
    knowledge_agents: Arc<Vec<AgentDescriptor>>,
    data_agents: Arc<Vec<AgentDescriptor>>,
    schema_hints: Arc<BTreeMap<Platform, SchemaHint>>,
    warnings: Vec<String>,
}

/// A roster read, with the JSON it was read from (agents, hints; empty when absent).
type RecentRoster = (Box<str>, Box<str>, Roster);

thread_local! {
    /// The rosters this thread read last, most recent first. Matched by their exact JSON, so a
    /// roster that changes in any byte is read afresh.
    static RECENT: std::cell::RefCell<Recent<RecentRoster>> =
        const { std::cell::RefCell::new(Recent::new()) };
}

impl ExecutionContext {
    /// The planning context, and warnings about offered agents that cannot be used. `prefix`
    /// is where this context sits in the request (`parameters.execution_context`), to name a
    /// mistyped field of the roster by its path.
    pub fn into_context(self, prefix: &str) -> Result<(PlanningContext, Vec<String>), TaskError> {
        let agents = self.available_agents.as_deref().map_or("", RawValue::get);
        let hints = self.schema_hints.as_deref().map_or("", RawValue::get);
        let roster = RECENT.with_borrow_mut(|recent| {
            recent
                .find(|(a, h, _)| **a == *agents && **h == *hints)
                .map(|(_, _, r)| r.clone())
        });
        let roster = match roster {
            Some(r) => r,
            None => {
                let r = read_roster(agents, hints, prefix)?;
                if agents.len() + hints.len() <= MAX_KEPT_ROSTER_BYTES {
                    RECENT.with_borrow_mut(|recent| {
                        recent.keep((agents.into(), hints.into(), r.clone()));
                    });
                }
                r
            }
        };
        let ctx = PlanningContext {
            journey_id: self.journey_id,
            knowledge_agents: roster.knowledge_agents,
            data_agents: roster.data_agents,
            schema_hints: roster.schema_hints,
        };
        Ok((ctx, roster.warnings))
    }
}

/// Reads the roster from its JSON: `agents` ([`AvailableAgents`]) and `hints` (schema hints by
/// platform name), each empty when the caller sent none.
fn read_roster(agents: &str, hints: &str, prefix: &str) -> Result<Roster, TaskError> {
    let at = |field: &str| {
        if prefix.is_empty() {
            field.to_string()
        } else {
            format!("{prefix}.{field}")
        }
    };
    let agents: Option<AvailableAgents> = if agents.is_empty() {
        None
    } else {
        from_slice(agents.as_bytes(), &at("available_agents"))?
    };
    let hints: Option<BTreeMap<String, Option<SchemaHintWire>>> = if hints.is_empty() {
        None
    } else {
        from_slice(hints.as_bytes(), &at("schema_hints"))?
    };
    let mut warnings = Vec::new();
    let agents = agents.unwrap_or_default();
    let mut knowledge_agents = Vec::new();
    for a in agents.knowledge.unwrap_or_default() {
        let domain = a
            .knowledge_domain
            .as_deref()
            .and_then(KnowledgeDomain::parse);
        if domain.is_none() {
            warnings.push(format!(
                "knowledge agent '{}' has no knowledge_domain; not used",
                a.agent_id
            ));
            continue;
        }
        knowledge_agents.push(descriptor(a, domain, None));
    }
    let mut data_agents = Vec::new();
    for a in agents.data.unwrap_or_default() {
        let platform = a.platform.as_deref().and_then(Platform::parse);
        if platform.is_none() {
            warnings.push(format!(
                "data agent '{}' has no platform; not used",
                a.agent_id
            ));
            continue;
        }
        data_agents.push(descriptor(a, None, platform));
    }
    let mut schema_hints: BTreeMap<Platform, SchemaHint> = BTreeMap::new();
    for (name, hint) in hints.unwrap_or_default() {
        let (Some(platform), Some(hint)) = (Platform::parse(&name), hint) else {
            continue;
        };
        let entry = schema_hints.entry(platform).or_default();
        match hint {
            SchemaHintWire::Names(tables) => entry.tables.extend(tables),
            SchemaHintWire::Detailed { tables, indexes } => {
                entry.tables.extend(tables.unwrap_or_default());
                entry.indexes.extend(indexes.unwrap_or_default());
            }
        }
    }
    Ok(Roster {
        knowledge_agents: Arc::new(knowledge_agents),
        data_agents: Arc::new(data_agents),
        schema_hints: Arc::new(schema_hints),
        warnings,
    })
}

fn descriptor(
    a: AgentWire,
    domain: Option<KnowledgeDomain>,
    platform: Option<Platform>,
) -> AgentDescriptor {
    AgentDescriptor {
        agent_name: a.agent_name.unwrap_or_else(|| a.agent_id.clone()),
        agent_id: a.agent_id,
        capabilities: a.capabilities.unwrap_or_default(),
        knowledge_domain: domain,
        platform,
    }
}

impl StepInput {
    /// The step with defaults filled in: action and timeout by agent type.
    pub fn into_step(self, knowledge_timeout: u64, data_timeout: u64) -> Step {
        let (default_action, default_timeout) = match self.agent_type {
            AgentType::Knowledge => ("retrieve_context", knowledge_timeout),
            AgentType::Data => ("generate_query", data_timeout),
        };
        Step {
            step_id: self.step_id,
            agent_type: self.agent_type,
            agent_id: self.agent_id,
            action: self.action.unwrap_or_else(|| default_action.to_string()),
            depends_on: self.depends_on.unwrap_or_default(),
            parameters: Parameters::Given(self.parameters.unwrap_or_default()),
            timeout_seconds: self.timeout_seconds.unwrap_or(default_timeout),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recent::RECENT_ROSTERS;
    use serde_json::json;

    #[test]
    fn a_wrongly_typed_nested_field_is_named_by_path() {
        // In the roster, read when the context is made: from a value and from a body alike.
        let v = json!({"natural_language": "x", "execution_context": {"available_agents": {"data": [{"agent_id": 5}]}}});
        let p = from_value::<CreatePlanParams>(v.clone(), "parameters").expect("parameters");
        let body = json!({"task_id": "t", "action": "create_plan", "parameters": v});
        let mut req = TaskRequest::parse(body.to_string().as_bytes()).expect("parses");
        let q = req.create_plan().expect("create_plan parameters");
        for ctx in [p.execution_context, q.execution_context] {
            let err = ctx
                .unwrap()
                .into_context("parameters.execution_context")
                .unwrap_err();
            assert!(
                err.message.starts_with(
                    "field 'parameters.execution_context.available_agents.data[0].agent_id'"
                ),
                "{}",
                err.message
            );
        }
        let hints = json!({"schema_hints": {"sql": 7}});
        let err = from_value::<ExecutionContext>(hints, "execution_context")
            .expect("context")
            .into_context("execution_context")
            .unwrap_err();
        assert!(
            err.message
                .starts_with("field 'execution_context.schema_hints.sql'"),
            "{}",
            err.message
        );
        let missing = json!({"available_agents": {"knowledge": [{"knowledge_domain": "sop"}]}});
        let err = from_value::<ExecutionContext>(missing, "p")
            .expect("context")
            .into_context("p")
            .unwrap_err();
        assert_eq!(
            err.message,
            "missing required field 'p.available_agents.knowledge[0].agent_id'"
        );
    }

    /// The context of `roster`, an `execution_context` in JSON text, read from a body.
    fn context_of(roster: &str) -> (PlanningContext, Vec<String>) {
        let body = format!(
            r#"{{"task_id":"t","action":"create_plan","parameters":{{"natural_language":"x","execution_context":{roster}}}}}"#
        );
        let mut req = TaskRequest::parse(body.as_bytes()).expect("parses");
        let p = req.create_plan().expect("create_plan parameters");
        p.execution_context
            .unwrap_or_default()
            .into_context("parameters.execution_context")
            .expect("the roster reads")
    }

    #[test]
    fn a_roster_read_lately_is_shared_and_a_changed_one_read_again() {
        let roster = r#"{"journey_id":"j1","available_agents":{"data":[{"agent_id":"kql_data","platform":"kql"},{"agent_id":"p"}]},"schema_hints":{"sql":["Users"]}}"#;
        let (a, warnings) = context_of(roster);
        assert_eq!(warnings, ["data agent 'p' has no platform; not used"]);
        // Another journey, the same roster: the same lists, and the same warnings.
        let (b, again) = context_of(&roster.replace("j1", "j2"));
        assert_eq!(b.journey_id.as_deref(), Some("j2"));
        assert!(Arc::ptr_eq(&a.data_agents, &b.data_agents));
        assert!(Arc::ptr_eq(&a.schema_hints, &b.schema_hints));
        assert_eq!(again, warnings);
        // One byte changed, in the agents or in the hints: read afresh, and read right.
        let (c, _) = context_of(&roster.replace(r#""kql""#, r#""spl""#));
        assert!(!Arc::ptr_eq(&a.data_agents, &c.data_agents));
        assert_eq!(c.data_agents[0].platform, Some(Platform::Spl));
        let (d, _) = context_of(&roster.replace("Users", "Orders"));
        assert!(!Arc::ptr_eq(&a.schema_hints, &d.schema_hints));
        assert_eq!(d.schema_hints[&Platform::Sql].tables, ["Orders"]);
        // Past the last few rosters, the first is read again, equal to what it was.
        for n in 0..RECENT_ROSTERS {
            context_of(&roster.replace("Users", &format!("T{n}")));
        }
        let (e, _) = context_of(roster);
        assert!(!Arc::ptr_eq(&a.data_agents, &e.data_agents));
        assert_eq!(
            a,
            PlanningContext {
                journey_id: Some("j1".into()),
                ..e
            }
        );
        // A roster past the size kept is read every time, and read right.
        let many: Vec<String> = (0..2_000)
            .map(|n| format!(r#"{{"agent_id":"kql_data_{n}","platform":"kql"}}"#))
            .collect();
        let large = format!(r#"{{"available_agents":{{"data":[{}]}}}}"#, many.join(","));
        assert!(large.len() > MAX_KEPT_ROSTER_BYTES);
        let (f, _) = context_of(&large);
        let (g, _) = context_of(&large);
        assert!(!Arc::ptr_eq(&f.data_agents, &g.data_agents));
        assert_eq!(f, g);
        assert_eq!(g.data_agents.len(), 2_000);
        // No roster at all is a context with no agents.
        let (none, warnings) = context_of("{}");
        assert!(none.data_agents.is_empty() && none.schema_hints.is_empty());
        assert!(warnings.is_empty());
    }

    #[test]
    fn the_planner_agents_are_accepted_in_any_shape_and_not_used() {
        for planner in [
            json!([{"agent_name": 5}]),
            json!("workflow_planner"),
            json!(null),
        ] {
            let body = json!({"task_id": "t", "action": "create_plan", "parameters": {
                "natural_language": "x",
                "execution_context": {"available_agents": {"planner": planner,
                    "data": [{"agent_id": "kql_data", "platform": "kql"}]}}}});
            let mut req = TaskRequest::parse(body.to_string().as_bytes()).expect("parses");
            let p = req.create_plan().expect("create_plan parameters");
            let (ctx, _) = p
                .execution_context
                .unwrap_or_default()
                .into_context("parameters.execution_context")
                .expect("the roster reads");
            assert_eq!(ctx.data_agents.len(), 1);
        }
    }

    #[test]
    fn a_missing_field_is_named_with_its_parent() {
        let err = from_value::<CreatePlanParams>(json!({}), "parameters").unwrap_err();
        assert_eq!(
            err.message,
            "missing required field 'parameters.natural_language'"
        );
        let err = TaskRequest::parse(br#"{"task_id": "t"}"#).unwrap_err().1;
        assert_eq!(err.message, "missing required field 'action'");
    }

    #[test]
    fn unknown_fields_are_ignored_and_hints_take_both_shapes() {
        let v = json!({
            "natural_language": "x", "surprise": true,
            "execution_context": {
                "schema_hints": {"sql": ["Users"], "KQL": {"tables": ["SigninLogs"], "extra": 1}, "spl": null},
                "available_agents": {"data": [{"agent_id": "d", "platform": "Splunk", "color": "red"}, {"agent_id": "p"}]}
            }
        });
        let params = from_value::<CreatePlanParams>(v, "parameters").unwrap();
        let (ctx, warnings) = params
            .execution_context
            .unwrap()
            .into_context("parameters.execution_context")
            .expect("the roster reads");
        assert_eq!(ctx.schema_hints[&Platform::Sql].tables, ["Users"]);
        assert_eq!(ctx.schema_hints[&Platform::Kql].tables, ["SigninLogs"]);
        assert_eq!(ctx.data_agents[0].platform, Some(Platform::Spl));
        assert_eq!(ctx.data_agents[0].agent_name, "d");
        assert_eq!(warnings, ["data agent 'p' has no platform; not used"]);
    }
}
