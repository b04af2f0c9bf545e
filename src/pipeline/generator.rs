//! Turning a selection into a draft plan: knowledge steps first (no dependencies, so they run
//! together), then one data step per platform that waits for all knowledge steps and for the
//! data steps whose results its part uses. Each data step gets its part of the request
//! ([`Clause`]s), the error-knowledge step the error codes named. Step ids are derived from the
//! domain or platform, so the same request always yields the same ids.

use super::selector::{GENERATE_QUERY, RETRIEVE_CONTEXT, Selection};
use crate::config::PlannerSettings;
use crate::domain::{
    AgentType, AnalysisJson, Clause, DataEntities, DataParameters, KnowledgeDomain,
    KnowledgeParameters, Parameters, Platform, QueryAnalysis, SharedText, Step,
};

/// Step timeouts and retrieval depth, from configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct GeneratorOptions {
    pub knowledge_timeout_seconds: u64,
    pub data_timeout_seconds: u64,
    pub knowledge_top_k: u64,
}

impl From<&PlannerSettings> for GeneratorOptions {
    fn from(p: &PlannerSettings) -> Self {
        GeneratorOptions {
            knowledge_timeout_seconds: p.knowledge_timeout_seconds.get(),
            data_timeout_seconds: p.data_timeout_seconds.get(),
            knowledge_top_k: p.knowledge_top_k,
        }
    }
}

/// The steps of a plan for `selection`, in execution-friendly order. The request and the
/// analysis every step shares are written and counted once ([`SharedText`], [`AnalysisJson`]).
pub fn generate(
    query: &str,
    analysis: &QueryAnalysis,
    selection: &Selection,
    opts: &GeneratorOptions,
) -> Vec<Step> {
    let query = SharedText::new(query);
    // The error-knowledge step looks up the codes the request names, when it names any.
    let codes = &analysis.entities.error_codes;
    let error_query = (!codes.is_empty()).then(|| SharedText::new(&codes.join(", ")));
    let mut steps = Vec::with_capacity(selection.knowledge.len() + selection.data.len());
    for k in &selection.knowledge {
        steps.push(Step {
            step_id: step_id("knowledge", k.domain.as_str()),
            agent_type: AgentType::Knowledge,
            agent_id: k.agent.agent_id.clone(),
            action: RETRIEVE_CONTEXT.into(),
            depends_on: Vec::new(),
            parameters: Parameters::Knowledge(KnowledgeParameters {
                query: match (&k.domain, &error_query) {
                    (KnowledgeDomain::Errors, Some(codes)) => codes.clone(),
                    _ => query.clone(),
                },
                top_k: opts.knowledge_top_k,
                domain: k.domain.clone(),
            }),
            timeout_seconds: opts.knowledge_timeout_seconds,
        });
    }
    let knowledge_ids: Vec<String> = steps.iter().map(|s| s.step_id.clone()).collect();
    if selection.data.is_empty() {
        return steps;
    }
    let analysis_json = AnalysisJson::of(analysis);
    let platforms: Vec<&Platform> = selection.data.iter().map(|d| &d.platform).collect();
    for d in &selection.data {
        let part = own_part(&analysis.clauses, &d.platform, &platforms);
        let uses: Vec<String> = part
            .as_ref()
            .map(|p| p.uses.iter().map(|q| step_id("data", q.as_str())).collect())
            .unwrap_or_default();
        let mut depends_on = knowledge_ids.clone();
        depends_on.extend(uses.iter().cloned());
        steps.push(Step {
            step_id: step_id("data", d.platform.as_str()),
            agent_type: AgentType::Data,
            agent_id: d.agent.agent_id.clone(),
            action: GENERATE_QUERY.into(),
            depends_on,
            parameters: Parameters::Data(DataParameters {
                platform: d.platform.clone(),
                natural_language: part
                    .map(|p| SharedText::new(&p.text))
                    .unwrap_or_else(|| query.clone()),
                request: query.clone(),
                uses_results_of: uses,
                use_knowledge: !knowledge_ids.is_empty(),
                entities: entities_for(analysis, &d.platform),
                query_analysis: analysis_json.clone(),
                alternate_agent_ids: d.alternates.clone(),
            }),
            timeout_seconds: opts.data_timeout_seconds,
        });
    }
    steps
}

/// A data step's own part of a request that splits between platforms: its clauses and the
/// shared ones, and the platforms whose results a clause of its uses.
struct Part<'a> {
    text: String,
    uses: Vec<&'a Platform>,
}

/// `platform`'s part of the request, when the request splits between the planned `platforms`
/// and `platform` has a clause of its own; `None`: the whole request.
fn own_part<'a>(
    clauses: &'a [Clause],
    platform: &Platform,
    platforms: &[&Platform],
) -> Option<Part<'a>> {
    let owns = |c: &Clause| c.platforms.contains(platform);
    if !clauses.iter().any(owns) {
        return None;
    }
    let mut text = String::new();
    let mut uses: Vec<&Platform> = Vec::new();
    for (k, c) in clauses.iter().enumerate() {
        let planned_other = c
            .platforms
            .iter()
            .any(|p| p != platform && platforms.contains(&p));
        if c.platforms.is_empty() || owns(c) || !planned_other {
            if !text.is_empty() {
                text.push(' ');
            }
            text.push_str(&c.text);
        }
        if owns(c) && c.refers_back {
            for earlier in &clauses[..k] {
                for p in &earlier.platforms {
                    if p != platform && platforms.contains(&p) && !uses.contains(&p) {
                        uses.push(p);
                    }
                }
            }
        }
    }
    Some(Part { text, uses })
}

