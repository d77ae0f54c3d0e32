"""The local stack the demo runs: Azurite, the Microsoft 365 emulator and the dev host."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import requests

from devtools.azurite import Azurite
from devtools.devhost import DevHostProcess
from devtools.m365sim import ControlClient, Emulator
from devtools.m365sim.world import DEFAULT_CLIENT_ID, DEFAULT_SECRET

ROOT = Path(__file__).resolve().parents[2]
FUNCTION_KEY = "demo-function-key"
MASTER_KEY = "demo-master-key"


@dataclass
class Stack:
    run_dir: Path
    port: int
    sim_port: int
    azurite: Azurite | None = None
    sim: Emulator | None = None
    devhost: DevHostProcess | None = None
    _stopping: list = field(default_factory=list)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def control(self) -> ControlClient:
        return ControlClient(self.sim.base_url, self.sim.ca_path)

    def start_storage(self) -> None:
        self.azurite = Azurite(log_file=self.run_dir / "azurite.log").start()

    def start_emulator(self, seed: int) -> None:
        self.sim = Emulator(port=self.sim_port, seed=seed, state_dir=self.run_dir / "m365sim",
                            default_tenant=False).start()
        # The app's consent and sign-in callbacks live on whichever port the demo serves.
        self.control.app(redirect_uris=[f"{self.base}/api/consent/callback", f"{self.base}/api/auth/callback"])

    def start_devhost(self) -> Path:
        log = self.run_dir / "devhost.log"
        log.unlink(missing_ok=True)
        env = {
            "AzureWebJobsStorage": self.azurite.connection_string,
            "ROOMCAL_ENVIRONMENT": "development",
            "ROOMCAL_GRAPH_BASE_URL": f"{self.sim.base_url}/v1.0",
            "ROOMCAL_LOGIN_BASE_URL": self.sim.base_url,
            "ROOMCAL_CA_BUNDLE": str(self.sim.ca_path),
            "ROOMCAL_CLIENT_ID": DEFAULT_CLIENT_ID,
            "ROOMCAL_CLIENT_SECRET": DEFAULT_SECRET,
            "ROOMCAL_PUBLIC_BASE_URL": self.base,
            "DEVHOST_FUNCTION_KEY": FUNCTION_KEY,
            "DEVHOST_MASTER_KEY": MASTER_KEY,
        }
        self.devhost = DevHostProcess(ROOT, port=self.port, env=env, log_file=log).start(timeout=60)
        return log

    def api(self, method: str, path: str, **kwargs) -> requests.Response:
        headers = {"x-functions-key": FUNCTION_KEY, **kwargs.pop("headers", {})}
        return requests.request(method, f"{self.base}/api/{path}", headers=headers, timeout=60, **kwargs)

    def stop(self) -> None:
        if self.devhost:
            self.devhost.stop()
        if self.sim:
            self.sim.stop()
        if self.azurite:
            self.azurite.stop()
