"""Small emulator offices the integration tests build by hand (the generator makes the big ones)."""

from __future__ import annotations

import uuid


def small_office(ctl, prefix: str, *, capacity: int = 8, **room_fields) -> tuple[str, str]:
    """A tenant with an admin, a user with a mailbox, rooms good1, good2 and outside, and onprem (a room
    whose mailbox is not Exchange-enabled). Returns (tenant id, domain)."""
    domain = f"{prefix}{uuid.uuid4().hex[:6]}.example.com"
    tid = ctl.create_tenant(domain=domain, name=domain)["id"]
    ctl.add_user(tid, f"admin@{domain}", is_admin=True)
    ctl.add_user(tid, f"ann@{domain}", mailbox=True)
    for name in ("good1", "good2", "outside"):
        ctl.add_room(tid, f"{name}@{domain}", name=name, capacity=capacity, **room_fields)
    ctl.add_room(tid, f"onprem@{domain}", exchange_enabled=False)
    return tid, domain
