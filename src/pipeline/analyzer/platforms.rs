//! Platform evidence: small passes over the query that each add what they find to one tally,
//! then the decision of which platforms the request needs.

use std::collections::BTreeMap;

use super::vocabulary::{
    AGENT_NAME_STOPWORDS, AZURE_DATABASES, DB_INDEX_WORDS, KQL, NAME_STOPWORDS, SPL, SQL,
    Vocabulary,
};
use super::{AnalyzerOptions, COMPARABLE, DESCRIBED, PlatformEvidence, Strength, push_unique};
use crate::domain::{Entities, PlanningContext, Platform};
use crate::pipeline::text::{Text, is_identifier_like, word_matches};

/// The platforms with built-in vocabulary, and their words.
const VOCABULARIES: [(Platform, &Vocabulary); 3] = [
    (Platform::Kql, &KQL),
    (Platform::Spl, &SPL),
    (Platform::Sql, &SQL),
];

/// What the passes found for one platform.
#[derive(Default)]
struct Tally {
    hard: Vec<String>,
    soft: f64,
    soft_cues: Vec<String>,
}

/// The evidence of every platform the passes found, keyed by platform.
#[derive(Default)]
struct Tallies(BTreeMap<Platform, Tally>);

impl Tallies {
    fn hard(&mut self, p: &Platform, cue: String) {
        let t = self.0.entry(p.clone()).or_default();
        if !t.hard.contains(&cue) {
            t.hard.push(cue);
        }
    }

    fn soft(&mut self, p: &Platform, cue: &str, weight: f64) {
        let t = self.0.entry(p.clone()).or_default();
        t.soft += weight;
        t.soft_cues.push(cue.to_string());
    }

    fn into_evidence(self) -> Vec<PlatformEvidence> {
        self.0
            .into_iter()
            .filter(|(_, t)| !t.hard.is_empty() || t.soft > 0.0)
            .map(|(platform, t)| PlatformEvidence {
                platform,
                strength: if t.hard.is_empty() {
                    Strength::Soft
                } else {
                    Strength::Hard
                },
                soft_score: t.soft,
                cues: if t.hard.is_empty() {
                    t.soft_cues.iter().map(|c| format!("'{c}'")).collect()
                } else {
                    t.hard
                },
                offered: false,
            })
            .collect()
    }
}

/// Every platform the text points at, with its strength and cues; names it finds go into
/// `entities`.
pub(super) fn evidence(
    text: &Text,
    ctx: &PlanningContext,
    entities: &mut Entities,
) -> Vec<PlatformEvidence> {
    let mut tally = Tallies::default();
    let hinted = schema_hint_names(text, ctx, entities, &mut tally);
    vocabulary_terms(text, entities, &mut tally);
    splunk_index_syntax(text, entities, &mut tally);
    splunk_index_word(text, entities, &mut tally);
    table_word(text, &hinted, entities, &mut tally);
    typed_identifiers(text, entities);
    offered_agent_words(text, ctx, &mut tally);
    tally.into_evidence()
}

/// Tables and indexes the caller listed for a platform: hard evidence for it. Returns the
/// names found (lower-case) with their platform.
fn schema_hint_names(
    text: &Text,
    ctx: &PlanningContext,
    entities: &mut Entities,
    tally: &mut Tallies,
) -> Vec<(String, Platform)> {
    let mut hinted = Vec::new();
    for (platform, hint) in &ctx.schema_hints {
        for (names, is_index) in [(&hint.tables, false), (&hint.indexes, true)] {
            for name in names.iter().filter(|n| text.mentions_name(n)) {
                tally.hard(platform, format!("'{name}' (schema hint)"));
                let list = if is_index {
                    &mut entities.indexes
                } else {
                    &mut entities.tables
                };
                push_unique(list, name);
                hinted.push((name.to_lowercase(), platform.clone()));
            }
        }
    }
    hinted
}

