"""REST routes of push delivery, mounted under ``/api/`` (with and without a trailing slash)."""

from realtime.push import views
from realtime.routers import HashidRouter, optional_slash

app_name = "push"

router = HashidRouter()
router.register("devices", views.DeviceViewSet, basename="device")

urlpatterns = [
    *optional_slash("push/vapid-public-key", views.VapidPublicKeyView.as_view(), "vapid-public-key"),
    *router.urls,
]
