//! What the caller's roster (its offered data agents and schema hints) lends the platform
//! evidence: the words folded out of agents' names and ids and the parts of hinted table names,
//! derived once per roster ([`crate::pipeline::roster::Roster`]) rather than once per request.

use rustc_hash::FxHashMap;

use super::vocabulary::AGENT_NAME_STOPWORDS;
use crate::domain::{AgentDescriptor, Platform};
use crate::pipeline::roster::Offered;
use crate::pipeline::text::{camel_split, fold, spelled_parts};

/// A distinctive word of an offered data agent (one with a platform).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct AgentWord {
    /// The agent, by its place among the roster's data agents.
    pub agent: usize,
    /// The word, by its id in [`RosterWords::word`].
    pub word: usize,
}

/// A table or index name from the caller's schema hints.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct HintName {
    pub platform: Platform,
    /// As the caller wrote it.
    pub name: String,
    pub lower: String,
    pub is_index: bool,
    /// The name folded, as a word, by its id in [`RosterWords::word`].
    pub word: usize,
    /// Its CamelCase parts, for a name spelled out in words ([`spelled_parts`]).
    pub parts: Vec<String>,
    /// Its first part, as a word, by its id in [`RosterWords::word`]: a query without that word
    /// cannot spell the name out, and [`RosterWords::find_in`] already says where it is.
    pub first_part: Option<usize>,
}

/// The roster's words, derived once.
#[derive(Debug, Clone, Default)]
pub struct RosterWords {
    /// Every distinct word to look for in a query, with its id.
    words: FxHashMap<Box<str>, usize>,
    /// Word ids in order, for [`RosterWords::word`].
    by_id: Vec<Box<str>>,
    /// Each data agent's distinctive words, agent by agent, in the order they are read.
    pub(super) agent_words: Vec<AgentWord>,
    /// The hinted names, platform by platform, tables before indexes.
    pub(super) hint_names: Vec<HintName>,
}

impl RosterWords {
    /// The words of what `offered` holds.
    pub(crate) fn derive(offered: &Offered) -> RosterWords {
        let mut roster = RosterWords::default();
        for (agent, a) in offered.data_agents.iter().enumerate() {
            if a.platform.is_none() {
                continue;
            }
            for w in agent_words(a).filter(|w| !agent_stopword(w)) {
                let word = roster.intern(&w);
                roster.agent_words.push(AgentWord { agent, word });
            }
        }
        for (platform, hint) in &offered.schema_hints {
            for (names, is_index) in [(&hint.tables, false), (&hint.indexes, true)] {
                for name in names {
                    let word = roster.intern(&fold(name));
                    let parts = spelled_parts(name);
                    let first_part = parts.first().map(|p| roster.intern(p));
                    roster.hint_names.push(HintName {
                        platform: platform.clone(),
                        name: name.clone(),
                        lower: name.to_lowercase(),
                        is_index,
                        word,
                        parts,
                        first_part,
                    });
                }
            }
        }
        roster
    }

    /// The id of `word`, given it now if it has none.
    fn intern(&mut self, word: &str) -> usize {
        if let Some(&id) = self.words.get(word) {
            return id;
        }
        let id = self.by_id.len();
        self.by_id.push(word.into());
        self.words.insert(word.into(), id);
        id
    }

    /// Word `id` as folded.
    pub fn word(&self, id: usize) -> &str {
        &self.by_id[id]
    }

    /// Where each of the roster's words first occurs among a query's word `forms`, by word id:
    /// one walk over the words.
    pub fn find_in(&self, forms: &[&str]) -> Vec<Option<usize>> {
        let mut at = vec![None; self.by_id.len()];
        if self.by_id.is_empty() {
            return at;
        }
        let mut left = self.by_id.len();
        for (i, form) in forms.iter().enumerate() {
            if let Some(&id) = self.words.get(*form)
                && at[id].is_none()
            {
                at[id] = Some(i);
                left -= 1;
                if left == 0 {
                    break;
                }
            }
        }
        at
    }

    /// The distinctive words of data agent `agent`.
    pub fn words_of(&self, agent: usize) -> impl Iterator<Item = &str> {
        self.agent_words
            .iter()
            .filter(move |w| w.agent == agent)
            .map(|w| self.word(w.word))
    }
}

