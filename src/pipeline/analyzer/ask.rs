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
use super::lexicon::Tag;
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

    /// Whether a platform named at word `i` is only context: pasted, in a knowledge segment, in
    /// the story around an ask, or in a request with no ask and nothing that says data.
    pub fn context_at(&self, i: usize) -> bool {
        match self.role(i) {
            Role::Ask => false,
            Role::Pasted => true,
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
    let mut start = 0;
    while start < n {
        let mut end = start + 1;
        while end < n && !segment_starts(text, end) {
            end += 1;
        }
        let words = start..end;
        let role = segment_role(r, &pasted, words.clone());
        for i in words {
            roles[i] = if pasted[i] { Role::Pasted } else { role };
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
    let evidence = data_evidence(r, &pasted, 0..n);
    Asks {
        roles,
        data,
        evidence,
        question: text.raw.contains('?'),
    }
}

/// Whether `words` (outside pasted text) carry a time, an aggregation or a failure: what data
/// would be about.
fn data_evidence(r: &Reading, pasted: &[bool], words: std::ops::Range<usize>) -> bool {
    r.wanted().any(|(h, t)| {
        matches!(t, Tag::Aggregation | Tag::TimeSeries | Tag::Failure)
            && words.contains(&(h.at as usize))
            && !pasted[h.at as usize]
    }) || words
        .filter(|&i| !pasted[i])
        .any(|i| is_time_word(r.forms[i]))
}

/// The role of the segment `words`: it asks for data when one of its parts (split at `and`,
/// `also` and commas) asks for data and not for a document, or asks for both with a time, an
/// aggregation or a failure beside (`show failed logins and the SOP`); it asks for knowledge
/// when a part asks for knowledge; else it is context.
fn segment_role(r: &Reading, pasted: &[bool], words: std::ops::Range<usize>) -> Role {
    let has = |tag: Tag, part: &std::ops::Range<usize>| {
        r.wanted()
            .any(|(h, t)| t == tag && part.contains(&(h.at as usize)) && !pasted[h.at as usize])
    };
    let evidence = data_evidence(r, pasted, words.clone());
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
    for part in &parts {
        let ask = has(Tag::DataAsk, part);
        let knowledge = has(Tag::KnowledgeAsk, part) || has(Tag::Sop, part);
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

/// Words that split a segment into parts, each with its own ask.
const PART_BREAKS: &[&str] = &["and", "also", "plus", "und", "y", "et", "e"];

/// Whether word `i` starts a segment: a sentence (a line break ends one too), or after `;` or
/// `:`.
fn segment_starts(text: &Text, i: usize) -> bool {
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

/// For each word, whether it is on a line of pasted machine text. Only a request of several
/// lines has any: a line that looks like a log line, a stack frame, an exception, an event or
/// JSON, and the indented lines that continue it; never every line (the ask is a line of its
/// own).
fn pasted_words(text: &Text) -> Vec<bool> {
    let mut out = vec![false; text.len()];
    if !text.raw.contains('\n') {
        return out;
    }
    let mut machine_lines: Vec<(usize, usize)> = Vec::new();
    let mut offset = 0;
    let mut previous_machine = false;
    let mut lines = 0;
    for line in text.raw.split('\n') {
        let range = (offset, offset + line.len());
        offset += line.len() + 1;
        if line.trim().is_empty() {
            previous_machine = false;
            continue;
        }
        lines += 1;
        let continues = previous_machine && line.starts_with([' ', '\t']);
        previous_machine = continues || is_machine_line(line);
        if previous_machine {
            machine_lines.push(range);
        }
    }
    if machine_lines.is_empty() || machine_lines.len() == lines {
        return out;
    }
    for (i, token) in text.tokens.iter().enumerate() {
        out[i] = machine_lines
            .iter()
            .any(|&(lo, hi)| token.raw.start >= lo && token.raw.end <= hi);
    }
    out
}

/// Whether a line reads as machine output rather than as something a person wrote: a timestamp,
/// a syslog tag (`sshd[2231]:`), a stack frame, an exception's dotted name, an event id, a JSON
/// object, or several `key=value` pairs.
fn is_machine_line(line: &str) -> bool {
    let t = line.trim();
    let words: Vec<&str> = t.split_whitespace().collect();
    let iso_time = t.as_bytes().windows(16).any(|w| {
        w[..4].iter().all(u8::is_ascii_digit)
            && w[4] == b'-'
            && w[7] == b'-'
            && (w[10] == b'T' || w[10] == b' ')
            && w[13] == b':'
    });
    let clock = words.iter().take(4).any(|w| {
        let b = w.as_bytes();
        b.len() == 8
            && b[2] == b':'
            && b[5] == b':'
            && b.iter().filter(|c| c.is_ascii_digit()).count() == 6
    });
    let syslog_tag = words.iter().take(6).any(|w| {
        w.ends_with("]:")
            && w.find('[').is_some_and(|at| {
                at > 0 && w[at + 1..w.len() - 2].bytes().all(|b| b.is_ascii_digit())
            })
    });
    let stack = t.starts_with("at ") && t.contains('(')
        || t.starts_with("File \"")
        || t.starts_with("Traceback")
        || t.starts_with("Caused by:");
    let exception = words.first().is_some_and(|w| {
        let name = w.trim_end_matches(':');
        name.contains('.')
            && name
                .split('.')
                .all(|p| !p.is_empty() && p.chars().all(|c| c.is_alphanumeric() || c == '_'))
            && (name.ends_with("Error")
                || name.ends_with("Exception")
                || name.split('.').count() > 2)
    });
    let event = t.starts_with("EventID") || t.starts_with("Event ID");
    let level = words.first().is_some_and(|w| {
        matches!(
            w.trim_matches(|c: char| !c.is_ascii_alphabetic()),
            "ERROR" | "WARN" | "WARNING" | "FATAL" | "CRITICAL" | "INFO" | "DEBUG" | "TRACE"
        )
    });
    let json = t.starts_with('{') && t.contains("\":");
    let pairs = words
        .iter()
        .filter(|w| {
            w.split_once('=').is_some_and(|(k, v)| {
                !k.is_empty() && !v.is_empty() && k.chars().all(|c| c.is_alphanumeric() || c == '_')
            })
        })
        .count();
    iso_time || clock || syslog_tag || stack || exception || event || level || json || pairs >= 3
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
        for line in [
            "sshd[991]: Accepted publickey for deploy from 192.0.2.4 port 50122",
            "Nov 30 10:11:12 gw-1 kernel: dropped packet",
            "org.postgresql.util.PSQLException: FATAL: too many connections",
            "{\"level\":\"warn\",\"msg\":\"slow query\"}",
            "user=bob action=login result=fail",
        ] {
            assert!(is_machine_line(line), "{line}");
        }
        for line in [
            "Show me the errors from Splunk.",
            "Thanks, Priya",
            "How often did this happen: today?",
        ] {
            assert!(!is_machine_line(line), "{line}");
        }
        // One line only, or every line machine text: nothing is set apart.
        assert!(with_role("2026-11-30T08:01:02Z WARN x", Role::Pasted).is_empty());
    }
}
