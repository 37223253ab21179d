#!/usr/bin/env python3
"""Monthly cost of running Bastion recordings for an estate (docs/cost.md explains every figure).

  scripts/cost.py --hosts 5 --sessions-per-day 2000 [--recordings-per-day N] [--memory-mb 2048]
                  [--zone-redundant] [--no-workspace] [--workspaces N] [--estate-hosts N] [--sentinel] [--custody]
                  [--prices prices.json] [--json]
  scripts/cost.py --estates      # the three estates of docs/cost.md, with and without zone redundancy

Counts come from MEASURED storage calls (the counting stores of the tests and benches, named in
MEASURED); prices from PRICES (USD, East US, pay-as-you-go), each with the date and whether it could be
confirmed on Microsoft's pricing pages. `--prices` replaces any of them (same keys, a number each).
Standard library only. Tested by scripts/cost_test.py.
"""

import argparse
import json
import math
import sys
from pathlib import Path

DAYS = 730 / 24  # days in the average month Azure bills (730 hours)
SECONDS = 730 * 3600

# Storage calls per unit of work, as counted by the library's counting decorators.
MEASURED = {
    # tests/e2e/recordings/calls.rs and scripts/bench-azurite.sh ("storage calls per new recording"):
    # blob.properties=1 blob.set_tags=1 table.query=3 (the name's path index, two days of
    # sessionwindows) table.write=2 (the path index row, the row).
    "recording": {"blob_other": 1, "blob_write": 1, "table": 5},
    # src/audit_logs/tail/tests/cost.rs: registering an hour blob (AuditLogCreated): (blob 2, table 3).
    "audit_hour_created": {"blob_other": 2, "table": 3},
    # same test, per AuditLogTail tick: no cursor (0, 6); each Bastion host one List Blobs (1, 0),
    # however many hour blobs it watches (scripts/bench-tail.sh: 1.00 per host at 1, 20 and 100
    # hosts); a blob with new records +(1, 16) for its first record (its ranged read, claim, save,
    # session and join rows).
    "tick_base": {"table": 6},
    "tick_per_host": {"blob_write": 1},
    "tick_per_blob_with_data": {"blob_other": 1, "table": 16},
    # scripts/bench-join.sh: the join's overhead per audit record, 5.5-8.4 on every grid point.
    "per_audit_record": {"table": 6},
}
# From the code paths, not counted by a test (docs/cost.md says which).
DERIVED = {
    # RecordingHash: catalogue row read, properties, tags (compared with the row), 8 MiB ranged
    # reads of the blob, ETag-conditional merge.
    "hash": {"table": 2, "blob_other": 2},
    # NotifyWebhook: per destination, a claim insert and its delivered mark in `deliveries`.
    "notify_per_destination": {"table": 2},
    # Each queue message: put (output binding), get and delete (the host's trigger).
    "queue_per_message": 3,
    # Reconcile, per run: one catalogue or cursor lookup per blob of the window, List Blobs pages.
    "reconcile_per_recent_blob": {"table": 1},
    # AuditLogQuery, per workspace and tick: the cursor read and its conditional write, then one query
    # (more only when a window is split); the rows go through the same join as the tail's records.
    "query_per_workspace": {"table": 2},
    # ReviewQueue, every 5 minutes: the recent days' session partitions, the open queue; then per
    # session, its index row, queue row and (user, VM) pair, written when its inputs change.
    "review_tick": {"table": 3},
    "review_per_session": {"table": 3},
    # EstateCheck, per host every 15 minutes: the host's open findings read (and, for a recording
    # host, its live rows: the RDP sessions' VMs), writes only on change.
    "estate_per_host": {"table": 2},
    # LiveSessions, per host every 5 minutes: the host's live rows read and its one estate finding
    # (check-failed:live-sessions) read by key, one conditional write per session seen (its first
    # and last sighting: about two per session).
    "live_per_host": {"table": 2},
    "live_per_session": {"table": 2},
}
# The Sentinel export (docs/sentinel.md), counted by benches/sentinel.rs (1.004 table calls a row
# through the exporter): each row is one outbox upsert where it is recorded, then a hundredth of a
# transaction of conditional deletes once sent and a thousandth of a page read; each SentinelExport
# tick lists the outbox's buckets (one call) and reads the six tables' partitions in the open
# buckets (at most two: the quarter hour being written and one settling), and for a table with rows
# takes and releases its lease (a read and a write each); every quarter hour a closed bucket is
# passed by the six cursors and deleted (about 55 calls: 3.7 a tick). 1 + 12 + 3.7, rounded up.
# Once a quarter hour, on the first tick after it turns, each table with rows still in the bucket
# just left reads the later bucket over that page's keys (a row recorded again there is sent from
# there, not twice): one query per table and later bucket, six at most (an outage's backlog pays
# one per later bucket and page of 1,000 rows on top, not counted here).
SENTINEL_CALLS = {"per_row": {"table": 1.011}, "tick": {"table": 17}, "per_table_with_rows": {"table": 4},
                  "quarter_hour": {"table": 6}}