/// `knowledge_sop`, `data_kql`; other names reduced to `[a-z0-9_]`.
fn step_id(kind: &str, name: &str) -> String {
    let mut id = String::with_capacity(kind.len() + 1 + name.len());
    id.push_str(kind);
    id.push('_');
    id.extend(name.chars().map(|c| {
        if c.is_ascii_alphanumeric() {
            c.to_ascii_lowercase()
        } else {
            '_'
        }
    }));
    id
}

/// The entities a data agent for `platform` can use: the time range and fields always, tables
/// or indexes as the platform speaks them.
fn entities_for(analysis: &QueryAnalysis, platform: &Platform) -> DataEntities {
    let e = &analysis.entities;
    let spl = *platform == Platform::Spl;
    DataEntities {
        tables: (!spl).then(|| e.tables.clone()),
        indexes: spl.then(|| e.indexes.clone()),
        fields: e.fields.clone(),
        time_range: e.time_range.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Settings;
    use crate::pipeline::roster::{Offered, Roster};
    use crate::pipeline::selector::select;
    use crate::pipeline::testing::{data_agent, keywords, knowledge_agent};
    use crate::pipeline::text::Text;

    fn ctx() -> Roster {
        Roster::new(Offered {
            knowledge_agents: vec![
                knowledge_agent("sop_knowledge", "sop"),
                knowledge_agent("error_knowledge", "errors"),
            ],
            data_agents: vec![
                data_agent("kql_data", "kql_data", "kql"),
                data_agent("spl_data", "spl_data", "spl"),
            ],
            ..Default::default()
        })
    }

    /// The analysis of `q` and the steps generated for it over [`ctx`].
    fn plan(q: &str) -> (QueryAnalysis, Vec<Step>) {
        let ctx = ctx();
        let a = keywords(q, &ctx).analysis;
        let opts = GeneratorOptions::from(&Settings::for_tests().planner);
        let steps = generate(q, &a, &select(&Text::new(q), &a, &ctx), &opts);
        (a, steps)
    }

    #[test]
    fn knowledge_steps_come_first_and_data_steps_wait_for_them() {
        let (a, steps) = plan("Correlate Splunk firewall errors with Azure sign-ins");
        let ids: Vec<&str> = steps.iter().map(|s| s.step_id.as_str()).collect();
        assert_eq!(
            ids,
            ["knowledge_sop", "knowledge_errors", "data_kql", "data_spl"]
        );
        assert!(steps[0].depends_on.is_empty());
        assert_eq!(steps[2].depends_on, ["knowledge_sop", "knowledge_errors"]);
        assert_eq!(steps[3].parameters.platform(), Some("spl"));
        assert_eq!(steps[0].timeout_seconds, 30);
        assert_eq!(steps[3].timeout_seconds, 60);
        let json = serde_json::to_value(&steps[0].parameters).unwrap();
        assert_eq!(json["top_k"], 5);
        let data = serde_json::to_value(&steps[3].parameters).unwrap();
        assert_eq!(data["query_analysis"]["intent"], a.intent.as_str());
        assert_eq!(data["entities"]["indexes"], serde_json::json!([]));
        assert!(
            data["entities"].get("tables").is_none(),
            "Splunk speaks of indexes"
        );
    }

    #[test]
    fn each_data_step_gets_its_part_and_waits_for_the_results_it_uses() {
        let q = "Which IPs did Sentinel flag as risky yesterday? Check the firewall logs in Splunk for traffic from those IPs.";
        let (_, steps) = plan(q);
        let data = |p: &str| {
            let s = steps
                .iter()
                .find(|s| s.parameters.platform() == Some(p))
                .unwrap();
            (s, serde_json::to_value(&s.parameters).unwrap())
        };
        let (kql, kql_json) = data("kql");
        let (spl, spl_json) = data("spl");
        assert_eq!(
            kql_json["natural_language"],
            "Which IPs did Sentinel flag as risky yesterday?"
        );
        assert_eq!(
            spl_json["natural_language"],
            "Check the firewall logs in Splunk for traffic from those IPs."
        );
        assert_eq!(spl_json["request"], q);
        assert!(
            spl.depends_on.contains(&kql.step_id),
            "{:?}",
            spl.depends_on
        );
        assert_eq!(spl_json["uses_results_of"], serde_json::json!(["data_kql"]));
        assert!(!kql.depends_on.contains(&spl.step_id));
        assert!(kql_json.get("uses_results_of").is_none());

        // Linked sources: every step keeps the whole request.
        let q = "Correlate Splunk firewall errors with Azure sign-ins";
        let (_, steps) = plan(q);
        for s in steps.iter().filter(|s| s.parameters.platform().is_some()) {
            let json = serde_json::to_value(&s.parameters).unwrap();
            assert_eq!(json["natural_language"], q);
        }
    }

    #[test]
    fn step_ids_are_safe_for_unusual_names() {
        assert_eq!(step_id("data", "Prom-QL v2"), "data_prom_ql_v2");
    }
}
