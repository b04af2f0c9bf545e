//! Names and times the request mentions: grouping and snake_case fields, and the time range.

use super::push_unique;
use super::vocabulary::{NAME_STOPWORDS, TIME_UNITS};
use crate::pipeline::text::{Text, is_identifier_like, word_matches};

pub(super) fn fields(text: &Text) -> Vec<String> {
    let mut out = Vec::new();
    for (i, t) in text.tokens.iter().enumerate() {
        if t.original.contains('_')
            && !t.original.starts_with('_')
            && is_identifier_like(&t.original)
        {
            push_unique(&mut out, &t.original);
        }
        // `by IP address`, `by region`: a grouping field, unless it is a time unit.
        if t.lower == "by"
            && let Some(next) = text.tokens.get(i + 1)
        {
            let stop = NAME_STOPWORDS.contains(&next.lower.as_str())
                || TIME_UNITS.iter().any(|(u, _)| word_matches(u, &next.lower))
                || next.lower.chars().all(|c| c.is_ascii_digit())
                || ["more", "less", "than", "far", "default"].contains(&next.lower.as_str());
            if !stop {
                push_unique(&mut out, &next.lower);
            }
        }
    }
    out
}

pub(super) fn time_range(text: &Text) -> Option<String> {
    let unit_of = |w: &str| {
        TIME_UNITS
            .iter()
            .find(|(u, _)| word_matches(u, w))
            .map(|(_, plural)| *plural)
    };
    let word = |i: usize| text.word(i).unwrap_or("");
    for i in 0..text.tokens.len() {
        let w = word(i);
        match w {
            "today" | "yesterday" | "tonight" => return Some(w.to_string()),
            "this" | "current" => {
                if let Some(u) = unit_of(word(i + 1)) {
                    return Some(format!("this {}", u.trim_end_matches('s')));
                }
            }
            "last" | "past" | "previous" | "over" | "within" | "since" => {
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
                    return Some(format!("last {count} {unit}"));
                }
                // `24h`, `7d`
                let (digits, suffix) =
                    n.split_at(n.find(|c: char| !c.is_ascii_digit()).unwrap_or(n.len()));
                if let (Ok(count), Some(u)) = (
                    digits.parse::<u32>(),
                    match suffix {
                        "m" | "min" => Some("minutes"),
                        "h" => Some("hours"),
                        "d" => Some("days"),
                        "w" => Some("weeks"),
                        _ => None,
                    },
                ) {
                    return Some(format!("last {count} {u}"));
                }
                if let Some(u) = unit_of(n) {
                    return Some(format!("last {}", u.trim_end_matches('s')));
                }
                if w == "since" && !n.is_empty() {
                    return Some(format!("since {n}"));
                }
            }
            _ => {}
        }
    }
    None
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
    fn time_ranges_in_common_shapes() {
        let t = |q: &str| time_range(&Text::new(q));
        assert_eq!(t("in the last 7 days").as_deref(), Some("last 7 days"));
        assert_eq!(t("over the past day").as_deref(), Some("last day"));
        assert_eq!(t("errors this week").as_deref(), Some("this week"));
        assert_eq!(t("since yesterday").as_deref(), Some("since yesterday"));
        assert_eq!(t("last 24h").as_deref(), Some("last 24 hours"));
        assert_eq!(t("no time here"), None);
    }
}
