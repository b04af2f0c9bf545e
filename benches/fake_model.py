#!/usr/bin/env python3
"""A minimal model server for the load test's cache-hit path: Ollama's /api/tags and
/api/generate, always the same valid answer. usage: fake_model.py PORT"""
import json, sys
from http.server import ThreadingHTTPServer, BaseHTTPRequestHandler

ANSWER = json.dumps({"data": True, "p": ["kql", "sql"], "i": "security", "error": False})


class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def send(self, obj):
        raw = json.dumps(obj).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def do_GET(self):
        self.send({"models": [{"name": "llama3.1:8b", "model": "llama3.1:8b", "modified_at": "2026-01-01T00:00:00Z", "size": 1, "digest": "d"}]})

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send({"model": "llama3.1:8b", "created_at": "2026-01-01T00:00:00Z", "response": ANSWER,
                   "done": True, "prompt_eval_count": 200, "eval_count": 17})


ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
