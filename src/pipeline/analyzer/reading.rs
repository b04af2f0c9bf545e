//! A query as the passes read it: its words, the terms the lexicon found with their tags, what
//! the request rules out, and which kinds of term occur outside excluded scopes (computed once).

use super::ask::Asks;
use super::exclusion::Excluded;
use super::lexicon::{Hit, Lexicon, Tag};
use crate::pipeline::text::{Forms, Text};

/// A query as the passes read it: its words, the terms found with their tags, what is
/// excluded, and which kinds of term occur outside excluded scopes (computed once).
#[derive(Debug)]
pub(crate) struct Reading<'r, 'q> {
    pub text: &'r Text<'q>,
    /// The text's word forms ([`Text::forms`]).
    pub forms: &'r Forms<'r>,
    pub hits: &'r [Hit],
    pub excluded: &'r Excluded,
    pub lexicon: &'static Lexicon,
    pub(super) tags: Vec<Tag>,
    wanted: Vec<bool>,
    /// Bits of [`Tag::kind`] among wanted hits.
    present: u64,
    /// The wanted hits grouped by word, on a long request; `None` when there are few enough
    /// hits to walk.
    pub(super) by_word: Option<ByWord>,
    /// What the request asks for, and which words are only context.
    pub asks: Asks,
}

/// Above this many hits, the passes that look for hits at given words find them through
/// [`ByWord`] instead of walking every hit.
const WALKED_HITS: usize = 64;

/// The wanted hits grouped by the word they start at (the hits are in the order their matches
/// end, which is not quite word order): a counting sort, linear in the hits and the words.
#[derive(Debug)]
pub(crate) struct ByWord {
    /// Where each word's group starts in `hits`; one more entry than words.
    starts: Vec<u32>,
    /// Indexes into the reading's hits, word by word, each word's in the hits' order.
    hits: Vec<u32>,
}

impl ByWord {
    fn new(hits: &[Hit], wanted: &[bool]) -> Self {
        let words = hits.iter().map(|h| h.at as usize + 1).max().unwrap_or(0);
        let mut starts = vec![0u32; words + 1];
        let wanted_hits = || hits.iter().zip(0u32..).zip(wanted).filter(|(_, w)| **w);
        for ((h, _), _) in wanted_hits() {
            starts[h.at as usize + 1] += 1;
        }
        for w in 0..words {
            starts[w + 1] += starts[w];
        }
        let mut by_word = vec![0; starts[words] as usize];
        // Each hit goes to its word's next free place; `starts[w]` ends as the start of `w + 1`.
        for ((h, k), _) in wanted_hits() {
            let next = &mut starts[h.at as usize];
            by_word[*next as usize] = k;
            *next += 1;
        }
        starts.rotate_right(1);
        starts[0] = 0;
        ByWord {
            starts,
            hits: by_word,
        }
    }

    /// The indexes of the wanted hits that start at words `from..to`.
    pub fn at_words(&self, from: usize, to: usize) -> &[u32] {
        let last = self.starts.len() - 1;
        let (from, to) = (from.min(last), to.min(last));
        &self.hits[self.starts[from] as usize..self.starts[to] as usize]
    }

    /// How many words have groups (the last word with a hit, plus one).
    pub fn words(&self) -> usize {
        self.starts.len() - 1
    }
}

impl<'r, 'q> Reading<'r, 'q> {
    pub(super) fn new(
        text: &'r Text<'q>,
        forms: &'r Forms<'r>,
        hits: &'r [Hit],
        excluded: &'r Excluded,
        lexicon: &'static Lexicon,
    ) -> Self {
        let tags: Vec<Tag> = hits.iter().map(|h| lexicon.tag(h)).collect();
        let wanted: Vec<bool> = hits.iter().map(|h| !excluded.covers(h)).collect();
        let present = tags
            .iter()
            .zip(&wanted)
            .filter(|(_, w)| **w)
            .fold(0u64, |bits, (t, _)| bits | 1 << t.kind());
        let by_word = (hits.len() > WALKED_HITS).then(|| ByWord::new(hits, &wanted));
        let mut reading = Reading {
            text,
            forms,
            hits,
            excluded,
            lexicon,
            tags,
            wanted,
            present,
            by_word,
            asks: Asks::every_word_asks(text.len()),
        };
        reading.asks = super::ask::read(&reading);
        reading
    }
}

