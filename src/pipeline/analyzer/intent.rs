//! Intent, error knowledge and the shape of the data work: what the request is for, whether it
//! is about software errors, and how complex it is.

use super::ask::{DataNeed, Role};
use super::lexicon::Tag;
use super::syntax::StatusCodes;
use super::{ErrorEvidence, Reading};
use crate::domain::{Complexity, Entities, Intent, Platform, QueryCharacteristics};
use crate::pipeline::text::Text;

/// What the text says about errors, and what said it. Errors in the story around an ask
/// (`last time the outage report was wrong. Check …`) are only vague trouble; errors in pasted
/// text are the subject, and an error code asked about (`what does HTTP 429 mean`,
/// `error ORA-01555`, [`super::entities::error_codes`]) is one.
pub(super) fn error_evidence(
    r: &Reading,
    status: &StatusCodes,
    error_codes: &[String],
) -> (ErrorEvidence, Option<String>) {
    let describes_denial = |at: u16| status.consumed.contains(&(at as usize));
    let in_story = |at: u16| {
        matches!(r.asks.role(at as usize), Role::Context | Role::Aside)
            && r.asks.data == DataNeed::Asked
    };
    let mut story_trouble = false;
    for (hit, tag) in r.wanted() {
        if tag != Tag::Error || describes_denial(hit.at) {
            continue;
        }
        if in_story(hit.at) {
            story_trouble = true;
            continue;
        }
        return (ErrorEvidence::Stated, Some(r.cue(hit).to_string()));
    }
    if let Some(code) = status.client_errors.first()
        && r.asks.data == DataNeed::NotWanted
    {
        return (
            ErrorEvidence::Stated,
            Some(format!("HTTP {code} asked about")),
        );
    }
    if let Some(code) = status.server_errors.first() {
        return (ErrorEvidence::Stated, Some(format!("HTTP {code}")));
    }
    let failures: Vec<u16> = r
        .wanted()
        .filter(|(_, t)| *t == Tag::Failure)
        .map(|(h, _)| h.at)
        .collect();
    if let Some(&at) = failures
        .iter()
        .find(|&&at| !r.near(at as usize, 3, |t| t == Tag::Auth))
    {
        return (
            ErrorEvidence::Stated,
            Some(r.forms[at as usize].to_string()),
        );
    }
    // An error code asked about or named beside an ask (`error ORA-01555`) is an error to
    // know about, whatever else the text says.
    if let Some(code) = error_codes.first() {
        return (ErrorEvidence::Stated, Some(format!("error code {code}")));
    }
    if !failures.is_empty() {
        return (
            ErrorEvidence::Denied,
            Some("failures are authentication events".into()),
        );
    }
    if let Some(code) = status.access_denied.first() {
        return (
            ErrorEvidence::Denied,
            Some(format!("HTTP {code} is an access question")),
        );
    }
    let ruled_out = r
        .tagged()
        .any(|(h, t)| t == Tag::Error && r.excluded.rules_out(h));
    if ruled_out {
        return (ErrorEvidence::Denied, Some("errors are ruled out".into()));
    }
    if story_trouble || r.has(Tag::Trouble) || !status.client_errors.is_empty() {
        return (ErrorEvidence::Weak, None);
    }
    (ErrorEvidence::None, None)
}

/// Each intent's score: its words (each word once, at its highest weight) and what the errors
/// and status codes say.
pub(super) fn intent_scores(
    r: &Reading,
    status: &StatusCodes,
    error: &ErrorEvidence,
    platforms: usize,
) -> Vec<(Intent, f64)> {
    let sums = word_scores(r);
    let failures = r.has(Tag::Failure);
    Intent::ALL
        .iter()
        .map(|&intent| {
            let mut score = sums[intent as usize];
            match intent {
                // A failure next to a login is an authentication event; elsewhere it is an error.
                Intent::Security if *error == ErrorEvidence::Denied && failures => score += 2.0,
                Intent::Security if !status.access_denied.is_empty() => score += 2.0,
                Intent::Diagnostic
                    if *error == ErrorEvidence::Stated
                        && (failures || !status.server_errors.is_empty()) =>
                {
                    score += 2.0
                }
                Intent::Investigation if platforms > 1 => score += 1.5,
                _ => {}
            }
            (intent, score)
        })
        .collect()
}

