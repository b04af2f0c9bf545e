//! The Kubernetes manifests as the API server would read them: every overlay rendered with
//! `kubectl kustomize` (ignored unless asked for: `.ci/run` installs kubectl and runs them), every
//! object parsed into the typed `k8s-openapi` structs with nothing left over (a misspelt field
//! fails), and the wiring checked: probes on the planner's routes, selectors that match, settings
//! the planner knows.

use std::collections::BTreeSet;
use std::process::Command;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Service, ServiceAccount};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

fn render(overlay: &str) -> Vec<Value> {
    let dir = format!("{}/deploy/k8s/{overlay}", env!("CARGO_MANIFEST_DIR"));
    let out = Command::new("kubectl")
        .args(["kustomize", &dir])
        .output()
        .expect("kubectl runs (apt-get install kubectl)");
    assert!(
        out.status.success(),
        "kubectl kustomize {overlay}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    yaml_serde::Deserializer::from_str(&text)
        .map(|doc| Value::deserialize(doc).expect("valid YAML"))
        .collect()
}

/// `v` as `T`, and back: the typed struct must keep every field (nothing unknown or misspelt).
fn typed<T: DeserializeOwned + Serialize>(v: &Value) -> T {
    let t: T = serde_json::from_value(v.clone())
        .unwrap_or_else(|e| panic!("{} {}: {e}", v["kind"], v["metadata"]["name"]));
    let back = serde_json::to_value(&t).unwrap();
    assert_same(
        v,
        &back,
        &format!("{}/{}", v["kind"], v["metadata"]["name"]),
    );
    t
}

fn assert_same(original: &Value, typed: &Value, at: &str) {
    match (original, typed) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, va) in a {
                let vb = b
                    .get(k)
                    .unwrap_or_else(|| panic!("{at}.{k}: not a field of the typed object"));
                assert_same(va, vb, &format!("{at}.{k}"));
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            assert_eq!(a.len(), b.len(), "{at}");
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                assert_same(x, y, &format!("{at}[{i}]"));
            }
        }
        // Quantities and int-or-string values may change form ("2" vs 2); the rest must not.
        (a, b) if a.as_str().is_some() || b.as_str().is_some() => {
            let s = |v: &Value| v.as_str().map_or_else(|| v.to_string(), str::to_string);
            assert_eq!(s(a), s(b), "{at}");
        }
        (a, b) => assert_eq!(a, b, "{at}"),
    }
}

fn check_overlay(overlay: &str) {
    let objects = render(overlay);
    let mut kinds = BTreeSet::new();
    let mut deployments = Vec::new();
    let (mut services, mut hpas, mut pdbs, mut configmaps) = (vec![], vec![], vec![], vec![]);
    for o in &objects {
        let kind = o["kind"].as_str().unwrap().to_string();
        if kind != "Namespace" {
            assert!(
                o["metadata"]["namespace"]
                    .as_str()
                    .is_some_and(|n| n.starts_with("planner")),
                "{overlay}: {kind} {} has no namespace",
                o["metadata"]["name"]
            );
        }
        match kind.as_str() {
            "Deployment" => deployments.push(typed::<Deployment>(o)),
            "Service" => services.push(typed::<Service>(o)),
            "HorizontalPodAutoscaler" => hpas.push(typed::<HorizontalPodAutoscaler>(o)),
            "PodDisruptionBudget" => pdbs.push(typed::<PodDisruptionBudget>(o)),
            "ConfigMap" => configmaps.push(typed::<ConfigMap>(o)),
            "NetworkPolicy" => {
                typed::<NetworkPolicy>(o);
            }
            "Namespace" => {
                typed::<Namespace>(o);
            }
            "ServiceAccount" => {
                typed::<ServiceAccount>(o);
            }
            other => panic!("{overlay}: unexpected kind {other}"),
        }
        kinds.insert(kind);
    }
    for k in [
        "Deployment",
        "Service",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
        "ConfigMap",
        "NetworkPolicy",
    ] {
        assert!(kinds.contains(k), "{overlay}: no {k}");
    }

    let planner = deployments
        .iter()
        .find(|d| d.metadata.name.as_deref() == Some("planner"))
        .expect("the planner Deployment");
    let spec = planner.spec.as_ref().unwrap();
    let pod = spec.template.spec.as_ref().unwrap();
    let labels = spec
        .template
        .metadata
        .as_ref()
        .unwrap()
        .labels
        .clone()
        .unwrap();
    let c = &pod.containers[0];
    let path = |p: &Option<k8s_openapi::api::core::v1::Probe>| {
        p.as_ref()
            .and_then(|p| p.http_get.as_ref())
            .and_then(|h| h.path.clone())
    };
    assert_eq!(path(&c.liveness_probe).as_deref(), Some("/health"));
    assert_eq!(path(&c.readiness_probe).as_deref(), Some("/ready"));
    assert!(c.startup_probe.is_some(), "startup probe");
    let sc = c.security_context.as_ref().unwrap();
    assert_eq!(sc.allow_privilege_escalation, Some(false));
    assert_eq!(sc.read_only_root_filesystem, Some(true));
    assert_eq!(sc.run_as_non_root, Some(true));
    assert_eq!(
        sc.capabilities.as_ref().unwrap().drop.as_deref(),
        Some(&["ALL".to_string()][..])
    );
    let res = c.resources.as_ref().unwrap();
    assert!(res.requests.is_some() && res.limits.is_some(), "resources");
    assert!(pod.topology_spread_constraints.is_some(), "spread");
    assert_eq!(pod.automount_service_account_token, Some(false));

    // Selectors that select the planner's pods.
    let selects = |sel: &std::collections::BTreeMap<String, String>| {
        sel.iter().all(|(k, v)| labels.get(k) == Some(v))
    };
    let svc = services
        .iter()
        .find(|s| s.metadata.name.as_deref() == Some("planner"))
        .unwrap();
    assert!(selects(
        svc.spec.as_ref().unwrap().selector.as_ref().unwrap()
    ));
    let pdb = &pdbs[0];
    let pdb_sel = pdb.spec.as_ref().unwrap().selector.as_ref().unwrap();
    assert!(selects(pdb_sel.match_labels.as_ref().unwrap()));
    let hpa = &hpas[0];
    assert_eq!(hpa.spec.as_ref().unwrap().scale_target_ref.name, "planner");

    // Every setting in the ConfigMap is one the planner reads.
    let known: BTreeSet<&str> = planner::config::ENV_VARS.iter().map(|(v, _)| *v).collect();
    let cm = configmaps
        .iter()
        .find(|c| {
            c.metadata
                .name
                .as_deref()
                .is_some_and(|n| n.starts_with("planner-settings"))
        })
        .expect("settings ConfigMap");
    for key in cm.data.as_ref().unwrap().keys() {
        assert!(
            known.contains(key.as_str()),
            "{overlay}: {key} is no planner setting"
        );
    }
}

#[test]
#[ignore = "needs kubectl"]
fn the_base_renders_into_valid_typed_objects() {
    check_overlay("base");
}

#[test]
#[ignore = "needs kubectl"]
fn the_dev_overlay_renders_into_valid_typed_objects() {
    check_overlay("overlays/dev");
}

#[test]
#[ignore = "needs kubectl"]
fn the_prod_overlay_renders_into_valid_typed_objects() {
    check_overlay("overlays/prod");
}
