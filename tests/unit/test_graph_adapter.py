"""GraphClient against a fake HTTP transport mounted on its requests.Session."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime

import pytest
import requests

from shared.adapters.graph import GraphClient
from shared.errors import (
    AccessDenied,
    ConfigurationError,
    Conflict,
    DeltaTokenExpired,
    InvalidInput,
    MailboxAccessDenied,
    MailboxNotFound,
    NotFound,
    Throttled,
    Unavailable,
)
from tests.http_fakes import FakeServer, graph_error, query, session_for

BASE = "https://graph.test/v1.0"
TENANT = "84bd8158-6d4d-4958-8b9f-9d6445542f95"
ROOM = "rainier@contoso.com"
DELTA = f"/users/{ROOM}/calendarView/delta"
START, END = datetime(2026, 11, 1, tzinfo=UTC), datetime(2027, 11, 1, tzinfo=UTC)


class Sleeps(list):
    """Fake sleep: records the waits instead of waiting."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def client(server: FakeServer, **options) -> tuple[GraphClient, Sleeps]:
    sleeps = Sleeps()
    tokens = []

    def token(tenant: str) -> str:
        tokens.append(tenant)
        return f"token-for-{tenant}"

    options = {"max_wait_seconds": 60.0, "max_retries": 3, "sleep": sleeps, **options}
    return GraphClient(session_for(server), token, BASE, **options), sleeps


def graph() -> FakeServer:
    return FakeServer(prefix="/v1.0")


def ok(body=None, headers=None):
    return 200, headers or {}, body if body is not None else {}


class TestDeltaPaging:
    def test_follows_next_links_to_the_delta_link(self):
        """Parameters go on the first request only; later pages use nextLink exactly as given."""
        server = graph().on("GET", DELTA,
                            ok({"value": [{"id": "a"}], "@odata.nextLink": f"{BASE}{DELTA}?$skiptoken=p2"}),
                            ok({"value": [], "@odata.nextLink": f"{BASE}{DELTA}?$skiptoken=p3"}),
                            ok({"value": [{"id": "b"}, {"id": "c", "@removed": {"reason": "deleted"}}],
                                "@odata.deltaLink": f"{BASE}{DELTA}?$deltatoken=d1"}))
        graph_client, _ = client(server, page_size=50)
        pages = list(graph_client.calendar_view_delta(TENANT, ROOM, start=START, end=END))
        assert [len(p.items) for p in pages] == [1, 0, 2]
        assert [p.is_last for p in pages] == [False, False, True]
        assert pages[-1].delta_link == f"{BASE}{DELTA}?$deltatoken=d1"
        first, second, _ = server.calls("GET", DELTA)
        assert query(first)["startDateTime"] == ["2026-11-01T00:00:00.0000000Z"]
        assert query(second) == {"$skiptoken": ["p2"]}
        assert first.headers["Prefer"] == "odata.maxpagesize=50"
        assert first.headers["Authorization"] == f"Bearer token-for-{TENANT}"

    def test_get_event_asks_only_for_the_selected_fields(self):
        """A series master is read with $select (https://learn.microsoft.com/graph/api/event-get)."""
        server = graph().on("GET", f"/users/{ROOM}/events/m1", ok({"id": "m1", "showAs": "busy"}))
        assert client(server)[0].get_event(TENANT, ROOM, "m1", select=("showAs", "organizer"))["showAs"] == "busy"
        assert query(server.requests[0]) == {"$select": ["showAs,organizer"]}

    def test_starts_from_a_stored_delta_link(self):
        server = graph().on("GET", DELTA, ok({"value": [], "@odata.deltaLink": f"{BASE}{DELTA}?$deltatoken=d2"}))
        graph_client, _ = client(server)
        pages = list(graph_client.calendar_view_delta(TENANT, ROOM, delta_link=f"{BASE}{DELTA}?$deltatoken=d1"))
        assert pages[0].delta_link.endswith("d2")
        assert query(server.requests[0]) == {"$deltatoken": ["d1"]}

    def test_gone_means_delta_token_expired(self):
        """A 410 (Location: empty deltatoken) asks for a full resync."""
        server = graph().on("GET", DELTA, graph_error(410, "resyncRequired", headers={"Location": f"{BASE}{DELTA}"}))
        graph_client, _ = client(server)
        with pytest.raises(DeltaTokenExpired) as err:
            list(graph_client.calendar_view_delta(TENANT, ROOM, delta_link=f"{BASE}{DELTA}?$deltatoken=old"))
        assert err.value.detail["request_id"] == "req-1"

    def test_sync_state_not_found_in_any_case_means_delta_token_expired(self):
        server = graph().on("GET", DELTA, graph_error(400, "SyncStateNotFound"))
        with pytest.raises(DeltaTokenExpired):
            list(client(server)[0].calendar_view_delta(TENANT, ROOM, delta_link=f"{BASE}{DELTA}?$deltatoken=x"))

    def test_links_to_another_host_are_refused(self):
        """A nextLink off Graph's host would receive the tenant's token: refuse it."""
        server = graph().on("GET", DELTA, ok({"value": [], "@odata.nextLink": "https://evil.test/v1.0/x"}))
        pages = client(server)[0].calendar_view_delta(TENANT, ROOM, start=START, end=END)
        next(pages)
        with pytest.raises(ConfigurationError):
            next(pages)

    def test_new_round_needs_a_window(self):
        with pytest.raises(InvalidInput):
            next(client(graph())[0].calendar_view_delta(TENANT, ROOM))


