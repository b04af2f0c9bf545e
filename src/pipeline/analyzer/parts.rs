//! The request's parts: where it splits into clauses, which platforms each clause names, and
//! which clause uses an earlier one's results.
//!
//! Clauses end at punctuation and before words that start another part (`and`, `then`, `also`,
//! `separately`) after a clause that names a platform; inside a sentence, a clause that names no platform continues the one before
//! it; otherwise it is context every part shares (`Since Monday, …`, the story of a ticket). A request splits only when two platforms each have a
//! clause of their own and nothing links them (`compare`, `correlate`, `against`: one clause
//! serves both); otherwise every data step keeps the whole request.

use super::PlatformEvidence;
use crate::domain::{Clause, Platform};
use crate::pipeline::text::{Forms, Text};

/// Words that start another part of a request.
const PART_STARTS: &[&str] = &["and", "then", "also", "separately", "plus", "afterwards"];

/// Words that point at an earlier clause's results: `those customers`, `their logs`, `for each
/// deployment`.
const BACK_REFERENCES: &[&str] = &["those", "these", "their", "each", "such"];

/// The clauses of `text`, where it splits between platforms; empty where it does not.
pub(super) fn clauses(
    text: &Text,
    forms: &Forms,
    evidence: &[PlatformEvidence],
    linked: bool,
) -> Vec<Clause> {
    let n = text.len();
    if linked || n == 0 {
        return Vec::new();
    }
    let named: Vec<(&Platform, &[u16])> = evidence
        .iter()
        .filter(|e| !e.named_words.is_empty())
        .map(|e| (&e.platform, e.named_words.as_slice()))
        .collect();
    if named.len() < 2 {
        return Vec::new();
    }
    let mut names = vec![false; n];
    for (_, words) in &named {
        for &at in *words {
            if let Some(w) = names.get_mut(at as usize) {
                *w = true;
            }
        }
    }
    // `and` and `then` start a part only after a clause that names its source (`… from the
    // billing database, then search Splunk`), not inside a list (`their department and manager
    // in the HR database`).
    let mut starts = vec![0];
    for i in 1..n {
        let current = *starts.last().unwrap_or(&0);
        let token = &text.tokens[i];
        let part = PART_STARTS.contains(&forms[i]) && names[current..i].contains(&true);
        if token.clause_start || part {
            starts.push(i);
        }
    }
    starts.push(n);
    let mut out: Vec<Clause> = Vec::new();
    for w in starts.windows(2) {
        let (first, end) = (w[0], w[1]);
        let platforms: Vec<Platform> = named
            .iter()
            .filter(|(_, words)| {
                words
                    .iter()
                    .any(|&at| (first..end).contains(&(at as usize)))
            })
            .map(|(p, _)| (*p).clone())
            .collect();
        let refers_back = (first..end).any(|i| BACK_REFERENCES.contains(&forms[i]));
        let from = text.tokens[first].raw.start;
        let to = text.tokens.get(end).map_or(text.raw.len(), |t| t.raw.start);
        let mut clause = text.raw[from..to].trim_end();
        if PART_STARTS.contains(&forms[first]) {
            clause = clause[text.tokens[first].raw.len()..].trim_start();
        }
        let clause = clause.trim_end_matches([',', ';', ' ']);
        if clause.is_empty() {
            continue;
        }
        // A clause naming no platform inside a sentence, right after one that does, continues
        // it (`… in Splunk since 09:00, broken down by host`), unless it refers back.
        let continues = platforms.is_empty() && !refers_back && !text.tokens[first].sentence_start;
        match out.last_mut() {
            Some(last) if continues && !last.platforms.is_empty() => {
                last.text.push(' ');
                last.text.push_str(clause);
            }
            _ => out.push(Clause {
                text: clause.to_string(),
                platforms,
                refers_back,
            }),
        }
    }
    let distinct = named
        .iter()
        .filter(|(p, _)| {
            out.iter()
                .any(|c| c.platforms.len() == 1 && &c.platforms[0] == *p)
        })
        .count();
    if distinct < 2 {
        return Vec::new();
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::pipeline::testing::{ctx, keywords};

    fn parts(q: &str) -> Vec<(String, Vec<&'static str>, bool)> {
        keywords(q, &ctx(&["kql", "spl", "sql"]))
            .analysis
            .clauses
            .into_iter()
            .map(|c| {
                let names = c.platforms.iter().map(|p| p.as_str_static()).collect();
                (c.text, names, c.refers_back)
            })
            .collect()
    }

    #[test]
    fn a_request_splits_at_its_parts_and_shares_what_names_no_platform() {
        let got = parts(
            "Since Monday, how many password resets were logged in Azure AD, and how many new accounts were created in the HR database?",
        );
        assert_eq!(got.len(), 3, "{got:?}");
        assert_eq!(got[0].0, "Since Monday");
        assert!(got[0].1.is_empty());
        assert_eq!(got[1].1, ["kql"]);
        assert_eq!(
            got[2].0,
            "how many new accounts were created in the HR database?"
        );
        assert_eq!(got[2].1, ["sql"]);
    }

    #[test]
    fn a_clause_that_uses_another_ones_results_says_so() {
        let got = parts(
            "List the top customers by refunds from the billing database, then search Splunk for login failures from those customers.",
        );
        assert_eq!(got.len(), 2, "{got:?}");
        assert!(!got[0].2 && got[1].2, "{got:?}");
    }

    #[test]
    fn linked_or_single_platform_requests_do_not_split() {
        for q in [
            "Compare VPN logins in Splunk with Azure AD sign-ins for the last 24 hours",
            "Show failed logins in Splunk and break them down by host",
            "Correlate the Azure AD sign-ins with errors in the Users database table",
        ] {
            assert!(parts(q).is_empty(), "{q}: {:?}", parts(q));
        }
    }
}
