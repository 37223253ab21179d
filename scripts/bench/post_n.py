"""Posts the fixture invocation N times over one keep-alive connection, a distinct blob name
(`w0x<n>`) each time; fails on any non-200. Used by scripts/bench/instructions.sh."""
import http.client
import sys

addr, count, fixture = sys.argv[1], int(sys.argv[2]), open(sys.argv[3]).read()
host, port = addr.rsplit(":", 1)
conn = http.client.HTTPConnection(host, int(port))
for n in range(count):
    body = fixture.replace("PLACEHOLDER-5f0c2d7e-8b1a-4c3e-9d2f-6a7b8c9d0e1f", f"w0x{n}")
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        # What the Functions host sends with every invocation.
        "X-Azure-Functions-InvocationId": f"00000000-0000-4000-8000-{n:012x}",
        "X-Azure-Functions-HostVersion": "4.1037.1.1",
        "User-Agent": "Azure-Functions-Host/4.1037.1.1",
    }
    conn.request("POST", "/RecordingCreated", body, headers)
    res = conn.getresponse()
    res.read()
    if res.status != 200:
        sys.exit(f"request {n}: HTTP {res.status}")