/// Each built-in vocabulary: named products and languages, well-known tables, subject words.
fn vocabulary_terms(text: &Text, entities: &mut Entities, tally: &mut Tallies) {
    for (platform, vocab) in &VOCABULARIES {
        for term in vocab.hard {
            for at in text.find(term) {
                // `Azure SQL`, `Azure Cosmos DB`: a database, not Azure Monitor data.
                let azure_db = *term == "azure"
                    && text
                        .word(at + 1)
                        .is_some_and(|next| AZURE_DATABASES.iter().any(|w| word_matches(w, next)));
                if !azure_db {
                    tally.hard(platform, format!("'{term}'"));
                }
            }
        }
        for table in vocab.tables {
            if text.has_name(table) {
                tally.hard(platform, format!("'{table}' ({platform} table)"));
                push_unique(&mut entities.tables, table);
            }
        }
        for (term, weight) in vocab.soft {
            if text.has(term) {
                tally.soft(platform, term.trim_end_matches('*'), *weight);
            }
        }
    }
}

/// `index=web`: Splunk syntax; the value is an index name.
fn splunk_index_syntax(text: &Text, entities: &mut Entities, tally: &mut Tallies) {
    let mut rest = text.lower.as_str();
    while let Some(pos) = rest.find("index") {
        let after = rest[pos + 5..].trim_start();
        if let Some(value) = after.strip_prefix('=') {
            let name: String = value
                .trim_start_matches([' ', '"', '\''])
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '-')
                .collect();
            tally.hard(&Platform::Spl, "'index='".to_string());
            if !name.is_empty() {
                push_unique(&mut entities.indexes, &name);
            }
        }
        rest = &rest[pos + 5..];
    }
}

/// `the network index`: a Splunk index, unless it reads as a database index.
fn splunk_index_word(text: &Text, entities: &mut Entities, tally: &mut Tallies) {
    for at in text.find("index") {
        if text.near(at, 2, DB_INDEX_WORDS) {
            continue;
        }
        tally.hard(&Platform::Spl, "'index'".to_string());
        let before = at.checked_sub(1).and_then(|i| text.tokens.get(i));
        if let Some(name) = before.filter(|t| !NAME_STOPWORDS.contains(&t.lower.as_str())) {
            push_unique(&mut entities.indexes, &name.lower);
        }
    }
}

/// `the Users table`: a relational table, unless the name belongs to another platform.
fn table_word(
    text: &Text,
    hinted: &[(String, Platform)],
    entities: &mut Entities,
    tally: &mut Tallies,
) {
    let known_elsewhere = |name: &str| {
        let lower = name.to_lowercase();
        // `Kusto tables`, `Sentinel table`: the neighbour names the platform itself.
        KQL.hard.iter().chain(SPL.hard).any(|t| *t == lower)
            || KQL.tables.iter().any(|t| t.eq_ignore_ascii_case(&lower))
            || hinted
                .iter()
                .any(|(n, p)| n == &lower && p != &Platform::Sql)
    };
    for at in text.find("table") {
        let names: Vec<&str> = [at.checked_sub(1), Some(at + 1)]
            .iter()
            .flatten()
            .filter_map(|&i| text.tokens.get(i))
            .map(|t| t.original.as_str())
            .collect();
        if names.iter().any(|n| known_elsewhere(n)) {
            continue;
        }
        tally.hard(&Platform::Sql, "'table'".to_string());
        for name in names {
            let looks_named =
                name.chars().next().is_some_and(char::is_uppercase) || is_identifier_like(name);
            if looks_named && !NAME_STOPWORDS.contains(&name.to_lowercase().as_str()) {
                push_unique(&mut entities.tables, name);
            }
        }
    }
}

/// Other CamelCase identifiers typed in the query read as table names.
fn typed_identifiers(text: &Text, entities: &mut Entities) {
    for t in &text.tokens {
        let lower = t.lower.as_str();
        if t.original.chars().skip(1).any(char::is_uppercase)
            && t.original.chars().any(char::is_lowercase)
            && !t.original.contains('_')
            && !SPL.hard.contains(&lower)
            && !KQL.hard.contains(&lower)
        {
            push_unique(&mut entities.tables, &t.original);
        }
    }
}

