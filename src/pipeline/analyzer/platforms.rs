//! Platform evidence: small passes over the scanned query that each add what they find to one
//! tally, then the decision of which platforms the request needs.
//!
//! An offered agent's own words come first: a distinctive word of its name or id, or its
//! platform's name (`BigQuery`, `Loki`, `promql`), names that agent's platform and *claims* the
//! word, so the same word does not also count for a generic family (`BigQuery` is not also the
//! generic SQL agent's). Products with languages of their own go to the offered agent that
//! serves them, else to their family (`Snowflake` is SQL), else to a platform no agent serves.

use super::ask::{DataNeed, Role};
use super::lexicon::{Hit, Tag};
use super::roster::RosterWords;
use super::syntax::{self, Language, StatusCodes};
use super::vocabulary::{KQL, NAME_STOPWORDS, PLATFORMS, PRODUCTS, Product, SPL};
use super::{Certainty, Cue, PlatformEvidence, Reading, push_unique};
use crate::domain::{Entities, Platform};
use crate::pipeline::roster::Roster;

use crate::pipeline::text::{Text, is_identifier_like, word_matches};

/// What the passes found for one platform.
#[derive(Debug, Default)]
struct Tally {
    named: Vec<Cue>,
    /// Named only in context: pasted text, a how-to's subject, the story around the ask.
    context: Vec<Cue>,
    /// Whether a context cue came from outside pasted text.
    in_story: bool,
    excluded: Vec<Cue>,
    soft: f64,
    soft_cues: Vec<Cue>,
    /// Words whose subject weight was counted (each word counts once, at its highest weight),
    /// in word order.
    soft_words: Vec<(u16, f64)>,
    /// Words that name it where data is asked for.
    named_words: Vec<u16>,
}

/// The evidence of every platform the passes found, by platform (a handful: a list beats a
/// map), and the words claimed by an offered agent.
#[derive(Debug, Default)]
struct Tallies {
    by_platform: Vec<(Platform, Tally)>,
    claimed: Vec<u16>,
}

impl Tallies {
    fn entry(&mut self, p: &Platform) -> &mut Tally {
        let at = match self.by_platform.iter().position(|(q, _)| q == p) {
            Some(at) => at,
            None => {
                self.by_platform.push((p.clone(), Tally::default()));
                self.by_platform.len() - 1
            }
        };
        &mut self.by_platform[at].1
    }

    /// Named evidence for `p` at word `at`: evidence against it if the request rules that word
    /// out, context if the word is not where the request asks for data.
    fn named(&mut self, r: &Reading, p: &Platform, hit_at: Option<&Hit>, cue: Cue) {
        if hit_at.is_some_and(|h| r.excluded.ignores(h)) {
            return;
        }
        let excluded = hit_at.is_some_and(|h| r.excluded.rules_out(h));
        // Syntax has no word: a pasted query beside an ask for knowledge only is what the
        // question is about (`<query> I don't need it rerun; what does the policy say?`).
        let context = match hit_at {
            Some(h) => r.asks.context_at(h.at as usize),
            None => r.asks.data == DataNeed::NotWanted,
        };
        let t = self.entry(p);
        if let Some(h) = hit_at.filter(|_| !excluded && !context) {
            t.named_words.push(h.at);
        }
        let list = if excluded {
            &mut t.excluded
        } else if context {
            // The story around the ask, not pasted text or an aside (a role, a destination).
            t.in_story |= hit_at
                .is_some_and(|h| !matches!(r.asks.role(h.at as usize), Role::Pasted | Role::Aside));
            &mut t.context
        } else {
            &mut t.named
        };
        if !list.contains(&cue) {
            list.push(cue);
        }
    }

    fn soft(&mut self, p: &Platform, at: u16, cue: Cue, weight: f64) {
        let t = self.entry(p);
        // Kept in word order, searched by halves: a 4 KB request has hundreds of subject words.
        match t.soft_words.binary_search_by_key(&at, |&(w, _)| w) {
            Ok(k) if t.soft_words[k].1 >= weight => return,
            Ok(k) => {
                t.soft += weight - t.soft_words[k].1;
                t.soft_words[k].1 = weight;
            }
            Err(k) => {
                t.soft += weight;
                t.soft_words.insert(k, (at, weight));
            }
        }
        t.soft_cues.push(cue);
    }

