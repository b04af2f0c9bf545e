//! Callers, limits and the policy gate, as users meet them: an authentication battery over a
//! real socket, rate limits with a tiny bucket, every policy rule over the labelled requests,
//! reloads (in process and by a real SIGHUP to the binary), a bad policy file stopping start-up,
//! and a property: no plan ever contains a denied agent.

use std::collections::BTreeSet;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use planner::config::Settings;
use planner::pipeline::roster::Roster;
use planner::planner::Request;
use planner::security::auth::{Auth, token_digest};
use planner::security::policy::{Gate, Policy};
use planner::wire::{ExecutionContext, RosterCache};
use proptest::prelude::*;
use serde_json::{Value, json};

use crate::helpers::{BIN, TempFile, TestApp, create_plan, serve_binary, spawn_router};
use crate::quality::{context_for, labelled_sets};

fn temp_file(name: &str, text: &str) -> TempFile {
    TempFile::new("planner-sec", name, text)
}

fn keys(callers: &[(&str, &str)]) -> String {
    callers
        .iter()
        .map(|(name, token)| format!("{name} {}\n", token_digest(token)))
        .collect()
}

async fn app_with(mut settings: Settings, keys_file: Option<&std::path::Path>) -> TestApp {
    settings.auth.keys_file = keys_file.map(std::path::Path::to_path_buf);
    spawn_router(planner::http::router(crate::helpers::state(&settings))).await
}

async fn post_as(
    app: &TestApp,
    auth: Option<&str>,
    body: &Value,
) -> (u16, reqwest::header::HeaderMap, Value) {
    let mut req = app.client.post(app.url("/a2a/task")).json(body);
    if let Some(a) = auth {
        req = req.header("authorization", a);
    }
    let res = req.send().await.unwrap();
    let (status, headers) = (res.status().as_u16(), res.headers().clone());
    (status, headers, res.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn the_authentication_battery() {
    let file = temp_file(
        "keys-battery",
        &keys(&[("orchestrator", "tok-orch-1"), ("analytics-ui", "tok-ui-2")]),
    );
    let app = app_with(Settings::for_tests(), Some(&file)).await;
    let body = create_plan("a1", "failed sign-ins in azure");
    let long = format!("Bearer {}", "x".repeat(6000));
    let refused: [(&str, Option<&str>); 6] = [
        ("no header", None),
        ("empty token", Some("Bearer ")),
        ("wrong scheme", Some("Basic dG9rLW9yY2gtMQ==")),
        ("wrong token", Some("Bearer tok-nope")),
        ("a token's prefix", Some("Bearer tok-orch")),
        ("a very long header", Some(long.as_str())),
    ];
    for (name, header) in refused {
        let (status, headers, v) = post_as(&app, header, &body).await;
        assert_eq!(status, 401, "{name}");
        assert!(
            headers["www-authenticate"]
                .to_str()
                .unwrap()
                .starts_with("Bearer"),
            "{name}"
        );
        assert_eq!(v["status"], "failed", "{name}: contract shape");
        assert_eq!(v["error"]["code"], "unauthorized", "{name}");
    }
    for (header, caller) in [
        ("Bearer tok-orch-1", "orchestrator"),
        ("Bearer tok-ui-2", "analytics-ui"),
        ("  bearer   tok-ui-2  ", "analytics-ui"),
    ] {
        let (status, _, v) = post_as(&app, Some(header), &body).await;
        assert_eq!(status, 200, "{header}");
        assert_eq!(v["result"]["metadata"]["caller"], caller);
    }
    // Open: health and the card (which declares the scheme); readiness unless protected.
    assert_eq!(app.get("/health").await.0, 200);
    assert_eq!(app.get("/ready").await.0, 200);
    let (status, card) = app.get("/.well-known/agent-card.json").await;
    assert_eq!(status, 200);
    assert!(card["securitySchemes"]["bearer"].is_object(), "{card}");
    // The A2A endpoint is behind the same gate.
    let res = app
        .client
        .post(app.url("/"))
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
}

#[tokio::test]
async fn probes_can_be_protected_and_the_card_is_plain_without_auth() {
    let file = temp_file("keys-probes", &keys(&[("ops", "tok-ops")]));
    let mut s = Settings::for_tests();
    s.auth.protect_probes = true;
    let app = app_with(s, Some(&file)).await;
    assert_eq!(app.get("/health").await.0, 200);
    assert_eq!(app.get("/ready").await.0, 401);
    let res = app
        .client
        .get(app.url("/ready"))
        .header("authorization", "Bearer tok-ops")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    let open = app_with(Settings::for_tests(), None).await;
    let (_, card) = open.get("/.well-known/agent-card.json").await;
    assert!(
        card.get("securitySchemes").is_none(),
        "no scheme declared when auth is off"
    );
}

#[tokio::test]
async fn a_tiny_bucket_answers_429_with_retry_after_per_caller() {
    let file = temp_file("keys-rate", &keys(&[("a", "tok-a"), ("b", "tok-b")]));
    let mut s = Settings::for_tests();
    s.auth.rate_per_second = 0.5;
    s.auth.rate_burst = 2;
    let app = app_with(s, Some(&file)).await;
    let body = create_plan("r1", "errors in kql");
    for _ in 0..2 {
        assert_eq!(post_as(&app, Some("Bearer tok-a"), &body).await.0, 200);
    }
    let (status, headers, v) = post_as(&app, Some("Bearer tok-a"), &body).await;
    assert_eq!(status, 429);
    let retry: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=2).contains(&retry), "{retry}");
    assert_eq!(v["error"]["code"], "rate_limited");
    assert_eq!(
        post_as(&app, Some("Bearer tok-b"), &body).await.0,
        200,
        "another caller has its own bucket"
    );
    // Probes are not rate limited.
    for _ in 0..5 {
        assert_eq!(app.get("/health").await.0, 200);
    }
}

