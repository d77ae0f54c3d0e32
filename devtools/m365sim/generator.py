"""A realistic office, deterministic per seed: buildings, floors, rooms, people, a year of bookings and sensors.

``generate(world, seed=1, rooms=20)`` builds a consented tenant whose rooms are in an RBAC scope (a mail-enabled
security group), except a few deliberately misconfigured ones, labelled in ``tenant.labels`` and in the truth:
``outside_scope`` (not in the group), ``no_mailbox`` (a place without a mailbox → 404 ErrorInvalidUser),
``not_exchange_enabled`` (→ 404 MailboxNotEnabledForRESTAPI), and ``not_a_room``: a shared mailbox (a facilities
desk) that the Exchange admin put into the rooms group by mistake. As in Exchange, /places lists room mailboxes
only, so it is not there; it is in the RBAC scope and Graph reads its calendar. The truth lists it (under
``rooms`` with ``listed_as_room: false`` and under ``misconfigured``) so a test or the demo can register it by
e-mail. (Until 2026-11 this was ``user_mailbox``, a user mailbox listed in /places, which Exchange cannot do.)

Buildings are in different time zones (Amsterdam, London, Berlin, New York, ...): an office with more than 40
rooms has at least two, and each room mailbox's events are in its building's zone.

Bookings: per room a popularity; a few all-day blocks (offsite, maintenance); weekly series, then singles in free
slots (08:00-18:00 room time); sizes vs capacity, lead times (about a fifth ad hoc, under 15 minutes; the rest hours
to weeks ahead), cancellations, private and online meetings. Sensors (past days only): attended meetings → presence;
no-shows → none; ad-hoc meet-ups → presence without a booking; about three rooms in four have a sensor, some
sensors go silent for a while, a few series turn into ghosts (``sensors``).
Bulk generation is an import, not a mutation: it writes no change log. Everything uses one ``random.Random`` per
seed and stable iteration orders, so the same seed (and anchor) gives the same world, ids included.
"""

from __future__ import annotations

import random
import uuid
from datetime import UTC, date, datetime, time, timedelta

from . import generator_stats, sensors
from .bookings import book_office
from .calendar import Attendee
from .world import Group, Mailbox, Place, RoleAssignment, RoomList, Scope, Tenant, User, World

# in the order buildings are added: a two-building office already spans two time zones
BUILDINGS = [
    ("Amstel", "NL", "Amsterdam", "Europe/Amsterdam"),
    ("Thames", "GB", "London", "Europe/London"),
    ("Spree", "DE", "Berlin", "Europe/Berlin"),
    ("Hudson", "US", "New York", "America/New_York"),
    ("Zuidas", "NL", "Amsterdam", "Europe/Amsterdam"),
]
MISCONFIGURED = ["outside_scope", "no_mailbox", "not_exchange_enabled", "outside_scope"]  # rooms 0..3
NOT_A_ROOM = "not_a_room"  # a shared mailbox in the rooms group; formerly "user_mailbox"
ROOM_NAMES = [
    "Tulip",
    "Rose",
    "Iris",
    "Lily",
    "Daisy",
    "Orchid",
    "Lotus",
    "Aster",
    "Dahlia",
    "Violet",
    "Poppy",
    "Heather",
    "Jasmine",
    "Magnolia",
    "Peony",
    "Sage",
    "Willow",
    "Maple",
    "Cedar",
    "Birch",
]
FIRST = [
    "Ann",
    "Bram",
    "Chen",
    "Dirk",
    "Eva",
    "Farah",
    "Gijs",
    "Hana",
    "Ivo",
    "Julia",
    "Koen",
    "Lena",
    "Milan",
    "Noor",
    "Omar",
    "Pia",
    "Quinn",
    "Rosa",
    "Sem",
    "Tess",
    "Umar",
    "Vera",
    "Wout",
    "Yara",
    "Zoe",
]
LAST = [
    "Jansen",
    "de Vries",
    "Bakker",
    "Visser",
    "Smit",
    "Meijer",
    "Mulder",
    "Bos",
    "Vos",
    "Peters",
    "Hendriks",
    "Dekker",
    "Brouwer",
    "Kok",
    "Willems",
]
DEPARTMENTS = ["Sales", "Engineering", "Finance", "HR", "Marketing", "Legal", "Operations", "Support"]
CAPACITIES = [2, 4, 4, 6, 6, 6, 8, 8, 10, 12, 14, 16, 20]


def bootstrap(world: World, rooms: int = 0, seed: int = 1) -> Tenant:
    """The world an emulator starts with: a generated office, or one empty tenant with an admin and a user."""
    if rooms:
        return generate(world, seed=seed, rooms=rooms)
    t = world.add_tenant("contoso.onmicrosoft.com", "Contoso")
    for upn, name, admin in (
        ("admin@contoso.onmicrosoft.com", "Ada Admin", True),
        ("user@contoso.onmicrosoft.com", "Uri User", False),
    ):
        u = User(world.guid(), upn, name, "IT", admin, ["RoomCal.Admin"] if admin else [])
        t.users[u.id] = u
    return t