    /// The evidence, by platform in [`Platform`]'s order.
    fn into_evidence(mut self) -> Vec<PlatformEvidence> {
        self.by_platform.sort_by(|a, b| a.0.cmp(&b.0));
        self.by_platform
            .into_iter()
            .filter(|(_, t)| {
                !t.named.is_empty()
                    || !t.context.is_empty()
                    || !t.excluded.is_empty()
                    || t.soft > 0.0
            })
            .map(|(platform, t)| {
                let certainty = if !t.named.is_empty() {
                    Certainty::Named
                } else if !t.excluded.is_empty() {
                    Certainty::Excluded
                } else if !t.context.is_empty() {
                    Certainty::Context
                } else {
                    Certainty::Inferred
                };
                let cues = match certainty {
                    Certainty::Named => t.named,
                    Certainty::Excluded => t.excluded,
                    Certainty::Context => t.context,
                    _ => t.soft_cues,
                };
                PlatformEvidence {
                    platform,
                    certainty,
                    soft_score: t.soft,
                    cues,
                    offered: false,
                    in_story: t.in_story,
                    named_words: t.named_words,
                }
            })
            .collect()
    }
}

/// What the passes found: every platform's evidence, and the syntax of a pasted query.
#[derive(Debug)]
pub(super) struct Found {
    pub evidence: Vec<PlatformEvidence>,
    pub syntax: Option<&'static str>,
}

/// Every platform the text points at, with its certainty and cues; names it finds go into
/// `entities`.
pub(super) fn evidence(
    r: &Reading,
    ctx: &Roster,
    status: &StatusCodes,
    entities: &mut Entities,
) -> Found {
    let mut tally = Tallies {
        by_platform: Vec::with_capacity(4),
        claimed: Vec::new(),
    };
    let roster = ctx.words();
    let found = roster.find_in(r.forms);
    offered_agent_words(r, ctx, roster, &found, &mut tally);
    products(r, ctx, roster, &mut tally);
    let syntax = pasted_query(r, ctx, roster, &mut tally);
    let hinted = schema_hint_names(r, roster, &found, entities, &mut tally);
    vocabulary_terms(r, entities, &mut tally);
    splunk_index_syntax(r, entities, &mut tally);
    splunk_index_word(r, entities, &mut tally);
    table_word(r, &hinted, entities, &mut tally);
    server_error_codes(status, &mut tally);
    typed_identifiers(r.text, entities);
    Found {
        evidence: tally.into_evidence(),
        syntax,
    }
}

/// A synthetic hit for word `i`, so exclusion applies to evidence found outside the lexicon.
fn word_hit(i: usize) -> Hit {
    Hit {
        term: 0,
        at: i as u16,
        span: 1,
        start: u32::MAX,
        end: u32::MAX,
    }
}

/// The offered agents' own words: named evidence for a platform we have no vocabulary for
/// (and the word is claimed), a subject word for one we do.
fn offered_agent_words(
    r: &Reading,
    ctx: &Roster,
    roster: &RosterWords,
    found: &[Option<usize>],
    tally: &mut Tallies,
) {
    for w in &roster.agent_words {
        let Some(i) = found[w.word] else { continue };
        let agent = &ctx.data_agents()[w.agent];
        let Some(platform) = &agent.platform else {
            continue;
        };
        let word = roster.word(w.word);
        if Platform::KNOWN.contains(platform) {
            tally.soft(platform, i as u16, Cue::Text(word.to_string()), 1.0);
        } else {
            let hit = word_hit(i);
            let cue = Cue::Agent(word.to_string(), agent.agent_id.clone());
            tally.named(r, platform, Some(&hit), cue);
            tally.claimed.push(i as u16);
        }
    }
}

/// The offered agent that serves `product`: its platform is one of the product's ids, or its
/// own words name the product.
fn serving_agent<'c>(
    ctx: &'c Roster,
    roster: &RosterWords,
    product: &Product,
) -> Option<&'c Platform> {
    ctx.data_agents().iter().enumerate().find_map(|(at, a)| {
        let p = a.platform.as_ref()?;
        if product.ids.contains(&p.as_str()) {
            return Some(p);
        }
        if Platform::KNOWN.contains(p) {
            return None;
        }
        roster
            .words_of(at)
            .any(|w| {
                product
                    .names
                    .iter()
                    .any(|n| n.len() == w.len() + n.matches(' ').count() && n.replace(' ', "") == w)
            })
            .then_some(p)
    })
}