# JSON bytes of a typical row of each table (compact JSON, as sent; the columns of
# sentinel/tables.json filled with an estate's usual values: ids, host and VM names, resource ids).
# Log Analytics bills the ingested size; taking the JSON (names of the columns included) is an
# upper bound.
SENTINEL_ROW_BYTES = {"detections": 1100, "reviews": 490, "findings": 600, "disconnects": 500,
                      "sessions": 720, "recordings": 700}
# Rows per fact: a detection per notification (one recording.catalogued per recording, plus the
# failed-login bursts); a review per reviewed session (share assumed); each session and recording
# row written when it changes (start, end, joined; catalogued, hashed, joined: three each; recorded
# by the session window's writers and the catalogue's, docs/sentinel.md).
SENTINEL_ROWS = {"reviewed_share": 0.1, "session_rows": 3, "recording_rows": 3, "findings_per_host": 4}

# Resource Manager reads of the estate checks, per host: 6 when nothing changed (host, diagnostic
# settings, blob service, container, the recording target's role assignments and role definition;
# one more per VM of recent RDP sessions), and a live-session read of 5 (the host, getActiveSessions,
# its status monitor polled through InProgress to Succeeded, its result). ARM and Logs Query requests
# carry no charge; they count against throttling budgets only.
ARM_PER_HOST_CHECK, ARM_PER_HOST_LIVE = 6, 5

# USD, pay-as-you-go, East US. `confirmed`: read on Microsoft's pricing page with the tools used for
# docs/cost.md. The pricing pages render their prices in the browser and could not be read, so no
# price is confirmed there: each is the list price as published in 2025 (the Flex Consumption rates as
# quoted for East US in May 2025). Check them at https://azure.microsoft.com/pricing/ or the Retail
# Prices API (https://prices.azure.com/api/retail/prices) and pass --prices.
PRICES = {
    "flex_on_demand_gb_s": (0.000026, "Flex Consumption on-demand execution time, per GB-s (100,000 GB-s free a month)"),
    "flex_free_gb_s": (100_000, "Flex Consumption on-demand free grant, GB-s a month"),
    "flex_per_million_executions": (0.40, "Flex Consumption on-demand executions, per million (250,000 free a month)"),
    "flex_free_executions": (250_000, "Flex Consumption free executions a month"),
    "flex_always_ready_baseline_gb_s": (0.000004, "Flex Consumption always-ready baseline, per GB-s"),
    "blob_write_per_10k": (0.05, "Blob Storage hot LRS write operations (Set Blob Tags, List Blobs), per 10,000"),
    "blob_other_per_10k": (0.004, "Blob Storage hot LRS read and other operations (Get Blob, Get Blob Properties), per 10,000"),
    "blob_index_tags_per_10k_month": (0.03, "Blob index tags, per 10,000 tags a month"),
    "table_per_10k": (0.00036, "Table Storage LRS transactions, per 10,000"),
    "queue_per_10k": (0.004, "Queue Storage (general-purpose v2) LRS operations, per 10,000"),
    "event_grid_per_million": (0.60, "Event Grid basic operations, per million (100,000 free a month)"),
    "event_grid_free": (100_000, "Event Grid free operations a month"),
    "log_ingest_per_gb": (2.30, "Log Analytics Analytics-logs ingestion (Application Insights), per GB (5 GB free a month per billing account; queries of Analytics logs are not charged)"),
    "log_free_gb": (5, "Log Analytics free ingestion a month, GB"),
    "sentinel_ingest_per_gb": (2.30, "Logs Ingestion API into Analytics-logs custom tables, per GB (the Log Analytics price; Microsoft Sentinel's own per-GB charge on the workspace comes on top and is not included)"),
}
PRICE_DATE, PRICE_REGION, PRICE_CONFIRMED = "2025", "East US", False

