"""host.json: the parts the dev host honours (http routePrefix, extensions.queues), validated
with the same ranges as the WebJobs QueuesOptions class.

Defaults follow the real host; newBatchThreshold uses processorCount = 1 (the value Azure
uses on Consumption plans, ``WEBSITE_SKU=Dynamic``) so local behaviour does not depend on
the machine's core count. maxPollingInterval becomes 2 s in Development when not set.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

_TIMESPAN = re.compile(r"^(?:(\d+)\.)?(\d{1,2}):(\d{1,2}):(\d{1,2})(?:\.(\d{1,7}))?$")


class HostJsonError(ValueError):
    """host.json is missing, malformed or has a value the host would reject."""


def parse_timespan(value, key: str) -> float:
    """.NET TimeSpan text ``[d.]hh:mm:ss[.fffffff]`` (or a number of milliseconds) to seconds."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value / 1000.0
    match = _TIMESPAN.match(str(value).strip()) if isinstance(value, str) else None
    if not match:
        raise HostJsonError(f"host.json {key}: {value!r} is not a TimeSpan like '00:00:02' or '00:00:00.500'")
    days, hours, minutes, seconds, fraction = match.groups()
    if int(minutes) > 59 or int(seconds) > 59:
        raise HostJsonError(f"host.json {key}: {value!r} has minutes or seconds above 59")
    frac = float(f"0.{fraction}") if fraction else 0.0
    return int(days or 0) * 86400 + int(hours) * 3600 + int(minutes) * 60 + int(seconds) + frac


@dataclass(frozen=True)
class QueueOptions:
    batch_size: int = 16
    new_batch_threshold: int = 8
    max_polling_interval: float = 60.0
    visibility_timeout: float = 0.0
    max_dequeue_count: int = 5
    message_encoding: str = "base64"

    @property
    def max_concurrency(self) -> int:
        return self.new_batch_threshold + self.batch_size


@dataclass(frozen=True)
class HostConfig:
    route_prefix: str = "api"
    queues: QueueOptions = field(default_factory=QueueOptions)
    function_timeout: float | None = None


def parse_queue_options(raw: dict, *, development: bool, processor_count: int = 1) -> QueueOptions:
    if not isinstance(raw, dict):
        raise HostJsonError("host.json extensions.queues must be an object")
    batch = _int(raw, "batchSize", 16)
    if not 1 <= batch <= 32:
        raise HostJsonError(f"host.json extensions.queues.batchSize must be 1..32, got {batch}")
    threshold = _int(raw, "newBatchThreshold", (batch // 2) * processor_count)
    if threshold < 0:
        raise HostJsonError(f"host.json extensions.queues.newBatchThreshold must be >= 0, got {threshold}")
    if "maxPollingInterval" in raw:
        max_poll = parse_timespan(raw["maxPollingInterval"], "extensions.queues.maxPollingInterval")
        if max_poll < 0.1:
            raise HostJsonError("host.json extensions.queues.maxPollingInterval must be at least 100 ms")
    else:
        max_poll = 2.0 if development else 60.0
    visibility = parse_timespan(raw.get("visibilityTimeout", 0), "extensions.queues.visibilityTimeout")
    if visibility < 0:
        raise HostJsonError("host.json extensions.queues.visibilityTimeout must not be negative")
    max_dequeue = _int(raw, "maxDequeueCount", 5)
    if max_dequeue < 1:
        raise HostJsonError(f"host.json extensions.queues.maxDequeueCount must be >= 1, got {max_dequeue}")
    encoding = str(raw.get("messageEncoding", "base64")).lower()
    if encoding not in ("base64", "none"):
        raise HostJsonError(f"host.json extensions.queues.messageEncoding must be base64 or none, got {encoding!r}")
    return QueueOptions(batch, threshold, max_poll, visibility, max_dequeue, encoding)


def _int(raw: dict, key: str, default: int) -> int:
    value = raw.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise HostJsonError(f"host.json extensions.queues.{key} must be an integer, got {value!r}")
    return value


def parse_host_json(data: dict, *, development: bool) -> HostConfig:
    if not isinstance(data, dict):
        raise HostJsonError("host.json must contain a JSON object")
    version = data.get("version")
    if version != "2.0":
        raise HostJsonError(f'host.json "version" must be "2.0" (Functions v2+ runtimes), got {version!r}')
    extensions = data.get("extensions") or {}
    http = extensions.get("http") or {}
    prefix = http.get("routePrefix", "api")
    if not isinstance(prefix, str):
        raise HostJsonError("host.json extensions.http.routePrefix must be a string")
    queues = parse_queue_options(extensions.get("queues") or {}, development=development)
    timeout = data.get("functionTimeout")
    return HostConfig(route_prefix=prefix.strip("/"), queues=queues,
                      function_timeout=parse_timespan(timeout, "functionTimeout") if timeout else None)


def load_host_json(path: Path, *, development: bool) -> HostConfig:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise HostJsonError(f"{path} not found: a Functions app needs host.json beside function_app.py") from None
    except json.JSONDecodeError as exc:
        raise HostJsonError(f"{path} is not valid JSON: {exc}") from None
    return parse_host_json(data, development=development)
