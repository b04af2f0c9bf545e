//! Machine text pasted into a request: log and event lines, stack traces, JSON, queries. Its
//! words are what the request is about, never its ask.

use crate::pipeline::text::Text;

/// For each word, whether it is on a line of pasted machine text. Only a request of several
/// lines has any: a line that looks like a log line, a stack frame, an exception, an event or
/// JSON, and the indented lines that continue it; never every line (the ask is a line of its
/// own).
pub(super) fn pasted_words(text: &Text) -> Vec<bool> {
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
/// object, several `key=value` pairs, or a query (`… | where …`, `SELECT … FROM`).
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
    let lower = t.to_ascii_lowercase();
    let piped_query = lower.split('|').skip(1).any(|after| {
        after
            .split_whitespace()
            .next()
            .is_some_and(|op| QUERY_OPERATORS.contains(&op))
    });
    // A statement, not `Select the customers from last week`: a star, a condition, a call.
    let sql = lower.starts_with("select ")
        && lower.contains(" from ")
        && (lower.contains('*') || lower.contains(" where ") || lower.contains(['=', '(', ';']));
    iso_time
        || clock
        || syslog_tag
        || stack
        || exception
        || event
        || level
        || json
        || pairs >= 3
        || piped_query
        || sql
}

/// Operators after a pipe that make a line a pasted query (KQL, SPL, ES|QL): `| where`,
/// `| stats`.
const QUERY_OPERATORS: &[&str] = &[
    "where",
    "summarize",
    "project",
    "extend",
    "stats",
    "table",
    "sort",
    "top",
    "eval",
    "count",
    "render",
    "join",
    "search",
    "timechart",
    "rex",
    "dedup",
    "limit",
    "take",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn machine_lines_are_told_from_what_people_write() {
        for line in [
            "sshd[991]: Accepted publickey for deploy from 192.0.2.4 port 50122",
            "Nov 30 10:11:12 gw-1 kernel: dropped packet",
            "org.postgresql.util.PSQLException: FATAL: too many connections",
            "{\"level\":\"warn\",\"msg\":\"slow query\"}",
            "user=bob action=login result=fail",
            "index=proxy action=blocked | stats count by user",
            "SELECT * FROM orders WHERE status = 'stuck'",
        ] {
            assert!(is_machine_line(line), "{line}");
        }
        for line in [
            "Show me the errors from Splunk.",
            "Thanks, Priya",
            "How often did this happen: today?",
            "Select the customers from last week, please",
        ] {
            assert!(!is_machine_line(line), "{line}");
        }
    }
}
