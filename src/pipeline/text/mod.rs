//! Tokenizing a query once for every stage that reads words.
//!
//! A word is a run of letters, digits and `_`, with inner dashes and apostrophes: dashes are
//! dropped so `sign-in`, `signin` and `Sign-In` read alike, and a trailing `'s` is dropped. Every
//! word also has a *form* for matching: lower-cased with Latin accents folded (`Données` reads
//! `donnees`, `Umsätze` reads `umsatze`), so vocabularies match however the accents were typed.
//! Scripts written without spaces (Japanese, Chinese, Korean) end a word where they meet Latin
//! letters (`Splunkのエラー` is `splunk` + `のエラー`); their vocabulary matches inside words.
//! CamelCase words (`AzureActivity`, `AppExceptions`) also yield their parts.

mod words;

use std::borrow::Cow;
use std::ops::Range;

pub use words::{
    camel_split, eq_folded, fold, is_cjk, is_identifier_like, push_folded, spelled_parts,
    word_matches,
};

/// One word of the query.
#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    /// Where the word is in the raw query (bytes).
    pub raw: Range<usize>,
    /// Where its matching form is in [`Text::forms`].
    form: Range<usize>,
    /// Punctuation (`, ; . : ! ?`) or a line break separates it from the word before.
    pub clause_start: bool,
    /// A sentence ends before it (`. ; ! ?` or a line break).
    pub sentence_start: bool,
    /// Written in a script without spaces between words.
    pub cjk: bool,
    /// Has an inner capital after a lower-case letter (`SigninLogs`, `FactOrders`).
    pub camel: bool,
}

/// A query tokenized once, with its lower-cased text, for every stage that matches words.
#[derive(Debug, Clone, PartialEq)]
pub struct Text<'a> {
    /// The query as sent.
    pub raw: &'a str,
    /// The query lower-cased ([`Text::lower`]), then the matching forms of all words and
    /// parts.
    forms: String,
    /// Where the lower-cased query ends in `forms`.
    lower_len: usize,
    pub tokens: Vec<Token>,
    /// The parts of CamelCase and dashed words: the word's index and the part's range in
    /// `forms`, in order.
    parts: Vec<(u16, Range<u32>)>,
    /// Words read as another word (typo correction): token index and the word meant.
    corrections: Vec<(usize, &'static str)>,
}

/// A text's matching forms ([`Text::form`]), word by word, sliced once: the passes that walk
/// every word read a form with one load, where [`Text::form`] checks the index, the
/// corrections and both ends of the slice on every call.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Forms<'t>(Vec<&'t str>);

impl<'t> std::ops::Deref for Forms<'t> {
    type Target = [&'t str];

    fn deref(&self) -> &[&'t str] {
        &self.0
    }
}

impl<'t> Forms<'t> {
    /// The form of word `i`, if there is one.
    pub fn word(&self, i: usize) -> Option<&'t str> {
        self.0.get(i).copied()
    }

    /// Whether consecutive words read `parts`, a name's parts split once, ahead of the request
    /// ([`spelled_parts`]): `signin logs` (and `sign-in logs`) for `SigninLogs`.
    pub fn spells(&self, parts: &[String]) -> bool {
        parts.len() > 1
            && self
                .0
                .windows(parts.len())
                .any(|words| words.iter().zip(parts).all(|(w, p)| *w == p.as_str()))
    }
}

