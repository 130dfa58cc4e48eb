"""URLs of the host without DRF tokens: its API and the realtime app's."""

from django.urls import include, path
from rest_framework.routers import SimpleRouter

from tests.hosts.no_authtoken.shop.views import OrderViewSet

router = SimpleRouter()
router.register("orders", OrderViewSet, basename="order")

urlpatterns = [path("api/", include(router.urls)), path("api/", include("realtime.urls"))]
