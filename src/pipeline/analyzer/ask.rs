//! What the request asks for, and which of its words are only context.
//!
//! A request is read in segments (sentences, and the parts between `;` and `:`), and pasted
//! machine text (stack traces, log and event lines, JSON) is set apart line by line. A segment
//! with a data ask (`show`, `count`, `how many`, `which`, `pull`) asks for data; one with a
//! knowledge ask (`procedure`, `runbook`, `policy`, `how do I`, `what does … mean`, `who signs
//! off`) and no data ask asks for knowledge (a segment with both asks for data when it also
//! carries a time, an aggregation or a failure: `show failed logins and the SOP`); any other
//! segment is context (a ticket's story, a remark about another system). Platforms named in a
//! segment that asks for data are the target of the request; named elsewhere they are context
//! ([`super::Certainty::Context`]), which the decision and a model weigh less. A request that
//! asks only for knowledge needs no data; one with no ask at all (`Azure sign-ins for bob, last
//! 24h`) is read as before: every named platform is a target.

use super::Reading;
use super::aside::aside_words;
use super::lexicon::{Hit, Tag};
use super::pasted::pasted_words;
use super::vocabulary::{LAST_WORDS, RELATIVE_DAYS};
use crate::pipeline::text::Text;

/// The role of a word's segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Asks for data.
    Ask,
    /// Asks for a procedure, a policy, a document, what something means.
    Knowledge,
    /// Neither: the story around the ask.
    Context,
    /// Machine text pasted into the request.
    Pasted,
    /// Inside an ask but not where data is wanted: the asker's role, where results go.
    Aside,
}

/// Whether the request wants data queried, as the text says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataNeed {
    /// A segment asks for data.
    Asked,
    /// No segment asks for anything: a request written as a noun phrase or a pasted query.
    Implied,
    /// Segments ask for knowledge and none for data: no data step.
    NotWanted,
}

/// The roles of a request's words and what it needs.
#[derive(Debug, Clone, PartialEq)]
pub struct Asks {
    roles: Vec<Role>,
    pub data: DataNeed,
    /// Whether words outside pasted text say what data would be about: a time, an aggregation,
    /// a failure.
    pub evidence: bool,
    /// Whether the request asks a question (`?`): a question with no ask word and nothing that
    /// says data (`any idea where the doc for the Splunk HEC tokens lives?`) leaves open whether
    /// it wants data at all; a noun phrase (`deadlocks in the orders database`) does not.
    pub question: bool,
}

impl Asks {
    /// Every word in a segment that asks for data: how a reading starts, before its asks are
    /// read.
    pub(super) fn every_word_asks(words: usize) -> Asks {
        Asks {
            roles: vec![Role::Ask; words],
            data: DataNeed::Implied,
            evidence: true,
            question: false,
        }
    }

    /// The role of word `i`'s segment.
    pub fn role(&self, i: usize) -> Role {
        self.roles.get(i).copied().unwrap_or(Role::Ask)
    }

    /// Whether a platform named at word `i` is only context: pasted, an aside (a role, where
    /// results go), in a knowledge segment, in the story around an ask, or in a request with no
    /// ask and nothing that says data.
    pub fn context_at(&self, i: usize) -> bool {
        match self.role(i) {
            Role::Ask => false,
            Role::Pasted | Role::Aside => true,
            Role::Knowledge | Role::Context => {
                self.data != DataNeed::Implied || !self.data_is_settled()
            }
        }
    }

    /// Whether the text settles if data is wanted: a data ask does; a request with no ask does
    /// unless it is a question with nothing that says data; a knowledge ask does when nothing
    /// beside it says data.
    pub fn data_is_settled(&self) -> bool {
        match self.data {
            DataNeed::Asked => true,
            DataNeed::Implied => self.evidence || !self.question,
            DataNeed::NotWanted => !self.evidence,
        }
    }
}

/// Reads what `r`'s request asks for.
pub(super) fn read(r: &Reading) -> Asks {
    let text = r.text;
    let n = text.len();
    let mut roles = vec![Role::Context; n];
    let pasted = pasted_words(text);
    let aside = aside_words(r);
    // What a segment's asks are read from: neither pasted nor an aside.
    let set_apart: Vec<bool> = pasted.iter().zip(&aside).map(|(p, a)| *p || *a).collect();
    let marks = Marks::of(r);
    let mut start = 0;
    while start < n {
        let mut end = start + 1;
        while end < n && !segment_starts(text, end) {
            end += 1;
        }
        let words = start..end;
        let role = segment_role(r, &marks, &set_apart, words.clone());
        for i in words {
            roles[i] = if pasted[i] {
                Role::Pasted
            } else if aside[i] {
                Role::Aside
            } else {
                role
            };
        }
        start = end;
    }
    let data = if roles.contains(&Role::Ask) {
        DataNeed::Asked
    } else if roles.contains(&Role::Knowledge) {
        DataNeed::NotWanted
    } else {
        DataNeed::Implied
    };
    let evidence = Marks::any(&marks.evidence, &pasted, 0..n);
    Asks {
        roles,
        data,
        evidence,
        question: text.raw.contains('?'),
    }
}

