//! The shared token counter: OpenAI's cl100k BPE through tiktoken-rs. Counts are estimates for
//! budgeting (the agents' own models and the planner's model tokenize differently), but they
//! are exactly what tiktoken counts.
//!
//! tiktoken spends most of its time in its pre-tokenizing regex (a backtracking `fancy_regex`).
//! For ASCII text this module splits pieces with a hand-written scanner that follows the cl100k
//! pattern alternative by alternative, then counts each piece with the same rank table and
//! tiktoken's own `byte_pair_split`: the same counts at a fraction of the time (tested equal on
//! random text). Other text goes through tiktoken unchanged.

use std::sync::LazyLock;

use rustc_hash::FxHashMap;
use tiktoken_rs::{CoreBPE, Rank};

/// The process-wide encoder; the first call builds it (about 0.2 s in release, 23 MB).
pub fn encoder() -> &'static CoreBPE {
    tiktoken_rs::cl100k_base_singleton()
}

/// The cl100k rank table, rebuilt once from the encoder (byte string → rank).
static RANKS: LazyLock<FxHashMap<Vec<u8>, Rank>> = LazyLock::new(|| {
    let bpe = encoder();
    let mut ranks = FxHashMap::default();
    ranks.reserve(100_300);
    // cl100k's ordinary tokens are 0..=100255; the specials above them are never counted.
    for rank in 0..100_256 {
        if let Ok(bytes) = bpe.decode_bytes(&[rank]) {
            ranks.insert(bytes, rank);
        }
    }
    ranks
});

/// The ranks of the tokens of at most seven bytes, keyed by the bytes packed into a `u64` with
/// the length in the top byte: most pieces are this short, and a `u64` hashes and compares in
/// one step.
static SHORT: LazyLock<FxHashMap<u64, Rank>> = LazyLock::new(|| {
    RANKS
        .iter()
        .filter(|(bytes, _)| bytes.len() <= 7)
        .map(|(bytes, rank)| (pack(bytes), *rank))
        .collect()
});

/// Up to seven bytes and their length as one `u64`.
fn pack(bytes: &[u8]) -> u64 {
    let mut key = (bytes.len() as u64) << 56;
    for (i, b) in bytes.iter().enumerate() {
        key |= u64::from(*b) << (8 * i);
    }
    key
}

/// Builds the encoder and the rank tables now rather than on the first request.
pub fn warm() {
    let _ = encoder();
    LazyLock::force(&RANKS);
    LazyLock::force(&SHORT);
}

/// Pieces of several tokens remembered per thread (JSON's punctuation runs recur in every plan);
/// the memo is emptied when it reaches this size.
const MEMO_LIMIT: usize = 8192;

thread_local! {
    static MEMO: std::cell::RefCell<FxHashMap<Box<[u8]>, u32>> =
        std::cell::RefCell::new(FxHashMap::default());
}

/// Slots of the per-thread cache of pieces (a power of two).
const HOT_SLOTS: usize = 2048;

/// The longest piece the per-thread cache holds.
const HOT_BYTES: usize = 15;

/// The sixteen bytes at `at` (the caller checks there are sixteen).
#[inline]
fn load16(text: &[u8], at: usize) -> u128 {
    text.get(at..at + 16)
        .and_then(|chunk| chunk.try_into().ok())
        .map_or(0, u128::from_le_bytes)
}

/// The piece `text[at..at + len]` (at most fifteen bytes) and its length as one `u128`, the
/// length in the top byte (so no piece packs to 0). The piece is read in one sixteen-byte load
/// and masked: from `at` where sixteen bytes remain, else the text's last sixteen shifted down
/// (the last pieces of every text). Never copied into a buffer that is then reloaded: the
/// reload waits on the copy's narrower stores (a store-forwarding stall on every piece). Only a
/// text shorter than sixteen bytes is gathered byte by byte, in a register.
#[inline]
fn pack_hot(text: &[u8], at: usize, len: usize) -> u128 {
    debug_assert!(len <= HOT_BYTES && at + len <= text.len());
    let word = if at + 16 <= text.len() {
        load16(text, at)
    } else if text.len() >= 16 {
        let start = text.len() - 16;
        load16(text, start) >> (8 * (at - start))
    } else {
        text[at..at + len]
            .iter()
            .rev()
            .fold(0u128, |word, &b| word << 8 | u128::from(b))
    };
    word & PIECE_MASKS[len] | (len as u128) << 120
}

