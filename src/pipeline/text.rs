//! Tokenizing a query once for every stage that reads words.
//!
//! A word is a run of letters, digits and `_`, with inner dashes and apostrophes: dashes are
//! dropped so `sign-in`, `signin` and `Sign-In` read alike, and a trailing `'s` is dropped. Every
//! word also has a *form* for matching: lower-cased with Latin accents folded (`Données` reads
//! `donnees`, `Umsätze` reads `umsatze`), so vocabularies match however the accents were typed.
//! Scripts written without spaces (Japanese, Chinese, Korean) end a word where they meet Latin
//! letters (`Splunkのエラー` is `splunk` + `のエラー`); their vocabulary matches inside words.
//! CamelCase words (`AzureActivity`, `AppExceptions`) also yield their parts.

use std::borrow::Cow;
use std::ops::Range;

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
    /// The query lower-cased ([`Text::lower`]) and the matching forms of all words and parts.
    /// In an ASCII query a plain word's form is its own span of the lower-cased query; joined
    /// words and parts follow it.
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
        if raw.is_ascii() {
            Self::new_ascii(raw)
        } else {
            Self::new_unicode(raw)
        }
    }

    /// The same rules as [`Text::new_unicode`], byte by byte, for the common all-ASCII request:
    /// a word's form is copied from the lower-cased text a run at a time (runs end at inner
    /// dashes and apostrophes).
    fn new_ascii(raw: &'a str) -> Text<'a> {
        let b = raw.as_bytes();
        let n = b.len();
        // A plain word's form is its span of the lower-cased text, which `forms` starts with;
        // only joined words and the parts of compounds are appended.
        let mut w = Words::new(n / 5 + 1, 2 * n + 8);
        w.forms.push_str(raw);
        w.forms.make_ascii_lowercase();
        let mut i = 0;
        while i < n {
            let c = b[i];
            if ASCII_CLASS[c as usize] & WORD == 0 {
                let spaced = b.get(i + 1).is_none_or(u8::is_ascii_whitespace);
                match c {
                    b',' | b':' if spaced => w.clause_start = true,
                    b'.' | b';' | b'!' | b'?' if spaced => {
                        w.clause_start = true;
                        w.sentence_start = true;
                    }
                    b'\n' => {
                        w.clause_start = true;
                        w.sentence_start = true;
                    }
                    _ => {}
                }
                i += 1;
                continue;
            }
            let start = i;
            // The classes of the word's letters or'ed together, and the lower-case letters
            // followed by a capital (a CamelCase boundary) as bits in UPPER's place.
            let (mut seen, mut camel, mut prev) = (0u8, 0u8, 0u8);
            let mut joined = false;
            while i < n {
                let c = b[i];
                let k = ASCII_CLASS[c as usize];
                if k & WORD != 0 {
                    camel |= (prev << 1) & k;
                    seen |= k;
                    prev = k;
                } else if (c == b'-' || c == b'\'')
                    && b.get(i + 1)
                        .is_some_and(|&x| ASCII_CLASS[x as usize] & WORD != 0)
                {
                    joined = true;
                } else {
                    break;
                }
                i += 1;
            }
            let camel = camel & UPPER != 0 && seen & LOWER != 0;
            if !joined {
                w.end_word(raw, start..i, start..i, false, camel, camel);
                continue;
            }
            // Dashes dropped, apostrophes dropped (with a trailing `'s`).
            let form_start = w.forms.len();
            let mut dashed = false;
            let mut run = start;
            for (k, &c) in b[start..i].iter().enumerate() {
                if c == b'-' || c == b'\'' {
                    w.forms.extend_from_within(run..start + k);
                    if c == b'-' {
                        dashed = true;
                    } else {
                        w.forms.push('\'');
                    }
                    run = start + k + 1;
                }
            }
            w.forms.extend_from_within(run..i);
            drop_apostrophes(&mut w.forms, form_start);
            let form = form_start..w.forms.len();
            w.end_word(raw, start..i, form, false, camel, camel || dashed);
        }
        w.into_text(raw, n)
    }

    fn new_unicode(raw: &'a str) -> Text<'a> {
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
            while let Some(&(i, c)) = chars.peek() {
                let joins = matches!(c, '-' | '\'' | '\u{2019}')
                    && end > start
                    && raw[i + c.len_utf8()..]
                        .chars()
                        .next()
                        .is_some_and(|n| is_word_char(n) && is_cjk(n) == cjk);
                if is_word_char(c) && is_cjk(c) == cjk {
                    camel |= prev_lower && c.is_uppercase();
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

    /// Whether some word's form may contain the finder's stem: false only when none does (a
    /// cheap test before a walk over the words; every form and part is in one string, and
    /// corrected words are checked too). The finder is built once by the caller: `memmem::find`
    /// builds its searcher on every call.
    pub fn may_have_word_with(&self, stem: &memchr::memmem::Finder<'_>) -> bool {
        stem.find(self.forms.as_bytes()).is_some()
            || self
                .corrections
                .iter()
                .any(|(_, w)| stem.find(w.as_bytes()).is_some())
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

/// What both tokenizers build: the words, their forms back to back, the parts of compound
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
/// `forms`, folded, recording their ranges; a word of one part records nothing.
fn split_parts(word: &str, index: u16, forms: &mut String, parts: &mut Vec<(u16, Range<u32>)>) {
    let first = parts.len();
    for piece in word.split('-').filter(|p| !p.is_empty()) {
        // Pieces are short: on the stack, not one allocation per piece.
        let chars: smallvec::SmallVec<[char; 24]> = piece.chars().collect();
        let mut start = forms.len();
        for (i, &c) in chars.iter().enumerate() {
            if i > 0 && forms.len() > start && c != '_' {
                let prev = chars[i - 1];
                let next_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
                let boundary = (prev.is_lowercase() && c.is_uppercase())
                    || (prev.is_uppercase() && c.is_uppercase() && next_lower)
                    || (prev.is_alphabetic() && c.is_ascii_digit() && forms.len() - start > 1);
                if boundary {
                    parts.push((index, start as u32..forms.len() as u32));
                    start = forms.len();
                }
            }
            if c == '\'' || c == '\u{2019}' {
                continue;
            }
            push_folded(forms, c);
        }
        if forms.len() > start {
            parts.push((index, start as u32..forms.len() as u32));
        }
    }
    if parts.len() - first < 2 {
        parts.truncate(first);
    }
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// [`ASCII_CLASS`] bits: a word byte (letter, digit, `_`), a lower-case letter, a capital.
/// LOWER shifted left by one is UPPER, so `(prev << 1) & this` marks a capital after a
/// lower-case letter.
const WORD: u8 = 1;
const LOWER: u8 = 2;
const UPPER: u8 = 4;

/// The class of every byte, for the ASCII tokenizer (one load per byte instead of three
/// range tests).
static ASCII_CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        t[c] = if b.is_ascii_lowercase() {
            WORD | LOWER
        } else if b.is_ascii_uppercase() {
            WORD | UPPER
        } else if b.is_ascii_digit() || b == b'_' {
            WORD
        } else {
            0
        };
        c += 1;
    }
    t
};

/// What a punctuation mark does: ends a clause, perhaps a sentence; `always` when it does so
/// even without a space after it (line breaks, the full-width marks of CJK text).
struct Punctuation {
    ends_sentence: bool,
    always: bool,
}

fn punctuation(c: char) -> Option<Punctuation> {
    let (ends_sentence, always) = match c {
        ',' | ':' => (false, false),
        '.' | ';' | '!' | '?' => (true, false),
        '\n' | '。' | '！' | '？' | '；' => (true, true),
        '、' | '，' | '：' => (false, true),
        _ => return None,
    };
    Some(Punctuation {
        ends_sentence,
        always,
    })
}

/// Scripts written without spaces between words: CJK ideographs, kana, Hangul.
pub fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF     // hiragana, katakana
        | 0x31F0..=0x31FF   // katakana extensions
        | 0x3400..=0x4DBF   // CJK extension A
        | 0x4E00..=0x9FFF   // CJK unified ideographs
        | 0xAC00..=0xD7AF   // Hangul syllables
        | 0xF900..=0xFAFF   // CJK compatibility ideographs
        | 0xFF66..=0xFF9F   // half-width katakana
    )
}

/// Pushes `c` lower-cased, with Latin accents folded to their base letter.
pub fn push_folded(out: &mut String, c: char) {
    if c.is_ascii() {
        out.push(c.to_ascii_lowercase());
        return;
    }
    let folded = match c {
        'À'..='Å' | 'à'..='å' | 'Ā' | 'ā' | 'Ă' | 'ă' | 'Ą' | 'ą' => "a",
        'Ç' | 'ç' | 'Ć' | 'ć' | 'Č' | 'č' => "c",
        'È'..='Ë' | 'è'..='ë' | 'Ē' | 'ē' | 'Ę' | 'ę' | 'Ě' | 'ě' => "e",
        'Ì'..='Ï' | 'ì'..='ï' | 'Ī' | 'ī' | 'İ' | 'ı' => "i",
        'Ñ' | 'ñ' | 'Ń' | 'ń' | 'Ň' | 'ň' => "n",
        'Ò'..='Ö' | 'Ø' | 'ò'..='ö' | 'ø' | 'Ō' | 'ō' | 'Ő' | 'ő' => "o",
        'Ù'..='Ü' | 'ù'..='ü' | 'Ū' | 'ū' | 'Ů' | 'ů' | 'Ű' | 'ű' => "u",
        'Ý' | 'ý' | 'ÿ' => "y",
        'Ś' | 'ś' | 'Š' | 'š' => "s",
        'Ź' | 'ź' | 'Ż' | 'ż' | 'Ž' | 'ž' => "z",
        'Ł' | 'ł' => "l",
        'Ř' | 'ř' => "r",
        'ß' => "ss",
        'Æ' | 'æ' => "ae",
        'Œ' | 'œ' => "oe",
        _ => {
            out.extend(c.to_lowercase());
            return;
        }
    };
    out.push_str(folded);
}

/// Replaces `out` with `text` lower-cased and accents folded (ASCII in one pass).
pub fn fold_into(out: &mut String, text: &str) {
    out.clear();
    if text.is_ascii() {
        out.push_str(text);
        out.make_ascii_lowercase();
    } else {
        text.chars().for_each(|c| push_folded(out, c));
    }
}

/// `text` lower-cased with accents folded.
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        push_folded(&mut out, c);
    }
    out
}

/// Whether two words are equal once lower-cased and folded.
fn eq_folded(form: &str, name: &str) -> bool {
    if name.is_ascii() {
        form.eq_ignore_ascii_case(name)
    } else {
        form == fold(name)
    }
}

/// Plural-tolerant word match; `stem*` matches any word starting with `stem`.
pub fn word_matches(term: &str, word: &str) -> bool {
    if let Some(stem) = term.strip_suffix('*') {
        return word.starts_with(stem);
    }
    // Every form below is as long as the term or up to two bytes longer, and (unless the term
    // is a single letter) starts with the term's first letter: most words fail here.
    if word.len() < term.len()
        || word.len() > term.len() + 2
        || (term.len() > 1 && word.as_bytes()[0] != term.as_bytes()[0])
    {
        return false;
    }
    if word == term {
        return true;
    }
    if let Some(rest) = word.strip_suffix('s') {
        if rest == term {
            return true;
        }
        if let Some(rest) = rest.strip_suffix('e') {
            if rest == term {
                return true;
            }
            if let (Some(rest), Some(term_stem)) = (rest.strip_suffix('i'), term.strip_suffix('y'))
            {
                return rest == term_stem;
            }
        }
    }
    false
}

/// The CamelCase parts of an ASCII name, as slices (`SigninLogs` → `Signin`, `Logs`), the same
/// boundaries as [`camel_parts`].
fn ascii_camel_parts(word: &str) -> impl Iterator<Item = &str> {
    let b = word.as_bytes();
    // snake_case names yield nothing.
    let mut start = if word.contains('_') { b.len() } else { 0 };
    let mut i = 1;
    std::iter::from_fn(move || {
        if start >= b.len() {
            return None;
        }
        while i < b.len() {
            let (p, c) = (b[i - 1], b[i]);
            let next_lower = b.get(i + 1).is_some_and(u8::is_ascii_lowercase);
            let boundary = (p.is_ascii_lowercase() && c.is_ascii_uppercase())
                || (p.is_ascii_uppercase() && c.is_ascii_uppercase() && next_lower)
                || (p.is_ascii_alphabetic() && c.is_ascii_digit() && i - start > 1);
            i += 1;
            if boundary {
                let part = &word[start..i - 1];
                start = i - 1;
                return Some(part);
            }
        }
        let part = &word[start..];
        start = b.len();
        Some(part)
    })
}

/// The words [`Forms::spells`] looks for when `name` is not written as one word: its
/// CamelCase parts lower-cased and folded (`SigninLogs` → `signin`, `logs`), or none for a name
/// of one part or in snake_case.
pub fn spelled_parts(name: &str) -> Vec<String> {
    let parts = if name.is_ascii() {
        ascii_camel_parts(name)
            .map(|p| p.to_ascii_lowercase())
            .collect()
    } else {
        camel_parts(name)
    };
    if parts.len() > 1 { parts } else { Vec::new() }
}

/// Splits `AADNonInteractiveUserSignInLogs` into `aad non interactive user sign in logs`;
/// snake_case names are field names, not vocabulary, and yield nothing.
pub fn camel_parts(word: &str) -> Vec<String> {
    if word.contains('_') {
        return Vec::new();
    }
    let chars: Vec<char> = word.chars().collect();
    let mut parts = Vec::new();
    let mut current = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if i > 0 && !current.is_empty() {
            let prev = chars[i - 1];
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
            let boundary = (prev.is_lowercase() && c.is_uppercase())
                || (prev.is_uppercase() && c.is_uppercase() && next_lower)
                || (prev.is_alphabetic() && c.is_ascii_digit() && current.len() > 1);
            if boundary {
                parts.push(fold(&std::mem::take(&mut current)));
            }
        }
        current.push(c);
    }
    if !current.is_empty() {
        parts.push(fold(&current));
    }
    parts
}

