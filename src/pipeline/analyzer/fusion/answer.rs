//! The model's answer: the JSON it is asked for (its schema and compact grammar, derived from
//! one type), and the answer parsed and validated against the offered platforms.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::domain::{Intent, Platform};
use crate::pipeline::roster::Roster;

/// The JSON the model is asked for, with short keys: every output token costs time on a small
/// CPU model (the two flags keep the words `data` and `error`, which say what they are). Its
/// schema is derived from this type; the long names are accepted too.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
pub struct ModelAnswerWire {
    /// Whether the user wants data queried at all (a how-to or a policy question does not).
    #[serde(alias = "needs_data")]
    pub data: bool,
    #[serde(rename = "p", alias = "platforms")]
    pub platforms: Vec<String>,
    #[serde(rename = "i", alias = "intent")]
    pub intent: Intent,
    #[serde(rename = "error", alias = "error_knowledge", alias = "e")]
    pub error_knowledge: bool,
}

/// A model answer that passed validation.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct ModelAnswer {
    /// Whether the user wants data queried.
    pub wants_data: bool,
    pub platforms: Vec<Platform>,
    pub intent: Intent,
    pub error_knowledge: bool,
    /// Platform names the model gave that nobody knows or offers; dropped.
    pub dropped_platforms: Vec<String>,
}

/// Why a model answer could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnswerError {
    /// Not JSON at all (or cut off mid-way).
    Unparseable(String),
    /// JSON, but not the asked-for shape.
    Invalid(String),
}

impl std::fmt::Display for AnswerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AnswerError::Unparseable(m) => write!(f, "not valid JSON: {m}"),
            AnswerError::Invalid(m) => write!(f, "wrong shape: {m}"),
        }
    }
}

/// The platform names the model may answer: the known ones and any offered ones.
pub fn platform_names(ctx: &Roster) -> Vec<String> {
    let mut names: Vec<String> = Platform::KNOWN.iter().map(|p| p.to_string()).collect();
    for p in ctx.offered_platforms() {
        if !names.contains(&p.to_string()) {
            names.push(p.to_string());
        }
    }
    names
}

/// The JSON schema sent to the model: the answer type, with the platform names it may use
/// listed as an enum, at most one of each (small models loop inside open arrays).
pub fn answer_schema(ctx: &Roster) -> Value {
    let mut settings = schemars::generate::SchemaSettings::draft07();
    settings.inline_subschemas = true;
    let schema = settings
        .into_generator()
        .into_root_schema_for::<ModelAnswerWire>();
    let mut value = schema.to_value();
    let names = platform_names(ctx);
    if let Some(obj) = value.as_object_mut() {
        obj.remove("$schema");
        obj.remove("title");
        obj.insert("additionalProperties".into(), Value::Bool(false));
        if let Some(p) = obj.get_mut("properties").and_then(|p| p.get_mut("p")) {
            p["maxItems"] = Value::from(names.len());
            p["uniqueItems"] = Value::Bool(true);
            p["items"]["enum"] = Value::from(names);
        }
    }
    value
}

/// The same answer as a GBNF grammar with no whitespace anywhere: `{"data":true,"p":["kql"],
/// "i":"security","error":false}`. Where a server takes a grammar (llama.cpp), the model cannot
/// spend tokens on indentation: half the output of a pretty-printed object.
pub fn answer_grammar(ctx: &Roster) -> String {
    let literal = |s: &str| format!("\"\\\"{}\\\"\"", s.replace(['\\', '"'], ""));
    let names = platform_names(ctx);
    let platforms: Vec<String> = names.iter().map(|n| literal(n)).collect();
    let intents: Vec<String> = Intent::ALL.iter().map(|i| literal(i.as_str())).collect();
    let more = "(\",\" plat)?".repeat(names.len().saturating_sub(1));
    format!(
        "root ::= \"{{\\\"data\\\":\" bool \",\\\"p\\\":[\" (plat {more})? \"],\\\"i\\\":\" intent \",\\\"error\\\":\" bool \"}}\"\n\
         bool ::= \"true\" | \"false\"\nplat ::= {}\nintent ::= {}\n",
        platforms.join(" | "),
        intents.join(" | ")
    )
}

/// Parses and validates a model's text. Tolerates code fences and prose around the object, and
/// an object whose closing brace was left to the stop sequence.
pub fn parse_answer(text: &str, ctx: &Roster) -> Result<ModelAnswer, AnswerError> {
    let Some(start) = text.find('{') else {
        return Err(AnswerError::Unparseable(format!(
            "no JSON object in {:?}",
            preview(text)
        )));
    };
    let body = match text.rfind('}') {
        Some(end) if end > start => std::borrow::Cow::Borrowed(&text[start..=end]),
        _ => std::borrow::Cow::Owned(format!("{}}}", text[start..].trim_end())),
    };
    let wire: ModelAnswerWire = serde_json::from_str(&body).map_err(|e| {
        let msg = e.to_string();
        if e.is_data() {
            AnswerError::Invalid(msg)
        } else {
            AnswerError::Unparseable(msg)
        }
    })?;
    let offered = ctx.offered_platforms();
    let mut platforms: Vec<Platform> = Vec::new();
    let mut dropped = Vec::new();
    for name in &wire.platforms {
        match Platform::parse(name) {
            Some(p) if Platform::KNOWN.contains(&p) || offered.contains(&p) => {
                if !platforms.contains(&p) {
                    platforms.push(p);
                }
            }
            _ => dropped.push(name.clone()),
        }
    }
    Ok(ModelAnswer {
        wants_data: wire.data,
        platforms,
        intent: wire.intent,
        error_knowledge: wire.error_knowledge,
        dropped_platforms: dropped,
    })
}

fn preview(text: &str) -> String {
    text.chars().take(80).collect()
}
