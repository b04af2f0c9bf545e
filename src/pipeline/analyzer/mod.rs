//! Keyword analysis of a query: platforms, intent, entities, knowledge needs, characteristics.
//!
//! Evidence comes in two strengths. *Hard* evidence names a platform outright: a product or
//! language name (`Splunk`, `Azure AD`, `database`), query syntax (`index=`), a table or index from
//! the caller's `schema_hints`, a well-known table of the platform (`SigninLogs`), or a distinctive
//! word of an offered agent's name for a platform we have no vocabulary for. *Soft* evidence is
//! the platform's subject vocabulary (firewalls and routers lean Splunk, invoices and customers
//! lean SQL). Hard evidence decides on its own and may select several platforms, offered or not
//! (an unoffered one becomes a warning later). Without hard evidence the soft scores choose among
//! the offered platforms. Only a query with no evidence at all falls back to a default.
//!
//! The result also keeps the evidence itself ([`KeywordAnalysis`]) so a model's answer can be
//! fused with it ([`fusion`]) without overruling what the text states plainly.
//!
//! - [`vocabulary`]: the word lists (data only).
//! - [`platforms`]: the platform evidence passes and the platform decision.
//! - [`intent`]: intent, error knowledge, characteristics and complexity.
//! - [`entities`]: fields and time ranges.
//! - [`fusion`]: a model's answer parsed, validated and fused with the keyword analysis.

pub mod entities;
pub mod fusion;
pub mod intent;
pub mod platforms;
pub mod vocabulary;

use super::text::Text;
use crate::config::PlannerSettings;
use crate::domain::{
    AnalysisSource, Complexity, Intent, KnowledgeRequirements, PlanningContext, Platform,
    QueryAnalysis,
};
use vocabulary::{INVESTIGATIVE, WIKI};

/// How firmly the text points at something.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Strength {
    None,
    Soft,
    Hard,
}

/// What the text says about one platform: how firmly, with which words, and whether offered.
#[derive(Debug, Clone, PartialEq)]
pub struct PlatformEvidence {
    pub platform: Platform,
    pub strength: Strength,
    pub soft_score: f64,
    /// Words of the query that pointed here, for the reasoning.
    pub cues: Vec<String>,
    pub offered: bool,
}

/// What the text says about errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorEvidence {
    /// Error vocabulary: errors, exceptions, crashes, deadlocks, a failure that is not a login's.
    Hard,
    /// Only failures of logins, sign-ins, sudo and the like: security events, not error patterns.
    AuthFailureOnly,
    /// Vague trouble words (`issue`, `slow`, `not working`): a model may decide.
    Weak,
    None,
}

/// The keyword analysis together with the evidence behind it.
#[derive(Debug, Clone, PartialEq)]
pub struct KeywordAnalysis {
    pub analysis: QueryAnalysis,
    /// Every platform with any evidence, and every offered one, strongest first.
    pub platforms: Vec<PlatformEvidence>,
    pub error: ErrorEvidence,
    /// Intent scores, highest first.
    pub intent_scores: Vec<(Intent, f64)>,
}

impl KeywordAnalysis {
    pub fn hard_platforms(&self) -> impl Iterator<Item = &Platform> {
        self.platforms
            .iter()
            .filter(|e| e.strength == Strength::Hard)
            .map(|e| &e.platform)
    }

    pub fn evidence_for(&self, platform: &Platform) -> Option<&PlatformEvidence> {
        self.platforms.iter().find(|e| &e.platform == platform)
    }

    /// Whether the text says almost nothing about the intent (the best score is below one
    /// ordinary cue).
    pub fn intent_is_vague(&self) -> bool {
        self.intent_scores
            .first()
            .is_none_or(|(_, best)| *best < 1.0)
    }
}

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
pub fn analyze(query: &str, ctx: &PlanningContext, opts: &AnalyzerOptions) -> KeywordAnalysis {
    analyze_text(&Text::new(query), ctx, opts)
}

