"""Fixtures for end-to-end tests: real daphne processes and API tokens."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from rest_framework.authtoken.models import Token

from tests.servers import DaphneServer


@pytest.fixture
def daphne(transactional_db: None, tmp_path: Path) -> Iterator[Callable[..., DaphneServer]]:
    """Start daphne processes on the test database; all are stopped at teardown."""
    servers: list[DaphneServer] = []

    def start(**kwargs) -> DaphneServer:
        server = DaphneServer(log_dir=tmp_path, **kwargs).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def token_for(transactional_db: None) -> Callable:
    def token(user) -> str:
        return Token.objects.get_or_create(user=user)[0].key

    return token
