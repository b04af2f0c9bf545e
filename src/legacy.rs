//! The old mock's behaviour (`PLANNER_STRATEGY=legacy`), so the rollback target of a migration
//! is this same image: keyword matching, always an SOP knowledge step, an errors knowledge step
//! when the query contains an error word, and one data step for `parameters.platform` (default
//! `kql`), each on the first offered agent of that domain or platform. Answers what the mock
//! answers: `create_plan` only (other actions are a `failed` task with a string `error`, HTTP
//! 200), no analysis, no groups, no estimates.
//!
//! Where the mock would crash (a non-string query, a non-object context: HTTP 500), this answers
//! 422 in the mock's own validation shape (`{"detail": [{type, loc, msg}]}`) instead.

use serde_json::{Map, Value, json};

/// The words that make the mock add an errors knowledge step (substring match, lower-cased).
const ERROR_WORDS: [&str; 6] = ["error", "fail", "exception", "crash", "timeout", "denied"];

/// The mock's answer to a `POST /a2a/task` body: (HTTP status, JSON body).
pub fn answer(body: &[u8]) -> (u16, Value) {
    let value: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => {
            return invalid(vec![detail(
                "json_invalid",
                &["body"],
                &format!("JSON decode error: {e}"),
            )]);
        }
    };
    let Value::Object(req) = value else {
        return invalid(vec![detail(
            "model_attributes_type",
            &["body"],
            "Input should be a valid dictionary or object to extract fields from",
        )]);
    };
    let mut problems = Vec::new();
    let task_id = string_field(&req, "task_id", true, &mut problems);
    let action = string_field(&req, "action", true, &mut problems);
    string_field(&req, "agent_id", false, &mut problems);
    let empty = Map::new();
    let params = match req.get("parameters") {
        None => &empty,
        Some(Value::Object(p)) => p,
        Some(_) => {
            problems.push(detail(
                "dict_type",
                &["body", "parameters"],
                "Input should be a valid dictionary",
            ));
            &empty
        }
    };
    if !problems.is_empty() {
        return invalid(problems);
    }
    let (task_id, action) = (task_id.unwrap_or_default(), action.unwrap_or_default());
    if action != "create_plan" {
        return (
            200,
            json!({"task_id": task_id, "status": "failed", "error": format!("unknown action {action}")}),
        );
    }
    match plan(params) {
        Ok(steps) => (
            200,
            json!({"task_id": task_id, "status": "completed",
                   "result": {"plan": {"plan_id": format!("plan_{task_id}"), "steps": steps}}}),
        ),
        Err(problem) => invalid(vec![problem]),
    }
}

