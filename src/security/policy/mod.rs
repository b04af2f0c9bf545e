//! The policy gate (`POLICY_GATE_ENABLED`, `POLICY_MODE`, `POLICY_CONFIG_PATH`): what a plan may
//! use, per environment mode and optionally narrowed per caller. A denied agent, platform or
//! domain is treated as not offered (the plan says which were withheld, and by which rule);
//! limits cap the plan and say so; `optimize_plan` refuses a plan that uses a denied agent.
//!
//! ```yaml
//! modes:
//!   prod:
//!     deny_platforms: [spl]          # or allow_platforms: [...]
//!     deny_agents: [wiki_kb]         # or allow_agents: [...]
//!     allow_domains: [sop, errors]   # or deny_domains: [...]
//!     max_steps: 8
//!     max_parallel: 4
//!     max_estimated_cost_usd: 0.05
//!     callers:
//!       analytics-ui: {allow_platforms: [sql]}
//! ```

mod caps;
mod gate;

use std::collections::{BTreeMap, BTreeSet};
use std::num::NonZeroUsize;
use std::sync::Arc;

use serde::Deserialize;

use crate::domain::{AgentDescriptor, AgentType, KnowledgeDomain, Parameters, Platform, Step};
use crate::pipeline::roster::{Offered, Roster};

pub use caps::{Capped, cap_cost, cap_steps};
pub use gate::Gate;

/// One set of rules as written in the file: a mode's, with its per-caller narrowing, or a
/// caller's (which has no `callers` of its own).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RulesFile {
    #[serde(default)]
    pub allow_platforms: Option<Vec<String>>,
    #[serde(default)]
    pub deny_platforms: Option<Vec<String>>,
    #[serde(default)]
    pub allow_agents: Option<Vec<String>>,
    #[serde(default)]
    pub deny_agents: Option<Vec<String>>,
    #[serde(default)]
    pub allow_domains: Option<Vec<String>>,
    #[serde(default)]
    pub deny_domains: Option<Vec<String>>,
    #[serde(default)]
    pub max_steps: Option<NonZeroUsize>,
    #[serde(default)]
    pub max_parallel: Option<NonZeroUsize>,
    #[serde(default)]
    pub max_estimated_cost_usd: Option<f64>,
    #[serde(default)]
    pub callers: BTreeMap<String, RulesFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    modes: BTreeMap<String, RulesFile>,
}

/// Rules, normalised (platform and domain names as the planner knows them).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rules {
    /// Where these rules come from: `mode prod` or `mode prod, caller analytics-ui`.
    pub scope: String,
    pub allow_platforms: Option<BTreeSet<Platform>>,
    pub deny_platforms: BTreeSet<Platform>,
    pub allow_agents: Option<BTreeSet<String>>,
    pub deny_agents: BTreeSet<String>,
    pub allow_domains: Option<BTreeSet<KnowledgeDomain>>,
    pub deny_domains: BTreeSet<KnowledgeDomain>,
    pub max_steps: Option<NonZeroUsize>,
    pub max_parallel: Option<NonZeroUsize>,
    pub max_estimated_cost_usd: Option<f64>,
}

impl Rules {
    fn from_file(scope: String, f: RulesFile) -> Result<Rules, String> {
        let platforms = |names: Vec<String>, key: &str| -> Result<BTreeSet<Platform>, String> {
            names
                .iter()
                .map(|n| {
                    Platform::parse(n).ok_or_else(|| format!("{scope}: {key}: empty platform name"))
                })
                .collect()
        };
        let domains =
            |names: Vec<String>, key: &str| -> Result<BTreeSet<KnowledgeDomain>, String> {
                names
                    .iter()
                    .map(|n| {
                        KnowledgeDomain::parse(n.trim())
                            .ok_or_else(|| format!("{scope}: {key}: empty domain name"))
                    })
                    .collect()
            };
        if f.allow_platforms.is_some() && f.deny_platforms.is_some()
            || f.allow_agents.is_some() && f.deny_agents.is_some()
            || f.allow_domains.is_some() && f.deny_domains.is_some()
        {
            return Err(format!(
                "{scope}: give allow_X or deny_X for one kind, not both"
            ));
        }
        if f.max_estimated_cost_usd
            .is_some_and(|c| c.is_nan() || c < 0.0)
        {
            return Err(format!(
                "{scope}: max_estimated_cost_usd must not be negative"
            ));
        }
        Ok(Rules {
            allow_platforms: f
                .allow_platforms
                .map(|n| platforms(n, "allow_platforms"))
                .transpose()?,
            deny_platforms: platforms(f.deny_platforms.unwrap_or_default(), "deny_platforms")?,
            allow_agents: f.allow_agents.map(|a| a.into_iter().collect()),
            deny_agents: f.deny_agents.unwrap_or_default().into_iter().collect(),
            allow_domains: f
                .allow_domains
                .map(|n| domains(n, "allow_domains"))
                .transpose()?,
            deny_domains: domains(f.deny_domains.unwrap_or_default(), "deny_domains")?,
            max_steps: f.max_steps,
            max_parallel: f.max_parallel,
            max_estimated_cost_usd: f.max_estimated_cost_usd,
            scope,
        })
    }

