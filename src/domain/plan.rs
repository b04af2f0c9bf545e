//! Steps and plans in the contract's shape, a caller's plan to optimize, and what planning
//! returns ([`Planned`]) before the edge writes it in the contract's terms.

use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{KnowledgeDomain, Platform, QueryAnalysis};

/// The two kinds of agent a step can call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AgentType {
    Knowledge,
    Data,
}

/// One step of a plan, in the contract's shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    pub step_id: String,
    pub agent_type: AgentType,
    pub agent_id: String,
    pub action: String,
    pub depends_on: Vec<String>,
    pub parameters: Parameters,
    pub timeout_seconds: u64,
}

/// What a step sends its agent. The planner's own steps are typed, so the strings every step
/// of a plan shares (the query, the analysis) are built, counted and written once; a caller's
/// step (`optimize_plan`) keeps its parameters as given.
#[derive(Debug, Clone, PartialEq)]
pub enum Parameters {
    Knowledge(KnowledgeParameters),
    Data(DataParameters),
    Given(serde_json::Map<String, serde_json::Value>),
}

impl Default for Parameters {
    fn default() -> Self {
        Parameters::Given(serde_json::Map::new())
    }
}

/// A knowledge step's parameters: `{"query", "top_k", "domain"}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KnowledgeParameters {
    pub query: SharedText,
    pub top_k: u64,
    pub domain: KnowledgeDomain,
}

/// A data step's parameters: the platform, the request, whether knowledge comes first, the
/// entities in the platform's terms, and the whole analysis.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DataParameters {
    pub platform: Platform,
    /// The part of the request this step serves (the whole request when it does not split).
    pub natural_language: SharedText,
    /// The whole request.
    pub request: SharedText,
    /// The data steps whose results this one's part uses (also in `depends_on`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub uses_results_of: Vec<String>,
    pub use_knowledge: bool,
    pub entities: DataEntities,
    pub query_analysis: AnalysisJson,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub alternate_agent_ids: Vec<String>,
}

/// The entities a data agent can use: tables (or, for Splunk, indexes), fields, time range.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DataEntities {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tables: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub indexes: Option<Vec<String>>,
    pub fields: Vec<String>,
    pub time_range: Option<String>,
}

/// A text several steps of one plan send (the request), with its cl100k token count, counted
/// once when the plan is made: the estimate then adds the count for each step that sends it.
#[derive(Debug, Clone, PartialEq)]
pub struct SharedText {
    text: Arc<str>,
    tokens: u64,
}

impl SharedText {
    pub fn new(text: &str) -> SharedText {
        SharedText {
            tokens: crate::tokens::count(text),
            text: Arc::from(text),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The text's cl100k tokens ([`crate::tokens::count`]).
    pub fn tokens(&self) -> u64 {
        self.tokens
    }
}

impl Serialize for SharedText {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

/// The analysis as JSON, written once per plan for every data step that carries it, with the
/// JSON's token count.
#[derive(Debug, Clone)]
pub struct AnalysisJson {
    json: Arc<serde_json::value::RawValue>,
    tokens: u64,
}

impl AnalysisJson {
    /// `analysis` as JSON.
    pub fn of(analysis: &QueryAnalysis) -> AnalysisJson {
        // An analysis always serializes (no map keys, no fallible fields); `null` would only
        // stand in for a bug, never fail a plan.
        let json = serde_json::value::to_raw_value(analysis)
            .unwrap_or_else(|_| serde_json::value::RawValue::NULL.to_owned());
        AnalysisJson {
            tokens: crate::tokens::count(json.get()),
            json: Arc::from(json),
        }
    }

    /// The JSON text.
    pub fn get(&self) -> &str {
        self.json.get()
    }

    /// The JSON's cl100k tokens ([`crate::tokens::count`]).
    pub fn tokens(&self) -> u64 {
        self.tokens
    }
}

impl PartialEq for AnalysisJson {
    fn eq(&self, other: &Self) -> bool {
        self.get() == other.get()
    }
}

impl Serialize for AnalysisJson {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.json.serialize(s)
    }
}

impl Parameters {
    /// The data platform of a data step (planned or given).
    pub fn platform(&self) -> Option<&str> {
        match self {
            Parameters::Data(d) => Some(d.platform.as_str()),
            Parameters::Given(m) => m.get("platform").and_then(|v| v.as_str()),
            Parameters::Knowledge(_) => None,
        }
    }
}

impl Serialize for Parameters {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Parameters::Knowledge(k) => k.serialize(s),
            Parameters::Data(d) => d.serialize(s),
            Parameters::Given(m) => m.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for Parameters {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        serde_json::Map::deserialize(d).map(Parameters::Given)
    }
}

/// Token and cost estimate of running a plan (an extension of the contract).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CostEstimate {
    /// Tokens the steps are expected to send to their agents' models.
    pub input_tokens: u64,
    /// Tokens the steps are expected to generate.
    pub output_tokens: u64,
    /// Tokens the planner's own model call used for this plan (0 without a model).
    pub planner_tokens: u64,
    pub total_tokens: u64,
    pub cost_usd: f64,
    pub cost_per_1k_tokens_usd: f64,
}

/// A layered, estimated plan, in the contract's shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub plan_id: String,
    pub steps: Vec<Step>,
    pub parallel_execution_groups: Vec<Vec<String>>,
    /// Worst case: the sum of step timeouts along the critical path of the dependency graph.
    pub estimated_duration_seconds: u64,
    pub critical_path: Vec<String>,
    pub estimated_cost: CostEstimate,
    pub warnings: Vec<String>,
}

/// A plan a caller wrote, to be validated, layered and estimated (`optimize_plan`).
#[derive(Debug, Clone, Deserialize)]
pub struct CallerPlan {
    #[serde(default)]
    pub plan_id: Option<String>,
    pub steps: Vec<CallerStep>,
    #[serde(default)]
    pub warnings: Option<Vec<String>>,
}

/// One step of a caller's plan; the action and timeout default by agent type.
#[derive(Debug, Clone, Deserialize)]
pub struct CallerStep {
    pub step_id: String,
    pub agent_type: AgentType,
    pub agent_id: String,
    #[serde(default)]
    pub action: Option<String>,
    #[serde(default)]
    pub depends_on: Option<Vec<String>>,
    #[serde(default)]
    pub parameters: Option<serde_json::Map<String, serde_json::Value>>,
    #[serde(default)]
    pub timeout_seconds: Option<u64>,
}

impl CallerStep {
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

/// An agent the plan uses and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SelectedAgent {
    pub agent_id: String,
    pub agent_type: AgentType,
    /// The knowledge domain or platform the agent was chosen for.
    pub serves: String,
    pub reason: String,
}

/// What the planner's own model call cost (absent when no model was asked). Kept with a cached
/// answer, and shared with other replicas in that form: the field names are a stored format.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ModelUsage {
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

/// Where the planner's own time went, in milliseconds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Timings {
    pub analysis_ms: f64,
    pub total_ms: f64,
}

/// What planning one task produced: the plan, and for `create_plan` the analysis, the agents
/// chosen and what the model cost.
#[derive(Debug, Clone, PartialEq)]
pub struct Planned {
    pub plan: Plan,
    pub analysis: Option<QueryAnalysis>,
    pub selected_agents: Vec<SelectedAgent>,
    pub usage: Option<ModelUsage>,
    pub timings: Timings,
}