class TestThrottling:
    def test_retry_after_is_honoured_then_success(self):
        """429 with Retry-After: sleep that long, retry, return the answer."""
        server = graph().on("GET", f"/users/{ROOM}/events/e1",
                            graph_error(429, "TooManyRequests", headers={"Retry-After": "7"}),
                            graph_error(503, "ServiceUnavailable", headers={"Retry-After": "3"}),
                            ok({"id": "e1"}))
        graph_client, sleeps = client(server)
        assert graph_client.get_event(TENANT, ROOM, "e1") == {"id": "e1"}
        assert sleeps == [7.0, 3.0]
        ids = {r.headers["client-request-id"] for r in server.requests}
        assert len(ids) == 1  # one logical call, one client-request-id across retries

    def test_retry_after_beyond_the_budget_raises_throttled_without_sleeping(self):
        server = graph().on("GET", f"/users/{ROOM}/events/e1",
                            graph_error(429, "TooManyRequests", request_id="r-429", headers={"Retry-After": "120"}))
        graph_client, sleeps = client(server, max_wait_seconds=60)
        with pytest.raises(Throttled) as err:
            graph_client.get_event(TENANT, ROOM, "e1")
        assert err.value.retry_after == 120 and sleeps == []
        assert err.value.detail["request_id"] == "r-429"

    def test_total_wait_stays_within_the_budget(self):
        server = graph().on("GET", f"/users/{ROOM}/events/e1",
                            graph_error(429, "TooManyRequests", headers={"Retry-After": "25"}))
        graph_client, sleeps = client(server, max_wait_seconds=60)
        with pytest.raises(Throttled):
            graph_client.get_event(TENANT, ROOM, "e1")
        assert sleeps == [25.0, 25.0]

    def test_server_errors_back_off_then_unavailable(self):
        """5xx without Retry-After: bounded exponential backoff, then Unavailable with the request id."""
        server = graph().on("GET", f"/users/{ROOM}/events/e1", graph_error(502, "BadGateway", request_id="r-502"))
        graph_client, sleeps = client(server, max_retries=3, backoff_initial=1.0, backoff_max=3.0)
        with pytest.raises(Unavailable) as err:
            graph_client.get_event(TENANT, ROOM, "e1")
        assert sleeps == [1.0, 2.0, 3.0] and len(server.requests) == 4
        assert err.value.detail == {"http_status": 502, "code": "BadGateway",
                                    "request_id": "r-502", "client_request_id": "client-1",
                                    "date": "2026-11-24T09:00:00", "room": ROOM}

    def test_server_error_then_success(self):
        server = graph().on("GET", f"/users/{ROOM}/events/e1", graph_error(500, "InternalServerError"),
                            ok({"id": "e1"}))
        graph_client, sleeps = client(server)
        assert graph_client.get_event(TENANT, ROOM, "e1")["id"] == "e1" and sleeps == [1.0]

    def test_dropped_connections_are_retried_then_unavailable(self):
        server = graph().on("GET", f"/users/{ROOM}/events/e1", requests.ConnectionError("reset"))
        graph_client, sleeps = client(server, max_retries=2)
        with pytest.raises(Unavailable):
            graph_client.get_event(TENANT, ROOM, "e1")
        assert len(sleeps) == 2

    def test_read_timeout_on_post_is_not_repeated(self):
        """A POST that timed out may have been done: decline is not sent twice."""
        path = f"/users/{ROOM}/events/e1/decline"
        server = graph().on("POST", path, requests.ReadTimeout("slow"))
        with pytest.raises(Unavailable):
            client(server)[0].decline_event(TENANT, ROOM, "e1", "released")
        assert len(server.requests) == 1


