//! Matching an analysis to the offered agents.
//!
//! Knowledge agents are chosen by domain (`sop`, `errors`, `wiki`, or another domain the query
//! names), data agents by platform. An agent must carry the capability its step calls
//! (`retrieve_context`, `generate_query`). Where several agents serve one platform or domain, the
//! one whose name shares most words with the query wins, ties going to the caller's order. A
//! platform the query needs but nobody serves is left out with a warning, never swapped for
//! another platform.

use super::text::Text;
use crate::domain::{AgentDescriptor, KnowledgeDomain, Platform, QueryAnalysis};
use crate::pipeline::roster::Roster;

pub const RETRIEVE_CONTEXT: &str = "retrieve_context";
pub const GENERATE_QUERY: &str = "generate_query";

/// A knowledge agent chosen for a domain, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct SelectedKnowledge<'a> {
    pub domain: KnowledgeDomain,
    pub agent: &'a AgentDescriptor,
    pub reason: String,
}

/// A data agent chosen for a platform, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct SelectedData<'a> {
    pub platform: Platform,
    pub agent: &'a AgentDescriptor,
    pub reason: String,
    /// Other capable agents for the same platform, in preference order.
    pub alternates: Vec<String>,
}

/// The agents a plan will use, and warnings about needs no offered agent serves.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Selection<'a> {
    pub knowledge: Vec<SelectedKnowledge<'a>>,
    pub data: Vec<SelectedData<'a>>,
    pub warnings: Vec<String>,
}

/// Chooses agents for `analysis` among those in `ctx`; `text` is the tokenized query.
pub fn select<'a>(text: &Text, analysis: &QueryAnalysis, ctx: &'a Roster) -> Selection<'a> {
    let mut sel = Selection::default();
    let needs = &analysis.knowledge_requirements;

    let mut domains: Vec<(KnowledgeDomain, &str)> = Vec::with_capacity(4);
    if needs.requires_sop {
        domains.push((KnowledgeDomain::Sop, "procedures for this kind of request"));
    }
    if needs.requires_error_knowledge {
        domains.push((
            KnowledgeDomain::Errors,
            "the request is about errors or failures",
        ));
    }
    if needs.requires_wiki {
        domains.push((
            KnowledgeDomain::Wiki,
            "the request asks for background documentation",
        ));
    }
    // A domain we have no rule for is used when the query names it.
    for agent in ctx.knowledge_agents().iter() {
        if let Some(d @ KnowledgeDomain::Other(name)) = &agent.knowledge_domain {
            let named = name
                .split('_')
                .all(|w| text.has_name(w) || text.has_name(&format!("{w}s")));
            if named && !domains.iter().any(|(x, _)| x == d) {
                domains.push((d.clone(), "the request names this knowledge domain"));
            }
        }
    }

    sel.knowledge.reserve_exact(domains.len());
    sel.data.reserve_exact(analysis.required_platforms.len());
    for (domain, why) in domains {
        let candidates: Vec<&AgentDescriptor> = ctx
            .knowledge_agents()
            .iter()
            .filter(|a| a.knowledge_domain.as_ref() == Some(&domain))
            .collect();
        match pick(text, &candidates, RETRIEVE_CONTEXT) {
            Ok((agent, _)) => sel.knowledge.push(SelectedKnowledge {
                domain,
                agent,
                reason: why.to_string(),
            }),
            Err(Missing::NoAgent) => {
                // The SOP step is routine; only warn when a specific need goes unserved.
                if domain != KnowledgeDomain::Sop || !ctx.knowledge_agents().is_empty() {
                    sel.warnings.push(format!(
                        "knowledge domain '{domain}' would help ({why}) but no knowledge agent serves it"
                    ));
                }
            }
            Err(Missing::NoCapability(ids)) => sel.warnings.push(format!(
                "knowledge domain '{domain}' left out: agent(s) {} lack the '{RETRIEVE_CONTEXT}' capability",
                ids.join(", ")
            )),
        }
    }

    for platform in &analysis.required_platforms {
        let candidates: Vec<&AgentDescriptor> = ctx
            .data_agents()
            .iter()
            .filter(|a| a.platform.as_ref() == Some(platform))
            .collect();
        match pick(text, &candidates, GENERATE_QUERY) {
            Ok((agent, alternates)) => {
                let reason = if alternates.is_empty() {
                    ["serves platform '", platform.as_str(), "'"].concat()
                } else {
                    format!(
                        "serves platform '{platform}'; preferred over {} by name match and offered order",
                        alternates.join(", ")
                    )
                };
                sel.data.push(SelectedData {
                    platform: platform.clone(),
                    agent,
                    reason,
                    alternates,
                });
            }
            Err(Missing::NoAgent) => sel.warnings.push(format!(
                "platform '{platform}' is needed but no data agent for it was offered; left out of the plan"
            )),
            Err(Missing::NoCapability(ids)) => sel.warnings.push(format!(
                "platform '{platform}' is needed but its agent(s) {} lack the '{GENERATE_QUERY}' capability; left out of the plan",
                ids.join(", ")
            )),
        }
    }
    if analysis.required_platforms.is_empty() {
        sel.warnings.push(
            "no data platform could be chosen for this request; the plan gathers knowledge only"
                .into(),
        );
    }
    sel
}

enum Missing {
    NoAgent,
    NoCapability(Vec<String>),
}

