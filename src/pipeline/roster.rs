//! The roster: the agents a caller offers and the schema hints it sends, read once at the edge,
//! with what planning derives from them once (the words the analysis looks for, the platforms
//! offered, the answer cache's key part). An orchestrator sends the same roster with every
//! task, so the edge keeps the rosters it read lately ([`crate::wire::RosterCache`]) and hands
//! the same value to every stage as an argument.

use std::collections::BTreeMap;

use super::analyzer::RosterWords;
use crate::domain::{AgentDescriptor, Platform, SchemaHint};

/// What the caller offered, as read: the agents by kind and the schema hints by platform.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Offered {
    pub knowledge_agents: Vec<AgentDescriptor>,
    pub data_agents: Vec<AgentDescriptor>,
    pub schema_hints: BTreeMap<Platform, SchemaHint>,
}

/// A roster: what was offered, and what planning derives from it, derived once.
#[derive(Debug, Clone)]
pub struct Roster {
    offered: Offered,
    platforms: Vec<Platform>,
    words: RosterWords,
    key_part: String,
}

impl Roster {
    /// The roster of `offered`, with everything derived from it.
    pub fn new(offered: Offered) -> Roster {
        let mut platforms: Vec<Platform> = Vec::new();
        for p in offered
            .data_agents
            .iter()
            .filter_map(|a| a.platform.as_ref())
        {
            if !platforms.contains(p) {
                platforms.push(p.clone());
            }
        }
        Roster {
            words: RosterWords::derive(&offered),
            key_part: key_part(&offered),
            platforms,
            offered,
        }
    }

    /// What was offered.
    pub fn offered(&self) -> &Offered {
        &self.offered
    }

    pub fn knowledge_agents(&self) -> &[AgentDescriptor] {
        &self.offered.knowledge_agents
    }

    pub fn data_agents(&self) -> &[AgentDescriptor] {
        &self.offered.data_agents
    }

    pub fn schema_hints(&self) -> &BTreeMap<Platform, SchemaHint> {
        &self.offered.schema_hints
    }

    /// Platforms some offered data agent claims, in offered order, without repeats.
    pub fn offered_platforms(&self) -> &[Platform] {
        &self.platforms
    }

    /// The words of the offered agents and hinted names the analysis looks for.
    pub(crate) fn words(&self) -> &RosterWords {
        &self.words
    }

    /// The roster's part of an answer-cache key: everything in it that can change a model's
    /// answer ([`crate::llm::cache::key`] documents the bytes).
    pub fn key_part(&self) -> &str {
        &self.key_part
    }
}

impl Default for Roster {
    fn default() -> Self {
        Roster::new(Offered::default())
    }
}

/// Two rosters are equal when they were derived from equal offers.
impl PartialEq for Roster {
    fn eq(&self, other: &Self) -> bool {
        self.offered == other.offered
    }
}

/// The sorted, distinct `d:{platform}` of the offered data agents joined by `,`, `␟` (U+001F),
/// the sorted `{platform}:{name}` of every hinted table and index (the name lower-cased) joined
/// by `,`. Replicas share answer-cache keys through Redis, so these bytes are fixed (a test of
/// the cache pins the keys).
fn key_part(offered: &Offered) -> String {
    let mut agents: Vec<String> = offered
        .data_agents
        .iter()
        .filter_map(|a| a.platform.as_ref().map(|p| format!("d:{p}")))
        .collect();
    agents.sort_unstable();
    agents.dedup();
    let mut hints: Vec<String> = offered
        .schema_hints
        .iter()
        .flat_map(|(p, hint)| {
            hint.tables
                .iter()
                .chain(&hint.indexes)
                .map(move |name| format!("{p}:{}", name.to_lowercase()))
        })
        .collect();
    hints.sort_unstable();
    format!("{}\u{1f}{}", agents.join(","), hints.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::testing::{data_agent, offered};

    #[test]
    fn offered_platforms_keep_the_offered_order_without_repeats() {
        let mut o = offered(&["sql", "kql"]);
        o.data_agents.push(data_agent("kql_2", "Second KQL", "kql"));
        o.data_agents.push(data_agent("loki", "Loki", "logql"));
        let roster = Roster::new(o);
        assert_eq!(
            roster.offered_platforms(),
            [
                Platform::Sql,
                Platform::Kql,
                Platform::Other("logql".into())
            ]
        );
    }

    #[test]
    fn the_key_part_names_platforms_and_hinted_names_sorted() {
        let mut o = offered(&["sql", "kql", "kql"]);
        o.schema_hints.insert(
            Platform::Spl,
            SchemaHint {
                tables: vec![],
                indexes: vec!["Proxy".into(), "fw".into()],
            },
        );
        assert_eq!(
            Roster::new(o).key_part(),
            "d:kql,d:sql\u{1f}spl:fw,spl:proxy"
        );
        assert_eq!(Roster::default().key_part(), "\u{1f}");
    }
}
