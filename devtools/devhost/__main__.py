"""python -m devtools.devhost --port 7071 [--app function_app] [--settings local.settings.json]
[--host-json host.json] [--app-dir .] [--state-dir .run/devhost] [--grace 30] [--log-file FILE]"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import tracemalloc
from pathlib import Path

from devtools.devhost import logs
from devtools.devhost.host import DevHost, DevHostError


def parse_args(argv: list[str] | None):
    p = argparse.ArgumentParser(prog="python -m devtools.devhost", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--port", type=int, default=None, help="HTTP port (default: Host.LocalHttpPort or 7071)")
    p.add_argument("--app", default="function_app", help="module name or .py file (default: function_app)")
    p.add_argument("--app-dir", type=Path, default=None, help="folder holding the app (default: cwd)")
    p.add_argument("--settings", type=Path, default=None,
                   help="settings file (default: local.settings.json, else local.settings.sample.json)")
    p.add_argument("--host-json", type=Path, default=None, help="host.json (default: the app folder's)")
    p.add_argument("--state-dir", type=Path, default=None, help="timer status folder (default: .run/devhost)")
    p.add_argument("--grace", type=float, default=30.0, help="seconds in-flight work may finish at shutdown")
    p.add_argument("--log-file", type=Path, default=None, help="also write logs here")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    handlers = logs.install(args.log_file)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    _snapshots_on_sigusr1()
    host = DevHost(args.app, args.app_dir, settings_path=args.settings, host_json=args.host_json, port=args.port,
                   state_dir=args.state_dir, grace_seconds=args.grace)
    try:
        host.start()
    except DevHostError as exc:
        print(f"devhost: cannot start: {exc}", file=sys.stderr, flush=True)
        return 1
    try:
        while not stop.wait(0.5):
            pass
    finally:
        host.stop()
        logs.uninstall(handlers)
    return 0


def _snapshots_on_sigusr1() -> None:
    """With PYTHONTRACEMALLOC set (a memory investigation), SIGUSR1 writes a tracemalloc snapshot to
    DEVHOST_SNAPSHOT_DIR (default: the working folder) as snapshot-<n>.tracemalloc, for
    ``tracemalloc.Snapshot.load`` and ``compare_to``. The real host has nothing like it; it costs
    nothing when tracing is off."""
    if not tracemalloc.is_tracing():
        return
    folder, taken = Path(os.environ.get("DEVHOST_SNAPSHOT_DIR", ".")), [0]

    def dump(*_) -> None:
        taken[0] += 1
        tracemalloc.take_snapshot().dump(str(folder / f"snapshot-{taken[0]}.tracemalloc"))

    signal.signal(signal.SIGUSR1, dump)


if __name__ == "__main__":
    raise SystemExit(main())
