"""URL routes of the demo domain, mounted under ``/api/``: Foo CRUD, the current user, session login."""

from django.urls import path

from api.auth import CsrfView, LoginView, LogoutView
from api.views import FooViewSet, MeView
from realtime.routers import HashidRouter


def both(route: str, view, name: str) -> list:
    """The route with a trailing slash (named) and without one."""
    return [path(f"{route}/", view, name=name), path(route, view)]


router = HashidRouter()
router.register("foo", FooViewSet, basename="foo")

urlpatterns = [
    path("me/", MeView.as_view(), name="me"),
    path("me", MeView.as_view()),
    *both("auth/csrf", CsrfView.as_view(), "auth-csrf"),
    *both("auth/login", LoginView.as_view(), "auth-login"),
    *both("auth/logout", LogoutView.as_view(), "auth-logout"),
    *router.urls,
]
