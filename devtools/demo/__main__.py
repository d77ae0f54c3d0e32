"""`make demo` (python -m devtools.demo): RoomCal from nothing to synced rooms, printed step by step.

Logs go to .run/demo/. With a terminal attached it keeps serving until Ctrl-C; otherwise it stops
when done (set DEMO_KEEP_RUNNING=1 or 0 to choose).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import time
from pathlib import Path

from devtools.azurite import free_port
from devtools.demo import analytics, live, onboarding, portal, sensors
from devtools.demo.stack import ROOT, Stack


class Steps:
    def __init__(self) -> None:
        self.n = 0

    def __call__(self, text: str) -> None:
        self.n += 1
        print(f"\n[{self.n}] {text}", flush=True)


def run(stack: Stack, *, seed: int, rooms: int) -> None:
    step = Steps()
    step("Starting Azurite (tables and queues) on 127.0.0.1")
    stack.start_storage()
    print(f"    tables :{stack.azurite.table_port}  queues :{stack.azurite.queue_port}")

    step(f"Starting the Microsoft 365 emulator and generating an office of {rooms} rooms")
    stack.start_emulator(seed)
    office = onboarding.prepare_office(stack, seed=seed, rooms=rooms)
    tid, domain = office["tenant"], office["domain"]
    print(f"    {stack.sim.base_url}  tenant {domain} ({tid}), {office['meetings']} meetings")

    step(f"Starting the dev host (function_app.py) on {stack.base}")
    log = stack.start_devhost()
    print(f"    log: {_shown(log)}")
    health = stack.api("GET", "health/details").json()
    print(f"    GET /api/health: {health['status']} (version {health['version']})")

    step("Add tenant: admin consent through Microsoft's consent page")
    onboarding.consent(stack, tid, admin=f"admin@{domain}")

    step("Exchange RBAC for Applications: the generated script, applied by the Exchange admin")
    onboarding.rbac(stack, tid, group=f"roomcal-rooms@{domain}")

    step("Register rooms: import from Graph /places, and two typed in by hand")
    onboarding.register_rooms(stack, tid, domain)

    step("Continue setup: verify every room live against Graph")
    onboarding.verify(stack, tid)
    onboarding.print_rooms(stack, tid)

    step("Synchronize room calendars")
    handed = onboarding.synchronise(stack, tid)["queued"]
    live.wait_for_initial_sync(stack, tid, handed)

    step("Live changes: a meeting booked and cancelled in Outlook reaches RoomCal through Graph notifications")
    live.book_and_cancel(stack, tid, organizer=f"admin@{domain}", rooms=handed)
    live.print_delivery(stack)

    step("Analytics: the office's last eight weeks, and the same as CSV and Excel")
    analytics.headline(stack, tid, len(handed), stack.run_dir)

    step("Occupancy sensors: each sensor mapped to its room, a week of presence posted by the sensor platform")
    week = sensors.ingest_week(stack, tid)

    step("Sensor analytics for that week: occupancy, no-shows, unused booked time, ad-hoc meet-ups")
    sensors.print_analytics(stack, tid, week)

    step("Policy simulator: what a no-show release would have done last week, before switching it on")
    sensors.print_simulation(stack, tid, week)

    step("No-show release: a meeting nobody came to, dry run first, then released as the room")
    sensors.release_one(stack, tid, organizer=f"admin@{domain}", sensors=week["sensors"])

    step("Admin page: sign in with Entra (the emulator's) and see the office")
    stack.portal_url = portal.sign_in(stack, tid, admin=f"admin@{domain}")


def _shown(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def _stop_on_sigterm(signum, frame) -> None:
    raise KeyboardInterrupt


def keep_running_default() -> bool:
    choice = os.environ.get("DEMO_KEEP_RUNNING")
    if choice is not None:
        return choice == "1"
    return sys.stdin.isatty()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="RoomCal's full local demo")
    parser.add_argument("--port", type=int, default=int(os.environ.get("DEMO_PORT", "7071")),
                        help="dev host port (0: any free port)")
    parser.add_argument("--sim-port", type=int, default=int(os.environ.get("DEMO_SIM_PORT", "8765")),
                        help="emulator port (0: any free port)")
    parser.add_argument("--rooms", type=int, default=24, help="rooms in the generated office")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--run-dir", type=Path, default=ROOT / ".run" / "demo")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _stop_on_sigterm)  # `kill` stops the demo as cleanly as Ctrl-C
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even when started in the background
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # the emulator's access log stays quiet
    args.run_dir.mkdir(parents=True, exist_ok=True)
    stack = Stack(args.run_dir, args.port or free_port(), args.sim_port)
    print("RoomCal local demo: Azurite + Microsoft 365 emulator + dev host\n" + "=" * 64)
    try:
        run(stack, seed=args.seed, rooms=args.rooms)
        print(f"\nDemo complete. Admin page: {stack.base}/api/portal")
        if keep_running_default():
            print(f"Serving on {stack.base} (emulator {stack.sim.base_url}) - press Ctrl-C to stop.")
            print(f"Admin page: {stack.base}/api/portal\n  one-click sign-in as the demo admin: {stack.portal_url}\n"
                  "  (the emulator's sign-in runs on HTTPS with its own certificate: accept it once in the browser)",
                  flush=True)
            while True:
                time.sleep(3600)
    except KeyboardInterrupt:
        print("\nStopping.")
    except Exception as exc:
        print(f"\nDemo failed: {exc}\nLogs: {_shown(args.run_dir)}", file=sys.stderr)
        return 1
    finally:
        stack.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