/// The offered agents' own words: a platform id, or a distinctive word of its agent's name
/// (hard evidence for a platform we have no vocabulary for, soft for one we do).
fn offered_agent_words(text: &Text, ctx: &PlanningContext, tally: &mut Tallies) {
    for agent in &ctx.data_agents {
        let Some(platform) = &agent.platform else {
            continue;
        };
        let known = Platform::KNOWN.contains(platform);
        if !known && text.has_name(platform.as_str()) {
            tally.hard(platform, format!("'{platform}' (platform name)"));
        }
        let name = Text::new(&agent.agent_name);
        for word in name.tokens.iter().map(|t| t.lower.as_str()) {
            if word.len() < 3 || AGENT_NAME_STOPWORDS.contains(&word) || !text.has_name(word) {
                continue;
            }
            if known {
                let seen = tally
                    .0
                    .get(platform)
                    .is_some_and(|t| t.soft_cues.iter().any(|c| c == word));
                if !seen {
                    tally.soft(platform, word, 1.0);
                }
            } else {
                tally.hard(platform, format!("'{word}' (agent {})", agent.agent_id));
            }
        }
    }
}

/// Picks the platforms; the note says how, for the reasoning.
pub(super) fn decide(
    evidence: &[PlatformEvidence],
    offered: &[Platform],
    investigative: bool,
    opts: &AnalyzerOptions,
) -> (Vec<Platform>, &'static str) {
    let hard: Vec<Platform> = evidence
        .iter()
        .filter(|e| e.strength == Strength::Hard)
        .map(|e| e.platform.clone())
        .collect();
    let score = |p: &Platform| {
        evidence
            .iter()
            .find(|e| &e.platform == p)
            .map_or(0.0, |e| e.soft_score)
    };
    // Soft candidates among the offered platforms, best first, ties in offered order.
    let mut soft_offered: Vec<(&Platform, f64)> = offered
        .iter()
        .filter(|p| !hard.contains(p))
        .map(|p| (p, score(p)))
        .filter(|(_, s)| *s > 0.0)
        .collect();
    soft_offered.sort_by(|a, b| b.1.total_cmp(&a.1));

    if !hard.is_empty() {
        let mut required = hard;
        // A comparison or a trail across sources names some sources outright and describes
        // the others.
        if investigative {
            required.extend(
                soft_offered
                    .iter()
                    .filter(|(_, s)| *s >= DESCRIBED)
                    .map(|(p, _)| (*p).clone()),
            );
        }
        return (required, "named outright");
    }

    let best_unoffered = evidence
        .iter()
        .filter(|e| !offered.contains(&e.platform))
        .map(|e| (&e.platform, e.soft_score))
        .max_by(|a, b| a.1.total_cmp(&b.1));
    match (soft_offered.first(), best_unoffered) {
        (Some(&(best, s)), unoffered) => {
            if let Some((u, us)) = unoffered
                && us >= DESCRIBED
                && us >= 2.0 * s
            {
                return (
                    vec![u.clone()],
                    "by its vocabulary, which no offered agent serves",
                );
            }
            let mut required = vec![best.clone()];
            if investigative
                && let Some(&(second, s2)) = soft_offered.get(1)
                && s2 >= DESCRIBED
                && s2 >= COMPARABLE * s
            {
                required.push(second.clone());
            }
            (required, "by its vocabulary")
        }
        (None, Some((u, us))) if us >= DESCRIBED => (
            vec![u.clone()],
            "by its vocabulary, which no offered agent serves",
        ),
        _ => {
            let pick = if offered.len() == 1 {
                offered.first()
            } else {
                opts.default_platforms
                    .iter()
                    .find(|p| offered.contains(p))
                    .or(offered.first())
            };
            match pick {
                Some(p) => (vec![p.clone()], "by default: the query names no platform"),
                None => (
                    Vec::new(),
                    "none: no platform evidence and no data agent offered",
                ),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::SchemaHint;
    use crate::pipeline::testing::{ctx, data_agent, keywords};

    fn platforms_of(query: &str, offered: &[&str]) -> Vec<String> {
        keywords(query, &ctx(offered))
            .analysis
            .required_platforms
            .iter()
            .map(|p| p.to_string())
            .collect()
    }

    #[test]
    fn a_named_product_selects_its_platform() {
        assert_eq!(
            platforms_of(
                "Any Kusto tables about VM restarts?",
                &["kql", "spl", "sql"]
            ),
            ["kql"]
        );
        assert_eq!(
            platforms_of("top talkers in splunk", &["kql", "spl", "sql"]),
            ["spl"]
        );
        assert_eq!(
            platforms_of("rows in the staging db", &["kql", "spl", "sql"]),
            ["sql"]
        );
    }

    #[test]
    fn several_named_platforms_are_all_required() {
        let got = platforms_of(
            "Match Entra sign-ins against the HR database and Splunk proxy logs",
            &["kql", "spl", "sql"],
        );
        assert_eq!(got, ["kql", "spl", "sql"]);
    }

    #[test]
    fn azure_sql_is_a_database_not_azure_monitor() {
        assert_eq!(
            platforms_of("slow queries on the Azure SQL instance", &["kql", "sql"]),
            ["sql"]
        );
    }

    #[test]
    fn subject_vocabulary_decides_without_a_named_platform() {
        assert_eq!(
            platforms_of(
                "which VPN gateways dropped tunnels overnight",
                &["kql", "spl", "sql"]
            ),
            ["spl"]
        );
        assert_eq!(
            platforms_of("average basket price per customer", &["kql", "spl", "sql"]),
            ["sql"]
        );
    }

    #[test]
    fn an_unoffered_named_platform_is_still_required_so_it_can_be_warned_about() {
        assert_eq!(
            platforms_of("search splunk for beaconing", &["sql"]),
            ["spl"]
        );
    }

    #[test]
    fn no_evidence_falls_back_to_the_only_or_default_platform() {
        assert_eq!(platforms_of("show me the thing", &["sql"]), ["sql"]);
        assert_eq!(platforms_of("show me the thing", &["spl", "kql"]), ["kql"]);
        assert!(platforms_of("show me the thing", &[]).is_empty());
    }

    #[test]
    fn schema_hint_tables_are_hard_evidence_and_entities() {
        let mut c = ctx(&["kql", "sql"]);
        c.schema_hints.insert(
            Platform::Sql,
            SchemaHint {
                tables: vec!["Shipments".into()],
                indexes: vec![],
            },
        );
        let a = keywords("latest rows of shipments", &c);
        assert_eq!(a.analysis.required_platforms, [Platform::Sql]);
        assert_eq!(a.analysis.entities.tables, ["Shipments"]);
        assert_eq!(
            a.evidence_for(&Platform::Sql).map(|e| e.strength),
            Some(Strength::Hard)
        );
    }

    #[test]
    fn unknown_platforms_are_found_through_their_agents_names() {
        let mut c = ctx(&["kql"]);
        c.data_agents
            .push(data_agent("prom", "Prometheus Metrics Agent", "promql"));
        let a = keywords("container restarts in prometheus", &c);
        assert_eq!(
            a.analysis.required_platforms,
            [Platform::Other("promql".into())]
        );
    }

    #[test]
    fn the_table_word_does_not_claim_a_kql_table_for_sql() {
        assert_eq!(
            platforms_of("newest rows of the SigninLogs table", &["kql", "sql"]),
            ["kql"]
        );
    }

    #[test]
    fn database_indexes_are_not_splunk_indexes() {
        assert_eq!(
            platforms_of(
                "missing index on the orders table in postgres",
                &["spl", "sql"]
            ),
            ["sql"]
        );
    }
}
