//! Prompts: compiled in from `prompts/`, overridable from a directory, rendered with `{name}`
//! placeholders in one pass (so a query containing `{platforms}` is never expanded). The
//! version names the prompt set by a hash of its text; it goes into the cache key and the
//! response metadata.

use crate::pipeline::roster::Roster;
use std::path::Path;

use crate::domain::Platform;

const SYSTEM: &str = include_str!("../../prompts/system.md");
const ANALYSIS: &str = include_str!("../../prompts/query_analysis.md");
const REPAIR: &str = include_str!("../../prompts/repair.md");

/// The prompt set: system text, the analysis template, the repair follow-up, and a version.
#[derive(Debug, Clone)]
pub struct Prompts {
    pub system: String,
    pub analysis: String,
    pub repair: String,
    pub version: String,
}

impl Prompts {
    /// The prompts compiled in from `prompts/`.
    pub fn compiled_in() -> Prompts {
        Prompts::from_texts(SYSTEM.into(), ANALYSIS.into(), REPAIR.into())
    }

    /// The prompts of `dir`, each file optional (`system.md`, `query_analysis.md`,
    /// `repair.md`); a file that is missing keeps the compiled-in text.
    pub fn load(dir: &Path) -> std::io::Result<Prompts> {
        if !dir.is_dir() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("prompts directory '{}' does not exist", dir.display()),
            ));
        }
        let read = |name: &str, fallback: &str| -> std::io::Result<String> {
            let path = dir.join(name);
            if path.exists() {
                std::fs::read_to_string(path)
            } else {
                Ok(fallback.to_string())
            }
        };
        Ok(Prompts::from_texts(
            read("system.md", SYSTEM)?,
            read("query_analysis.md", ANALYSIS)?,
            read("repair.md", REPAIR)?,
        ))
    }

    fn from_texts(system: String, analysis: String, repair: String) -> Prompts {
        let hash = fnv1a(&[system.as_bytes(), analysis.as_bytes(), repair.as_bytes()]);
        Prompts {
            version: format!("qa1-{:08x}", hash as u32),
            system: system.trim().to_string(),
            analysis,
            repair,
        }
    }

    /// The analysis prompt for `query`.
    pub fn analysis(&self, query: &str, ctx: &Roster) -> String {
        render(
            &self.analysis,
            &[
                ("platforms", &platform_lines(ctx)),
                ("schema_hints", &hint_lines(ctx)),
                ("query", query),
            ],
        )
    }

    /// The follow-up after an answer that could not be used.
    pub fn repair(&self, previous: &str, error: &str) -> String {
        let previous: String = previous.chars().take(400).collect();
        render(&self.repair, &[("previous", &previous), ("error", error)])
    }
}

/// Replaces each `{name}` of `vars` in one left-to-right pass; other braces stay as they are.
pub fn render(template: &str, vars: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len() + 256);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let hit = after.find('}').and_then(|close| {
            let name = &after[..close];
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (close, *v))
        });
        match hit {
            Some((close, value)) => {
                out.push_str(value);
                rest = &after[close + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// One line per platform: what it holds, and whether an agent serves it.
fn platform_lines(ctx: &Roster) -> String {
    let offered = ctx.offered_platforms();
    let mut lines = Vec::new();
    let mut all: Vec<Platform> = Platform::KNOWN.to_vec();
    all.extend(
        offered
            .iter()
            .filter(|p| !Platform::KNOWN.contains(p))
            .cloned(),
    );
    for p in all {
        let about = match &p {
            Platform::Kql => "Azure, Entra ID sign-ins, Sentinel, Application Insights".to_string(),
            Platform::Spl => "Splunk: network, firewall, VPN, server logs".to_string(),
            Platform::Sql => "databases: customers, orders, invoices, records".to_string(),
            Platform::Other(_) => ctx
                .data_agents()
                .iter()
                .filter(|a| a.platform.as_ref() == Some(&p))
                .map(|a| a.agent_name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        };
        let served = if offered.contains(&p) {
            ""
        } else {
            " (no agent)"
        };
        lines.push(format!("- {p}: {about}{served}"));
    }
    lines.join("\n")
}

fn hint_lines(ctx: &Roster) -> String {
    if ctx.schema_hints().is_empty() {
        return String::new();
    }
    let mut lines = vec!["Tables:".to_string()];
    for (p, h) in ctx.schema_hints().iter() {
        let names: Vec<&str> = h
            .tables
            .iter()
            .chain(&h.indexes)
            .map(String::as_str)
            .take(20)
            .collect();
        if !names.is_empty() {
            lines.push(format!("- {p}: {}", names.join(", ")));
        }
    }
    lines.join("\n") + "\n"
}

/// FNV-1a, 64 bit: a stable hash for prompt versions (std's hasher may change between releases).
fn fnv1a(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for b in *part {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        h ^= 0xff;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rendering_is_one_pass_and_leaves_unknown_braces() {
        let out = render("a {x} b {y} {json}", &[("x", "{y}"), ("y", "2")]);
        assert_eq!(out, "a {y} b 2 {json}");
    }

    #[test]
    fn the_version_changes_with_the_text() {
        let a = Prompts::compiled_in();
        let b = Prompts::from_texts(a.system.clone(), a.analysis.clone() + " ", a.repair.clone());
        assert_ne!(a.version, b.version);
        assert!(a.version.starts_with("qa1-"));
    }

    #[test]
    fn the_analysis_prompt_names_the_query_and_marks_unserved_platforms() {
        let p = Prompts::compiled_in().analysis("find {platforms} things", &Roster::default());
        assert!(p.contains("find {platforms} things"));
        assert!(p.contains("- spl: Splunk"));
        assert!(p.contains("(no agent)"));
    }
}
