"""URL routes of the demo domain, mounted under ``/api/``."""

from django.urls import path

from api.views import FooViewSet, MeView
from realtime.routers import HashidRouter

router = HashidRouter()
router.register("foo", FooViewSet, basename="foo")

urlpatterns = [
    path("me/", MeView.as_view(), name="me"),
    path("me", MeView.as_view()),
    *router.urls,
]
