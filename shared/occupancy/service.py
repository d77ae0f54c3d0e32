"""The occupancy capability's entry points, as the triggers call them (built once in shared.bootstrap)."""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Callable
from datetime import date

from pydantic import ValidationError

from shared import keys
from shared.analytics.queries import AnalyticsQuery, parse_range
from shared.errors import ConfigurationError, InvalidInput
from shared.log import log_event
from shared.occupancy import ghosts, health, ingest, report, simulator
from shared.occupancy.directory import load_tenant
from shared.occupancy.release import NoShowRelease

log = logging.getLogger("roomcal.occupancy")
REPORTS = "OccupancyIngest"
QUEUE_MESSAGE_BYTES = 64 * 1024


class OccupancyService:
    def __init__(self, tables, queues, clock, settings, *, graph=None,
                 on_change: Callable[[str, str, list[date]], None] | None = None) -> None:
        self.tables, self.queues, self.clock, self.settings, self.graph = tables, queues, clock, settings, graph
        self._ingest = ingest.Ingest(tables, clock, limits=ingest.Limits(max_rows=settings.occupancy_max_rows),
                                     on_change=on_change)

    # ------------------------------------------------------------------ ingest
    def ingest_body(self, tenant_id: str, body: bytes, content_type: str) -> dict:
        """A request body: CSV when ``content_type`` says text/csv, else JSON."""
        limit = self.settings.occupancy_max_body_bytes
        if len(body) > limit:
            raise InvalidInput(f"request body is larger than {limit} bytes",
                               fix="split the batch, or write it to the occupancy-ingest queue in messages")
        shape, rows = self._parse(body, content_type)
        report = self._ingest.ingest(tenant_id, shape, rows)
        log_event(log, "occupancy.ingested", tenant=keys.normalise_tenant_id(tenant_id),
                  **{k: v for k, v in report.items() if isinstance(v, int)})
        return report

    def ingest_message(self, message: dict) -> dict:
        """A message of the occupancy-ingest queue: ``{"tenant", "samples" | "intervals" | "csv"}``. Its report is
        kept in table OccupancyIngest (newest first) since no one waits for an answer."""
        if not isinstance(message, dict) or "tenant" not in message:
            raise InvalidInput("occupancy-ingest message needs 'tenant' and 'samples', 'intervals' or 'csv'")
        tenant_id = keys.normalise_tenant_id(message["tenant"])
        body = {k: v for k, v in message.items() if k != "tenant"}
        if "csv" in body:
            if not isinstance(body["csv"], str) or len(body) != 1:
                raise InvalidInput("'csv' must be the CSV text, alone beside 'tenant'")
            shape, rows = ingest.rows_from_csv(body["csv"])
        else:
            shape, rows = ingest.rows_from_json(body)
        report = self._ingest.ingest(tenant_id, shape, rows)
        now = self.clock.now()
        self.tables.upsert(REPORTS, {
            "PartitionKey": tenant_id, "RowKey": keys.inverted_time_key(now, secrets.token_hex(4)),
            "at": now.isoformat(), "report": json.dumps({**report, "errors": report["errors"][:50]}, default=str)})
        log_event(log, "occupancy.ingested", tenant=tenant_id, via="queue",
                  **{k: v for k, v in report.items() if isinstance(v, int)})
        return report

    def queued_reports(self, tenant_id: str, limit: int = 20) -> list[dict]:
        tenant_id = keys.normalise_tenant_id(tenant_id)
        out = []
        for row in self.tables.query(REPORTS, tenant_id):
            out.append({"at": row["at"], **json.loads(row["report"])})
            if len(out) >= limit:
                break
        return out

    def health(self, tenant_id: str) -> dict:
        return health.sensor_health(self.tables, self.clock, tenant_id,
                                    hold=self.settings.occupancy_sample_hold_minutes,
                                    stale_minutes=self.settings.occupancy_stale_minutes)

    # ------------------------------------------------------------------ analytics and the release
    def report(self, tenant_id: str, params: dict) -> dict:
        return report.occupancy_report(self.tables, tenant_id, self._query(tenant_id, params),
                                       hold=self.settings.occupancy_sample_hold_minutes, clock=self.clock)

    def ghost_series(self, tenant_id: str, params: dict) -> dict:
        return ghosts.ghost_series(self.tables, tenant_id, self._query(tenant_id, params),
                                   hold=self.settings.occupancy_sample_hold_minutes)

    def simulate(self, tenant_id: str, params: dict) -> dict:
        query = self._query(tenant_id, params)
        return simulator.simulate(self.tables, tenant_id, query, simulator.PolicyQuery.parse(params),
                                  hold=self.settings.occupancy_sample_hold_minutes)

    def release(self) -> NoShowRelease:
        if self.graph is None:
            raise ConfigurationError("the no-show release needs Microsoft Graph: ROOMCAL_CLIENT_ID and its secret")
        return NoShowRelease(self.tables, self.clock, self.graph,
                             hash_key=self.settings.hash_key.get_secret_value(),
                             hold=self.settings.occupancy_sample_hold_minutes,
                             stale_minutes=self.settings.occupancy_stale_minutes)

    @staticmethod
    def _parse(body: bytes, content_type: str):
        if content_type.lower().startswith("text/csv"):
            try:
                return ingest.rows_from_csv(body.decode("utf-8"))
            except UnicodeDecodeError:
                raise InvalidInput("CSV must be UTF-8 encoded", fix="save the file as 'CSV UTF-8'") from None
        try:
            parsed = json.loads(body or b"null")
        except ValueError:
            raise InvalidInput("request body is not valid JSON",
                               fix='send {"samples": [...]} or {"intervals": [...]}, or CSV with '
                                   "Content-Type: text/csv") from None
        return ingest.rows_from_json(parsed)


    def _query(self, tenant_id: str, params: dict) -> report.RangeQuery:
        """The same from/to/building/floor/room/format parameters, and the same checks, as the analytics API."""
        try:
            query = AnalyticsQuery.model_validate(params)
        except ValidationError as exc:
            raise InvalidInput("query parameters are invalid", fix="from and to are room-local days YYYY-MM-DD",
                               detail={".".join(map(str, e["loc"])) or "query": e["msg"]
                                       for e in exc.errors()}) from None
        tenant = load_tenant(self.tables, tenant_id)
        days = parse_range(query, tenant, self.clock.now(), max_days=self.settings.analytics_max_days)
        return report.RangeQuery.model_validate({"from": days.first, "to": days.last, "building": query.building,
                                                 "floor": query.floor, "room": query.room, "format": query.format})
