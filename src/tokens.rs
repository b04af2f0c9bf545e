//! The shared token counter: OpenAI's cl100k BPE through tiktoken-rs. Counts are estimates for
//! budgeting (the agents' own models and the planner's model tokenize differently), but they
//! are exactly what tiktoken counts.
//!
//! tiktoken spends almost all of its time in its pre-tokenizing regex (a backtracking
//! `fancy_regex`): ~0.5 ms for a plan's JSON, where the whole plan takes ~20 µs (criterion,
//! `tokens/` in `benches/pipeline.rs`). For ASCII text this module splits the pieces with a
//! scanner that follows the cl100k pattern alternative by alternative, then counts each piece
//! with tiktoken's own rank table and `byte_pair_split`: the same counts (tested equal on
//! random text). Other text goes through tiktoken unchanged.

use std::sync::LazyLock;

use rustc_hash::FxHashMap;
use tiktoken_rs::{CoreBPE, Rank};

/// The process-wide encoder; the first call builds it (about 0.2 s in release, 23 MB).
pub fn encoder() -> &'static CoreBPE {
    tiktoken_rs::cl100k_base_singleton()
}

/// The cl100k rank table (byte string → rank), rebuilt once from the encoder: tiktoken-rs
/// does not expose its own.
static RANKS: LazyLock<FxHashMap<Vec<u8>, Rank>> = LazyLock::new(|| {
    let bpe = encoder();
    // cl100k's ordinary tokens are 0..=100255; the specials above them are never counted.
    (0..100_256)
        .filter_map(|rank| bpe.decode_bytes(&[rank]).ok().map(|bytes| (bytes, rank)))
        .collect()
});

/// The ranks of the tokens of at most seven bytes, keyed by the bytes packed into a `u64` with
/// the length in the top byte: most pieces are this short, and such a key is found with one
/// hash of an integer and no second memory access for the bytes of a `Vec` key.
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
    LazyLock::force(&SHORT);
}

/// Tokens of `text` under cl100k.
pub fn count(text: &str) -> u64 {
    if !text.is_ascii() {
        return encoder().encode_ordinary(text).len() as u64;
    }
    let bytes = text.as_bytes();
    let mut total = 0;
    let mut at = 0;
    while at < bytes.len() {
        let end = piece_end(bytes, at);
        total += piece_tokens(&bytes[at..end]);
        at = end;
    }
    total
}

/// Tokens of one piece: one if it is a token, else as many as tiktoken's BPE merges it into.
fn piece_tokens(piece: &[u8]) -> u64 {
    let token = match piece.len() {
        1 => true,
        2..=7 => SHORT.contains_key(&pack(piece)),
        _ => RANKS.contains_key(piece),
    };
    if token {
        1
    } else {
        tiktoken_rs::byte_pair_split(piece, &RANKS).len() as u64
    }
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

fn class(b: u8) -> u8 {
    if b.is_ascii_alphabetic() {
        LETTER
    } else if b.is_ascii_digit() {
        DIGIT
    } else if matches!(b, b'\n' | b'\r') {
        NEWLINE
    } else if matches!(b, b' ' | b'\t' | 0x0b | 0x0c) {
        BLANK
    } else {
        OTHER
    }
}

/// Where the run of bytes of `classes` from `at` ends.
fn run_end(b: &[u8], mut at: usize, classes: u8) -> usize {
    while at < b.len() && class(b[at]) & classes != 0 {
        at += 1;
    }
    at
}

/// Where the cl100k piece starting at `at` ends, for ASCII text. The pattern, in order:
/// `'(?i:[sdmt]|ll|ve|re)` | `[^\r\n\p{L}\p{N}]?+\p{L}++` | `\p{N}{1,3}+` |
/// ` ?[^\s\p{L}\p{N}]++[\r\n]*+` | `\s++$` | `\s*[\r\n]` | `\s+(?!\S)` | `\s`.
fn piece_end(b: &[u8], at: usize) -> usize {
    let n = b.len();
    let c = b[at];
    let k = class(c);
    // 2. Letters (a contraction needs an apostrophe first, so none starts here).
    if k == LETTER {
        return run_end(b, at + 1, LETTER);
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
        return run_end(b, at + 2, LETTER);
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
