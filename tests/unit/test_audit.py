"""Audit: append-only, newest first, per tenant, refuses content and secrets."""

import pytest

from shared.errors import InvalidInput
from shared.ops import audit
from tests.fakes import FixedClock, InMemoryTables

T1, T2 = "aaaaaaaa-0000-0000-0000-000000000001", "aaaaaaaa-0000-0000-0000-000000000002"


def test_entries_come_back_newest_first_and_per_tenant():
    tables, clock = InMemoryTables(), FixedClock()
    audit.record(tables, clock, tenant_id=T1, action="consent.granted", actor="admin@x", detail={"n": 1})
    clock.advance(seconds=1)
    audit.record(tables, clock, tenant_id=T1, action="settings.changed", actor="admin@x", detail={"n": 2})
    audit.record(tables, clock, tenant_id=T2, action="consent.granted", actor="other", detail={})
    entries = audit.list_entries(tables, tenant_id=T1)
    assert [e["action"] for e in entries] == ["settings.changed", "consent.granted"]
    assert entries[0]["detail"] == {"n": 2}
    assert len(audit.list_entries(tables, tenant_id=T2)) == 1


def test_two_entries_in_the_same_instant_are_both_kept():
    tables, clock = InMemoryTables(), FixedClock()
    for _ in range(3):
        audit.record(tables, clock, tenant_id=T1, action="x", actor="a")
    assert len(audit.list_entries(tables, tenant_id=T1)) == 3


@pytest.mark.parametrize("key", ["subject", "Body", "client_secret", "access-token"])
def test_content_and_secrets_are_refused(key):
    with pytest.raises(InvalidInput):
        audit.record(InMemoryTables(), FixedClock(), tenant_id=T1, action="x", actor="a", detail={key: "v"})
