"""Where the webhook's time goes: py-spy samples the dev host while the single-item burst runs.

``python -m benchmarks.profile_webhook [--setup "webhook only"|co-located] [--seconds 4]`` starts Azurite
and the dev host as ``notification_ack`` does, warms it, attaches ``py-spy record`` (PyPI; a sampling
profiler that reads the process from outside, ``--nonblocking`` so the target is never paused) for the
burst, and prints a flame summary: the share of samples under each frame (inclusive) and at each leaf
(self). ``--gil`` keeps only samples of the thread holding the GIL: one Python process runs one thread at
a time, so that is where its time goes. The raw collapsed stacks are written next to the summary
(.run/profile/<setup>.txt, not committed) for a flame-graph tool.
py-spy must be allowed to read the process (root, or ptrace_scope 0).
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from benchmarks import notification_ack as ack
from devtools.azurite import Azurite, free_port
from devtools.devhost import DevHostProcess

RAW = Path(__file__).resolve().parents[1] / ".run" / "profile"  # raw stacks: large, not committed


def main(argv: list[str] | None = None) -> dict:
    args = _parse(argv)
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    burst = ack.Burst("single", posts=int(500 * args.seconds), posts_per_s=500.0, items_per_post=1)
    with tempfile.TemporaryDirectory() as tmp, Azurite(log_file=Path(tmp) / "azurite.log") as azurite:
        subs = ack.subscriptions(azurite.connection_string, rooms=ack.ROOMS)
        port = free_port()
        env = {**ack.host_env(azurite.connection_string, port, tmp), **ack.SETUPS[args.setup]}
        with DevHostProcess(port=port, env=env, args=["--state-dir", str(Path(tmp) / "state")]) as host:
            asyncio.run(ack.fire(port, subs, ack.Burst("warm-up", 200, 100.0, 1), 4))
            raw = Path(tmp) / "stacks.txt"
            recorder = subprocess.Popen([spy, "record", "--pid", str(host.process.pid), "--rate", "250",
                                         "--nonblocking", "--gil", "--format", "raw",
                                         "--duration", str(int(args.seconds) + 1), "--output", str(raw)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            time.sleep(0.5)  # py-spy attaches
            result = asyncio.run(ack.fire(port, subs, burst, 16))
            _, err = recorder.communicate(timeout=60)
            if not raw.exists():
                raise SystemExit(f"py-spy recorded nothing: {err.strip()}")
            stacks = raw.read_text()
    name = args.setup.replace(" ", "-")
    RAW.mkdir(parents=True, exist_ok=True)
    (RAW / f"{name}.txt").write_text(stacks)
    summary = summarise(stacks)
    print(f"burst: {result['notifications_per_s']}/s achieved, p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms")
    print(render(summary))
    return {"burst": result, **summary}


def _parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks.profile_webhook", description=__doc__.splitlines()[0])
    p.add_argument("--setup", choices=sorted(ack.SETUPS), default="webhook only")
    p.add_argument("--seconds", type=float, default=4.0, help="length of the 500/s burst (bounded: at most 20)")
    args = p.parse_args(argv)
    args.seconds = min(max(args.seconds, 1.0), 20.0)
    return args


def _frame_name(frame: str) -> str:
    # py-spy raw frames look like "function (path/to/file.py:123)"; keep function and file, drop the line
    fn, _, where = frame.partition(" (")
    path = where.rsplit(":", 1)[0]
    for marker in ("site-packages/", "lib/python3.11/", "doorbell/", "/work/main/"):
        if marker in path:
            path = path.split(marker, 1)[1]
    return f"{fn} ({path})"


def summarise(stacks: str, top: int = 25) -> dict:
    """Inclusive and self shares of samples from py-spy's raw collapsed stacks."""
    inclusive: Counter = Counter()
    leaves: Counter = Counter()
    busy = total = 0
    for line in stacks.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = [_frame_name(f) for f in stack.split(";") if "(" in f]
        if not frames:
            continue
        busy += n
        leaves[frames[-1]] += n
        for frame in set(frames):
            inclusive[frame] += n
    share = lambda c: [(f, round(100 * n / max(busy, 1), 1)) for f, n in c.most_common(top)]  # noqa: E731
    return {"samples": total, "busy_samples": busy, "inclusive": share(inclusive), "self": share(leaves)}


def render(summary: dict) -> str:
    lines = [f"{summary['busy_samples']} busy of {summary['samples']} samples (GIL holder)", "",
             "| inclusive % | frame |", "|---|---|"]
    lines += [f"| {pct} | `{frame}` |" for frame, pct in summary["inclusive"]]
    lines += ["", "| self % | leaf frame |", "|---|---|"]
    lines += [f"| {pct} | `{frame}` |" for frame, pct in summary["self"]]
    return "\n".join(lines)


if __name__ == "__main__":
    main(sys.argv[1:])
