//! The model's answer: the JSON it is asked for (its schema and compact grammar, derived from
//! one type), and the answer parsed and validated against the offered platforms.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::Open;
use crate::domain::{Intent, Platform};
use crate::pipeline::roster::Roster;

/// The JSON the model is asked for, with short keys: every output token costs time on a small
/// CPU model (the two flags keep the words `data` and `error`, which say what they are). Its
/// schema is derived from this type; the long names are accepted too. The model is asked only
/// for the decisions the text leaves open ([`Asked`]), so every key may be missing here.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
pub struct ModelAnswerWire {
    /// Whether the user wants data queried at all (a how-to or a policy question does not).
    #[serde(default, alias = "needs_data")]
    #[schemars(with = "bool")]
    pub data: Option<bool>,
    #[serde(default, rename = "p", alias = "platforms")]
    #[schemars(with = "Vec<String>")]
    pub platforms: Option<Vec<String>>,
    #[serde(default, rename = "i", alias = "intent")]
    #[schemars(with = "Intent")]
    pub intent: Option<Intent>,
    #[serde(default, rename = "error", alias = "error_knowledge", alias = "e")]
    #[schemars(with = "bool")]
    pub error_knowledge: Option<bool>,
}

/// The decisions the model is asked for: those the text leaves open. Whether data is wanted is
/// asked together with the platforms, so that the answer can be checked against itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Asked {
    pub data: bool,
    pub platforms: bool,
    pub intent: bool,
    pub error_knowledge: bool,
}

impl Asked {
    /// Every decision (the warm-up's question).
    pub const ALL: Asked = Asked {
        data: true,
        platforms: true,
        intent: true,
        error_knowledge: true,
    };

    /// The questions for what `open` leaves open.
    pub fn of(open: &Open) -> Asked {
        Asked {
            data: open.data,
            platforms: open.data || open.platforms,
            intent: open.intent,
            error_knowledge: open.error_knowledge,
        }
    }

    /// The answer's keys, in the answer's order.
    pub fn keys(&self) -> impl Iterator<Item = &'static str> {
        [
            (self.data, "data"),
            (self.platforms, "p"),
            (self.intent, "i"),
            (self.error_knowledge, "error"),
        ]
        .into_iter()
        .filter_map(|(asked, key)| asked.then_some(key))
    }
}

/// A model answer that passed validation: what it said of each decision it was asked about.
#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct ModelAnswer {
    /// Whether the user wants data queried.
    pub wants_data: Option<bool>,
    pub platforms: Option<Vec<Platform>>,
    pub intent: Option<Intent>,
    pub error_knowledge: Option<bool>,
    /// Platform names the model gave that nobody knows or offers; dropped.
    #[serde(default)]
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

/// The JSON schema sent to the model: the answer type with the `asked` keys only, the platform
/// names it may use listed as an enum, at most one of each (small models loop inside open
/// arrays).
pub fn answer_schema(ctx: &Roster, asked: Asked) -> Value {
    let mut settings = schemars::generate::SchemaSettings::draft07();
    settings.inline_subschemas = true;
    let schema = settings
        .into_generator()
        .into_root_schema_for::<ModelAnswerWire>();
    let mut value = schema.to_value();
    let names = platform_names(ctx);
    let keys: Vec<&str> = asked.keys().collect();
    if let Some(obj) = value.as_object_mut() {
        obj.remove("$schema");
        obj.remove("title");
        obj.insert("additionalProperties".into(), Value::Bool(false));
        obj.insert("required".into(), Value::from(keys.clone()));
        if let Some(props) = obj.get_mut("properties").and_then(Value::as_object_mut) {
            props.retain(|k, _| keys.contains(&k.as_str()));
            if let Some(p) = props.get_mut("p") {
                p["maxItems"] = Value::from(names.len());
                p["uniqueItems"] = Value::Bool(true);
                p["items"]["enum"] = Value::from(names);
            }
        }
    }
    value
}

/// The same answer as a GBNF grammar with no whitespace anywhere: `{"data":true,"p":["kql"],
/// "i":"security","error":false}` when everything is asked, `{"i":"security"}` when only the
/// intent is. Where a server takes a grammar (llama.cpp), the model cannot spend tokens on
/// indentation or on keys it was not asked for: each is a decoding step.
pub fn answer_grammar(ctx: &Roster, asked: Asked) -> String {
    let literal = |s: &str| format!("\"\\\"{}\\\"\"", s.replace(['\\', '"'], ""));
    let names = platform_names(ctx);
    let platforms: Vec<String> = names.iter().map(|n| literal(n)).collect();
    let intents: Vec<String> = Intent::ALL.iter().map(|i| literal(i.as_str())).collect();
    let more = "(\",\" plat)?".repeat(names.len().saturating_sub(1));
    // The root as text to match and rules between: `{"i":` intent `}`, adjacent text merged.
    let mut root = String::from("root ::= \"{");
    for (k, key) in asked.keys().enumerate() {
        if k > 0 {
            root.push(',');
        }
        root.push_str(&format!("\\\"{key}\\\":"));
        let rule = match key {
            "p" => format!("[\" (plat {more})? \"]"),
            "i" => "\" intent \"".to_string(),
            _ => "\" bool \"".to_string(),
        };
        root.push_str(&rule);
    }
    root.push_str("}\"");
    format!(
        "{root}\nbool ::= \"true\" | \"false\"\nplat ::= {}\nintent ::= {}\n",
        platforms.join(" | "),
        intents.join(" | ")
    )
}

/// Parses and validates a model's text. Tolerates code fences and prose around the object, and
/// an object whose closing brace was left to the stop sequence.
/// Every `asked` key must be there; keys not asked are read but the fusion does not use them.
pub fn parse_answer(text: &str, ctx: &Roster, asked: Asked) -> Result<ModelAnswer, AnswerError> {
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
    let missing: Vec<&str> = [
        (asked.data && wire.data.is_none(), "data"),
        (asked.platforms && wire.platforms.is_none(), "p"),
        (asked.intent && wire.intent.is_none(), "i"),
        (
            asked.error_knowledge && wire.error_knowledge.is_none(),
            "error",
        ),
    ]
    .into_iter()
    .filter_map(|(missing, key)| missing.then_some(key))
    .collect();
    if !missing.is_empty() {
        return Err(AnswerError::Invalid(format!(
            "missing field(s) {}",
            missing.join(", ")
        )));
    }
    let offered = ctx.offered_platforms();
    let mut dropped = Vec::new();
    let platforms = wire.platforms.map(|names| {
        let mut platforms: Vec<Platform> = Vec::new();
        for name in names {
            match Platform::parse(&name) {
                Some(p) if Platform::KNOWN.contains(&p) || offered.contains(&p) => {
                    if !platforms.contains(&p) {
                        platforms.push(p);
                    }
                }
                _ => dropped.push(name),
            }
        }
        platforms
    });
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
