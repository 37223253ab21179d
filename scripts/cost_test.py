"""Arithmetic of scripts/cost.py, checked by hand-computed figures. Run: python3 scripts/cost_test.py
(scripts/ci-infra.sh does)."""

import json
import math
import sys
import tempfile
import unittest
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parent))
import cost  # noqa: E402

ONE = {k: 1.0 for k in cost.PRICES}  # every price 1, every free grant 1


class Arithmetic(unittest.TestCase):
    def test_billed_seconds_has_a_one_second_minimum_then_100_ms_steps(self):
        self.assertEqual(cost.billed_seconds(0, 10), 1.0)
        self.assertEqual(cost.billed_seconds(100, 10), 1.0)
        self.assertEqual(cost.billed_seconds(101, 10), 1.1)
        self.assertEqual(cost.billed_seconds(250, 10), 2.5)

    def test_zone_redundancy_bills_two_instances_per_scale_group_all_month(self):
        r = cost.monthly(1, 100, zone_redundant=True)
        qty, _, usd = r["lines"]["Flex always-ready (zone redundancy)"]
        instances = 2 * cost.SCALE_GROUPS
        self.assertEqual(qty, instances * 2.0 * 730 * 3600)
        self.assertAlmostEqual(usd, instances * 2.0 * 730 * 3600 * 0.000004)
        self.assertAlmostEqual(cost.monthly(1, 100, memory_mb=512, zone_redundant=True)["lines"]
                               ["Flex always-ready (zone redundancy)"][2], usd / 4)
        self.assertEqual(cost.monthly(1, 100)["lines"]["Flex always-ready (zone redundancy)"][2], 0)

    def test_scale_groups_come_from_the_function_json_files(self):
        with tempfile.TemporaryDirectory() as d:
            for name, trigger in [("A", "httpTrigger"), ("B", "httpTrigger"), ("C", "timerTrigger"),
                                  ("D", "eventGridTrigger"), ("E", "queueTrigger"), ("F", "blobTrigger"),
                                  ("G", "blobTrigger")]:
                (Path(d) / name).mkdir()
                (Path(d) / name / "function.json").write_text(json.dumps(
                    {"bindings": [{"type": "queue", "direction": "out"}, {"type": trigger, "direction": "in"}]}))
            self.assertEqual(cost.scale_groups(Path(d)), 5)  # http 1, blob 1, timer, Event Grid, queue
        shipped = list((Path(__file__).resolve().parent.parent / "functions").glob("*/function.json"))
        self.assertGreaterEqual(cost.SCALE_GROUPS, len(shipped) - 1)

    def test_workspace_and_estate_timers_cost_only_when_configured(self):
        days = 730 / 24
        off = cost.monthly(5, 2000)
        for name in ("AuditLogQuery", "EstateCheck", "LiveSessions"):
            self.assertNotIn(name, off["invocations"])
        self.assertEqual(off["lines"]["Resource Manager requests (no charge)"][0], 0)
        on = cost.monthly(5, 2000, workspaces=2, estate_hosts=5)
        self.assertAlmostEqual(on["invocations"]["AuditLogQuery"], 24 * 60 * days)
        self.assertAlmostEqual(on["invocations"]["EstateCheck"], 4 * 24 * days)
        self.assertAlmostEqual(on["invocations"]["LiveSessions"], 12 * 24 * days)
        self.assertAlmostEqual(on["lines"]["Logs Query requests (no charge)"][0], 2 * 24 * 60 * days)
        self.assertAlmostEqual(on["lines"]["Resource Manager requests (no charge)"][0],
                               5 * (4 * 24 * days * 6 + 12 * 24 * days * 5))
        # Each extra one-second execution bills 1 s of the instance's memory; nothing else changes in price.
        added = on["lines"]["Flex execution time"][0] - off["lines"]["Flex execution time"][0]
        self.assertAlmostEqual(added, 2.0 * (24 * 60 + 4 * 24 + 12 * 24) * days)
        self.assertEqual(on["lines"]["Resource Manager requests (no charge)"][2], 0)

    def test_custody_ingestion_and_its_timer_count_only_when_on(self):
        days = 730 / 24
        off = cost.monthly(5, 2000)
        self.assertNotIn("CustodyActor", off["invocations"])
        self.assertEqual(off["lines"]["StorageBlobLogs ingestion (custody)"][0], 0)
        on = cost.monthly(5, 2000, custody=True, prices=ONE)
        self.assertAlmostEqual(on["invocations"]["CustodyActor"], 24 * 60 * days)
        want = 2000 * days * 12 * 1000 / 1e9
        self.assertAlmostEqual(on["lines"]["StorageBlobLogs ingestion (custody)"][0], want)
        self.assertAlmostEqual(on["lines"]["StorageBlobLogs ingestion (custody)"][2], want)

    def test_sentinel_rows_gb_and_the_timer_count_only_when_on(self):
        days = 730 / 24
        rows = cost.sentinel_rows(5, 2000)
        self.assertAlmostEqual(rows["detections"], 2000 * days * (1 + 0.04 / 5 * 2))
        self.assertAlmostEqual(rows["reviews"], 2000 * days * 0.1)
        self.assertAlmostEqual(rows["sessions"], 3 * 2000 * days)
        want = (rows["detections"] * 1100 + rows["reviews"] * 490 + rows["findings"] * 600
                + 2000 * days * 3 * (720 + 700)) / 1e9
        self.assertAlmostEqual(cost.sentinel_gb(rows), want)
        off = cost.monthly(5, 2000)
        self.assertNotIn("SentinelExport", off["invocations"])
        self.assertEqual(off["lines"]["Sentinel ingestion (Logs Ingestion API)"][0], 0)
        on = cost.monthly(5, 2000, sentinel=True, prices=ONE)
        self.assertAlmostEqual(on["invocations"]["SentinelExport"], 24 * 60 * days)
        self.assertAlmostEqual(on["lines"]["Sentinel ingestion (Logs Ingestion API)"][2], want)
        recorded = sum(rows.values())
        added = on["lines"]["Table transactions"][0] - cost.monthly(5, 2000, prices=ONE)["lines"]["Table transactions"][0]
        # A tick's 17 and 4 per busy table, and the six later-bucket queries once a quarter hour.
        self.assertAlmostEqual(added, 1.011 * recorded + 24 * 60 * days * (17 + 4 * 2) + 24 * 4 * days * 6)

    def test_event_grid_counts_an_ingress_and_a_delivery_per_recording_and_hour_blob(self):
        r = cost.monthly(3, 1000, recordings_per_day=500, prices=ONE)
        days = 730 / 24
        ops = 2 * (500 * days + 3 * 24 * days)
        self.assertAlmostEqual(r["lines"]["Event Grid operations"][0], ops)
        self.assertAlmostEqual(r["lines"]["Event Grid operations"][2], (ops - 1) / 1e6)

    def test_free_grants_are_subtracted_and_never_go_negative(self):
        small = cost.monthly(1, 1)
        self.assertEqual(small["lines"]["Flex executions"][2], 0)
        self.assertEqual(small["lines"]["Event Grid operations"][2], 0)
        r = cost.monthly(1, 1, prices=ONE)
        qty, _, usd = r["lines"]["Flex execution time"]
        self.assertAlmostEqual(usd, qty - 1)

    def test_storage_lines_are_counts_times_price_per_10k(self):
        r = cost.monthly(2, 300, prices=ONE)
        for line in ("Blob write operations", "Blob read/other operations", "Table transactions", "Queue operations"):
            qty, _, usd = r["lines"][line]
            self.assertAlmostEqual(usd, qty / 1e4, msg=line)
        days = 730 / 24
        self.assertAlmostEqual(r["lines"]["Blob index tags"][0], 2 * 300 * 365)
        self.assertAlmostEqual(r["lines"]["Queue operations"][0], 3 * 300 * days * 3)

    def test_measured_calls_reach_the_totals(self):
        # One recording a day more adds exactly its measured and derived calls, month long.
        days = 730 / 24
        a, b = cost.monthly(1, 0, recordings_per_day=100, prices=ONE), cost.monthly(1, 0, recordings_per_day=101, prices=ONE)
        table = b["lines"]["Table transactions"][0] - a["lines"]["Table transactions"][0]
        per_recording = (cost.MEASURED["recording"]["table"] + cost.DERIVED["hash"]["table"]
                         + cost.DERIVED["notify_per_destination"]["table"] + 24 * 2 * cost.DERIVED["reconcile_per_recent_blob"]["table"])
        self.assertAlmostEqual(table, per_recording * days, places=6)
        self.assertAlmostEqual(b["lines"]["Blob write operations"][0] - a["lines"]["Blob write operations"][0], days)

    def test_total_is_the_sum_and_the_largest_line_is_named(self):
        r = cost.monthly(20, 20000)
        self.assertAlmostEqual(r["total"], sum(v[2] for v in r["lines"].values()))
        self.assertEqual(r["dominant"], "Flex execution time")
        self.assertEqual(cost.monthly(20, 20000, zone_redundant=True)["dominant"], "Flex always-ready (zone redundancy)")
        self.assertTrue(math.isfinite(cost.monthly(0, 0)["total"]))


if __name__ == "__main__":
    unittest.main(verbosity=1)
