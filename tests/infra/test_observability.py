"""The alert rules and the workbook query metrics RoomCal really emits (shared/metrics.py), and the workbook is a
workbook the portal can open."""

from __future__ import annotations

import json
import re

from tests.infra.tools import ROOT

METRIC = re.compile(r"roomcal\.[a-z_]+")


def emitted() -> set[str]:
    source = (ROOT / "shared" / "metrics.py").read_text()
    return set(re.findall(r'_emit\("(?:counter|histogram)", "(roomcal\.[a-z_]+)"', source))


def test_every_metric_an_alert_or_the_workbook_reads_is_emitted():
    alerts = (ROOT / "infra" / "app" / "alerts.bicep").read_text()
    workbook = (ROOT / "infra" / "workbook" / "roomcal.workbook.json").read_text()
    read = set(METRIC.findall(alerts)) | set(METRIC.findall(workbook))
    assert {"roomcal.poison_messages", "roomcal.subscription_failures", "roomcal.sync_lag_seconds"} <= read
    assert read <= emitted()


def test_the_workbook_is_a_notebook_with_queries_over_application_insights():
    workbook = json.loads((ROOT / "infra" / "workbook" / "roomcal.workbook.json").read_text())
    assert workbook["version"] == "Notebook/1.0"
    queries = [item["content"] for item in workbook["items"] if item["type"] == 3]
    assert len(queries) >= 6
    assert all(q["resourceType"] == "microsoft.insights/components" and q["query"].strip() for q in queries)
