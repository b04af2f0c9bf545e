//! The platform decision over the evidence: a request that asks only for knowledge needs none;
//! platforms named where the request asks for data decide on their own; without them, the
//! sources its story names (never those only in pasted text); without those, the inferred
//! scores choose among the offered platforms; only a request with no evidence at all falls
//! back to a default.

use super::ask::DataNeed;
use super::{AnalyzerOptions, COMPARABLE, Certainty, DESCRIBED, PlatformEvidence};
use crate::domain::Platform;

/// The platforms a request needs, how they were chosen, and whether any word pointed at one.
#[derive(Debug)]
pub(super) struct Decision {
    pub platforms: Vec<Platform>,
    pub note: &'static str,
    pub blind: bool,
}

/// Picks the platforms.
pub(super) fn decide(
    evidence: &[PlatformEvidence],
    offered: &[Platform],
    links_sources: bool,
    data: DataNeed,
    opts: &AnalyzerOptions,
) -> Decision {
    if data == DataNeed::NotWanted {
        return Decision {
            platforms: Vec::new(),
            note: "none: the request asks for knowledge (a procedure, a policy, a meaning), not data",
            blind: false,
        };
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
    let decided = |platforms: Vec<Platform>, note| Decision {
        platforms,
        note,
        blind: false,
    };

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
        return decided(required, "named outright");
    }
    let story: Vec<Platform> = evidence
        .iter()
        .filter(|e| e.certainty == Certainty::Context && e.in_story)
        .map(|e| e.platform.clone())
        .collect();
    if !story.is_empty() {
        return decided(story, "named in the request's context (the ask names none)");
    }

    let best_unoffered = evidence
        .iter()
        .filter(|e| !offered.contains(&e.platform) && e.certainty == Certainty::Inferred)
        .map(|e| (&e.platform, e.soft_score))
        .max_by(|a, b| a.1.total_cmp(&b.1));
    const UNSERVED: &str = "by its vocabulary, which no offered agent serves";
    match (inferred.first(), best_unoffered) {
        (Some(&(best, s)), unoffered) => {
            if let Some((u, us)) = unoffered
                && us >= DESCRIBED
                && us >= 2.0 * s
            {
                return decided(vec![u.clone()], UNSERVED);
            }
            let mut required = vec![best.clone()];
            if links_sources
                && let Some(&(second, s2)) = inferred.get(1)
                && s2 >= DESCRIBED
                && s2 >= COMPARABLE * s
            {
                required.push(second.clone());
            }
            decided(required, "by its vocabulary")
        }
        (None, Some((u, us))) if us >= DESCRIBED => decided(vec![u.clone()], UNSERVED),
        _ => {
            let pick = if usable.len() == 1 {
                usable.first().copied()
            } else {
                opts.default_platforms
                    .iter()
                    .find(|p| usable.contains(p))
                    .or(usable.first().copied())
            };
            let (platforms, note) = match pick {
                Some(p) => (vec![p.clone()], "by default: the query names no platform"),
                None if !excluded.is_empty() => (
                    Vec::new(),
                    "none: every offered platform is ruled out by the request",
                ),
                None => (
                    Vec::new(),
                    "none: no platform evidence and no data agent offered",
                ),
            };
            Decision {
                platforms,
                note,
                blind: true,
            }
        }
    }
}
