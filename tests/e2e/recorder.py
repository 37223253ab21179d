#!/usr/bin/env python3
"""A scripted custom handler for the devhost tests.

Listens on FUNCTIONS_CUSTOMHANDLER_PORT and appends one JSON line per request to
$FUNCTIONS_APP_ROOT_PATH/requests.jsonl (method, path, headers, body, chunked).
Replies follow $FUNCTIONS_APP_ROOT_PATH/script.json, re-read on every request:
  {"<FunctionName>": {"fail": N, "status": 500, "fail_content_type": "...", "reply": {...},
                      "content_type": "...", "crash": false, "exit0": false, "slow": N}}
The first N calls of the function answer `status` (N = -1: always); later calls answer
200 with `reply` (default {"Outputs":{},"Logs":["recorded"],"ReturnValue":null}); `crash`
exits with code 3, `exit0` with code 0; the first `slow` calls
sleep 2 s before answering.
Paths under /api/ echo the request; /api/redirect answers 302.
"""
import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ROOT = os.environ["FUNCTIONS_APP_ROOT_PATH"]
LOG = os.path.join(ROOT, "requests.jsonl")
LOCK = threading.Lock()
CALLS = {}


def record(entry):
    with LOCK:
        with open(LOG, "a", encoding="utf-8") as f:
            f.write(json.dumps(entry) + "\n")


def read_body(handler):
    if handler.headers.get("Transfer-Encoding", "").lower() == "chunked":
        data = b""
        while True:
            size = int(handler.rfile.readline().strip().split(b";")[0], 16)
            if size == 0:
                handler.rfile.readline()
                return data, True
            data += handler.rfile.read(size)
            handler.rfile.readline()
    length = int(handler.headers.get("Content-Length") or 0)
    return (handler.rfile.read(length) if length else b""), False


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send(self, status, body, content_type="application/json", extra=None):
        data = body.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def handle_any(self):
        body, chunked = read_body(self)
        if self.command == "GET" and self.path == "/":
            return self.send(200, "{}")
        entry = {
            "method": self.command,
            "path": self.path,
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "body": body.decode("utf-8", "replace"),
            "chunked": chunked,
        }
        record(entry)
        if self.path.startswith("/api/"):
            if self.path.startswith("/api/redirect"):
                return self.send(302, "", "text/plain", {"Location": "/elsewhere"})
            return self.send(418, json.dumps(entry), "application/json", {"X-Recorder": "yes"})
        name = self.path.lstrip("/")
        try:
            with open(os.path.join(ROOT, "script.json"), encoding="utf-8") as f:
                script = json.load(f).get(name, {})
        except (OSError, ValueError):
            script = {}
        with LOCK:
            CALLS[name] = CALLS.get(name, 0) + 1
            n = CALLS[name]
        if n <= script.get("slow", 0):
            import time
            time.sleep(2)
        if script.get("crash"):
            os._exit(3)
        if script.get("exit0"):
            os._exit(0)
        fail = script.get("fail", 0)
        if fail == -1 or n <= fail:
            ct = script.get("fail_content_type", "application/json")
            return self.send(script.get("status", 500), '{"error":"scripted failure"}', ct)
        reply = script.get("reply", {"Outputs": {}, "Logs": ["recorded"], "ReturnValue": None})
        self.send(200, json.dumps(reply), script.get("content_type", "application/json"))

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = handle_any


def orphan_guard(parent):
    # Never outlive devhost, even if it is killed without a chance to stop us.
    import time
    while os.getppid() == parent:
        time.sleep(0.2)
    os._exit(0)


if __name__ == "__main__":
    threading.Thread(target=orphan_guard, args=(os.getppid(),), daemon=True).start()
    port = int(os.environ["FUNCTIONS_CUSTOMHANDLER_PORT"])
    record({"start": {k: os.environ.get(k) for k in (
        "FUNCTIONS_CUSTOMHANDLER_PORT", "FUNCTIONS_CUSTOMHANDLER_WORKER_ID", "FUNCTIONS_APP_ROOT_PATH")}})
    print(f"recorder listening port={port}", flush=True)
    print("recorder warning line", file=sys.stderr, flush=True)
    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
