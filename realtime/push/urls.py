"""REST routes of push delivery, mounted under ``/api/`` (with and without a trailing slash)."""

from django.urls import path

from realtime.push import views
from realtime.routers import HashidRouter

app_name = "push"

router = HashidRouter()
router.register("devices", views.DeviceViewSet, basename="device")

urlpatterns = [
    path("push/vapid-public-key/", views.VapidPublicKeyView.as_view(), name="vapid-public-key"),
    path("push/vapid-public-key", views.VapidPublicKeyView.as_view()),
    *router.urls,
]
