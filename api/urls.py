"""URL routes of the demo domain, mounted under ``/api/``: Foo CRUD, accounts, the current user, session login."""

from api.auth import CsrfView, LoginView, LogoutView
from api.views import AccountViewSet, FooViewSet, MeView
from realtime.routers import HashidRouter, optional_slash

router = HashidRouter()
router.register("foo", FooViewSet, basename="foo")
router.register("accounts", AccountViewSet, basename="account")

urlpatterns = [
    *optional_slash("me", MeView.as_view(), "me"),
    *optional_slash("auth/csrf", CsrfView.as_view(), "auth-csrf"),
    *optional_slash("auth/login", LoginView.as_view(), "auth-login"),
    *optional_slash("auth/logout", LogoutView.as_view(), "auth-logout"),
    *router.urls,
]
