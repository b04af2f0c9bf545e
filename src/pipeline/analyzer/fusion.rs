//! Parsing a model's answer and fusing it with the keyword analysis.
//!
//! The model is a second opinion that decides where the text is uncertain and never overrules
//! what it states plainly:
//! - the keyword analysis's platforms with hard evidence (named outright, `index=`, a hinted
//!   table) are always kept; beside them, and only in a request that compares or correlates
//!   sources, the model may add a platform the text describes at length;
//! - with only vocabulary, the model picks among platforms about as well supported as the best;
//!   with no evidence at all, it decides;
//! - error knowledge: error vocabulary keeps it on, a failed *login* keeps it off; only vague
//!   trouble words (`issue`, `slow`) leave the call to the model;
//! - intent: the model's only where the text says almost nothing about it;
//! - below the minimum confidence the model changes nothing.

use serde::Deserialize;
use serde_json::Value;

use super::{COMPARABLE, DESCRIBED, ErrorEvidence, KeywordAnalysis, Strength};
use crate::domain::{AnalysisSource, Complexity, Intent, PlanningContext, Platform, QueryAnalysis};

/// The JSON the model is asked for (its schema is derived from this type).
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
pub struct ModelAnswerWire {
    pub platforms: Vec<String>,
    pub intent: Intent,
    pub error_knowledge: bool,
    pub confidence: f64,
}

/// A model answer that passed validation.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelAnswer {
    pub platforms: Vec<Platform>,
    pub intent: Intent,
    pub error_knowledge: bool,
    pub confidence: f64,
    /// Platform names the model gave that nobody knows or offers; dropped.
    pub dropped_platforms: Vec<String>,
}

/// Why a model answer could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnswerError {
    /// Not JSON at all (or cut off mid-way).
    Unparseable(String),
    /// JSON, but not the asked-for shape or out of range.
    Invalid(String),
}

impl std::fmt::Display for AnswerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AnswerError::Unparseable(m) => write!(f, "not valid JSON: {m}"),
            AnswerError::Invalid(m) => write!(f, "wrong shape: {m}"),
        }
    }
}

/// The JSON schema sent to the model: the answer type, with the platform names it may use
/// listed as an enum (the known ones and any offered ones).
pub fn answer_schema(ctx: &PlanningContext) -> Value {
    let mut settings = schemars::generate::SchemaSettings::draft07();
    settings.inline_subschemas = true;
    let schema = settings
        .into_generator()
        .into_root_schema_for::<ModelAnswerWire>();
    let mut value = schema.to_value();
    let mut names: Vec<String> = Platform::KNOWN.iter().map(|p| p.to_string()).collect();
    for p in ctx.offered_platforms() {
        if !names.contains(&p.to_string()) {
            names.push(p.to_string());
        }
    }
    if let Some(obj) = value.as_object_mut() {
        obj.remove("$schema");
        obj.insert("additionalProperties".into(), Value::Bool(false));
        if let Some(p) = obj
            .get_mut("properties")
            .and_then(|p| p.get_mut("platforms"))
        {
            // Small models loop inside open arrays; the grammar stops them at one of each.
            p["maxItems"] = Value::from(names.len());
            p["uniqueItems"] = Value::Bool(true);
            p["items"]["enum"] = Value::from(names);
        }
        if let Some(c) = obj
            .get_mut("properties")
            .and_then(|p| p.get_mut("confidence"))
        {
            c["minimum"] = Value::from(0.0);
            c["maximum"] = Value::from(1.0);
        }
    }
    value
}

/// Parses and validates a model's text. Tolerates code fences and prose around the object.
pub fn parse_answer(text: &str, ctx: &PlanningContext) -> Result<ModelAnswer, AnswerError> {
    let start = text.find('{');
    let end = text.rfind('}');
    let json = match (start, end) {
        (Some(s), Some(e)) if e > s => &text[s..=e],
        _ => {
            return Err(AnswerError::Unparseable(format!(
                "no JSON object in {:?}",
                preview(text)
            )));
        }
    };
    let wire: ModelAnswerWire = serde_json::from_str(json).map_err(|e| {
        let msg = e.to_string();
        if e.is_data() {
            AnswerError::Invalid(msg)
        } else {
            AnswerError::Unparseable(msg)
        }
    })?;
    if !(0.0..=1.0).contains(&wire.confidence) || wire.confidence.is_nan() {
        return Err(AnswerError::Invalid(format!(
            "confidence {} is outside 0..1",
            wire.confidence
        )));
    }
    let offered = ctx.offered_platforms();
    let mut platforms: Vec<Platform> = Vec::new();
    let mut dropped = Vec::new();
    for name in &wire.platforms {
        match Platform::parse(name) {
            Some(p) if Platform::KNOWN.contains(&p) || offered.contains(&p) => {
                if !platforms.contains(&p) {
                    platforms.push(p);
                }
            }
            _ => dropped.push(name.clone()),
        }
    }
    Ok(ModelAnswer {
        platforms,
        intent: wire.intent,
        error_knowledge: wire.error_knowledge,
        confidence: wire.confidence,
        dropped_platforms: dropped,
    })
}

