//! What the analysis says about itself: its confidence, and the reasoning line that cites the
//! evidence behind each decision.

use super::{Certainty, ErrorEvidence, PlatformEvidence};
use crate::domain::{Intent, Platform};

pub(super) fn confidence(
    evidence: &[PlatformEvidence],
    required: &[Platform],
    intents: &[(Intent, f64)],
) -> f64 {
    let certainties: Vec<Certainty> = required
        .iter()
        .map(|p| {
            evidence
                .iter()
                .find(|e| &e.platform == p)
                .map_or(Certainty::None, |e| e.certainty)
        })
        .collect();
    let mut c: f64 = if required.is_empty() {
        0.3
    } else if certainties.iter().all(|s| *s == Certainty::Named) {
        0.9
    } else if certainties.iter().all(|s| *s >= Certainty::Inferred) {
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

/// What the reasoning line explains.
pub(super) struct Explained<'a> {
    pub(super) evidence: &'a [PlatformEvidence],
    pub(super) required: &'a [Platform],
    pub(super) note: &'static str,
    pub(super) intent: Intent,
    pub(super) intents: &'a [(Intent, f64)],
    pub(super) error: ErrorEvidence,
    pub(super) error_cue: Option<String>,
    pub(super) corrections: Vec<String>,
    pub(super) syntax: Option<&'static str>,
}

pub(super) fn reasoning(x: &Explained<'_>) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(160);
    if let Some(syntax) = x.syntax {
        out.push_str("the request is a query (");
        out.push_str(syntax);
        out.push_str("); ");
    }
    if x.required.is_empty() {
        out.push_str("platforms: ");
        out.push_str(x.note);
    } else {
        out.push_str("platforms ");
        out.push_str(x.note);
        out.push_str(": ");
        for (n, p) in x.required.iter().enumerate() {
            if n > 0 {
                out.push_str("; ");
            }
            out.push_str(p.as_str());
            if let Some(e) = x.evidence.iter().find(|e| &e.platform == p)
                && !e.cues.is_empty()
            {
                out.push_str(" (");
                for (k, cue) in e.cues.iter().take(3).enumerate() {
                    if k > 0 {
                        out.push_str(", ");
                    }
                    cue.push_to(&mut out);
                }
                out.push(')');
            }
        }
    }
    let mut excluded = x
        .evidence
        .iter()
        .filter(|e| e.certainty == Certainty::Excluded)
        .peekable();
    if excluded.peek().is_some() {
        out.push_str("; ruled out: ");
        for (k, e) in excluded.enumerate() {
            if k > 0 {
                out.push_str(", ");
            }
            out.push_str(e.platform.as_str());
        }
    }
    // `+ 0.0` turns a negative zero (weights that cancel) into `0.0`.
    let score = x.intents.first().map_or(0.0, |s| s.1) + 0.0;
    out.push_str("; intent ");
    out.push_str(x.intent.as_str());
    let _ = write!(out, " (score {score:.1})");
    match (x.error, &x.error_cue) {
        (ErrorEvidence::Stated, Some(cue)) => {
            out.push_str("; error knowledge: '");
            out.push_str(cue);
            out.push('\'');
        }
        (ErrorEvidence::Denied, Some(cue)) => {
            out.push_str("; not error patterns: ");
            out.push_str(cue);
        }
        _ => {}
    }
    if !x.corrections.is_empty() {
        out.push_str("; read ");
        out.push_str(&x.corrections.join(", "));
    }
    out
}
