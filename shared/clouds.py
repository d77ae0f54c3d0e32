"""Microsoft's clouds: which Graph host belongs with which sign-in host, and the token scope for each.

National clouds have their own Graph and Entra endpoints, and a token's audience is the Graph host it is
for (https://learn.microsoft.com/graph/deployments). RoomCal asks for ``https://<graph host>/.default``
for the host ``ROOMCAL_GRAPH_BASE_URL`` names, and refuses hosts that are not Microsoft Graph; the one
exception is a loopback host in development (the emulator, whose tokens are for graph.microsoft.com).
In production the sign-in host must belong to the same cloud.
"""

from __future__ import annotations

from urllib.parse import urlparse

# Graph host → (cloud, its sign-in hosts)
CLOUDS: dict[str, tuple[str, frozenset[str]]] = {
    "graph.microsoft.com": ("global", frozenset({"login.microsoftonline.com"})),
    "graph.microsoft.us": ("US Government L4", frozenset({"login.microsoftonline.us"})),
    "dod-graph.microsoft.us": ("US Government L5 (DOD)", frozenset({"login.microsoftonline.us"})),
    "microsoftgraph.chinacloudapi.cn": ("China (21Vianet)",
                                        frozenset({"login.chinacloudapi.cn", "login.partner.microsoftonline.cn"})),
}
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
_EMULATED_SCOPE = "https://graph.microsoft.com/.default"


def _host(url: str) -> str:
    return (urlparse(url).hostname or "").lower()


def graph_scope(graph_base_url: str) -> str:
    """The client-credentials scope for tokens this Graph base URL accepts."""
    host = _host(graph_base_url)
    return f"https://{host}/.default" if host in CLOUDS else _EMULATED_SCOPE


def cloud_problems(graph_base_url: str, login_base_url: str, *, development: bool) -> list[str]:
    """What is wrong with this pair of base URLs (empty when they fit together)."""
    graph, login = _host(graph_base_url), _host(login_base_url)
    if development and graph in LOOPBACK:
        return []
    if graph not in CLOUDS:
        known = ", ".join(CLOUDS)
        return [f"ROOMCAL_GRAPH_BASE_URL host {graph or '(none)'} is not Microsoft Graph (known: {known}; a "
                "loopback emulator host only with ROOMCAL_ENVIRONMENT=development)"]
    cloud, logins = CLOUDS[graph]
    if login not in logins and not development:
        return [f"ROOMCAL_LOGIN_BASE_URL host {login or '(none)'} does not belong to the {cloud} cloud of "
                f"{graph}: use https://{sorted(logins)[0]}"]
    return []
