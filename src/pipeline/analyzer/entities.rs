//! Names and times the request mentions: grouping and snake_case fields, and the time range.

use std::sync::LazyLock;

use rustc_hash::FxHashMap;

use super::push_unique;
use super::vocabulary::{LAST_WORDS, NAME_STOPWORDS, RELATIVE_DAYS, THIS_WORDS, TIME_UNITS};
use crate::pipeline::text::{Forms, Text, is_cjk, is_identifier_like};

/// What a word says about time.
#[derive(Debug, Clone, Copy)]
enum TimeWord {
    /// `today`, `gestern`: the range itself.
    Day(&'static str),
    /// `this`, `diese`: a unit follows.
    This,
    /// `last`, `letzten`: a number and a unit follow.
    Last,
}

/// The time words and units, looked up once per word rather than list by list.
static TIME_WORDS: LazyLock<FxHashMap<&'static str, TimeWord>> = LazyLock::new(|| {
    let mut map = FxHashMap::default();
    for (w, range) in RELATIVE_DAYS.iter().filter(|(w, _)| !w.chars().any(is_cjk)) {
        map.insert(*w, TimeWord::Day(range));
    }
    THIS_WORDS.iter().for_each(|w| {
        map.insert(*w, TimeWord::This);
    });
    LAST_WORDS.iter().for_each(|w| {
        map.insert(*w, TimeWord::Last);
    });
    map
});

/// The shapes of the time words, (length, first letter), as bits: most words of a request
/// have no time word's shape, and this answers for them without hashing them.
static TIME_SHAPES: LazyLock<Shapes> = LazyLock::new(|| Shapes::of(TIME_WORDS.keys().copied()));

/// Which (length, first byte) pairs a set of words has: one bit per first letter `a`–`z`
/// (bit 31 for any other first byte) for each length, lengths from 15 up sharing the last.
struct Shapes([u32; 16]);

impl Shapes {
    fn of<'w>(words: impl Iterator<Item = &'w str>) -> Shapes {
        let mut bits = [0u32; 16];
        for w in words {
            let (len, bit) = Self::shape(w);
            bits[len] |= bit;
        }
        Shapes(bits)
    }

    #[inline]
    fn shape(word: &str) -> (usize, u32) {
        let first = word.as_bytes().first().map_or(31, |b| match b {
            b'a'..=b'z' => u32::from(b - b'a'),
            _ => 31,
        });
        (word.len().min(15), 1 << first)
    }

    /// False for certain when no word of the set has `word`'s shape.
    #[inline]
    fn may_hold(&self, word: &str) -> bool {
        let (len, bit) = Self::shape(word);
        self.0[len] & bit != 0
    }
}

/// Units of time by word, plurals included (`hour`, `hours`, `stunden`).
static UNITS: LazyLock<FxHashMap<String, &'static str>> = LazyLock::new(|| {
    let mut map = FxHashMap::default();
    for (unit, plural) in TIME_UNITS {
        for form in [unit.to_string(), format!("{unit}s"), format!("{unit}es")] {
            map.entry(form).or_insert(*plural);
        }
    }
    map
});

/// snake_case identifiers, and the word after `by` (`by IP address`, `by region`).
pub(super) fn fields(text: &Text, forms: &Forms) -> Vec<String> {
    let mut out = Vec::new();
    // Most requests have no `_` at all: one search of the query spares a search per word.
    let underscored = text.raw.contains('_');
    for i in 0..text.len() {
        if underscored && text.raw_word(i).contains('_') {
            let original = text.original(i);
            if !original.starts_with('_') && is_identifier_like(&original) {
                push_unique(&mut out, &original);
            }
        }
        if forms[i] == "by"
            && let Some(next) = forms.word(i + 1)
        {
            let stop = NAME_STOPWORDS.contains(&next)
                || unit_of(next).is_some()
                || next.chars().all(|c| c.is_ascii_digit())
                || ["more", "less", "than", "far", "default"].contains(&next);
            if !stop {
                push_unique(&mut out, next);
            }
        }
    }
    out
}

/// The plural English name of a unit of time, if `word` is one.
fn unit_of(word: &str) -> Option<&'static str> {
    UNITS.get(word).copied()
}

/// `last 7 days`.
fn last(count: u32, unit: &str) -> String {
    format!("last {count} {unit}")
}