fn preview(text: &str) -> String {
    text.chars().take(80).collect()
}

/// The analysis that results from the keyword evidence and the model's answer.
pub fn fuse(
    kw: KeywordAnalysis,
    m: &ModelAnswer,
    min_confidence: f64,
    source: AnalysisSource,
) -> QueryAnalysis {
    let mut a = kw.analysis.clone();
    a.source = source;
    a.fallback_reason = None;
    let trusted = m.confidence >= min_confidence;
    let mut notes: Vec<String> = Vec::new();

    if trusted {
        // Beside named platforms, only one the text describes at length (not one stray word
        // like "record" or "orders") may be added.
        let described = |p: &Platform| {
            kw.evidence_for(p)
                .is_some_and(|e| e.soft_score >= DESCRIBED)
        };
        let no_evidence = kw.platforms.iter().all(|e| e.strength == Strength::None);
        // Only a request that compares or correlates sources has an unnamed second side.
        let compares = a.query_characteristics.has_joins;
        let platforms: Vec<Platform> = if kw.hard_platforms().next().is_some() {
            // What the text states stays; the model may add what it describes at length.
            let mut out = a.required_platforms.clone();
            for p in &m.platforms {
                if compares && !out.contains(p) && described(p) && offered(&kw, p) {
                    out.push(p.clone());
                }
            }
            out
        } else if no_evidence && !m.platforms.is_empty() {
            m.platforms.clone()
        } else {
            // Only vocabulary: the model picks among platforms the text supports about as well
            // as the best one, never one it barely touches.
            let best = kw
                .platforms
                .iter()
                .filter(|e| e.offered)
                .map(|e| e.soft_score)
                .fold(0.0, f64::max);
            let close = |p: &Platform| {
                kw.evidence_for(p)
                    .is_some_and(|e| e.soft_score > 0.0 && e.soft_score >= COMPARABLE * best)
            };
            let agreed: Vec<Platform> = m.platforms.iter().filter(|p| close(p)).cloned().collect();
            if agreed.is_empty() {
                a.required_platforms.clone()
            } else {
                agreed
            }
        };
        let overruled: Vec<String> = m
            .platforms
            .iter()
            .filter(|p| !platforms.contains(p))
            .map(|p| p.to_string())
            .collect();
        if !overruled.is_empty() {
            notes.push(format!(
                "model's {} not supported by the text",
                overruled.join(", ")
            ));
        }
        if platforms.len() > a.required_platforms.len() && platforms.len() > 1 {
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

        if kw.error == ErrorEvidence::Weak {
            a.knowledge_requirements.requires_error_knowledge = m.error_knowledge;
        } else if m.error_knowledge != a.knowledge_requirements.requires_error_knowledge {
            notes.push("error knowledge kept from the text".into());
        }
        if kw.intent_is_vague() {
            a.intent = m.intent;
        } else if m.intent != a.intent {
            notes.push(format!(
                "intent {} kept over model's {}",
                a.intent.as_str(),
                m.intent.as_str()
            ));
        }
        let agrees = a.required_platforms == m.platforms;
        a.confidence = if agrees {
            ((a.confidence.max(m.confidence) + 0.05).min(0.97) * 100.0).round() / 100.0
        } else {
            a.confidence
        };
    } else {
        notes.push(format!(
            "model confidence {:.2} below {min_confidence:.2}; text decides",
            m.confidence
        ));
    }
    if !m.dropped_platforms.is_empty() {
        notes.push(format!(
            "dropped unknown platform(s) {}",
            m.dropped_platforms.join(", ")
        ));
    }
    let model_platforms: Vec<&str> = m.platforms.iter().map(Platform::as_str).collect();
    a.reasoning = format!(
        "{}; model ({:.2}): [{}], {}, error knowledge {}{}",
        kw.analysis.reasoning,
        m.confidence,
        model_platforms.join(", "),
        m.intent.as_str(),
        m.error_knowledge,
        if notes.is_empty() {
            String::new()
        } else {
            format!(" ({})", notes.join("; "))
        }
    );
    a
}

fn offered(kw: &KeywordAnalysis, p: &Platform) -> bool {
    kw.evidence_for(p).is_some_and(|e| e.offered)
}

/// The keyword analysis, marked as a fallback for `reason`.
pub fn fallback(kw: KeywordAnalysis, reason: &str) -> QueryAnalysis {
    let mut a = kw.analysis;
    a.source = AnalysisSource::Fallback;
    a.fallback_reason = Some(reason.to_string());
    a
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::testing::{ctx, keywords};

    fn answer(platforms: &[&str], intent: Intent, err: bool, confidence: f64) -> ModelAnswer {
        ModelAnswer {
            platforms: platforms
                .iter()
                .filter_map(|p| Platform::parse(p))
                .collect(),
            intent,
            error_knowledge: err,
            confidence,
            dropped_platforms: vec![],
        }
    }

    fn fused(q: &str, offered: &[&str], m: &ModelAnswer) -> QueryAnalysis {
        fuse(keywords(q, &ctx(offered)), m, 0.5, AnalysisSource::Llm)
    }

    #[test]
    fn hard_evidence_survives_a_model_that_forgets_it() {
        let a = fused(
            "Search Splunk for sudo failures",
            &["kql", "spl", "sql"],
            &answer(&["sql"], Intent::Analytics, true, 0.9),
        );
        assert_eq!(a.required_platforms, [Platform::Spl]);
        assert!(
            !a.knowledge_requirements.requires_error_knowledge,
            "failed sudo is not an error"
        );
        assert_eq!(a.intent, Intent::Security, "a clear keyword intent stands");
        assert!(
            a.reasoning.contains("not supported by the text"),
            "{}",
            a.reasoning
        );
    }

    #[test]
    fn the_model_can_add_a_platform_the_text_describes() {
        let a = fused(
            "Compare Azure AD risky users with our customer accounts",
            &["kql", "spl", "sql"],
            &answer(&["kql", "sql"], Intent::Investigation, false, 0.8),
        );
        assert_eq!(a.required_platforms, [Platform::Kql, Platform::Sql]);
    }

    #[test]
    fn a_stray_word_does_not_let_the_model_add_a_platform() {
        let a = fused(
            "exceptions App Insights recorded on the orders page",
            &["kql", "spl", "sql"],
            &answer(&["kql", "sql"], Intent::Diagnostic, true, 0.9),
        );
        assert_eq!(a.required_platforms, [Platform::Kql]);
    }

    #[test]
    fn without_a_comparison_the_model_adds_nothing_beside_named_platforms() {
        let a = fused(
            "newest rows of AppExceptions for the billing role in azure",
            &["kql", "spl", "sql"],
            &answer(&["kql", "sql"], Intent::Diagnostic, true, 0.9),
        );
        assert_eq!(a.required_platforms, [Platform::Kql]);
    }

    #[test]
    fn without_any_evidence_the_model_decides() {
        let a = fused(
            "what happened to bob yesterday",
            &["kql", "spl", "sql"],
            &answer(&["spl"], Intent::Investigation, false, 0.8),
        );
        assert_eq!(a.required_platforms, [Platform::Spl]);
        assert_eq!(a.source, AnalysisSource::Llm);
    }

    #[test]
    fn a_low_confidence_model_changes_nothing() {
        let q = "what happened to bob yesterday";
        let c = ctx(&["kql", "spl", "sql"]);
        let kw = keywords(q, &c);
        let before = kw.analysis.clone();
        let a = fuse(
            kw,
            &answer(&["spl"], Intent::Security, true, 0.2),
            0.5,
            AnalysisSource::Llm,
        );
        assert_eq!(a.required_platforms, before.required_platforms);
        assert_eq!(a.intent, before.intent);
    }

    #[test]
    fn vague_trouble_words_leave_error_knowledge_to_the_model() {
        let a = fused(
            "checkout on azure is not working",
            &["kql"],
            &answer(&["kql"], Intent::Diagnostic, true, 0.9),
        );
        assert!(a.knowledge_requirements.requires_error_knowledge);
    }

    #[test]
    fn answers_are_parsed_leniently_and_validated_strictly() {
        let c = ctx(&["kql", "promql"]);
        let ok = parse_answer(
            "```json\n{\"platforms\": [\"KQL\", \"promql\", \"mongo\"], \"intent\": \"monitoring\", \"error_knowledge\": false, \"confidence\": 0.7}\n```",
            &c,
        )
        .unwrap();
        assert_eq!(
            ok.platforms,
            [Platform::Kql, Platform::Other("promql".into())]
        );
        assert_eq!(ok.dropped_platforms, ["mongo"]);

        let cut = parse_answer("{\"platforms\": [\"kql\"], \"intent\": \"mon", &c).unwrap_err();
        assert!(matches!(cut, AnswerError::Unparseable(_)), "{cut:?}");
        let wrong = parse_answer("{\"platforms\": [], \"intent\": \"weather\", \"error_knowledge\": false, \"confidence\": 0.5}", &c)
            .unwrap_err();
        assert!(matches!(wrong, AnswerError::Invalid(_)), "{wrong:?}");
        let range = parse_answer("{\"platforms\": [], \"intent\": \"security\", \"error_knowledge\": false, \"confidence\": 7}", &c)
            .unwrap_err();
        assert_eq!(
            range,
            AnswerError::Invalid("confidence 7 is outside 0..1".into())
        );
    }

    #[test]
    fn the_schema_lists_the_platforms_and_has_no_refs() {
        let s = answer_schema(&ctx(&["kql", "promql"]));
        let text = s.to_string();
        assert!(!text.contains("$ref"), "{text}");
        assert_eq!(
            s["properties"]["platforms"]["items"]["enum"],
            serde_json::json!(["kql", "spl", "sql", "promql"])
        );
        assert_eq!(s["additionalProperties"], false);
        assert_eq!(s["properties"]["platforms"]["maxItems"], 4);
        assert!(
            s["properties"]["intent"]["enum"]
                .as_array()
                .is_some_and(|e| e.len() == 5),
            "{text}"
        );
    }
}
