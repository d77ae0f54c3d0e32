"""Start and stop Azurite (the Azure Storage emulator from npm) on 127.0.0.1.

    python -m devtools.azurite [--blob-port 10000 --queue-port 10001 --table-port 10002] [--location DIR]

runs it in the foreground until Ctrl-C. Tests and the demo use ``Azurite`` directly.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ACCOUNT = "devstoreaccount1"
# Azurite's well-known development key: public, documented, and only valid against the emulator.
ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def connection_string(blob_port: int, queue_port: int, table_port: int, host: str = "127.0.0.1") -> str:
    return (
        f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={ACCOUNT_KEY};"
        f"BlobEndpoint=http://{host}:{blob_port}/{ACCOUNT};"
        f"QueueEndpoint=http://{host}:{queue_port}/{ACCOUNT};"
        f"TableEndpoint=http://{host}:{table_port}/{ACCOUNT};"
    )


def azurite_binary() -> str:
    local = ROOT / "node_modules" / ".bin" / "azurite"
    if local.exists():
        return str(local)
    found = shutil.which("azurite")
    if not found:
        raise RuntimeError("azurite is not installed: run `make setup` (it runs `npm ci`)")
    return found


@dataclass
class Azurite:
    blob_port: int = field(default_factory=free_port)
    queue_port: int = field(default_factory=free_port)
    table_port: int = field(default_factory=free_port)
    location: Path | None = None  # None: in memory
    log_file: Path | None = None
    process: subprocess.Popen | None = None

    @property
    def connection_string(self) -> str:
        return connection_string(self.blob_port, self.queue_port, self.table_port)

    def command(self) -> list[str]:
        cmd = [
            azurite_binary(), "--skipApiVersionCheck", "--disableTelemetry", "--loose",
            "--blobHost", "127.0.0.1", "--queueHost", "127.0.0.1", "--tableHost", "127.0.0.1",
            "--blobPort", str(self.blob_port), "--queuePort", str(self.queue_port),
            "--tablePort", str(self.table_port),
        ]
        if self.location is None:
            cmd.append("--inMemoryPersistence")  # cannot be combined with --location
        else:
            cmd += ["--location", str(self.location)]
        return cmd

    def start(self, timeout: float = 30.0) -> Azurite:
        if self.location is not None:
            self.location.mkdir(parents=True, exist_ok=True)
        if self.log_file is not None:
            self.log_file.parent.mkdir(parents=True, exist_ok=True)
        out = open(self.log_file, "ab") if self.log_file else subprocess.DEVNULL  # noqa: SIM115
        self.process = subprocess.Popen(self.command(), stdout=out, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        ports = [self.blob_port, self.queue_port, self.table_port]
        while time.monotonic() < deadline:
            if self.process and self.process.poll() is not None:
                raise RuntimeError(f"azurite exited with code {self.process.returncode} "
                                   f"(ports {ports} in use? see {self.log_file or 'its output'})")
            if all(_listening(p) for p in ports):
                return
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"azurite did not answer on ports {ports} within {timeout:.0f}s")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)
        self.process = None

    def __enter__(self) -> Azurite:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--blob-port", type=int, default=10000)
    parser.add_argument("--queue-port", type=int, default=10001)
    parser.add_argument("--table-port", type=int, default=10002)
    parser.add_argument("--location", type=Path, default=None, help="data folder (default: in memory)")
    args = parser.parse_args(argv)
    azurite = Azurite(args.blob_port, args.queue_port, args.table_port, args.location)
    azurite.start()
    print(f"azurite ready; AzureWebJobsStorage={azurite.connection_string}", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        azurite.process.wait()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        azurite.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
