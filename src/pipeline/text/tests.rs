//! The tokenizer: words, forms, parts, clause and sentence starts.

use super::*;

fn forms(t: &Text) -> Vec<String> {
    (0..t.len()).map(|i| t.form(i).to_string()).collect()
}

#[test]
fn dashes_possessives_and_accents_are_normalised() {
    let t = Text::new("Azure sign-ins in Splunk's index; Données, Umsätze from 10.0.0.5");
    assert_eq!(
        forms(&t),
        [
            "azure", "signins", "in", "splunk", "index", "donnees", "umsatze", "from", "10", "0",
            "0", "5"
        ]
    );
    assert_eq!(t.original(1), "signins");
    assert_eq!(t.original(3), "Splunk");
    assert!(
        t.tokens[5].clause_start && t.tokens[5].sentence_start,
        "after a semicolon"
    );
    assert!(
        t.tokens[6].clause_start && !t.tokens[6].sentence_start,
        "after a comma"
    );
    assert!(!t.tokens[4].clause_start);
    assert!(
        !t.tokens[9].clause_start,
        "dots inside an address break nothing"
    );
    assert_eq!(t.parts(1).collect::<Vec<_>>(), ["sign", "ins"]);
}

#[test]
fn scripts_without_spaces_split_from_latin_words() {
    let t = Text::new("Splunkのエラーを表示");
    assert_eq!(forms(&t), ["splunk", "のエラーを表示"]);
    assert!(t.tokens[1].cjk && !t.tokens[0].cjk);
}

#[test]
fn camel_case_words_yield_their_parts() {
    let t = Text::new("AADNonInteractiveUserSignInLogs ContainerLogV2 last_login HTTP");
    let parts = |i| t.parts(i).collect::<Vec<_>>();
    assert_eq!(
        parts(0),
        ["aad", "non", "interactive", "user", "sign", "in", "logs"]
    );
    assert_eq!(parts(1), ["container", "log", "v2"]);
    assert!(parts(2).is_empty(), "snake_case is not split");
    assert!(parts(3).is_empty(), "all capitals are not CamelCase");
    let t = Text::new("PSQLException URLs IPsec");
    let parts = |i| t.parts(i).collect::<Vec<_>>();
    assert_eq!(parts(0), ["psql", "exception"], "an acronym before a word");
    assert!(
        parts(1).is_empty() && parts(2).is_empty(),
        "a plural, a short prefix"
    );
    let t = Text::new("the Splunk owner - count (Splunk was retired) on-call");
    let starts: Vec<bool> = t.tokens.iter().map(|w| w.clause_start).collect();
    assert_eq!(starts, [true, false, false, true, true, false, false, true]);
}

#[test]
fn names_match_when_spelled_out() {
    let t = Text::new("compare sign-in logs with fact orders");
    let mentions = |name: &str| t.has_name(name) || t.forms().spells(&spelled_parts(name));
    assert!(mentions("SigninLogs"));
    assert!(mentions("FactOrders"));
    assert!(!mentions("AuditLogs"));
}

#[test]
fn names_split_ahead_are_spelled_out_only_in_order() {
    let texts = [
        "compare sign-in logs with fact orders",
        "Anmeldungen in den Größe Tabelle größe tabelle",
        "aad non interactive user sign in logs and http 500 errors",
        "logs logs signin",
    ];
    let names = [
        "SigninLogs",
        "FactOrders",
        "AADNonInteractiveUserSignInLogs",
        "GrößeTabelle",
        "Http500Errors",
        "Users",
        "sign_in_logs",
        "",
    ];
    // (text, name) pairs spelled out; every other pair is not.
    let spelled = [
        (0, "SigninLogs"),
        (0, "FactOrders"),
        (1, "GrößeTabelle"),
        (2, "AADNonInteractiveUserSignInLogs"),
    ];
    for (k, text) in texts.iter().enumerate() {
        let t = Text::new(text);
        for name in names {
            assert_eq!(
                t.forms().spells(&spelled_parts(name)),
                spelled.contains(&(k, name)),
                "{name} in {text}"
            );
        }
    }
}

#[test]
fn corrections_replace_the_matching_form_only() {
    let mut t = Text::new("app insghts");
    t.correct(1, "insights");
    assert_eq!(t.form(1), "insights");
    assert_eq!(t.original(1), "insghts");
    assert_eq!(t.corrections().count(), 1);
}