# Flex Consumption: minimum billable execution 1,000 ms, then rounded up to 100 ms (Microsoft Learn,
# Flex Consumption plan hosting, Billing). Zone redundancy keeps >= 2 always-ready instances per
# per-function scale group (infra/README.md, Zone redundancy).
MIN_BILLED_S = 1.0
FUNCTIONS_DIR = Path(__file__).resolve().parent.parent / "functions"


def scale_groups(functions_dir=FUNCTIONS_DIR):
    """Flex's per-function scale groups of this app, read from its function.json files: HTTP functions
    share one group, blob triggers share one, every other function (Event Grid, queue, timer) is its own."""
    triggers = [next(b["type"] for b in json.loads(f.read_text(encoding="utf-8"))["bindings"]
                     if b["type"].endswith("Trigger"))
                for f in sorted(functions_dir.glob("*/function.json"))]
    shared = {"httpTrigger", "blobTrigger"}
    return len({t for t in triggers if t in shared}) + sum(t not in shared for t in triggers)


SCALE_GROUPS = scale_groups()

# Assumptions (docs/cost.md, "Not measured"): parameters of the command.
DEFAULTS = {
    "recording_mb": 20,  # average recording size (RecordingHash reads it in 8 MiB ranges)
    "failed_login_ratio": 0.04,  # failed logins per session (the backfill bench's history)
    "destinations": 1,  # notification destinations configured
    "api_requests_per_day": 200,  # catalogue API calls
    "retention_days": 365,  # how long a recording keeps its two index tags
    "log_kb_per_invocation": 2.0,  # Application Insights: the request and its log lines
    "call_ms": 10,  # one storage round trip in the region
    "window_hours": 48,  # AUDIT_TAIL_WINDOW_HOURS: a cursor stays active this long after its hour
}


def add(total, calls, times=1.0):
    for k, v in calls.items():
        total[k] = total.get(k, 0.0) + v * times


def billed_seconds(calls, call_ms):
    """Billable time of one invocation making `calls` sequential storage calls."""
    return max(MIN_BILLED_S, math.ceil(calls * call_ms / 100) / 10)


def sentinel_rows(hosts, sessions_per_day, recordings_per_day=None, failed_login_ratio=None):
    """Rows a month per Sentinel table: {table: rows}."""
    ratio = DEFAULTS["failed_login_ratio"] if failed_login_ratio is None else failed_login_ratio
    rec = (sessions_per_day if recordings_per_day is None else recordings_per_day) * DAYS
    sessions = sessions_per_day * DAYS
    # One burst per five failed logins at most: the bursts' own notifications (two per burst).
    bursts = sessions * ratio / 5 * 2
    return {
        "detections": rec + bursts,
        "reviews": sessions * SENTINEL_ROWS["reviewed_share"],
        "findings": hosts * SENTINEL_ROWS["findings_per_host"],
        "disconnects": 0.0,
        "sessions": sessions * SENTINEL_ROWS["session_rows"],
        "recordings": rec * SENTINEL_ROWS["recording_rows"],
    }