/// The best capable candidate, and the other capable ones in preference order.
fn pick<'a>(
    text: &Text,
    candidates: &[&'a AgentDescriptor],
    capability: &str,
) -> Result<(&'a AgentDescriptor, Vec<String>), Missing> {
    if candidates.is_empty() {
        return Err(Missing::NoAgent);
    }
    let capable_count = candidates
        .iter()
        .filter(|a| a.has_capability(capability))
        .count();
    // One capable agent needs no ranking.
    let mut capable: Vec<(usize, &AgentDescriptor)> = candidates
        .iter()
        .filter(|a| a.has_capability(capability))
        .map(|a| {
            let overlap = if capable_count > 1 {
                name_overlap(text, a)
            } else {
                0
            };
            (overlap, *a)
        })
        .collect();
    if capable.is_empty() {
        return Err(Missing::NoCapability(
            candidates.iter().map(|a| a.agent_id.clone()).collect(),
        ));
    }
    // Stable sort: equal scores keep the caller's order.
    capable.sort_by_key(|c| std::cmp::Reverse(c.0));
    let best = capable[0].1;
    let rest = capable[1..]
        .iter()
        .map(|(_, a)| a.agent_id.clone())
        .collect();
    Ok((best, rest))
}

/// How many distinctive words of the agent's name the query uses.
fn name_overlap(text: &Text, agent: &AgentDescriptor) -> usize {
    const GENERIC: &[&str] = &["data", "agent", "knowledge", "query", "the", "and", "for"];
    agent
        .agent_name
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.len() > 2 && !GENERIC.iter().any(|g| g.eq_ignore_ascii_case(w)))
        .filter(|w| text.has_name(w))
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::roster::Offered;
    use crate::pipeline::testing::{data_agent, keywords, knowledge_agent};

    fn data(id: &str, name: &str, platform: &str, caps: &[&str]) -> AgentDescriptor {
        AgentDescriptor {
            capabilities: caps.iter().map(|c| c.to_string()).collect(),
            ..data_agent(id, name, platform)
        }
    }

    fn knowledge(id: &str, domain: &str) -> AgentDescriptor {
        knowledge_agent(id, domain)
    }

    fn run<'a>(query: &str, ctx: &'a Roster) -> Selection<'a> {
        let a = keywords(query, ctx);
        select(&Text::new(query), &a.analysis, ctx)
    }

    fn full_offer() -> Offered {
        Offered {
            knowledge_agents: vec![
                knowledge("sop_k", "sop"),
                knowledge("err_k", "errors"),
                knowledge("wiki_k", "wiki"),
            ],
            data_agents: vec![
                data("kql_a", "KQL Agent", "kql", &[GENERATE_QUERY]),
                data("sql_a", "SQL Agent", "sql", &[GENERATE_QUERY]),
            ],
            ..Default::default()
        }
    }

    fn full_ctx() -> Roster {
        Roster::new(full_offer())
    }

    #[test]
    fn errors_knowledge_is_added_for_error_requests() {
        let ctx = full_ctx();
        let s = run("exceptions in the checkout service on azure", &ctx);
        let ids: Vec<&str> = s
            .knowledge
            .iter()
            .map(|k| k.agent.agent_id.as_str())
            .collect();
        assert_eq!(ids, ["sop_k", "err_k"]);
        assert_eq!(s.data[0].agent.agent_id, "kql_a");
        assert!(s.warnings.is_empty(), "{:?}", s.warnings);
    }

    #[test]
    fn an_unserved_platform_is_warned_about_and_never_substituted() {
        let ctx = full_ctx();
        let s = run("search splunk for beaconing hosts", &ctx);
        assert!(s.data.is_empty());
        assert!(s.warnings[0].contains("'spl'"), "{:?}", s.warnings);
    }

    #[test]
    fn agents_without_the_capability_are_not_used() {
        let mut o = full_offer();
        o.data_agents = vec![data("kql_ro", "KQL reader", "kql", &["run_query"])];
        let ctx = Roster::new(o);
        let s = run("azure sign-ins", &ctx);
        assert!(s.data.is_empty());
        assert!(s.warnings[0].contains("kql_ro"), "{:?}", s.warnings);
    }

    #[test]
    fn among_agents_of_one_platform_the_better_named_wins() {
        let mut o = full_offer();
        o.data_agents = vec![
            data("sales_db", "Sales Database Agent", "sql", &[GENERATE_QUERY]),
            data(
                "hr_db",
                "HR Payroll Database Agent",
                "sql",
                &[GENERATE_QUERY],
            ),
        ];
        let ctx = Roster::new(o);
        let s = run("payroll totals by department in the database", &ctx);
        assert_eq!(s.data[0].agent.agent_id, "hr_db");
        assert_eq!(s.data[0].alternates, ["sales_db"]);
        let s = run("orders in the database", &ctx);
        assert_eq!(
            s.data[0].agent.agent_id, "sales_db",
            "ties keep the offered order"
        );
    }

    #[test]
    fn a_named_unknown_knowledge_domain_is_used() {
        let mut o = full_offer();
        o.knowledge_agents.push(knowledge("rb", "runbooks"));
        let ctx = Roster::new(o);
        let s = run("which runbooks cover azure key vault outages", &ctx);
        assert!(s.knowledge.iter().any(|k| k.agent.agent_id == "rb"));
    }
}