/// The masks of a piece's first `len` bytes, by `len` (a load in place of two variable shifts
/// of a `u128`).
static PIECE_MASKS: [u128; HOT_BYTES + 1] = {
    let mut masks = [0u128; HOT_BYTES + 1];
    let mut len = 1;
    while len <= HOT_BYTES {
        masks[len] = (1u128 << (8 * len)) - 1;
        len += 1;
    }
    masks
};

/// Recently seen chunks (see [`chunk_end`]) of two to fifteen bytes and their token counts, per
/// thread, in a two-way set-associative cache: a chunk's packed key picks a set of two slots, so
/// a lookup is one multiply and two compares at most, and the few hundred chunks a plan's JSON
/// repeats (keys with their punctuation, common words) stay in 34 KiB where the rank tables
/// (100k entries) fit no cache. A chunk not in its set is counted piece by piece from the rank
/// tables and displaces the set's older chunk.
struct Hot {
    keys: Box<[u128; HOT_SLOTS]>,
    counts: Box<[u8; HOT_SLOTS]>,
}

impl Hot {
    fn new() -> Hot {
        Hot {
            keys: Box::new([0; HOT_SLOTS]),
            counts: Box::new([0; HOT_SLOTS]),
        }
    }

    /// Tokens of the chunk `text[at..end]`, of two to [`HOT_BYTES`] bytes.
    #[inline]
    fn count(&mut self, text: &[u8], at: usize, end: usize) -> u64 {
        let chunk = &text[at..end];
        let key = pack_hot(text, at, chunk.len());
        // Fibonacci hashing of both halves: the top bits of the product spread every byte.
        let mixed = (key as u64 ^ (key >> 64) as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        // Two ways per set: the set's first slot holds the piece seen last, the second the
        // piece it displaced.
        let slot = ((mixed >> (64 - HOT_SLOTS.trailing_zeros())) as usize) & !1;
        if self.keys[slot] == key {
            return u64::from(self.counts[slot]);
        }
        let pair = slot + 1;
        if self.keys[pair] == key {
            return u64::from(self.counts[pair]);
        }
        let n = uncached_pieces(chunk);
        self.keys[pair] = self.keys[slot];
        self.counts[pair] = self.counts[slot];
        self.keys[slot] = key;
        // Fifteen bytes are at most fifteen tokens.
        self.counts[slot] = n as u8;
        n
    }
}

thread_local! {
    static HOT: std::cell::RefCell<Hot> = std::cell::RefCell::new(Hot::new());
}

/// Tokens of `chunk`, piece by piece from the rank tables.
fn uncached_pieces(chunk: &[u8]) -> u64 {
    pieces(chunk, 0, chunk.len(), |text, at, end| {
        uncached_count(&text[at..end])
    })
}

/// Tokens of the pieces of `text[at..end]` (`end` the end of a chunk): one for a piece of one
/// byte, what `longer` counts for each longer piece `text[at..end]` (`text` cut at `end`).
#[inline]
fn pieces(
    text: &[u8],
    mut at: usize,
    end: usize,
    mut longer: impl FnMut(&[u8], usize, usize) -> u64,
) -> u64 {
    let text = &text[..end];
    let mut total = 0;
    while at < end {
        let piece_end = piece_end(text, at);
        total += if piece_end - at == 1 {
            1
        } else {
            longer(text, at, piece_end)
        };
        at = piece_end;
    }
    total
}

/// Tokens of a piece of two bytes or more, from the rank tables: one if the piece is a token,
/// else what [`split_count`] makes of it.
fn uncached_count(piece: &[u8]) -> u64 {
    let single = if piece.len() <= 7 {
        SHORT.contains_key(&pack(piece))
    } else {
        RANKS.contains_key(piece)
    };
    if single { 1 } else { split_count(piece) }
}

/// Tokens of a piece that is not a single token: remembered, else merged by tiktoken's BPE.
fn split_count(piece: &[u8]) -> u64 {
    MEMO.with(|memo| {
        if let Some(&n) = memo.borrow().get(piece) {
            return u64::from(n);
        }
        let n = tiktoken_rs::byte_pair_split(piece, &RANKS).len() as u32;
        let mut memo = memo.borrow_mut();
        if memo.len() >= MEMO_LIMIT {
            memo.clear();
        }
        memo.insert(piece.into(), n);
        u64::from(n)
    })
}

/// Tokens of `text` under cl100k.
pub fn count(text: &str) -> u64 {
    if !text.is_ascii() {
        return encoder().encode_ordinary(text).len() as u64;
    }
    let bytes = text.as_bytes();
    // The cache is borrowed once per text, not once per chunk.
    HOT.with(|hot| {
        let mut hot = hot.borrow_mut();
        let mut total = 0u64;
        let mut at = 0;
        while at < bytes.len() {
            let end = chunk_end(bytes, at);
            total += match end - at {
                1 => 1,
                2..=HOT_BYTES => hot.count(bytes, at, end),
                // A long chunk (a long word, a run of digits or blanks) piece by piece, the
                // pieces through the cache.
                _ => pieces(bytes, at, end, |text, at, end| {
                    if end - at <= HOT_BYTES {
                        hot.count(text, at, end)
                    } else {
                        uncached_count(&text[at..end])
                    }
                }),
            };
            at = end;
        }
        total
    })
}

/// Where the chunk of ASCII text from `at` ends: just after its first run of letters (at the
/// end of the text if none). The cl100k pattern always ends a piece there: the last letter of a
/// run is the end of a letters piece (`[^\r\n\p{L}\p{N}]?+\p{L}++`, possessive) or of a
/// contraction (`'s`, `'ll`, …), and either stops at the first byte that is not a letter. A
/// chunk's pieces are therefore the text's pieces in it, read alone: none reads past the chunk
/// (a chunk ends with a letter, so its blanks are followed by more of it and `\s++$` and
/// `\s+(?!\S)` read them alike), and none starts before it (the pattern looks at no byte
/// before a piece). A chunk's count is thus exact, and the pieces of JSON come two or three to
/// a chunk (`","complexity`, `":"diagnostic`): one lookup in the cache instead of one a piece.
#[inline]
fn chunk_end(b: &[u8], at: usize) -> usize {
    // Byte by byte to the first letter: the runs before one are short (a space, JSON's `":"`);
    // eight bytes at a time measured slower.
    let mut i = at;
    while i < b.len() && class(b[i]) != LETTER {
        i += 1;
    }
    if i == b.len() {
        return i;
    }
    letters_end(b, i + 1)
}

/// The classes of ASCII bytes the cl100k pattern tells apart, one bit each.
const LETTER: u8 = 1;
const DIGIT: u8 = 2;
/// `\s` but a line break: space, tab, vertical tab, form feed.
const BLANK: u8 = 4;
/// `\r` and `\n`.
const NEWLINE: u8 = 8;
/// Neither a letter, a digit nor `\s`: punctuation, symbols, other control bytes.
const OTHER: u8 = 16;

/// The class of every byte (bytes above ASCII never reach the scanner).
static CLASS: [u8; 256] = {
    let mut table = [OTHER; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = if c.is_ascii_alphabetic() {
            LETTER
        } else if c.is_ascii_digit() {
            DIGIT
        } else if matches!(c, b'\n' | b'\r') {
            NEWLINE
        } else if matches!(c, b' ' | b'\t' | 0x0b | 0x0c) {
            BLANK
        } else {
            OTHER
        };
        b += 1;
    }
    table
};

#[inline]
fn class(b: u8) -> u8 {
    CLASS[b as usize]
}

/// Where the run of bytes of `classes` from `at` ends.
#[inline]
fn run_end(b: &[u8], mut at: usize, classes: u8) -> usize {
    while at < b.len() && class(b[at]) & classes != 0 {
        at += 1;
    }
    at
}

/// Where the run of ASCII letters from `at` ends: eight bytes at a time (a word of text is
/// usually one step), then byte by byte near the end of the text.
#[inline]
fn letters_end(b: &[u8], mut at: usize) -> usize {
    const LOW: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    while let Some(chunk) = b.get(at..at + 8) {
        let x = u64::from_le_bytes(chunk.try_into().expect("eight bytes"));
        // Bytes here are ASCII (below 0x80). Setting bit 5 maps `A-Z` onto `a-z` and no other
        // byte into `a-z`; a byte's top bit then says whether it is at least `a`, and at least
        // `{` (one past `z`), with no carry between bytes.
        let folded = x | (0x20 * LOW);
        let from_a = folded + (0x80 - b'a' as u64) * LOW;
        let past_z = folded + (0x80 - b'{' as u64) * LOW;
        let letters = from_a & !past_z & HIGH;
        let others = !letters & HIGH;
        if others != 0 {
            return at + (others.trailing_zeros() / 8) as usize;
        }
        at += 8;
    }
    run_end(b, at, LETTER)
}

/// Where the cl100k piece starting at `at` ends, for ASCII text. The pattern, in order:
/// `'(?i:[sdmt]|ll|ve|re)` | `[^\r\n\p{L}\p{N}]?+\p{L}++` | `\p{N}{1,3}+` |
/// ` ?[^\s\p{L}\p{N}]++[\r\n]*+` | `\s++$` | `\s*[\r\n]` | `\s+(?!\S)` | `\s`.
/// Bytes are told apart by one table lookup each; the common pieces (a word, a word after a
/// space or a quote) are tested first.
#[inline]
fn piece_end(b: &[u8], at: usize) -> usize {
    let n = b.len();
    let c = b[at];
    let k = class(c);
    // 2. Letters (a contraction needs an apostrophe first, so none starts here).
    if k == LETTER {
        return letters_end(b, at + 1);
    }
    // 1. Contractions.
    if c == b'\'' && at + 1 < n {
        let x = b[at + 1].to_ascii_lowercase();
        if matches!(x, b's' | b'd' | b'm' | b't') {
            return at + 2;
        }
        if at + 2 < n {
            let y = b[at + 2].to_ascii_lowercase();
            if matches!((x, y), (b'l', b'l') | (b'v', b'e') | (b'r', b'e')) {
                return at + 3;
            }
        }
    }
    // 2. Letters after one other character (not a digit or a line break); possessive: a taken
    //    prefix is never given back.
    if k & (BLANK | OTHER) != 0 && at + 1 < n && class(b[at + 1]) == LETTER {
        return letters_end(b, at + 2);
    }
    // 3. One to three digits.
    if k == DIGIT {
        let mut end = at + 1;
        while end < n && end - at < 3 && class(b[end]) == DIGIT {
            end += 1;
        }
        return end;
    }
    // 4. Punctuation, after at most one space, then line breaks.
    let start = if c == b' ' { at + 1 } else { at };
    let end = run_end(b, start, OTHER);
    if end > start {
        return run_end(b, end, NEWLINE);
    }
    // 5–8. Whitespace.
    let run = run_end(b, at, BLANK | NEWLINE);
    if run == n {
        return n;
    }
    if let Some(last) = (at..run).rev().find(|&i| class(b[i]) == NEWLINE) {
        return last + 1;
    }
    if run - at >= 2 {
        return run - 1;
    }
    at + 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn tiktoken(text: &str) -> u64 {
        encoder().encode_ordinary(text).len() as u64
    }

    #[test]
    fn pieces_pack_alike_wherever_they_sit_in_the_text() {
        // A piece packs to its bytes and its length whether it is read from its place, from
        // the text's last sixteen bytes or byte by byte: each way against the plain packing.
        let text: Vec<u8> = (0..40u8).map(|i| b'!' + i).collect();
        for n in 1..=text.len() {
            let text = &text[..n];
            for at in 0..n {
                for len in 1..=HOT_BYTES.min(n - at) {
                    let mut expected = (len as u128) << 120;
                    for (i, &b) in text[at..at + len].iter().enumerate() {
                        expected |= u128::from(b) << (8 * i);
                    }
                    assert_eq!(pack_hot(text, at, len), expected, "{n} {at} {len}");
                }
            }
        }
    }

    #[test]
    fn counts_known_text() {
        assert_eq!(count(""), 0);
        assert_eq!(count("hello world"), 2);
    }

    #[test]
    fn counts_equal_tiktoken_on_shapes_that_matter() {
        for text in [
            "Show failed sign-ins from Azure AD in the last 24 hours, and correlate them!",
            r#"{"platform":"kql","use_knowledge":true,"query_analysis":{"intent":"security","confidence":0.85}}"#,
            r#"{"required_platforms":["kql","sql"],"reasoning":"sql ('Users' (schema hint), 'table'); intent diagnostic (score 4.0)","entities":{"tables":["Users"],"indexes":[],"time_range":"last 24 hours"},"knowledge_requirements":{"requires_sop":true},"complexity_factors":["2 platforms","cross-platform join"],"fallback_reason":"unreachable"}"#,
            "I'll we've they're DON'T it's 'S 'll",
            "a  b   c\n\n  d \t\r\n e    ",
            "trailing spaces   ",
            "   leading",
            "numbers 1234567 12.5% -3 x1y2z3",
            "index=web_prod | stats count by src_ip >= 500;",
            " !!  ??\n\n",
            "'",
            "''",
            "'x",
            "\n",
            "ab\n\n\ncd",
        ] {
            assert_eq!(count(text), tiktoken(text), "{text:?}");
        }
    }

    #[test]
    fn counts_stay_exact_when_the_piece_cache_overflows() {
        // Far more distinct pieces of every cached length than the cache has slots, twice: the
        // second pass reads from whatever the first left in the cache.
        let text: String = (0..6000u32)
            .map(|i| {
                format!(
                    " w{}x{} ",
                    "q".repeat((i % 13) as usize),
                    i * 7919 % 100_000
                )
            })
            .collect();
        let expected = tiktoken(&text);
        assert_eq!(count(&text), expected);
        assert_eq!(count(&text), expected);
    }

    #[test]
    fn letter_runs_end_where_the_byte_table_says() {
        let text: Vec<u8> = (0u8..128)
            .chain(b"abcdefghijklmnopqrstuvwxyzAZ@[`{".iter().copied())
            .collect();
        for at in 0..text.len() {
            for end in at..=text.len() {
                let b = &text[..end];
                if at < b.len() {
                    assert_eq!(
                        letters_end(b, at),
                        run_end(b, at, LETTER),
                        "at {at} of {end}"
                    );
                }
            }
        }
        let words = b"Correlate Splunk firewall blocks with Azure sign-in failures";
        for at in 0..words.len() {
            assert_eq!(
                letters_end(words, at),
                run_end(words, at, LETTER),
                "at {at}"
            );
        }
    }

    #[test]
    fn other_scripts_count_through_tiktoken() {
        let text = "Zeige die Fehler im Zahlungsdienst — データベースのエラー";
        assert_eq!(count(text), tiktoken(text));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        #[test]
        fn counts_equal_tiktoken_on_random_ascii(text in "[ -~\\t\\n\\r]{0,120}") {
            prop_assert_eq!(count(&text), tiktoken(&text), "{:?}", text);
        }

        #[test]
        fn counts_equal_tiktoken_on_word_like_text(
            words in proptest::collection::vec("([A-Za-z]{1,12}|[0-9]{1,6}|'[a-zA-Z]{1,3}|[ \\t]{1,4}|\\n{1,2}|[,.;:!?\"{}\\[\\]=<>|_-]{1,3})", 0..40)
        ) {
            let text: String = words.concat();
            prop_assert_eq!(count(&text), tiktoken(&text), "{:?}", text);
        }
    }
}