# The custody workspace (docs/custody.md): the recording accounts' diagnostic settings send StorageRead,
# StorageWrite and StorageDelete (table StorageBlobLogs). ASSUMED, not measured: 12 logged requests per
# recording (the upload: 4; the product: properties 1, tags 2, the hash's 8 MiB reads 2; playback in
# the portal or a download link: 3), and 1,000 bytes per StorageBlobLogs row (about 40 columns, the
# URI and user agent included). Rows of the listing calls (container level) are left out.
CUSTODY_REQUESTS_PER_RECORDING = 12
CUSTODY_ROW_BYTES = 1000


def custody_gb(recordings_per_month):
    """GB a month of StorageBlobLogs rows for `recordings_per_month` recordings."""
    return recordings_per_month * CUSTODY_REQUESTS_PER_RECORDING * CUSTODY_ROW_BYTES / 1e9


def sentinel_gb(rows):
    """GB a month of `rows` ({table: rows})."""
    return sum(n * SENTINEL_ROW_BYTES[t] / 1e9 for t, n in rows.items())


def monthly(hosts, sessions_per_day, recordings_per_day=None, memory_mb=2048, zone_redundant=False,
            workspace=True, prices=None, workspaces=0, estate_hosts=0, sentinel=False, custody=False,
            **overrides):
    """Cost lines for one estate: {component: (quantity, unit, USD)} plus totals."""
    a = {**DEFAULTS, **overrides}
    p = {k: v[0] for k, v in PRICES.items()} | (prices or {})
    rec = (sessions_per_day if recordings_per_day is None else recordings_per_day) * DAYS
    sessions = sessions_per_day * DAYS
    records = sessions * (2 + a["failed_login_ratio"])  # connect + end per session, failed logins
    hour_blobs = hosts * 24 * DAYS
    ticks = 24 * 60 * DAYS
    gb = memory_mb / 1024

    storage, invocations, queue_messages, gb_s = {}, {}, 0.0, 0.0

    def run(name, count, calls):
        nonlocal gb_s
        invocations[name] = invocations.get(name, 0) + count
        gb_s += count * billed_seconds(sum(calls.values()), a["call_ms"]) * gb
        add(storage, calls, count)

    run("RecordingCreated", rec, MEASURED["recording"])
    ranges = math.ceil(a["recording_mb"] / 8)
    run("RecordingHash", rec, DERIVED["hash"] | {"blob_other": DERIVED["hash"]["blob_other"] + ranges})
    notifications = rec * 1.0
    run("NotifyWebhook", notifications, {"table": DERIVED["notify_per_destination"]["table"] * a["destinations"]})
    queue_messages += rec * 2  # recording.catalogued + hash request
    run("AuditLogCreated", hour_blobs, MEASURED["audit_hour_created"])
    # AuditLogTail, every minute: the base, one listing per host (two in the first window_hours + 2
    # hours of a month, when the watched hours span two months), the blobs with new records (Poisson
    # arrivals per host-minute), and the join's work per record.
    listings = hosts * (1 + (a["window_hours"] + 2) / 730)
    per_host_minute = records / (hosts * 24 * 60 * DAYS) if hosts else 0
    with_data = hosts * (1 - math.exp(-per_host_minute))
    tick = {}
    add(tick, MEASURED["tick_base"])
    add(tick, MEASURED["tick_per_host"], listings)
    add(tick, MEASURED["tick_per_blob_with_data"], with_data)
    run("AuditLogTail", ticks, tick)
    add(storage, MEASURED["per_audit_record"], records)
    # Reconcile, hourly: every blob of the window looked up once, plus the listing pages.
    window_blobs = (rec / DAYS + hosts * 24) * a["window_hours"] / 24
    run("Reconcile", 24 * DAYS, {"table": window_blobs * DERIVED["reconcile_per_recent_blob"]["table"],
                                 "blob_write": hosts * 2 * 20})
    run("RetentionSweep", DAYS, {"blob_other": 302})  # scripts/bench-retention.sh, 10k blobs / 100 expired
    run("IntegrityVerify", DAYS / 7, {"table": 1, "blob_other": 50 * (1 + ranges)})
    run("CatalogueApi", a["api_requests_per_day"] * DAYS, {"table": 3})
    # The timers of the workspace source and the estate checks run only when configured: infra
    # disables them otherwise (AzureWebJobs.<name>.Disabled), so they cost nothing then.
    if workspaces:
        run("AuditLogQuery", ticks, {"table": DERIVED["query_per_workspace"]["table"] * workspaces})
    review_ticks = 12 * 24 * DAYS
    run("ReviewQueue", review_ticks, {"table": DERIVED["review_tick"]["table"]
                                      + DERIVED["review_per_session"]["table"] * sessions / review_ticks})
    arm_requests = 0.0
    if estate_hosts:
        checks, polls = 4 * 24 * DAYS, 12 * 24 * DAYS
        run("EstateCheck", checks, {"table": DERIVED["estate_per_host"]["table"] * estate_hosts})
        live = sessions * estate_hosts / max(hosts, 1) / polls
        run("LiveSessions", polls, {"table": DERIVED["live_per_host"]["table"] * estate_hosts
                                    + DERIVED["live_per_session"]["table"] * live})
        arm_requests = estate_hosts * (checks * ARM_PER_HOST_CHECK + polls * ARM_PER_HOST_LIVE)
    queue_messages += notifications  # NotifyWebhook's trigger messages counted above: get + delete
    sentinel_month_gb = 0.0
    if sentinel:
        rows = sentinel_rows(hosts, sessions_per_day, recordings_per_day, a["failed_login_ratio"])
        recorded = sum(rows.values())
        busy = 2  # tables with rows in a tick: detections and, now and then, another
        run("SentinelExport", ticks, {"table": SENTINEL_CALLS["tick"]["table"]
                                      + SENTINEL_CALLS["per_table_with_rows"]["table"] * busy
                                      + SENTINEL_CALLS["quarter_hour"]["table"] / 15})
        add(storage, SENTINEL_CALLS["per_row"], recorded)
        sentinel_month_gb = sentinel_gb(rows)

    custody_month_gb = 0.0
    if custody:
        # CustodyActor, every minute: one lookup page (queries only for the rare outside change).
        run("CustodyActor", ticks, {"table": 1})
        custody_month_gb = custody_gb(rec)

    executions = sum(invocations.values())
    lines = {}
    lines["Flex execution time"] = (gb_s, "GB-s", max(0.0, gb_s - p["flex_free_gb_s"]) * p["flex_on_demand_gb_s"])
    lines["Flex executions"] = (executions, "executions",
                                max(0.0, executions - p["flex_free_executions"]) / 1e6 * p["flex_per_million_executions"])
    ar_gb_s = 2 * SCALE_GROUPS * gb * SECONDS if zone_redundant else 0.0
    lines["Flex always-ready (zone redundancy)"] = (ar_gb_s, "GB-s", ar_gb_s * p["flex_always_ready_baseline_gb_s"])
    lines["Blob write operations"] = (storage.get("blob_write", 0), "ops", storage.get("blob_write", 0) / 1e4 * p["blob_write_per_10k"])
    lines["Blob read/other operations"] = (storage.get("blob_other", 0), "ops", storage.get("blob_other", 0) / 1e4 * p["blob_other_per_10k"])
    tags = 2 * rec / DAYS * a["retention_days"]
    lines["Blob index tags"] = (tags, "tags", tags / 1e4 * p["blob_index_tags_per_10k_month"])
    lines["Table transactions"] = (storage.get("table", 0), "transactions", storage.get("table", 0) / 1e4 * p["table_per_10k"])
    queue_ops = queue_messages * DERIVED["queue_per_message"]
    lines["Queue operations"] = (queue_ops, "ops", queue_ops / 1e4 * p["queue_per_10k"])
    eg_ops = 2 * (rec + hour_blobs)  # one ingress and one delivery per event
    lines["Event Grid operations"] = (eg_ops, "ops", max(0.0, eg_ops - p["event_grid_free"]) / 1e6 * p["event_grid_per_million"])
    log_gb = executions * a["log_kb_per_invocation"] / 1024 / 1024 if workspace else 0.0
    lines["Log Analytics ingestion"] = (log_gb, "GB", max(0.0, log_gb - p["log_free_gb"]) * p["log_ingest_per_gb"])
    lines["Sentinel ingestion (Logs Ingestion API)"] = (sentinel_month_gb, "GB", sentinel_month_gb * p["sentinel_ingest_per_gb"])
    lines["StorageBlobLogs ingestion (custody)"] = (custody_month_gb, "GB", custody_month_gb * p["log_ingest_per_gb"])
    lines["Resource Manager requests (no charge)"] = (arm_requests, "requests", 0.0)
    lines["Logs Query requests (no charge)"] = (ticks * workspaces, "queries", 0.0)
    total = sum(v[2] for v in lines.values())
    return {"lines": lines, "total": total, "invocations": invocations,
            "dominant": max(lines, key=lambda k: lines[k][2])}


