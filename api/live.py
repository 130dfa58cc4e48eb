"""The demo's live models: ``Foo``, and ``auth.User`` as the object type ``account``.

Everything else comes from the viewset: the model and serializer, the object
type ``foo``, the tracked fields (``Foo.tracker``), ``members`` as a
many-to-many field, and ``owner`` and ``members`` as the fields that decide
who may see a Foo.

``auth.User`` is a model the demo does not own: registering it makes its
saves atomic and tracks the profile fields the API renders, never the
password or the last login (a password change or a login is no event). Its
type is ``account`` (``user`` names inboxes), and ``type_stream`` also logs
every change to any account on the stream ``account``, which other services
follow to keep a copy of the users (``manage.py follow``, docs/mirror.md).
"""

from api.views import AccountViewSet, FooViewSet
from realtime import live


@live.register
class FooLive(live.LiveModel):
    viewset_class = FooViewSet


@live.register
class AccountLive(live.LiveModel):
    viewset_class = AccountViewSet
    object_type = "account"
    untracked_fields = ("password", "last_login")
    type_stream = True