fn plan(p: &Map<String, Value>) -> Result<Vec<Value>, Value> {
    let natural_language = p.get("natural_language").cloned().unwrap_or(Value::Null);
    let query = match &natural_language {
        Value::String(s) => s.to_lowercase(),
        Value::Null => String::new(),
        _ => {
            return Err(detail(
                "string_type",
                &["body", "parameters", "natural_language"],
                "Input should be a valid string",
            ));
        }
    };
    let empty = Map::new();
    let ctx = match p.get("execution_context") {
        None | Some(Value::Null) => &empty,
        Some(Value::Object(c)) => c,
        Some(_) => {
            return Err(detail(
                "dict_type",
                &["body", "parameters", "execution_context"],
                "Input should be a valid dictionary",
            ));
        }
    };
    let agents = ctx.get("available_agents").and_then(Value::as_object);
    let list = |kind: &str| -> Vec<Value> {
        agents
            .and_then(|a| a.get(kind))
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    let (knowledge, data) = (list("knowledge"), list("data"));
    let first = |agents: &[Value], key: &str, value: &Value| -> Option<Value> {
        agents
            .iter()
            .find(|a| a.get(key) == Some(value))
            .and_then(|a| a.get("agent_id").cloned())
    };
    let knowledge_step = |step_id: &str, agent_id: Value| {
        json!({"step_id": step_id, "agent_type": "knowledge", "agent_id": agent_id,
               "action": "retrieve_context", "depends_on": [],
               "parameters": {"query": natural_language, "top_k": 5}, "timeout_seconds": 30})
    };
    let mut steps = Vec::new();
    if let Some(sop) = first(&knowledge, "knowledge_domain", &json!("sop")) {
        steps.push(knowledge_step("knowledge_sop", sop));
    }
    if ERROR_WORDS.iter().any(|w| query.contains(w))
        && let Some(errors) = first(&knowledge, "knowledge_domain", &json!("errors"))
    {
        steps.push(knowledge_step("knowledge_errors", errors));
    }
    // `p.get("platform") or "kql"`: any falsy value means kql.
    let platform = match p.get("platform") {
        None | Some(Value::Null) | Some(Value::Bool(false)) => json!("kql"),
        Some(Value::String(s)) if s.is_empty() => json!("kql"),
        Some(Value::Number(n)) if n.as_f64() == Some(0.0) => json!("kql"),
        Some(Value::Array(a)) if a.is_empty() => json!("kql"),
        Some(Value::Object(o)) if o.is_empty() => json!("kql"),
        Some(v) => v.clone(),
    };
    if let Some(agent) = first(&data, "platform", &platform) {
        let name = match &platform {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let depends_on: Vec<Value> = steps.iter().map(|s| s["step_id"].clone()).collect();
        steps.push(
            json!({"step_id": format!("data_{name}"), "agent_type": "data", "agent_id": agent,
                          "action": "generate_query", "depends_on": depends_on,
                          "parameters": {"platform": platform}, "timeout_seconds": 60}),
        );
    }
    Ok(steps)
}

fn string_field(
    req: &Map<String, Value>,
    name: &str,
    required: bool,
    problems: &mut Vec<Value>,
) -> Option<String> {
    match req.get(name) {
        Some(Value::String(s)) => Some(s.clone()),
        None if required => {
            problems.push(detail("missing", &["body", name], "Field required"));
            None
        }
        None | Some(Value::Null) if !required => None,
        _ => {
            problems.push(detail(
                "string_type",
                &["body", name],
                "Input should be a valid string",
            ));
            None
        }
    }
}

fn detail(kind: &str, loc: &[&str], msg: &str) -> Value {
    json!({"type": kind, "loc": loc, "msg": msg})
}

fn invalid(detail: Vec<Value>) -> (u16, Value) {
    (422, json!({ "detail": detail }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roster() -> Value {
        json!({"knowledge": [
                  {"agent_id": "sop_a", "knowledge_domain": "sop"},
                  {"agent_id": "sop_b", "knowledge_domain": "sop"},
                  {"agent_id": "err", "knowledge_domain": "errors"}],
               "data": [{"agent_id": "kql_data", "platform": "kql"},
                        {"agent_id": "spl_data", "platform": "spl"}]})
    }

    fn create(query: Value, platform: Option<&str>) -> Value {
        let mut params = json!({"natural_language": query,
                                "execution_context": {"available_agents": roster()}});
        if let Some(p) = platform {
            params["platform"] = json!(p);
        }
        json!({"task_id": "t1", "action": "create_plan", "parameters": params})
    }

    fn run(body: &Value) -> (u16, Value) {
        answer(body.to_string().as_bytes())
    }

    #[test]
    fn sop_always_errors_on_error_words_data_on_the_platform_parameter() {
        let (status, v) = run(&create(json!("Login FAILURES in Splunk"), None));
        assert_eq!(status, 200);
        assert_eq!(v["status"], "completed");
        assert_eq!(v["result"]["plan"]["plan_id"], "plan_t1");
        let steps = v["result"]["plan"]["steps"].as_array().unwrap();
        let ids: Vec<&str> = steps
            .iter()
            .map(|s| s["step_id"].as_str().unwrap())
            .collect();
        // The mock ignores "Splunk" in the text: the platform comes from the parameter.
        assert_eq!(ids, ["knowledge_sop", "knowledge_errors", "data_kql"]);
        assert_eq!(steps[0]["agent_id"], "sop_a", "the first offered agent");
        assert_eq!(
            steps[0]["parameters"],
            json!({"query": "Login FAILURES in Splunk", "top_k": 5})
        );
        assert_eq!(
            steps[2]["depends_on"],
            json!(["knowledge_sop", "knowledge_errors"])
        );
        assert_eq!(steps[2]["parameters"], json!({"platform": "kql"}));
        assert_eq!(steps[2]["timeout_seconds"], 60);
        assert!(v["result"].get("analysis").is_none());

        let (_, v) = run(&create(json!("count sign-ins"), Some("spl")));
        let ids: Vec<&str> = v["result"]["plan"]["steps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["step_id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, ["knowledge_sop", "data_spl"]);

        // A platform nobody offers: no data step.
        let (_, v) = run(&create(json!("timeouts"), Some("sql")));
        assert_eq!(v["result"]["plan"]["steps"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn other_actions_and_bad_bodies_answer_as_the_mock() {
        let (status, v) = run(&json!({"task_id": "t", "action": "optimize_plan"}));
        assert_eq!(status, 200);
        assert_eq!(
            v,
            json!({"task_id": "t", "status": "failed", "error": "unknown action optimize_plan"})
        );
        let (status, v) = run(&json!({"action": "create_plan"}));
        assert_eq!(status, 422);
        assert_eq!(v["detail"][0]["loc"], json!(["body", "task_id"]));
        assert_eq!(v["detail"][0]["type"], "missing");
        let (status, _) = answer(b"{nope");
        assert_eq!(status, 422);
        let (status, v) = run(&create(json!(42), None));
        assert_eq!(status, 422, "the mock would crash; we say why");
        assert_eq!(
            v["detail"][0]["loc"],
            json!(["body", "parameters", "natural_language"])
        );
        // No query and no agents: an empty plan, as the mock.
        let (status, v) = run(&json!({"task_id": "t", "action": "create_plan"}));
        assert_eq!(status, 200);
        assert_eq!(v["result"]["plan"]["steps"], json!([]));
    }
}
