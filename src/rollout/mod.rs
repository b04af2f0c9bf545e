//! Running the planner beside the deployment it replaces: what a plan amounts to for comparison
//! ([`PlanSummary`]), shadow traffic ([`shadow`]: a copy of each task to another deployment,
//! compared in the background) and the side-by-side review of a query file ([`compare`]).

pub mod compare;
pub mod shadow;

use std::collections::BTreeSet;

use serde::Serialize;
use serde_json::Value;

/// What two plans are compared on: status, data platforms, knowledge domains, step count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlanSummary {
    /// `completed`, `failed`, or `http NNN` when the body was no task response.
    pub status: String,
    pub platforms: BTreeSet<String>,
    pub domains: BTreeSet<String>,
    pub steps: usize,
}

impl PlanSummary {
    /// The summary of a `/a2a/task` response body (this planner's or the old mock's shape).
    pub fn of(http_status: u16, body: &Value) -> PlanSummary {
        let status = body
            .get("status")
            .and_then(Value::as_str)
            .map_or_else(|| format!("http {http_status}"), str::to_string);
        let mut summary = PlanSummary {
            status,
            platforms: BTreeSet::new(),
            domains: BTreeSet::new(),
            steps: 0,
        };
        let steps = body
            .pointer("/result/plan/steps")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        summary.steps = steps.len();
        for step in steps {
            let id = step.get("step_id").and_then(Value::as_str).unwrap_or("");
            let param = |key: &str| {
                step.pointer(&format!("/parameters/{key}"))
                    .and_then(Value::as_str)
                    .map(str::to_string)
            };
            match step.get("agent_type").and_then(Value::as_str) {
                Some("data") => {
                    let platform = param("platform")
                        .or_else(|| id.strip_prefix("data_").map(str::to_string))
                        .unwrap_or_else(|| id.to_string());
                    summary.platforms.insert(platform);
                }
                Some("knowledge") => {
                    let domain = param("domain")
                        .or_else(|| id.strip_prefix("knowledge_").map(str::to_string))
                        .unwrap_or_else(|| id.to_string());
                    summary.domains.insert(domain);
                }
                _ => {}
            }
        }
        summary
    }

    /// A short line for logs and tables: `completed kql+spl / sop+errors / 3 steps`.
    pub fn line(&self) -> String {
        let join = |s: &BTreeSet<String>| {
            if s.is_empty() {
                "-".to_string()
            } else {
                s.iter().cloned().collect::<Vec<_>>().join("+")
            }
        };
        format!(
            "{} {} / {} / {} steps",
            self.status,
            join(&self.platforms),
            join(&self.domains),
            self.steps
        )
    }
}

/// The ways two plans for the same request can differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Difference {
    Status,
    Platforms,
    Domains,
    StepCount,
}

impl Difference {
    pub fn as_str(self) -> &'static str {
        match self {
            Difference::Status => "status",
            Difference::Platforms => "platforms",
            Difference::Domains => "domains",
            Difference::StepCount => "step_count",
        }
    }
}

/// How `a` and `b` differ (empty when they agree).
pub fn differences(a: &PlanSummary, b: &PlanSummary) -> Vec<Difference> {
    let mut out = Vec::new();
    if a.status != b.status {
        out.push(Difference::Status);
    }
    if a.platforms != b.platforms {
        out.push(Difference::Platforms);
    }
    if a.domains != b.domains {
        out.push(Difference::Domains);
    }
    if a.steps != b.steps {
        out.push(Difference::StepCount);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn summaries_read_both_response_shapes() {
        let legacy = json!({"task_id": "t", "status": "completed", "result": {"plan": {"steps": [
            {"step_id": "knowledge_sop", "agent_type": "knowledge", "agent_id": "sop",
             "parameters": {"query": "q", "top_k": 5}},
            {"step_id": "data_kql", "agent_type": "data", "agent_id": "kql",
             "parameters": {"platform": "kql"}}]}}});
        let ours = json!({"status": "completed", "result": {"plan": {"steps": [
            {"step_id": "knowledge_sop", "agent_type": "knowledge", "agent_id": "sop_knowledge",
             "parameters": {"domain": "sop", "query": "q", "top_k": 5}},
            {"step_id": "data_kql", "agent_type": "data", "agent_id": "kql_data",
             "parameters": {"platform": "kql"}},
            {"step_id": "data_spl", "agent_type": "data", "agent_id": "spl_data",
             "parameters": {"platform": "spl"}}]}}});
        let (a, b) = (PlanSummary::of(200, &legacy), PlanSummary::of(200, &ours));
        assert_eq!(a.line(), "completed kql / sop / 2 steps");
        assert_eq!(b.line(), "completed kql+spl / sop / 3 steps");
        assert_eq!(
            differences(&a, &b),
            [Difference::Platforms, Difference::StepCount]
        );
        assert!(differences(&a, &a).is_empty());
        let failed = PlanSummary::of(502, &json!("<html>"));
        assert_eq!(failed.status, "http 502");
    }
}
