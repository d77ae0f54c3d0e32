"""Function logs to stdout (and optionally a file), each line prefixed with time and the
name of the function whose invocation wrote it (``host`` outside invocations)."""

from __future__ import annotations

import contextvars
import logging
import sys
from pathlib import Path

current_function: contextvars.ContextVar[str] = contextvars.ContextVar("devhost_function", default="host")
FORMAT = "%(asctime)s [%(function)s] %(levelname)s %(name)s: %(message)s"
log = logging.getLogger("devhost")


class FunctionNameFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "function"):
            record.function = current_function.get()
        return True


def install(log_file: Path | None = None, level: int = logging.INFO) -> list[logging.Handler]:
    """Route every logger to stdout (and ``log_file``); returns the handlers for removal."""
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stdout)]
    if log_file:
        Path(log_file).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(log_file, encoding="utf-8"))
    formatter = logging.Formatter(FORMAT)
    formatter.converter = __import__("time").gmtime
    root = logging.getLogger()
    for handler in handlers:
        handler.setFormatter(formatter)
        handler.addFilter(FunctionNameFilter())
        root.addHandler(handler)
    root.setLevel(level)
    for noisy in ("azure", "urllib3", "werkzeug"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return handlers


def uninstall(handlers: list[logging.Handler]) -> None:
    for handler in handlers:
        logging.getLogger().removeHandler(handler)
        handler.close()
