"""A test host app: one model per host shape the realtime app must serve (keys, serializers, lookups, permissions).

Installed only in the test session (``tests/settings.py``), mounted under
``/hosts/`` (``tests/urls.py``); its ``live.py`` makes each model live,
``auth.User`` included.
"""
