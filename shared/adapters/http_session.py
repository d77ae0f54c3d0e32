"""The one ``requests.Session`` RoomCal uses for Graph and Entra (MSAL gets it as http_client).

* connection pooling: an HTTPAdapter with ``ROOMCAL_HTTP_POOL_SIZE`` connections per host;
* ``trust_env = False``: this machine (and some Azure images) set REQUESTS_CA_BUNDLE /
  CURL_CA_BUNDLE / proxies globally, which would silently override ``session.verify``;
* ``verify``: ``ROOMCAL_CA_BUNDLE`` (the emulator's CA) or the system's trust store;
* every request gets ``ROOMCAL_HTTP_TIMEOUT_SECONDS`` unless the caller passes its own.

Retries are not done here (``max_retries=0``): GraphClient owns retry policy, MSAL owns its own.
"""

from __future__ import annotations

import requests
from requests.adapters import HTTPAdapter

from shared import __version__
from shared.config import Settings

USER_AGENT = f"RoomCal/{__version__}"


class TimeoutSession(requests.Session):
    """A Session whose requests default to a timeout (requests has none by default)."""

    def __init__(self, timeout: float) -> None:
        super().__init__()
        self.default_timeout = timeout

    def request(self, method, url, *args, **kwargs):
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.default_timeout
        return super().request(method, url, *args, **kwargs)


def build_session(settings: Settings) -> requests.Session:
    session = TimeoutSession(settings.http_timeout_seconds)
    session.trust_env = False
    session.verify = settings.ca_bundle or True
    session.headers["User-Agent"] = USER_AGENT
    adapter = HTTPAdapter(pool_connections=settings.http_pool_size, pool_maxsize=settings.http_pool_size,
                          max_retries=0)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session
