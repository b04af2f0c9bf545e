//! Properties the fusion guarantees whatever a model answers: for every labelled request, any
//! roster drawn from its agents, and arbitrary schema-valid answers, the plan uses only offered
//! agents, keeps every platform the ask names as its target, never uses one the request rules
//! out, adds only platforms the model named, loses its data steps only where the text leaves
//! open whether data is wanted and the model says no data with no platform, and stays valid.

use planner::config::Settings;
use planner::domain::{AgentType, AnalysisSource, Intent, Platform};
use planner::pipeline::analyzer::fusion::{self, ModelAnswer, Open};
use planner::pipeline::analyzer::{AnalyzerOptions, analyze_text};
use planner::pipeline::generator::{GeneratorOptions, generate};
use planner::pipeline::optimizer::layer;
use planner::pipeline::selector::select;
use planner::pipeline::text::Text;
use proptest::prelude::*;
use proptest::sample::Index;

use crate::quality::{Case, context_for, labelled_sets};
use planner::wire::{ExecutionContext, ReadRoster, RosterCache};

fn all_cases() -> Vec<Case> {
    labelled_sets()
        .into_iter()
        .flat_map(|(_, set)| set)
        .collect()
}

/// The roster of `case` with only the data agents `keep` picks (bit `i` keeps agent `i`).
fn roster(case: &Case, keep: u32) -> ReadRoster {
    let mut context = context_for(case);
    let agents = &mut context["available_agents"]["data"];
    let kept: Vec<serde_json::Value> = agents
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
        .filter(|(i, _)| keep & (1 << i) != 0)
        .map(|(_, a)| a.clone())
        .collect();
    *agents = serde_json::Value::Array(kept);
    let ctx: ExecutionContext = planner::wire::from_value(context, "execution_context").unwrap();
    ctx.read("parameters.execution_context", &RosterCache::new(1))
        .expect("the roster reads")
}

/// What a plan used, against what the request named as the ask's target (and some agent
/// serves) and ruled out, and what the text left open.
struct Outcome {
    used: Vec<Platform>,
    named: Vec<Platform>,
    excluded: Vec<Platform>,
    open: Open,
}

/// The plan for `case` under `roster` with the model's `answer` (or none), checked for
/// validity.
fn plan(case: &Case, roster: &ReadRoster, answer: Option<&ModelAnswer>) -> Result<Outcome, String> {
    let settings = Settings::for_tests();
    let ctx = roster.roster.clone();
    let mut text = Text::new(&case.query);
    let kw = analyze_text(&mut text, &ctx, &AnalyzerOptions::from(&settings.planner));
    let named: Vec<Platform> = kw.named_platforms().cloned().collect();
    let excluded: Vec<Platform> = kw.excluded_platforms().cloned().collect();
    let open = Open::of(&kw);
    let analysis = match answer {
        Some(a) => fusion::fuse(kw, a, AnalysisSource::Llm),
        None => kw.analysis,
    };
    let selection = select(&text, &analysis, &ctx);
    let steps = generate(
        &case.query,
        &analysis,
        &selection,
        &GeneratorOptions::from(&settings.planner),
    );
    let groups =
        layer(&steps, settings.planner.max_parallel_agents.get()).map_err(|e| e.to_string())?;
    let grouped: usize = groups.iter().map(Vec::len).sum();
    if grouped != steps.len() {
        return Err(format!("{grouped} grouped of {} steps", steps.len()));
    }
    for s in &steps {
        let offered = match s.agent_type {
            AgentType::Data => ctx.data_agents().iter().any(|a| a.agent_id == s.agent_id),
            AgentType::Knowledge => ctx
                .knowledge_agents()
                .iter()
                .any(|a| a.agent_id == s.agent_id),
        };
        if !offered {
            return Err(format!(
                "step {} uses unoffered agent {}",
                s.step_id, s.agent_id
            ));
        }
    }
    let used: Vec<Platform> = selection.data.iter().map(|d| d.platform.clone()).collect();
    let named_served: Vec<Platform> = named
        .into_iter()
        .filter(|p| {
            ctx.data_agents()
                .iter()
                .any(|a| a.platform.as_ref() == Some(p))
        })
        .collect();
    Ok(Outcome {
        used,
        named: named_served,
        excluded,
        open,
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(768))]

    #[test]
    fn any_schema_valid_answer_keeps_the_plan_safe(
        pick in any::<Index>(),
        keep in any::<u32>(),
        wants_data in any::<bool>(),
        platforms in proptest::collection::vec(any::<Index>(), 0..4),
        intent in 0usize..5,
        error in any::<bool>(),
        answered in 0u8..16,
    ) {
        let cases = all_cases();
        let case = pick.get(&cases);
        let roster = roster(case, keep);
        let names = fusion::platform_names(&roster.roster);
        // As the answer's validation does: each platform once, in the model's order.
        let mut chosen: Vec<Platform> = Vec::new();
        for i in &platforms {
            let name: &String = i.get(&names);
            if let Some(p) = Platform::parse(name)
                && !chosen.contains(&p)
            {
                chosen.push(p);
            }
        }
        // A model is asked only what is open: any of the keys may be missing.
        let has = |bit: u8| answered & (1 << bit) == 0;
        let answer = ModelAnswer {
            wants_data: has(0).then_some(wants_data),
            platforms: has(1).then_some(chosen),
            intent: has(2).then_some(Intent::ALL[intent]),
            error_knowledge: has(3).then_some(error),
            dropped_platforms: Vec::new(),
        };
        let said = answer.platforms.clone().unwrap_or_default();
        let alone = plan(case, &roster, None).map_err(TestCaseError::fail)?;
        let fused = plan(case, &roster, Some(&answer)).map_err(TestCaseError::fail)?;
        for p in &fused.named {
            prop_assert!(fused.used.contains(p), "{}: named {p} dropped for {answer:?}", case.id);
        }
        for p in &fused.excluded {
            prop_assert!(!fused.used.contains(p), "{}: excluded {p} used for {answer:?}", case.id);
        }
        for p in fused.used.iter().filter(|p| !alone.used.contains(p)) {
            prop_assert!(
                said.contains(p),
                "{}: {p} added though the model did not name it: {answer:?}", case.id
            );
        }
        let knowledge_only = answer.wants_data == Some(false) && answer.platforms == Some(vec![]);
        prop_assert!(
            alone.used.is_empty() || !fused.used.is_empty() || (fused.open.data && knowledge_only),
            "{}: the model emptied {:?} with {answer:?}", case.id, alone.used
        );
    }
}
