"""Right-sizing findings: rule-based, each with the rule's name, a sentence saying why, and the numbers.

* ``split_or_swap``: the median meeting uses at most 25 % of the seats while the room is booked at least 50 %
  of its available time: a smaller room would serve, or the room could be split.
* ``repurpose``: booked under 10 % of its available time over the range.
* ``too_small``: meetings regularly exceed capacity: at least 3 meetings and at least 25 % of them larger than
  the room's capacity.
Rooms without known capacity get only ``repurpose``; rooms without coverage get none.
"""

from __future__ import annotations

SPLIT_MAX_SHARE, SPLIT_MIN_RATE = 0.25, 0.50
REPURPOSE_MAX_RATE = 0.10
OVER_MIN_MEETINGS, OVER_MIN_SHARE = 3, 0.25

RULES = {
    "split_or_swap": f"median meeting uses <= {SPLIT_MAX_SHARE:.0%} of capacity while booked >= {SPLIT_MIN_RATE:.0%}",
    "repurpose": f"booked < {REPURPOSE_MAX_RATE:.0%} of available time",
    "too_small": f">= {OVER_MIN_MEETINGS} meetings and >= {OVER_MIN_SHARE:.0%} of them larger than capacity",
}


def findings(room: dict, over_capacity: int) -> list[dict]:
    """Findings for one rooms-endpoint entry; ``over_capacity`` = its meetings larger than capacity."""
    rate, capacity, median = room["booking_rate"], room["capacity"], room["median_meeting_size"]
    meetings, name, out = room["meetings"] or 0, room["name"] or room["room"], []
    if rate is None:
        return out
    if capacity and median is not None and median <= SPLIT_MAX_SHARE * capacity and rate >= SPLIT_MIN_RATE:
        out.append(_finding(room, "split_or_swap",
                            f"{name} is booked {rate:.0%} of its available time, but its median meeting has "
                            f"{median:g} of {capacity} seats in use: split it, or swap it with a smaller room",
                            booking_rate=rate, median_meeting_size=median, capacity=capacity))
    if rate < REPURPOSE_MAX_RATE:
        out.append(_finding(room, "repurpose",
                            f"{name} is booked only {rate:.0%} of its available time: consider repurposing it",
                            booking_rate=rate, meetings=meetings))
    if capacity and meetings >= OVER_MIN_MEETINGS and over_capacity >= max(1, OVER_MIN_SHARE * meetings):
        out.append(_finding(room, "too_small",
                            f"{over_capacity} of {meetings} meetings in {name} had more people than its "
                            f"{capacity} seats: move them to a larger room",
                            meetings=meetings, meetings_over_capacity=over_capacity, capacity=capacity))
    return out


def _finding(room: dict, rule: str, message: str, **evidence) -> dict:
    return {"room": room["room"], "rule": rule, "message": message, "evidence": {"rule": RULES[rule], **evidence}}
