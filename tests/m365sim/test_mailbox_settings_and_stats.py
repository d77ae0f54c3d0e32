"""mailboxSettings answers the room's zone (Windows name) only with the RBAC role for it, and the generator plants
the analytics statistics it says it does (unbooked and overflowing rooms, declines, overlaps, overnight, DST)."""

from __future__ import annotations

from devtools.m365sim import generator
from devtools.m365sim.world import World


def test_mailbox_settings_answer_the_zone_with_the_role_and_403_without(office, ctl):
    gen = ctl.generate(seed=21, rooms=12, days_back=5, days_ahead=5, anchor="2026-03-20", buildings=4)
    office.tid = gen["tenant"]
    t = office.sim.world.tenants[office.tid]
    rooms = sorted(e for e, m in t.mailboxes.items() if m.kind == "room" and e not in t.labels)
    by_zone = {t.mailboxes[e].time_zone: e for e in rooms}
    assert set(by_zone) == {"Europe/Amsterdam", "Europe/London", "Europe/Berlin", "America/New_York"}
    answer = office.graph("GET", f"/users/{by_zone['America/New_York']}/mailboxSettings")
    assert answer.status_code == 200 and answer.json()["timeZone"] == "Eastern Standard Time"
    only_zone = office.graph("GET", f"/users/{by_zone['Europe/London']}/mailboxSettings/timeZone")
    assert only_zone.json()["value"] == "GMT Standard Time"
    assignments = ctl.tenant(office.tid)["role_assignments"]
    role = next(r for r in assignments if r["role"] == "Application MailboxSettings.Read")
    ctl.remove_role(office.tid, role["id"])
    denied = office.graph("GET", f"/users/{by_zone['Europe/London']}/mailboxSettings")
    assert denied.status_code == 403 and denied.json()["error"]["code"] == "ErrorAccessDenied"
    # the calendar role alone still reads the calendar
    assert office.graph("GET", f"/users/{by_zone['Europe/London']}/events").status_code == 200


def test_the_generator_plants_known_statistics():
    t = generator.generate(World(5), seed=5, rooms=16, days_back=200, days_ahead=30, anchor="2026-11-10",
                           buildings=4)
    profile = t.analytics_profile
    assert not t.by_mailbox[profile["unbooked"]] and profile["unbooked"] in t.places
    small = profile["overflowing"]
    over = [c for c in t.by_mailbox[small]
            if len({a.email for a in c.meeting.attendees if a.type != "resource"}) > t.places[small].capacity]
    assert len(over) >= 3
    declined = [c for copies in t.by_mailbox.values() for c in copies if c.declined]
    assert len(declined) == profile["declined"] > 0
    assert profile["overlaps"] > 0 and profile["overnight"] > 0
    # both the EU (25 Oct) and US (1 Nov) autumn changes have a block in a zone that has them
    assert {(d["time_zone"], d["day"]) for d in profile["dst"]} >= {("Europe/London", "2026-10-25"),
                                                                    ("America/New_York", "2026-11-01")}
