//! Parsing a model's answer and fusing it with the keyword analysis.
//!
//! The model decides what the text leaves open ([`Open`]) and nothing else:
//! - **data or not**: where the text does not settle it (a request with no ask and nothing that
//!   says data, a knowledge question with a time or a failure beside it, a request with no
//!   platform evidence), an answer that agrees with itself decides: no data and no platform
//!   makes a knowledge-only plan; data and platforms turns a knowledge plan into a data plan;
//! - **platforms**: those named where the request asks for data always stay, those it rules out
//!   never come back, and none nobody offered is ever added. Beside named ones the model may add
//!   one the text touches, where the request links sources. Without named ones it picks: among
//!   the platforms the story around the ask names, among every offered platform when the
//!   text's pick rests on nothing, among the platforms about as well supported as the best when
//!   it rests on subject words;
//! - **error knowledge**: stated errors keep it on; failed logins, access denials and vague
//!   trouble words (`issue`, `slow`, 4xx) keep it off; a request with no evidence at all leaves
//!   it to the model;
//! - **intent**: the model's unless the text says it outright
//!   ([`KeywordAnalysis::intent_is_explicit`]).
//!
//! When nothing is open, the model is not asked at all (the advisor's `not_needed`).

mod answer;
mod open;
#[cfg(test)]
mod tests;

use super::{DataNeed, KeywordAnalysis};

use crate::domain::{AnalysisSource, Complexity, Intent, Platform, QueryAnalysis};
pub use answer::{
    AnswerError, Asked, ModelAnswer, ModelAnswerWire, answer_grammar, answer_schema, parse_answer,
    platform_names,
};
use open::Choice;
pub use open::Open;

/// The model's word on data, where it agrees with itself: no data and no platform, or data and
/// some platform. An answer that says one and lists the other is not heard on this point.
fn model_data(m: &ModelAnswer) -> Option<bool> {
    match (m.wants_data?, m.platforms.as_ref()?.is_empty()) {
        (false, true) => Some(false),
        (true, false) => Some(true),
        _ => None,
    }
}

