"""Health: is RoomCal able to do its job right now? Never reports a secret."""

from __future__ import annotations

from collections.abc import Callable

from shared import __version__
from shared.errors import RoomCalError


def check_health(*, settings_problem: str | None, settings=None, tables=None, queues=None) -> dict:
    """Return ``{"status": "healthy"|"unhealthy", "version", "checks": {part: {...}}}``."""
    checks: dict[str, dict] = {}
    if settings_problem:
        checks["settings"] = {"ok": False, "error": settings_problem}
    else:
        missing = settings.missing_for_graph()
        checks["settings"] = (
            {"ok": True, "environment": settings.environment}
            if not missing
            else {"ok": False, "error": "missing settings: " + ", ".join(missing),
                  "fix": "set them in the app settings (local.settings.json locally)"}
        )
    checks["tables"] = _probe(tables.ping if tables else None)
    checks["queues"] = _probe(queues.ping if queues else None)
    healthy = all(c["ok"] for c in checks.values())
    return {"status": "healthy" if healthy else "unhealthy", "version": __version__, "checks": checks}


def _probe(ping: Callable[[], None] | None) -> dict:
    if ping is None:
        return {"ok": False, "error": "not configured (see the settings check)"}
    try:
        ping()
    except RoomCalError as exc:
        return {"ok": False, "error": exc.message}
    except Exception as exc:  # a health probe reports, it never raises
        return {"ok": False, "error": f"{type(exc).__name__}"}
    return {"ok": True}