/// What each word carries, read from the hits once (a segment's role is then read from its
/// words, linear in the request): a data ask, a knowledge ask, something that says what data
/// would be about (a time, an aggregation, a failure).
struct Marks {
    data_ask: Vec<bool>,
    knowledge: Vec<bool>,
    evidence: Vec<bool>,
}

impl Marks {
    fn of(r: &Reading) -> Marks {
        let n = r.text.len();
        let mut m = Marks {
            data_ask: vec![false; n],
            knowledge: vec![false; n],
            evidence: (0..n).map(|i| is_time_word(r.forms[i])).collect(),
        };
        for (h, t) in r.wanted() {
            let at = h.at as usize;
            match t {
                Tag::DataAsk if !names_a_thing(r, h) => m.data_ask[at] = true,
                Tag::KnowledgeAsk | Tag::Sop => m.knowledge[at] = true,
                Tag::Aggregation | Tag::TimeSeries | Tag::Failure => m.evidence[at] = true,
                _ => {}
            }
        }
        m
    }

    /// Whether a word of `words` not `set_apart` has `mark`.
    fn any(mark: &[bool], set_apart: &[bool], words: std::ops::Range<usize>) -> bool {
        words.into_iter().any(|i| mark[i] && !set_apart[i])
    }
}

/// The role of the segment `words`: it asks for data when one of its parts (split at `and`,
/// `also` and commas) asks for data and not for a document, or asks for both with a time, an
/// aggregation or a failure beside (`show failed logins and the SOP`); it asks for knowledge
/// when a part asks for knowledge; else it is context. Words `set_apart` (pasted, asides) ask
/// nothing.
fn segment_role(
    r: &Reading,
    marks: &Marks,
    set_apart: &[bool],
    words: std::ops::Range<usize>,
) -> Role {
    let evidence = Marks::any(&marks.evidence, set_apart, words.clone());
    let mut parts = Vec::new();
    let mut start = words.start;
    for i in words.clone() {
        let splits =
            i > start && (r.text.tokens[i].clause_start || PART_BREAKS.contains(&r.forms[i]));
        if splits {
            parts.push(start..i);
            start = i;
        }
    }
    parts.push(start..words.end);
    let (mut asks, mut knows) = (false, false);
    for part in parts {
        let ask = Marks::any(&marks.data_ask, set_apart, part.clone());
        let knowledge = Marks::any(&marks.knowledge, set_apart, part);
        asks |= ask && (!knowledge || evidence);
        knows |= knowledge;
    }
    if asks {
        Role::Ask
    } else if knows {
        Role::Knowledge
    } else {
        Role::Context
    }
}

/// Whether a data-ask word is a noun here: `that search above`, `the query in the ticket`, `the
/// approved list of ports` name a thing, they do not ask for one.
fn names_a_thing(r: &Reading, hit: &Hit) -> bool {
    let at = hit.at as usize;
    at > 0 && ASK_NOUNS.contains(&r.cue(hit)) && DETERMINERS.contains(&r.forms[at - 1])
}

/// Data-ask words that are also nouns for a query or a list (`count`, `number of` ask for
/// data either way).
const ASK_NOUNS: &[&str] = &[
    "query", "search", "list", "chart", "plot", "graph", "export", "check",
];

/// Words that make the next one a noun.
const DETERMINERS: &[&str] = &[
    "the", "that", "this", "a", "an", "my", "our", "your", "their", "his", "her", "its",
];

/// Words that split a segment into parts, each with its own ask.
pub(super) const PART_BREAKS: &[&str] = &["and", "also", "plus", "und", "y", "et", "e"];

/// Whether word `i` starts a segment: a sentence (a line break ends one too), or after `;` or
/// `:`.
pub(super) fn segment_starts(text: &Text, i: usize) -> bool {
    let token = &text.tokens[i];
    if token.sentence_start {
        return true;
    }
    if !token.clause_start {
        return false;
    }
    let before = &text.raw[..token.raw.start];
    before.trim_end().ends_with([';', ':'])
}

