//! The lexicon's patterns found in a query's stream word by word, where an Aho-Corasick
//! automaton would walk it byte by byte.
//!
//! Almost every pattern is a whole word or phrase (` term `) or a prefix (` stem`), and so begins
//! where a word of the stream begins. One hash lookup per word finds the whole-word patterns that
//! start there (a phrase then compares the words after it), and a walk of the prefix trie from
//! the same place finds the prefixes, stopping at the first byte no stem continues with. The few
//! suffix patterns (`stem `) are compared at each word's end, and the patterns of scripts written
//! without spaces run through a small automaton of their own, only when the query has such
//! words. On the representative query the contiguous automaton of all ~2,300 patterns spent
//! ~7,000 instructions walking its sparse states over the ~150-byte stream; this finds the same
//! matches in ~5,300 (BENCHMARKS.md, "Twelfth pass").
//!
//! The matches are exactly the automaton's, in its order (by end, then longest first): a
//! property test holds the two to each other.

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use rustc_hash::FxHashMap;

/// How a pattern is laid out in the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Layout {
    /// ` a b c `: whole words.
    Words,
    /// ` stem`: the start of a word (the stem may span words).
    Prefix,
    /// `stem `: the end of a word.
    Suffix,
    /// Anywhere, for scripts without spaces.
    Inside,
}

/// One match: where it starts and ends in the stream, which pattern, and the word it starts in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Found {
    pub end: u32,
    pub start: u32,
    pub pattern: u32,
    pub at: u16,
}

/// A word or part of the stream: where it starts and ends, and the query's word it belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Span {
    pub start: u32,
    pub end: u32,
    pub at: u16,
}

/// The query's word that the stream's byte `offset` falls in (the last to start at or before
/// it), if any.
pub(super) fn word_at(words: &[Span], offset: u32) -> Option<u16> {
    match words.binary_search_by_key(&offset, |w| w.start) {
        Ok(k) => Some(words[k].at),
        Err(0) => None,
        Err(k) => Some(words[k - 1].at),
    }
}

/// The eight bytes of `bytes` from `at`, as one integer (little-endian: the first byte lowest).
#[inline]
fn load8(bytes: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"))
}

/// The first eight bytes of `word`, little-endian and zero past its end, as [`load8`] and
/// [`first_bytes`] would read them from a padded stream (a short word without a call to copy
/// it).
#[inline]
fn first8(word: &[u8]) -> u64 {
    let len = word.len();
    let at = |i: usize, shift: usize| u64::from(word[i]) << (8 * shift);
    if len >= 8 {
        load8(word, 0)
    } else if len >= 4 {
        // Two four-byte loads that overlap: the bytes they share are the same.
        let load4 = |i: usize| u64::from(u32::from_le_bytes(word[i..i + 4].try_into().expect("4")));
        load4(0) | load4(len - 4) << (8 * (len - 4))
    } else if len > 0 {
        at(0, 0) | at(len / 2, len / 2) | at(len - 1, len - 1)
    } else {
        0
    }
}

/// The bits of the first `n` bytes of a [`load8`] value (`n` ≤ 8).
#[inline]
fn first_bytes(n: usize) -> u64 {
    if n >= 8 {
        u64::MAX
    } else {
        (1u64 << (8 * n)) - 1
    }
}

/// A pattern that starts with the word it is filed under: the rest of it after that word
/// (` b c ` for ` a b c `; ` ` for a single word).
#[derive(Debug)]
struct Phrase {
    pattern: u32,
    tail: Box<str>,
    /// The tail's first eight bytes (zero past its end) and which of them are its own: one
    /// comparison rules out most phrases without comparing bytes.
    head: u64,
    mask: u64,
}

impl Phrase {
    fn new(pattern: u32, tail: &str) -> Phrase {
        Phrase {
            pattern,
            tail: tail.into(),
            head: first8(tail.as_bytes()),
            mask: first_bytes(tail.len()),
        }
    }

    /// Whether the stream continues with the tail at `end` (with padding after the words, as
    /// for [`WordKey::read`]).
    #[inline]
    fn follows(&self, bytes: &[u8], end: usize) -> bool {
        load8(bytes, end) & self.mask == self.head
            && (self.tail.len() <= 8 || bytes[end..].starts_with(self.tail.as_bytes()))
    }
}

