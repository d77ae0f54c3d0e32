"""m365sim: a local emulator of the Entra ID and Microsoft Graph endpoints RoomCal uses.

    python -m devtools.m365sim --port 8765 --seed 1 [--state-dir .run/m365sim] [--generate-rooms N]

In tests: ``with Emulator(port=0, seed=1) as sim: sim.base_url, sim.ca_path``. See README.md here.
"""

from .canary import CANARY_PATTERN, CANARY_PREFIX, planted_values
from .changelog import ChangeLog, ChangeRecord
from .client import ControlClient, trusted_session
from .server import Emulator

__all__ = [
    "CANARY_PATTERN",
    "CANARY_PREFIX",
    "ChangeLog",
    "ChangeRecord",
    "ControlClient",
    "Emulator",
    "planted_values",
    "trusted_session",
]