#[tokio::test]
async fn keys_reload_in_process_keeps_the_old_keys_on_a_bad_file() {
    let path = temp_file("keys-reload", &keys(&[("one", "tok-1")]));
    let auth = Auth::load(&path, false).unwrap();
    assert!(auth.authenticate(Some(b"Bearer tok-1")).is_ok());
    std::fs::write(&path, keys(&[("two", "tok-2")])).unwrap();
    assert_eq!(auth.reload(), Ok(1));
    assert!(auth.authenticate(Some(b"Bearer tok-1")).is_err());
    assert!(auth.authenticate(Some(b"Bearer tok-2")).is_ok());
    std::fs::write(&path, "two not-a-digest\n").unwrap();
    let err = auth.reload().unwrap_err();
    assert!(err.contains("line 1"), "{err}");
    assert!(
        auth.authenticate(Some(b"Bearer tok-2")).is_ok(),
        "old keys kept"
    );
}

#[tokio::test]
async fn sighup_reloads_keys_and_policy_without_dropping_the_server() {
    let keys_path = temp_file("keys-hup", &keys(&[("one", "tok-1")]));
    let policy_path = temp_file(
        "policy-hup.yaml",
        "modes:\n  prod: {deny_platforms: [spl]}\n",
    );
    let mut serve = Command::new(BIN);
    serve
        .arg("serve")
        .env("LLM_PROVIDER", "none")
        .env("PLANNER_API_KEYS_FILE", &keys_path)
        .env("POLICY_GATE_ENABLED", "true")
        .env("POLICY_CONFIG_PATH", &policy_path)
        .env("LOG_LEVEL", "warn");
    let (child, app) = serve_binary(serve).await;
    let body = create_plan("h1", "failed logins in splunk and azure");
    let platforms = |v: &Value| -> BTreeSet<String> {
        v["result"]["plan"]["steps"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|s| s["parameters"]["platform"].as_str().map(str::to_string))
            .collect()
    };
    let (status, _, v) = post_as(&app, Some("Bearer tok-1"), &body).await;
    assert_eq!(status, 200);
    assert!(!platforms(&v).contains("spl"), "{v}");

    std::fs::write(&keys_path, keys(&[("two", "tok-2")])).unwrap();
    std::fs::write(&policy_path, "modes:\n  prod: {deny_platforms: [kql]}\n").unwrap();
    let hup = |pid: u32| {
        Command::new("kill")
            .args(["-HUP", &pid.to_string()])
            .status()
            .unwrap()
    };
    assert!(hup(child.id()).success());
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let (status, _, v) = post_as(&app, Some("Bearer tok-2"), &body).await;
        if status == 200 {
            let p = platforms(&v);
            assert!(p.contains("spl") && !p.contains("kql"), "new policy: {p:?}");
            break;
        }
        assert!(Instant::now() < deadline, "reload not seen");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(post_as(&app, Some("Bearer tok-1"), &body).await.0, 401);

    // Broken files: the server keeps what it has.
    std::fs::write(&keys_path, "garbage\n").unwrap();
    std::fs::write(&policy_path, "modes: [not, a, map]\n").unwrap();
    assert!(hup(child.id()).success());
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (status, _, v) = post_as(&app, Some("Bearer tok-2"), &body).await;
    assert_eq!(status, 200, "old keys kept");
    assert!(!platforms(&v).contains("kql"), "old policy kept");
}