/// A trie of the prefix patterns, without their leading space.
#[derive(Debug, Default)]
struct Trie {
    /// The child of the root for each first byte (0: none).
    root: Vec<u32>,
    /// Per node: its edges (a range of `edges`), the pattern ending there (`u32::MAX`: none),
    /// and which of `a`…`z` it has edges for (`u32::MAX` when it also has others): most walks
    /// end at a letter no stem continues with, answered by one bit.
    nodes: Vec<Node>,
    /// Sorted by byte within each node.
    edges: Vec<(u8, u32)>,
}

#[derive(Debug, Clone, Copy)]
struct Node {
    first: u32,
    last: u32,
    pattern: u32,
    letters: u32,
}

impl Trie {
    fn build(stems: &[(&str, u32)]) -> Trie {
        // Built as nested maps first, then laid out flat.
        #[derive(Default)]
        struct Building {
            children: std::collections::BTreeMap<u8, Building>,
            pattern: Option<u32>,
        }
        let mut top = Building::default();
        for &(stem, pattern) in stems {
            let mut node = &mut top;
            for &b in stem.as_bytes() {
                node = node.children.entry(b).or_default();
            }
            node.pattern = Some(pattern);
        }
        let none = Node {
            first: 0,
            last: 0,
            pattern: u32::MAX,
            letters: 0,
        };
        let mut trie = Trie {
            root: vec![0; 256],
            nodes: vec![none], // node 0 stands for "none"
            edges: Vec::new(),
        };
        fn lay_out(node: &Building, trie: &mut Trie) -> u32 {
            let id = trie.nodes.len() as u32;
            trie.nodes.push(Node {
                first: 0,
                last: 0,
                pattern: node.pattern.unwrap_or(u32::MAX),
                letters: 0,
            });
            let children: Vec<(u8, u32)> = node
                .children
                .iter()
                .map(|(&b, child)| (b, lay_out(child, trie)))
                .collect();
            let letters = if children.iter().all(|(b, _)| b.is_ascii_lowercase()) {
                children.iter().fold(0u32, |m, (b, _)| m | 1 << (b - b'a'))
            } else {
                u32::MAX
            };
            let first = trie.edges.len() as u32;
            trie.edges.extend(children);
            trie.nodes[id as usize] = Node {
                first,
                last: trie.edges.len() as u32,
                letters,
                ..trie.nodes[id as usize]
            };
            id
        }
        for (&b, child) in &top.children {
            let id = lay_out(child, &mut trie);
            trie.root[b as usize] = id;
        }
        trie
    }

    /// The child of `node` for byte `b` (0: none).
    #[inline]
    fn child(&self, node: &Node, b: u8) -> u32 {
        if node.letters != u32::MAX {
            let k = b.wrapping_sub(b'a');
            if k >= 26 || node.letters & (1 << k) == 0 {
                return 0;
            }
        }
        let edges = &self.edges[node.first as usize..node.last as usize];
        match edges.iter().find(|(e, _)| *e >= b) {
            Some(&(e, child)) if e == b => child,
            _ => 0,
        }
    }

    /// Every stem that `bytes` starts with, as (length, pattern), shortest first.
    #[inline]
    fn walk(&self, bytes: &[u8], mut found: impl FnMut(usize, u32)) {
        let Some(&first) = bytes.first() else { return };
        let mut id = self.root[first as usize];
        let mut len = 1;
        while id != 0 {
            let node = &self.nodes[id as usize];
            if node.pattern != u32::MAX {
                found(len, node.pattern);
            }
            let Some(&b) = bytes.get(len) else { return };
            id = self.child(node, b);
            len += 1;
        }
    }
}

/// How many bytes the stream must carry after its last word for [`WordKey::read`].
pub(super) const STREAM_PADDING: usize = 8;

/// A word as the table compares it: its length and its first and last eight bytes (which
/// overlap in a short word, and are zero past its end). Words of up to 16 bytes are equal
/// when their keys are; longer ones are compared in full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct WordKey {
    len: u32,
    head: u64,
    tail: u64,
}

impl WordKey {
    /// The key of `bytes[from..end]`; `bytes` must hold [`STREAM_PADDING`] bytes past `end`.
    #[inline]
    fn read(bytes: &[u8], from: usize, end: usize) -> WordKey {
        let len = end - from;
        let (head, tail) = if len >= 8 {
            (load8(bytes, from), load8(bytes, end - 8))
        } else {
            // Only the word's own bytes: the rest of the eight read are masked off.
            (load8(bytes, from) & first_bytes(len), 0)
        };
        WordKey {
            len: len as u32,
            head,
            tail,
        }
    }

