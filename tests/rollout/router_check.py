#!/usr/bin/env python3
"""Checks against the live A/B router (tests/rollout/router.sh starts it). Standard library only.

usage: router_check.py split URL PERCENT | sticky URL | ids URL | too-large URL | failover URL
       | unavailable URL | same-as-mock LEGACY_URL MOCK_URL QUERIES.jsonl
Exit 0 when the check holds; prints what it measured.
"""
import http.client
import json
import math
import random
import sys
import urllib.parse
import uuid

KNOWLEDGE = [
    {"agent_id": "sop_knowledge", "capabilities": ["retrieve_context"], "knowledge_domain": "sop"},
    {"agent_id": "error_knowledge", "capabilities": ["retrieve_context"], "knowledge_domain": "errors"},
]
DATA = [
    {"agent_id": "kql_data", "capabilities": ["generate_query"], "platform": "kql"},
    {"agent_id": "spl_data", "capabilities": ["generate_query"], "platform": "spl"},
    {"agent_id": "sql_data", "capabilities": ["generate_query"], "platform": "sql"},
]


def task(journey=None, query="failed sign-ins in Azure over the last day", task_id=None, extra=None):
    ctx = {"available_agents": {"knowledge": KNOWLEDGE, "data": DATA}}
    if journey is not None:
        ctx["journey_id"] = journey
    params = {"natural_language": query, "execution_context": ctx}
    params.update(extra or {})
    return {"task_id": task_id or f"t-{uuid.uuid4().hex[:12]}", "agent_id": "workflow_planner",
            "action": "create_plan", "parameters": params}


class Client:
    def __init__(self, url, source="127.0.0.1"):
        u = urllib.parse.urlparse(url)
        self.host, self.port, self.source = u.hostname, u.port, source
        self.conn = None

    def post(self, body, headers=None, path="/a2a/task"):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        h = {"content-type": "application/json", **(headers or {})}
        for attempt in range(2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=20,
                                                       source_address=(self.source, 0))
            try:
                self.conn.request("POST", path, body=data, headers=h)
                r = self.conn.getresponse()
                raw = r.read()
                if r.getheader("connection", "").lower() == "close":
                    self.conn.close(); self.conn = None
                return r.status, {k.lower(): v for k, v in r.getheaders()}, raw
            except (http.client.HTTPException, ConnectionError, OSError):
                self.conn.close(); self.conn = None
                if attempt:
                    raise


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what, flush=True)
    if not ok:
        sys.exit(1)


def split(url, percent):
    # Journey ids from a fixed seed: the same ids every run, so the check is reproducible (random
    # ids made a correct 50 % split fail about one run in thirty at a fixed 3-point tolerance).
    # The tolerance is four binomial standard deviations of n journeys: a correct hash split stays
    # inside it, a wrong percentage or a broken key does not.
    c, n, new = Client(url), 3000, 0
    rng = random.Random(f"split-{percent}")
    for _ in range(n):
        journey = f"journey-{uuid.UUID(int=rng.getrandbits(128), version=4)}"
        new += variant(c.post(task(journey=journey))) == "new"
    share = 100.0 * new / n
    p = percent / 100.0
    tolerance = 400.0 * math.sqrt(p * (1 - p) / n)
    check(abs(share - percent) <= tolerance,
          f"split at {percent} %: {share:.1f} % of {n} journeys to the new planner (tolerance {tolerance:.1f} points)")


def variant(answer):
    """The side that answered a routed request; a failed answer fails the check, saying why."""
    status, h, body = answer
    if status != 200 or "x-planner-variant" not in h:
        check(False, f"routed answer: {status} {h.get('x-planner-variant')} {body[:300]!r}")
    return h["x-planner-variant"]


