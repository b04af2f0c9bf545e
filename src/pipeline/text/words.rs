//! Words on their own: folding case and accents, the parts of CamelCase names, plural-tolerant
//! matching, and which scripts are written without spaces.

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

/// `text` lower-cased with accents folded.
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    text.chars().for_each(|c| push_folded(&mut out, c));
    out
}

/// Whether two words are equal once lower-cased and folded.
pub fn eq_folded(form: &str, name: &str) -> bool {
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

/// The CamelCase words of `word`, as slices of it: a new word starts at a capital after a
/// lower-case letter (`Signin|Logs`), at the last capital of a run before a lower-case letter
/// (`AAD|Non`), and at a digit after two or more letters (`Log|V2`). Every other character,
/// `_` included, stays in its word.
pub fn camel_split(word: &str) -> impl Iterator<Item = &str> {
    let mut chars = word.char_indices().peekable();
    let mut start = 0;
    let mut prev: Option<char> = None;
    std::iter::from_fn(move || {
        while let Some((i, c)) = chars.next() {
            let next = chars.peek().map(|&(_, n)| n);
            let boundary = i > start
                && prev.is_some_and(|p| {
                    (p.is_lowercase() && c.is_uppercase())
                        || (p.is_uppercase()
                            && c.is_uppercase()
                            && next.is_some_and(char::is_lowercase))
                        || (p.is_alphabetic()
                            && c.is_ascii_digit()
                            && word[start..i].chars().count() > 1)
                });
            prev = Some(c);
            if boundary {
                let part = &word[start..i];
                start = i;
                return Some(part);
            }
        }
        (start < word.len()).then(|| {
            let part = &word[start..];
            start = word.len();
            part
        })
    })
}

/// The words [`super::Forms::spells`] looks for when `name` is not written as one word: its
/// CamelCase words lower-cased and folded (`SigninLogs` → `signin`, `logs`); none for a name of
/// one word, and none for snake_case names, which are field names, not words.
pub fn spelled_parts(name: &str) -> Vec<String> {
    if name.contains('_') {
        return Vec::new();
    }
    let parts: Vec<String> = camel_split(name).map(fold).collect();
    if parts.len() > 1 { parts } else { Vec::new() }
}

/// Whether a word looks like an identifier someone typed (`FactOrders`, `last_login`).
pub fn is_identifier_like(word: &str) -> bool {
    let has_inner_upper =
        word.chars().skip(1).any(|c| c.is_uppercase()) && word.chars().any(|c| c.is_lowercase());
    let snake = word.contains('_') && word.chars().any(|c| c.is_alphabetic());
    has_inner_upper || snake
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn camel_case_names_split_at_one_rule() {
        let split = |w| camel_split(w).collect::<Vec<_>>();
        assert_eq!(
            split("AADNonInteractiveUserSignInLogs"),
            ["AAD", "Non", "Interactive", "User", "Sign", "In", "Logs"]
        );
        assert_eq!(split("ContainerLogV2"), ["Container", "Log", "V2"]);
        assert_eq!(split("BigQuery"), ["Big", "Query"]);
        assert_eq!(split("HTTP"), ["HTTP"]);
        assert_eq!(split("x1"), ["x1"], "a digit after one letter stays");
        assert_eq!(split("GrößeTabelle"), ["Größe", "Tabelle"]);
        assert_eq!(split(""), Vec::<&str>::new());
        assert_eq!(spelled_parts("SigninLogs"), ["signin", "logs"]);
        assert!(spelled_parts("sign_in_logs").is_empty());
        assert!(spelled_parts("Users").is_empty());
    }

    #[test]
    fn terms_match_plurals_and_prefixes() {
        assert!(word_matches("index", "indexes"));
        assert!(word_matches("category", "categories"));
        assert!(word_matches("fail*", "failure"));
        assert!(!word_matches("fail", "failure"));
        assert!(!word_matches("index", "indices"));
    }

    #[test]
    fn accents_and_case_fold() {
        assert_eq!(
            fold("Données Umsätze STRASSE ß"),
            "donnees umsatze strasse ss"
        );
        assert!(eq_folded("donnees", "Données"));
        assert!(eq_folded("users", "USERS"));
    }

    #[test]
    fn identifiers_are_recognised() {
        assert!(is_identifier_like("FactOrders"));
        assert!(is_identifier_like("last_login"));
        assert!(!is_identifier_like("Users"));
        assert!(!is_identifier_like("HTTP"));
    }
}
