"""CLI: ``python -m devtools.m365sim --port 8765 --seed 1 [--state-dir .run/m365sim] [--generate-rooms N]``."""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import signal
import sys
import threading

from .server import Emulator


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m devtools.m365sim", description=__doc__)
    ap.add_argument("--port", type=int, default=8765, help="HTTPS port on 127.0.0.1 (0 = any free port)")
    ap.add_argument("--seed", type=int, default=1, help="seed for ids and the generator")
    ap.add_argument("--state-dir", default=".run/m365sim", help="where ca.pem is written")
    ap.add_argument(
        "--generate-rooms", type=int, default=0, help="generate an office with N rooms and a year of bookings"
    )
    ap.add_argument("--client-id", help="the app registration's client id")
    ap.add_argument("--client-secret", action="append", help="a client secret (repeatable)")
    ap.add_argument("--redirect-uri", action="append", help="a registered redirect URI (repeatable)")
    ap.add_argument("--certificate", help="PEM file of the app's certificate, for client assertions")
    ap.add_argument("--token-lifetime", type=int, help="access-token lifetime in seconds (default 3600)")
    ap.add_argument("--latency-ms", type=int, help="added latency per Graph mailbox request")
    ap.add_argument(
        "--notify-time-scale",
        type=float,
        help="emulated seconds per real second for notification backoff, slow/drop windows and delays (default 1)",
    )
    ap.add_argument("--notify-batch-window-ms", type=int, help="collect notifications per URL this long (default 200)")
    ap.add_argument(
        "--notify-no-verify-tls", action="store_true", help="do not verify https notification endpoints' certificates"
    )
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING)
    sim = Emulator(port=args.port, seed=args.seed, state_dir=args.state_dir, generate_rooms=args.generate_rooms)
    app = sim.world.app
    if args.client_id:
        app.client_id = args.client_id
    if args.client_secret:
        app.secrets = list(args.client_secret)
    if args.redirect_uri:
        app.redirect_uris = list(args.redirect_uri)
    if args.certificate:
        with open(args.certificate) as fh:
            app.certificate_pems = [fh.read()]
    if args.token_lifetime:
        sim.world.settings.token_lifetime_s = args.token_lifetime
    if args.latency_ms:
        sim.world.settings.latency_ms = args.latency_ms
    if args.notify_time_scale:
        sim.world.settings.notify_time_scale = args.notify_time_scale
    if args.notify_batch_window_ms is not None:
        sim.world.settings.notify_batch_window_ms = args.notify_batch_window_ms
    if args.notify_no_verify_tls:
        sim.world.settings.notify_verify_tls = False
    sim.start()
    tenants = [{"id": t.id, "domain": t.domain, "rooms": len(t.places)} for t in sim.world.tenants.values()]
    print(
        json.dumps({"base_url": sim.base_url, "ca_path": sim.ca_path, "client_id": app.client_id, "tenants": tenants}),
        flush=True,
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with contextlib.suppress(KeyboardInterrupt):
        stop.wait()
    sim.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