/// Words that say when: `today`, `yesterday`, `last`, `past`, `since`.
fn is_time_word(form: &str) -> bool {
    matches!(form, "since" | "seit" | "desde" | "depuis" | "dal")
        || LAST_WORDS.contains(&form)
        || RELATIVE_DAYS.iter().any(|(w, _)| *w == form)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::analyzer::lexicon::lexicon;
    use crate::pipeline::analyzer::{Reading, exclusion};
    use crate::pipeline::testing::with_scan;

    fn asks(query: &str) -> (Asks, Vec<String>) {
        with_scan(query, |text, forms, scan| {
            let excluded = exclusion::scopes(text, forms, scan, lexicon());
            let r = Reading::new(text, forms, &scan.hits, &excluded, lexicon());
            let words = (0..text.len()).map(|i| forms[i].to_string()).collect();
            (read(&r), words)
        })
    }

    /// The words of `query` with `role`.
    fn with_role(query: &str, role: Role) -> Vec<String> {
        let (a, words) = asks(query);
        words
            .into_iter()
            .enumerate()
            .filter(|(i, _)| a.role(*i) == role)
            .map(|(_, w)| w)
            .collect()
    }

    #[test]
    fn a_question_about_a_procedure_needs_no_data() {
        for q in [
            "What is the escalation procedure when a Sentinel incident stays open overnight?",
            "How do I request access to the Splunk search head?",
            "Where can I find the policy for database backups?",
            "What does error 0x80070005 mean on the file servers?",
        ] {
            assert_eq!(asks(q).0.data, DataNeed::NotWanted, "{q}");
        }
    }

    #[test]
    fn a_data_question_or_an_order_asks_for_data_even_beside_a_procedure() {
        for q in [
            "How many firewall denies did we log in Splunk today?",
            "Show the failed logins for alice and the SOP for locking accounts",
            "Which hosts sent the most traffic to the proxy this week?",
        ] {
            assert_eq!(asks(q).0.data, DataNeed::Asked, "{q}");
        }
        assert_eq!(
            asks("Azure sign-ins for bob, last 24 hours").0.data,
            DataNeed::Implied
        );
    }

    #[test]
    fn each_part_of_a_segment_has_its_own_ask() {
        let q = "List the Azure sign-ins for bob and check the SOP for locking accounts";
        assert_eq!(asks(q).0.data, DataNeed::Asked);
        // Asking to be shown a document is asking for knowledge.
        let q = "Show me the runbook for restarting the Splunk forwarder";
        assert_eq!(asks(q).0.data, DataNeed::NotWanted);
    }

    #[test]
    fn the_story_around_an_ask_is_context() {
        let q =
            "The payroll team moved their reports last month. Show me the VPN logins for carol.";
        let context = with_role(q, Role::Context);
        assert!(context.contains(&"payroll".to_string()), "{context:?}");
        assert!(with_role(q, Role::Ask).contains(&"vpn".to_string()));
    }

    #[test]
    fn pasted_log_lines_are_set_apart_from_the_ask() {
        let q = "2026-11-30T08:01:02Z WARN [db-pool] connection reset by peer\n\tretrying in 5s\nHow often did this happen on the API hosts today?";
        let pasted = with_role(q, Role::Pasted);
        assert!(
            pasted.contains(&"dbpool".to_string()) && pasted.contains(&"retrying".to_string()),
            "{pasted:?}"
        );
        assert!(!pasted.contains(&"api".to_string()), "{pasted:?}");
        // One line only, or every line machine text: nothing is set apart.
        assert!(with_role("2026-11-30T08:01:02Z WARN x", Role::Pasted).is_empty());
    }

    #[test]
    fn a_role_or_a_destination_is_an_aside_inside_the_ask() {
        for (q, aside) in [
            (
                "As the Splunk owner, count the failed Azure AD sign-ins today",
                "splunk",
            ),
            (
                "Speaking as the Splunk owner - get me the Azure sign-ins for bob",
                "splunk",
            ),
            (
                "New to the Sentinel team - show the new rows in the users table",
                "sentinel",
            ),
            (
                "Count the 5xx errors in Splunk and paste the totals into the SQL dashboard",
                "sql",
            ),
            (
                "Export the orders so I can upload them to Sentinel",
                "sentinel",
            ),
        ] {
            let (a, words) = asks(q);
            let at = words.iter().position(|w| w == aside).unwrap();
            assert_eq!(a.role(at), Role::Aside, "{aside} in {q}");
            assert_eq!(a.data, DataNeed::Asked, "{q}");
        }
        // Where logs are written or sent says where they are, not where results go; `as` in a
        // comparison is no role.
        for q in [
            "The app writes to Log Analytics: show its exceptions today",
            "Show the logins as expected by the Splunk dashboard",
        ] {
            assert!(with_role(q, Role::Aside).is_empty(), "{q}");
        }
    }

    #[test]
    fn a_pasted_query_is_pasted_text_and_its_name_is_no_ask() {
        let q = "SigninLogs | where ResultType != 0 | summarize count() by UserPrincipalName\nI found that query in an old ticket. What does our policy say about sign-in monitoring?";
        let pasted = with_role(q, Role::Pasted);
        assert!(pasted.contains(&"summarize".to_string()), "{pasted:?}");
        assert_eq!(
            asks(q).0.data,
            DataNeed::NotWanted,
            "`that query` names a thing"
        );
        // A query on its own is still the request.
        let q = "SigninLogs | where ResultType != 0 | summarize count() by UserPrincipalName";
        assert!(with_role(q, Role::Pasted).is_empty());
    }
}
