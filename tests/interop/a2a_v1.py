#!/usr/bin/env python3
"""Interop check with the official A2A SDK, 1.x generation (protocol v1.0).

usage: a2a_v1.py BASE_URL

Fetches the agent card, sends one planning request (text part + the available agents as a data
part), checks the completed task's plan, then GetTask and ListTasks through the same client.
Exit 0 when every check holds; prints what failed otherwise.
"""
import asyncio
import json
import sys
import uuid

import httpx
from google.protobuf.json_format import MessageToDict, ParseDict
from google.protobuf.struct_pb2 import Value
from a2a.client import A2ACardResolver, ClientConfig, create_client
from a2a.types import (GetTaskRequest, ListTasksRequest, Message, Part, Role,
                       SendMessageRequest, TaskState)

AGENTS = {
    "available_agents": {
        "knowledge": [
            {"agent_id": "sop_kb", "knowledge_domain": "sop", "capabilities": ["retrieve_context"]},
            {"agent_id": "errors_kb", "knowledge_domain": "errors", "capabilities": ["retrieve_context"]},
        ],
        "data": [
            {"agent_id": "kql_data", "platform": "kql", "capabilities": ["generate_query"]},
            {"agent_id": "spl_data", "platform": "spl", "capabilities": ["generate_query"]},
        ],
    }
}
QUERY = "Why are checkout requests failing with 502s in Splunk since the deploy?"


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        sys.exit(1)


async def main(base):
    async with httpx.AsyncClient(timeout=30) as http:
        card = await A2ACardResolver(http, base).get_agent_card()
    interfaces = [(i.url, i.protocol_binding, i.protocol_version) for i in card.supported_interfaces]
    print("card:", card.name, interfaces)
    check(any(v == "1.0" for _, _, v in interfaces), "the card offers a v1.0 interface")
    check([s.id for s in card.skills] == ["create_plan", "optimize_plan"], "skills")

    client = await create_client(card, client_config=ClientConfig(streaming=False))
    try:
        msg = Message(role=Role.ROLE_USER, message_id=str(uuid.uuid4()), context_id="interop-ctx",
                      parts=[Part(text=QUERY),
                             Part(data=ParseDict(AGENTS, Value()), media_type="application/json")])
        task = None
        async for ev in client.send_message(SendMessageRequest(message=msg)):
            check(ev.HasField("task"), "SendMessage answers a task")
            task = ev.task
        check(task is not None, "one event")
        check(task.status.state == TaskState.TASK_STATE_COMPLETED,
              f"completed (got {TaskState.Name(task.status.state)})")
        check(task.context_id == "interop-ctx", "contextId kept")
        check(len(task.artifacts) == 1 and task.artifacts[0].name == "plan", "one artifact 'plan'")
        result = MessageToDict(task.artifacts[0].parts[0].data)
        steps = result["plan"]["steps"]
        agents = sorted({s["agent_id"] for s in steps})
        print("steps:", [(s["step_id"], s["agent_id"], s.get("depends_on")) for s in steps])
        check("spl_data" in agents and "errors_kb" in agents, f"the plan uses spl_data and errors_kb ({agents})")
        check("kql_data" not in agents, "no KQL step for a Splunk request")
        check(result["plan"]["parallel_execution_groups"], "parallel groups")

        got = await client.get_task(GetTaskRequest(id=task.id))
        check(got.id == task.id and got.status.state == TaskState.TASK_STATE_COMPLETED, "GetTask")
        listed = await client.list_tasks(ListTasksRequest(context_id="interop-ctx", page_size=10))
        check(any(t.id == task.id for t in listed.tasks), "ListTasks finds the task")
        check(listed.next_page_token == "", "last page has an empty nextPageToken")
    finally:
        await client.close()
    print(json.dumps({"task": task.id, "steps": len(steps)}))
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1])))
