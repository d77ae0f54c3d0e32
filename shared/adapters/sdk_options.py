"""Options every Azure Storage SDK client is made with.

``use_env_settings=False``: azure-core's ``requests`` transport otherwise trusts the environment on every call,
scanning ``os.environ`` for proxies, a netrc file and CA bundles (``requests``' merge_environment_settings). Under
a burst that scan was about a tenth of the worker's CPU (docs/performance.md), and a machine-wide
REQUESTS_CA_BUNDLE would silently replace the trust store. RoomCal's Graph session already ignores the
environment (http_session.py) for the same reasons; storage now does too.
"""

STORAGE_CLIENT_OPTIONS = {"use_env_settings": False}