def sticky(url):
    a, b = Client(url, "127.0.0.1"), Client(url, "127.0.0.2")
    moved, variants = 0, set()
    for i in range(300):
        j = f"journey-{uuid.uuid4()}"
        va = variant(a.post(task(journey=j)))
        vb = variant(b.post(task(journey=j)))
        variants.add(va)
        moved += va != vb
        # The same journey in a header (as some orchestrators send it) lands on the same side.
        moved += variant(b.post(task(), headers={"x-journey-id": j})) != va
    check(moved == 0, f"300 journeys from two client addresses (body and header): {moved} changed side")
    check(variants == {"new", "legacy"}, "both sides were used")
    # Without a journey id the client address decides: one address, one side.
    sides = {variant(a.post(task())) for _ in range(20)}
    check(len(sides) == 1, f"no journey id: one client address stays on one side ({sides})")


def ids(url):
    c = Client(url)
    for _ in range(40):
        _, h, body = c.post(task(journey=f"j-{uuid.uuid4()}"), headers={"x-request-id": "req-abc-123"})
        check(h.get("x-request-id") == "req-abc-123", "a caller's X-Request-Id comes back") if h.get("x-request-id") != "req-abc-123" else None
    _, h, _ = c.post(task(journey="j-x"))
    check(len(h.get("x-request-id", "")) >= 16, f"a request without one gets an id ({h.get('x-request-id')})")
    check(True, "request ids on 40 routed requests")


def too_large(url):
    c = Client(url)
    status, h, body = c.post(task(query="x" * (1024 * 1024 + 10)))
    doc = json.loads(body)
    check(status == 413 and doc["status"] == "failed" and doc["error"]["code"] == "request_too_large",
          f"a body over 1 MiB: {status} {doc['error']['code']} (JSON from the router)")
    check("x-request-id" in h, "with a request id")


def failover(url):
    c, failed, variants = Client(url), 0, {}
    for i in range(300):
        status, h, body = c.post(task(journey=f"journey-{uuid.uuid4()}"))
        ok = status == 200 and json.loads(body).get("status") == "completed"
        failed += not ok
        v = h.get("x-planner-variant")
        variants[v] = variants.get(v, 0) + 1
    check(failed == 0, f"new planner killed: 300 requests, {failed} failed ({variants})")
    check(variants.get("legacy-failover", 0) > 0, "the new planner's share went to the legacy side")


def unavailable(url):
    c = Client(url)
    status, h, body = c.post(task(journey="j-down", task_id="task-down-1"))
    doc = json.loads(body)
    check(status == 502 and doc["error"]["code"] == "upstream_unavailable" and doc["task_id"] == "task-down-1",
          f"both sides down: {status} {doc['error']['code']} for {doc['task_id']} (JSON)")
    check("x-request-id" in h, "with a request id")


def same_as_mock(legacy_url, mock_url, queries):
    a, b = Client(legacy_url), Client(mock_url)
    cases = [json.loads(l) for l in open(queries) if l.strip()]
    bodies = []
    for i, case in enumerate(cases):
        for extra in ({}, {"platform": "spl"}, {"platform": "sql"}, {"platform": "promql"}):
            bodies.append(task(journey=f"j{i}", query=case["query"], task_id=f"c{i}", extra=extra))
    bodies.append({"task_id": "x", "action": "optimize_plan", "parameters": {}})
    bodies.append({"task_id": "y", "action": "create_plan"})
    bodies.append({"task_id": "z", "action": "create_plan",
                   "parameters": {"natural_language": "timeouts", "execution_context": {}}})
    differ = 0
    for body in bodies:
        sa, _, ra = a.post(body)
        sb, _, rb = b.post(body)
        if (sa, json.loads(ra)) != (sb, json.loads(rb)):
            differ += 1
            print("differs:", json.dumps(body)[:200], "\n  legacy:", ra[:300], "\n  mock:  ", rb[:300])
    check(differ == 0, f"legacy strategy vs the old mock: {len(bodies)} requests, {differ} different answers")


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    {"split": lambda: split(args[0], float(args[1])), "sticky": lambda: sticky(args[0]),
     "ids": lambda: ids(args[0]), "too-large": lambda: too_large(args[0]),
     "failover": lambda: failover(args[0]), "unavailable": lambda: unavailable(args[0]),
     "same-as-mock": lambda: same_as_mock(*args)}[cmd]()
