"""Allowlist logging and the shared HTTP session."""

from __future__ import annotations

import logging

from requests.adapters import HTTPAdapter

from shared.adapters.http_session import USER_AGENT, build_session
from shared.config import load_settings
from shared.log import ALLOWED_FIELDS, log_event
from tests.http_fakes import FakeServer, FakeTransport

SECRET = "CANARY-subject-Board-meeting"


class TestLogEvent:
    def test_forbidden_keys_never_reach_the_log(self, caplog):
        """Only allowlisted keys are logged; subject, body, attendees... are dropped and only counted."""
        logger = logging.getLogger("roomcal.test")
        with caplog.at_level(logging.INFO, logger="roomcal.test"):
            log_event(logger, "event stored", tenant="t1", room="r@contoso.com", count=3,
                      subject=SECRET, body=SECRET, bodyPreview=SECRET, attendees=[SECRET], joinUrl=SECRET,
                      organizer=SECRET)
        record = caplog.records[-1]
        everything = record.getMessage() + repr(record.__dict__)
        assert SECRET not in everything
        assert record.roomcal == {"tenant": "t1", "room": "r@contoso.com", "count": 3, "dropped_fields": 6}
        assert record.getMessage() == "event stored tenant=t1 room=r@contoso.com count=3 dropped_fields=6"
        assert record.roomcal_room == "r@contoso.com"

    def test_values_are_single_line_and_bounded(self, caplog):
        """A value cannot smuggle a fake log line or a payload."""
        logger = logging.getLogger("roomcal.test")
        with caplog.at_level(logging.INFO, logger="roomcal.test"):
            log_event(logger, "x", reason="line1\nFAKE level=ERROR", status="s" * 1000)
        kept = caplog.records[-1].roomcal
        assert "\n" not in kept["reason"] and len(kept["status"]) == 200

    def test_allowlist_has_no_content_fields(self):
        assert not ALLOWED_FIELDS & {"subject", "body", "bodyPreview", "attendees", "organizer", "location",
                                     "onlineMeeting", "joinUrl", "attachments", "event", "payload", "token"}


class TestSession:
    def test_ignores_the_environment_and_uses_the_ca_bundle_setting(self, monkeypatch):
        """REQUESTS_CA_BUNDLE set machine-wide must not override ROOMCAL_CA_BUNDLE."""
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/elsewhere.pem")
        session = build_session(load_settings(environment="development", ca_bundle="/tmp/emulator-ca.pem"))
        assert session.trust_env is False and session.verify == "/tmp/emulator-ca.pem"
        assert session.headers["User-Agent"] == USER_AGENT
        adapter = session.get_adapter("https://graph.microsoft.com")
        assert isinstance(adapter, HTTPAdapter) and adapter._pool_maxsize == 32
        assert build_session(load_settings(environment="development")).verify is True

    def test_every_request_gets_the_configured_timeout(self):
        session = build_session(load_settings(environment="development", http_timeout_seconds=12))
        transport = FakeTransport(FakeServer().on("GET", "/x", (200, {}, {})))
        session.mount("https://", transport)
        session.get("https://svc.test/x")
        session.get("https://svc.test/x", timeout=3)
        assert transport.timeouts == [12, 3]
