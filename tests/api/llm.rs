//! The model side against fake servers (wiremock fakes the server, our real HTTP client talks to
//! it): good answers, every way a backend fails, breaker, cache and coalescing.

use std::time::{Duration, Instant};

use crate::helpers::{assert_valid_plan, create_plan, spawn_app};
use planner::config::{Provider, Settings};
use serde_json::{Value, json};
use wiremock::matchers::{body_partial_json, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

fn settings(provider: Provider, server: &MockServer) -> Settings {
    let mut s = Settings::for_tests();
    s.llm.provider = provider;
    s.llm.ollama_host = format!("{}/", server.uri()).parse().unwrap();
    s.llm.openai_base_url = format!("{}/v1", server.uri());
    s.llm.openai_model = "gemma-3-270m".into();
    s.llm.timeout = Duration::from_millis(500);
    s.llm.deadline = Duration::from_millis(1500);
    s.llm.breaker_failures = std::num::NonZeroU32::new(3).unwrap();
    s.llm.breaker_cooldown = Duration::from_millis(300);
    s.cache.enabled = false;
    s
}

fn answer(platforms: &[&str], intent: &str, error_knowledge: bool) -> String {
    json!({"data": !platforms.is_empty(), "p": platforms, "i": intent, "error": error_knowledge})
        .to_string()
}

fn ollama_reply(text: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "model": "llama3.1:8b", "created_at": "2026-11-23T10:00:00Z", "response": text,
        "done": true, "done_reason": "stop", "total_duration": 900000000u64,
        "prompt_eval_count": 210, "eval_count": 30
    }))
}

fn openai_reply(text: &str, finish: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "id": "c1", "object": "chat.completion", "model": "gemma-3-270m",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": finish}],
        "usage": {"prompt_tokens": 180, "completion_tokens": 24, "total_tokens": 204}
    }))
}

/// The generation calls the server received (readiness and detection GETs left out).
async fn model_calls(server: &MockServer) -> Vec<Request> {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|r| r.method.as_str() == "POST")
        .collect()
}

fn generate() -> wiremock::MockBuilder {
    Mock::given(method("POST")).and(path("/api/generate"))
}

fn chat() -> wiremock::MockBuilder {
    Mock::given(method("POST")).and(path("/v1/chat/completions"))
}

fn analysis(body: &Value) -> &Value {
    &body["result"]["analysis"]
}