/// Where a named product's requests go: its agent, its family, or a platform nobody serves
/// (then `true`).
fn product_platform(ctx: &Roster, roster: &RosterWords, product: &Product) -> (Platform, bool) {
    match (serving_agent(ctx, roster, product), &product.family) {
        (Some(p), _) => (p.clone(), false),
        (None, Some(family)) => (family.clone(), false),
        (None, None) => (Platform::Other(product.ids[0].to_string()), true),
    }
}

/// Products with query languages of their own, named in the request.
fn products(r: &Reading, ctx: &Roster, roster: &RosterWords, tally: &mut Tallies) {
    for (hit, tag) in r.tagged() {
        let Tag::Product(k) = tag else { continue };
        if tally.claimed.contains(&hit.at) {
            continue;
        }
        let product = &PRODUCTS[k as usize];
        let (platform, unserved) = product_platform(ctx, roster, product);
        let cue = if unserved {
            Cue::Unserved(r.cue(hit))
        } else {
            Cue::Word(r.cue(hit))
        };
        tally.named(r, &platform, Some(hit), cue);
        tally.claimed.push(hit.at);
    }
}

/// A query pasted as the request names its platform by its language.
fn pasted_query(
    r: &Reading,
    ctx: &Roster,
    roster: &RosterWords,
    tally: &mut Tallies,
) -> Option<&'static str> {
    let (language, cue) = syntax::pasted_query(r.text)?;
    let platform = match language {
        Language::Builtin(p) => p,
        Language::Product(name) => {
            let product = PRODUCTS.iter().find(|p| p.names.contains(&name))?;
            product_platform(ctx, roster, product).0
        }
    };
    tally.named(r, &platform, None, Cue::Syntax(cue));
    Some(cue)
}

/// Tables and indexes the caller listed for a platform: named evidence for it. Returns the
/// names found (lower-case) with their platform.
fn schema_hint_names<'a>(
    r: &Reading,
    roster: &'a RosterWords,
    found: &[Option<usize>],
    entities: &mut Entities,
    tally: &mut Tallies,
) -> Vec<(&'a str, &'a Platform)> {
    let mut hinted = Vec::new();
    for h in &roster.hint_names {
        let at = found[h.word];
        let spelled =
            || h.first_part.is_some_and(|first| found[first].is_some()) && r.forms.spells(&h.parts);
        if at.is_none() && !spelled() {
            continue;
        }
        let hit = at.map(word_hit);
        tally.named(r, &h.platform, hit.as_ref(), Cue::Hint(h.name.clone()));
        let list = if h.is_index {
            &mut entities.indexes
        } else {
            &mut entities.tables
        };
        push_unique(list, &h.name);
        hinted.push((h.lower.as_str(), &h.platform));
    }
    hinted
}

/// The built-in vocabularies: platforms named outright, well-known tables, subject words.
fn vocabulary_terms(r: &Reading, entities: &mut Entities, tally: &mut Tallies) {
    // Words that name an Azure database, in order (looked up for each `azure`).
    let mut azure_databases: Vec<u16> = r
        .tagged()
        .filter(|(_, t)| *t == Tag::AzureDatabase)
        .map(|(h, _)| h.at)
        .collect();
    azure_databases.sort_unstable();
    for (hit, tag) in r.tagged() {
        match tag {
            Tag::Named(k) => {
                if tally.claimed.contains(&hit.at) {
                    continue;
                }
                let cue = r.cue(hit);
                // `Azure SQL`, `Azure Cosmos DB`: a database, not Azure Monitor data.
                let azure_db =
                    cue == "azure" && azure_databases.binary_search(&(hit.at + 1)).is_ok();
                if !azure_db {
                    tally.named(
                        r,
                        &PLATFORMS[k as usize].platform,
                        Some(hit),
                        Cue::Word(cue),
                    );
                }
            }
            Tag::Table(k) => {
                let platform = &PLATFORMS[k as usize].platform;
                tally.named(
                    r,
                    platform,
                    Some(hit),
                    Cue::Table(r.cue(hit), platform.as_str_static()),
                );
                push_unique(&mut entities.tables, r.cue(hit));
            }
            Tag::Subject(k, weight)
                if !r.excluded.covers(hit) && r.asks.role(hit.at as usize) != Role::Pasted =>
            {
                tally.soft(
                    &PLATFORMS[k as usize].platform,
                    hit.at,
                    Cue::Word(r.cue(hit)),
                    weight,
                );
            }
            _ => {}
        }
    }
}

