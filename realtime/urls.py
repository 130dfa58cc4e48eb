"""REST routes of the realtime app, mounted under ``/api/`` (each with and without a trailing slash)."""

from django.urls import path

import realtime.converters  # noqa: F401  (registers the "hashid" converter)
from realtime import views

app_name = "realtime"


def both(route: str, view, name: str) -> list:
    """The route with a trailing slash (named) and without one."""
    return [path(f"{route}/", view, name=name), path(route, view)]


urlpatterns = [
    *both("notifications", views.NotificationLogView.as_view(), "notification-log"),
    *both("notifications/unread-count", views.UnreadCountView.as_view(), "notification-unread-count"),
    *both("notifications/read-all", views.MarkAllReadView.as_view(), "notification-read-all"),
    *both("notifications/<hashid:pk>", views.NotificationReadView.as_view(), "notification-read"),
    *both("realtime/ticket", views.TicketView.as_view(), "ticket"),
]
