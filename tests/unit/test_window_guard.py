"""``@removed`` for events outside the window (https://learn.microsoft.com/graph/api/event-delta: also
"events outside the date range that were added, updated or deleted") never deletes a row lying wholly
outside the round's window; removals inside it still delete."""

from __future__ import annotations

import json
from datetime import timedelta

from shared import keys
from shared.messages import parse_stamp
from tests.unit.test_sync import HASH_KEY, TENANT, World


def _settings(w: World, backfill: int, lookahead: int = 30) -> None:
    w.tables.merge("Tenants", {"PartitionKey": "tenant", "RowKey": TENANT, "settings": json.dumps(
        {"backfill_days": backfill, "lookahead_days": lookahead, "retention_days": 400})})


def _key(w: World, event_id: str) -> str:
    return keys.event_row_key(HASH_KEY, w.room, event_id)


def _kept_history() -> tuple[World, str]:
    """A room whose window moved on and left one older row behind (kept for retention)."""
    w = World()
    _settings(w, backfill=30)
    old = w.add(hours=-24 * 20)
    w.hint("initial")
    assert _key(w, old) in w.rows()
    _settings(w, backfill=7)
    w.clock.advance(days=8)  # the window rolls: a new baseline over [now - 7 days, now + 30 days)
    w.hint()
    assert w.state()["last_full_sync_at"] and _key(w, old) in w.rows()
    return w, old


def test_a_row_wholly_outside_the_window_survives_a_removal_of_its_event():
    w, old = _kept_history()
    w.graph.update_event(w.tenant, w.room, old, showAs="free")  # edited outside the window: Graph says @removed
    assert w.hint().status == "synced"
    assert w.state()["round_removed"] == 0
    assert _key(w, old) in w.rows()


def test_an_event_moved_out_of_the_window_loses_its_row():
    w, _ = _kept_history()
    inside = w.add(hours=5)
    w.hint()
    start = w.clock.now() + timedelta(days=90)
    w.graph.update_event(w.tenant, w.room, inside, start={"dateTime": start.strftime("%Y-%m-%dT%H:%M:%S"),
                                                          "timeZone": "UTC"},
                         end={"dateTime": (start + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S"),
                              "timeZone": "UTC"})
    w.hint()
    assert _key(w, inside) not in w.rows() and w.state()["round_removed"] == 1


def test_a_row_overlapping_the_window_start_is_deleted_on_removal():
    w, _ = _kept_history()
    window_start = parse_stamp(w.state()["window_start"])
    straddling = w.graph.add_event(w.tenant, w.room, start=window_start - timedelta(hours=1),
                                   end=window_start + timedelta(hours=1))
    w.hint()
    assert _key(w, straddling) in w.rows()
    w.graph.delete_event(w.tenant, w.room, straddling)
    w.hint()
    assert _key(w, straddling) not in w.rows()
