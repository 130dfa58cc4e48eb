"""WebSocket routes of the realtime app, mounted by ``project.asgi``."""

from django.urls import path

from realtime.consumers import SubscriptionConsumer

websocket_urlpatterns = [
    path("ws/notifications/", SubscriptionConsumer.as_asgi()),
]