    /// The rule that forbids an agent with this id, platform and domain, if any.
    fn forbids(
        &self,
        agent_id: &str,
        platform: Option<&Platform>,
        domain: Option<&KnowledgeDomain>,
    ) -> Option<&'static str> {
        if self.deny_agents.contains(agent_id) {
            return Some("deny_agents");
        }
        if self
            .allow_agents
            .as_ref()
            .is_some_and(|a| !a.contains(agent_id))
        {
            return Some("allow_agents");
        }
        if let Some(p) = platform {
            if self.deny_platforms.contains(p) {
                return Some("deny_platforms");
            }
            if self
                .allow_platforms
                .as_ref()
                .is_some_and(|a| !a.contains(p))
            {
                return Some("allow_platforms");
            }
        }
        if let Some(d) = domain {
            if self.deny_domains.contains(d) {
                return Some("deny_domains");
            }
            if self.allow_domains.as_ref().is_some_and(|a| !a.contains(d)) {
                return Some("allow_domains");
            }
        }
        None
    }
}

/// The policy of one mode: its rules and each caller's.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    pub mode: Rules,
    pub callers: BTreeMap<String, Rules>,
}

/// A rule that applied: where it comes from and its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    pub scope: String,
    pub rule: &'static str,
}

impl std::fmt::Display for Block {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}, {}", self.scope, self.rule)
    }
}

/// The limits that apply to one request: the smallest of the mode's and the caller's.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Limits {
    pub max_steps: Option<(NonZeroUsize, String)>,
    pub max_parallel: Option<(NonZeroUsize, String)>,
    pub max_estimated_cost_usd: Option<(f64, String)>,
}

impl Policy {
    /// The policy of `mode` in the YAML `text`; errors name the line (or the mode).
    pub fn parse(text: &str, mode: &str) -> Result<Policy, String> {
        let file: PolicyFile = yaml_serde::from_str(text).map_err(|e| match e.location() {
            Some(l) => format!("line {}, column {}: {e}", l.line(), l.column()),
            None => e.to_string(),
        })?;
        let known: Vec<&str> = file.modes.keys().map(String::as_str).collect();
        let Some(mut base) = file.modes.get(mode).cloned() else {
            return Err(format!(
                "mode '{mode}' (POLICY_MODE) is not in the file; it has: {}",
                known.join(", ")
            ));
        };
        let mut callers = BTreeMap::new();
        for (name, rules) in std::mem::take(&mut base.callers) {
            let scope = format!("mode {mode}, caller {name}");
            if !rules.callers.is_empty() {
                return Err(format!(
                    "{scope}: a caller's rules have no callers of their own"
                ));
            }
            callers.insert(name, Rules::from_file(scope, rules)?);
        }
        Ok(Policy {
            mode: Rules::from_file(format!("mode {mode}"), base)?,
            callers,
        })
    }

