//! What the keyword analysis leaves open to the model, and what the model may do with the platforms.

use super::super::{
    Basis, COMPARABLE, Certainty, DataNeed, ErrorEvidence, KeywordAnalysis, PlatformEvidence,
};
use crate::domain::Platform;

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
        Open::with_choice(kw).0
    }

    /// What `kw`'s text leaves open, and what the model may do with the platforms (the fusion
    /// needs both: one reading of the evidence).
    pub(super) fn with_choice(kw: &KeywordAnalysis) -> (Open, Choice) {
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
        let open = Open {
            data,
            platforms,
            error_knowledge: error_open(kw),
            intent: !kw.intent_is_explicit(),
        };
        (open, choice)
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
pub(super) enum Choice {
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
                // Named in the story or described, never only inside pasted text (the
                // `postgres` of a pasted error is what the ask is about, not a source).
                .filter(|e| {
                    (e.certainty == Certainty::Context && e.in_story) || e.soft_score >= MODEL_ADDS
                })
                .map(|e| e.platform.clone())
                .collect(),
        ),
        Basis::Named => Choice::Fixed,
        // The story's sources: the model picks among the platforms the story names (or says
        // no data); on every labelled request of this kind the wanted platform was one of them.
        Basis::Story => Choice::Pick {
            candidates: kw
                .platforms
                .iter()
                .filter(choosable)
                .filter(|e| e.certainty == Certainty::Context)
                .map(|e| e.platform.clone())
                .collect(),
            several,
        },
        // The knowledge question's subject, or nothing at all: any offered platform may be the
        // one.
        Basis::Knowledge | Basis::Default | Basis::RuledOut | Basis::NoneOffered => Choice::Pick {
            candidates: kw
                .platforms
                .iter()
                .filter(choosable)
                .map(|e| e.platform.clone())
                .collect(),
            several,
        },
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
