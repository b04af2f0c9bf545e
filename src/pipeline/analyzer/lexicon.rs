//! The vocabularies compiled once into one automaton, and the one pass that finds every term
//! of every list in a query.
//!
//! The query's word forms are laid out as a stream, ` w1 w2 … wn | p1 p2 | … `: the words with
//! single spaces, then the parts of each CamelCase word (`AppInsights` → `app insights`), each
//! identifier's parts between bars so no phrase spans two of them. A whole-word term becomes the
//! pattern ` term ` (with its plurals), a prefix term ` stem`, a suffix term `stem `, and a term
//! in a script without spaces the bare text. One Aho-Corasick automaton of every pattern finds
//! all of them in one pass over the stream, with their word positions: linear in the query,
//! whatever the vocabulary's size.
//!
//! Misspellings of product and error words ([`super::typos`]) are read as the word meant before
//! the pass.

use std::collections::HashMap;
use std::sync::LazyLock;

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use rustc_hash::FxHashMap;

use super::typos;
use super::vocabulary::{
    AGGREGATION, AUTH_WORDS, AZURE_DATABASES, CAUSAL, DATA_ASKS, DB_INDEX_WORDS, DISMISSALS,
    ERROR_WORDS, EXCLUSION_AFTER, EXCLUSION_CUES, FAILURE_WORDS, INJECTION_CUES, INTENTS,
    INVESTIGATIVE, JOINS, KNOWLEDGE_ASKS, MOVED_FROM, NEGATIONS, PLATFORMS, PRODUCTS, SOP_WORDS,
    STATUS_CONTEXT, TIME_SERIES, TROUBLE_WORDS, WEAK_NEGATIONS, WIKI,
};
use crate::domain::Intent;
use crate::pipeline::text::{Forms, Text, fold, is_cjk};

/// What a term is evidence of.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Tag {
    /// Names a built-in platform outright (index into [`PLATFORMS`]).
    Named(u8),
    /// A subject word leaning towards a built-in platform, with its weight.
    Subject(u8, f64),
    /// A well-known table of a built-in platform.
    Table(u8),
    /// Names a product with a query language of its own (index into [`PRODUCTS`]).
    Product(u16),
    Failure,
    Error,
    Trouble,
    Auth,
    Intent(Intent, f64),
    Aggregation,
    TimeSeries,
    Join,
    Causal,
    Investigative,
    Wiki,
    Sop,
    ExclusionCue,
    Negation,
    WeakNegation,
    Injection,
    ExclusionAfter,
    StatusContext,
    AzureDatabase,
    DbIndexWord,
    /// Asks for data ([`DATA_ASKS`]).
    DataAsk,
    /// Asks for knowledge ([`KNOWLEDGE_ASKS`]).
    KnowledgeAsk,
    /// Sets a source aside in its clause ([`DISMISSALS`]).
    Dismissal,
    /// Moves away from a source ([`MOVED_FROM`]).
    MovedFrom,
}

impl Tag {
    /// A number per kind of tag (data aside), for sets of kinds as bits.
    pub fn kind(self) -> u32 {
        match self {
            Tag::Named(_) => 0,
            Tag::Subject(..) => 1,
            Tag::Table(_) => 2,
            Tag::Product(_) => 3,
            Tag::Failure => 4,
            Tag::Error => 5,
            Tag::Trouble => 6,
            Tag::Auth => 7,
            Tag::Intent(..) => 8,
            Tag::Aggregation => 9,
            Tag::TimeSeries => 10,
            Tag::Join => 11,
            Tag::Causal => 12,
            Tag::Investigative => 13,
            Tag::Wiki => 14,
            Tag::Sop => 15,
            Tag::ExclusionCue => 16,
            Tag::Negation => 17,
            Tag::WeakNegation => 18,
            Tag::Injection => 19,
            Tag::ExclusionAfter => 20,
            Tag::StatusContext => 21,
            Tag::AzureDatabase => 22,
            Tag::DbIndexWord => 23,
            Tag::DataAsk => 24,
            Tag::KnowledgeAsk => 25,
            Tag::Dismissal => 26,
            Tag::MovedFrom => 27,
        }
    }
}

/// One vocabulary entry: the text as written in the list, and what it is evidence of.
#[derive(Debug, Clone, Copy)]
pub struct Term {
    pub cue: &'static str,
    pub tag: Tag,
    /// How many words the term spans.
    pub words: u8,
}

