"""``Member`` is live on the follower: what the handler writes reaches this service's own browsers."""

from realtime import live
from tests.hosts.follower.directory.views import MemberViewSet


@live.register
class MemberLive(live.LiveModel):
    viewset_class = MemberViewSet
