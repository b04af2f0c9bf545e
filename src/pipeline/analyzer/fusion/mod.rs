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
//!   every offered platform when the text's pick rests on the story around the ask or on
//!   nothing, among the platforms about as well supported as the best when it rests on subject
//!   words;
//! - **error knowledge**: stated errors keep it on; failed logins, access denials and vague
//!   trouble words (`issue`, `slow`, 4xx) keep it off; a request with no evidence at all leaves
//!   it to the model;
//! - **intent**: the model's unless the text says it outright
//!   ([`KeywordAnalysis::intent_is_explicit`]).
//!
//! When nothing is open, the model is not asked at all (the advisor's `not_needed`).

mod answer;

use super::{
    Basis, COMPARABLE, Certainty, DataNeed, ErrorEvidence, KeywordAnalysis, PlatformEvidence,
};

use crate::domain::{AnalysisSource, Complexity, Intent, Platform, QueryAnalysis};
pub use answer::{
    AnswerError, ModelAnswer, ModelAnswerWire, answer_grammar, answer_schema, parse_answer,
    platform_names,
};

/// A subject-word score at which the model may add a platform beside named ones, in a request
/// that links sources: one ordinary word about it.
const MODEL_ADDS: f64 = 1.0;

/// What the text leaves open: the decisions a model's answer may change.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Open {
    /// Whether data is wanted at all.
    pub data: bool,
    /// Which platforms.
    pub platforms: bool,
    /// Whether error knowledge helps.
    pub error_knowledge: bool,
    /// The intent.
    pub intent: bool,
}

impl Open {
    /// What `kw`'s text leaves open.
    pub fn of(kw: &KeywordAnalysis) -> Open {
        let data = data_open(kw);
        let choice = choice(kw);
        let required = &kw.analysis.required_platforms;
        let platforms = if kw.data == DataNeed::NotWanted {
            // A knowledge question: platforms only if the model may turn it into a data one.
            data
        } else {
            match &choice {
                Choice::Fixed => false,
                Choice::Add(extra) => !extra.is_empty(),
                Choice::Pick {
                    candidates,
                    several,
                } => {
                    candidates.iter().any(|p| !required.contains(p))
                        || (*several && candidates.len() > 1)
                }
            }
        };
        Open {
            data,
            platforms,
            error_knowledge: error_open(kw),
            intent: !kw.intent_is_explicit(),
        }
    }

    /// Whether any answer could change the plan.
    pub fn any(&self) -> bool {
        self.data || self.platforms || self.error_knowledge || self.intent
    }

    /// The open decisions, as the reasoning names them.
    pub fn names(&self) -> Vec<&'static str> {
        [
            (self.data, "data"),
            (self.platforms, "platforms"),
            (self.error_knowledge, "error knowledge"),
            (self.intent, "intent"),
        ]
        .into_iter()
        .filter_map(|(open, name)| open.then_some(name))
        .collect()
    }
}

/// Whether the text leaves open if data is wanted.
fn data_open(kw: &KeywordAnalysis) -> bool {
    !kw.data_settled || kw.blind()
}

/// Whether the text leaves error knowledge open: only where it says nothing about any platform
/// either. Vague trouble (`slow`, `down`, 4xx) stays without error knowledge: on every
/// labelled request of that kind that was right, and a model asked there only ever made it
/// worse.
fn error_open(kw: &KeywordAnalysis) -> bool {
    match kw.error {
        ErrorEvidence::Weak | ErrorEvidence::None => kw.blind(),
        ErrorEvidence::Stated | ErrorEvidence::Denied => false,
    }
}

/// What the model may do with the platforms.
#[derive(Debug)]
enum Choice {
    /// The text decides.
    Fixed,
    /// The named platforms stay; the model may add any of these.
    Add(Vec<Platform>),
    /// The model picks among `candidates` (several where the request links sources); an answer
    /// with none of them keeps the text's pick.
    Pick {
        candidates: Vec<Platform>,
        several: bool,
    },
}

/// What the model may do with `kw`'s platforms.
fn choice(kw: &KeywordAnalysis) -> Choice {
    let choosable = |e: &&PlatformEvidence| e.offered && e.certainty != Certainty::Excluded;
    let required = &kw.analysis.required_platforms;
    let several = kw.links_sources;
    match kw.basis {
        Basis::Named if several => Choice::Add(
            kw.platforms
                .iter()
                .filter(choosable)
                .filter(|e| !required.contains(&e.platform))
                .filter(|e| e.certainty == Certainty::Context || e.soft_score >= MODEL_ADDS)
                .map(|e| e.platform.clone())
                .collect(),
        ),
        Basis::Named => Choice::Fixed,
        // The story's source, the knowledge question's subject, or nothing at all: any offered
        // platform may be the one.
        Basis::Story | Basis::Knowledge | Basis::Default | Basis::RuledOut | Basis::NoneOffered => {
            Choice::Pick {
                candidates: kw
                    .platforms
                    .iter()
                    .filter(choosable)
                    .map(|e| e.platform.clone())
                    .collect(),
                several,
            }
        }
        // Only subject words: the platforms the text supports about as well as the best one,
        // never one it barely touches.
        Basis::Vocabulary | Basis::Unserved => {
            let best = kw
                .platforms
                .iter()
                .filter(|e| e.offered && e.certainty == Certainty::Inferred)
                .map(|e| e.soft_score)
                .fold(0.0, f64::max);
            Choice::Pick {
                candidates: kw
                    .platforms
                    .iter()
                    .filter(choosable)
                    .filter(|e| {
                        e.certainty == Certainty::Context
                            || (e.soft_score > 0.0 && e.soft_score >= COMPARABLE * best)
                    })
                    .map(|e| e.platform.clone())
                    .collect(),
                several,
            }
        }
    }
}

