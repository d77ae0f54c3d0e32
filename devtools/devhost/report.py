"""What the dev host prints: the function table at start and the one-line summary at stop."""

from __future__ import annotations

import contextlib

from devtools.devhost.app_loader import FunctionSpec
from devtools.devhost.settings import SettingsError, resolve_setting_references

HEADER = ("function", "trigger", "route/queue/schedule", "auth")


def function_table(specs: list[FunctionSpec], prefix: str) -> list[str]:
    rows = []
    for spec in specs:
        where = spec.describe()
        if spec.kind == "http":
            path = "/" + "/".join(p for p in (prefix, where) if p)
            methods = ",".join(spec.trigger.get("methods") or ["ALL"])
            rows.append((_named(spec), "http", f"{methods} {path}", spec.trigger["authLevel"]))
        else:
            with contextlib.suppress(SettingsError):
                where = resolve_setting_references(where)
            rows.append((_named(spec), spec.kind, where, "-"))
    widths = [max(len(row[i]) for row in [HEADER, *rows]) for i in range(len(HEADER))]
    return ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in [HEADER, *rows]]


def _named(spec: FunctionSpec) -> str:
    return f"{spec.name} (disabled)" if spec.disabled else spec.name


def summary(invocations: dict[str, int], queue_counts: list[dict], unfinished: int) -> str:
    outcomes: dict[str, int] = {}
    for counts in queue_counts:
        for outcome, n in counts.items():
            outcomes[outcome.value] = outcomes.get(outcome.value, 0) + n
    queue = ", ".join(f"{k} {v}" for k, v in outcomes.items() if v) or "none"
    return (f"devhost stopped: {invocations.get('ok', 0)} invocations succeeded, {invocations.get('failed', 0)} "
            f"failed; queue messages: {queue}; {unfinished} unfinished left to their visibility timeout")
