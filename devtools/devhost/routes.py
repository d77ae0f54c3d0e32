"""HTTP route templates the ASP.NET Core way: ``{name}``, ``{name:int}``, ``{name?}``,
``{name:alpha?}``, ``{*rest}``, constraints with arguments (``min(1)``, ``length(2,5)``,
``regex(...)``), literals matched case-insensitively, all under host.json's routePrefix.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import unquote

_PARAM = re.compile(r"\{([^{}]+(?:\{[^{}]*\}[^{}]*)*)\}")


class RouteError(ValueError):
    """A route template the host would reject."""


def _int_in(bits: int) -> Callable[[str], bool]:
    limit = 2 ** (bits - 1)
    return lambda v: bool(re.fullmatch(r"[+-]?\d+", v)) and -limit <= int(v) < limit


def _float(v: str) -> bool:
    try:
        float(v)
    except ValueError:
        return False
    return v.strip().lower() not in ("nan", "inf", "-inf", "infinity", "+inf")


def _guid(v: str) -> bool:
    try:
        uuid.UUID(v)
    except ValueError:
        return False
    return True


def _datetime(v: str) -> bool:
    try:
        datetime.fromisoformat(v)
    except ValueError:
        return False
    return True


_SIMPLE: dict[str, Callable[[str], bool]] = {
    "int": _int_in(32), "long": _int_in(64), "alpha": lambda v: bool(re.fullmatch(r"[A-Za-z]+", v)),
    "bool": lambda v: v.lower() in ("true", "false"), "guid": _guid, "datetime": _datetime,
    "decimal": _float, "double": _float, "float": _float,
}


def _constraint(text: str) -> Callable[[str], bool]:
    name, _, arg = text.partition("(")
    name, arg = name.strip().lower(), arg[:-1] if arg.endswith(")") else arg
    if name in _SIMPLE and not arg:
        return _SIMPLE[name]
    if name == "regex":
        pattern = re.compile(arg, re.IGNORECASE)
        return lambda v: bool(pattern.search(v))
    nums = [int(x) for x in arg.split(",")] if arg and re.fullmatch(r"-?\d+(,-?\d+)?", arg) else []
    is_int = _SIMPLE["long"]
    checks = {
        "min": lambda v: is_int(v) and int(v) >= nums[0],
        "max": lambda v: is_int(v) and int(v) <= nums[0],
        "range": lambda v: is_int(v) and nums[0] <= int(v) <= nums[-1],
        "minlength": lambda v: len(v) >= nums[0],
        "maxlength": lambda v: len(v) <= nums[0],
        "length": lambda v: nums[0] <= len(v) <= nums[-1],
    }
    if name in checks and nums:
        return checks[name]
    raise RouteError(f"unknown route constraint {text!r}")


@dataclass
class _Param:
    name: str
    optional: bool
    catch_all: bool
    checks: list[Callable[[str], bool]] = field(default_factory=list)


@dataclass
class Route:
    template: str
    target: object
    methods: frozenset[str]  # empty: every method
    regex: re.Pattern = field(init=False)
    params: dict[str, _Param] = field(init=False)
    rank: tuple = field(init=False)

    @classmethod
    def compile(cls, template: str, target: object, methods=(), prefix: str = "api") -> Route:
        route = cls(template, target, frozenset(m.upper() for m in methods))
        route._build(prefix)
        return route

    def _build(self, prefix: str) -> None:
        self.params = {}
        segments = [s for s in f"{prefix.strip('/')}/{self.template.strip('/')}".split("/") if s]
        pattern, rank = "", []
        for i, seg in enumerate(segments):
            last = i == len(segments) - 1
            whole = _PARAM.fullmatch(seg)
            if whole:
                p = self._param(whole.group(1), last)
                group = ".*" if p.catch_all else "[^/]+"
                if p.optional or p.catch_all:
                    pattern += f"(?:/(?P<{p.name}>{group}))?"
                else:
                    pattern += f"/(?P<{p.name}>{group})"
                rank.append(4 if p.catch_all else 3 if p.optional else 1 if p.checks else 2)
                continue
            piece, pos = "", 0
            for m in _PARAM.finditer(seg):
                piece += re.escape(seg[pos:m.start()])
                p = self._param(m.group(1), False)
                piece += f"(?P<{p.name}>[^/]+?)"
                pos = m.end()
            piece += re.escape(seg[pos:])
            pattern += "/" + piece
            rank.append(0 if pos == 0 else 1)
        self.regex = re.compile(f"^{pattern or '/'}/?$", re.IGNORECASE)
        self.rank = tuple(rank)

    def _param(self, text: str, last: bool) -> _Param:
        catch_all = text.startswith("*")
        text = text.lstrip("*")
        optional = text.endswith("?")
        text = text.rstrip("?").split("=", 1)[0]
        name, *constraints = _split_constraints(text)
        if not re.fullmatch(r"[A-Za-z_]\w*", name):
            raise RouteError(f"route {self.template!r}: bad parameter name {name!r}")
        if name in self.params:
            raise RouteError(f"route {self.template!r}: parameter {name!r} appears twice")
        if (optional or catch_all) and not last:
            raise RouteError(f"route {self.template!r}: optional or catch-all {name!r} must be the last segment")
        p = _Param(name, optional, catch_all, [_constraint(c) for c in constraints])
        self.params[name] = p
        return p

    def match(self, path: str) -> dict[str, str] | None:
        m = self.regex.match(path)
        if not m:
            return None
        values = {}
        for name, raw in m.groupdict().items():
            if raw is None:
                continue
            value = unquote(raw)
            if not all(check(value) for check in self.params[name].checks):
                return None
            values[name] = value
        return values


def _split_constraints(text: str) -> list[str]:
    parts, depth, current = [], 0, ""
    for ch in text:
        if ch == ":" and depth == 0:
            parts.append(current)
            current = ""
            continue
        depth += ch == "("
        depth -= ch == ")"
        current += ch
    return [*parts, current]


@dataclass
class RouteMatch:
    status: int  # 200 found, 404 no route, 405 route but not this method
    route: Route | None = None
    params: dict[str, str] = field(default_factory=dict)
    allowed: list[str] = field(default_factory=list)


class RouteTable:
    def __init__(self, prefix: str = "api") -> None:
        self.prefix = prefix
        self.routes: list[Route] = []

    def add(self, template: str, target: object, methods=()) -> Route:
        route = Route.compile(template, target, methods, self.prefix)
        self.routes.append(route)
        self.routes.sort(key=lambda r: r.rank)
        return route

    def resolve(self, method: str, path: str) -> RouteMatch:
        allowed: list[str] = []
        for route in self.routes:
            params = route.match(path)
            if params is None:
                continue
            if not route.methods or method.upper() in route.methods:
                return RouteMatch(200, route, params)
            allowed.extend(sorted(route.methods))
        if allowed:
            return RouteMatch(405, allowed=sorted(set(allowed)))
        return RouteMatch(404)