impl<'a> Text<'a> {
    /// Tokenizes `raw`.
    pub fn new(raw: &'a str) -> Text<'a> {
        let lower = raw.to_lowercase();
        let mut w = Words::new(raw.len() / 5 + 1, lower.len() + raw.len() * 2 + 8);
        w.forms.push_str(&lower);
        let lower_len = lower.len();
        let mut chars = raw.char_indices().peekable();
        while let Some(&(start, c)) = chars.peek() {
            if !is_word_char(c) {
                // `10.0.0.5`, `10:30`: punctuation inside a word is no break.
                let followed_by_space = raw[start + c.len_utf8()..]
                    .chars()
                    .next()
                    .is_none_or(char::is_whitespace);
                if let Some(kind) = punctuation(c)
                    && (followed_by_space || kind.always)
                {
                    w.clause_start = true;
                    w.sentence_start |= kind.ends_sentence;
                }
                chars.next();
                continue;
            }
            let cjk = is_cjk(c);
            let form_start = w.forms.len();
            let mut end = start;
            let mut prev_lower = false;
            let mut camel = false;
            let mut has_lower = false;
            // `PSQLException`, `HTTPError`: an acronym of two letters or more before a word
            // (never `URLs`, `IPsec`: a plural, or a single letter before the lower case).
            let (mut uppers, mut acronym, mut lowers) = (0usize, false, 0usize);
            while let Some(&(i, c)) = chars.peek() {
                let joins = matches!(c, '-' | '\'' | '\u{2019}')
                    && end > start
                    && raw[i + c.len_utf8()..]
                        .chars()
                        .next()
                        .is_some_and(|n| is_word_char(n) && is_cjk(n) == cjk);
                if is_word_char(c) && is_cjk(c) == cjk {
                    camel |= prev_lower && c.is_uppercase();
                    if c.is_uppercase() {
                        uppers += 1;
                        lowers = 0;
                    } else {
                        if uppers > 0 {
                            acronym = uppers >= 3;
                        }
                        uppers = 0;
                        lowers += usize::from(c.is_lowercase());
                        camel |= acronym && lowers >= 2;
                    }
                    prev_lower = c.is_lowercase();
                    has_lower |= prev_lower;
                    push_folded(&mut w.forms, c);
                } else if joins {
                    if c != '-' {
                        w.forms.push('\'');
                    }
                } else {
                    break;
                }
                end = i + c.len_utf8();
                chars.next();
            }
            let camel = camel && has_lower;
            let compound = camel || raw[start..end].contains('-');
            drop_apostrophes(&mut w.forms, form_start);
            let form = form_start..w.forms.len();
            w.end_word(raw, start..end, form, cjk, camel, compound);
        }
        w.into_text(raw, lower_len)
    }

    /// The query lower-cased (for syntax such as `index=`).
    pub fn lower(&self) -> &str {
        &self.forms[..self.lower_len]
    }

    /// The number of words.
    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    /// Whether the query has no words.
    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    /// The matching form of word `i` (lower-case, accents folded, typo corrected).
    #[inline]
    pub fn form(&self, i: usize) -> &str {
        if !self.corrections.is_empty()
            && let Some((_, word)) = self.corrections.iter().find(|(at, _)| *at == i)
        {
            return word;
        }
        &self.forms[self.tokens[i].form.clone()]
    }

    /// Word `i` exactly as it appears in the query (dashes and apostrophes kept).
    pub fn raw_word(&self, i: usize) -> &'a str {
        &self.raw[self.tokens[i].raw.clone()]
    }

    /// Word `i` as written (dashes and a trailing `'s` removed).
    pub fn original(&self, i: usize) -> Cow<'a, str> {
        let raw = self.raw_word(i);
        let raw = raw
            .strip_suffix("'s")
            .or_else(|| raw.strip_suffix("\u{2019}s"))
            .unwrap_or(raw);
        // 0xE2 leads the UTF-8 of U+2019; the byte test spares most words the char search.
        let joined = raw.bytes().any(|b| matches!(b, b'-' | b'\'' | 0xE2))
            && raw.contains(['-', '\'', '\u{2019}']);
        if joined {
            Cow::Owned(
                raw.chars()
                    .filter(|c| !matches!(c, '-' | '\'' | '\u{2019}'))
                    .collect(),
            )
        } else {
            Cow::Borrowed(raw)
        }
    }

    /// Reads word `i` as `word` from now on (a typo correction).
    pub fn correct(&mut self, i: usize, word: &'static str) {
        self.corrections.push((i, word));
    }

    /// The corrections made, as (word as written, word meant).
    pub fn corrections(&self) -> impl Iterator<Item = (Cow<'a, str>, &'static str)> + '_ {
        self.corrections
            .iter()
            .map(|(i, word)| (self.original(*i), *word))
    }

    /// Whether a whole word equals `name`, ignoring case and accents (table and index names).
    pub fn has_name(&self, name: &str) -> bool {
        (0..self.tokens.len()).any(|i| eq_folded(self.form(i), name))
    }

    /// Every word's matching form, sliced once ([`Forms`]); take it once the typos are
    /// corrected.
    pub fn forms(&self) -> Forms<'_> {
        let mut forms: Vec<&str> = self
            .tokens
            .iter()
            .map(|t| &self.forms[t.form.clone()])
            .collect();
        for &(i, word) in &self.corrections {
            forms[i] = word;
        }
        Forms(forms)
    }

    /// The parts of word `i`, lower-cased and folded: the words of a CamelCase identifier
    /// (`AppInsights`) or of a dashed compound (`Splunk-Proxy-Logs`); none for other words.
    pub fn parts(&self, i: usize) -> impl Iterator<Item = &str> {
        self.all_parts()
            .filter(move |(w, _)| *w == i)
            .map(|(_, part)| part)
    }

    /// Every word's parts, as (word, part), in order.
    pub fn all_parts(&self) -> impl Iterator<Item = (usize, &str)> {
        self.parts
            .iter()
            .map(|(w, r)| (*w as usize, &self.forms[r.start as usize..r.end as usize]))
    }
}

