"""Shared fixtures. Integration fixtures start real processes on free loopback ports."""

from __future__ import annotations

import pytest

from devtools.azurite import Azurite


@pytest.fixture(scope="session")
def azurite(tmp_path_factory):
    """A private Azurite (in memory, free ports) for the whole test session."""
    log = tmp_path_factory.mktemp("azurite") / "azurite.log"
    with Azurite(log_file=log) as instance:
        yield instance


@pytest.fixture
def storage_connection(azurite) -> str:
    return azurite.connection_string