    /// The layers of rules for `caller`: the mode's, then the caller's (both must allow).
    fn layers<'a>(&'a self, caller: Option<&str>) -> impl Iterator<Item = &'a Rules> {
        std::iter::once(&self.mode).chain(caller.and_then(|c| self.callers.get(c)))
    }

    /// The rule that forbids `agent`, if any.
    pub fn forbids_agent(&self, agent: &AgentDescriptor, caller: Option<&str>) -> Option<Block> {
        self.forbids(
            &agent.agent_id,
            agent.platform.as_ref(),
            agent.knowledge_domain.as_ref(),
            caller,
        )
    }

    fn forbids(
        &self,
        agent_id: &str,
        platform: Option<&Platform>,
        domain: Option<&KnowledgeDomain>,
        caller: Option<&str>,
    ) -> Option<Block> {
        self.layers(caller).find_map(|r| {
            r.forbids(agent_id, platform, domain).map(|rule| Block {
                scope: r.scope.clone(),
                rule,
            })
        })
    }

    /// `roster` without the agents the policy forbids `caller`, and a warning for each (the
    /// same roster when nothing is withheld).
    pub fn restrict(
        &self,
        roster: &Arc<Roster>,
        caller: Option<&str>,
    ) -> (Arc<Roster>, Vec<String>) {
        let mut warnings = Vec::new();
        let mut keep = |agents: &[AgentDescriptor], kind: &str| -> Vec<AgentDescriptor> {
            agents
                .iter()
                .filter(|a| match self.forbids_agent(a, caller) {
                    None => true,
                    Some(block) => {
                        let what = match (&a.platform, &a.knowledge_domain) {
                            (Some(p), _) => format!(" (platform {p})"),
                            (_, Some(d)) => format!(" (domain {d})"),
                            _ => String::new(),
                        };
                        warnings.push(format!(
                            "policy ({block}): {kind} agent '{}'{what} withheld",
                            a.agent_id
                        ));
                        metrics::counter!("planner_policy_blocks_total", "rule" => block.rule)
                            .increment(1);
                        false
                    }
                })
                .cloned()
                .collect()
        };
        let knowledge_agents = keep(roster.knowledge_agents(), "knowledge");
        let data_agents = keep(roster.data_agents(), "data");
        if warnings.is_empty() {
            return (Arc::clone(roster), warnings);
        }
        let restricted = Roster::new(Offered {
            knowledge_agents,
            data_agents,
            schema_hints: roster.schema_hints().clone(),
        });
        (Arc::new(restricted), warnings)
    }

    /// The limits for `caller`.
    pub fn limits(&self, caller: Option<&str>) -> Limits {
        let mut out = Limits::default();
        for r in self.layers(caller) {
            if let Some(v) = r.max_steps
                && out.max_steps.as_ref().is_none_or(|(cur, _)| v < *cur)
            {
                out.max_steps = Some((v, r.scope.clone()));
            }
            if let Some(v) = r.max_parallel
                && out.max_parallel.as_ref().is_none_or(|(cur, _)| v < *cur)
            {
                out.max_parallel = Some((v, r.scope.clone()));
            }
            if let Some(v) = r.max_estimated_cost_usd
                && out
                    .max_estimated_cost_usd
                    .as_ref()
                    .is_none_or(|(cur, _)| v < *cur)
            {
                out.max_estimated_cost_usd = Some((v, r.scope.clone()));
            }
        }
        out
    }

    /// The first step of a caller's plan the policy forbids, with the rule: by agent id, and by
    /// platform or domain from the step's parameters or the offered agent it names.
    pub fn forbidden_step<'a>(
        &self,
        steps: &'a [Step],
        roster: Option<&Roster>,
        caller: Option<&str>,
    ) -> Option<(&'a Step, Block)> {
        steps.iter().find_map(|s| {
            let offered = roster.and_then(|c| {
                let list = match s.agent_type {
                    AgentType::Knowledge => c.knowledge_agents(),
                    AgentType::Data => c.data_agents(),
                };
                list.iter().find(|a| a.agent_id == s.agent_id)
            });
            let (platform, domain) = match &s.parameters {
                Parameters::Data(d) => (Some(d.platform.clone()), None),
                Parameters::Knowledge(k) => (None, Some(k.domain.clone())),
                Parameters::Given(map) => {
                    let get = |k: &str| map.get(k).and_then(|v| v.as_str());
                    match s.agent_type {
                        AgentType::Data => (get("platform").and_then(Platform::parse), None),
                        AgentType::Knowledge => {
                            (None, get("domain").and_then(KnowledgeDomain::parse))
                        }
                    }
                }
            };
            let platform = platform.or_else(|| offered.and_then(|a| a.platform.clone()));
            let domain = domain.or_else(|| offered.and_then(|a| a.knowledge_domain.clone()));
            self.forbids(&s.agent_id, platform.as_ref(), domain.as_ref(), caller)
                .map(|b| (s, b))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r#"
modes:
  prod:
    deny_platforms: [spl]
    deny_agents: [wiki_kb]
    allow_domains: [sop, errors]
    max_steps: 8
    max_parallel: 4
    max_estimated_cost_usd: 0.05
    callers:
      analytics-ui: {allow_platforms: [sql], max_steps: 3}
  dev: {}
"#;

    fn agent(id: &str, platform: Option<&str>, domain: Option<&str>) -> AgentDescriptor {
        AgentDescriptor {
            agent_id: id.into(),
            agent_name: id.into(),
            capabilities: vec![],
            knowledge_domain: domain.and_then(KnowledgeDomain::parse),
            platform: platform.and_then(Platform::parse),
        }
    }

    #[test]
    fn rules_apply_by_mode_then_caller() {
        let p = Policy::parse(FILE, "prod").unwrap();
        let block = |a: &AgentDescriptor, c| p.forbids_agent(a, c).map(|b| b.rule);
        assert_eq!(
            block(&agent("spl_data", Some("splunk"), None), None),
            Some("deny_platforms")
        );
        assert_eq!(block(&agent("kql_data", Some("kql"), None), None), None);
        assert_eq!(
            block(&agent("kql_data", Some("kql"), None), Some("analytics-ui")),
            Some("allow_platforms")
        );
        assert_eq!(
            block(&agent("wiki_kb", None, Some("wiki")), None),
            Some("deny_agents")
        );
        assert_eq!(
            block(&agent("w2", None, Some("wiki")), None),
            Some("allow_domains")
        );
        assert_eq!(block(&agent("sop", None, Some("sop")), None), None);
        let l = p.limits(Some("analytics-ui"));
        assert_eq!(l.max_steps.map(|m| m.0.get()), Some(3));
        assert_eq!(l.max_parallel.map(|m| m.0.get()), Some(4));
        assert!(Policy::parse(FILE, "dev").unwrap().limits(None) == Limits::default());
    }

    #[test]
    fn restrict_withholds_forbidden_agents_and_keeps_a_roster_left_whole() {
        let p = Policy::parse(FILE, "prod").unwrap();
        let roster = Arc::new(Roster::new(Offered {
            knowledge_agents: vec![
                agent("sop", None, Some("sop")),
                agent("errors", None, Some("errors")),
            ],
            data_agents: vec![
                agent("kql_data", Some("kql"), None),
                agent("spl_data", Some("spl"), None),
            ],
            ..Default::default()
        }));
        let (restricted, warnings) = p.restrict(&roster, None);
        assert_eq!(restricted.knowledge_agents(), roster.knowledge_agents());
        let ids: Vec<&str> = restricted
            .data_agents()
            .iter()
            .map(|a| a.agent_id.as_str())
            .collect();
        assert_eq!(ids, ["kql_data"]);
        assert_eq!(restricted.offered_platforms(), [Platform::Kql]);
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].contains("'spl_data'"), "{warnings:?}");
        let (same, none) = Policy::parse(FILE, "dev").unwrap().restrict(&roster, None);
        assert!(Arc::ptr_eq(&same, &roster) && none.is_empty());
    }

    #[test]
    fn bad_files_say_where() {
        let e = Policy::parse("modes:\n  prod:\n    deny_platform: [spl]\n", "prod").unwrap_err();
        assert!(e.contains("line 3") && e.contains("deny_platform"), "{e}");
        let e = Policy::parse("modes:\n  prod:\n    max_steps: lots\n", "prod").unwrap_err();
        assert!(e.contains("line 3"), "{e}");
        let e = Policy::parse(FILE, "staging").unwrap_err();
        assert!(e.contains("staging") && e.contains("prod"), "{e}");
        let e =
            Policy::parse("modes:\n  p: {allow_agents: [a], deny_agents: [b]}\n", "p").unwrap_err();
        assert!(e.contains("not both"), "{e}");
        let e = Policy::parse("modes:\n  p: {max_steps: 0}\n", "p").unwrap_err();
        assert!(e.contains("max_steps") && e.contains("nonzero"), "{e}");
    }
}
