"""Signals other modules hook into without importing each other.

``notification_appended`` is sent inside the appending transaction, once per
appended notification, with ``notification`` (a ``Notification``, its
``stream`` loaded). Receivers that write (the push outbox, for one) therefore
commit or roll back together with the event.
"""

from django.dispatch import Signal

notification_appended = Signal()
