"""Schemathesis over the OpenAPI schema: generated requests for every operation never get a 500."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error

from api.models import Foo

pytestmark = pytest.mark.django_db

APP = get_wsgi_application()
# The project's own API: the host-shape app the test session mounts under /hosts/ is tested in tests/hosts.
schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", APP).exclude(path_regex="^/hosts/")


@pytest.fixture
def _keep_connection() -> Iterator[None]:
    """Keep the test's database connection (and its transaction) across requests, as Django's test client does."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def token(_keep_connection: None, alice, bob) -> str:
    """alice's API token; she owns a Foo shared with bob."""
    Foo.objects.create(owner=alice, name="first").members.add(bob)
    return Token.objects.create(user=alice).key


@schema.parametrize()
@settings(
    max_examples=25,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_no_generated_request_is_a_server_error(case, token):
    """Whatever schemathesis sends an operation (as an authenticated user), the answer is not a 5xx."""
    response = case.call(headers={"Authorization": f"Token {token}"})
    case.validate_response(response, checks=[not_a_server_error])
