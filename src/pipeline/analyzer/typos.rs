//! Misspellings of a curated set of product and error words ([`TYPO_TARGETS`]): a dropped,
//! doubled, swapped or extra letter, or a vowel for another. The lexicon reads them as the word
//! meant, one hash lookup per unknown word, before its scan.

use std::collections::HashMap;

use rustc_hash::FxHashMap;

use super::vocabulary::{NOT_TYPOS, TYPO_TARGETS};

/// Misspellings of [`TYPO_TARGETS`], except those that are words of any list themselves (any
/// pattern matches in them, says `is_term`) or real words ([`NOT_TYPOS`]), and those two
/// targets share.
pub(super) fn table(is_term: impl Fn(&str) -> bool) -> FxHashMap<String, &'static str> {
    let mut table: HashMap<String, Option<&'static str>> = HashMap::new();
    for &target in TYPO_TARGETS {
        for v in typo_variants(target) {
            if NOT_TYPOS.contains(&v.as_str()) || is_term(&v) {
                continue;
            }
            table
                .entry(v)
                .and_modify(|t| {
                    if *t != Some(target) {
                        *t = None;
                    }
                })
                .or_insert(Some(target));
        }
    }
    table
        .into_iter()
        .filter_map(|(v, t)| t.map(|t| (v, t)))
        .collect()
}

/// The misspellings of `word` that are read as it: one letter dropped, doubled, swapped with
/// its neighbour, added, or a vowel for another vowel; never a change to the first letter.
pub fn typo_variants(word: &str) -> Vec<String> {
    let w: Vec<char> = word.chars().collect();
    let n = w.len();
    let mut out = Vec::new();
    let mut push = |v: Vec<char>| {
        if v.len() >= 4 {
            let s: String = v.into_iter().collect();
            if s != word {
                out.push(s);
            }
        }
    };
    for i in 1..n {
        let mut v = w.clone();
        v.remove(i);
        push(v);
    }
    for i in 1..n.saturating_sub(1) {
        let mut v = w.clone();
        v.swap(i, i + 1);
        push(v);
    }
    for i in 0..n {
        let mut v = w.clone();
        v.insert(i, w[i]);
        push(v);
    }
    for i in 1..=n {
        for c in 'a'..='z' {
            let mut v = w.clone();
            v.insert(i, c);
            push(v);
        }
    }
    const VOWELS: [char; 5] = ['a', 'e', 'i', 'o', 'u'];
    for i in 1..n {
        if VOWELS.contains(&w[i]) {
            for c in VOWELS.iter().filter(|&&c| c != w[i]) {
                let mut v = w.clone();
                v[i] = *c;
                push(v);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::analyzer::lexicon::lexicon;
    use crate::pipeline::text::Text;

    #[test]
    fn misspelled_product_and_error_words_are_read_as_meant() {
        let mut text = Text::new("shw azure app insghts exceptons, databse and splnk");
        lexicon().correct(&mut text);
        let fixed: Vec<(String, &str)> = text
            .corrections()
            .map(|(a, b)| (a.to_string(), b))
            .collect();
        for want in ["insights", "exceptions", "database", "splunk"] {
            assert!(fixed.iter().any(|(_, b)| *b == want), "{want}: {fixed:?}");
        }
        assert!(
            !fixed.iter().any(|(a, _)| a == "shw"),
            "short words are left alone"
        );
    }

    #[test]
    fn real_words_are_not_read_as_typos() {
        for word in [
            "filed", "routes", "terror", "server", "sever", "trace", "access", "seller",
        ] {
            let mut text = Text::new(word);
            lexicon().correct(&mut text);
            assert_eq!(text.corrections().count(), 0, "{word}");
        }
    }

    #[test]
    fn misspellings_are_lower_case_ascii_letters() {
        for word in lexicon().typos.keys() {
            assert!(word.bytes().all(|b| b.is_ascii_lowercase()), "{word}");
        }
    }

    #[test]
    fn variants_never_change_the_first_letter() {
        assert!(typo_variants("error").iter().all(|v| v.starts_with('e')));
        assert!(typo_variants("insights").contains(&"insghts".to_string()));
    }
}