class TestErrors:
    def test_rbac_scope_denial_names_the_fix(self):
        server = graph().on("GET", DELTA, graph_error(403, "ErrorAccessDenied", "Access is denied.", request_id="r3"))
        with pytest.raises(MailboxAccessDenied) as err:
            list(client(server)[0].calendar_view_delta(TENANT, ROOM, start=START, end=END))
        assert str(err.value) == (f"room mailbox {ROOM} is outside the application's Exchange RBAC scope: "
                                  "add it to the scope's group")
        assert "Test-ServicePrincipalAuthorization" in err.value.fix
        assert err.value.detail["request_id"] == "r3" and isinstance(err.value, AccessDenied)

    def test_places_denial_is_plain_access_denied(self):
        server = graph().on("GET", "/places/microsoft.graph.room", graph_error(403, "ErrorAccessDenied"))
        with pytest.raises(AccessDenied) as err:
            list(client(server)[0].list_rooms(TENANT))
        assert not isinstance(err.value, MailboxAccessDenied) and "Place.Read.All" in err.value.fix

    @pytest.mark.parametrize("code", ["ErrorInvalidUser", "MailboxNotEnabledForRESTAPI"])
    def test_missing_mailbox(self, code):
        server = graph().on("GET", f"/users/{ROOM}/events/e1", graph_error(404, code))
        with pytest.raises(MailboxNotFound) as err:
            client(server)[0].get_event(TENANT, ROOM, "e1")
        assert "primary SMTP address" in err.value.fix and err.value.detail["code"] == code

    def test_missing_item_is_not_found(self):
        server = graph().on("GET", f"/users/{ROOM}/events/gone", graph_error(404, "ErrorItemNotFound"))
        with pytest.raises(NotFound) as err:
            client(server)[0].get_event(TENANT, ROOM, "gone")
        assert not isinstance(err.value, MailboxNotFound)

    def test_unauthorised_is_access_denied(self):
        server = graph().on("GET", "/subscriptions/s1", graph_error(401, "InvalidAuthenticationToken"))
        with pytest.raises(AccessDenied):
            client(server)[0].get_subscription(TENANT, "s1")

    def test_empty_ids_never_become_list_calls(self):
        with pytest.raises(InvalidInput, match="event id is empty"):
            client(graph())[0].get_event(TENANT, ROOM, " ")

    def test_path_segments_are_escaped(self):
        server = graph().on("GET", f"/users/{ROOM}/events/a/b?c", ok({"id": "x"}))
        client(server)[0].get_event(TENANT, ROOM, "a/b?c")
        assert "/events/a%2Fb%3Fc" in server.requests[0].url


