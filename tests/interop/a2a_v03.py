#!/usr/bin/env python3
"""Interop check with the official A2A SDK, 0.3.x generation (protocol v0.3, no A2A-Version
header): reads the (dual) card, sends one planning request, checks the completed task's plan.

usage: a2a_v03.py BASE_URL
"""
import asyncio
import sys
import uuid

import httpx
from a2a.client import A2ACardResolver, ClientConfig, ClientFactory
from a2a.types import DataPart, Message, Part, Role, Task, TaskState, TextPart

AGENTS = {
    "available_agents": {
        "knowledge": [{"agent_id": "sop_kb", "knowledge_domain": "sop", "capabilities": ["retrieve_context"]}],
        "data": [{"agent_id": "kql_data", "platform": "kql", "capabilities": ["generate_query"]}, {"agent_id": "sql_data", "platform": "sql", "capabilities": ["generate_query"]}],
    }
}
QUERY = "Top 10 slowest queries in the orders database this week"


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        sys.exit(1)


async def main(base):
    async with httpx.AsyncClient(timeout=30) as http:
        card = await A2ACardResolver(http, base).get_agent_card()
        print("card:", card.name, card.url, card.protocol_version, card.preferred_transport)
        client = ClientFactory(ClientConfig(streaming=False, httpx_client=http)).create(card)
        msg = Message(role=Role.user, message_id=str(uuid.uuid4()),
                      parts=[Part(root=TextPart(text=QUERY)), Part(root=DataPart(data=AGENTS))])
        async for ev in client.send_message(msg):
            task = ev[0] if isinstance(ev, tuple) else ev
            check(isinstance(task, Task), "message/send answers a task")
            check(task.status.state == TaskState.completed, f"completed (got {task.status.state})")
            data = task.artifacts[0].parts[0].root.data
            agents = sorted({s["agent_id"] for s in data["plan"]["steps"]})
            print("agents:", agents)
            check("sql_data" in agents, "the plan uses sql_data")
            check("kql_data" not in agents, "no KQL step for a database request")
            return 0
    check(False, "an event came back")


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1])))
