//! Keyword analysis of a query: platforms, intent, entities, knowledge needs, characteristics,
//! and how sure the text is of each.
//!
//! Every vocabulary is compiled once into one automaton ([`lexicon`]); a query is read in one
//! pass, misspelled product and error words corrected first. Evidence for a platform is *named*
//! (a product or language named outright, a pasted query's syntax, `index=`, a table from the
//! caller's `schema_hints` or a well-known one, a word of an offered agent's own name), *excluded*
//! (named only where the request rules it out: `but not from Splunk`), or *inferred* from the
//! platform's subject words (firewalls lean Splunk, invoices lean SQL). Named platforms decide
//! on their own, offered or not (an unoffered one becomes a warning later); without them the
//! inferred scores choose among the offered platforms; only a request with no evidence at all
//! falls back to a default. Error knowledge is *stated* (error words, 5xx codes, a failure that
//! is not a login's), *denied* (failed logins, 401/403, `without errors`), *weak* (vague trouble)
//! or absent; the intent is clear or vague.
//!
//! [`KeywordAnalysis`] keeps this certainty per decision so a model's answer can be fused with it
//! ([`fusion`]): the model decides only where the text is unsure.
//!
//! - [`vocabulary`]: the word lists (data only), in the languages of an operations team.
//! - [`lexicon`]: the lists compiled into one automaton, typo correction, the scan.
//! - [`exclusion`]: what the request rules out.
//! - `ask`: what the request asks for (data, knowledge) and which words are only context;
//!   `pasted` sets machine text apart, `aside` a role or a results' destination.
//! - [`syntax`]: pasted queries and HTTP status codes.
//! - [`platforms`]: the platform evidence passes and the platform decision.
//! - [`roster`]: the offered agents' words and hinted names, derived once per roster.
//! - [`intent`]: intent, error knowledge, characteristics and complexity.
//! - [`entities`]: tables, fields and time ranges.
//! - [`fusion`]: a model's answer parsed, validated and fused with the keyword analysis.

mod aside;
mod ask;
mod decide;
pub mod entities;
pub mod exclusion;
mod explain;
pub mod fusion;
pub mod intent;
pub mod lexicon;
mod parts;
mod pasted;
pub mod platforms;
mod reading;
mod roster;

pub use ask::DataNeed;
pub use decide::Basis;
pub(crate) use reading::Reading;
pub use roster::RosterWords;
pub mod syntax;
mod typos;
pub mod vocabulary;

use crate::pipeline::roster::Roster;
use explain::{Explained, confidence, reasoning};
use lexicon::{Tag, lexicon};

use super::text::Text;
use crate::config::PlannerSettings;
use crate::domain::{
    AnalysisSource, Complexity, Entities, Intent, KnowledgeRequirements, Platform, QueryAnalysis,
};

/// How firmly the text points at a platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Certainty {
    /// No word points at it.
    None,
    /// Named only where the request rules it out.
    Excluded,
    /// Only its subject words lean towards it.
    Inferred,
    /// Named only in context: inside pasted text, as a how-to's subject, or in the story around
    /// an ask that names its own sources ([`ask`]).
    Context,
    /// Named outright where the request asks for data (or by syntax, a known table, an agent's
    /// own name).
    Named,
}

/// What the text says about one platform: how firmly, with which words, and whether offered.
#[derive(Debug, Clone, PartialEq)]
pub struct PlatformEvidence {
    pub platform: Platform,
    pub certainty: Certainty,
    /// The summed weight of its subject words (outside excluded scopes).
    pub soft_score: f64,
    /// What in the query pointed here, for the reasoning.
    pub cues: Vec<Cue>,
    pub offered: bool,
    /// Named in the story around the ask or as a how-to's subject, not only in pasted text: the
    /// source the story is about when the ask names none.
    pub in_story: bool,
    /// The words that name it where data is asked for.
    pub named_words: Vec<u16>,
}

