"""The repository's own function_app.py under the dev host, as a subprocess (as the demo runs it)."""

from __future__ import annotations

import pytest
import requests

from devtools.devhost import DevHostProcess
from tests.integration.devhost_helpers import wait_for

pytestmark = pytest.mark.integration
FUNCTION_KEY = "real-app-function-key"


def test_health_and_selftest_round_trip(azurite, tmp_path):
    env = {"AzureWebJobsStorage": azurite.connection_string, "DEVHOST_FUNCTION_KEY": FUNCTION_KEY,
           "DEVHOST_MASTER_KEY": "real-app-master-key"}
    with DevHostProcess(env=env, args=["--state-dir", str(tmp_path / "state")], log_file=tmp_path / "devhost.log") \
            as host:
        health = requests.get(f"{host.base_url}/api/health", timeout=30)
        assert health.status_code == 200, health.text
        assert health.json()["status"] == "healthy"
        headers = {"x-functions-key": FUNCTION_KEY}
        assert requests.post(f"{host.base_url}/api/selftest", timeout=30).status_code == 401
        started = requests.post(f"{host.base_url}/api/selftest", headers=headers, timeout=30)
        assert started.status_code == 202, started.text
        probe = started.json()["id"]
        result = wait_for(lambda: (r := requests.get(f"{host.base_url}/api/selftest/{probe}", headers=headers,
                                                      timeout=30).json())["status"] == "done" and r)
        assert result["dequeue_count"] == 1
    assert host.process.returncode == 0
    assert "devhost stopped:" in host.output and "[selftest_receive]" in host.output
