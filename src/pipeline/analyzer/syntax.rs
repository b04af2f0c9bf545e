//! What the request says in syntax rather than words: a query pasted as the request (its
//! language names its platform) and HTTP status codes written as numbers.

use super::lexicon::{Hit, Lexicon, Tag};
use crate::domain::Platform;
use crate::pipeline::text::{Forms, Text};

/// The platform a pasted query's language names.
#[derive(Debug, Clone, PartialEq)]
pub enum Language {
    /// KQL, SPL or SQL.
    Builtin(Platform),
    /// A product's language, by the product's name (`prometheus`, `loki`, `elasticsearch`).
    Product(&'static str),
}

/// Detects a query pasted into the request; the cue says what gave it away.
pub fn pasted_query(text: &Text) -> Option<(Language, &'static str)> {
    let lower = text.lower();
    // Every language here but SQL needs one of these; SQL needs a statement keyword.
    let punctuated = lower.contains(['|', '{', '=', '(']);
    if !punctuated {
        return is_sql(lower).then_some((Language::Builtin(Platform::Sql), "SQL syntax"));
    }
    let piped = |ops: &[&'static str]| -> Option<&'static str> {
        ops.iter().copied().find(|op| {
            lower
                .match_indices('|')
                .any(|(i, _)| lower[i + 1..].trim_start().starts_with(op))
        })
    };
    // LogQL: a label selector, then a line filter or parser.
    if lower.trim_start().starts_with('{')
        && ["|=", "|~", "!=\"", "| json", "| logfmt", "| pattern"]
            .iter()
            .any(|m| lower.contains(m))
    {
        return Some((Language::Product("loki"), "LogQL syntax"));
    }
    // ES|QL: `FROM index | WHERE …`.
    if lower.trim_start().starts_with("from ")
        && piped(&["where ", "stats ", "keep ", "limit ", "eval ", "sort "]).is_some()
    {
        return Some((Language::Product("elasticsearch"), "ES|QL syntax"));
    }
    // SPL: `index=` / `sourcetype=` and its own commands after a pipe.
    let spl_field = ["index=", "index =", "sourcetype=", "sourcetype ="]
        .iter()
        .any(|f| lower.contains(f));
    let spl_command = piped(&[
        "stats ",
        "timechart",
        "tstats",
        "eval ",
        "rex ",
        "table ",
        "dedup ",
        "rare ",
        "transaction ",
        "inputlookup",
        "chart ",
        "fields ",
        "spath",
        "iplocation",
        "eventstats",
        "streamstats",
    ]);
    if lower.trim_start().starts_with("| tstats") || (spl_field && lower.contains('|')) {
        return Some((Language::Builtin(Platform::Spl), "SPL syntax"));
    }
    if let Some(_cmd) = spl_command
        && !lower.contains("| summarize")
    {
        return Some((Language::Builtin(Platform::Spl), "SPL syntax"));
    }
    // KQL: a table piped into its operators.
    let kql_op = piped(&[
        "where ",
        "summarize",
        "project",
        "extend ",
        "take ",
        "limit ",
        "top ",
        "render ",
        "order by",
        "sort by",
        "join ",
        "distinct ",
        "count",
        "mv-expand",
        "make-series",
        "parse ",
        "evaluate ",
    ]);
    let starts_with_table = {
        let head = lower.trim_start();
        let name_len = head
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(head.len());
        name_len > 0 && head[name_len..].trim_start().starts_with('|')
    };
    if kql_op.is_some()
        && (starts_with_table
            || ["==", "=~", "!~", " has ", "ago(", "bin("]
                .iter()
                .any(|m| lower.contains(m)))
    {
        return Some((Language::Builtin(Platform::Kql), "KQL syntax"));
    }
    // PromQL: functions over metric selectors, or `metric{label="value"}`.
    let promql_fn = [
        "rate(",
        "irate(",
        "increase(",
        "histogram_quantile(",
        "avg_over_time(",
        "sum by (",
        "sum(rate(",
    ]
    .iter()
    .any(|f| lower.contains(f));
    let selector = lower.find('{').is_some_and(|open| {
        open > 0
            && lower[..open]
                .chars()
                .last()
                .is_some_and(|c| c.is_alphanumeric() || c == '_')
            && lower[open..].contains('=')
            && lower[open..].contains('}')
    });
    if promql_fn || selector {
        return Some((Language::Product("prometheus"), "PromQL syntax"));
    }
    // SQL: SELECT … FROM with SQL punctuation, or another statement.
    if is_sql(lower) {
        return Some((Language::Builtin(Platform::Sql), "SQL syntax"));
    }
    None
}

/// The statements that are SQL wherever they appear (when an object's name follows them).
const SQL_STATEMENTS: [&str; 4] = [
    "insert into ",
    "delete from ",
    "create table ",
    "alter table ",
];

/// Words of English prose that never name a table after a statement's keywords: determiners,
/// pronouns and prepositions. `delete from the shared drive` and `create table of contents` are
/// sentences; `delete from sessions` and `create table if not exists` are statements.
const PROSE_AFTER_STATEMENT: &[&str] = &[
    "the", "a", "an", "my", "our", "your", "their", "his", "her", "its", "this", "that", "these",
    "those", "all", "some", "any", "every", "each", "it", "them", "there", "here", "of", "for",
    "to", "in", "on", "with", "about",
];

/// Whether the text after a statement's keywords starts with an object's name rather than
/// with prose.
fn names_an_object(rest: &str) -> bool {
    let rest = rest.trim_start();
    // A quoted, bracketed or temporary name (`"users"`, `[dbo].[users]`, `#staging`).
    if rest.starts_with(['"', '`', '[', '#', '@']) {
        return true;
    }
    let word = rest
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .next()
        .unwrap_or_default();
    !word.is_empty() && !PROSE_AFTER_STATEMENT.contains(&word)
}

fn is_sql(lower: &str) -> bool {
    if lower.contains('|') {
        return false;
    }
    let head = lower.trim_start();
    if (head.starts_with("update ") && head.contains(" set "))
        || (head.starts_with("with ") && head.contains(" as ("))
    {
        return true;
    }
    let statement = SQL_STATEMENTS.iter().any(|statement| {
        lower
            .match_indices(statement)
            .any(|(at, _)| names_an_object(&lower[at + statement.len()..]))
    });
    if statement {
        return true;
    }
    let Some(select) = find_word(lower, "select") else {
        return false;
    };
    let rest = &lower[select + 6..];
    let Some(from) = find_word(rest, "from") else {
        return false;
    };
    let columns = rest[..from].trim();
    let column_syntax =
        columns.contains(['*', ',', '(', '.']) || (columns.contains('_') && !columns.contains(' '));
    column_syntax
        && [
            "*", "(", "=", ";", "<", ">", " where ", "group by", "order by", " join ", " limit ",
        ]
        .iter()
        .any(|m| lower.contains(m))
}

/// The byte offset of `word` in `text`, where it stands as a whole word.
fn find_word(text: &str, word: &str) -> Option<usize> {
    text.match_indices(word)
        .map(|(i, _)| i)
        .find(|&i| whole_word_at(text, i, i + word.len()))
}

/// Whether `text[start..end]` stands as a whole word: no letter, digit or `_` touches it.
fn whole_word_at(text: &str, start: usize, end: usize) -> bool {
    let joins = |c: char| c.is_alphanumeric() || c == '_';
    !text[..start].chars().next_back().is_some_and(joins)
        && !text[end..].chars().next().is_some_and(joins)
}

/// HTTP status codes the request mentions, by class.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StatusCodes {
    /// 5xx: server errors (error knowledge helps).
    pub server_errors: Vec<String>,
    /// 401, 403, 407: access denials (a security question, not an error).
    pub access_denied: Vec<String>,
    /// Other 4xx: client errors (vague trouble).
    pub client_errors: Vec<String>,
    /// Words right next to an access denial (`403 errors`): they describe it, not an error.
    pub consumed: Vec<usize>,
}

impl StatusCodes {
    /// Whether any code was found.
    pub fn any(&self) -> bool {
        !(self.server_errors.is_empty()
            && self.access_denied.is_empty()
            && self.client_errors.is_empty())
    }
}

/// Numbers that read as HTTP status codes: `502s`, `5xx`, `status=5*`, `ResultCode >= 500`,
/// `returned 503`, `a spike of 504`, `HTTP 500`, `500 errors`. A number far from any such
/// context (`top 500 users`) is not a status code.
pub fn status_codes(text: &Text, forms: &Forms, hits: &[Hit], lexicon: &Lexicon) -> StatusCodes {
    let mut out = StatusCodes::default();
    let near_context = |i: usize| {
        hits.iter()
            .filter(|h| lexicon.term(h.term).tag == Tag::StatusContext)
            .map(|h| h.at as usize)
            .any(|c| (c < i && i - c <= 3) || (c > i && c - i <= 2))
    };
    for (i, &word) in forms.iter().enumerate() {
        // Every shape below starts with a digit (one test a word: cheaper than a search of
        // the whole text for a digit first).
        if !word.as_bytes().first().is_some_and(u8::is_ascii_digit) {
            continue;
        }
        let (code, plural) = match word.strip_suffix('s') {
            Some(stem) if stem.len() == 3 => (stem, true),
            _ => (word, false),
        };
        let bytes = code.as_bytes();
        let class = match bytes {
            [c @ (b'4' | b'5'), b'x', b'x'] => Some((*c, None)),
            [c @ (b'1'..=b'5'), b'0'..=b'9', b'0'..=b'9'] => {
                Some((*c, Some(code.parse::<u16>().unwrap_or(0))))
            }
            // `status=5*`: a class digit followed by a wildcard.
            [c @ (b'4' | b'5')] if text.raw[text.tokens[i].raw.end..].starts_with('*') => {
                Some((*c, None))
            }
            _ => None,
        };
        let Some((class, number)) = class else {
            continue;
        };
        let wildcard = number.is_none();
        if !(plural || wildcard || near_context(i)) {
            continue;
        }
        let shown = if code.len() == 1 {
            format!("{code}xx")
        } else {
            text.original(i).to_string()
        };
        match (class, number) {
            (b'5', _) => out.server_errors.push(shown),
            (b'4', Some(401 | 403 | 407)) => {
                out.access_denied.push(shown);
                out.consumed.extend([i.saturating_sub(1), i + 1]);
            }
            (b'4', _) => out.client_errors.push(shown),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::analyzer::lexicon::lexicon;
    use crate::pipeline::testing::with_scan;

    fn language(q: &str) -> Option<Language> {
        pasted_query(&Text::new(q)).map(|(l, _)| l)
    }

    fn codes(q: &str) -> StatusCodes {
        with_scan(q, |text, forms, scan| {
            status_codes(text, forms, &scan.hits, lexicon())
        })
    }

    #[test]
    fn pasted_queries_name_their_language() {
        use Language::*;
        for (q, want) in [
            (
                "index=proxy status=403 | stats count by user",
                Builtin(Platform::Spl),
            ),
            (
                "| tstats count where index=* by sourcetype",
                Builtin(Platform::Spl),
            ),
            (
                "SecurityAlert | where AlertSeverity == \"High\" | take 50",
                Builtin(Platform::Kql),
            ),
            (
                "AppRequests | summarize count() by bin(TimeGenerated, 1h)",
                Builtin(Platform::Kql),
            ),
            (
                "SELECT name, COUNT(*) FROM orders GROUP BY name",
                Builtin(Platform::Sql),
            ),
            (
                "select * from users where last_login is null;",
                Builtin(Platform::Sql),
            ),
            (
                "why does DELETE FROM sessions WHERE expires < now() take minutes",
                Builtin(Platform::Sql),
            ),
            (
                "after we ran insert into audit_log values (1) the job failed",
                Builtin(Platform::Sql),
            ),
            (
                "ALTER TABLE orders ADD COLUMN region text",
                Builtin(Platform::Sql),
            ),
            ("create table staging as select 1", Builtin(Platform::Sql)),
            (
                "CREATE TABLE IF NOT EXISTS audit (id int)",
                Builtin(Platform::Sql),
            ),
            ("delete from  sessions where id = 3", Builtin(Platform::Sql)),
            (
                "why is delete from \"Users\" where id = 3 slow",
                Builtin(Platform::Sql),
            ),
            (
                "DELETE FROM [dbo].[Users] WHERE id = 3",
                Builtin(Platform::Sql),
            ),
            ("insert into #staging values (1)", Builtin(Platform::Sql)),
            (
                "the preselected rows: select id, name from users where id = 1",
                Builtin(Platform::Sql),
            ),
            (
                "sum(rate(http_requests_total{job=\"api\"}[5m]))",
                Product("prometheus"),
            ),
            ("{app=\"billing\"} |= \"error\"", Product("loki")),
            (
                "FROM logs-* | WHERE status >= 500 | STATS count() BY host",
                Product("elasticsearch"),
            ),
        ] {
            assert_eq!(language(q), Some(want.clone()), "{q}");
        }
    }

    #[test]
    fn ordinary_sentences_are_not_queries() {
        for q in [
            "Select sign-ins from Azure AD for bob",
            "Show the top 10 pages from App Insights",
            "which users logged in from new countries",
            "errors | warnings in the payment service",
            "we alter tables and create tables weekly",
            "how do I delete from the shared drive the files older than a year",
            "insert into a spreadsheet the totals per region",
            "create table of contents for the runbook",
        ] {
            assert_eq!(language(q), None, "{q}");
        }
    }

    #[test]
    fn status_codes_are_read_in_context_only() {
        let c = codes("a spike of 504 and 502s from nginx, status=5*, ResultCode >= 500");
        assert_eq!(c.server_errors, ["504", "502s", "5xx", "500"]);
        let c = codes("index=proxy status=403 | stats count by user");
        assert_eq!(c.access_denied, ["403"]);
        assert!(c.server_errors.is_empty());
        assert!(!codes("top 500 users by spend last quarter").any());
        assert!(!codes("the last 500 rows of the orders table").any());
        assert_eq!(codes("count 404s by page").client_errors, ["404s"]);
        assert_eq!(
            codes("Which endpoints returned 503?").server_errors,
            ["503"]
        );
        assert_eq!(codes("HTTP 500 on checkout").server_errors, ["500"]);
    }
}