/// The analysis that results from the keyword evidence and the model's answer.
pub fn fuse(mut kw: KeywordAnalysis, m: &ModelAnswer, source: AnalysisSource) -> QueryAnalysis {
    let (open, choice) = Open::with_choice(&kw);
    // Taken, not cloned (its strings and lists, on every cache hit): what fusion reads of `kw`
    // from here on is the evidence beside it.
    let mut a = std::mem::replace(&mut kw.analysis, taken());
    a.source = source;
    a.fallback_reason = None;
    let mut notes: Vec<String> = Vec::new();
    let mut decided: Vec<&str> = Vec::new();

    let keyword = a.required_platforms.clone();
    let text_wants_data = kw.data != DataNeed::NotWanted;
    let wants_data = match model_data(m) {
        Some(wants) if open.data => wants,
        _ => text_wants_data,
    };
    let model_platforms = m.platforms.as_deref().unwrap_or_default();
    let picked = |candidates: &[Platform]| -> Vec<Platform> {
        model_platforms
            .iter()
            .filter(|p| candidates.contains(p))
            .cloned()
            .collect()
    };
    let platforms: Vec<Platform> = if !wants_data {
        if text_wants_data {
            notes.push("model: no data wanted".into());
        }
        Vec::new()
    } else {
        match &choice {
            Choice::Fixed => keyword.clone(),
            Choice::Add(extra) => {
                let mut out = keyword.clone();
                out.extend(picked(extra).into_iter().filter(|p| !keyword.contains(p)));
                out
            }
            Choice::Pick {
                candidates,
                several,
            } => {
                let picks = picked(candidates);
                match picks.first() {
                    None => keyword.clone(),
                    Some(_) if *several => picks,
                    // The model agrees with the text's pick: keep it; else the model's first.
                    Some(first) => match keyword.first().filter(|k| picks.contains(k)) {
                        Some(k) => vec![k.clone()],
                        None => vec![first.clone()],
                    },
                }
            }
        }
    };
    if platforms != keyword {
        decided.push(if wants_data != text_wants_data {
            "data"
        } else {
            "platforms"
        });
    }
    let overruled: Vec<String> = model_platforms
        .iter()
        .filter(|p| !platforms.contains(p))
        .map(|p| p.to_string())
        .collect();
    if wants_data && !overruled.is_empty() {
        notes.push(format!(
            "model's {} not supported by the text",
            overruled.join(", ")
        ));
    }
    if platforms.len() > keyword.len() && platforms.len() > 1 {
        let ch = &mut a.query_characteristics;
        ch.has_joins = true;
        let factor = format!("{} platforms", platforms.len());
        ch.complexity_factors.retain(|f| !f.ends_with(" platforms"));
        ch.complexity_factors.push(factor);
        a.complexity = match a.complexity {
            Complexity::Simple => Complexity::Moderate,
            _ => Complexity::Complex,
        };
    }
    a.required_platforms = platforms;

    let errors = &mut a.knowledge_requirements.requires_error_knowledge;
    match m.error_knowledge {
        Some(said) if open.error_knowledge => {
            if *errors != said {
                decided.push("error knowledge");
            }
            *errors = said;
        }
        Some(said) if said != *errors => notes.push("error knowledge kept from the text".into()),
        _ => {}
    }
    match m.intent {
        Some(said) if open.intent => {
            if a.intent != said {
                decided.push("intent");
            }
            a.intent = said;
        }
        Some(said) if said != a.intent => notes.push(format!(
            "intent {} kept over model's {}",
            a.intent.as_str(),
            said.as_str()
        )),
        _ => {}
    }
    if m.platforms.as_ref() == Some(&a.required_platforms)
        && m.wants_data.is_none_or(|said| said == wants_data)
    {
        a.confidence = ((a.confidence + 0.05).min(0.97) * 100.0).round() / 100.0;
    }
    if !m.dropped_platforms.is_empty() {
        notes.push(format!(
            "dropped unknown platform(s) {}",
            m.dropped_platforms.join(", ")
        ));
    }
    decided.dedup();
    if !decided.is_empty() {
        notes.push(format!("model decided {}", decided.join(", ")));
    }
    // `…; model: data, [kql, sql], security, error knowledge true (notes)`, what it was asked,
    // appended in place to the keyword reasoning: on a cache hit this runs on every request.
    let reasoning = &mut a.reasoning;
    reasoning.reserve(128);
    reasoning.push_str("; model:");
    let mut sep = " ";
    let mut said = |reasoning: &mut String, part: &str| {
        reasoning.push_str(sep);
        reasoning.push_str(part);
        sep = ", ";
    };
    if let Some(wants) = m.wants_data {
        said(reasoning, if wants { "data" } else { "no data" });
    }
    if let Some(platforms) = &m.platforms {
        let names: Vec<&str> = platforms.iter().map(Platform::as_str).collect();
        said(reasoning, &format!("[{}]", names.join(", ")));
    }
    if let Some(intent) = m.intent {
        said(reasoning, intent.as_str());
    }
    if let Some(errors) = m.error_knowledge {
        said(
            reasoning,
            if errors {
                "error knowledge true"
            } else {
                "error knowledge false"
            },
        );
    }
    if !notes.is_empty() {
        reasoning.push_str(" (");
        reasoning.push_str(&notes.join("; "));
        reasoning.push(')');
    }
    a
}

/// What [`fuse`] leaves in the keyword analysis it takes the analysis from (nothing allocated).
fn taken() -> QueryAnalysis {
    QueryAnalysis {
        intent: Intent::Investigation,
        complexity: Complexity::Simple,
        required_platforms: Vec::new(),
        confidence: 0.0,
        reasoning: String::new(),
        entities: Default::default(),
        knowledge_requirements: Default::default(),
        query_characteristics: Default::default(),
        source: AnalysisSource::Fallback,
        fallback_reason: None,
        clauses: Vec::new(),
    }
}

/// The keyword analysis, marked as a fallback for `reason`.
pub fn fallback(kw: KeywordAnalysis, reason: &str) -> QueryAnalysis {
    let mut a = kw.analysis;
    a.source = AnalysisSource::Fallback;
    a.fallback_reason = Some(reason.to_string());
    a
}

/// The keyword analysis where the model was not asked because nothing it could answer would
/// change the plan: `fallback` with the reason `not_needed`, and the reasoning says so.
pub fn not_needed(kw: KeywordAnalysis) -> QueryAnalysis {
    let mut a = fallback(kw, NOT_NEEDED);
    a.reasoning.push_str(
        "; model not asked: the text decides data, platforms, error knowledge and intent",
    );
    a
}

/// The fallback reason of an analysis the model was not needed for.
pub const NOT_NEEDED: &str = "not_needed";
