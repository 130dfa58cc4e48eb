"""URLs of the follower host: its own API of the local copy, and the realtime app's."""

from django.urls import include, path
from rest_framework.routers import SimpleRouter

from tests.hosts.follower.directory.views import MemberViewSet

router = SimpleRouter()
router.register("members", MemberViewSet, basename="member")

urlpatterns = [path("api/", include(router.urls)), path("api/", include("realtime.urls"))]