/// Whether an agent's word says nothing about its platform (`data`, `agent`, `query`).
fn agent_stopword(word: &str) -> bool {
    AGENT_NAME_STOPWORDS.contains(&word)
}

/// The candidate words of an agent (of its name, its id, and its platform's name when we have
/// no vocabulary for it), lower-cased and folded: each word, and the CamelCase words of one
/// that has several; words of three characters or more, not all digits.
fn agent_words(agent: &AgentDescriptor) -> impl Iterator<Item = String> + '_ {
    let own_platform = agent
        .platform
        .as_ref()
        .filter(|p| !Platform::KNOWN.contains(p))
        .map(Platform::as_str);
    [agent.agent_name.as_str(), agent.agent_id.as_str()]
        .into_iter()
        .chain(own_platform)
        .flat_map(|source| source.split(|c: char| !c.is_alphanumeric()))
        .filter(|raw| !raw.is_empty())
        .flat_map(|raw| {
            let parts: Vec<&str> = camel_split(raw).collect();
            let parts = if parts.len() > 1 { parts } else { Vec::new() };
            std::iter::once(raw).chain(parts)
        })
        .map(fold)
        .filter(|w| w.len() >= 3 && !w.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::SchemaHint;
    use crate::pipeline::testing::{data_agent, offered};
    use crate::pipeline::text::Text;

    fn words(r: &RosterWords, agent: usize) -> Vec<&str> {
        r.words_of(agent).collect()
    }

    #[test]
    fn agents_lend_their_distinctive_words_once_folded() {
        let mut c = offered(&["kql"]);
        let agents = &mut c.data_agents;
        agents.push(data_agent("bq-1", "BigQuery Analytics Agent", "bigquery"));
        agents.push(data_agent("söc_7", "SÖC Data", "spl"));
        let r = RosterWords::derive(&c);
        assert_eq!(words(&r, 0), ["kql", "kql"]);
        // `query` and `analytics` say nothing; `bq` and `1` are too short.
        assert_eq!(words(&r, 1), ["bigquery", "big", "bigquery"]);
        assert_eq!(words(&r, 2), ["soc", "soc"]);
    }

    #[test]
    fn hinted_names_are_found_as_words_or_spelled_out() {
        let mut c = offered(&["kql"]);
        c.schema_hints.insert(
            Platform::Kql,
            SchemaHint {
                tables: vec!["SigninLogs".into(), "Users".into()],
                indexes: vec![],
            },
        );
        let r = RosterWords::derive(&c);
        let [signin, users] = &r.hint_names[..] else {
            panic!("two names: {:?}", r.hint_names)
        };
        assert_eq!(
            (signin.lower.as_str(), &signin.parts[..]),
            (
                "signinlogs",
                &["signin".to_string(), "logs".to_string()][..]
            )
        );
        assert!(users.parts.is_empty());
        let text = Text::new("users with signin logs");
        let forms = text.forms();
        let at = r.find_in(&forms);
        assert_eq!(at[users.word], Some(0));
        assert_eq!(at[signin.word], None);
        assert!(forms.spells(&signin.parts));
        // Where the first part is, found in the same walk; a one-part name has none.
        assert_eq!(r.word(signin.first_part.unwrap()), "signin");
        assert_eq!(at[signin.first_part.unwrap()], Some(2));
        assert_eq!(users.first_part, None);
        let other = Text::new("users with sign logs");
        assert_eq!(r.find_in(&other.forms())[signin.first_part.unwrap()], None);
    }

    #[test]
    fn an_empty_or_unreadable_hinted_name_is_found_nowhere() {
        let mut c = offered(&["sql"]);
        c.schema_hints.insert(
            Platform::Sql,
            SchemaHint {
                tables: vec![String::new(), "--".into(), "Users".into()],
                indexes: vec![],
            },
        );
        let r = RosterWords::derive(&c);
        let at = r.find_in(&Text::new("users and -- more").forms());
        let found: Vec<_> = r.hint_names.iter().map(|h| at[h.word]).collect();
        assert_eq!(found.last(), Some(&Some(0)), "{:?}", r.hint_names);
        assert!(
            found[..found.len() - 1].iter().all(Option::is_none),
            "{found:?}"
        );
    }
}
