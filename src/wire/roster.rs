//! The execution context a task carries, and the roster read from it: the offered agents and
//! the schema hints, parsed into a [`Roster`] once. An orchestrator sends the same roster with
//! every task, so the rosters read lately are kept ([`RosterCache`], owned by the application
//! state), found again by their exact JSON: a roster that changes in any byte is read afresh.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::value::RawValue;

use super::from_slice;
use crate::domain::{AgentDescriptor, KnowledgeDomain, Platform, SchemaHint};
use crate::error::TaskError;
use crate::pipeline::roster::{Offered, Roster};

/// What the orchestrator tells the planner besides the query; every field optional. The roster
/// is kept as JSON until [`ExecutionContext::read`] reads it (or finds it read).
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
    /// Accepted and not used in planning.
    #[serde(default)]
    pub user_context: Option<serde::de::IgnoredAny>,
    /// Hints by platform name ([`SchemaHintWire`]), as the caller wrote them.
    #[serde(default)]
    pub schema_hints: Option<Box<RawValue>>,
}

/// The offered agents by kind.
#[derive(Debug, Default, Deserialize)]
struct AvailableAgents {
    /// Planner agents (this one among them): accepted in any shape and not used.
    #[serde(default)]
    #[allow(dead_code)]
    planner: Option<serde::de::IgnoredAny>,
    #[serde(default)]
    knowledge: Option<Vec<AgentWire>>,
    #[serde(default)]
    data: Option<Vec<AgentWire>>,
}

/// One offered agent as the orchestrator describes it.
#[derive(Debug, Deserialize)]
struct AgentWire {
    agent_id: String,
    #[serde(default)]
    agent_name: Option<String>,
    #[serde(default)]
    capabilities: Option<Vec<String>>,
    #[serde(default)]
    knowledge_domain: Option<String>,
    #[serde(default)]
    platform: Option<String>,
}

/// `{"tables": [...], "indexes": [...]}`, or just a list of table names.
#[derive(Debug, Deserialize)]
#[serde(
    untagged,
    expecting = "a list of table names or {\"tables\": [...], \"indexes\": [...]}"
)]
enum SchemaHintWire {
    Names(Vec<String>),
    Detailed {
        #[serde(default)]
        tables: Option<Vec<String>>,
        #[serde(default)]
        indexes: Option<Vec<String>>,
    },
}

/// A roster read from an execution context, and the warnings about offered agents it cannot
/// use (shared by every task that sends the same roster).
#[derive(Debug, Clone, Default)]
pub struct ReadRoster {
    pub roster: Arc<Roster>,
    pub warnings: Arc<[String]>,
}

/// The rosters read lately, by their JSON; at most `capacity` of them. A roster over
/// [`MAX_KEPT_BYTES`] of JSON is read for every task rather than kept.
#[derive(Debug, Clone)]
pub struct RosterCache(moka::sync::Cache<String, ReadRoster>);

/// The largest roster kept (its JSON, agents and hints together): hundreds of agents.
pub const MAX_KEPT_BYTES: usize = 64 * 1024;

impl RosterCache {
    pub fn new(capacity: u64) -> RosterCache {
        RosterCache(moka::sync::Cache::new(capacity))
    }
}

impl ExecutionContext {
    /// The roster this context offers, read now or found among those read lately. `prefix`
    /// is where this context sits in the request (`parameters.execution_context`), to name a
    /// mistyped field of the roster by its path.
    pub fn read(self, prefix: &str, cache: &RosterCache) -> Result<ReadRoster, TaskError> {
        let agents = self.available_agents.as_deref().map_or("", RawValue::get);
        let hints = self.schema_hints.as_deref().map_or("", RawValue::get);
        if agents.len() + hints.len() > MAX_KEPT_BYTES {
            return read(agents, hints, prefix);
        }
        // JSON text holds no NUL byte, so the two parts cannot run into each other.
        let key = [agents, "\0", hints].concat();
        if let Some(read) = cache.0.get(&key) {
            return Ok(read);
        }
        let read = read(agents, hints, prefix)?;
        cache.0.insert(key, read.clone());
        Ok(read)
    }
}