#[test]
fn a_policy_file_that_does_not_parse_stops_start_up_with_78_and_the_line() {
    let path = temp_file(
        "policy-bad.yaml",
        "modes:\n  prod:\n    deny_platforms: [spl]\n    max_step: 3\n",
    );
    let out = Command::new(BIN)
        .arg("serve")
        .env("PLANNER_PORT", "0")
        .env("LLM_PROVIDER", "none")
        .env("POLICY_GATE_ENABLED", "true")
        .env("POLICY_CONFIG_PATH", &path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(78));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("line 4") && err.contains("max_step"), "{err}");
}

/// The planner with `policy` in force.
fn gated_planner(policy: Policy) -> planner::planner::Planner {
    let settings = Settings::for_tests();
    planner::planner::Planner::new(&settings, None)
        .with_gate(Some(Arc::new(Gate::fixed(policy, "prod"))))
}

fn roster_context(case: &crate::quality::Case) -> Arc<Roster> {
    crate::quality::roster_for(case).roster
}

/// Whether a planned step (as JSON) is one the rule under test forbids.
type Denied = fn(&Value) -> bool;

#[tokio::test]
async fn every_rule_kind_holds_over_the_labelled_requests() {
    let rules: [(&str, &str, Denied); 6] = [
        ("deny_platforms", "deny_platforms: [spl]", |s| {
            s["parameters"]["platform"] == "spl"
        }),
        ("allow_platforms", "allow_platforms: [sql]", |s| {
            s["agent_type"] == "data" && s["parameters"]["platform"] != "sql"
        }),
        ("deny_agents", "deny_agents: [error_knowledge]", |s| {
            s["agent_id"] == "error_knowledge"
        }),
        (
            "allow_agents",
            "allow_agents: [sop_knowledge, kql_data]",
            |s| s["agent_id"] != "sop_knowledge" && s["agent_id"] != "kql_data",
        ),
        ("allow_domains", "allow_domains: [sop]", |s| {
            s["agent_type"] == "knowledge" && s["parameters"]["domain"] != "sop"
        }),
        ("deny_domains", "deny_domains: [errors, wiki]", |s| {
            s["parameters"]["domain"] == "errors" || s["parameters"]["domain"] == "wiki"
        }),
    ];
    let cases: Vec<_> = labelled_sets().into_iter().flat_map(|(_, c)| c).collect();
    for (rule, yaml, denied) in rules {
        let policy = Policy::parse(&format!("modes:\n  prod: {{{yaml}}}\n"), "prod").unwrap();
        let planner = gated_planner(policy);
        let mut withheld_somewhere = false;
        for case in &cases {
            let ctx = roster_context(case);
            let result = planner
                .plan(Request::create_plan(&case.id, &case.query, ctx))
                .await
                .unwrap();
            let v = serde_json::to_value(&result.plan).unwrap();
            for step in v["steps"].as_array().unwrap() {
                assert!(!denied(step), "{rule}: {} planned {step}", case.id);
            }
            let warnings = v["warnings"].as_array().unwrap();
            if warnings
                .iter()
                .any(|w| w.as_str().unwrap().contains(&format!("mode prod, {rule}")))
            {
                withheld_somewhere = true;
            }
        }
        assert!(
            withheld_somewhere,
            "{rule}: the warnings never named the rule"
        );
    }
}

#[tokio::test]
async fn limits_cap_the_plan_and_say_so() {
    let policy = Policy::parse(
        "modes:\n  prod: {max_steps: 2, max_parallel: 1, max_estimated_cost_usd: 0.0012}\n",
        "prod",
    )
    .unwrap();
    let planner = gated_planner(policy);
    let case = crate::quality::Case {
        id: "cap".into(),
        query: "Correlate Splunk firewall blocks with Azure sign-in failures and database logins, see the SOP and the wiki".into(),
        platforms: vec![],
        error_knowledge: false,
        intent: String::new(),
        raw: json!({}),
    };
    let ctx = roster_context(&case);
    let r = planner
        .plan(Request::create_plan("cap", &case.query, ctx))
        .await
        .unwrap();
    assert!(r.plan.steps.len() <= 2, "{:?}", r.plan.steps);
    assert!(
        r.plan
            .parallel_execution_groups
            .iter()
            .all(|g| g.len() == 1)
    );
    let joined = r.plan.warnings.join(" | ");
    assert!(joined.contains("max_steps 2"), "{joined}");
    assert!(
        r.plan.estimated_cost.cost_usd <= 0.0012 || joined.contains("still over"),
        "{joined}"
    );
    // Dependencies never point at a step that was left out.
    let ids: BTreeSet<&str> = r.plan.steps.iter().map(|s| s.step_id.as_str()).collect();
    for s in &r.plan.steps {
        assert!(s.depends_on.iter().all(|d| ids.contains(d.as_str())));
    }
}

