"""The full local demo: `make demo`.

Starts Azurite and the dev host (and, as the product grows, the Microsoft 365 emulator),
then walks through RoomCal as a user would, printing each step. Logs go to .run/demo/.
With a terminal attached it keeps serving until Ctrl-C; otherwise it stops when done
(set DEMO_KEEP_RUNNING=1 or 0 to choose).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import requests

from devtools.azurite import Azurite, free_port
from devtools.devhost import DevHostProcess

ROOT = Path(__file__).resolve().parent.parent

RUN_DIR = ROOT / ".run" / "demo"
FUNCTION_KEY = "demo-function-key"
MASTER_KEY = "demo-master-key"


class Demo:
    def __init__(self, port: int, run_dir: Path) -> None:
        self.port = port
        self.run_dir = run_dir
        self.base = f"http://127.0.0.1:{port}"
        self.devhost: DevHostProcess | None = None
        self.azurite: Azurite | None = None
        self.step_no = 0

    def step(self, text: str) -> None:
        self.step_no += 1
        print(f"\n[{self.step_no}] {text}", flush=True)

    def start_storage(self) -> None:
        self.step("Starting Azurite (tables and queues) on 127.0.0.1")
        self.azurite = Azurite(log_file=self.run_dir / "azurite.log").start()
        print(f"    tables :{self.azurite.table_port}  queues :{self.azurite.queue_port}")

    def start_devhost(self) -> None:
        self.step(f"Starting the dev host (function_app.py) on {self.base}")
        env = {
            "AzureWebJobsStorage": self.azurite.connection_string,
            "ROOMCAL_PUBLIC_BASE_URL": self.base,
            "DEVHOST_FUNCTION_KEY": FUNCTION_KEY,
            "DEVHOST_MASTER_KEY": MASTER_KEY,
        }
        log = self.run_dir / "devhost.log"
        log.unlink(missing_ok=True)
        self.devhost = DevHostProcess(ROOT, port=self.port, env=env, log_file=log).start(timeout=60)
        print(f"    log: {_shown(log)}")

    def check_health(self) -> None:
        self.step("GET /api/health")
        resp = requests.get(f"{self.base}/api/health", timeout=10)
        body = resp.json()
        print(f"    {resp.status_code} {body['status']} (version {body['version']})")
        for part, check in body["checks"].items():
            print(f"    - {part:9} {'ok' if check['ok'] else 'FAILED: ' + check.get('error', '')}")

    def selftest(self) -> dict:
        self.step("Self test: HTTP -> queue 'selftest' -> queue trigger -> table 'SelfTest'")
        headers = {"x-functions-key": FUNCTION_KEY}
        started = requests.post(f"{self.base}/api/selftest", headers=headers, timeout=10)
        started.raise_for_status()
        probe = started.json()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            result = requests.get(f"{self.base}/api/selftest/{probe['id']}", headers=headers, timeout=10).json()
            if result["status"] == "done":
                print(f"    probe {probe['id'][:8]}… stored after {result['latency_ms']} ms "
                      f"(dequeue count {result['dequeue_count']})")
                return result
            time.sleep(0.2)
        raise RuntimeError("the self-test message was not processed within 30 s; see .run/demo/devhost.log")

    def stop(self) -> None:
        if self.devhost:
            self.devhost.stop()
        if self.azurite:
            self.azurite.stop()


def _shown(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def keep_running_default() -> bool:
    choice = os.environ.get("DEMO_KEEP_RUNNING")
    if choice is not None:
        return choice == "1"
    return sys.stdin.isatty()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="RoomCal's full local demo")
    parser.add_argument("--port", type=int, default=int(os.environ.get("DEMO_PORT", "7071")))
    parser.add_argument("--run-dir", type=Path, default=RUN_DIR)
    args = parser.parse_args(argv)
    port = args.port or free_port()
    demo = Demo(port, args.run_dir)
    print("RoomCal local demo: Azurite + dev host" + "\n" + "=" * 60)
    try:
        demo.start_storage()
        demo.start_devhost()
        demo.check_health()
        demo.selftest()
        print("\nDemo complete.")
        if keep_running_default():
            print(f"Serving on {demo.base} - press Ctrl-C to stop.", flush=True)
            while True:
                time.sleep(3600)
    except KeyboardInterrupt:
        print("\nStopping.")
    except Exception as exc:
        print(f"\nDemo failed: {exc}", file=sys.stderr)
        return 1
    finally:
        demo.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
