//! Parsing a model's answer and fusing it with the keyword analysis.
//!
//! The model decides where the text is unsure and nowhere else:
//! - platforms named outright are always kept, and platforms the request rules out never come
//!   back; the model may add a platform beside named ones only where the request links sources
//!   (compare, correlate, a cause) and the text touches it with at least one subject word;
//! - with only subject words, the model picks among platforms about as well supported as the
//!   best; with no evidence at all, it decides among the offered platforms;
//! - it never adds a platform nobody offered and never empties a non-empty platform set;
//! - error knowledge: stated errors keep it on, failed logins and access denials keep it off;
//!   vague trouble words (`issue`, `slow`, 4xx), or a request with no evidence at all, leave it
//!   to the model;
//! - intent: the model's only where the text says almost nothing about it.

mod answer;

use super::{COMPARABLE, Certainty, ErrorEvidence, KeywordAnalysis};

use crate::domain::{AnalysisSource, Complexity, Intent, Platform, QueryAnalysis};
pub use answer::{
    AnswerError, ModelAnswer, ModelAnswerWire, answer_grammar, answer_schema, parse_answer,
    platform_names,
};

/// A subject-word score at which the model may add a platform beside named ones, in a request
/// that links sources: one ordinary word about it.
const MODEL_ADDS: f64 = 1.0;