    /// The key of `word`, which needs no padding after it.
    #[inline]
    fn of(word: &[u8]) -> WordKey {
        let len = word.len();
        WordKey {
            len: len as u32,
            head: first8(word),
            tail: if len >= 8 { load8(word, len - 8) } else { 0 },
        }
    }

    #[inline]
    fn hash(&self) -> u64 {
        (self.head ^ self.tail.rotate_left(29) ^ u64::from(self.len) << 58)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
    }
}

/// Words and a value for each, in an open-addressed table read with one multiplication and a
/// comparison of three integers (a general hash map of strings spent ~115 instructions a word
/// hashing and comparing bytes). The matcher files its patterns' first words here, the roster
/// its agents' words and hinted names.
#[derive(Debug, Default)]
pub(super) struct WordTable<V> {
    /// A key of length zero: an empty slot (the table holds no empty word).
    slots: Vec<(WordKey, V)>,
    /// The words of over 16 bytes, by slot, for the full comparison.
    long: FxHashMap<u32, Box<str>>,
    shift: u32,
}

impl<V: Copy + Default> WordTable<V> {
    /// The table of `words` (distinct). Empty words are left out: no word read is empty.
    pub fn build(words: &[(&str, V)]) -> WordTable<V> {
        let size = (words.len() * 2).next_power_of_two().max(16);
        let mut table = WordTable {
            slots: vec![(WordKey::of(b""), V::default()); size],
            long: FxHashMap::default(),
            shift: 64 - size.trailing_zeros(),
        };
        for &(word, value) in words.iter().filter(|(w, _)| !w.is_empty()) {
            let key = WordKey::of(word.as_bytes());
            let mut at = table.home(&key);
            while table.slots[at].0.len != 0 {
                at = (at + 1) & (size - 1);
            }
            table.slots[at] = (key, value);
            if word.len() > 16 {
                table.long.insert(at as u32, word.into());
            }
        }
        table
    }

    #[inline]
    fn home(&self, key: &WordKey) -> usize {
        (key.hash() >> self.shift) as usize
    }

    /// The value filed under `bytes[from..end]` (with padding after it, as for
    /// [`WordKey::read`]).
    #[inline]
    fn get(&self, bytes: &[u8], from: usize, end: usize) -> Option<V> {
        self.find(WordKey::read(bytes, from, end), &bytes[from..end])
    }

    /// The value filed under `word`.
    #[inline]
    pub fn get_word(&self, word: &str) -> Option<V> {
        self.find(WordKey::of(word.as_bytes()), word.as_bytes())
    }

    #[inline]
    fn find(&self, key: WordKey, word: &[u8]) -> Option<V> {
        let mask = self.slots.len() - 1;
        let mut at = self.home(&key);
        loop {
            let (k, value) = &self.slots[at];
            if k.len == 0 {
                return None;
            }
            if *k == key && (key.len <= 16 || self.long[&(at as u32)].as_bytes() == word) {
                return Some(*value);
            }
            at = (at + 1) & mask;
        }
    }

    fn len(&self) -> usize {
        self.slots.iter().filter(|(k, _)| k.len != 0).count()
    }

    /// The bytes the table holds.
    #[cfg(test)]
    pub fn memory(&self) -> usize {
        self.slots.len() * size_of::<(WordKey, V)>()
            + self.long.values().map(|w| w.len() + 24).sum::<usize>()
    }
}

/// An Aho-Corasick automaton of `patterns` that reports every match, overlapping ones too:
/// the matcher's for scripts without spaces, and (in tests) the reference of all patterns the
/// matcher is held to. Contiguous: 164 KiB for all patterns where the DFA took 4.4 MiB.
pub(super) fn automaton(patterns: &[&str]) -> AhoCorasick {
    AhoCorasick::builder()
        .match_kind(MatchKind::Standard)
        .kind(Some(AhoCorasickKind::ContiguousNFA))
        .build(patterns)
        .expect("the patterns compile into an automaton")
}

