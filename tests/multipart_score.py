#!/usr/bin/env python3
"""Score a running planner on multi-part requests (tests/data/multipart.jsonl): does each agent
get its part of the request, do steps wait for the results they use, is the time range found.

usage: python3 tests/multipart_score.py BASE_URL [FILE] [--verbose]

Each line: {"id", "query", "platforms", "clauses": {platform: [words]}, "depends": [[waits,
for]], "time_range": bool, optional "error_query"}. A case is right when all of these hold:
  clause      each data step's parameters.natural_language has every word of its platform's
              clause and none of another platform's (words both clauses list are shared context)
  depends     the data steps wait exactly as listed (`waits` depends on `for`), no other data
              step waits for another data step
  time        with "time_range": true, every data step's parameters.entities.time_range is set
  error       with "error_query", the error-knowledge step's parameters.query contains it and
              no data clause's words
Standard library only; the last line is a one-line JSON summary.
"""
import json
import sys
import urllib.request

ROSTER = {
    "knowledge": [
        {"agent_id": "sop_knowledge", "capabilities": ["retrieve_context"], "knowledge_domain": "sop"},
        {"agent_id": "error_knowledge", "capabilities": ["retrieve_context"], "knowledge_domain": "errors"},
        {"agent_id": "wiki_knowledge", "capabilities": ["retrieve_context"], "knowledge_domain": "wiki"},
    ],
    "data": [
        {"agent_id": f"{p}_data", "capabilities": ["generate_query"], "platform": p}
        for p in ("kql", "spl", "sql")
    ],
}


def plan(base, case):
    body = {
        "task_id": case["id"], "agent_id": "workflow_planner", "action": "create_plan",
        "parameters": {"natural_language": case["query"],
                       "execution_context": {"available_agents": ROSTER}},
    }
    req = urllib.request.Request(f"{base}/a2a/task", data=json.dumps(body).encode(),
                                 headers={"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.load(r)["result"]["plan"]


def judge(case, p):
    data = {s["parameters"].get("platform"): s for s in p["steps"] if s["agent_type"] == "data"}
    problems = []
    clauses = case["clauses"]
    for platform, words in clauses.items():
        step = data.get(platform)
        if step is None:
            problems.append(f"clause: no {platform} step")
            continue
        text = step["parameters"].get("natural_language", "").lower()
        missing = [w for w in words if w.lower() not in text]
        foreign = [w for q, ws in clauses.items() if q != platform for w in ws
                   if w not in words and w.lower() in text]
        if missing or foreign:
            problems.append(f"clause: {platform} missing {missing} has {foreign}")
    ids = {platform: s["step_id"] for platform, s in data.items()}
    want = {(a, b) for a, b in case.get("depends", [])}
    got = {(a, b) for a, s in data.items() for b, other in ids.items()
           if a != b and other in s.get("depends_on", [])}
    if got != want:
        problems.append(f"depends: want {sorted(want)} got {sorted(got)}")
    if case.get("time_range"):
        untimed = [pl for pl, s in data.items()
                   if not (s["parameters"].get("entities") or {}).get("time_range")]
        if untimed:
            problems.append(f"time: none on {untimed}")
    if case.get("error_query"):
        errs = [s for s in p["steps"] if s["agent_id"] == "error_knowledge"]
        query = errs[0]["parameters"].get("query", "").lower() if errs else ""
        foreign = [w for ws in clauses.values() for w in ws
                   if w.lower() in query and w.lower() != case["error_query"].lower()]
        if case["error_query"].lower() not in query or foreign:
            problems.append(f"error: query {query[:60]!r} (want {case['error_query']}, not {foreign})")
    return problems


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    verbose = "--verbose" in sys.argv
    base = args[0].rstrip("/")
    path = args[1] if len(args) > 1 else "tests/data/multipart.jsonl"
    cases = [json.loads(line) for line in open(path) if line.strip()]
    kinds = {"clause": 0, "depends": 0, "time": 0, "error": 0}
    right = 0
    for case in cases:
        problems = judge(case, plan(base, case))
        right += not problems
        for k in kinds:
            kinds[k] += not any(pr.startswith(k) for pr in problems)
        if verbose or problems:
            print(case["id"], "ok" if not problems else "; ".join(problems))
    print(json.dumps({"cases": len(cases), "right": right, **{f"{k}_ok": v for k, v in kinds.items()}}))


if __name__ == "__main__":
    main()