/// `index=web`: Splunk syntax; the value is an index name.
fn splunk_index_syntax(r: &Reading, entities: &mut Entities, tally: &mut Tallies) {
    let lower = r.text.lower();
    let mut rest = lower;
    while let Some(pos) = rest.find("index") {
        let after = rest[pos + 5..].trim_start();
        if let Some(value) = after.strip_prefix('=') {
            let name: String = value
                .trim_start_matches([' ', '"', '\''])
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '-')
                .collect();
            tally.named(r, &Platform::Spl, None, Cue::Word("index="));
            if !name.is_empty() && name != "*" {
                push_unique(&mut entities.indexes, &name);
            }
        }
        rest = &rest[pos + 5..];
    }
}

/// `the network index`: a Splunk index, unless it reads as a database index.
fn splunk_index_word(r: &Reading, entities: &mut Entities, tally: &mut Tallies) {
    let text = r.text;
    let forms = r.forms;
    for at in (0..forms.len()).filter(|&i| word_matches("index", forms[i])) {
        if r.near(at, 2, |t| t == Tag::DbIndexWord) {
            continue;
        }
        tally.named(r, &Platform::Spl, Some(&word_hit(at)), Cue::Word("index"));
        if let Some(before) = at.checked_sub(1)
            && !NAME_STOPWORDS.contains(&forms[before])
            && !text.tokens[at].clause_start
        {
            push_unique(&mut entities.indexes, forms[before]);
        }
    }
}

/// `the Users table`: a relational table, unless the name belongs to another platform.
fn table_word(
    r: &Reading,
    hinted: &[(&str, &Platform)],
    entities: &mut Entities,
    tally: &mut Tallies,
) {
    let text = r.text;
    let known_elsewhere = |name: &str| {
        // Lower-cased only when it has a letter to lower.
        let lower: std::borrow::Cow<str> = if name
            .bytes()
            .any(|b| b.is_ascii_uppercase() || !b.is_ascii())
        {
            name.to_lowercase().into()
        } else {
            name.into()
        };
        // `Kusto tables`, `Sentinel table`: the neighbour names the platform itself.
        KQL.named.iter().chain(SPL.named).any(|t| *t == lower)
            || KQL.tables.iter().any(|t| t.eq_ignore_ascii_case(&lower))
            || hinted
                .iter()
                .any(|(n, p)| *n == lower && *p != &Platform::Sql)
    };
    for at in (0..r.forms.len()).filter(|&i| word_matches("table", r.forms[i])) {
        let names: smallvec::SmallVec<[std::borrow::Cow<str>; 2]> =
            [at.checked_sub(1), Some(at + 1)]
                .into_iter()
                .flatten()
                .filter(|&i| i < text.len())
                .map(|i| text.original(i))
                .collect();
        if names.iter().any(|n| known_elsewhere(n)) {
            continue;
        }
        tally.named(r, &Platform::Sql, Some(&word_hit(at)), Cue::Word("table"));
        for name in names {
            let looks_named =
                name.chars().next().is_some_and(char::is_uppercase) || is_identifier_like(&name);
            if looks_named && !NAME_STOPWORDS.iter().any(|w| w.eq_ignore_ascii_case(&name)) {
                push_unique(&mut entities.tables, &name);
            }
        }
    }
}

/// HTTP 5xx codes are a service's own telemetry: they lean towards application monitoring (a
/// subject word for KQL, as `api` or `http` are), never naming a platform.
fn server_error_codes(status: &StatusCodes, tally: &mut Tallies) {
    if let Some(code) = status.server_errors.first() {
        tally.soft(
            &Platform::Kql,
            u16::MAX,
            Cue::Text(format!("HTTP {code}")),
            1.0,
        );
    }
}

/// Other CamelCase identifiers typed in the query read as table names.
fn typed_identifiers(text: &Text, entities: &mut Entities) {
    for i in (0..text.len()).filter(|&i| text.tokens[i].camel) {
        let original = text.original(i);
        let form = text.form(i);
        if !original.contains('_') && !SPL.named.contains(&form) && !KQL.named.contains(&form) {
            push_unique(&mut entities.tables, &original);
        }
    }
}