/// Whether a word looks like an identifier someone typed (`FactOrders`, `last_login`).
pub fn is_identifier_like(word: &str) -> bool {
    let has_inner_upper =
        word.chars().skip(1).any(|c| c.is_uppercase()) && word.chars().any(|c| c.is_lowercase());
    let snake = word.contains('_') && word.chars().any(|c| c.is_alphabetic());
    has_inner_upper || snake
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

/// Appends `n` in decimal, as `{}` writes it, without the formatting machinery.
pub fn push_uint(out: &mut String, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    // Only ASCII digits were written.
    out.push_str(std::str::from_utf8(&digits[at..]).unwrap_or_default());
}

#[cfg(test)]
mod tests {
    use super::*;
    use memchr::memmem::Finder;

    fn forms(t: &Text) -> Vec<String> {
        (0..t.len()).map(|i| t.form(i).to_string()).collect()
    }

    #[test]
    fn dashes_possessives_and_accents_are_normalised() {
        let t = Text::new("Azure sign-ins in Splunk's index; Données, Umsätze from 10.0.0.5");
        assert_eq!(
            forms(&t),
            [
                "azure", "signins", "in", "splunk", "index", "donnees", "umsatze", "from", "10",
                "0", "0", "5"
            ]
        );
        assert_eq!(t.original(1), "signins");
        assert_eq!(t.original(3), "Splunk");
        assert!(
            t.tokens[5].clause_start && t.tokens[5].sentence_start,
            "after a semicolon"
        );
        assert!(
            t.tokens[6].clause_start && !t.tokens[6].sentence_start,
            "after a comma"
        );
        assert!(!t.tokens[4].clause_start);
        assert!(
            !t.tokens[9].clause_start,
            "dots inside an address break nothing"
        );
        assert_eq!(t.parts(1).collect::<Vec<_>>(), ["sign", "ins"]);
    }

    /// The ASCII path reads `q` as the Unicode path does: the same tokens, forms, parts and
    /// lower-cased text (where in `forms` a form is kept may differ).
    fn assert_paths_agree(q: &str) {
        let (a, u) = (Text::new_ascii(q), Text::new_unicode(q));
        let words = |t: &Text| -> Vec<Token> {
            t.tokens
                .iter()
                .map(|k| Token {
                    form: 0..0,
                    ..k.clone()
                })
                .collect()
        };
        assert_eq!(words(&a), words(&u), "{q:?}");
        assert_eq!(forms(&a), forms(&u), "{q:?}");
        assert_eq!(a.lower(), u.lower(), "{q:?}");
        assert_eq!(a.lower(), q.to_lowercase(), "{q:?}");
        assert_eq!(
            a.all_parts().collect::<Vec<_>>(),
            u.all_parts().collect::<Vec<_>>(),
            "{q:?}"
        );
    }

    #[test]
    fn the_ascii_path_reads_as_the_unicode_path() {
        for q in [
            "Azure sign-ins in Splunk's index; users, then: 10.0.0.5 & don't re-run AppInsights-logs!",
            "Compare SigninLogs with the Users table\nby IP - 'quoted' words' ends",
            "a-b -c d- 'x' it's O'Brien's ContainerLogV2 last_login",
        ] {
            assert_paths_agree(q);
        }
    }

    /// [`word_matches`] without its first test of length and letter.
    fn word_matches_in_full(term: &str, word: &str) -> bool {
        if let Some(stem) = term.strip_suffix('*') {
            return word.starts_with(stem);
        }
        if word == term {
            return true;
        }
        let Some(rest) = word.strip_suffix('s') else {
            return false;
        };
        rest == term
            || rest.strip_suffix('e').is_some_and(|rest| {
                rest == term
                    || matches!(
                        (rest.strip_suffix('i'), term.strip_suffix('y')),
                        (Some(rest), Some(stem)) if rest == stem
                    )
            })
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(3000))]

        /// Terms and words of a few letters, the words often the term with a plural ending:
        /// the first test never turns a match away.
        #[test]
        fn the_first_test_of_word_matches_turns_no_match_away(
            term in "[a-y]{0,4}[ys*]?",
            ending in proptest::sample::select(vec!["", "s", "es", "ies", "x", "ys"]),
            cut in 0usize..3,
            other in "[a-z]{0,6}",
            use_other in proptest::bool::ANY,
        ) {
            let stem = term.trim_end_matches('*');
            let stem = &stem[..stem.len().saturating_sub(cut)];
            let word = if use_other { other } else { format!("{stem}{ending}") };
            proptest::prop_assert_eq!(
                word_matches(&term, &word),
                word_matches_in_full(&term, &word),
                "{:?} {:?}", term, word
            );
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]
        /// Any ASCII text, with the dashes, apostrophes and punctuation the rules turn on.
        #[test]
        fn the_ascii_path_reads_as_the_unicode_path_on_any_text(
            pieces in proptest::collection::vec(
                "([A-Za-z]{1,9}|[0-9]{1,4}|[A-Z][a-z]{1,5}[A-Z][a-z]{0,5}|[ \\t]{1,2}|\\n|['_-]{1,2}|'s|[,.;:!?]{1,2})",
                0..30,
            )
        ) {
            // A failed assertion fails the case, and proptest shrinks it.
            assert_paths_agree(&pieces.concat());
        }
    }

    #[test]
    fn scripts_without_spaces_split_from_latin_words() {
        let t = Text::new("Splunkのエラーを表示");
        assert_eq!(forms(&t), ["splunk", "のエラーを表示"]);
        assert!(t.tokens[1].cjk && !t.tokens[0].cjk);
    }

    #[test]
    fn camel_case_words_yield_their_parts() {
        let t = Text::new("AADNonInteractiveUserSignInLogs ContainerLogV2 last_login HTTP");
        let parts = |i| t.parts(i).collect::<Vec<_>>();
        assert_eq!(
            parts(0),
            ["aad", "non", "interactive", "user", "sign", "in", "logs"]
        );
        assert_eq!(parts(1), ["container", "log", "v2"]);
        assert!(parts(2).is_empty(), "snake_case is not split");
        assert!(parts(3).is_empty(), "all capitals are not CamelCase");
    }

    #[test]
    fn terms_match_plurals_and_prefixes() {
        assert!(word_matches("index", "indexes"));
        assert!(word_matches("category", "categories"));
        assert!(word_matches("fail*", "failure"));
        assert!(!word_matches("fail", "failure"));
    }

    #[test]
    fn a_word_with_a_stem_is_never_missed_by_the_quick_test() {
        for (q, stem) in [
            ("rows of the Users table", "table"),
            ("the TABLES we keep", "table"),
            ("Tablé accents folded", "table"),
            ("AppTables parts", "table"),
            ("the web index", "index"),
            ("re-indexed last night", "index"),
        ] {
            let t = Text::new(q);
            assert!(
                (0..t.len()).any(|i| t.form(i).contains(stem)),
                "{q}: the case itself needs a word with {stem}"
            );
            assert!(t.may_have_word_with(&Finder::new(stem)), "{q}");
        }
        let mut t = Text::new("count rows per tabel");
        let (table, index) = (Finder::new("table"), Finder::new("index"));
        assert!(!t.may_have_word_with(&table));
        t.correct(3, "table");
        assert!(t.may_have_word_with(&table), "a corrected word counts");
        assert!(!Text::new("failed sign-ins from Azure").may_have_word_with(&index));
    }

    #[test]
    fn names_match_when_spelled_out() {
        let t = Text::new("compare sign-in logs with fact orders");
        let mentions = |name: &str| t.has_name(name) || t.forms().spells(&spelled_parts(name));
        assert!(mentions("SigninLogs"));
        assert!(mentions("FactOrders"));
        assert!(!mentions("AuditLogs"));
    }

    #[test]
    fn names_split_ahead_are_spelled_out_only_in_order() {
        let texts = [
            "compare sign-in logs with fact orders",
            "Anmeldungen in den Größe Tabelle größe tabelle",
            "aad non interactive user sign in logs and http 500 errors",
            "logs logs signin",
        ];
        let names = [
            "SigninLogs",
            "FactOrders",
            "AADNonInteractiveUserSignInLogs",
            "GrößeTabelle",
            "Http500Errors",
            "Users",
            "sign_in_logs",
            "",
        ];
        // (text, name) pairs spelled out; every other pair is not.
        let spelled = [
            (0, "SigninLogs"),
            (0, "FactOrders"),
            (1, "GrößeTabelle"),
            (2, "AADNonInteractiveUserSignInLogs"),
        ];
        for (k, text) in texts.iter().enumerate() {
            let t = Text::new(text);
            for name in names {
                assert_eq!(
                    t.forms().spells(&spelled_parts(name)),
                    spelled.contains(&(k, name)),
                    "{name} in {text}"
                );
            }
        }
    }

    #[test]
    fn numbers_are_written_as_display_writes_them() {
        for n in [0, 7, 10, 24, 99, 100, 1234, 9_999_999, u64::MAX] {
            let mut out = String::from("x");
            push_uint(&mut out, n);
            assert_eq!(out, format!("x{n}"));
        }
    }

    #[test]
    fn identifiers_are_recognised() {
        assert!(is_identifier_like("FactOrders"));
        assert!(is_identifier_like("last_login"));
        assert!(!is_identifier_like("Users"));
        assert!(!is_identifier_like("HTTP"));
    }

    #[test]
    fn corrections_replace_the_matching_form_only() {
        let mut t = Text::new("app insghts");
        t.correct(1, "insights");
        assert_eq!(t.form(1), "insights");
        assert_eq!(t.original(1), "insghts");
        assert_eq!(t.corrections().count(), 1);
    }
}
