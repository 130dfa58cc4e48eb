"""Posts and pins are live."""

from realtime import live
from tests.hosts.no_hashids.board.views import PinViewSet, PostViewSet


@live.register
class PostLive(live.LiveModel):
    viewset_class = PostViewSet


@live.register
class PinLive(live.LiveModel):
    viewset_class = PinViewSet
