//! Asides inside an ask: a platform named as the asker's role or a team, or as where the
//! results go, is not where data is wanted.

use super::Reading;
use super::ask::{PART_BREAKS, segment_starts};
use super::lexicon::Tag;

/// The words that are asides: platform names that are not where data is wanted even inside an
/// ask, the asker's or a team's role (`As the Splunk owner, …`, `new to the Sentinel team - …`)
/// and where the results go (`… and paste it into the Splunk notes`, `write them to the
/// incidents table in Postgres`).
pub(super) fn aside_words(r: &Reading) -> Vec<bool> {
    let text = r.text;
    let n = text.len();
    let mut aside = vec![false; n];
    let starts = |i: usize| i == 0 || segment_starts(text, i);
    // The end of the clause or part that word `from` is in.
    let scope_end = |from: usize| {
        (from + 1..n)
            .find(|&j| text.tokens[j].clause_start || PART_BREAKS.contains(&r.forms[j]))
            .unwrap_or(n)
    };
    for i in 0..n {
        let form = r.forms[i];
        let opens_as = form == "as"
            && (starts(i) || (i > 0 && ROLE_OPENERS.contains(&r.forms[i - 1]) && starts(i - 1)))
            && i + 1 < n
            && AS_WHO.contains(&r.forms[i + 1]);
        if opens_as {
            // To the clause's end, or to where the asker starts asking (`As the X admin I need`).
            let clause_end = scope_end(i);
            let end = (i + 3..clause_end)
                .find(|&j| ASKER_STARTS.contains(&r.forms[j]))
                .unwrap_or(clause_end);
            aside[i..end].fill(true);
        }
        if DELIVERY_VERBS.contains(&form) {
            // An object first (`paste it into`): `writes to Log Analytics` says where logs are.
            let end = scope_end(i);
            if let Some(to) = (i + 2..end.min(i + 8)).find(|&j| INTO.contains(&r.forms[j])) {
                aside[to..end].fill(true);
            }
        }
    }
    for (hit, tag) in r.wanted() {
        let after = hit.at as usize + usize::from(hit.span.max(1));
        if matches!(tag, Tag::Named(_) | Tag::Product(_))
            && after < n
            && ROLE_NOUNS.contains(&r.forms[after])
        {
            aside[hit.at as usize..=after].fill(true);
        }
    }
    aside
}

/// Words after a source's name that make it a role or a team, not a source: `the Splunk
/// owner`, `the Sentinel team`, `the Kusto on-call`.
const ROLE_NOUNS: &[&str] = &[
    "owner",
    "owners",
    "team",
    "teams",
    "oncall",
    "engineer",
    "engineers",
    "expert",
    "experts",
    "champion",
    "champions",
    "administrator",
    "administrators",
];

/// Words before an opening `as` that describe the asker: `Speaking as the Splunk owner`.
const ROLE_OPENERS: &[&str] = &["speaking", "writing", "asking"];

/// Words that start the asker's own clause after an opening `as … ` without a comma.
const ASKER_STARTS: &[&str] = &["i", "we", "can", "could", "please", "would"];

/// Words after an opening `as` that make it the asker's role (`As the`, `As someone who`), not
/// a comparison (`as expected`).
const AS_WHO: &[&str] = &[
    "the", "a", "an", "someone", "somebody", "one", "our", "my", "part", "i", "we", "your",
];

/// Verbs that hand results on (`paste`, `upload`, `write them to`), in the forms of a request
/// or a plan (`I'll paste`), not of a description (`logs are written to`).
const DELIVERY_VERBS: &[&str] = &[
    "paste", "put", "write", "upload", "feed", "post", "save", "add", "copy", "attach",
];

/// Where handed-on results go.
const INTO: &[&str] = &["into", "to", "onto"];