/// The compiled patterns.
pub(super) struct Matcher {
    /// First word → its phrases (a range of `phrases`).
    words: WordTable<(u32, u32)>,
    phrases: Vec<Phrase>,
    prefixes: Trie,
    /// Suffix patterns with their last byte before the trailing space.
    suffixes: Vec<(Box<str>, u8, u32)>,
    /// The bytes suffix patterns end with, as bits (a first test at each word's end).
    suffix_ends: [u64; 4],
    /// The patterns of scripts without spaces, if there are any.
    inside: Option<AhoCorasick>,
    /// `inside`'s pattern ids in the lexicon's numbering.
    inside_ids: Vec<u32>,
}

impl std::fmt::Debug for Matcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Matcher")
            .field("words", &self.words.len())
            .field("phrases", &self.phrases.len())
            .field("prefix_nodes", &self.prefixes.nodes.len())
            .field("suffixes", &self.suffixes.len())
            .field("inside", &self.inside_ids.len())
            .finish()
    }
}

impl Matcher {
    /// Compiles `patterns` (the lexicon's numbering) laid out as `layouts` says.
    pub fn build(patterns: &[String], layouts: &[Layout]) -> Matcher {
        let mut by_word: FxHashMap<&str, Vec<Phrase>> = FxHashMap::default();
        let mut stems = Vec::new();
        let mut suffixes = Vec::new();
        let mut inside = Vec::new();
        let mut inside_ids = Vec::new();
        for (id, (p, layout)) in patterns.iter().zip(layouts).enumerate() {
            let id = id as u32;
            match layout {
                Layout::Words => {
                    let body = &p[1..];
                    let cut = body.find(' ').expect("a word pattern ends with a space");
                    by_word
                        .entry(&body[..cut])
                        .or_default()
                        .push(Phrase::new(id, &body[cut..]));
                }
                Layout::Prefix => stems.push((&p[1..], id)),
                Layout::Suffix => {
                    let last = p.as_bytes()[p.len().saturating_sub(2)];
                    suffixes.push((p.as_str().into(), last, id));
                }
                Layout::Inside => {
                    inside.push(p.as_str());
                    inside_ids.push(id);
                }
            }
        }
        let mut firsts = Vec::with_capacity(by_word.len());
        let mut phrases = Vec::new();
        for (word, list) in by_word {
            let start = phrases.len() as u32;
            phrases.extend(list);
            firsts.push((word, (start, phrases.len() as u32)));
        }
        let words = WordTable::build(&firsts);
        let mut suffix_ends = [0u64; 4];
        for &(_, last, _) in &suffixes {
            suffix_ends[last as usize / 64] |= 1 << (last % 64);
        }
        let inside = (!inside.is_empty()).then(|| automaton(&inside));
        Matcher {
            words,
            phrases,
            prefixes: Trie::build(&stems),
            suffixes,
            suffix_ends,
            inside,
            inside_ids,
        }
    }

    /// The bytes the matcher holds (for the test that keeps it small).
    #[cfg(test)]
    pub fn heap_bytes(&self) -> usize {
        use std::mem::size_of;
        let t = &self.prefixes;
        self.words.memory()
            + self.phrases.len() * size_of::<Phrase>()
            + self.phrases.iter().map(|p| p.tail.len()).sum::<usize>()
            + t.root.len() * 4
            + t.nodes.len() * size_of::<Node>()
            + t.edges.len() * size_of::<(u8, u32)>()
            + self.inside.as_ref().map_or(0, |ac| ac.memory_usage())
    }

    /// Whether any pattern matches in ` word ` alone (a word without spaces).
    pub fn matches_in_word(&self, word: &str) -> bool {
        debug_assert!(!word.contains(' '), "one word: {word:?}");
        let mut stream = format!(" {word} ");
        stream.extend(std::iter::repeat_n(' ', STREAM_PADDING));
        let span = Span {
            start: 1,
            end: 1 + word.len() as u32,
            at: 0,
        };
        let mut found = Vec::new();
        self.find(&stream, &[span], true, &mut found);
        !found.is_empty()
    }

