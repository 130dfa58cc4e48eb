"""WebSocket routes of the realtime app, mounted by ``project.asgi``."""

from django.urls import URLPattern

# The subscription consumer at ws/notifications/ is added with the realtime core.
websocket_urlpatterns: list[URLPattern] = []