/// The time range, in English: `today`, `this week`, `last 7 days`, `since monday`.
pub(super) fn time_range(text: &Text, forms: &Forms) -> Option<String> {
    let word = |i: usize| forms.word(i).unwrap_or("");
    for i in 0..text.len() {
        let w = word(i);
        if text.tokens[i].cjk {
            if let Some((_, range)) = RELATIVE_DAYS
                .iter()
                .find(|(term, _)| term.chars().any(is_cjk) && w.contains(term))
            {
                return Some(range.to_string());
            }
            continue;
        }
        if !TIME_SHAPES.may_hold(w) {
            continue;
        }
        match TIME_WORDS.get(w) {
            Some(TimeWord::Day(range)) => return Some(range.to_string()),
            Some(TimeWord::This) => {
                if let Some(u) = unit_of(word(i + 1)) {
                    return Some(["this ", u.trim_end_matches('s')].concat());
                }
                continue;
            }
            Some(TimeWord::Last) => {}
            None => continue,
        }
        // `the last 7 days`, `the past day`, `over 24 hours`, `since yesterday`
        let mut j = i + 1;
        if word(j) == "the" {
            j += 1;
        }
        if ["last", "past"].contains(&word(j)) {
            j += 1;
        }
        let n = word(j);
        if let Ok(count) = n.parse::<u32>()
            && let Some(u) = unit_of(word(j + 1))
        {
            let unit = if count == 1 {
                u.trim_end_matches('s')
            } else {
                u
            };
            return Some(last(count, unit));
        }
        // `24h`, `7d`
        let (digits, suffix) = n.split_at(n.find(|c: char| !c.is_ascii_digit()).unwrap_or(n.len()));
        let compact = match suffix {
            "m" | "min" => Some("minutes"),
            "h" => Some("hours"),
            "d" => Some("days"),
            "w" => Some("weeks"),
            _ => None,
        };
        if let (Ok(count), Some(u)) = (digits.parse::<u32>(), compact) {
            return Some(last(count, u));
        }
        if let Some(u) = unit_of(n) {
            return Some(["last ", u.trim_end_matches('s')].concat());
        }
        if w == "since" && !n.is_empty() {
            return Some(["since ", n].concat());
        }
    }
    named_period(text, forms)
}

