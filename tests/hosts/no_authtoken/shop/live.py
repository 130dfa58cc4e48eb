"""Orders are live."""

from realtime import live
from tests.hosts.no_authtoken.shop.views import OrderViewSet


@live.register
class OrderLive(live.LiveModel):
    viewset_class = OrderViewSet