/// Each intent's words' weights, summed (indexed by `intent as usize`): a word that matches
/// several of an intent's terms counts once, at its highest weight.
pub(super) fn word_scores(r: &Reading) -> [f64; Intent::ALL.len()] {
    let mut sums = [0.0; Intent::ALL.len()];
    let Some(by_word) = &r.by_word else {
        // A few hits: each searched among the words seen so far.
        let mut best: Vec<(Intent, u16, f64)> = Vec::new();
        for (hit, tag) in r.wanted() {
            let Tag::Intent(intent, weight) = tag else {
                continue;
            };
            match best
                .iter_mut()
                .find(|(i, at, _)| *i == intent && *at == hit.at)
            {
                Some(entry) => entry.2 = entry.2.max(weight),
                None => best.push((intent, hit.at, weight)),
            }
        }
        for (intent, _, weight) in best {
            sums[intent as usize] += weight;
        }
        return sums;
    };
    // A long request: word by word.
    for w in 0..by_word.words() {
        let mut best: [Option<f64>; Intent::ALL.len()] = [None; Intent::ALL.len()];
        for &k in by_word.at_words(w, w + 1) {
            if let Tag::Intent(intent, weight) = r.tags[k as usize] {
                let b = &mut best[intent as usize];
                *b = Some(b.map_or(weight, |b| b.max(weight)));
            }
        }
        for (sum, b) in sums.iter_mut().zip(best) {
            *sum += b.unwrap_or(0.0);
        }
    }
    sums
}

/// The intent with the best score; ties go to the more specific intent.
pub(super) fn pick_intent(scores: &[(Intent, f64)], required: &[Platform]) -> Intent {
    const PRIORITY: [Intent; 5] = [
        Intent::Security,
        Intent::Diagnostic,
        Intent::Investigation,
        Intent::Monitoring,
        Intent::Analytics,
    ];
    let best = scores.iter().map(|s| s.1).fold(0.0, f64::max);
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

/// Aggregation, time series and joins, from their words.
pub(super) fn characteristics(r: &Reading) -> QueryCharacteristics {
    QueryCharacteristics {
        is_aggregation: r.has(Tag::Aggregation),
        is_time_series: r.has(Tag::TimeSeries),
        has_joins: r.has(Tag::Join),
        complexity_factors: Vec::new(),
    }
}

/// How complex the work is, with the factors that made it so.
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
        (text.len() > 25, "long request"),
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

    fn error_of(q: &str) -> ErrorEvidence {
        keywords(q, &ctx(&["kql", "spl", "sql"])).error
    }

    #[test]
    fn login_failures_are_security_not_errors() {
        let a = keywords("failed logon attempts for admins", &ctx(&["kql"]));
        assert!(!a.analysis.knowledge_requirements.requires_error_knowledge);
        assert_eq!(a.error, ErrorEvidence::Denied);
        assert_eq!(a.analysis.intent, Intent::Security);
        assert_eq!(
            error_of("fehlgeschlagene Anmeldungen in Entra"),
            ErrorEvidence::Denied
        );
    }

    #[test]
    fn job_failures_and_exceptions_need_error_knowledge() {
        for q in [
            "why did the backup job fail",
            "NullReference exceptions in checkout",
            "timeouts talking to redis",
            "Zeige die Fehler im Zahlungsdienst",
            "errores del servicio de pagos",
            "les erreurs du service de paiement",
            "決済サービスのエラー",
        ] {
            let a = keywords(q, &ctx(&["kql"]));
            assert!(
                a.analysis.knowledge_requirements.requires_error_knowledge,
                "{q}: {}",
                a.analysis.reasoning
            );
            assert_eq!(a.analysis.intent, Intent::Diagnostic, "{q}");
        }
    }

    #[test]
    fn status_codes_split_server_errors_from_access_questions() {
        assert_eq!(
            error_of("a spike of 504 from the gateway"),
            ErrorEvidence::Stated
        );
        assert_eq!(
            error_of("Show 5xx responses by host"),
            ErrorEvidence::Stated
        );
        let a = keywords(
            "index=proxy status=403 | stats count by user",
            &ctx(&["spl"]),
        );
        assert_eq!(a.error, ErrorEvidence::Denied);
        assert_eq!(a.analysis.intent, Intent::Security);
        assert_eq!(
            error_of("403 errors on the admin API"),
            ErrorEvidence::Denied
        );
        assert_eq!(error_of("count 404s by page"), ErrorEvidence::Weak);
        assert_eq!(
            error_of("top 500 customers by revenue"),
            ErrorEvidence::None
        );
    }

    #[test]
    fn errors_that_are_ruled_out_do_not_ask_for_error_knowledge() {
        assert_eq!(
            error_of("batch jobs that finished without errors"),
            ErrorEvidence::Denied
        );
        assert_eq!(error_of("the checkout is slow"), ErrorEvidence::Weak);
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
