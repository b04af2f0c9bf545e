//! The analysis of one query, in the contract's shape.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::Platform;

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
    /// Error codes and exceptions named in the request (`ORA-01555`, `0xC000006D`,
    /// `NullPointerException`): the error-knowledge step's query.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub error_codes: Vec<String>,
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
    /// The request's clauses with the platforms each names, where it splits between platforms
    /// (empty where it does not): what each data step is handed.
    #[serde(skip)]
    pub clauses: Vec<Clause>,
}

/// One clause of a request and the platforms it names; a clause that names none is context
/// every part shares (a time, the subject, the story).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Clause {
    pub text: String,
    pub platforms: Vec<Platform>,
    /// It uses an earlier clause's results: `those customers`, `their logs`, `for each …`.
    pub refers_back: bool,
}