class TestConcurrency:
    def test_never_more_than_four_requests_per_mailbox(self):
        """20 threads on one mailbox: Graph's limit of 4 concurrent requests holds; other mailboxes are free."""
        server = FakeServer(prefix="/v1.0", delay=0.02)
        for room in (ROOM, "other@contoso.com"):
            server.on("GET", f"/users/{room}/events/e", ok({"id": "e"}))
        graph_client, _ = client(server)
        threads = [threading.Thread(target=graph_client.get_event, args=(TENANT, room, "e"))
                   for room in (ROOM, "other@contoso.com") for _ in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(server.requests) == 40
        assert server.peak[ROOM] == 4 and server.peak["other@contoso.com"] == 4


class TestBatch:
    def test_chunks_of_twenty_answers_in_input_order(self):
        seen = []

        def answer(request):
            inner = json.loads(request.body)["requests"]
            seen.append(len(inner))
            return ok({"responses": [{"id": r["id"], "status": 200, "body": {"url": r["url"]}}
                                     for r in reversed(inner)]})

        server = graph().on("POST", "/$batch", answer)
        reqs = [{"method": "GET", "url": f"/users/{ROOM}/events/e{i}"} for i in range(45)]
        answers = client(server)[0].batch(TENANT, reqs)
        assert seen == [20, 20, 5]
        assert [a["body"]["url"] for a in answers] == [r["url"] for r in reqs]

    def test_inner_429s_are_retried_after_their_retry_after(self):
        calls = []

        def answer(request):
            inner = json.loads(request.body)["requests"]
            calls.append([r["id"] for r in inner])
            first = len(calls) == 1
            return ok({"responses": [
                {"id": r["id"], "status": 429 if first and r["id"] == "1" else 200,
                 "headers": {"Retry-After": "4"} if first and r["id"] == "1" else {}} for r in inner]})

        server = graph().on("POST", "/$batch", answer)
        graph_client, sleeps = client(server)
        answers = graph_client.batch(TENANT, [{"method": "GET", "url": "/a"}, {"method": "GET", "url": "/b"}])
        assert calls == [["0", "1"], ["1"]] and sleeps == [4.0]
        assert [a["status"] for a in answers] == [200, 200]

    def test_duplicate_ids_are_refused(self):
        with pytest.raises(InvalidInput):
            client(graph())[0].batch(TENANT, [{"id": "A", "method": "GET", "url": "/a"},
                                              {"id": "a", "method": "GET", "url": "/b"}])


class TestSubscriptions:
    def test_create_sends_the_documented_body(self):
        server = graph().on("POST", "/subscriptions", (201, {}, {"id": "sub-1"}))
        sub = client(server)[0].create_subscription(
            TENANT, ROOM, notification_url="https://app.test/api/notifications",
            lifecycle_url="https://app.test/api/lifecycle", expiration=datetime(2026, 11, 30, 11, tzinfo=UTC),
            client_state="s" * 40)
        body = json.loads(server.requests[0].body)
        assert sub == {"id": "sub-1"}
        assert body == {"changeType": "created,updated,deleted", "notificationUrl": "https://app.test/api/notifications",
                        "lifecycleNotificationUrl": "https://app.test/api/lifecycle",
                        "resource": f"/users/{ROOM}/events", "expirationDateTime": "2026-11-30T11:00:00.0000000Z",
                        "clientState": "s" * 40, "latestSupportedTlsVersion": "v1_2"}

    def test_duplicate_subscription_is_conflict(self):
        server = graph().on("POST", "/subscriptions", graph_error(409, "ExtensionError"))
        with pytest.raises(Conflict):
            client(server)[0].create_subscription(TENANT, ROOM, notification_url="https://a.test/n",
                                                  expiration=START, client_state="x")

    def test_renew_reauthorize_and_idempotent_delete(self):
        server = (graph().on("PATCH", "/subscriptions/s1", ok({"id": "s1"}))
                  .on("POST", "/subscriptions/s1/reauthorize", (204, {}, None))
                  .on("DELETE", "/subscriptions/s1", (204, {}, None), graph_error(404, "ResourceNotFound")))
        graph_client, _ = client(server)
        assert graph_client.renew_subscription(TENANT, "s1", START)["id"] == "s1"
        graph_client.reauthorize_subscription(TENANT, "s1")
        graph_client.delete_subscription(TENANT, "s1")
        graph_client.delete_subscription(TENANT, "s1")  # already gone: still fine
        assert [r.method for r in server.requests] == ["PATCH", "POST", "DELETE", "DELETE"]


class TestRoomsAndUsers:
    def test_list_rooms_pages_with_skip_until_a_short_page(self):
        """/places sends no nextLink (docs-contrib issues 341, 6252): $top/$skip until a short page."""
        def places(request):
            skip, top = int(query(request)["$skip"][0]), int(query(request)["$top"][0])
            return ok({"value": [{"id": f"r{i}", "emailAddress": f"r{i}@contoso.com"}
                                 for i in range(skip, min(skip + top, 5))]})
        server = graph().on("GET", "/places/microsoft.graph.room", places)
        rooms = list(client(server, page_size=2)[0].list_rooms(TENANT))
        assert [r["id"] for r in rooms] == ["r0", "r1", "r2", "r3", "r4"]
        assert [query(r)["$skip"] for r in server.requests] == [["0"], ["2"], ["4"]]

    def test_list_rooms_follows_a_next_link_if_one_appears(self):
        server = graph().on("GET", "/places/microsoft.graph.room",
                            ok({"value": [{"emailAddress": "a@contoso.com"}],
                                "@odata.nextLink": f"{BASE}/places/microsoft.graph.room?$skiptoken=2"}),
                            ok({"value": [{"emailAddress": "b@contoso.com"}]}))
        rooms = list(client(server)[0].list_rooms(TENANT))
        assert [r["emailAddress"] for r in rooms] == ["a@contoso.com", "b@contoso.com"]

    def test_list_rooms_stops_when_skip_is_ignored(self):
        """A server that answers every $skip with the same full page must not page forever."""
        page = {"value": [{"id": "r0"}, {"id": "r1"}]}
        server = graph().on("GET", "/places/microsoft.graph.room", lambda request: ok(page))
        rooms = list(client(server, page_size=2)[0].list_rooms(TENANT))
        assert [r["id"] for r in rooms] == ["r0", "r1"] and len(server.requests) == 2

    def test_get_user_returns_the_object_id(self):
        server = graph().on("GET", f"/users/{ROOM}", ok({"id": "obj-1", "mail": ROOM}))
        assert client(server)[0].get_user(TENANT, ROOM)["id"] == "obj-1"


class TestMisbehavingServer:
    @staticmethod
    def _looping(path):
        """Answers with a nextLink to itself; gives up (fails the test) after 50 calls instead of hanging."""
        calls = []

        def answer(request):
            calls.append(request)
            if len(calls) > 50:
                raise RuntimeError("client kept following a nextLink that points at itself")
            return 200, {}, {"value": [], "@odata.nextLink": f"{BASE}{path}?$skiptoken=same"}
        return answer

    def test_a_next_link_pointing_at_itself_ends_the_paging(self):
        path = "/places/microsoft.graph.room"
        server = graph().on("GET", path, self._looping(path))
        with pytest.raises(Unavailable):
            list(client(server)[0].list_rooms(TENANT))
        assert len(server.requests) <= 3

    def test_a_delta_next_link_pointing_at_itself_ends_the_round(self):
        server = graph().on("GET", DELTA, self._looping(DELTA))
        with pytest.raises(Unavailable):
            list(client(server)[0].calendar_view_delta(TENANT, ROOM, delta_link=f"{BASE}{DELTA}?$skiptoken=same"))
        assert len(server.requests) <= 2

    @pytest.mark.parametrize("value", ["inf", "1e309", "Infinity"])
    def test_an_infinite_retry_after_is_not_a_crash(self, value):
        """float('inf') parsed 'fine', then int(retry_after) raised OverflowError in the HTTP error mapping."""
        from functions.http import error_response
        from shared.adapters.graph_errors import retry_after_seconds

        seconds = retry_after_seconds({"Retry-After": value})
        assert seconds is None or seconds < 10**6
        server = graph().on("GET", f"/users/{ROOM}/events/e1",
                            graph_error(429, "TooManyRequests", headers={"Retry-After": value}))
        with pytest.raises(Throttled) as err:
            client(server, max_retries=0, backoff_initial=0.0)[0].get_event(TENANT, ROOM, "e1")
        response = error_response(err.value)
        assert response.status_code == 429 and int(response.headers["Retry-After"]) >= 0

    def test_an_http_date_in_minus_0000_form_is_read_as_utc(self):
        """RFC 5322's '-0000' makes email.utils return a naive datetime; it is still GMT, not 'no header'."""
        from datetime import timedelta
        from email.utils import format_datetime

        from shared.adapters.graph_errors import retry_after_seconds

        when = (datetime.now(UTC) + timedelta(seconds=120)).replace(tzinfo=None)
        seconds = retry_after_seconds({"Retry-After": format_datetime(when)})
        assert seconds is not None and 100 <= seconds <= 121
