"""``NoStoreMiddleware``: authenticated responses carry ``Cache-Control: no-store``; others are left alone."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import HttpResponse
from django.test import RequestFactory
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from realtime.middleware import NoStoreMiddleware

pytestmark = pytest.mark.django_db


def test_token_authenticated_get_is_not_stored(alice):
    """A GET authenticated by a DRF token (authenticated inside the view, not by Django) gets no-store."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=alice).key}")
    response = client.get("/api/me")
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]


def test_session_authenticated_get_is_not_stored(alice):
    """A GET authenticated by the session cookie gets no-store too."""
    client = APIClient()
    client.force_login(alice)
    response = client.get("/api/foo/")
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]


def test_anonymous_responses_are_left_alone(api_client):
    """Responses to anonymous requests get no Cache-Control from the middleware."""
    response = api_client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    assert not response.has_header("Cache-Control")


@pytest.mark.parametrize("user", ["alice", None])
def test_a_views_own_cache_control_is_kept(alice, user):
    """A response that set Cache-Control itself keeps it, authenticated or not."""
    request = RequestFactory().get("/")
    request.user = alice if user else AnonymousUser()
    middleware = NoStoreMiddleware(lambda request: HttpResponse(headers={"Cache-Control": "max-age=60"}))
    assert middleware(request)["Cache-Control"] == "max-age=60"
