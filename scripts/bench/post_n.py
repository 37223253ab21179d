"""Posts the fixture invocation N times over one keep-alive connection, a distinct blob name
(`w0x<n>`) each time; fails on any non-200. Used by scripts/bench/instructions.sh."""
import http.client
import sys

addr, count, fixture = sys.argv[1], int(sys.argv[2]), open(sys.argv[3]).read()
host, port = addr.rsplit(":", 1)
conn = http.client.HTTPConnection(host, int(port))
for n in range(count):
    body = fixture.replace("PLACEHOLDER-5f0c2d7e-8b1a-4c3e-9d2f-6a7b8c9d0e1f", f"w0x{n}")
    conn.request("POST", "/RecordingCreated", body, {"Content-Type": "application/json"})
    res = conn.getresponse()
    res.read()
    if res.status != 200:
        sys.exit(f"request {n}: HTTP {res.status}")
