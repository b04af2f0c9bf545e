//! The fusion's rules, one request at a time.

use super::*;
use crate::pipeline::testing::{ctx, keywords};

fn answer(platforms: &[&str], intent: Intent, err: bool) -> ModelAnswer {
    ModelAnswer {
        wants_data: Some(true),
        platforms: Some(
            platforms
                .iter()
                .filter_map(|p| Platform::parse(p))
                .collect(),
        ),
        intent: Some(intent),
        error_knowledge: Some(err),
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
        &c, Asked::ALL,
    )
    .unwrap();
    assert_eq!(
        ok.platforms,
        Some(vec![Platform::Kql, Platform::Other("promql".into())])
    );
    assert_eq!(ok.dropped_platforms, ["mongo"]);
    let long = parse_answer(
        "{\"needs_data\": false, \"platforms\": [], \"intent\": \"security\", \"error_knowledge\": true, \"confidence\": 0.9}",
        &c, Asked::ALL,
    )
    .unwrap();
    assert_eq!(
        (long.error_knowledge, long.wants_data),
        (Some(true), Some(false))
    );
    let stopped = parse_answer(
        "{\"data\":true,\"p\":[\"kql\"],\"i\":\"security\",\"error\":false",
        &c,
        Asked::ALL,
    )
    .unwrap();
    assert_eq!(
        stopped.platforms,
        Some(vec![Platform::Kql]),
        "the stop sequence ate the brace"
    );

    let cut = parse_answer("{\"p\": [\"kql\"], \"i\": \"mon", &c, Asked::ALL).unwrap_err();
    assert!(matches!(cut, AnswerError::Unparseable(_)), "{cut:?}");
    let wrong = parse_answer(
        "{\"data\": true, \"p\": [], \"i\": \"weather\", \"e\": false}",
        &c,
        Asked::ALL,
    )
    .unwrap_err();
    assert!(matches!(wrong, AnswerError::Invalid(_)), "{wrong:?}");
    let silent = parse_answer(
        "{\"p\": [\"kql\"], \"i\": \"security\", \"e\": false}",
        &c,
        Asked::ALL,
    )
    .unwrap_err();
    assert!(
        matches!(silent, AnswerError::Invalid(_)),
        "the data question must be answered: {silent:?}"
    );
}

#[test]
fn the_grammar_allows_exactly_the_compact_answer() {
    let g = answer_grammar(&ctx(&["kql", "promql"]), Asked::ALL);
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
    let s = answer_schema(&ctx(&["kql", "promql"]), Asked::ALL);
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

#[test]
fn only_what_is_open_is_asked_and_required() {
    let c = ctx(&["kql", "spl"]);
    let intent_only = Asked {
        data: false,
        platforms: false,
        intent: true,
        error_knowledge: false,
    };
    let g = answer_grammar(&c, intent_only);
    assert!(g.starts_with(r#"root ::= "{\"i\":" intent "}""#), "{g}");
    let s = answer_schema(&c, intent_only);
    assert_eq!(s["required"], serde_json::json!(["i"]));
    assert_eq!(s["properties"].as_object().map(|p| p.len()), Some(1), "{s}");
    // Data is asked with the platforms, so that the answer can be checked against itself.
    let open = Open {
        data: true,
        ..Open::default()
    };
    assert_eq!(Asked::of(&open).keys().collect::<Vec<_>>(), ["data", "p"]);

    let answer = parse_answer(r#"{"i":"security"}"#, &c, intent_only).unwrap();
    assert_eq!(answer.intent, Some(Intent::Security));
    assert_eq!((answer.wants_data, &answer.platforms), (None, &None));
    let missing = parse_answer(r#"{"data":true}"#, &c, Asked::of(&open)).unwrap_err();
    assert!(matches!(missing, AnswerError::Invalid(m) if m.contains('p')));

    // An answer about the intent alone changes the intent and nothing else.
    let q = "anything odd with carol's account this morning";
    let kw = keywords(q, &ctx(&ALL));
    let before = kw.analysis.clone();
    let a = fuse(kw, &answer, AnalysisSource::Llm);
    assert_eq!(a.intent, Intent::Security);
    assert_eq!(a.required_platforms, before.required_platforms);
    assert_eq!(
        a.knowledge_requirements.requires_error_knowledge,
        before.knowledge_requirements.requires_error_knowledge
    );
    assert!(
        a.reasoning
            .ends_with("; model: security (model decided intent)"),
        "{}",
        a.reasoning
    );
}
