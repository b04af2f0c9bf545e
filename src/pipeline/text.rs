//! Tokenising a query and matching vocabulary against it.
//!
//! A word is a run of letters, digits, `_`, inner dashes and apostrophes. Dashes are dropped so
//! `sign-in`, `signin` and `Sign-In` read alike, and a trailing `'s` is dropped. CamelCase words
//! (`AzureActivity`, `AppExceptions`) also yield their parts, so vocabulary matches inside table
//! names. Terms match plural-tolerantly (`index` matches `indexes`), and a term ending in `*`
//! matches as a prefix (`fail*` matches `failed`, `failure`).

/// One word of the query.
#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    /// The word as written (dashes and a trailing `'s` removed).
    pub original: String,
    /// Lower-case form used for matching.
    pub lower: String,
    /// Lower-case CamelCase parts, when the word has more than one.
    pub parts: Vec<String>,
}

/// A query tokenized once, with its lower-cased text, for every stage that matches words.
#[derive(Debug, Clone, PartialEq)]
pub struct Text {
    pub lower: String,
    pub tokens: Vec<Token>,
}

impl Text {
    pub fn new(raw: &str) -> Text {
        let mut tokens = Vec::new();
        let chars: Vec<char> = raw.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            if !is_word_char(chars[i]) {
                i += 1;
                continue;
            }
            let mut word = String::new();
            while i < chars.len() {
                let c = chars[i];
                let joins = (c == '-' || c == '\'' || c == '\u{2019}')
                    && i + 1 < chars.len()
                    && is_word_char(chars[i + 1])
                    && !word.is_empty();
                if is_word_char(c) {
                    word.push(c);
                } else if joins {
                    if c != '-' {
                        word.push('\'');
                    }
                } else {
                    break;
                }
                i += 1;
            }
            let word = match word.strip_suffix("'s") {
                Some(stem) => stem.to_string(),
                None => word,
            }
            .replace('\'', "");
            if word.is_empty() {
                continue;
            }
            let parts = camel_parts(&word);
            tokens.push(Token {
                lower: word.to_lowercase(),
                parts: if parts.len() > 1 { parts } else { Vec::new() },
                original: word,
            });
        }
        Text {
            lower: raw.to_lowercase(),
            tokens,
        }
    }

    /// Positions where `term` (one or more words) starts. Single-word terms also match a
    /// CamelCase part of a token.
    pub fn find(&self, term: &str) -> Vec<usize> {
        let words: Vec<&str> = term.split(' ').collect();
        let mut hits = Vec::new();
        if words.len() == 1 {
            for (i, t) in self.tokens.iter().enumerate() {
                if word_matches(words[0], &t.lower)
                    || t.parts.iter().any(|p| word_matches(words[0], p))
                {
                    hits.push(i);
                }
            }
            return hits;
        }
        if self.tokens.len() < words.len() {
            return hits;
        }
        for i in 0..=self.tokens.len() - words.len() {
            if words
                .iter()
                .zip(&self.tokens[i..])
                .all(|(w, t)| word_matches(w, &t.lower))
            {
                hits.push(i);
            }
        }
        hits
    }

    pub fn has(&self, term: &str) -> bool {
        !self.find(term).is_empty()
    }

    /// Whether any token within `window` positions of `at` matches one of `terms`.
    pub fn near(&self, at: usize, window: usize, terms: &[&str]) -> bool {
        let lo = at.saturating_sub(window);
        let hi = (at + window).min(self.tokens.len().saturating_sub(1));
        (lo..=hi).filter(|&j| j != at).any(|j| {
            let t = &self.tokens[j];
            terms.iter().any(|term| {
                word_matches(term, &t.lower) || t.parts.iter().any(|p| word_matches(term, p))
            })
        })
    }

    /// The token at `i`, lower-cased, if any.
    pub fn word(&self, i: usize) -> Option<&str> {
        self.tokens.get(i).map(|t| t.lower.as_str())
    }

    /// Whether `name` appears as a token (ignoring case) or spelled out in words:
    /// `SigninLogs` also matches `signin logs` and `sign-in logs`.
    pub fn mentions_name(&self, name: &str) -> bool {
        if self.has_name(name) {
            return true;
        }
        let parts = camel_parts(name);
        parts.len() > 1 && self.has(&parts.join(" "))
    }

    /// Whether a whole token equals `name`, ignoring case (table and index names).
    pub fn has_name(&self, name: &str) -> bool {
        let name = name.to_lowercase();
        self.tokens.iter().any(|t| t.lower == name)
    }
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Plural-tolerant word match; `stem*` matches any word starting with `stem`.
pub fn word_matches(term: &str, word: &str) -> bool {
    if let Some(stem) = term.strip_suffix('*') {
        return word.starts_with(stem);
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

/// Splits `AADNonInteractiveUserSignInLogs` into `aad non interactive user sign in logs`.
fn camel_parts(word: &str) -> Vec<String> {
    let chars: Vec<char> = word.chars().collect();
    let mut parts = Vec::new();
    let mut current = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if c == '_' {
            if !current.is_empty() {
                parts.push(std::mem::take(&mut current));
            }
            continue;
        }
        if i > 0 && !current.is_empty() {
            let prev = chars[i - 1];
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
            let boundary = (prev.is_lowercase() && c.is_uppercase())
                || (prev.is_uppercase() && c.is_uppercase() && next_lower)
                || (prev.is_alphabetic() && c.is_ascii_digit() && current.len() > 1);
            if boundary {
                parts.push(std::mem::take(&mut current));
            }
        }
        current.push(c);
    }
    if !current.is_empty() {
        parts.push(current);
    }
    // Only CamelCase counts: snake_case names are field names, not vocabulary.
    if word.contains('_') {
        return Vec::new();
    }
    parts.into_iter().map(|p| p.to_lowercase()).collect()
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
    fn dashes_and_possessives_are_normalised() {
        let t = Text::new("Azure sign-ins in Splunk's index");
        let words: Vec<&str> = t.tokens.iter().map(|t| t.lower.as_str()).collect();
        assert_eq!(words, ["azure", "signins", "in", "splunk", "index"]);
    }

    #[test]
    fn camel_case_words_yield_their_parts() {
        let t = Text::new("AADNonInteractiveUserSignInLogs ContainerLogV2 last_login");
        assert_eq!(
            t.tokens[0].parts,
            ["aad", "non", "interactive", "user", "sign", "in", "logs"]
        );
        assert_eq!(t.tokens[1].parts, ["container", "log", "v2"]);
        assert!(t.tokens[2].parts.is_empty(), "snake_case is not split");
    }

    #[test]
    fn terms_match_plurals_prefixes_and_phrases() {
        let t = Text::new(
            "Which AppExceptions failed in the Log Analytics workspaces, and categories?",
        );
        assert_eq!(t.find("exception"), vec![1]);
        assert!(t.has("fail*"));
        assert!(t.has("log analytics"));
        assert!(t.has("workspace"));
        assert!(t.has("category"));
        assert!(!t.has("analytics log"));
    }

    #[test]
    fn nearness_is_bounded_by_the_window() {
        let t = Text::new("failed sudo attempts on hosts far away from login");
        let at = t.find("fail*")[0];
        assert!(t.near(at, 2, &["sudo"]));
        assert!(!t.near(at, 2, &["login"]));
    }

    #[test]
    fn names_match_when_spelled_out() {
        let t = Text::new("compare sign-in logs with fact orders");
        assert!(t.mentions_name("SigninLogs"));
        assert!(t.mentions_name("FactOrders"));
        assert!(!t.mentions_name("AuditLogs"));
    }

    #[test]
    fn identifiers_are_recognised() {
        assert!(is_identifier_like("FactOrders"));
        assert!(is_identifier_like("last_login"));
        assert!(!is_identifier_like("Users"));
        assert!(!is_identifier_like("HTTP"));
    }
}
