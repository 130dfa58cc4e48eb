"""Following another service's stream: keep a local copy of a model from the master's log, exactly once.

An optional app (``"realtime.mirror"`` in ``INSTALLED_APPS`` of the
follower; the master needs nothing but a live model with ``type_stream``).
``manage.py follow`` or ``Follower(...).run()`` subscribes to the master's
stream over WebSocket, falls back to paging its REST log, and applies each
event through a handler in the same transaction as the follower's stored
position (docs/mirror.md).
"""
