"""FakeGraph behaves like GraphClient where services can tell, and both fit GraphPort."""

from __future__ import annotations

import inspect
from datetime import UTC, datetime, timedelta

import pytest

from shared.adapters.entra import TokenProvider
from shared.adapters.graph import GraphClient
from shared.errors import DeltaTokenExpired, MailboxAccessDenied, MailboxNotFound, NotFound, Throttled, Unavailable
from shared.ports import GraphPort, TokenSource
from shared.sync.privacy import is_removed
from tests.fakes import FakeGraph

TENANT = "84bd8158-6d4d-4958-8b9f-9d6445542f95"
ROOM = "rainier@contoso.com"
T0 = datetime(2026, 11, 24, 9, tzinfo=UTC)
WINDOW = {"start": T0 - timedelta(days=30), "end": T0 + timedelta(days=30)}


def world() -> FakeGraph:
    graph = FakeGraph(page_size=2)
    graph.add_room(TENANT, ROOM, capacity=8)
    return graph


def rounds(graph, **kwargs):
    pages = list(graph.calendar_view_delta(TENANT, ROOM, **kwargs))
    return [i for p in pages for i in p.items], pages


class TestConformance:
    @pytest.mark.parametrize(("port", "implementations"), [
        (GraphPort, (GraphClient, FakeGraph)), (TokenSource, (TokenProvider,))])
    def test_implementations_have_the_port_signatures(self, port, implementations):
        """Every port method exists on the adapter and the fake with the same parameter names."""
        for name, member in vars(port).items():
            if (name.startswith("_") and name != "__call__") or not callable(member):
                continue
            expected = list(inspect.signature(member).parameters)
            for cls in implementations:
                assert list(inspect.signature(getattr(cls, name)).parameters) == expected, (cls, name)


class TestFakeDelta:
    def test_initial_round_pages_to_a_delta_link(self):
        graph = world()
        for hour in range(5):
            graph.add_event(TENANT, ROOM, start=T0 + timedelta(hours=hour), end=T0 + timedelta(hours=hour, minutes=30))
        items, pages = rounds(graph, **WINDOW)
        assert len(items) == 5 and [len(p.items) for p in pages] == [2, 2, 1]
        assert pages[-1].delta_link and all(p.next_link for p in pages[:-1])

    def test_next_round_returns_only_changes_and_removals(self):
        graph = world()
        keep = graph.add_event(TENANT, ROOM, start=T0, end=T0 + timedelta(hours=1))
        gone = graph.add_event(TENANT, ROOM, start=T0 + timedelta(hours=2), end=T0 + timedelta(hours=3))
        graph.add_event(TENANT, ROOM, start=T0 + timedelta(hours=4), end=T0 + timedelta(hours=5))
        _, pages = rounds(graph, **WINDOW)
        graph.update_event(TENANT, ROOM, keep, isCancelled=True)
        graph.delete_event(TENANT, ROOM, gone)
        items, _ = rounds(graph, delta_link=pages[-1].delta_link)
        assert [(i["id"], is_removed(i)) for i in items] == [(keep, False), (gone, True)]
        assert items[0]["isCancelled"] is True

    def test_expired_delta_link(self):
        graph = world()
        _, pages = rounds(graph, **WINDOW)
        graph.expire_delta(TENANT, ROOM)
        with pytest.raises(DeltaTokenExpired):
            rounds(graph, delta_link=pages[-1].delta_link)


class TestFakeFailures:
    def test_throttle_once_then_succeed(self):
        graph = world()
        graph.throttle(TENANT, ROOM, retry_after=12)
        with pytest.raises(Throttled) as err:
            rounds(graph, **WINDOW)
        assert err.value.retry_after == 12
        assert rounds(graph, **WINDOW)[1][-1].delta_link

    def test_denied_missing_and_failing_mailboxes(self):
        graph = world()
        graph.add_room(TENANT, "denied@contoso.com")
        graph.deny(TENANT, "denied@contoso.com")
        with pytest.raises(MailboxAccessDenied, match="Exchange RBAC scope"):
            list(graph.calendar_view_delta(TENANT, "denied@contoso.com", **WINDOW))
        with pytest.raises(MailboxNotFound):
            graph.get_event(TENANT, "nobody@contoso.com", "x")
        graph.fail(TENANT, ROOM)
        with pytest.raises(Unavailable):
            graph.get_event(TENANT, ROOM, "x")
        with pytest.raises(NotFound):
            graph.get_event(TENANT, ROOM, "x")

    def test_decline_changes_the_room_response_and_is_recorded(self):
        graph = world()
        event_id = graph.add_event(TENANT, ROOM, start=T0, end=T0 + timedelta(hours=1))
        graph.decline_event(TENANT, ROOM, event_id, "Released: nobody showed up")
        assert graph.get_event(TENANT, ROOM, event_id)["responseStatus"]["response"] == "declined"
        assert graph.declined == [(TENANT, ROOM, event_id, "Released: nobody showed up")]

    def test_subscriptions_lifecycle(self):
        graph = world()
        sub = graph.create_subscription(TENANT, ROOM, notification_url="https://a.test/n", expiration=T0,
                                        client_state="cs")
        graph.renew_subscription(TENANT, sub["id"], T0 + timedelta(days=2))
        graph.reauthorize_subscription(TENANT, sub["id"])
        graph.remove_subscription(sub["id"])
        with pytest.raises(NotFound):
            graph.get_subscription(TENANT, sub["id"])
        graph.delete_subscription(TENANT, sub["id"])