/// Months, for `in October`, `for March` (`May` only capitalised).
const MONTHS: &[&str] = &[
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

/// Periods said by name rather than by count: `last night`, `overnight`, `in October`, `after
/// the 14:00 deploy`.
fn named_period(text: &Text, forms: &Forms) -> Option<String> {
    let word = |i: usize| forms.word(i).unwrap_or("");
    for i in 0..text.len() {
        let w = word(i);
        let before = i.checked_sub(1).map_or("", word);
        if w == "overnight" || (w == "night" && matches!(before, "last" | "yesterday")) {
            return Some("last night".into());
        }
        let capitalised = text.raw_word(i).starts_with(char::is_uppercase);
        if MONTHS.contains(&w)
            && (w != "may" || capitalised)
            && matches!(before, "in" | "for" | "during" | "since" | "of")
        {
            let prefix = if before == "since" { "since " } else { "" };
            return Some([prefix, w].concat());
        }
        if w == "after" {
            let at = if word(i + 1) == "the" { i + 2 } else { i + 1 };
            // `14:00` is two words (`14`, `00`): read the clock from the text.
            let clock = text.tokens.get(at).map(|t| {
                let rest = &text.raw[t.raw.start..];
                let end = rest
                    .find(|c: char| !(c.is_ascii_digit() || c == ':'))
                    .unwrap_or(rest.len());
                &rest[..end]
            });
            if let Some(clock) = clock.filter(|c| is_clock(c)) {
                return Some(["after ", clock].concat());
            }
        }
    }
    None
}

/// Error codes and exceptions: a vendor code beside the word error or code (`error
/// ORA-01555`, `PAY-1043 error`; a ticket id such as `INC-4432` alone is none), a hex status
/// (`0xC000006D`), an exception's name (`NullPointerException`, `java.sql.SQLException`).
pub(super) fn error_codes(text: &Text, forms: &Forms) -> Vec<String> {
    let word = |i: usize| forms.word(i).unwrap_or("");
    let mut codes: Vec<String> = Vec::new();
    let mut add = |code: &str| {
        if !codes.iter().any(|c| c == code) {
            codes.push(code.to_string());
        }
    };
    for raw in text
        .raw
        .split(|c: char| c.is_whitespace() || matches!(c, ',' | ';' | '(' | ')' | '\'' | '"'))
    {
        let raw = raw.trim_end_matches(['.', ':', '?', '!']);
        let hex = raw.len() >= 6
            && raw.len() <= 10
            && (raw.starts_with("0x") || raw.starts_with("0X"))
            && raw[2..].bytes().all(|b| b.is_ascii_hexdigit());
        let name = raw.rsplit('.').next().unwrap_or(raw);
        let exception = name.len() > 9
            && (name.ends_with("Exception") || name.ends_with("Error"))
            && name.chars().next().is_some_and(char::is_uppercase)
            && name[1..name.len() - 5].chars().any(char::is_uppercase)
            && name.chars().all(|c| c.is_ascii_alphanumeric());
        if hex || exception {
            add(raw);
        }
    }
    for i in 0..text.len() {
        let raw = text.raw_word(i);
        let vendor = raw.split_once('-').is_some_and(|(prefix, number)| {
            (2..=6).contains(&prefix.len())
                && prefix.bytes().all(|b| b.is_ascii_uppercase())
                && (3..=6).contains(&number.len())
                && number.bytes().all(|b| b.is_ascii_digit())
        });
        let beside = (i.saturating_sub(2)..(i + 3).min(text.len())).any(|j| {
            j != i && matches!(word(j), "error" | "errors" | "code" | "fehler" | "erreur")
        });
        if vendor && beside {
            add(raw);
        }
    }
    codes
}

/// `14:00`, `9:30`.
fn is_clock(word: &str) -> bool {
    word.split_once(':').is_some_and(|(h, m)| {
        (1..=2).contains(&h.len())
            && m.len() == 2
            && h.bytes().chain(m.bytes()).all(|b| b.is_ascii_digit())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::testing::{ctx, keywords};

    #[test]
    fn splunk_indexes_and_time_ranges_are_extracted() {
        let a = keywords(
            "count 404s from index=web_prod over the past 24 hours",
            &ctx(&["spl"]),
        );
        assert_eq!(a.analysis.entities.indexes, ["web_prod"]);
        assert_eq!(
            a.analysis.entities.time_range.as_deref(),
            Some("last 24 hours")
        );
        assert!(a.analysis.query_characteristics.is_aggregation);
    }

    #[test]
    fn time_ranges_in_common_shapes_and_languages() {
        let t = |q: &str| {
            let text = Text::new(q);
            time_range(&text, &text.forms())
        };
        assert_eq!(t("in the last 7 days").as_deref(), Some("last 7 days"));
        assert_eq!(t("over the past day").as_deref(), Some("last day"));
        assert_eq!(t("errors this week").as_deref(), Some("this week"));
        assert_eq!(t("since yesterday").as_deref(), Some("since yesterday"));
        assert_eq!(t("last 24h").as_deref(), Some("last 24 hours"));
        assert_eq!(t("Fehler von heute").as_deref(), Some("today"));
        assert_eq!(t("clientes de esta semana").as_deref(), Some("this week"));
        assert_eq!(
            t("les dernières 24 heures").as_deref(),
            Some("last 24 hours")
        );
        assert_eq!(t("今日のエラー").as_deref(), Some("today"));
        assert_eq!(
            t("pull their logs from last night").as_deref(),
            Some("last night")
        );
        assert_eq!(
            t("orders per region for October").as_deref(),
            Some("october")
        );
        assert_eq!(
            t("503s after the 14:00 deploy").as_deref(),
            Some("after 14:00")
        );
        assert_eq!(t("you may see errors"), None);
        assert_eq!(t("no time here"), None);
    }

    #[test]
    fn error_codes_and_exceptions_are_found_and_ticket_ids_are_not() {
        let codes = |q: &str| {
            let text = Text::new(q);
            error_codes(&text, &text.forms())
        };
        assert_eq!(codes("what does error PAY-2201 mean?"), ["PAY-2201"]);
        assert_eq!(codes("Error ORA-01555 keeps showing up"), ["ORA-01555"]);
        assert_eq!(codes("logon failed with 0xC000006D"), ["0xC000006D"]);
        assert_eq!(
            codes("java.lang.NullPointerException at Foo.bar and an OutOfMemoryError"),
            ["java.lang.NullPointerException", "OutOfMemoryError"]
        );
        assert!(codes("Ticket INC-4432: show the VPN logins").is_empty());
        assert!(codes("an Error and an Exception").is_empty());
    }

    #[test]
    fn the_shape_filter_holds_every_time_word_and_stops_most_other_words() {
        for w in TIME_WORDS.keys() {
            assert!(TIME_SHAPES.may_hold(w), "{w}");
        }
        let words = "show failed sign in attempts from azure ad the 24 hours and correlate \
            them with errors users database table which services returned most timeouts";
        let passed = words
            .split_whitespace()
            .filter(|w| TIME_SHAPES.may_hold(w))
            .count();
        assert!(
            passed * 3 < words.split_whitespace().count(),
            "{passed} passed the filter"
        );
    }

    #[test]
    fn fields_are_snake_case_names_and_grouping_words() {
        let text = Text::new("users with no last_login grouped by region, by day");
        let f = fields(&text, &text.forms());
        assert_eq!(f, ["last_login", "region"]);
    }
}
