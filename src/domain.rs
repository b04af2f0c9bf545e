//! Wire-independent domain types: platforms, knowledge domains, the query analysis, steps and
//! plans. Parsed once at the HTTP edge; every pipeline stage works on these.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A data platform a data agent serves. Unknown platforms are carried as `Other` so a new kind of
/// data agent never breaks planning.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Platform {
    Kql,
    Spl,
    Sql,
    Other(String),
}

impl Platform {
    /// The platforms the planner has vocabulary for.
    pub const KNOWN: [Platform; 3] = [Platform::Kql, Platform::Spl, Platform::Sql];

    /// Normalises a caller-supplied name; `None` for an empty one.
    pub fn parse(raw: &str) -> Option<Platform> {
        // The common names need no normalising (and no allocation).
        match raw {
            "kql" => return Some(Platform::Kql),
            "spl" => return Some(Platform::Spl),
            "sql" => return Some(Platform::Sql),
            _ => {}
        }
        let name = normalise_name(raw)?;
        Some(match name.as_str() {
            "kql" | "kusto" => Platform::Kql,
            "spl" | "splunk" => Platform::Spl,
            "sql" => Platform::Sql,
            _ => Platform::Other(name),
        })
    }

    /// The name of a built-in platform (`other` for the rest).
    pub fn as_str_static(&self) -> &'static str {
        match self {
            Platform::Kql => "kql",
            Platform::Spl => "spl",
            Platform::Sql => "sql",
            Platform::Other(_) => "other",
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Platform::Kql => "kql",
            Platform::Spl => "spl",
            Platform::Sql => "sql",
            Platform::Other(name) => name,
        }
    }
}

/// The domain a knowledge agent retrieves from.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KnowledgeDomain {
    Sop,
    Errors,
    Wiki,
    Other(String),
}

impl KnowledgeDomain {
    /// Normalises a caller-supplied domain; `None` for an empty one.
    pub fn parse(raw: &str) -> Option<KnowledgeDomain> {
        match raw {
            "sop" => return Some(KnowledgeDomain::Sop),
            "errors" => return Some(KnowledgeDomain::Errors),
            "wiki" => return Some(KnowledgeDomain::Wiki),
            _ => {}
        }
        let name = normalise_name(raw)?;
        Some(match name.as_str() {
            "sop" | "sops" => KnowledgeDomain::Sop,
            "errors" | "error" | "error_patterns" => KnowledgeDomain::Errors,
            "wiki" => KnowledgeDomain::Wiki,
            _ => KnowledgeDomain::Other(name),
        })
    }

    pub fn as_str(&self) -> &str {
        match self {
            KnowledgeDomain::Sop => "sop",
            KnowledgeDomain::Errors => "errors",
            KnowledgeDomain::Wiki => "wiki",
            KnowledgeDomain::Other(name) => name,
        }
    }
}

/// Lower-case, trimmed, with spaces and dashes as `_`; `None` when nothing is left.
fn normalise_name(raw: &str) -> Option<String> {
    let name: String = raw
        .trim()
        .chars()
        .map(|c| match c {
            ' ' | '-' => '_',
            c => c.to_ascii_lowercase(),
        })
        .collect();
    (!name.is_empty()).then_some(name)
}

macro_rules! string_enum_serde {
    ($ty:ident) => {
        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let raw = String::deserialize(d)?;
                $ty::parse(&raw).ok_or_else(|| serde::de::Error::custom("must not be empty"))
            }
        }
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
string_enum_serde!(Platform);
string_enum_serde!(KnowledgeDomain);

/// What the request is for, as the contract names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Intent {
    Diagnostic,
    Monitoring,
    Security,
    Analytics,
    Investigation,
}

impl Intent {
    pub const ALL: [Intent; 5] = [
        Intent::Diagnostic,
        Intent::Monitoring,
        Intent::Security,
        Intent::Analytics,
        Intent::Investigation,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Intent::Diagnostic => "diagnostic",
            Intent::Monitoring => "monitoring",
            Intent::Security => "security",
            Intent::Analytics => "analytics",
            Intent::Investigation => "investigation",
        }
    }
}

/// How much work the request is, as the contract names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Complexity {
    Simple,
    Moderate,
    Complex,
}