/// A term found in a query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hit {
    pub term: u32,
    /// The word it starts at (a CamelCase part counts as its word).
    pub at: u16,
    /// How many words it spans.
    pub span: u8,
    /// Where it ends in the stream (bytes), for terms that follow what they apply to.
    pub end: u32,
    /// Where it starts in the stream (bytes).
    pub start: u32,
}

/// Every term found in one query.
#[derive(Debug, Clone, Default)]
pub struct Scan {
    pub hits: Vec<Hit>,
    /// Where each word starts in the stream (bytes).
    pub word_starts: Vec<u32>,
}

/// How a term's patterns are laid out in the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    /// ` a b c `: whole words.
    Words,
    /// ` stem`: the start of a word (the stem may span words).
    Prefix,
    /// `stem `: the end of a word.
    Suffix,
    /// Anywhere, for scripts without spaces.
    Inside,
}

/// A word or part of the stream: where it starts and ends, and the query's word it belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Span {
    start: u32,
    end: u32,
    at: u16,
}

/// The query's word that the stream's byte `offset` falls in (the last to start at or before
/// it), if any.
fn word_at(words: &[Span], offset: u32) -> Option<u16> {
    match words.binary_search_by_key(&offset, |w| w.start) {
        Ok(k) => Some(words[k].at),
        Err(0) => None,
        Err(k) => Some(words[k - 1].at),
    }
}

/// The compiled vocabularies.
pub struct Lexicon {
    /// Every pattern, in one automaton that reports overlapping matches too. Contiguous: ~160
    /// KiB for all patterns, where the DFA takes 4.4 MiB.
    automaton: AhoCorasick,
    /// For each pattern, the range of its terms in `pattern_terms`.
    pattern_ranges: Vec<(u32, u32)>,
    pattern_terms: Vec<u32>,
    terms: Vec<Term>,
    /// Misspellings of product and error words ([`typos`]) → the word meant.
    pub(super) typos: FxHashMap<String, &'static str>,
}

impl std::fmt::Debug for Lexicon {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lexicon")
            .field("terms", &self.terms.len())
            .field("patterns", &self.pattern_ranges.len())
            .field("typos", &self.typos.len())
            .finish()
    }
}

static LEXICON: LazyLock<Lexicon> = LazyLock::new(Lexicon::compile);

/// The process-wide lexicon; the first call compiles it (a few milliseconds).
pub fn lexicon() -> &'static Lexicon {
    &LEXICON
}

/// Normalizes a term as the tokenizer normalizes words: folded, no inner dashes or apostrophes.
fn normalize_term(term: &str) -> String {
    fold(term).replace(['-', '\''], "")
}

/// The stream patterns of a term, and how they are laid out.
fn patterns(term: &str) -> (Layout, Vec<String>) {
    let (layout, body) = if term.chars().any(is_cjk) {
        (Layout::Inside, term.trim_matches('*'))
    } else if let Some(stem) = term.strip_prefix('*') {
        (Layout::Suffix, stem)
    } else if let Some(stem) = term.strip_suffix('*') {
        (Layout::Prefix, stem)
    } else {
        (Layout::Words, term)
    };
    let body = normalize_term(body);
    let patterns = match layout {
        Layout::Inside => vec![body],
        Layout::Suffix => vec![format!("{body} ")],
        Layout::Prefix => vec![format!(" {body}")],
        Layout::Words => {
            let (head, last) = match body.rsplit_once(' ') {
                Some((head, last)) => (format!(" {head} "), last.to_string()),
                None => (" ".to_string(), body.clone()),
            };
            let mut forms = vec![last.clone(), format!("{last}s"), format!("{last}es")];
            if let Some(stem) = last.strip_suffix('y') {
                forms.push(format!("{stem}ies"));
            }
            forms.into_iter().map(|f| format!("{head}{f} ")).collect()
        }
    };
    (layout, patterns)
}

