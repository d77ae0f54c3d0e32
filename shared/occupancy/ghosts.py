"""Ghost series: recurring meetings whose occurrences keep ending as no-shows (N in a row, default 3).

Occurrences are taken in order of start; a no-show extends the streak, an attended occurrence ends it, and one
the sensor did not fully see (no data) neither counts nor breaks it. The organiser is shown only when the
tenant's ``show_organisers`` setting allows (default: hidden).
"""

from __future__ import annotations

from shared.occupancy import report as rep
from shared.occupancy.directory import RoomIndex, load_tenant


def organisers_visible(settings) -> bool:
    """The tenant's ``show_organisers`` (TenantSettings, default false); absent on older settings: hidden."""
    return getattr(settings, "show_organisers", False) is True


def ghost_series(tables, tenant_id: str, query: rep.RangeQuery, *, hold: int) -> dict:
    tenant = load_tenant(tables, tenant_id)
    strikes = tenant.settings.ghost_series_strikes
    show = organisers_visible(tenant.settings)
    policy = rep.Policy(tenant.settings.grace_minutes, tenant.settings.meetup_minutes)
    found = []
    for room in query.rooms(RoomIndex.load(tables, tenant.id)):
        if not room.sensor_id:
            continue
        series: dict[str, list] = {}
        for day in rep.sensor_days(tables, tenant, room, query.from_, query.to, hold=hold, policy=policy):
            for m in day.meetings:
                if m.series_key:
                    series.setdefault(m.series_key, []).append(m)
        for key, meetings in sorted(series.items()):
            meetings.sort(key=lambda m: m.start)
            streak = longest = 0
            for m in meetings:
                if m.status == "no_show":
                    streak += 1
                    longest = max(longest, streak)
                elif m.status == "attended":
                    streak = 0
            if longest < strikes:
                continue
            organiser = next((m.organizer for m in reversed(meetings) if m.organizer), None)
            found.append({
                "room": room.email, "series": key[:16], "occurrences": len(meetings),
                "no_shows": sum(m.status == "no_show" for m in meetings),
                "attended": sum(m.status == "attended" for m in meetings),
                "longest_no_show_streak": longest, "current_no_show_streak": streak,
                "last_start": meetings[-1].start.isoformat().replace("+00:00", "Z"),
                "organiser": organiser if show else None, "organiser_hidden": not show})
    found.sort(key=lambda g: (-g["current_no_show_streak"], -g["longest_no_show_streak"], g["room"]))
    return {"tenant": tenant.id, "from": query.from_.isoformat(), "to": query.to.isoformat(), "strikes": strikes,
            "series": found}