#[tokio::test]
async fn optimize_plan_refuses_a_denied_agent_naming_step_and_rule() {
    let policy = temp_file(
        "policy-opt.yaml",
        "modes:\n  prod:\n    deny_platforms: [spl]\n    callers:\n      ui: {deny_agents: [kql_data]}\n",
    );
    let mut s = Settings::for_tests();
    s.policy.enabled = true;
    s.policy.config_path = policy.to_path_buf();
    let app = app_with(s, None).await;
    let body = json!({"task_id": "o1", "agent_id": "workflow_planner", "action": "optimize_plan",
        "parameters": {"plan": {"steps": [
            {"step_id": "k", "agent_type": "knowledge", "agent_id": "sop_knowledge"},
            {"step_id": "s", "agent_type": "data", "agent_id": "spl_data", "depends_on": ["k"],
             "parameters": {"platform": "spl"}}]}}});
    let (status, v) = app.post(&body).await;
    assert_eq!(status, 422);
    assert_eq!(v["error"]["code"], "policy_denied");
    let msg = v["error"]["message"].as_str().unwrap();
    assert!(
        msg.contains("'s'") && msg.contains("deny_platforms"),
        "{msg}"
    );
}

fn arb_policy() -> impl Strategy<Value = String> {
    let names = prop::sample::subsequence(vec!["kql", "spl", "sql", "promql"], 0..=4);
    let agents = prop::sample::subsequence(
        vec![
            "kql_data",
            "spl_data",
            "sql_data",
            "sop_knowledge",
            "error_knowledge",
            "wiki_knowledge",
            "prom",
        ],
        0..=7,
    );
    let domains = prop::sample::subsequence(vec!["sop", "errors", "wiki"], 0..=3);
    (names, any::<bool>(), agents, any::<bool>(), domains, any::<bool>(), 1usize..6).prop_map(
        |(p, allow_p, a, allow_a, d, allow_d, max)| {
            let list = |v: &[&str]| format!("[{}]", v.join(", "));
            format!(
                "modes:\n  prod:\n    {}_platforms: {}\n    {}_agents: {}\n    {}_domains: {}\n    max_steps: {max}\n",
                if allow_p { "allow" } else { "deny" }, list(&p),
                if allow_a { "allow" } else { "deny" }, list(&a),
                if allow_d { "allow" } else { "deny" }, list(&d),
            )
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn no_plan_contains_a_denied_agent(
        yaml in arb_policy(),
        offered in prop::sample::subsequence(vec!["kql", "spl", "sql", "promql"], 0..=4),
        pick in any::<prop::sample::Index>(),
    ) {
        let policy = Policy::parse(&yaml, "prod").unwrap();
        let cases: Vec<_> = labelled_sets().into_iter().flat_map(|(_, c)| c).collect();
        let case = pick.get(&cases);
        let data: Vec<Value> = offered.iter().map(|p| json!({
            "agent_id": if *p == "promql" { "prom".to_string() } else { format!("{p}_data") },
            "capabilities": ["generate_query"], "platform": p})).collect();
        let ctx_json = json!({"available_agents": {
            "knowledge": context_for(case)["available_agents"]["knowledge"].clone(),
            "data": data}});
        let ctx: ExecutionContext = planner::wire::from_value(ctx_json, "x").unwrap();
        let ctx = ctx.read("parameters.execution_context", &RosterCache::new(1)).expect("the roster reads").roster;
        let planner = gated_planner(policy.clone());
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let result = rt
            .block_on(planner.plan(Request::create_plan("p", &case.query, ctx.clone())))
            .unwrap();
        for step in &result.plan.steps {
            let agent = ctx.data_agents().iter().chain(ctx.knowledge_agents().iter())
                .find(|a| a.agent_id == step.agent_id)
                .expect("an offered agent");
            prop_assert!(policy.forbids_agent(agent, None).is_none(),
                "{} planned under\n{yaml}", step.agent_id);
        }
        let limit = policy.limits(None).max_steps.map(|m| m.0.get()).unwrap();
        prop_assert!(result.plan.steps.len() <= limit);
    }
}
