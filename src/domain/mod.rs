//! Wire-independent domain types: the names of platforms and knowledge domains, the agents a
//! caller offers, the query analysis ([`analysis`]), and steps and plans ([`plan`]). Parsed
//! once at the edge; every stage works on these.

mod analysis;
mod plan;

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub use analysis::{
    AnalysisSource, Clause, Complexity, Entities, Intent, KnowledgeRequirements, QueryAnalysis,
    QueryCharacteristics,
};
pub use plan::{
    AgentType, AnalysisJson, CallerPlan, CallerStep, CostEstimate, DataEntities, DataParameters,
    KnowledgeParameters, ModelUsage, Parameters, Plan, Planned, SelectedAgent, SharedText, Step,
    Timings,
};

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