    /// Every match in `stream`, whose words and parts are `words` (followed by at least
    /// [`STREAM_PADDING`] bytes);
    /// `unspaced` when any word is of a script without spaces. Sorted as an Aho-Corasick
    /// automaton reports overlapping matches: by end, then longest first.
    pub fn find(&self, stream: &str, words: &[Span], unspaced: bool, out: &mut Vec<Found>) {
        let s = stream.as_bytes();
        for w in words {
            let (from, end) = (w.start as usize, w.end as usize);
            let start = w.start - 1;
            if let Some((lo, hi)) = self.words.get(s, from, end) {
                for phrase in &self.phrases[lo as usize..hi as usize] {
                    if phrase.follows(s, end) {
                        out.push(Found {
                            end: (end + phrase.tail.len()) as u32,
                            start,
                            pattern: phrase.pattern,
                            at: w.at,
                        });
                    }
                }
            }
            self.prefixes.walk(&s[from..], |n, pattern| {
                out.push(Found {
                    end: (from + n) as u32,
                    start,
                    pattern,
                    at: w.at,
                })
            });
            let last = s[end - 1];
            if self.suffix_ends[last as usize / 64] & (1 << (last % 64)) != 0 {
                for (suffix, byte, pattern) in &self.suffixes {
                    if *byte == last && stream[..=end].ends_with(&**suffix) {
                        let start = (end + 1 - suffix.len()) as u32;
                        out.push(Found {
                            end: end as u32 + 1,
                            start,
                            pattern: *pattern,
                            at: word_at(words, start).expect("a suffix starts in a word"),
                        });
                    }
                }
            }
        }
        if unspaced && let Some(ac) = &self.inside {
            for m in ac.find_overlapping_iter(stream) {
                let start = m.start() as u32;
                let Some(at) = word_at(words, start) else {
                    continue;
                };
                out.push(Found {
                    end: m.end() as u32,
                    start,
                    pattern: self.inside_ids[m.pattern().as_usize()],
                    at,
                });
            }
        }
        out.sort_unstable();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_trie_finds_every_stem_a_word_starts_with_shortest_first() {
        let trie = Trie::build(&[("err", 0), ("error", 1), ("fail", 2), ("failed log", 3)]);
        let walk = |s: &str| {
            let mut found = Vec::new();
            trie.walk(s.as_bytes(), |n, p| found.push((n, p)));
            found
        };
        assert_eq!(walk("errors here"), vec![(3, 0), (5, 1)]);
        assert_eq!(walk("failed login"), vec![(4, 2), (10, 3)]);
        assert_eq!(walk("fai"), vec![]);
        assert_eq!(walk(""), vec![]);
        assert_eq!(walk("other"), vec![]);
    }

    #[test]
    fn a_word_reads_as_its_first_eight_bytes_zero_filled() {
        let bytes = [0x61, 0x7a, 0xc3, 0xa9, 0x2d, 0x31, 0xff, 0x20, 0x7e];
        for len in 0..=bytes.len() {
            let mut padded = [0; 8];
            let own = len.min(8);
            padded[..own].copy_from_slice(&bytes[..own]);
            assert_eq!(first8(&bytes[..len]), u64::from_le_bytes(padded), "{len}");
        }
    }

    #[test]
    fn the_word_table_finds_its_words_and_only_them() {
        // Words sharing their first and last eight bytes, differing only in the middle, of
        // every length up to 40.
        let mut words: Vec<String> = (1..=40).map(|n| "a".repeat(n)).collect();
        words.push(format!("{}x{}", "a".repeat(8), "a".repeat(8)));
        words.push("authentication_failures".into());
        words.push("authentication".into());
        let entries: Vec<(&str, (u32, u32))> = words
            .iter()
            .enumerate()
            .map(|(k, w)| (w.as_str(), (k as u32, k as u32 + 1)))
            .collect();
        let table = WordTable::build(&entries);
        assert_eq!(table.len(), words.len());
        let get = |w: &str| {
            let mut stream = format!(" {w} ").into_bytes();
            stream.extend([b' '; STREAM_PADDING]);
            table.get(&stream, 1, 1 + w.len())
        };
        for (k, w) in words.iter().enumerate() {
            assert_eq!(get(w), Some((k as u32, k as u32 + 1)), "{w}");
            assert_eq!(table.get_word(w), Some((k as u32, k as u32 + 1)), "{w}");
        }
        for miss in [
            "",
            "b",
            "ab",
            "aaaaaaaaaaaaaaaaayaaaaaaaaaaaaaaaaaaaa",
            "aaaaaaaayaaaaaaaa",
            "authenticatio",
            "authentication_failurez",
        ] {
            assert_eq!(get(miss), None, "{miss}");
            assert_eq!(table.get_word(miss), None, "{miss}");
        }
    }
}