/// The analysis that results from the keyword evidence and the model's answer.
pub fn fuse(mut kw: KeywordAnalysis, m: &ModelAnswer, source: AnalysisSource) -> QueryAnalysis {
    // Taken, not cloned (its strings and lists, on every cache hit): what fusion reads of `kw`
    // from here on is the evidence beside it.
    let mut a = std::mem::replace(&mut kw.analysis, taken());
    a.source = source;
    a.fallback_reason = None;
    let mut notes: Vec<String> = Vec::new();
    let mut decided: Vec<&str> = Vec::new();

    let evidence = |p: &Platform| kw.evidence_for(p);
    let soft = |p: &Platform| evidence(p).map_or(0.0, |e| e.soft_score);
    // What the model may choose: offered platforms the request does not rule out.
    let choosable: Vec<&Platform> = m
        .platforms
        .iter()
        .filter(|p| evidence(p).is_some_and(|e| e.offered && e.certainty != Certainty::Excluded))
        .collect();
    let keyword = a.required_platforms.clone();
    let platforms: Vec<Platform> = if kw.named_platforms().next().is_some() {
        let mut out = keyword.clone();
        if kw.links_sources {
            for p in &choosable {
                if !out.contains(p) && soft(p) >= MODEL_ADDS {
                    out.push((*p).clone());
                    decided.push("platforms");
                }
            }
        }
        out
    } else if kw.blind {
        match choosable.first() {
            Some(_) if kw.links_sources => choosable.iter().map(|p| (*p).clone()).collect(),
            Some(first) => vec![(*first).clone()],
            None => keyword.clone(),
        }
    } else {
        // Only subject words: the model picks among platforms the text supports about as
        // well as the best one, never one it barely touches.
        let best = kw
            .platforms
            .iter()
            .filter(|e| e.offered && e.certainty == Certainty::Inferred)
            .map(|e| e.soft_score)
            .fold(0.0, f64::max);
        let comparable: Vec<Platform> = choosable
            .iter()
            .filter(|p| soft(p) > 0.0 && soft(p) >= COMPARABLE * best)
            .map(|p| (*p).clone())
            .collect();
        match comparable.first() {
            None => keyword.clone(),
            Some(_) if kw.links_sources => comparable,
            // The model agrees with the keyword pick: keep it; else the model's first.
            Some(first) => match keyword.first().filter(|k| comparable.contains(k)) {
                Some(k) => vec![k.clone()],
                None => vec![first.clone()],
            },
        }
    };
    if platforms != keyword && kw.named_platforms().next().is_none() {
        decided.push("platforms");
    }
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

    let model_decides_errors = match kw.error {
        ErrorEvidence::Weak => true,
        ErrorEvidence::None => kw.blind,
        ErrorEvidence::Stated | ErrorEvidence::Denied => false,
    };
    if model_decides_errors {
        if a.knowledge_requirements.requires_error_knowledge != m.error_knowledge {
            decided.push("error knowledge");
        }
        a.knowledge_requirements.requires_error_knowledge = m.error_knowledge;
    } else if m.error_knowledge != a.knowledge_requirements.requires_error_knowledge {
        notes.push("error knowledge kept from the text".into());
    }
    if kw.intent_is_vague() {
        if a.intent != m.intent {
            decided.push("intent");
        }
        a.intent = m.intent;
    } else if m.intent != a.intent {
        notes.push(format!(
            "intent {} kept over model's {}",
            a.intent.as_str(),
            m.intent.as_str()
        ));
    }
    if a.required_platforms == m.platforms {
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
    // `…; model: [kql, sql], security, error knowledge true (notes)`, appended in place to the
    // keyword reasoning: on a cache hit this runs on every request, and `format!` grew a new
    // string piece by piece.
    let reasoning = &mut a.reasoning;
    reasoning.reserve(128);
    reasoning.push_str("; model: [");
    for (k, p) in m.platforms.iter().enumerate() {
        if k > 0 {
            reasoning.push_str(", ");
        }
        reasoning.push_str(p.as_str());
    }
    reasoning.push_str("], ");
    reasoning.push_str(m.intent.as_str());
    reasoning.push_str(", error knowledge ");
    reasoning.push_str(if m.error_knowledge { "true" } else { "false" });
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
    }
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

    fn answer(platforms: &[&str], intent: Intent, err: bool) -> ModelAnswer {
        ModelAnswer {
            platforms: platforms
                .iter()
                .filter_map(|p| Platform::parse(p))
                .collect(),
            intent,
            error_knowledge: err,
            dropped_platforms: vec![],
        }
    }

    fn fused(q: &str, offered: &[&str], m: &ModelAnswer) -> QueryAnalysis {
        fuse(keywords(q, &ctx(offered)), m, AnalysisSource::Llm)
    }

    const ALL: [&str; 3] = ["kql", "spl", "sql"];

    #[test]
    fn named_platforms_survive_a_model_that_forgets_them() {
        let a = fused(
            "Search Splunk for sudo failures",
            &ALL,
            &answer(&["sql"], Intent::Analytics, true),
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
    fn the_reasoning_appends_the_model_answer_and_the_notes() {
        let kw = keywords("Search Splunk for sudo failures", &ctx(&ALL));
        let text = kw.analysis.reasoning.clone();
        let a = fuse(
            kw,
            &answer(&["sql", "kql"], Intent::Analytics, true),
            AnalysisSource::Llm,
        );
        assert_eq!(
            a.reasoning,
            format!(
                "{text}; model: [sql, kql], analytics, error knowledge true (model's sql, kql not \
                 supported by the text; error knowledge kept from the text; intent security kept \
                 over model's analytics)"
            )
        );
        let kw = keywords("Search Splunk for sudo failures", &ctx(&ALL));
        let text = kw.analysis.reasoning.clone();
        let a = fuse(
            kw,
            &answer(&["spl"], Intent::Security, false),
            AnalysisSource::Llm,
        );
        assert_eq!(
            a.reasoning,
            format!("{text}; model: [spl], security, error knowledge false")
        );
    }

    #[test]
    fn the_model_can_add_a_platform_the_text_touches_where_sources_are_linked() {
        let a = fused(
            "Compare Azure AD risky users with our subscriber list",
            &ALL,
            &answer(&["kql", "sql"], Intent::Investigation, false),
        );
        assert_eq!(a.required_platforms, [Platform::Kql, Platform::Sql]);
    }

    #[test]
    fn without_linked_sources_the_model_adds_nothing_beside_named_platforms() {
        let a = fused(
            "newest rows of AppExceptions for the billing role in azure",
            &ALL,
            &answer(&["kql", "sql"], Intent::Diagnostic, true),
        );
        assert_eq!(a.required_platforms, [Platform::Kql]);
    }

    #[test]
    fn an_excluded_platform_never_comes_back() {
        let a = fused(
            "Compare Entra sign-ins with firewall denies, but not from Splunk",
            &ALL,
            &answer(&["kql", "spl", "sql"], Intent::Security, false),
        );
        assert!(
            !a.required_platforms.contains(&Platform::Spl),
            "{:?}",
            a.required_platforms
        );
    }

    #[test]
    fn without_any_evidence_the_model_decides() {
        let a = fused(
            "what happened to bob yesterday",
            &ALL,
            &answer(&["spl"], Intent::Investigation, false),
        );
        assert_eq!(a.required_platforms, [Platform::Spl]);
        assert_eq!(a.source, AnalysisSource::Llm);
        assert!(
            a.reasoning.contains("model decided platforms"),
            "{}",
            a.reasoning
        );
    }

    #[test]
    fn an_empty_answer_never_empties_the_plan() {
        for q in [
            "what happened to bob yesterday",
            "average basket price per customer",
            "show azure sign-ins",
        ] {
            let before = keywords(q, &ctx(&ALL)).analysis.required_platforms;
            let a = fused(q, &ALL, &answer(&[], Intent::Analytics, false));
            assert_eq!(a.required_platforms, before, "{q}");
        }
    }

    #[test]
    fn with_only_subject_words_the_model_chooses_among_comparable_platforms() {
        // Both lean somewhere: VPN (Splunk) and customers (SQL).
        let q = "VPN sessions of our biggest customers";
        let kw = keywords(q, &ctx(&ALL));
        let pick = kw.analysis.required_platforms.clone();
        let other = if pick == [Platform::Spl] {
            "sql"
        } else {
            "spl"
        };
        let a = fused(q, &ALL, &answer(&[other], Intent::Investigation, false));
        assert_eq!(a.required_platforms, [Platform::parse(other).unwrap()]);
        let a = fused(
            q,
            &ALL,
            &answer(&["kql", "spl", "sql"], Intent::Investigation, false),
        );
        assert_eq!(
            a.required_platforms, pick,
            "agreeing with the keyword pick keeps it"
        );
    }

    #[test]
    fn vague_trouble_words_leave_error_knowledge_to_the_model() {
        let a = fused(
            "checkout on azure is not working",
            &["kql"],
            &answer(&["kql"], Intent::Diagnostic, true),
        );
        assert!(a.knowledge_requirements.requires_error_knowledge);
        let a = fused(
            "show azure sign-ins from new countries",
            &["kql"],
            &answer(&["kql"], Intent::Diagnostic, true),
        );
        assert!(
            !a.knowledge_requirements.requires_error_knowledge,
            "no trouble words: the text decides"
        );
    }

    #[test]
    fn answers_are_parsed_leniently_and_validated_strictly() {
        let c = ctx(&["kql", "promql"]);
        let ok = parse_answer(
            "```json\n{\"p\": [\"KQL\", \"promql\", \"mongo\"], \"i\": \"monitoring\", \"e\": false}\n```",
            &c,
        )
        .unwrap();
        assert_eq!(
            ok.platforms,
            [Platform::Kql, Platform::Other("promql".into())]
        );
        assert_eq!(ok.dropped_platforms, ["mongo"]);
        let long = parse_answer(
            "{\"platforms\": [\"kql\"], \"intent\": \"security\", \"error_knowledge\": true, \"confidence\": 0.9}",
            &c,
        )
        .unwrap();
        assert!(long.error_knowledge);
        let stopped = parse_answer("{\"p\":[\"kql\"],\"i\":\"security\",\"e\":false", &c).unwrap();
        assert_eq!(
            stopped.platforms,
            [Platform::Kql],
            "the stop sequence ate the brace"
        );

        let cut = parse_answer("{\"p\": [\"kql\"], \"i\": \"mon", &c).unwrap_err();
        assert!(matches!(cut, AnswerError::Unparseable(_)), "{cut:?}");
        let wrong = parse_answer("{\"p\": [], \"i\": \"weather\", \"e\": false}", &c).unwrap_err();
        assert!(matches!(wrong, AnswerError::Invalid(_)), "{wrong:?}");
    }

    #[test]
    fn the_grammar_allows_exactly_the_compact_answer() {
        let g = answer_grammar(&ctx(&["kql", "promql"]));
        assert!(g.starts_with(r#"root ::= "{\"p\":[" (plat ("," plat)?("," plat)?("," plat)?)? "],\"i\":" intent ",\"e\":" ("true" | "false") "}""#), "{g}");
        assert!(
            g.contains(r#"plat ::= "\"kql\"" | "\"spl\"" | "\"sql\"" | "\"promql\"""#),
            "{g}"
        );
        assert!(g.contains(r#""\"investigation\"""#), "{g}");
        assert!(
            !g.contains(' ') || !g.contains(r#"" ""#),
            "no whitespace literal: {g}"
        );
    }

    #[test]
    fn the_schema_lists_the_platforms_and_has_no_refs() {
        let s = answer_schema(&ctx(&["kql", "promql"]));
        let text = s.to_string();
        assert!(!text.contains("$ref"), "{text}");
        assert_eq!(
            s["properties"]["p"]["items"]["enum"],
            serde_json::json!(["kql", "spl", "sql", "promql"])
        );
        assert_eq!(s["additionalProperties"], false);
        assert_eq!(s["properties"]["p"]["maxItems"], 4);
        assert_eq!(s["required"], serde_json::json!(["p", "i", "e"]));
        assert!(
            s["properties"]["i"]["enum"]
                .as_array()
                .is_some_and(|e| e.len() == 5),
            "{text}"
        );
    }
}
