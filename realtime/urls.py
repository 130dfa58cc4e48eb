"""REST routes of the realtime app, mounted under ``/api/`` (each with and without a trailing slash)."""

import realtime.converters  # noqa: F401  (registers the "hashid" converter)
from realtime import views
from realtime.asyncapi import AsyncAPIView
from realtime.routers import optional_slash
from realtime.schema import SPECTACULAR

app_name = "realtime"


urlpatterns = [
    *optional_slash("notifications", views.NotificationLogView.as_view(), "notification-log"),
    *optional_slash("notifications/unread-count", views.UnreadCountView.as_view(), "notification-unread-count"),
    *optional_slash("notifications/read-all", views.MarkAllReadView.as_view(), "notification-read-all"),
    *optional_slash("notifications/<hashid:pk>", views.NotificationReadView.as_view(), "notification-read"),
    *optional_slash("realtime/ticket", views.TicketView.as_view(), "ticket"),
]

# The AsyncAPI document's payload schemas come from drf-spectacular (the `schema` extra).
if SPECTACULAR:
    urlpatterns += optional_slash("asyncapi", AsyncAPIView.as_view(), "asyncapi")
