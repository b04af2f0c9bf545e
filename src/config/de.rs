//! How settings are read from their text: seconds as durations, platform lists, enums in any
//! case, URLs, optional strings and paths, Ollama's keep-alive.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Deserializer};

use super::KeepAlive;
use crate::domain::Platform;

/// A number of seconds (integer or fractional, not negative) as a [`Duration`].
pub(super) fn seconds<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let s = f64::deserialize(d)?;
    Duration::try_from_secs_f64(s).map_err(|_| {
        serde::de::Error::custom(format!("{s} is not a number of seconds (0 or more)"))
    })
}

/// `kql`, `kql,spl` or `["kql", "spl"]`.
pub(super) fn platform_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Platform>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        One(String),
        Many(Vec<String>),
    }
    let names = match Raw::deserialize(d)? {
        Raw::One(s) => s.split(',').map(str::to_string).collect(),
        Raw::Many(v) => v,
    };
    let mut out: Vec<Platform> = Vec::new();
    for p in names.iter().filter_map(|n| Platform::parse(n)) {
        if !out.contains(&p) {
            out.push(p);
        }
    }
    Ok(out)
}

/// A case-insensitive enum value (`JSON`, ` text `).
pub(super) fn lowercase_enum<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    let raw = String::deserialize(d)?;
    let value = serde_json::Value::String(raw.trim().to_lowercase());
    serde_json::from_value(value).map_err(serde::de::Error::custom)
}

pub(super) fn log_level<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let level = String::deserialize(d)?.trim().to_lowercase();
    tracing_subscriber::EnvFilter::try_new(&level).map_err(|_| {
        serde::de::Error::custom(format!(
            "'{level}' is not a level (error, warn, info, debug, trace) or a tracing filter"
        ))
    })?;
    Ok(level)
}

/// Ollama accepts `OLLAMA_HOST=0.0.0.0:11434`; a client needs a scheme and, for ollama-rs, a
/// trailing slash so paths join correctly.
pub(super) fn ollama_url<'de, D: Deserializer<'de>>(d: D) -> Result<reqwest::Url, D::Error> {
    let raw = String::deserialize(d)?;
    let host = raw.trim();
    let mut host = if host.contains("://") {
        host.to_string()
    } else {
        format!("http://{host}")
    };
    if !host.ends_with('/') {
        host.push('/');
    }
    reqwest::Url::parse(&host)
        .map_err(|e| serde::de::Error::custom(format!("'{raw}' is not a valid URL: {e}")))
}

pub(super) fn openai_url<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let raw = String::deserialize(d)?;
    let url = raw.trim().trim_end_matches('/').to_string();
    reqwest::Url::parse(&url)
        .map_err(|e| serde::de::Error::custom(format!("'{raw}' is not a valid URL: {e}")))?;
    Ok(url)
}

/// An empty string means "none"; otherwise an http(s) URL (a missing trailing slash added).
pub(super) fn optional_url<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<reqwest::Url>, D::Error> {
    let raw = String::deserialize(d)?;
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    let url = reqwest::Url::parse(raw)
        .map_err(|e| serde::de::Error::custom(format!("'{raw}' is not a valid URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(serde::de::Error::custom(format!(
            "'{raw}' is not an http or https URL"
        )));
    }
    Ok(Some(url))
}

/// An empty string means "none".
pub(super) fn optional_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let raw = String::deserialize(d)?;
    let raw = raw.trim();
    Ok((!raw.is_empty()).then(|| raw.to_string()))
}

/// An empty string means "none".
pub(super) fn optional_path<'de, D: Deserializer<'de>>(d: D) -> Result<Option<PathBuf>, D::Error> {
    let raw = String::deserialize(d)?;
    let raw = raw.trim();
    Ok((!raw.is_empty()).then(|| PathBuf::from(raw)))
}

/// `-1` (forever), `0` (unload after each call), or a number with `s`, `m` or `h`.
pub(super) fn keep_alive<'de, D: Deserializer<'de>>(d: D) -> Result<KeepAlive, D::Error> {
    let raw = String::deserialize(d)?;
    let raw = raw.trim();
    let bad = || {
        serde::de::Error::custom(format!(
            "'{raw}': expected -1, 0 or a number with s, m or h"
        ))
    };
    match raw {
        "-1" => return Ok(KeepAlive::Forever),
        "0" => return Ok(KeepAlive::Unload),
        _ => {}
    }
    let (num, unit) = raw.split_at(raw.len().saturating_sub(1));
    let n: u64 = num.parse().map_err(|_| bad())?;
    let secs = match unit {
        "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        _ => return Err(bad()),
    };
    Ok(KeepAlive::For(Duration::from_secs(secs)))
}