impl Reading<'_, '_> {
    /// Every hit with its tag.
    pub fn tagged(&self) -> impl Iterator<Item = (&Hit, Tag)> {
        self.hits.iter().zip(self.tags.iter().copied())
    }

    /// Hits outside excluded scopes, with their tags.
    pub fn wanted(&self) -> impl Iterator<Item = (&Hit, Tag)> {
        self.tagged()
            .zip(&self.wanted)
            .filter(|(_, w)| **w)
            .map(|(hit, _)| hit)
    }

    /// Whether a wanted hit whose tag passes `pred` starts within `window` words of `at`.
    pub fn near(&self, at: usize, window: usize, pred: impl Fn(Tag) -> bool) -> bool {
        let Some(by_word) = &self.by_word else {
            return self.near_walked(at, window, pred);
        };
        by_word
            .at_words(at.saturating_sub(window), at + window + 1)
            .iter()
            .any(|&k| self.hits[k as usize].at as usize != at && pred(self.tags[k as usize]))
    }

    /// [`Reading::near`] by a walk over every hit.
    fn near_walked(&self, at: usize, window: usize, pred: impl Fn(Tag) -> bool) -> bool {
        self.wanted()
            .any(|(h, t)| pred(t) && h.at as usize != at && (h.at as usize).abs_diff(at) <= window)
    }

    /// Whether any wanted hit has a tag of `tag`'s kind.
    pub fn has(&self, tag: Tag) -> bool {
        self.present & (1 << tag.kind()) != 0
    }

    /// The cue text of a hit.
    pub fn cue(&self, hit: &Hit) -> &'static str {
        self.lexicon.term(hit.term).cue.trim_matches('*')
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Intent;
    use crate::pipeline::analyzer::{exclusion, intent, lexicon};

    /// Every eval query, then long requests made of them run together.
    fn short_and_long_queries() -> Vec<String> {
        let mut queries = crate::pipeline::testing::eval_queries();
        let long: Vec<String> = queries
            .windows(30)
            .step_by(15)
            .map(|c| c.join(" ").chars().take(4000).collect())
            .collect();
        queries.extend(long);
        queries
    }

    /// Reads `query` as [`analyze_text`] does and hands the reading to `check`.
    fn with_reading(query: &str, check: impl FnOnce(&Reading)) {
        crate::pipeline::testing::with_scan(query, |text, forms, scan| {
            let excluded = exclusion::scopes(text, forms, scan, lexicon());
            check(&Reading::new(text, forms, &scan.hits, &excluded, lexicon()));
        })
    }

    #[test]
    fn near_finds_by_word_what_a_walk_over_every_hit_finds() {
        let mut searched = 0;
        for q in short_and_long_queries() {
            with_reading(&q, |r| {
                searched += usize::from(r.by_word.is_some());
                let mut tags: Vec<Tag> = Vec::new();
                for &t in &r.tags {
                    if !tags.contains(&t) {
                        tags.push(t);
                    }
                }
                for at in 0..r.text.len() {
                    for window in [0, 3] {
                        for &tag in &tags {
                            assert_eq!(
                                r.near(at, window, |t| t == tag),
                                r.near_walked(at, window, |t| t == tag),
                                "{tag:?} within {window} of word {at} in {q}"
                            );
                        }
                    }
                }
            });
        }
        assert!(searched >= 5, "only {searched} requests searched by word");
    }

    #[test]
    fn an_intent_counts_each_word_once_at_its_highest_weight() {
        for q in short_and_long_queries() {
            with_reading(&q, |r| {
                // Each (intent, word) once, at its highest weight, then summed by intent.
                let mut best = std::collections::BTreeMap::<(usize, u16), f64>::new();
                for (hit, tag) in r.wanted() {
                    if let Tag::Intent(intent, weight) = tag {
                        let w = best.entry((intent as usize, hit.at)).or_insert(weight);
                        *w = w.max(weight);
                    }
                }
                let mut want = [0.0; Intent::ALL.len()];
                for ((intent, _), weight) in best {
                    want[intent] += weight;
                }
                let got = intent::word_scores(r);
                for intent in Intent::ALL {
                    assert_eq!(
                        got[intent as usize], want[intent as usize],
                        "{intent:?} in {q}"
                    );
                }
            });
        }
    }
}
