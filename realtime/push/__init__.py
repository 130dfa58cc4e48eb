"""Durable push delivery: devices, an outbox of deliveries, and the worker that sends them.

User-facing inbox notifications appended with ``push=True`` become one
``Delivery`` row per active ``Device`` of the user, in the appending
transaction (``outbox``). ``manage.py pushworker`` claims due rows
(``queue``), sends them through a backend per device kind (``backends``:
Web Push, FCM, APNs, webhooks) and records the outcome, with retries,
dead letters and device deactivation. URLs that users choose (webhooks,
Web Push endpoints) are checked when registered (``targets``) and again,
after DNS resolution, when the worker connects (``transport``), against the
address policy of ``addresses``. A nested app (label ``push``) of
``realtime``: it imports ``realtime``, never a project's domain apps. Its
optional packages (``pip install django-realtime-subscriptions[push]``) are imported where a
request is made, never by importing a package.
"""