/// The model's word on data, where it agrees with itself: no data and no platform, or data and
/// some platform. An answer that says one and lists the other is not heard on this point.
fn model_data(m: &ModelAnswer) -> Option<bool> {
    match (m.wants_data, m.platforms.is_empty()) {
        (false, true) => Some(false),
        (true, false) => Some(true),
        _ => None,
    }
}

/// The analysis that results from the keyword evidence and the model's answer.
pub fn fuse(mut kw: KeywordAnalysis, m: &ModelAnswer, source: AnalysisSource) -> QueryAnalysis {
    let open = Open::of(&kw);
    let choice = choice(&kw);
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
    let picked = |candidates: &[Platform]| -> Vec<Platform> {
        m.platforms
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
    let overruled: Vec<String> = m
        .platforms
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

    if open.error_knowledge {
        if a.knowledge_requirements.requires_error_knowledge != m.error_knowledge {
            decided.push("error knowledge");
        }
        a.knowledge_requirements.requires_error_knowledge = m.error_knowledge;
    } else if m.error_knowledge != a.knowledge_requirements.requires_error_knowledge {
        notes.push("error knowledge kept from the text".into());
    }
    if open.intent {
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
    if a.required_platforms == m.platforms && wants_data == m.wants_data {
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
    // `…; model: data, [kql, sql], security, error knowledge true (notes)`, appended in place
    // to the keyword reasoning: on a cache hit this runs on every request.
    let reasoning = &mut a.reasoning;
    reasoning.reserve(128);
    reasoning.push_str(if m.wants_data {
        "; model: data, ["
    } else {
        "; model: no data, ["
    });
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::testing::{ctx, keywords};

    fn answer(platforms: &[&str], intent: Intent, err: bool) -> ModelAnswer {
        ModelAnswer {
            wants_data: true,
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
                "{text}; model: data, [sql, kql], analytics, error knowledge true (model's sql, kql not \
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
            format!("{text}; model: data, [spl], security, error knowledge false")
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
    fn error_knowledge_is_the_model_s_only_where_the_text_says_nothing() {
        for q in [
            "checkout on azure is not working",
            "show azure sign-ins from new countries",
        ] {
            let a = fused(q, &["kql"], &answer(&["kql"], Intent::Diagnostic, true));
            assert!(!a.knowledge_requirements.requires_error_knowledge, "{q}");
        }
        let a = fused(
            "what happened to bob yesterday",
            &ALL,
            &answer(&["spl"], Intent::Diagnostic, true),
        );
        assert!(a.knowledge_requirements.requires_error_knowledge);
    }

    #[test]
    fn answers_are_parsed_leniently_and_validated_strictly() {
        let c = ctx(&["kql", "promql"]);
        let ok = parse_answer(
            "```json\n{\"data\": true, \"p\": [\"KQL\", \"promql\", \"mongo\"], \"i\": \"monitoring\", \"error\": false}\n```",
            &c,
        )
        .unwrap();
        assert_eq!(
            ok.platforms,
            [Platform::Kql, Platform::Other("promql".into())]
        );
        assert_eq!(ok.dropped_platforms, ["mongo"]);
        let long = parse_answer(
            "{\"needs_data\": false, \"platforms\": [], \"intent\": \"security\", \"error_knowledge\": true, \"confidence\": 0.9}",
            &c,
        )
        .unwrap();
        assert!(long.error_knowledge && !long.wants_data);
        let stopped = parse_answer(
            "{\"data\":true,\"p\":[\"kql\"],\"i\":\"security\",\"error\":false",
            &c,
        )
        .unwrap();
        assert_eq!(
            stopped.platforms,
            [Platform::Kql],
            "the stop sequence ate the brace"
        );

        let cut = parse_answer("{\"p\": [\"kql\"], \"i\": \"mon", &c).unwrap_err();
        assert!(matches!(cut, AnswerError::Unparseable(_)), "{cut:?}");
        let wrong = parse_answer(
            "{\"data\": true, \"p\": [], \"i\": \"weather\", \"e\": false}",
            &c,
        )
        .unwrap_err();
        assert!(matches!(wrong, AnswerError::Invalid(_)), "{wrong:?}");
        let silent =
            parse_answer("{\"p\": [\"kql\"], \"i\": \"security\", \"e\": false}", &c).unwrap_err();
        assert!(
            matches!(silent, AnswerError::Invalid(_)),
            "the data question must be answered: {silent:?}"
        );
    }

    #[test]
    fn the_grammar_allows_exactly_the_compact_answer() {
        let g = answer_grammar(&ctx(&["kql", "promql"]));
        assert!(g.starts_with(r#"root ::= "{\"data\":" bool ",\"p\":[" (plat ("," plat)?("," plat)?("," plat)?)? "],\"i\":" intent ",\"error\":" bool "}""#), "{g}");
        assert!(g.contains(r#"bool ::= "true" | "false""#), "{g}");
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
        assert_eq!(
            s["required"],
            serde_json::json!(["data", "p", "i", "error"])
        );
        assert!(
            s["properties"]["i"]["enum"]
                .as_array()
                .is_some_and(|e| e.len() == 5),
            "{text}"
        );
    }
}