impl Lexicon {
    fn compile() -> Lexicon {
        let mut terms: Vec<Term> = Vec::new();
        let mut add = |cue: &'static str, tag: Tag| {
            terms.push(Term {
                cue,
                tag,
                words: cue.split(' ').count() as u8,
            });
        };
        for (i, p) in PLATFORMS.iter().enumerate() {
            let i = i as u8;
            p.named.iter().for_each(|t| add(t, Tag::Named(i)));
            p.subject
                .iter()
                .for_each(|(t, w)| add(t, Tag::Subject(i, *w)));
            p.tables.iter().for_each(|t| add(t, Tag::Table(i)));
        }
        for (i, product) in PRODUCTS.iter().enumerate() {
            product
                .names
                .iter()
                .for_each(|t| add(t, Tag::Product(i as u16)));
        }
        let lists: [(&[&'static str], Tag); 23] = [
            (FAILURE_WORDS, Tag::Failure),
            (ERROR_WORDS, Tag::Error),
            (TROUBLE_WORDS, Tag::Trouble),
            (AUTH_WORDS, Tag::Auth),
            (AGGREGATION, Tag::Aggregation),
            (TIME_SERIES, Tag::TimeSeries),
            (JOINS, Tag::Join),
            (CAUSAL, Tag::Causal),
            (INVESTIGATIVE, Tag::Investigative),
            (WIKI, Tag::Wiki),
            (SOP_WORDS, Tag::Sop),
            (EXCLUSION_CUES, Tag::ExclusionCue),
            (NEGATIONS, Tag::Negation),
            (WEAK_NEGATIONS, Tag::WeakNegation),
            (INJECTION_CUES, Tag::Injection),
            (EXCLUSION_AFTER, Tag::ExclusionAfter),
            (STATUS_CONTEXT, Tag::StatusContext),
            (AZURE_DATABASES, Tag::AzureDatabase),
            (DB_INDEX_WORDS, Tag::DbIndexWord),
            (DATA_ASKS, Tag::DataAsk),
            (KNOWLEDGE_ASKS, Tag::KnowledgeAsk),
            (DISMISSALS, Tag::Dismissal),
            (MOVED_FROM, Tag::MovedFrom),
        ];
        for (list, tag) in lists {
            list.iter().for_each(|t| add(t, tag));
        }
        for (intent, words) in INTENTS {
            words
                .iter()
                .for_each(|(t, w)| add(t, Tag::Intent(*intent, *w)));
        }

        // One pattern per distinct stream text, standing for every term that produces it.
        let mut by_pattern: HashMap<String, Vec<u32>> = HashMap::new();
        let mut order: Vec<String> = Vec::new();
        let mut layouts: Vec<Layout> = Vec::new();
        for (id, term) in terms.iter().enumerate() {
            let (layout, texts) = patterns(term.cue);
            for p in texts {
                let ids = by_pattern.entry(p.clone()).or_insert_with(|| {
                    order.push(p);
                    layouts.push(layout);
                    Vec::new()
                });
                if !ids.contains(&(id as u32)) {
                    ids.push(id as u32);
                }
            }
        }
        let mut pattern_ranges = Vec::with_capacity(order.len());
        let mut pattern_terms = Vec::new();
        for p in &order {
            let start = pattern_terms.len() as u32;
            pattern_terms.extend(&by_pattern[p]);
            pattern_ranges.push((start, pattern_terms.len() as u32));
        }
        let automaton = AhoCorasick::builder()
            .match_kind(MatchKind::Standard)
            .kind(Some(AhoCorasickKind::ContiguousNFA))
            .build(&order)
            .expect("the vocabularies compile into an automaton");
        let typos = typos::table(|word| {
            automaton
                .find_overlapping_iter(&format!(" {word} "))
                .next()
                .is_some()
        });
        Lexicon {
            automaton,
            pattern_ranges,
            pattern_terms,
            terms,
            typos,
        }
    }

    /// The term behind a hit.
    pub fn term(&self, id: u32) -> &Term {
        &self.terms[id as usize]
    }

    /// The tag of a hit.
    pub fn tag(&self, hit: &Hit) -> Tag {
        self.terms[hit.term as usize].tag
    }

    /// How many patterns and misspellings the lexicon holds (for start-up logs).
    pub fn size(&self) -> (usize, usize) {
        (self.pattern_ranges.len(), self.typos.len())
    }

    /// Reads misspelled words in `text` as the words meant ([`Text::correct`]); before
    /// [`Text::forms`] and [`Lexicon::scan`].
    pub fn correct(&self, text: &mut Text<'_>) {
        for i in 0..text.len() {
            let t = &text.tokens[i];
            if t.camel || t.cjk || t.raw.len() < 4 {
                continue;
            }
            // Misspellings are lower-case ASCII letters (tested), so a word with anything else
            // (a digit, an accent, an apostrophe) is never a key of the table.
            if let Some(&word) = self.typos.get(text.form(i)) {
                text.correct(i, word);
            }
        }
    }

    /// Every term in `text`, whose word `forms` ([`Text::forms`]) were taken after
    /// [`Lexicon::correct`], in the automaton's order (by where the match ends, longest first).
    pub fn scan(&self, text: &Text<'_>, forms: &Forms<'_>) -> Scan {
        let (stream, words) = stream(text, forms);
        // About one hit per word, as a rule.
        let mut hits = Vec::with_capacity(words.len() + 4);
        for m in self.automaton.find_overlapping_iter(&stream) {
            // Word and prefix patterns begin with the space before their first word.
            let start = m.start() as u32;
            let first_byte = if stream.as_bytes()[m.start()] == b' ' {
                start + 1
            } else {
                start
            };
            let Some(at) = word_at(&words, first_byte) else {
                continue;
            };
            let (lo, hi) = self.pattern_ranges[m.pattern().as_usize()];
            for &term in &self.pattern_terms[lo as usize..hi as usize] {
                hits.push(Hit {
                    term,
                    at,
                    span: self.terms[term as usize].words,
                    start,
                    end: m.end() as u32,
                });
            }
        }
        let word_starts = words[..text.len()].iter().map(|w| w.start).collect();
        Scan { hits, word_starts }
    }
}

/// The query's stream, and where each word and part is in it (with the word it belongs to).
fn stream(text: &Text<'_>, forms: &Forms<'_>) -> (String, Vec<Span>) {
    let mut stream = String::with_capacity(text.raw.len() * 2 + 8);
    let mut words: Vec<Span> = Vec::with_capacity(text.len() * 2);
    let mut push = |stream: &mut String, at: usize, word: &str| {
        stream.push(' ');
        let start = stream.len() as u32;
        stream.push_str(word);
        words.push(Span {
            start,
            end: stream.len() as u32,
            at: at as u16,
        });
    };
    for (i, form) in forms.iter().enumerate() {
        push(&mut stream, i, form);
    }
    stream.push_str(" |");
    let mut previous = None;
    for (i, part) in text.all_parts() {
        if previous.is_some_and(|p| p != i) {
            stream.push_str(" |");
        }
        previous = Some(i);
        push(&mut stream, i, part);
    }
    stream.push_str(" | ");
    (stream, words)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::testing::with_scan;

    fn cues(query: &str) -> Vec<(&'static str, u16)> {
        with_scan(query, |_, _, scan| {
            scan.hits
                .iter()
                .map(|h| (lexicon().term(h.term).cue, h.at))
                .collect()
        })
    }

    #[test]
    fn whole_words_plurals_prefixes_and_phrases_match_with_their_positions() {
        let found = cues("Failed sign-ins in Log Analytics workspaces, and categories?");
        for want in [
            ("fail*", 0),
            ("signin", 1),
            ("log analytics", 3),
            ("workspace", 5),
            ("category", 7),
        ] {
            assert!(found.contains(&want), "{want:?} not in {found:?}");
        }
        let found = cues("sign the form in time");
        assert!(
            !found.iter().any(|(c, _)| *c == "sign in"),
            "a phrase needs all its words, in order: {found:?}"
        );
    }

    #[test]
    fn camel_case_parts_match_as_words_of_their_identifier() {
        let found = cues("rows of AppExceptions");
        assert!(found.contains(&("exception*", 2)), "{found:?}");
        assert!(
            found.contains(&("AppExceptions", 2)),
            "the table itself: {found:?}"
        );
    }

    #[test]
    fn compound_words_and_unspaced_scripts_match_inside_words() {
        assert!(
            cues("Datenbankfehler heute")
                .iter()
                .any(|(c, _)| *c == "*fehler")
        );
        assert!(
            cues("Splunkのエラーを表示")
                .iter()
                .any(|(c, at)| *c == "エラー" && *at == 1)
        );
    }

    #[test]
    fn the_automaton_stays_small() {
        // Every request reads it: it should fit in the second-level cache.
        let bytes = lexicon().automaton.memory_usage();
        assert!(bytes < 512 * 1024, "the automaton takes {bytes} bytes");
    }
}
