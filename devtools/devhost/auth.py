"""authLevel decisions with the real host's key lookup order.

The key comes from the ``x-functions-key`` header, else the ``code`` query parameter (the
header wins even when wrong). A key is matched in this order: master key → admin level;
system keys → system level; host (function) keys → function level; the called function's
own keys (any of its named keys) → function level. ``anonymous`` needs no key, ``function``
accepts function level or above, ``admin`` only the master key. Keys come from the settings
DEVHOST_MASTER_KEY, DEVHOST_FUNCTION_KEY and DEVHOST_FUNCTION_KEY__<functionname>, and from
the host's own file key store when ``AzureWebJobsSecretStorageType=files`` (secrets.py: named
keys, several per function, re-read while running).
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Mapping
from dataclasses import dataclass

from devtools.devhost.secrets import FileSecrets

LEVELS = {"anonymous": 0, "function": 1, "system": 2, "admin": 3}
MASTER_SETTING = "DEVHOST_MASTER_KEY"
HOST_KEY_SETTING = "DEVHOST_FUNCTION_KEY"
KEY_HEADER = "x-functions-key"
KEY_QUERY = "code"


@dataclass(frozen=True)
class Keys:
    master: str = ""
    host: str = ""
    per_function: Mapping[str, str] | None = None
    files: FileSecrets | None = None

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> Keys:
        env = os.environ if environ is None else environ
        prefix = f"{HOST_KEY_SETTING}__"
        per = {k[len(prefix):].lower(): v for k, v in env.items() if k.startswith(prefix) and v}
        return cls(env.get(MASTER_SETTING, ""), env.get(HOST_KEY_SETTING, ""), per, FileSecrets.from_environ(env))

    def masters(self) -> tuple[str, ...]:
        return (self.master, self.files.host().master if self.files else "")

    def systems(self) -> tuple[str, ...]:
        return self.files.host().system_keys if self.files else ()

    def hosts(self) -> tuple[str, ...]:
        return (self.host, *(self.files.host().function_keys if self.files else ()))

    def of_function(self, name: str) -> tuple[str, ...]:
        own = (self.per_function or {}).get(name.lower(), "")
        return (own, *(self.files.function_keys(name) if self.files and name else ()))


def presented_key(headers: Mapping[str, str], query: Mapping[str, str]) -> str | None:
    """Header first; only if the header is absent, the ``code`` query parameter."""
    for name, value in headers.items():
        if name.lower() == KEY_HEADER:
            return value
    return query.get(KEY_QUERY)


def _same(a: str, b: str) -> bool:
    return bool(a) and bool(b) and hmac.compare_digest(a.encode(), b.encode())


def _any(key: str, candidates: tuple[str, ...]) -> bool:
    return any([_same(key, c) for c in candidates])  # a list, not a generator: every candidate is compared


def key_level(key: str | None, keys: Keys, function_name: str | None) -> str:
    if not key:
        return "anonymous"
    if _any(key, keys.masters()):
        return "admin"
    if _any(key, keys.systems()):
        return "system"
    if _any(key, keys.hosts()) or _any(key, keys.of_function(function_name or "")):
        return "function"
    return "anonymous"


def authorized(required: str, key: str | None, keys: Keys, function_name: str | None) -> bool:
    required = required.lower()
    if required not in LEVELS:
        raise ValueError(f"unknown auth level {required!r}")
    if required == "anonymous":
        return True
    return LEVELS[key_level(key, keys, function_name)] >= LEVELS[required]


def unauthorized_body(required: str) -> dict:
    which = "the master key (DEVHOST_MASTER_KEY)" if required == "admin" else "a function key (DEVHOST_FUNCTION_KEY)"
    return {"error": "unauthorized",
            "message": f"this endpoint needs {which}: send it in the '{KEY_HEADER}' header "
                       f"or the '{KEY_QUERY}' query parameter"}


def missing_key_settings(auth_levels: Mapping[str, str], keys: Keys) -> list[str]:
    """Problems that must stop the host: a function whose auth level no configured key can meet."""
    problems = []
    for name, level in auth_levels.items():
        level = level.lower()
        if level == "admin" and not any(keys.masters()):
            problems.append(f"function {name!r} has authLevel admin but {MASTER_SETTING} is not set")
        elif level == "function" and not any((*keys.hosts(), *keys.of_function(name))):
            problems.append(f"function {name!r} has authLevel function but {HOST_KEY_SETTING} "
                            f"(or {HOST_KEY_SETTING}__{name}, or a key in the secrets folder) is not set")
    return problems
