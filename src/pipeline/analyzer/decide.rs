//! The platform decision over the evidence: a request that asks only for knowledge needs none;
//! platforms named where the request asks for data decide on their own; without them, the
//! sources its story names (never those only in pasted text); without those, the inferred
//! scores choose among the offered platforms; only a request with no evidence at all falls
//! back to a default.

use super::ask::DataNeed;
use super::{AnalyzerOptions, COMPARABLE, Certainty, DESCRIBED, PlatformEvidence};
use crate::domain::Platform;

/// The platforms a request needs and how they were chosen.
#[derive(Debug)]
pub(super) struct Decision {
    pub platforms: Vec<Platform>,
    pub basis: Basis,
}

/// What the platform decision rests on: how firmly the text decided it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Basis {
    /// The request asks for knowledge, not data: no platform.
    Knowledge,
    /// Platforms named where the request asks for data (with described ones beside them in a
    /// request that links sources).
    Named,
    /// Platforms named in the story around an ask that names none.
    Story,
    /// Subject words, among the offered platforms.
    Vocabulary,
    /// Subject words of a platform no offered agent serves.
    Unserved,
    /// No evidence at all: the configured default.
    Default,
    /// No evidence, and every offered platform ruled out.
    RuledOut,
    /// No evidence, and no data agent offered.
    NoneOffered,
}

impl Basis {
    /// How the reasoning says it.
    pub fn note(self) -> &'static str {
        match self {
            Basis::Knowledge => {
                "none: the request asks for knowledge (a procedure, a policy, a meaning), not data"
            }
            Basis::Named => "named outright",
            Basis::Story => "named in the request's context (the ask names none)",
            Basis::Vocabulary => "by its vocabulary",
            Basis::Unserved => "by its vocabulary, which no offered agent serves",
            Basis::Default => "by default: the query names no platform",
            Basis::RuledOut => "none: every offered platform is ruled out by the request",
            Basis::NoneOffered => "none: no platform evidence and no data agent offered",
        }
    }

    /// No word pointed at any platform.
    pub fn blind(self) -> bool {
        matches!(self, Basis::Default | Basis::RuledOut | Basis::NoneOffered)
    }
}

/// Picks the platforms.
pub(super) fn decide(
    evidence: &[PlatformEvidence],
    offered: &[Platform],
    links_sources: bool,
    data: DataNeed,
    opts: &AnalyzerOptions,
) -> Decision {
    let decided = |platforms: Vec<Platform>, basis| Decision { platforms, basis };
    if data == DataNeed::NotWanted {
        return decided(Vec::new(), Basis::Knowledge);
    }
    let with = |c: Certainty| -> Vec<Platform> {
        evidence
            .iter()
            .filter(|e| e.certainty == c)
            .map(|e| e.platform.clone())
            .collect()
    };
    let named = with(Certainty::Named);
    let excluded = with(Certainty::Excluded);
    let usable: Vec<&Platform> = offered.iter().filter(|p| !excluded.contains(p)).collect();
    let score = |p: &Platform| {
        evidence
            .iter()
            .find(|e| &e.platform == p)
            .map_or(0.0, |e| e.soft_score)
    };
    // Inferred candidates among the usable offered platforms, best first, ties in offered order.
    let mut inferred: Vec<(&Platform, f64)> = usable
        .iter()
        .filter(|p| !named.contains(p))
        .map(|p| (*p, score(p)))
        .filter(|(_, s)| *s > 0.0)
        .collect();
    inferred.sort_by(|a, b| b.1.total_cmp(&a.1));

    if !named.is_empty() {
        let mut required = named;
        // A comparison or a trail across sources names some sources outright and describes
        // the others.
        if links_sources {
            required.extend(
                inferred
                    .iter()
                    .filter(|(_, s)| *s >= DESCRIBED)
                    .map(|(p, _)| (*p).clone()),
            );
        }
        return decided(required, Basis::Named);
    }
    let story: Vec<Platform> = evidence
        .iter()
        .filter(|e| e.certainty == Certainty::Context && e.in_story)
        .map(|e| e.platform.clone())
        .collect();
    if !story.is_empty() {
        return decided(story, Basis::Story);
    }

    let best_unoffered = evidence
        .iter()
        .filter(|e| !offered.contains(&e.platform) && e.certainty == Certainty::Inferred)
        .map(|e| (&e.platform, e.soft_score))
        .max_by(|a, b| a.1.total_cmp(&b.1));
    match (inferred.first(), best_unoffered) {
        (Some(&(best, s)), unoffered) => {
            if let Some((u, us)) = unoffered
                && us >= DESCRIBED
                && us >= 2.0 * s
            {
                return decided(vec![u.clone()], Basis::Unserved);
            }
            let mut required = vec![best.clone()];
            if links_sources
                && let Some(&(second, s2)) = inferred.get(1)
                && s2 >= DESCRIBED
                && s2 >= COMPARABLE * s
            {
                required.push(second.clone());
            }
            decided(required, Basis::Vocabulary)
        }
        (None, Some((u, us))) if us >= DESCRIBED => decided(vec![u.clone()], Basis::Unserved),
        _ => {
            let pick = if usable.len() == 1 {
                usable.first().copied()
            } else {
                opts.default_platforms
                    .iter()
                    .find(|p| usable.contains(p))
                    .or(usable.first().copied())
            };
            match pick {
                Some(p) => decided(vec![p.clone()], Basis::Default),
                None if !excluded.is_empty() => decided(Vec::new(), Basis::RuledOut),
                None => decided(Vec::new(), Basis::NoneOffered),
            }
        }
    }
}
