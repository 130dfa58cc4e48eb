"""``Foo`` as a live model: tracked, logged, and visible exactly as its REST detail view shows it."""

from api.models import Foo
from api.serializers import FooSerializer
from api.views import FooViewSet
from realtime.registry import LiveModel, registry


@registry.register
class FooLive(LiveModel):
    model = Foo
    object_type = "foo"
    serializer_class = FooSerializer
    viewset_class = FooViewSet
    m2m_fields = ("members",)
    visibility_fields = ("owner", "members")