def render(title, result):
    out = [title]
    for name, (qty, unit, usd) in result["lines"].items():
        out.append(f"  {name:<38} {qty:>16,.0f} {unit:<12} {usd:>10,.2f} USD")
    out.append(f"  {'total':<38} {'':>16} {'':<12} {result['total']:>10,.2f} USD   (largest: {result['dominant']})")
    return "\n".join(out)


ESTATES = [(1, 100), (5, 2000), (20, 20000)]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hosts", type=int)
    ap.add_argument("--sessions-per-day", type=float)
    ap.add_argument("--recordings-per-day", type=float, help="default: one per session")
    ap.add_argument("--memory-mb", type=int, default=2048, choices=(512, 2048, 4096))
    ap.add_argument("--zone-redundant", action="store_true")
    ap.add_argument("--no-workspace", action="store_true", help="leave out Log Analytics ingestion")
    ap.add_argument("--workspaces", type=int, default=0, help="Log Analytics workspace sources (AuditLogQuery)")
    ap.add_argument("--estate-hosts", type=int, default=0, help="hosts the estate checks watch (BASTION_HOSTS)")
    ap.add_argument("--sentinel", action="store_true", help="the Sentinel export on (SentinelExport, the outbox, ingestion)")
    ap.add_argument("--custody", action="store_true", help="the custody workspace on (CustodyActor, StorageBlobLogs ingestion)")
    ap.add_argument("--prices", help="JSON object of price overrides (keys of PRICES)")
    ap.add_argument("--estates", action="store_true", help="the three estates of docs/cost.md")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    prices = json.load(open(args.prices, encoding="utf-8")) if args.prices else None
    unknown = set(prices or {}) - set(PRICES)
    if unknown:
        ap.error(f"unknown price keys {sorted(unknown)}")
    if args.estates:
        runs = [(h, s, zr) for h, s in ESTATES for zr in (False, True)]
    elif args.hosts is not None and args.sessions_per_day is not None:
        runs = [(args.hosts, args.sessions_per_day, args.zone_redundant)]
    else:
        ap.error("give --hosts and --sessions-per-day, or --estates")
    print(f"prices: USD, {PRICE_REGION}, pay-as-you-go, list prices of {PRICE_DATE}"
          f"{'' if PRICE_CONFIRMED else ' (not confirmed on the pricing pages: see docs/cost.md)'}")
    for hosts, spd, zr in runs:
        r = monthly(hosts, spd, args.recordings_per_day, args.memory_mb, zr, not args.no_workspace, prices,
                    workspaces=args.workspaces, estate_hosts=args.estate_hosts, sentinel=args.sentinel,
                    custody=args.custody)
        title = (f"{hosts} host(s), {spd:,.0f} sessions/day, {args.memory_mb} MB"
                 f"{', zone-redundant' if zr else ''}: per month")
        if args.json:
            print(json.dumps({"title": title, **r}, default=float))
        else:
            print(render(title, r))
        if args.sentinel and not args.json:
            rows = sentinel_rows(hosts, spd, args.recordings_per_day)
            listed = ", ".join(f"{t} {n:,.0f}" for t, n in rows.items())
            print(f"  Sentinel rows a month: {listed}; {sentinel_gb(rows):.3f} GB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