/// Reads the roster from its JSON: `agents` ([`AvailableAgents`]) and `hints` (schema hints by
/// platform name), each empty when the caller sent none.
fn read(agents: &str, hints: &str, prefix: &str) -> Result<ReadRoster, TaskError> {
    let at = |field: &str| {
        if prefix.is_empty() {
            field.to_string()
        } else {
            format!("{prefix}.{field}")
        }
    };
    let agents: AvailableAgents = if agents.is_empty() {
        AvailableAgents::default()
    } else {
        from_slice::<Option<AvailableAgents>>(agents.as_bytes(), &at("available_agents"))?
            .unwrap_or_default()
    };
    let hints: BTreeMap<String, Option<SchemaHintWire>> = if hints.is_empty() {
        BTreeMap::new()
    } else {
        from_slice::<Option<_>>(hints.as_bytes(), &at("schema_hints"))?.unwrap_or_default()
    };
    let mut warnings = Vec::new();
    let mut offered = Offered::default();
    for a in agents.knowledge.unwrap_or_default() {
        match a
            .knowledge_domain
            .as_deref()
            .and_then(KnowledgeDomain::parse)
        {
            Some(domain) => offered
                .knowledge_agents
                .push(descriptor(a, Some(domain), None)),
            None => warnings.push(format!(
                "knowledge agent '{}' has no knowledge_domain; not used",
                a.agent_id
            )),
        }
    }
    for a in agents.data.unwrap_or_default() {
        match a.platform.as_deref().and_then(Platform::parse) {
            Some(platform) => offered
                .data_agents
                .push(descriptor(a, None, Some(platform))),
            None => warnings.push(format!(
                "data agent '{}' has no platform; not used",
                a.agent_id
            )),
        }
    }
    for (name, hint) in hints {
        let (Some(platform), Some(hint)) = (Platform::parse(&name), hint) else {
            continue;
        };
        let entry: &mut SchemaHint = offered.schema_hints.entry(platform).or_default();
        match hint {
            SchemaHintWire::Names(tables) => entry.tables.extend(tables),
            SchemaHintWire::Detailed { tables, indexes } => {
                entry.tables.extend(tables.unwrap_or_default());
                entry.indexes.extend(indexes.unwrap_or_default());
            }
        }
    }
    Ok(ReadRoster {
        roster: Arc::new(Roster::new(offered)),
        warnings: warnings.into(),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::from_value;
    use serde_json::json;

    fn read_json(context: serde_json::Value, cache: &RosterCache) -> Result<ReadRoster, TaskError> {
        from_value::<ExecutionContext>(context, "execution_context")?
            .read("execution_context", cache)
    }

    #[test]
    fn a_roster_read_lately_is_found_again_and_a_changed_one_read_again() {
        let cache = RosterCache::new(16);
        let context = json!({"journey_id": "j1",
            "available_agents": {"data": [{"agent_id": "kql_data", "platform": "kql"}, {"agent_id": "p"}]},
            "schema_hints": {"sql": ["Users"]}});
        let a = read_json(context.clone(), &cache).expect("reads");
        assert_eq!(&*a.warnings, ["data agent 'p' has no platform; not used"]);
        // Another journey, the same roster: the same roster and warnings.
        let mut other_journey = context.clone();
        other_journey["journey_id"] = json!("j2");
        let b = read_json(other_journey, &cache).expect("reads");
        assert!(Arc::ptr_eq(&a.roster, &b.roster));
        assert_eq!(a.warnings, b.warnings);
        // One byte changed, in the agents or in the hints: read afresh, and read right.
        let mut spl = context.clone();
        spl["available_agents"]["data"][0]["platform"] = json!("spl");
        let c = read_json(spl, &cache).expect("reads");
        assert_eq!(c.roster.data_agents()[0].platform, Some(Platform::Spl));
        let mut orders = context;
        orders["schema_hints"]["sql"][0] = json!("Orders");
        let d = read_json(orders, &cache).expect("reads");
        assert_eq!(d.roster.schema_hints()[&Platform::Sql].tables, ["Orders"]);
        assert!(!Arc::ptr_eq(&a.roster, &d.roster));
    }

    #[test]
    fn a_roster_over_the_kept_size_is_read_every_time_and_read_right() {
        let cache = RosterCache::new(16);
        let many: Vec<_> = (0..2_000)
            .map(|n| json!({"agent_id": format!("kql_data_{n}"), "platform": "kql"}))
            .collect();
        let context = json!({"available_agents": {"data": many}});
        assert!(context.to_string().len() > MAX_KEPT_BYTES);
        let f = read_json(context.clone(), &cache).expect("reads");
        let g = read_json(context, &cache).expect("reads");
        assert!(!Arc::ptr_eq(&f.roster, &g.roster));
        assert_eq!(f.roster, g.roster);
        assert_eq!(g.roster.data_agents().len(), 2_000);
    }

    #[test]
    fn unknown_fields_are_ignored_and_hints_take_both_shapes() {
        let context = json!({
            "schema_hints": {"sql": ["Users"], "KQL": {"tables": ["SigninLogs"], "extra": 1}, "spl": null},
            "available_agents": {"planner": "workflow_planner",
                "data": [{"agent_id": "d", "platform": "Splunk", "color": "red"}, {"agent_id": "p"}]}
        });
        let read = read_json(context, &RosterCache::new(1)).expect("reads");
        let roster = &read.roster;
        assert_eq!(roster.schema_hints()[&Platform::Sql].tables, ["Users"]);
        assert_eq!(roster.schema_hints()[&Platform::Kql].tables, ["SigninLogs"]);
        assert_eq!(roster.data_agents()[0].platform, Some(Platform::Spl));
        assert_eq!(roster.data_agents()[0].agent_name, "d");
        assert_eq!(
            &*read.warnings,
            ["data agent 'p' has no platform; not used"]
        );
        let empty = read_json(json!({}), &RosterCache::new(1)).expect("reads");
        assert!(empty.roster.data_agents().is_empty() && empty.warnings.is_empty());
    }

    #[test]
    fn a_mistyped_hint_or_a_missing_agent_id_is_named_by_path() {
        let cache = RosterCache::new(1);
        let err = read_json(json!({"schema_hints": {"sql": 7}}), &cache).unwrap_err();
        assert!(
            err.message
                .starts_with("field 'execution_context.schema_hints.sql'"),
            "{}",
            err.message
        );
        let missing = json!({"available_agents": {"knowledge": [{"knowledge_domain": "sop"}]}});
        let err = read_json(missing, &cache).unwrap_err();
        assert_eq!(
            err.message,
            "missing required field 'execution_context.available_agents.knowledge[0].agent_id'"
        );
    }
}
