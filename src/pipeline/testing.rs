//! Test helpers shared by the stages' unit tests: offered agents, contexts, default options.

use crate::config::Settings;
use crate::domain::{AgentDescriptor, KnowledgeDomain, Platform};
use crate::pipeline::analyzer::lexicon::{Scan, lexicon};
use crate::pipeline::analyzer::{AnalyzerOptions, KeywordAnalysis, analyze};
use crate::pipeline::roster::{Offered, Roster};
use crate::pipeline::selector::{GENERATE_QUERY, RETRIEVE_CONTEXT};
use crate::pipeline::text::{Forms, Text};

/// A data agent with the `generate_query` capability.
pub fn data_agent(id: &str, name: &str, platform: &str) -> AgentDescriptor {
    AgentDescriptor {
        agent_id: id.into(),
        agent_name: name.into(),
        capabilities: vec![GENERATE_QUERY.into()],
        knowledge_domain: None,
        platform: Platform::parse(platform),
    }
}

/// A knowledge agent with the `retrieve_context` capability, named by its id.
pub fn knowledge_agent(id: &str, domain: &str) -> AgentDescriptor {
    AgentDescriptor {
        agent_id: id.into(),
        agent_name: id.into(),
        capabilities: vec![RETRIEVE_CONTEXT.into()],
        knowledge_domain: KnowledgeDomain::parse(domain),
        platform: None,
    }
}

/// One data agent per platform (`kql_data`, "KQL Data Agent", …), and nothing else.
pub fn offered(platforms: &[&str]) -> Offered {
    Offered {
        data_agents: platforms
            .iter()
            .map(|p| {
                data_agent(
                    &format!("{p}_data"),
                    &format!("{} Data Agent", p.to_uppercase()),
                    p,
                )
            })
            .collect(),
        ..Default::default()
    }
}

/// The roster of [`offered`]`(platforms)`.
pub fn ctx(platforms: &[&str]) -> Roster {
    Roster::new(offered(platforms))
}

/// The analyzer options of the compiled-in defaults.
pub fn options() -> AnalyzerOptions {
    AnalyzerOptions::from(&Settings::for_tests().planner)
}

/// The keyword analysis of `query` for `ctx` with default options.
pub fn keywords(query: &str, ctx: &Roster) -> KeywordAnalysis {
    analyze(query, ctx, &options())
}

/// The queries of the repository's labelled sets (`tests/data`), in file order.
pub fn eval_queries() -> Vec<String> {
    let mut queries = Vec::new();
    for file in [
        "tests/data/hard_more.jsonl",
        "tests/data/hard.jsonl",
        "tests/data/ordinary.jsonl",
    ] {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
        for line in std::fs::read_to_string(&path).expect("eval set").lines() {
            let v: serde_json::Value = serde_json::from_str(line).expect("json line");
            queries.push(v["query"].as_str().expect("query").to_string());
        }
    }
    queries
}

/// Reads `query` as the analysis does (typos corrected, forms sliced once, terms found) and
/// hands the text, its forms and its terms to `read`.
pub fn with_scan<R>(query: &str, read: impl FnOnce(&Text<'_>, &Forms<'_>, &Scan) -> R) -> R {
    let lex = lexicon();
    let mut text = Text::new(query);
    lex.correct(&mut text);
    let forms = text.forms();
    let scan = lex.scan(&text, &forms);
    read(&text, &forms, &scan)
}
