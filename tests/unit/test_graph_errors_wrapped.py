"""Graph's subscription service wraps Exchange's answer in ExtensionError; its message is read here only."""

import pytest

from shared.adapters.graph_errors import map_graph_error
from shared.errors import AccessDenied, Conflict, LifetimeTooLong, MailboxAccessDenied, MailboxNotFound

ROOM = "rainier@contoso.com"


def _error(status: int, message: str, mailbox: str | None = ROOM):
    return map_graph_error(status, {"error": {"code": "ExtensionError", "message": message}}, mailbox=mailbox)


def test_lifetime_refusal_carries_the_minutes():
    """docs-contrib issue 7726."""
    error = _error(400, "Subscription expiration can only be 4230 minutes in the future.", mailbox=None)
    assert isinstance(error, LifetimeTooLong) and error.max_minutes == 4230


def test_forbidden_on_create_is_the_rbac_scope_of_the_room():
    """docs-contrib issue 7625 (a room calendar)."""
    error = _error(403, "Operation: Create; Exception: [Status Code: Forbidden; Reason: Forbidden]")
    assert isinstance(error, MailboxAccessDenied) and "RBAC scope" in error.message
    assert "Test-ServicePrincipalAuthorization" in error.fix


def test_not_found_on_create_is_a_mailbox_graph_cannot_serve():
    """docs-contrib issue 5988."""
    error = _error(404, "Operation: Create; Exception: [Status Code: NotFound; Reason: REST API is not yet "
                        "supported for this mailbox.]")
    assert isinstance(error, MailboxNotFound)


@pytest.mark.parametrize(("status", "message", "kind"), [
    (403, "Operation: Create; Exception: [Status Code: Forbidden; Reason: The number of subscriptions for this "
          "mailbox has reached the limit of 1000.]", AccessDenied),
    (409, "Subscription Id 1 already exists for the requested combination", Conflict),
])
def test_other_extension_errors_keep_their_status_meaning(status, message, kind):
    error = _error(status, message)
    assert type(error) is kind
