"""The host's key store in its file form: ``AzureWebJobsSecretStorageType=files`` + ``FUNCTIONS_SECRETS_PATH``.

The real host reads (Azure/azure-functions-host ``FileSystemSecretsRepository``, ``HostSecrets``,
``FunctionSecrets``; the same files a container image ships):

    {FUNCTIONS_SECRETS_PATH}/host.json        {"masterKey": {"name": "master", "value": "...", "encrypted": false},
                                               "functionKeys": [{"name": "default", "value": "..."}],
                                               "systemKeys": [...]}
    {FUNCTIONS_SECRETS_PATH}/{function}.json  {"keys": [{"name": "graph-2026-12", "value": "..."}, ...]}

Every named key of a function is valid for it: two names side by side is how a key is rotated without a gap.
The host watches the folder; here a file is re-read when its modification time changes (checked at most
every ``recheck_seconds``), so keys added or removed while running take effect without a restart.
Encrypted values cannot be decrypted outside the host: refused with a clear message.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

STORAGE_TYPE_SETTING = "AzureWebJobsSecretStorageType"
PATH_SETTING = "FUNCTIONS_SECRETS_PATH"


class SecretsError(ValueError):
    """A secrets file the host could not use."""


@dataclass(frozen=True)
class HostSecrets:
    master: str = ""
    function_keys: tuple[str, ...] = ()  # host-scoped "function keys": valid for every function
    system_keys: tuple[str, ...] = ()


def _values(entries: object, where: Path) -> tuple[str, ...]:
    if entries is None:
        return ()
    if not isinstance(entries, list):
        raise SecretsError(f"{where}: keys must be a list of {{name, value}} objects")
    return tuple(_value(e, where) for e in entries if _value(e, where))


def _value(entry: object, where: Path) -> str:
    if not isinstance(entry, dict) or not isinstance(entry.get("value", ""), str):
        raise SecretsError(f"{where}: each key must be an object with a string 'value'")
    if entry.get("encrypted"):
        raise SecretsError(f"{where}: key {entry.get('name')!r} is encrypted; the dev host reads plain values "
                           "(set \"encrypted\": false)")
    return entry.get("value", "")


@dataclass
class _Cached:
    mtime: float | None
    value: object


@dataclass
class FileSecrets:
    path: Path
    recheck_seconds: float = 1.0
    _cache: dict[str, _Cached] = field(default_factory=dict)
    _checked: dict[str, float] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> FileSecrets | None:
        env = os.environ if environ is None else environ
        if env.get(STORAGE_TYPE_SETTING, "").lower() != "files":
            return None
        path = env.get(PATH_SETTING, "")
        if not path:
            raise SecretsError(f"{STORAGE_TYPE_SETTING}=files needs {PATH_SETTING} (the folder of host.json and "
                               "<function>.json key files)")
        return cls(Path(path))

    def host(self) -> HostSecrets:
        return self._load("host.json", self._parse_host) or HostSecrets()

    def function_keys(self, function_name: str) -> tuple[str, ...]:
        return self._load(f"{function_name.lower()}.json", self._parse_function) or ()

    def check(self, function_names: list[str]) -> None:
        """Read every file once at start, so a broken file stops the host instead of refusing requests."""
        self.host()
        for name in function_names:
            self.function_keys(name)

    def _load(self, filename: str, parse):
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(filename)
            if cached is not None and now - self._checked.get(filename, 0.0) < self.recheck_seconds:
                return cached.value
            file = self._find(filename)
            mtime = file.stat().st_mtime if file else None
            if cached is None or cached.mtime != mtime:
                cached = _Cached(mtime, parse(file) if file else None)
                self._cache[filename] = cached
            self._checked[filename] = now
            return cached.value

    def _find(self, filename: str) -> Path | None:
        if not self.path.is_dir():
            return None
        for candidate in self.path.iterdir():  # function names are case-insensitive, file names may not be
            if candidate.name.lower() == filename and candidate.is_file():
                return candidate
        return None

    @staticmethod
    def _read(file: Path) -> dict:
        try:
            document = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise SecretsError(f"{file}: not readable JSON ({exc})") from None
        if not isinstance(document, dict):
            raise SecretsError(f"{file}: must hold a JSON object")
        return document

    def _parse_host(self, file: Path) -> HostSecrets:
        doc = self._read(file)
        master = doc.get("masterKey")
        return HostSecrets(master=_value(master, file) if master else "",
                           function_keys=_values(doc.get("functionKeys"), file),
                           system_keys=_values(doc.get("systemKeys"), file))

    def _parse_function(self, file: Path) -> tuple[str, ...]:
        return _values(self._read(file).get("keys"), file)
