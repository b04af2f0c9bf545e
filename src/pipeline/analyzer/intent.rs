//! Intent, error knowledge and the shape of the data work: what the request is for, whether it
//! is about software errors, and how complex it is.

use super::ErrorEvidence;
use super::vocabulary::{
    AGGREGATION, AUTH_WORDS, ERROR_HARD, ERROR_WEAK, INTENT_VOCAB, JOINS, TIME_SERIES,
};
use crate::domain::{Complexity, Entities, Intent, Platform, QueryCharacteristics};
use crate::pipeline::text::Text;

pub(super) fn error_evidence(text: &Text) -> (ErrorEvidence, Option<String>) {
    for term in ERROR_HARD {
        if text.has(term) {
            return (
                ErrorEvidence::Hard,
                Some(term.trim_end_matches('*').to_string()),
            );
        }
    }
    let failures = text.find("fail*");
    if let Some(&at) = failures.iter().find(|&&at| !text.near(at, 3, AUTH_WORDS)) {
        let word = text.tokens[at].lower.clone();
        return (ErrorEvidence::Hard, Some(word));
    }
    if !failures.is_empty() {
        return (ErrorEvidence::AuthFailureOnly, None);
    }
    if ERROR_WEAK.iter().any(|t| text.has(t)) {
        return (ErrorEvidence::Weak, None);
    }
    (ErrorEvidence::None, None)
}

pub(super) fn intent_scores(
    text: &Text,
    error: &ErrorEvidence,
    platforms: usize,
) -> Vec<(Intent, f64)> {
    INTENT_VOCAB
        .iter()
        .map(|(intent, vocab)| {
            let mut score: f64 = vocab
                .iter()
                .filter(|(t, _)| text.has(t))
                .map(|(_, w)| w)
                .sum();
            match intent {
                // A failure next to a login is an authentication event; elsewhere it is an error.
                Intent::Security if *error == ErrorEvidence::AuthFailureOnly => score += 2.0,
                Intent::Diagnostic if *error == ErrorEvidence::Hard && text.has("fail*") => {
                    score += 2.0
                }
                Intent::Investigation if platforms > 1 => score += 1.5,
                _ => {}
            }
            (*intent, score)
        })
        .collect()
}

pub(super) fn pick_intent(scores: &[(Intent, f64)], required: &[Platform]) -> Intent {
    const PRIORITY: [Intent; 5] = [
        Intent::Security,
        Intent::Diagnostic,
        Intent::Investigation,
        Intent::Monitoring,
        Intent::Analytics,
    ];
    let best = scores.first().map_or(0.0, |s| s.1);
    if best <= 0.0 {
        return match required.first() {
            Some(Platform::Sql) => Intent::Analytics,
            Some(Platform::Spl) => Intent::Monitoring,
            _ => Intent::Investigation,
        };
    }
    PRIORITY
        .into_iter()
        .find(|i| scores.iter().any(|(j, s)| j == i && *s == best))
        .unwrap_or(Intent::Investigation)
}

pub(super) fn characteristics(text: &Text) -> QueryCharacteristics {
    QueryCharacteristics {
        is_aggregation: AGGREGATION.iter().any(|t| text.has(t)),
        is_time_series: TIME_SERIES.iter().any(|t| text.has(t)),
        has_joins: JOINS.iter().any(|t| text.has(t)),
        complexity_factors: Vec::new(),
    }
}

pub(super) fn complexity(
    ch: &mut QueryCharacteristics,
    required: &[Platform],
    entities: &Entities,
    text: &Text,
) -> Complexity {
    let mut score = 0;
    let mut factors = Vec::new();
    if required.len() > 1 {
        score += 2 * (required.len() - 1);
        factors.push(format!("{} platforms", required.len()));
    }
    for (on, name) in [
        (ch.has_joins, "joins or correlation"),
        (ch.has_joins && required.len() > 1, "cross-platform join"),
        (ch.is_aggregation, "aggregation"),
        (ch.is_time_series, "time series"),
        (
            entities.tables.len() + entities.indexes.len() > 1,
            "several tables",
        ),
        (text.tokens.len() > 25, "long request"),
    ] {
        if on {
            score += 1;
            factors.push(name.to_string());
        }
    }
    ch.complexity_factors = factors;
    match score {
        0..=1 => Complexity::Simple,
        2..=3 => Complexity::Moderate,
        _ => Complexity::Complex,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::testing::{ctx, keywords};

    #[test]
    fn login_failures_are_security_not_errors() {
        let a = keywords("failed logon attempts for admins", &ctx(&["kql"]));
        assert!(!a.analysis.knowledge_requirements.requires_error_knowledge);
        assert_eq!(a.error, ErrorEvidence::AuthFailureOnly);
        assert_eq!(a.analysis.intent, Intent::Security);
    }

    #[test]
    fn job_failures_and_exceptions_need_error_knowledge() {
        for q in [
            "why did the backup job fail",
            "NullReference exceptions in checkout",
            "timeouts talking to redis",
        ] {
            let a = keywords(q, &ctx(&["kql"]));
            assert!(
                a.analysis.knowledge_requirements.requires_error_knowledge,
                "{q}"
            );
            assert_eq!(a.analysis.intent, Intent::Diagnostic, "{q}");
        }
    }

    #[test]
    fn multi_platform_correlation_is_complex_with_joins() {
        let a = keywords(
            "Correlate Splunk firewall blocks with Azure sign-in failures by IP address",
            &ctx(&["kql", "spl", "sql"]),
        );
        let ch = &a.analysis.query_characteristics;
        assert!(ch.has_joins);
        assert_eq!(a.analysis.complexity, Complexity::Complex);
        assert!(
            a.analysis.reasoning.contains("splunk"),
            "{}",
            a.analysis.reasoning
        );
        assert!(a.analysis.confidence >= 0.8);
    }
}
