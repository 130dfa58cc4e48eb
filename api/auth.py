"""Session login for the single-page app: JSON endpoints over Django's own auth and CSRF.

``GET /api/auth/csrf`` sets the ``csrftoken`` cookie; ``POST /api/auth/login``
(with ``X-CSRFToken``) checks the credentials with ``authenticate()`` and
starts a session with ``login()``; ``POST /api/auth/logout`` ends it. The
WebSocket then authenticates with the same session cookie.

Login attempts are throttled per client address (``LoginRateThrottle``, the
``login`` rate of ``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]``, from
``LOGIN_RATE``): beyond it, 429 with ``Retry-After``. The browsable API's
login page (``BrowsableAPILoginView``, ``/api-auth/login/``) shares the budget.
"""

from __future__ import annotations

import math
from typing import Any

from django.contrib.auth import authenticate, login, logout
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import ensure_csrf_cookie
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from api.serializers import MeSerializer


class LoginRateThrottle(SimpleRateThrottle):
    """Login attempts per client address (``REMOTE_ADDR``, or as ``NUM_PROXIES`` says), logged in or not."""

    scope = "login"

    def get_rate(self) -> str | None:
        # Read per request (DRF reads the rates once, at import), so a settings override applies.
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def get_cache_key(self, request: Request | HttpRequest, view: Any) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class LoginSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=4096, trim_whitespace=False, style={"input_type": "password"})

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        user = authenticate(self.context["request"], username=attrs["username"], password=attrs["password"])
        if user is None:
            raise serializers.ValidationError("Wrong username or password.", code="invalid_credentials")
        attrs["user"] = user
        return attrs


class CsrfTokenSerializer(serializers.Serializer):
    csrfToken = serializers.CharField(help_text="Also set as the csrftoken cookie; send it as X-CSRFToken.")


class CsrfView(APIView):
    """Set the CSRF cookie a browser app needs before it can log in."""

    permission_classes = [AllowAny]
    authentication_classes = [SessionAuthentication]

    @extend_schema(responses=CsrfTokenSerializer)
    @method_decorator(ensure_csrf_cookie)
    def get(self, request: Request) -> Response:
        return Response({"csrfToken": get_token(request._request)})


class LoginView(APIView):
    """Log in with username and password; starts a Django session (cookie) and returns the user."""

    permission_classes = [AllowAny]
    authentication_classes = [SessionAuthentication]
    throttle_classes = [LoginRateThrottle]
    serializer_class = LoginSerializer

    @extend_schema(request=LoginSerializer, responses={200: MeSerializer})
    def post(self, request: Request) -> Response:
        # DRF checks CSRF only for authenticated sessions; a login form needs it too (login CSRF).
        SessionAuthentication().enforce_csrf(request)
        body = LoginSerializer(data=request.data, context={"request": request._request})
        body.is_valid(raise_exception=True)
        login(request._request, body.validated_data["user"])
        return Response(MeSerializer(body.validated_data["user"]).data)


class LogoutView(APIView):
    """End the session. Anonymous callers get 204 as well: logging out twice is not an error."""

    permission_classes = [AllowAny]
    authentication_classes = [SessionAuthentication]

    @extend_schema(request=None, responses={204: None})
    def post(self, request: Request) -> Response:
        logout(request._request)
        return Response(status=status.HTTP_204_NO_CONTENT)


class BrowsableAPILoginView(auth_views.LoginView):
    """The browsable API's login page (``/api-auth/login/``); its POSTs count against the login throttle."""

    template_name = "rest_framework/login.html"

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        throttle = LoginRateThrottle()
        if not throttle.allow_request(request, self):
            wait = throttle.wait()
            response = HttpResponse(
                "Too many login attempts. Try again later.", status=429, content_type="text/plain; charset=utf-8"
            )
            if wait is not None:
                response["Retry-After"] = str(math.ceil(wait))
            return response
        return super().post(request, *args, **kwargs)