/// Where an analysis came from, as the contract names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AnalysisSource {
    /// Fused from a fresh model answer and the keyword analysis.
    Llm,
    /// Keyword analysis alone: no model configured, or it failed (reason recorded).
    Fallback,
    /// A model answer served from the cache.
    Cache,
}

/// Names the request mentions: tables, indexes, fields, a time range.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Entities {
    pub tables: Vec<String>,
    /// Splunk indexes (an extension of the contract's entities).
    pub indexes: Vec<String>,
    pub fields: Vec<String>,
    pub time_range: Option<String>,
}

/// Which kinds of knowledge would help.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct KnowledgeRequirements {
    pub requires_sop: bool,
    pub requires_error_knowledge: bool,
    pub requires_schema: bool,
    /// Whether general documentation (a wiki) would help (an extension of the contract).
    pub requires_wiki: bool,
}

/// The shape of the data work: aggregation, time series, joins.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct QueryCharacteristics {
    pub is_aggregation: bool,
    pub is_time_series: bool,
    pub has_joins: bool,
    pub complexity_factors: Vec<String>,
}

/// The analysis of one query, in the contract's shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueryAnalysis {
    pub intent: Intent,
    pub complexity: Complexity,
    pub required_platforms: Vec<Platform>,
    pub confidence: f64,
    pub reasoning: String,
    pub entities: Entities,
    pub knowledge_requirements: KnowledgeRequirements,
    pub query_characteristics: QueryCharacteristics,
    pub source: AnalysisSource,
    /// Why the model's answer was not used (only with `source: fallback` when a model is set up).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub fallback_reason: Option<String>,
}

/// An agent the caller offered, normalised.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentDescriptor {
    pub agent_id: String,
    pub agent_name: String,
    pub capabilities: Vec<String>,
    pub knowledge_domain: Option<KnowledgeDomain>,
    pub platform: Option<Platform>,
}

impl AgentDescriptor {
    pub fn has_capability(&self, capability: &str) -> bool {
        self.capabilities.iter().any(|c| c == capability)
    }
}

/// Table and index names the caller knows for one platform.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SchemaHint {
    pub tables: Vec<String>,
    pub indexes: Vec<String>,
}

/// Everything the caller told us besides the query that planning uses.
///
/// The offered agents and the schema hints are shared: an orchestrator sends the same roster
/// with every task, and the edge reads each roster once (`wire::ExecutionContext`), so a request
/// takes references to it rather than copies.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PlanningContext {
    /// The orchestrator's journey, carried into log lines (and the A/B split's stickiness).
    pub journey_id: Option<String>,
    pub knowledge_agents: Arc<Vec<AgentDescriptor>>,
    pub data_agents: Arc<Vec<AgentDescriptor>>,
    pub schema_hints: Arc<BTreeMap<Platform, SchemaHint>>,
}

impl PlanningContext {
    /// Platforms some offered data agent claims, in offered order, without repeats.
    pub fn offered_platforms(&self) -> Vec<Platform> {
        let mut out: Vec<Platform> = Vec::new();
        for p in self.data_agents.iter().filter_map(|a| a.platform.clone()) {
            if !out.contains(&p) {
                out.push(p);
            }
        }
        out
    }
}

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
    pub natural_language: SharedText,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platform_names_are_normalised_and_unknown_ones_kept() {
        assert_eq!(Platform::parse(" KQL "), Some(Platform::Kql));
        assert_eq!(Platform::parse("Splunk"), Some(Platform::Spl));
        assert_eq!(
            Platform::parse("PromQL"),
            Some(Platform::Other("promql".into()))
        );
        assert_eq!(Platform::parse("  "), None);
    }

    #[test]
    fn knowledge_domains_accept_common_spellings() {
        assert_eq!(
            KnowledgeDomain::parse("error"),
            Some(KnowledgeDomain::Errors)
        );
        assert_eq!(KnowledgeDomain::parse("SOP"), Some(KnowledgeDomain::Sop));
        assert_eq!(
            KnowledgeDomain::parse("runbooks").map(|d| d.to_string()),
            Some("runbooks".to_string())
        );
    }

    #[test]
    fn platforms_serialise_as_plain_strings() {
        let json = serde_json::to_string(&vec![Platform::Kql, Platform::Other("promql".into())])
            .expect("serialise");
        assert_eq!(json, r#"["kql","promql"]"#);
    }
}