/// What the tokenizer builds: the words, their forms back to back, the parts of compound
/// words, and whether the next word starts a clause or a sentence.
struct Words {
    tokens: Vec<Token>,
    forms: String,
    parts: Vec<(u16, Range<u32>)>,
    clause_start: bool,
    sentence_start: bool,
}

impl Words {
    fn new(tokens: usize, form_bytes: usize) -> Words {
        Words {
            tokens: Vec::with_capacity(tokens),
            forms: String::with_capacity(form_bytes),
            parts: Vec::new(),
            clause_start: true,
            sentence_start: true,
        }
    }

    /// Ends the word at `span` of `raw`, whose form (apostrophes already dropped) is `form` of
    /// `forms`: the word recorded unless nothing is left of it, and the parts of a `compound`
    /// (CamelCase or dashed) word split out.
    #[inline]
    fn end_word(
        &mut self,
        raw: &str,
        span: Range<usize>,
        form: Range<usize>,
        cjk: bool,
        camel: bool,
        compound: bool,
    ) {
        if form.is_empty() {
            return;
        }
        let index = self.tokens.len() as u16;
        self.tokens.push(Token {
            raw: span.clone(),
            form,
            clause_start: self.clause_start,
            sentence_start: self.sentence_start,
            cjk,
            camel,
        });
        self.clause_start = false;
        self.sentence_start = false;
        if compound {
            split_parts(&raw[span], index, &mut self.forms, &mut self.parts);
        }
    }

    fn into_text<'a>(self, raw: &'a str, lower_len: usize) -> Text<'a> {
        Text {
            raw,
            lower_len,
            forms: self.forms,
            tokens: self.tokens,
            parts: self.parts,
            corrections: Vec::new(),
        }
    }
}

/// Appends the parts of `word` (its CamelCase words, within each dash-separated piece) to
/// `forms`, folded and without apostrophes, recording their ranges; a word of one part records
/// nothing.
fn split_parts(word: &str, index: u16, forms: &mut String, parts: &mut Vec<(u16, Range<u32>)>) {
    let first = parts.len();
    for piece in word.split('-') {
        for part in camel_split(piece) {
            let start = forms.len();
            part.chars()
                .filter(|c| !matches!(c, '\'' | '\u{2019}'))
                .for_each(|c| push_folded(forms, c));
            if forms.len() > start {
                parts.push((index, start as u32..forms.len() as u32));
            }
        }
    }
    if parts.len() - first < 2 {
        parts.truncate(first);
    }
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// What a punctuation mark does: ends a clause, perhaps a sentence; `always` when it does so
/// even without a space after it (line breaks, the full-width marks of CJK text).
struct Punctuation {
    ends_sentence: bool,
    always: bool,
}

fn punctuation(c: char) -> Option<Punctuation> {
    let (ends_sentence, always) = match c {
        // A dash between spaces (`the Splunk owner - can you …`) sets a clause apart as a
        // comma does; inside a word (`on-call`) it joins.
        ',' | ':' | '-' | '\u{2013}' | '\u{2014}' => (false, false),
        '.' | ';' | '!' | '?' => (true, false),
        '\n' | '。' | '！' | '？' | '；' => (true, true),
        // A parenthesis sets its aside apart (`lives in Sentinel (Splunk was switched off)`).
        '、' | '，' | '：' | '(' | ')' => (false, true),
        _ => return None,
    };
    Some(Punctuation {
        ends_sentence,
        always,
    })
}

/// The form being built at `forms[form_start..]` without apostrophes: `Splunk's` reads
/// `splunk`; other apostrophes go.
fn drop_apostrophes(forms: &mut String, form_start: usize) {
    if forms[form_start..].ends_with("'s") {
        forms.truncate(forms.len() - 2);
    }
    if forms[form_start..].contains('\'') {
        let cleaned: String = forms[form_start..].chars().filter(|&c| c != '\'').collect();
        forms.truncate(form_start);
        forms.push_str(&cleaned);
    }
}

#[cfg(test)]
mod tests;
