#!/usr/bin/env python3
"""Reference reader for the audit-log benchmark: the straightforward Python approach.

Reads the file line by line, json.loads each line and merges it into a dict keyed by tunnelId.
Prints one JSON line per run (wall and CPU time), then the medians and the peak RSS (ru_maxrss).
Usage: auditlogs_python.py <file> [repeats]
"""
import json
import resource
import sys
import time


def one_run(path):
    sessions, records, corrupt, size = {}, 0, 0, 0
    started, cpu_started = time.perf_counter(), time.process_time()
    with open(path, "rb") as f:
        for line in f:
            size += len(line)
            line = line.strip().lstrip(b"\xef\xbb\xbf")
            if not line:
                continue
            try:
                rec = json.loads(line)
            except ValueError:
                corrupt += 1
                continue
            records += 1
            props = rec.get("properties") or {}
            tunnel = props.get("tunnelId")
            if not tunnel:
                continue
            s = sessions.setdefault(tunnel.lower(), {})
            for key in ("userName", "userEmail", "clientIpAddress", "clientPort", "protocol",
                        "targetResourceId", "targetVMIPAddress", "sessionStartTime", "sessionEndTime", "duration"):
                if key in props and key not in s:
                    s[key] = props[key]
            s.setdefault("messages", set()).add(props.get("message"))
            s["last"] = max(s.get("last", ""), rec.get("time", ""))
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    return wall, cpu, size, records, len(sessions), corrupt


def main():
    path = sys.argv[1]
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    secs, cpus = [], []
    for i in range(repeats):
        t, cpu, size, records, sessions, corrupt = one_run(path)
        secs.append(t)
        cpus.append(cpu)
        print(json.dumps({"impl": "python", "run": i, "secs": round(t, 3), "cpu_secs": round(cpu, 3),
                          "bytes": size, "records": records,
                          "sessions": sessions, "corrupt": corrupt, "mb_per_s": round(size / 1e6 / t, 1)}), flush=True)
    secs.sort()
    cpus.sort()
    print(json.dumps({"impl": "python", "median_secs": round(secs[len(secs) // 2], 3),
                      "median_cpu_secs": round(cpus[len(cpus) // 2], 3),
                      "peak_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))


if __name__ == "__main__":
    main()
