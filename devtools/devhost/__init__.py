"""A local stand-in for the Azure Functions host: ``python -m devtools.devhost``.

Hosts ``function_app.py`` with the real host's semantics (HTTP routes and keys, queue
polling and poison handling, NCRONTAB timers). In Azure the real host replaces it.
"""

from devtools.devhost.host import DevHost, DevHostError
from devtools.devhost.process import DevHostProcess

__all__ = ["DevHost", "DevHostError", "DevHostProcess"]