def _guid(rng: random.Random) -> str:
    import uuid

    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def generate(
    world: World,
    seed: int = 1,
    rooms: int = 20,
    days_back: int = 182,
    days_ahead: int = 182,
    anchor: str | date | None = None,
    tenant_id: str | None = None,
    buildings: int | None = None,
) -> Tenant:
    """``buildings``: how many of BUILDINGS to use (default: one per 40 rooms), e.g. 4 for four time zones."""
    rng = random.Random(f"m365sim-generator-{seed}")
    saved_ids, world.ids = world.ids, random.Random(f"m365sim-generator-ids-{seed}")
    try:
        with world.lock:
            return _generate(world, rng, seed, rooms, days_back, days_ahead, anchor, tenant_id, buildings)
    finally:
        world.ids = saved_ids


def _generate(world, rng, seed, n_rooms, days_back, days_ahead, anchor, tenant_id, buildings=None) -> Tenant:
    anchor_day = date.fromisoformat(anchor) if isinstance(anchor, str) else (anchor or world.clock.now().date())
    anchor_dt = datetime.combine(anchor_day, time(), tzinfo=UTC)
    domain = f"office{seed}.onmicrosoft.com"
    if world.tenant(domain):
        domain = f"office{seed}-{len(world.tenants)}.onmicrosoft.com"
    t = world.add_tenant(domain, f"Office {seed}", tenant_id or _guid(rng))
    t.consented, t.grants = True, {"Place.Read.All"}
    # people
    users = []
    for i in range(max(20, min(2000, n_rooms * 6))):
        f, last = FIRST[rng.randrange(len(FIRST))], LAST[rng.randrange(len(LAST))]
        upn = f"{f.lower()}.{last.lower().replace(' ', '')}{i}@{domain}"
        users.append(User(_guid(rng), upn, f"{f} {last}", DEPARTMENTS[rng.randrange(len(DEPARTMENTS))]))
    users[0].upn, users[0].name, users[0].is_admin, users[0].app_roles = (
        f"admin@{domain}",
        "Ada Admin",
        True,
        ["RoomCal.Admin"],
    )
    for u in users:
        t.users[u.id] = u
    people = [Attendee(u.upn, u.name) for u in users]
    # buildings, rooms, lists, the RBAC group and scope
    group = Group(_guid(rng), f"roomcal-rooms@{domain}", "RoomCal rooms")
    t.groups[group.email.lower()] = group
    t.scopes["RoomCal Rooms"] = Scope("RoomCal Rooms", member_of_group=group.email)
    t.role_assignments.append(
        RoleAssignment(
            _guid(rng),
            "Application Calendars.ReadWrite",
            "RoomCal Rooms",
            world.app.client_id,
            anchor_dt - timedelta(days=days_back + 1),
        )
    )
    # rooms' time zones for analytics: GET /users/{room}/mailboxSettings (mailboxsettings.py), same scope
    # (its id is derived, not drawn, so the random streams and every other id stay as they were)
    ra_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"m365sim:{t.id}:mailboxsettings-role"))
    t.role_assignments.append(RoleAssignment(ra_id, "Application MailboxSettings.Read", "RoomCal Rooms",
                                             world.app.client_id, anchor_dt - timedelta(days=days_back + 1)))
    n_buildings = max(1, min(len(BUILDINGS), buildings or (n_rooms + 39) // 40))
    misconfig = MISCONFIGURED[: 3 if n_rooms < 20 else 4] if n_rooms >= 8 else []
    room_tz: dict[str, str] = {}
    for i in range(n_rooms):
        b_name, country, city, tz = BUILDINGS[i % n_buildings]
        floor = (i // n_buildings) % 6
        email = f"room-{b_name.lower()}-{floor}-{i:03d}@{domain}"
        label = misconfig[i] if i < len(misconfig) else None
        cap = CAPACITIES[rng.randrange(len(CAPACITIES))]
        p = Place(
            _guid(rng),
            email,
            f"{b_name} {floor}.{i:03d} {ROOM_NAMES[i % len(ROOM_NAMES)]}",
            cap,
            b_name,
            floor,
            f"{floor}",
            "standard",
            rng.random() < 0.7,
            ["screen"] if cap >= 6 else [],
            city,
            country,
        )
        t.places[email.lower()] = p
        rl_email = f"{b_name.lower()}-rooms@{domain}"
        t.room_lists.setdefault(rl_email, RoomList(_guid(rng), rl_email, f"{b_name} rooms")).rooms.append(email.lower())
        if label:
            t.labels[email.lower()] = label
        if label == "no_mailbox":
            continue
        t.mailboxes[email.lower()] = Mailbox(
            _guid(rng), email, p.name, "room", country, label != "not_exchange_enabled", tz
        )
        room_tz[email.lower()] = tz
        if label != "outside_scope":
            group.members.add(email.lower())
    if n_rooms >= 8:
        # not a room: a shared mailbox in the rooms group by mistake; no /places entry (Exchange lists rooms only)
        b_name, country, _, tz = BUILDINGS[0]
        email = f"facilities-{b_name.lower()}@{domain}"
        t.mailboxes[email] = Mailbox(_guid(rng), email, f"{b_name} facilities desk", "shared", country, True, tz)
        t.labels[email] = NOT_A_ROOM
        room_tz[email] = tz
        group.members.add(email)
    book_office(world, t, rng, people, room_tz, anchor_dt, days_back, days_ahead)
    generator_stats.plant(world, t, seed, room_tz, anchor_dt, days_back, days_ahead)
    sensors.equip(t, seed, anchor_dt - timedelta(days=days_back), anchor_dt)
    return t