/// As [`analyze`], for a query the caller has tokenized already (and reuses).
pub fn analyze_text(text: &Text, ctx: &PlanningContext, opts: &AnalyzerOptions) -> KeywordAnalysis {
    let mut entities = crate::domain::Entities::default();
    let mut platforms = platforms::evidence(text, ctx, &mut entities);
    let characteristics = intent::characteristics(text);
    let offered = ctx.offered_platforms();
    let investigative = characteristics.has_joins || INVESTIGATIVE.iter().any(|t| text.has(t));
    let (required, platform_note) = platforms::decide(&platforms, &offered, investigative, opts);
    // Offered platforms without evidence are listed too, for the record and for fusion.
    for p in &offered {
        if !platforms.iter().any(|e| &e.platform == p) {
            platforms.push(PlatformEvidence {
                platform: p.clone(),
                strength: Strength::None,
                soft_score: 0.0,
                cues: Vec::new(),
                offered: true,
            });
        }
    }
    for e in &mut platforms {
        e.offered = offered.contains(&e.platform);
    }
    platforms.sort_by(|a, b| {
        b.strength
            .cmp(&a.strength)
            .then(b.soft_score.total_cmp(&a.soft_score))
    });

    entities.fields = entities::fields(text);
    entities.time_range = entities::time_range(text);
    let (error, error_cue) = intent::error_evidence(text);
    let mut intent_scores = intent::intent_scores(text, &error, required.len());
    intent_scores.sort_by(|a, b| b.1.total_cmp(&a.1));
    let intent = intent::pick_intent(&intent_scores, &required);

    let mut characteristics = characteristics;
    if required.len() > 1 {
        characteristics.has_joins = true;
    }
    let complexity = intent::complexity(&mut characteristics, &required, &entities, text);
    let knowledge = KnowledgeRequirements {
        requires_sop: !(intent == Intent::Analytics && complexity == Complexity::Simple),
        requires_error_knowledge: error == ErrorEvidence::Hard,
        requires_schema: !entities.tables.is_empty()
            || !entities.indexes.is_empty()
            || !entities.fields.is_empty()
            || required.contains(&Platform::Sql)
            || required.iter().any(|p| ctx.schema_hints.contains_key(p))
            || characteristics.has_joins,
        requires_wiki: WIKI.iter().any(|w| text.has(w)),
    };
    let confidence = confidence(&platforms, &required, &intent_scores);
    let reasoning = reasoning(
        &platforms,
        &required,
        platform_note,
        intent,
        &intent_scores,
        &error,
        error_cue,
    );
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
        },
        platforms,
        error,
        intent_scores,
    }
}

fn confidence(
    evidence: &[PlatformEvidence],
    required: &[Platform],
    intents: &[(Intent, f64)],
) -> f64 {
    let strengths: Vec<Strength> = required
        .iter()
        .map(|p| {
            evidence
                .iter()
                .find(|e| &e.platform == p)
                .map_or(Strength::None, |e| e.strength)
        })
        .collect();
    let mut c: f64 = if required.is_empty() {
        0.3
    } else if strengths.iter().all(|s| *s == Strength::Hard) {
        0.9
    } else if strengths.iter().all(|s| *s >= Strength::Soft) {
        0.7
    } else {
        0.35
    };
    let margin = match intents {
        [(_, a), (_, b), ..] => a - b,
        _ => 0.0,
    };
    if margin < 1.0 {
        c -= 0.05;
    }
    (c * 100.0).round() / 100.0
}

fn reasoning(
    evidence: &[PlatformEvidence],
    required: &[Platform],
    note: &str,
    intent: Intent,
    intents: &[(Intent, f64)],
    error: &ErrorEvidence,
    error_cue: Option<String>,
) -> String {
    let mut parts = Vec::new();
    let platforms: Vec<String> = required
        .iter()
        .map(|p| match evidence.iter().find(|e| &e.platform == p) {
            Some(e) if !e.cues.is_empty() => {
                let cues: Vec<&str> = e.cues.iter().take(3).map(String::as_str).collect();
                format!("{p} ({})", cues.join(", "))
            }
            _ => p.to_string(),
        })
        .collect();
    if platforms.is_empty() {
        parts.push(format!("platforms: {note}"));
    } else {
        parts.push(format!("platforms {note}: {}", platforms.join("; ")));
    }
    let score = intents.first().map_or(0.0, |s| s.1);
    parts.push(format!("intent {} (score {score:.1})", intent.as_str()));
    match (error, error_cue) {
        (ErrorEvidence::Hard, Some(cue)) => parts.push(format!("error knowledge: '{cue}'")),
        (ErrorEvidence::AuthFailureOnly, _) => {
            parts.push("failures are authentication events, not errors".to_string())
        }
        _ => {}
    }
    parts.join("; ")
}
