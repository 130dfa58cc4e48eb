"""``Foo`` as a live model: tracked, logged, and visible exactly as its REST detail view shows it.

Everything else comes from the viewset: the model and serializer, the object
type ``foo``, the tracked fields (``Foo.tracker``), ``members`` as a
many-to-many field, and ``owner`` and ``members`` as the fields that decide
who may see a Foo.
"""

from api.views import FooViewSet
from realtime import live


@live.register
class FooLive(live.LiveModel):
    viewset_class = FooViewSet
