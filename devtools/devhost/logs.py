"""Function logs to stdout (and optionally a file), each line prefixed with time and the
name of the function whose invocation wrote it (``host`` outside invocations).

A function thread only puts the record on an in-memory queue; one listener thread writes the
lines. So an invocation never waits for the stdout pipe or another thread's write (under a
burst of webhook calls that lock was a measurable part of the answer time). The real host is
no slower here: the Python worker ships logs to the host asynchronously over gRPC."""

from __future__ import annotations

import contextvars
import logging
import logging.handlers
import queue
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
    for handler in handlers:
        handler.setFormatter(formatter)
    front = _QueueFront(queue.SimpleQueue())
    front.addFilter(FunctionNameFilter())  # in the calling thread: the context variable lives there
    front.listener = logging.handlers.QueueListener(front.queue, *handlers)
    front.listener.start()
    root = logging.getLogger()
    root.addHandler(front)
    root.setLevel(level)
    for noisy in ("azure", "urllib3", "werkzeug"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return [front]


class _QueueFront(logging.handlers.QueueHandler):
    listener: logging.handlers.QueueListener | None = None

    def close(self) -> None:
        if self.listener is not None:
            self.listener.stop()  # writes what is still queued
            for handler in self.listener.handlers:
                handler.close()
            self.listener = None
        super().close()


def uninstall(handlers: list[logging.Handler]) -> None:
    for handler in handlers:
        logging.getLogger().removeHandler(handler)
        handler.close()
