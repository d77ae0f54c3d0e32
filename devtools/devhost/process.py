"""Run the dev host as a subprocess (tests and the demo): start, wait for the ready line, stop.

    with DevHostProcess(app_dir=ROOT, env={"AzureWebJobsStorage": conn}) as host:
        requests.get(host.base_url + "/api/health")
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from devtools.azurite import free_port

ROOT = Path(__file__).resolve().parents[2]
READY = "devhost ready on "


class DevHostProcess:
    def __init__(self, app_dir: str | Path = ROOT, *, app: str = "function_app", port: int | None = None,
                 env: dict[str, str] | None = None, args: list[str] | None = None, log_file: Path | None = None):
        self.app_dir, self.app = Path(app_dir), app
        self.port = port or free_port()
        self.env, self.args, self.log_file = dict(env or {}), list(args or []), log_file
        self.process: subprocess.Popen | None = None
        self.lines: list[str] = []
        self._ready = threading.Event()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def command(self) -> list[str]:
        return [sys.executable, "-m", "devtools.devhost", "--port", str(self.port), "--app", self.app,
                "--app-dir", str(self.app_dir), *self.args]

    def start(self, timeout: float = 30.0) -> DevHostProcess:
        env = {**os.environ, **self.env}
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
        env["PYTHONUNBUFFERED"] = "1"
        self.process = subprocess.Popen(self.command(), cwd=self.app_dir, env=env, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, text=True, start_new_session=True)
        threading.Thread(target=self._pump, daemon=True).start()
        deadline = time.monotonic() + timeout
        while not self._ready.wait(0.1):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"devhost did not become ready:\n{self.output}")
        return self

    def _pump(self) -> None:
        sink = open(self.log_file, "a", encoding="utf-8") if self.log_file else None  # noqa: SIM115
        try:
            for line in self.process.stdout:
                self.lines.append(line)
                if sink:
                    sink.write(line)
                    sink.flush()
                if line.startswith(READY):
                    self._ready.set()
        finally:
            if sink:
                sink.close()

    def stop(self, timeout: float = 40.0) -> int | None:
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)
        return self.process.returncode

    def __enter__(self) -> DevHostProcess:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