fn data_platforms(body: &Value) -> Vec<String> {
    body["result"]["plan"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["agent_type"] == "data")
        .map(|s| s["parameters"]["platform"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn ollama_answers_are_used_and_the_request_has_schema_and_options() {
    let server = MockServer::start().await;
    generate()
        .and(body_partial_json(json!({
            "model": "llama3.1:8b", "stream": false, "keep_alive": "30m",
            "options": {"temperature": 0.0, "seed": 42, "num_predict": 48, "num_ctx": 2048, "stop": ["}"]}
        })))
        .respond_with(ollama_reply(&answer(&["spl"], "investigation", false)))
        .expect(1)
        .mount(&server)
        .await;
    let app = spawn_app(settings(Provider::Ollama, &server)).await;
    let (status, body) = app
        .post(&create_plan("o1", "what happened to bob yesterday"))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_valid_plan(&body);
    assert_eq!(analysis(&body)["source"], "llm", "{body}");
    assert_eq!(data_platforms(&body), ["spl"]);
    let llm = &body["result"]["metadata"]["llm"];
    assert_eq!(llm["provider"], "ollama");
    assert_eq!(llm["model"], "llama3.1:8b");
    assert_eq!(
        (
            llm["prompt_tokens"].as_u64(),
            llm["completion_tokens"].as_u64()
        ),
        (Some(210), Some(30))
    );
    assert_eq!(llm["tokens_estimated"], false);
    assert!(llm["prompt_version"].as_str().unwrap().starts_with("qa1-"));
    assert_eq!(
        body["result"]["plan"]["estimated_cost"]["planner_tokens"],
        240
    );

    let sent: Value = model_calls(&server).await[0].body_json().unwrap();
    let schema = &sent["format"];
    assert_eq!(schema["type"], "object");
    assert_eq!(
        schema["properties"]["p"]["items"]["enum"],
        json!(["kql", "spl", "sql"])
    );
    assert!(!schema.to_string().contains("$ref"));
    assert!(
        sent["prompt"]
            .as_str()
            .unwrap()
            .contains("what happened to bob yesterday")
    );
    assert!(sent["system"].as_str().unwrap().contains("JSON"));
}

#[tokio::test]
async fn openai_compatible_servers_get_a_json_schema_response_format() {
    let server = MockServer::start().await;
    chat()
        .and(body_partial_json(json!({
            "model": "gemma-3-270m", "max_tokens": 48, "temperature": 0.0, "seed": 42, "stream": false, "stop": ["}"],
            "response_format": {"type": "json_schema", "json_schema": {"name": "query_analysis", "strict": true}}
        })))
        .respond_with(openai_reply(&answer(&["sql"], "analytics", false), "stop"))
        .expect(1)
        .mount(&server)
        .await;
    let app = spawn_app(settings(Provider::Openai, &server)).await;
    let (_, body) = app
        .post(&create_plan("oa1", "what happened to bob yesterday"))
        .await;
    assert_eq!(analysis(&body)["source"], "llm", "{body}");
    assert_eq!(data_platforms(&body), ["sql"]);
    let llm = &body["result"]["metadata"]["llm"];
    assert_eq!(
        (
            llm["prompt_tokens"].as_u64(),
            llm["completion_tokens"].as_u64()
        ),
        (Some(180), Some(24))
    );
    let sent: Value = model_calls(&server).await[0].body_json().unwrap();
    assert_eq!(sent["messages"][0]["role"], "system");
    // Only what the text leaves open is asked: here data, platforms and error knowledge (the
    // intent, `what happened`, is explicit).
    let schema = &sent["response_format"]["json_schema"]["schema"];
    assert_eq!(
        schema["required"],
        json!(["data", "p", "error"]),
        "{schema}"
    );
    assert!(schema["properties"].get("i").is_none(), "{schema}");
    assert!(
        sent.get("grammar").is_none(),
        "a server that is not llama.cpp gets the schema"
    );
}

#[tokio::test]
async fn a_llama_cpp_server_gets_a_compact_grammar_and_the_answer_may_stop_before_its_brace() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/models"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"object": "list", "data": [{"id": "gemma", "object": "model", "owned_by": "llamacpp"}]}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    chat()
        .respond_with(openai_reply(
            r#"{"data":true,"p":["kql"],"i":"security","error":false"#,
            "stop",
        ))
        .expect(2)
        .mount(&server)
        .await;
    let app = spawn_app(settings(Provider::Openai, &server)).await;
    for i in 0..2 {
        let (_, body) = app
            .post(&create_plan(
                &format!("g{i}"),
                &format!("what happened to bob {i}"),
            ))
            .await;
        assert_eq!(analysis(&body)["source"], "llm", "{body}");
        assert_eq!(data_platforms(&body), ["kql"]);
    }
    let sent: Value = model_calls(&server).await[0].body_json().unwrap();
    let grammar = sent["grammar"].as_str().unwrap();
    assert!(
        grammar.starts_with(r#"root ::= "{\"data\":" bool ",\"p\":[""#),
        "{grammar}"
    );
    assert!(sent.get("response_format").is_none());
    server.verify().await;
}

#[tokio::test]
async fn a_malformed_answer_gets_one_repair_call_with_the_error_fed_back() {
    let server = MockServer::start().await;
    generate()
        .respond_with(ollama_reply("Sure! Here is the JSON: {platforms: kql"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    generate()
        .respond_with(ollama_reply(&answer(&["kql"], "security", false)))
        .mount(&server)
        .await;
    let app = spawn_app(settings(Provider::Ollama, &server)).await;
    let (_, body) = app
        .post(&create_plan("r1", "show azure sign-ins again"))
        .await;
    assert_eq!(analysis(&body)["source"], "llm", "{body}");
    assert_eq!(body["result"]["metadata"]["llm"]["attempts"], 2);
    let requests = model_calls(&server).await;
    assert_eq!(requests.len(), 2);
    let retry: Value = requests[1].body_json().unwrap();
    let prompt = retry["prompt"].as_str().unwrap();
    assert!(
        prompt.contains("could not be used") && prompt.contains("{platforms: kql"),
        "{prompt}"
    );
}

#[tokio::test]
async fn schema_valid_nonsense_never_overrules_what_the_text_states() {
    let server = MockServer::start().await;
    generate()
        .respond_with(ollama_reply(&answer(&["sql", "spl"], "analytics", true)))
        .mount(&server)
        .await;
    let app = spawn_app(settings(Provider::Ollama, &server)).await;
    // The intent is left open (one weak cue); the platform and the error knowledge are not.
    let (_, body) = app
        .post(&create_plan("n1", "show azure sign-ins again"))
        .await;
    assert_eq!(analysis(&body)["source"], "llm");
    assert_eq!(data_platforms(&body), ["kql"]);
    assert_eq!(analysis(&body)["intent"], "analytics", "the open decision");
    assert_eq!(
        analysis(&body)["knowledge_requirements"]["requires_error_knowledge"],
        false
    );
    assert_eq!(model_calls(&server).await.len(), 1);
}

/// A request whose text decides everything a model could change is planned without asking it:
/// no call, `fallback` with the reason `not_needed`, and the reasoning says why.
#[tokio::test]
async fn the_model_is_not_asked_where_it_could_change_nothing() {
    let server = MockServer::start().await;
    generate()
        .respond_with(ollama_reply(&answer(&["sql", "kql"], "analytics", true)))
        .mount(&server)
        .await;
    let app = spawn_app(settings(Provider::Ollama, &server)).await;
    let (_, body) = app
        .post(&create_plan(
            "n2",
            "Search Splunk for failed sudo attempts on the build servers",
        ))
        .await;
    let a = analysis(&body);
    assert_eq!(
        (&a["source"], &a["fallback_reason"]),
        (&json!("fallback"), &json!("not_needed"))
    );
    assert!(
        a["reasoning"].as_str().unwrap().contains("model not asked"),
        "{a}"
    );
    assert_eq!(data_platforms(&body), ["spl"]);
    assert_eq!(a["intent"], "security");
    assert!(body["result"]["metadata"].get("llm").is_none(), "{body}");
    assert!(model_calls(&server).await.is_empty());
}

/// One way a model server can fail, and the fallback reason it must produce.
struct Fault {
    name: &'static str,
    provider: Provider,
    reply: ResponseTemplate,
    /// Model calls expected: 2 where a repair retry is worth it, 1 where it is not.
    calls: u64,
    reason: &'static str,
    tune: fn(&mut Settings),
}

fn keep(_: &mut Settings) {}

#[tokio::test]
async fn every_model_failure_falls_back_to_the_keyword_plan_with_its_reason() {
    let slow = || ollama_reply("{}").set_delay(Duration::from_secs(10));
    let faults = [
        Fault {
            name: "prose instead of JSON",
            provider: Provider::Ollama,
            reply: ollama_reply("I think Azure?"),
            calls: 2,
            reason: "unparseable",
            tune: keep,
        },
        Fault {
            name: "wrong types",
            provider: Provider::Ollama,
            reply: ollama_reply(r#"{"data": 1, "p": "kql", "i": 7, "error": "maybe"}"#),
            calls: 2,
            reason: "invalid_answer",
            tune: keep,
        },
        Fault {
            name: "cut off at the token cap",
            provider: Provider::Openai,
            reply: openai_reply("{\"platforms\": [\"kq", "length"),
            calls: 2,
            reason: "truncated",
            tune: keep,
        },
        Fault {
            name: "ollama: model not pulled",
            provider: Provider::Ollama,
            reply: ResponseTemplate::new(404)
                .set_body_json(json!({"error": "model 'llama3.1:8b' not found"})),
            calls: 1,
            reason: "model_missing",
            tune: keep,
        },
        Fault {
            name: "openai: no such model",
            provider: Provider::Openai,
            reply: ResponseTemplate::new(404)
                .set_body_json(json!({"error": {"message": "no such model"}})),
            calls: 1,
            reason: "model_missing",
            tune: keep,
        },
        Fault {
            name: "server error",
            provider: Provider::Ollama,
            reply: ResponseTemplate::new(500).set_body_string("boom"),
            calls: 1,
            reason: "server_error",
            tune: keep,
        },
        Fault {
            name: "slower than the call timeout",
            provider: Provider::Ollama,
            reply: slow(),
            calls: 1,
            reason: "timeout",
            tune: keep,
        },
        Fault {
            name: "slower than the deadline",
            provider: Provider::Ollama,
            reply: slow(),
            calls: 1,
            reason: "deadline",
            tune: |s| {
                s.llm.timeout = Duration::from_secs(30);
                s.llm.deadline = Duration::from_millis(400);
            },
        },
    ];
    let mut problems = Vec::new();
    for fault in faults {
        let server = MockServer::start().await;
        let route = match fault.provider {
            Provider::Openai => chat(),
            _ => generate(),
        };
        route
            .respond_with(fault.reply)
            .expect(fault.calls)
            .mount(&server)
            .await;
        let mut s = settings(fault.provider, &server);
        (fault.tune)(&mut s);
        let app = spawn_app(s).await;
        let started = Instant::now();
        let (status, body) = app.post(&create_plan("f", "show azure sign-ins")).await;
        let elapsed = started.elapsed();
        let got = (
            status,
            analysis(&body)["source"]
                .as_str()
                .unwrap_or("?")
                .to_string(),
            analysis(&body)["fallback_reason"]
                .as_str()
                .unwrap_or("?")
                .to_string(),
            data_platforms(&body),
        );
        let want = (
            200,
            "fallback".to_string(),
            fault.reason.to_string(),
            vec!["kql".to_string()],
        );
        if got != want {
            problems.push(format!("{}: got {got:?}, want {want:?}", fault.name));
        }
        if elapsed > Duration::from_secs(3) {
            problems.push(format!("{}: took {elapsed:?}", fault.name));
        }
        let calls = model_calls(&server).await.len() as u64;
        if calls != fault.calls {
            problems.push(format!(
                "{}: {calls} model calls, want {}",
                fault.name, fault.calls
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[tokio::test]
async fn an_unreachable_server_falls_back() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut s = Settings::for_tests();
    s.llm.provider = Provider::Ollama;
    s.llm.ollama_host = format!("http://127.0.0.1:{port}/").parse().unwrap();
    let app = spawn_app(s).await;
    let (status, body) = app.post(&create_plan("u1", "show azure sign-ins")).await;
    assert_eq!(status, 200);
    assert_valid_plan(&body);
    assert_eq!(analysis(&body)["fallback_reason"], "unreachable");
    assert_eq!(data_platforms(&body), ["kql"]);
}

#[tokio::test]
async fn the_breaker_opens_after_repeated_failures_and_closes_after_a_good_trial() {
    let server = MockServer::start().await;
    generate()
        .respond_with(ResponseTemplate::new(500))
        .expect(3)
        .mount(&server)
        .await;
    let app = spawn_app(settings(Provider::Ollama, &server)).await;
    let mut reasons = Vec::new();
    for i in 0..5 {
        let (_, body) = app
            .post(&create_plan(
                &format!("b{i}"),
                &format!("show azure sign-ins {i}"),
            ))
            .await;
        reasons.push(
            analysis(&body)["fallback_reason"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    assert_eq!(
        reasons,
        [
            "server_error",
            "server_error",
            "server_error",
            "breaker_open",
            "breaker_open"
        ]
    );
    let (_, ready) = app.get("/ready").await;
    assert_eq!(ready["llm"]["breaker"], "open");
    server.verify().await;

    server.reset().await;
    generate()
        .respond_with(ollama_reply(&answer(&["kql"], "security", false)))
        .mount(&server)
        .await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    let (_, body) = app
        .post(&create_plan("b9", "show azure sign-ins again"))
        .await;
    assert_eq!(analysis(&body)["source"], "llm", "{body}");
    let (_, ready) = app.get("/ready").await;
    assert_eq!(ready["llm"]["breaker"], "closed");
}

#[tokio::test]
async fn a_repeated_request_is_served_from_the_cache() {
    let server = MockServer::start().await;
    generate()
        .respond_with(ollama_reply(&answer(&["kql"], "security", false)))
        .expect(1)
        .mount(&server)
        .await;
    let mut s = settings(Provider::Ollama, &server);
    s.cache.enabled = true;
    let app = spawn_app(s).await;
    let (_, first) = app
        .post(&create_plan("c1", "Show Azure sign-ins again"))
        .await;
    let (_, second) = app
        .post(&create_plan("c2", "  show   AZURE sign-ins again "))
        .await;
    assert_eq!(analysis(&first)["source"], "llm");
    assert_eq!(analysis(&second)["source"], "cache");
    assert_eq!(second["result"]["metadata"]["llm"]["cached"], true);
    let agents = |b: &Value| -> Vec<Value> {
        b["result"]["plan"]["steps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| json!([s["step_id"], s["agent_id"]]))
            .collect()
    };
    assert_eq!(agents(&first), agents(&second));
}

/// A cache hit reuses the analysis JSON (and its token count) the same model answer was last
/// planned into only for an equal analysis: requests that share a cache key (case and
/// spacing folded) but not their keyword analysis each get their own, estimated as a planner
/// that never saw the other would estimate it.
#[tokio::test]
async fn cache_hits_with_different_analyses_never_share_an_estimate() {
    let server = MockServer::start().await;
    generate()
        .respond_with(ollama_reply(&answer(&["kql"], "diagnostic", true)))
        .mount(&server)
        .await;
    let mut s = settings(Provider::Ollama, &server);
    s.cache.enabled = true;
    let upper = "Count rows on Azure by ResultType and AppDisplayName";
    let lower = "count rows on azure by resulttype and appdisplayname";
    let plan = |body: &Value| {
        let mut result = body["result"].clone();
        result["metadata"] = Value::Null;
        result["plan"]["plan_id"] = Value::Null;
        result
    };

    let app = spawn_app(s.clone()).await;
    let mut hits = Vec::new();
    for (i, query) in [upper, upper, lower, lower, upper].iter().enumerate() {
        let (status, body) = app.post(&create_plan(&format!("m{i}"), query)).await;
        assert_eq!(status, 200);
        assert_eq!(
            analysis(&body)["source"],
            if i == 0 { "llm" } else { "cache" }
        );
        hits.push(plan(&body));
    }
    assert_eq!(model_calls(&server).await.len(), 1, "one cache key");
    assert_ne!(
        hits[1]["analysis"], hits[2]["analysis"],
        "the analyses differ"
    );
    assert_eq!(
        hits[1], hits[4],
        "the same request plans the same after another"
    );
    assert_eq!(hits[2], hits[3]);

    // A planner that only ever saw the lower-case request, its answer cached the same way.
    let fresh = spawn_app(s).await;
    fresh.post(&create_plan("f0", lower)).await;
    let (_, body) = fresh.post(&create_plan("f1", lower)).await;
    assert_eq!(analysis(&body)["source"], "cache");
    assert_eq!(plan(&body), hits[3]);
    assert!(
        hits[1]["plan"]["estimated_cost"]["input_tokens"].as_u64() > Some(0),
        "{}",
        hits[1]["plan"]
    );
}

#[tokio::test]
async fn failures_are_not_cached() {
    let server = MockServer::start().await;
    generate()
        .respond_with(ResponseTemplate::new(500))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    generate()
        .respond_with(ollama_reply(&answer(&["kql"], "security", false)))
        .mount(&server)
        .await;
    let mut s = settings(Provider::Ollama, &server);
    s.cache.enabled = true;
    let app = spawn_app(s).await;
    let (_, first) = app.post(&create_plan("f1", "show azure sign-ins")).await;
    let (_, second) = app.post(&create_plan("f2", "show azure sign-ins")).await;
    assert_eq!(analysis(&first)["source"], "fallback");
    assert_eq!(analysis(&second)["source"], "llm");
}

#[tokio::test]
async fn fifty_concurrent_identical_requests_make_one_model_call() {
    let server = MockServer::start().await;
    generate()
        .respond_with(
            ollama_reply(&answer(&["kql"], "security", false))
                .set_delay(Duration::from_millis(200)),
        )
        .expect(1)
        .mount(&server)
        .await;
    let mut s = settings(Provider::Ollama, &server);
    s.cache.enabled = true;
    let app = spawn_app(s).await;
    let app = std::sync::Arc::new(app);
    let tasks: Vec<_> = (0..50)
        .map(|i| {
            let app = app.clone();
            tokio::spawn(async move {
                app.post(&create_plan(&format!("p{i}"), "show azure sign-ins"))
                    .await
            })
        })
        .collect();
    let mut sources = std::collections::BTreeMap::new();
    for t in tasks {
        let (status, body) = t.await.unwrap();
        assert_eq!(status, 200);
        *sources
            .entry(analysis(&body)["source"].as_str().unwrap().to_string())
            .or_insert(0) += 1;
    }
    assert_eq!(sources.get("llm"), Some(&1), "{sources:?}");
    assert_eq!(sources.get("cache"), Some(&49), "{sources:?}");
    server.verify().await;
}

#[tokio::test]
async fn readiness_reports_the_backend_and_the_model() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/tags"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"models": [
            {"name": "llama3.1:8b", "model": "llama3.1:8b", "modified_at": "2026-01-01T00:00:00Z", "size": 1, "digest": "x"}
        ]})))
        .mount(&server)
        .await;
    let app = spawn_app(settings(Provider::Ollama, &server)).await;
    let (status, body) = app.get("/ready").await;
    assert_eq!(status, 200);
    assert_eq!(body["llm"]["reachable"], true);
    assert_eq!(body["llm"]["model_present"], true);
    assert_eq!(body["analysis"], "llm");

    let mut s = settings(Provider::Ollama, &server);
    s.llm.ollama_model = "qwen2.5:7b".into();
    let app = spawn_app(s).await;
    let (status, body) = app.get("/ready").await;
    assert_eq!(status, 200, "still ready: plans fall back");
    assert_eq!(body["llm"]["model_present"], false);
    assert_eq!(body["analysis"], "keyword_fallback");

    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/models"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"object": "list", "data": [{"id": "gemma-3-270m"}]})),
        )
        .mount(&server)
        .await;
    let app = spawn_app(settings(Provider::Openai, &server)).await;
    let (_, body) = app.get("/ready").await;
    assert_eq!(
        (
            body["llm"]["provider"].as_str(),
            body["llm"]["model_present"].as_bool()
        ),
        (Some("openai"), Some(true))
    );
}

#[tokio::test]
async fn tasks_beyond_the_in_flight_limit_get_503_overloaded() {
    let server = MockServer::start().await;
    generate()
        .respond_with(
            ollama_reply(&answer(&["kql"], "security", false))
                .set_delay(Duration::from_millis(800)),
        )
        .mount(&server)
        .await;
    let mut s = settings(Provider::Ollama, &server);
    s.llm.timeout = Duration::from_secs(5);
    s.llm.deadline = Duration::from_secs(5);
    s.server.max_in_flight = std::num::NonZeroUsize::MIN;
    s.agent.id = "planner_green".into();
    let app = std::sync::Arc::new(spawn_app(s).await);
    let first = {
        let app = app.clone();
        tokio::spawn(async move { app.post(&create_plan("busy1", "show azure sign-ins")).await })
    };
    // Wait until the first task is with the model.
    for _ in 0..100 {
        if !server
            .received_requests()
            .await
            .unwrap_or_default()
            .is_empty()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let (status, body) = app.post(&create_plan("busy2", "show azure sign-ins")).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["status"], "failed");
    assert_eq!(body["error"]["code"], "overloaded");
    assert_eq!(
        body["agent_id"], "planner_green",
        "the configured id, not a default"
    );
    assert_eq!(first.await.unwrap().0, 200);
}