/// One piece of evidence for a platform, rendered only when the reasoning is written.
#[derive(Debug, Clone, PartialEq)]
pub enum Cue {
    /// A vocabulary word or phrase: `'splunk'`.
    Word(&'static str),
    /// A word of the query (an agent's word, a status code): `'bigquery'`.
    Text(String),
    /// A well-known table of the platform: `'SigninLogs' (kql table)`.
    Table(&'static str, &'static str),
    /// A table or index from the caller's schema hints.
    Hint(String),
    /// A distinctive word of an offered agent that names its platform.
    Agent(String, String),
    /// A product no offered agent serves.
    Unserved(&'static str),
    /// The syntax of a pasted query.
    Syntax(&'static str),
}

impl Cue {
    /// Appends the cue as the reasoning cites it: `'SigninLogs' (schema hint)`.
    fn push_to(&self, out: &mut String) {
        let quoted = |out: &mut String, w: &str| {
            out.push('\'');
            out.push_str(w);
            out.push('\'');
        };
        match self {
            Cue::Word(w) => quoted(out, w),
            Cue::Text(w) => quoted(out, w),
            Cue::Table(t, p) => {
                quoted(out, t);
                out.push_str(" (");
                out.push_str(p);
                out.push_str(" table)");
            }
            Cue::Hint(n) => {
                quoted(out, n);
                out.push_str(" (schema hint)");
            }
            Cue::Agent(w, a) => {
                quoted(out, w);
                out.push_str(" (agent ");
                out.push_str(a);
                out.push(')');
            }
            Cue::Unserved(w) => {
                quoted(out, w);
                out.push_str(" (no agent offered)");
            }
            Cue::Syntax(s) => out.push_str(s),
        }
    }
}

/// What the text says about errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorEvidence {
    /// Error words, 5xx codes, a failure that is not a login's: error knowledge helps.
    Stated,
    /// Failures of logins or access (401/403), or errors ruled out: a security or other
    /// question, not error patterns.
    Denied,
    /// Vague trouble words (`issue`, `slow`, 4xx): a model may decide.
    Weak,
    /// Nothing about errors.
    None,
}

/// The keyword analysis together with the evidence behind it.
#[derive(Debug, Clone, PartialEq)]
pub struct KeywordAnalysis {
    pub analysis: QueryAnalysis,
    /// Every platform with any evidence, and every offered one, firmest first.
    pub platforms: Vec<PlatformEvidence>,
    pub error: ErrorEvidence,
    /// Intent scores, highest first.
    pub intent_scores: Vec<(Intent, f64)>,
    /// The request links sources: a comparison, a correlation, a cause, a trail across them.
    pub links_sources: bool,
    /// What the platform decision rests on.
    pub basis: Basis,
    /// Whether the request asks for data, for knowledge only, or neither outright.
    pub data: DataNeed,
    /// Whether the text settles if data is wanted ([`ask::Asks::data_is_settled`], or a pasted
    /// query, a table, an agent's name).
    pub data_settled: bool,
}

impl KeywordAnalysis {
    /// Platforms named outright (outside excluded scopes).
    pub fn named_platforms(&self) -> impl Iterator<Item = &Platform> {
        self.with(Certainty::Named)
    }

    /// Platforms the request rules out.
    pub fn excluded_platforms(&self) -> impl Iterator<Item = &Platform> {
        self.with(Certainty::Excluded)
    }

    fn with(&self, c: Certainty) -> impl Iterator<Item = &Platform> {
        self.platforms
            .iter()
            .filter(move |e| e.certainty == c)
            .map(|e| &e.platform)
    }

    /// The evidence for `platform`, if any was found or it is offered.
    pub fn evidence_for(&self, platform: &Platform) -> Option<&PlatformEvidence> {
        self.platforms.iter().find(|e| &e.platform == platform)
    }

    /// No word points at any platform: the platform came from the defaults.
    pub fn blind(&self) -> bool {
        self.basis.blind()
    }

    /// Whether the text says its intent outright: two ordinary cues at least, and one more
    /// than any other intent has.
    pub fn intent_is_explicit(&self) -> bool {
        match self.intent_scores.as_slice() {
            [] => false,
            [(_, best)] => *best >= EXPLICIT_INTENT,
            [(_, best), (_, next), ..] => *best >= EXPLICIT_INTENT && best - next >= 1.0,
        }
    }
}

/// The intent score at which the text says its intent outright: two ordinary cues.
const EXPLICIT_INTENT: f64 = 2.0;

/// Soft evidence at which the text *describes* a platform rather than touching it with one
/// stray word; only then may it join platforms named outright.
pub const DESCRIBED: f64 = 1.5;

/// A soft score at least this fraction of the best one is a comparable candidate.
pub const COMPARABLE: f64 = 0.5;

/// Options of the analysis that come from configuration.
#[derive(Debug, Clone)]
pub struct AnalyzerOptions {
    /// Platforms to fall back on, in order, when a query carries no platform evidence at all.
    pub default_platforms: Vec<Platform>,
}

impl From<&PlannerSettings> for AnalyzerOptions {
    fn from(s: &PlannerSettings) -> Self {
        AnalyzerOptions {
            default_platforms: s.default_platforms.clone(),
        }
    }
}

/// Adds `item` to `list` unless it is there already (ignoring ASCII case).
pub(super) fn push_unique(list: &mut Vec<String>, item: &str) {
    if !list.iter().any(|x| x.eq_ignore_ascii_case(item)) {
        list.push(item.to_string());
    }
}

/// Analyses `query` with keyword rules only. Pure and cheap: always run, model or not.
pub fn analyze(query: &str, ctx: &Roster, opts: &AnalyzerOptions) -> KeywordAnalysis {
    analyze_text(&mut Text::new(query), ctx, opts)
}

/// As [`analyze`], for a query the caller has tokenized and keeps (typo corrections are made
/// in `text`, for the stages after).
pub fn analyze_text(text: &mut Text<'_>, ctx: &Roster, opts: &AnalyzerOptions) -> KeywordAnalysis {
    let lex = lexicon();
    lex.correct(text);
    let text: &Text = text;
    let forms = text.forms();
    let scan = lex.scan(text, &forms);
    let excluded = exclusion::scopes(text, &forms, &scan, lex);
    let r = Reading::new(text, &forms, &scan.hits, &excluded, lex);
    let status = syntax::status_codes(text, &forms, &scan.hits, lex);
    let mut entities = Entities::default();
    let found = platforms::evidence(&r, ctx, &status, &mut entities);
    let mut characteristics = intent::characteristics(&r);
    let links_sources =
        characteristics.has_joins || r.has(Tag::Causal) || r.has(Tag::Investigative);
    let offered = ctx.offered_platforms();
    let mut evidence = found.evidence;
    let decision = decide::decide(&evidence, offered, links_sources, r.asks.data, opts);
    let required = decision.platforms;
    let data_settled = r.asks.data_is_settled()
        || (r.asks.data == DataNeed::Implied
            && evidence.iter().any(|e| e.certainty == Certainty::Named));
    // Offered platforms without evidence are listed too, for the record and for fusion.
    for p in offered {
        if !evidence.iter().any(|e| &e.platform == p) {
            evidence.push(PlatformEvidence {
                platform: p.clone(),
                certainty: Certainty::None,
                soft_score: 0.0,
                cues: Vec::new(),
                offered: true,
                in_story: false,
                named_words: Vec::new(),
            });
        }
    }
    for e in &mut evidence {
        e.offered = offered.contains(&e.platform);
    }
    evidence.sort_by(|a, b| {
        b.certainty
            .cmp(&a.certainty)
            .then(b.soft_score.total_cmp(&a.soft_score))
    });

    entities.fields = entities::fields(text, &forms);
    entities.time_range = entities::time_range(text, &forms);
    entities.error_codes = entities::error_codes(text, &forms);
    let (error, error_cue) = intent::error_evidence(&r, &status, &entities.error_codes);
    let mut intent_scores = intent::intent_scores(&r, &status, &error, required.len());
    intent_scores.sort_by(|a, b| b.1.total_cmp(&a.1));
    let intent = intent::pick_intent(&intent_scores, &required);

    if required.len() > 1 {
        characteristics.has_joins = true;
    }
    let complexity = intent::complexity(&mut characteristics, &required, &entities, text);
    let sop_ruled_out = r
        .tagged()
        .any(|(h, t)| t == Tag::Sop && excluded.rules_out(h));
    // Procedures help every investigation; a plain business total needs none.
    let plain_total = intent == Intent::Analytics && complexity == Complexity::Simple;
    let knowledge = KnowledgeRequirements {
        requires_sop: !(sop_ruled_out || plain_total),
        requires_error_knowledge: error == ErrorEvidence::Stated,
        requires_schema: !entities.tables.is_empty()
            || !entities.indexes.is_empty()
            || !entities.fields.is_empty()
            || required.contains(&Platform::Sql)
            || required.iter().any(|p| ctx.schema_hints().contains_key(p))
            || characteristics.has_joins,
        requires_wiki: r.has(Tag::Wiki),
    };
    let confidence = confidence(&evidence, &required, &intent_scores);
    let reasoning = reasoning(&Explained {
        evidence: &evidence,
        required: &required,
        note: decision.basis.note(),
        intent,
        intents: &intent_scores,
        error,
        error_cue,
        corrections: text
            .corrections()
            .map(|(from, to)| format!("'{from}' as '{to}'"))
            .collect(),
        syntax: found.syntax,
    });
    KeywordAnalysis {
        analysis: QueryAnalysis {
            intent,
            complexity,
            required_platforms: required,
            confidence,
            reasoning,
            entities,
            knowledge_requirements: knowledge,
            query_characteristics: characteristics,
            source: AnalysisSource::Fallback,
            fallback_reason: None,
            clauses: parts::clauses(text, &forms, &evidence, r.has(Tag::Join)),
        },
        platforms: evidence,
        error,
        intent_scores,
        links_sources,
        basis: decision.basis,
        data: r.asks.data,
        data_settled,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::testing::{ctx, keywords};

    #[test]
    fn the_reasoning_cites_the_evidence() {
        let a = keywords(
            "shw azure app insghts exceptons for the billing api",
            &ctx(&["kql", "spl", "sql"]),
        );
        let r = &a.analysis.reasoning;
        assert!(r.contains("kql ('azure'"), "{r}");
        assert!(r.contains("'insghts' as 'insights'"), "{r}");
        assert!(
            a.analysis.knowledge_requirements.requires_error_knowledge,
            "{r}"
        );
    }

    #[test]
    fn certainty_is_reported_per_platform() {
        let a = keywords(
            "Pull the Entra sign-in failures for dave, but not from Splunk",
            &ctx(&["kql", "spl", "sql"]),
        );
        assert_eq!(a.named_platforms().collect::<Vec<_>>(), [&Platform::Kql]);
        assert_eq!(a.excluded_platforms().collect::<Vec<_>>(), [&Platform::Spl]);
        assert_eq!(a.analysis.required_platforms, [Platform::Kql]);
        assert!(
            a.analysis.reasoning.contains("ruled out: spl"),
            "{}",
            a.analysis.reasoning
        );
    }

    #[test]
    fn a_hinted_table_spelled_out_in_words_names_its_platform() {
        let mut o = crate::pipeline::testing::offered(&["kql", "spl", "sql"]);
        o.schema_hints.insert(
            Platform::Spl,
            crate::domain::SchemaHint {
                tables: vec!["VpnGatewayEvents".into(), "Badges".into()],
                indexes: vec![],
            },
        );
        let c = crate::pipeline::roster::Roster::new(o);
        for query in [
            "count vpn gateway events by hour",
            "Count VPN Gateway Events by hour",
        ] {
            let a = keywords(query, &c);
            assert_eq!(
                a.named_platforms().collect::<Vec<_>>(),
                [&Platform::Spl],
                "{query}"
            );
            assert_eq!(a.analysis.entities.tables, ["VpnGatewayEvents"], "{query}");
        }
        // Its words out of order, or one of them missing, spell nothing.
        for query in [
            "count gateway vpn events by hour",
            "count vpn events by hour",
        ] {
            let a = keywords(query, &c);
            assert!(a.analysis.entities.tables.is_empty(), "{query}");
        }
    }

    #[test]
    fn a_request_without_evidence_is_blind() {
        let a = keywords("what happened to bob yesterday", &ctx(&["kql", "spl"]));
        assert!(a.blind());
        assert!(!keywords("show azure sign-ins", &ctx(&["kql"])).blind());
    }
}
