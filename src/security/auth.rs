//! Caller authentication (`PLANNER_API_KEYS_FILE`): a file of lines `CALLER_NAME SHA256_HEX`
//! (the file holds no secret), callers send `Authorization: Bearer TOKEN`, the token's SHA-256
//! is compared with every entry in constant time. The file is re-read on SIGHUP; a file that
//! does not parse keeps the keys in use.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The longest `Authorization` header accepted (a token is 32–128 characters in practice).
pub const MAX_HEADER_BYTES: usize = 4096;

/// The callers of one keys file.
#[derive(Debug, Clone, Default)]
pub struct Callers {
    entries: Vec<(Arc<str>, [u8; 32])>,
}

impl Callers {
    /// The callers in `text`; an error names the line.
    pub fn parse(text: &str) -> Result<Callers, String> {
        let mut entries: Vec<(Arc<str>, [u8; 32])> = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let at = |msg: String| format!("line {}: {msg}", n + 1);
            let mut fields = line.split_whitespace();
            let (Some(name), Some(hex), None) = (fields.next(), fields.next(), fields.next())
            else {
                return Err(at("expected `CALLER_NAME SHA256_HEX`".into()));
            };
            if !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.@".contains(c))
            {
                return Err(at(format!(
                    "caller name '{name}': use letters, digits and - _ . @"
                )));
            }
            let digest = decode_hex(hex).ok_or_else(|| {
                at(format!(
                    "'{}…' is not a SHA-256 in hex (64 characters 0-9a-f)",
                    hex.chars().take(8).collect::<String>()
                ))
            })?;
            if entries.iter().any(|(n, _)| &**n == name) {
                return Err(at(format!("caller '{name}' is listed twice")));
            }
            entries.push((name.into(), digest));
        }
        Ok(Callers { entries })
    }

    /// The callers in the file at `path`.
    pub fn load(path: &Path) -> Result<Callers, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        Self::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The caller whose token this is. Every entry is compared, in constant time each, so the
    /// time taken says nothing about which entry (or how much of one) matched.
    pub fn verify(&self, token: &str) -> Option<Arc<str>> {
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let mut found = None;
        for (name, expected) in &self.entries {
            if bool::from(digest.ct_eq(expected)) {
                found = Some(name.clone());
            }
        }
        found
    }
}

fn decode_hex(hex: &str) -> Option<[u8; 32]> {
    if hex.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, chunk) in hex.as_bytes().chunks(2).enumerate() {
        let s = std::str::from_utf8(chunk).ok()?;
        out[i] = u8::from_str_radix(s, 16).ok()?;
    }
    Some(out)
}

/// Why a request is not authenticated (the 401's message).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Missing,
    NotBearer,
    Empty,
    TooLong,
    Unknown,
}

impl Refusal {
    pub fn message(self) -> &'static str {
        match self {
            Refusal::Missing => "authentication required: send Authorization: Bearer TOKEN",
            Refusal::NotBearer => "the Authorization header must use the Bearer scheme",
            Refusal::Empty => "the bearer token is empty",
            Refusal::TooLong => "the Authorization header is too long",
            Refusal::Unknown => "the bearer token is not valid",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Refusal::Missing => "missing",
            Refusal::NotBearer => "not_bearer",
            Refusal::Empty => "empty",
            Refusal::TooLong => "too_long",
            Refusal::Unknown => "unknown_token",
        }
    }
}

/// Authentication as configured: the keys file and the callers read from it.
#[derive(Debug)]
pub struct Auth {
    path: PathBuf,
    callers: RwLock<Arc<Callers>>,
    /// Whether `/ready` and `/metrics` need a token too.
    pub protect_probes: bool,
}

impl Auth {
    /// Reads the keys file at `path`.
    pub fn load(path: &Path, protect_probes: bool) -> Result<Auth, String> {
        let callers = Callers::load(path)?;
        if callers.is_empty() {
            return Err(format!(
                "{}: no callers: every request would be refused",
                path.display()
            ));
        }
        Ok(Auth {
            path: path.to_path_buf(),
            callers: RwLock::new(Arc::new(callers)),
            protect_probes,
        })
    }

    /// Re-reads the keys file; on an error the keys in use stay. Returns the number of callers.
    pub fn reload(&self) -> Result<usize, String> {
        let callers = Callers::load(&self.path)?;
        if callers.is_empty() {
            return Err(format!(
                "{}: no callers; keeping the old keys",
                self.path.display()
            ));
        }
        let n = callers.len();
        if let Ok(mut current) = self.callers.write() {
            *current = Arc::new(callers);
        }
        Ok(n)
    }

    /// The caller an `Authorization` header value names.
    pub fn authenticate(&self, header: Option<&[u8]>) -> Result<Arc<str>, Refusal> {
        let raw = header.ok_or(Refusal::Missing)?;
        if raw.len() > MAX_HEADER_BYTES {
            return Err(Refusal::TooLong);
        }
        let value = std::str::from_utf8(raw)
            .map_err(|_| Refusal::Unknown)?
            .trim();
        let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(Refusal::NotBearer);
        }
        let token = token.trim();
        if token.is_empty() {
            return Err(Refusal::Empty);
        }
        let callers = self.callers.read().map(|c| c.clone()).unwrap_or_default();
        callers.verify(token).ok_or(Refusal::Unknown)
    }
}

/// The SHA-256 of `token` in hex: the second field of a keys-file line.
pub fn token_digest(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_files_parse_and_name_the_bad_line() {
        let text = format!(
            "# callers\n\norchestrator {}\nanalytics-ui  {}\n",
            token_digest("tok-1"),
            token_digest("tok-2")
        );
        let c = Callers::parse(&text).unwrap();
        assert_eq!(c.len(), 2);
        assert_eq!(c.verify("tok-1").as_deref(), Some("orchestrator"));
        assert_eq!(c.verify("tok-2").as_deref(), Some("analytics-ui"));
        assert_eq!(c.verify("tok-3"), None);
        assert_eq!(c.verify(""), None);
        let bad = Callers::parse("a 1234\n").unwrap_err();
        assert!(bad.starts_with("line 1:"), "{bad}");
        let twice = format!("a {}\na {}\n", token_digest("x"), token_digest("y"));
        assert!(Callers::parse(&twice).unwrap_err().contains("twice"));
        assert!(
            Callers::parse("only-a-name\n")
                .unwrap_err()
                .contains("line 1")
        );
    }
}
