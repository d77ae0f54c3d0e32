"""The local stack the demo runs: Azurite, the Microsoft 365 emulator and the dev host."""

from __future__ import annotations

import json
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
# Graph's keys, as named function keys in the host's own key store (the files a container host reads)
WEBHOOK_KEYS = {"graph_notifications": ("graph-1", "demo-notifications-key"),
                "graph_lifecycle": ("graph-1", "demo-lifecycle-key")}


def write_function_keys(folder: Path, function: str, keys: dict[str, str]) -> None:
    """``{folder}/{function}.json`` in the host's FileSystemSecretsRepository shape: named keys, all valid."""
    folder.mkdir(parents=True, exist_ok=True)
    entries = [{"name": name, "value": value, "encrypted": False} for name, value in keys.items()]
    (folder / f"{function}.json").write_text(json.dumps({"keys": entries}, indent=2))


@dataclass
class Stack:
    run_dir: Path
    port: int
    sim_port: int
    azurite: Azurite | None = None
    sim: Emulator | None = None
    devhost: DevHostProcess | None = None
    devhost_env: dict[str, str] = field(default_factory=dict)
    previous_output: list[str] = field(default_factory=list)
    portal_url: str = ""

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def control(self) -> ControlClient:
        return ControlClient(self.sim.base_url, self.sim.ca_path)

    def start_storage(self, location: Path | None = None) -> None:
        """Azurite in memory, or with its data in ``location`` (survives a restart on the same ports)."""
        self.azurite = Azurite(log_file=self.run_dir / "azurite.log", location=location).start()

    def start_emulator(self, seed: int) -> None:
        self.sim = Emulator(port=self.sim_port, seed=seed, state_dir=self.run_dir / "m365sim",
                            default_tenant=False).start()
        # The app's consent and sign-in callbacks live on whichever port the demo serves.
        self.control.app(redirect_uris=[f"{self.base}/api/consent/callback", f"{self.base}/api/auth/callback"])

    def start_devhost(self, extra_env: dict[str, str] | None = None) -> Path:
        """Start the dev host (``extra_env`` overrides settings); a fresh log in run_dir/devhost.log."""
        log = self.run_dir / "devhost.log"
        log.unlink(missing_ok=True)
        secrets = self.run_dir / "devhost-secrets"
        for function, (name, value) in WEBHOOK_KEYS.items():
            write_function_keys(secrets, function, {name: value})
        self.devhost_env = {
            "AzureWebJobsStorage": self.azurite.connection_string,
            "ROOMCAL_ENVIRONMENT": "development",
            "ROOMCAL_GRAPH_BASE_URL": f"{self.sim.base_url}/v1.0",
            "ROOMCAL_LOGIN_BASE_URL": self.sim.base_url,
            "ROOMCAL_CA_BUNDLE": str(self.sim.ca_path),
            "ROOMCAL_CLIENT_ID": DEFAULT_CLIENT_ID,
            "ROOMCAL_CLIENT_SECRET": DEFAULT_SECRET,
            "ROOMCAL_PUBLIC_BASE_URL": self.base,
            "ROOMCAL_SESSION_SECRET": "demo-only-session-secret-not-for-production",
            "DEVHOST_FUNCTION_KEY": FUNCTION_KEY,
            "DEVHOST_MASTER_KEY": MASTER_KEY,
            "AzureWebJobsSecretStorageType": "files",
            "FUNCTIONS_SECRETS_PATH": str(secrets),
            "ROOMCAL_NOTIFICATIONS_KEY": WEBHOOK_KEYS["graph_notifications"][1],
            "ROOMCAL_LIFECYCLE_KEY": WEBHOOK_KEYS["graph_lifecycle"][1],
            **(extra_env or {}),
        }
        self._launch_devhost(log)
        return log

    def restart_devhost(self) -> None:
        """Stop the dev host gracefully (SIGTERM) and start a new one on the same port, storage and settings;
        the old process's output is kept in ``previous_output`` and the log is appended to."""
        exit_code = self.devhost.stop()
        if exit_code != 0:
            raise RuntimeError(f"the dev host exited with {exit_code} on SIGTERM:\n{self.devhost.output[-4000:]}")
        self.previous_output.append(self.devhost.output)
        self._launch_devhost(self.run_dir / "devhost.log")

    def _launch_devhost(self, log: Path) -> None:
        args = ["--state-dir", str(self.run_dir / "devhost-state")]
        self.devhost = DevHostProcess(ROOT, port=self.port, env=self.devhost_env, args=args,
                                      log_file=log).start(timeout=60)

    def admin(self, function: str, body: dict | None = None) -> requests.Response:
        """Run a non-HTTP function now through the host's admin API (``POST /admin/functions/{name}``)."""
        return requests.post(f"{self.base}/admin/functions/{function}", json=body or {"input": ""},
                             headers={"x-functions-key": MASTER_KEY}, timeout=60)

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
