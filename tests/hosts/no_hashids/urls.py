"""URLs of the host without hashids settings: posts by plain id, pins by hashid, and the realtime app's."""

from django.urls import include, path
from rest_framework.routers import SimpleRouter

from realtime.routers import HashidRouter
from tests.hosts.no_hashids.board.views import PinViewSet, PostViewSet

plain = SimpleRouter()
plain.register("posts", PostViewSet, basename="post")
hashed = HashidRouter()
hashed.register("pins", PinViewSet, basename="pin")

urlpatterns = [
    path("api/", include(plain.urls)),
    path("api/", include(hashed.urls)),
    path("api/", include("realtime.urls")),
]
