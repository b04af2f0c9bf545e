//! The agent card (`/.well-known/agent-card.json`), built once at start-up with its `ETag`.
//!
//! The default card is "dual": the v1.0 fields (`supportedInterfaces` with a 1.0 and a 0.3
//! JSON-RPC interface) plus the v0.3 top-level `url`, `protocolVersion` and
//! `preferredTransport`, which is what a2a-sdk 1.x serves itself: a2a-sdk 0.3.x cannot parse a
//! card without `url`, and 1.x clients read either. `PLANNER_A2A_CARD=v1` serves the strict
//! v1.0 card for validators that reject the extra fields.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::config::{CardStyle, Settings};
use crate::planner::VERSION;

/// The card's bytes and validators.
#[derive(Debug, Clone)]
pub struct AgentCard {
    pub body: Vec<u8>,
    /// A strong validator: `"` + the first 128 bits of the body's SHA-256 + `"`.
    pub etag: String,
    /// `public, max-age=N`.
    pub cache_control: String,
    /// Whether requests need a bearer token (declared in the card's security schemes).
    pub bearer: bool,
}

impl AgentCard {
    /// The card for `settings`; `bearer` when caller authentication is on.
    pub fn new(settings: &Settings, bearer: bool) -> AgentCard {
        let value = card_json(settings, bearer);
        let body = serde_json::to_vec_pretty(&value).unwrap_or_default();
        let digest = Sha256::digest(&body);
        let etag = format!(
            "\"{}\"",
            digest[..16]
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        );
        AgentCard {
            body,
            etag,
            cache_control: format!("public, max-age={}", settings.a2a.card_max_age.as_secs()),
            bearer,
        }
    }

    /// Whether an `If-None-Match` value names this card's current version.
    pub fn matches(&self, if_none_match: &str) -> bool {
        if_none_match.split(',').map(str::trim).any(|tag| {
            tag == "*" || tag == self.etag || tag.strip_prefix("W/") == Some(self.etag.as_str())
        })
    }
}

fn card_json(settings: &Settings, bearer: bool) -> Value {
    let url = settings.public_url();
    let a2a = &settings.a2a;
    let description = format!(
        "Turns a natural-language operations request into an execution plan over the \
         knowledge agents (SOPs, error patterns, wiki) and data agents (KQL, SPL, SQL, …) the \
         caller offers: which agents, in what order, what runs in parallel, with timeouts and \
         cost and duration estimates. Send the request as a text part and, optionally, the \
         available agents as a data part ({{\"available_agents\": …}}, the execution_context \
         of POST /a2a/task); or a data part {{\"plan\": …}} to validate and layer a plan. \
         Answers a completed task whose artifact 'plan' is JSON. Tasks are kept in this \
         process's memory for {} s (at most {}); a restart forgets them.",
        a2a.task_ttl.as_secs(),
        a2a.task_capacity
    );
    let agents_example = "Show me failed sign-ins in Azure over the last 24 hours and the SOP \
                          for locking accounts";
    let mut card = json!({
        "name": settings.agent.name,
        "description": description,
        "version": VERSION,
        "supportedInterfaces": [
            {"url": url, "protocolBinding": "JSONRPC", "protocolVersion": "1.0"},
            {"url": url, "protocolBinding": "JSONRPC", "protocolVersion": "0.3"},
        ],
        "capabilities": {"streaming": false, "pushNotifications": false},
        "defaultInputModes": ["text/plain", "application/json"],
        "defaultOutputModes": ["application/json"],
        "skills": [
            {
                "id": "create_plan",
                "name": "Create an execution plan",
                "description": "Decides which knowledge and data agents a request needs, in \
                                what order and what can run in parallel; answers steps with \
                                dependencies, parallel groups, timeouts and estimates.",
                "tags": ["planning", "orchestration", "kql", "spl", "sql", "sop"],
                "examples": [
                    agents_example,
                    "Why are checkout requests returning 502s since the deploy? Check Splunk.",
                    "Top 10 slowest queries in the orders database this week",
                ],
                "inputModes": ["text/plain", "application/json"],
                "outputModes": ["application/json"],
            },
            {
                "id": "optimize_plan",
                "name": "Optimize a plan",
                "description": "Validates a caller's plan (unknown dependencies, cycles) and \
                                layers its steps into parallel groups with estimates. Send \
                                {\"plan\": {\"steps\": [...]}} as a data part.",
                "tags": ["planning", "optimization"],
                "examples": [
                    "{\"plan\": {\"steps\": [{\"step_id\": \"a\", \"agent_type\": \"data\", \
                     \"agent_id\": \"kql_data\", \"depends_on\": []}]}}",
                ],
                "inputModes": ["application/json"],
                "outputModes": ["application/json"],
            },
        ],
    });
    if bearer {
        card["securitySchemes"] = json!({
            "bearer": {"httpAuthSecurityScheme": {"scheme": "Bearer",
                "description": "A caller token from the operator (PLANNER_API_KEYS_FILE)"}}
        });
        card["securityRequirements"] = json!([{"schemes": {"bearer": {"list": []}}}]);
    }
    if a2a.card == CardStyle::Dual {
        card["url"] = json!(url);
        card["protocolVersion"] = json!("0.3.0");
        card["preferredTransport"] = json!("JSONRPC");
        if bearer {
            // The v0.3 spellings of the same scheme.
            card["securitySchemes"]["bearer"] = json!({"type": "http", "scheme": "bearer",
                "httpAuthSecurityScheme": {"scheme": "Bearer"}});
            card["security"] = json!([{"bearer": []}]);
        }
    }
    card
}

#[cfg(test)]
mod tests {
    use super::*;

    fn card(style: CardStyle) -> Value {
        let mut s = Settings::for_tests();
        s.a2a.card = style;
        s.a2a.public_url = Some(reqwest::Url::parse("https://planner.example.com/").expect("url"));
        serde_json::from_slice(&AgentCard::new(&s, false).body).expect("json")
    }

    #[test]
    fn dual_card_carries_both_generations_fields() {
        let c = card(CardStyle::Dual);
        for field in [
            "name",
            "description",
            "version",
            "supportedInterfaces",
            "capabilities",
            "defaultInputModes",
            "defaultOutputModes",
            "skills",
        ] {
            assert!(c.get(field).is_some(), "v1.0 requires {field}");
        }
        assert_eq!(c["url"], "https://planner.example.com/");
        assert_eq!(c["protocolVersion"], "0.3.0");
        assert_eq!(c["supportedInterfaces"][0]["protocolVersion"], "1.0");
        assert_eq!(c["capabilities"]["streaming"], false);
    }

    #[test]
    fn v1_card_has_no_legacy_fields() {
        let c = card(CardStyle::V1);
        for legacy in ["url", "protocolVersion", "preferredTransport", "security"] {
            assert!(c.get(legacy).is_none(), "{legacy} is not a v1.0 card field");
        }
    }

    #[test]
    fn etag_matches_itself_and_wildcards_only() {
        let c = AgentCard::new(&Settings::for_tests(), false);
        assert!(c.matches(&c.etag));
        assert!(c.matches(&format!("\"x\", W/{}", c.etag)));
        assert!(c.matches("*"));
        assert!(!c.matches("\"0000\""));
    }
}
