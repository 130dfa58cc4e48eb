"""Prometheus metrics: the gauges and counters follow real sockets, events and replays, and /metrics serves them."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from prometheus_client import REGISTRY

from realtime.ids import encode_id
from tests.realtime.conftest import receive_until, subscribe

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _development(settings) -> None:
    """DEBUG on, as in development, where /metrics needs no token (pytest-django turns DEBUG off)."""
    settings.DEBUG = True


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def seven() -> int:
    return 7


def broken() -> int:
    raise RuntimeError("the push queue table is missing")


async def test_connections_and_subscriptions_are_counted(connect, alice, foo):
    """A socket and its subscription raise the gauges (a resubscribe counts once) and closing lowers them."""
    connections, subscriptions = sample("realtime_connections"), sample("realtime_subscriptions")
    socket = await connect(alice)
    await subscribe(socket, foo)
    await subscribe(socket, foo, since=0)
    assert sample("realtime_connections") == connections + 1
    assert sample("realtime_subscriptions") == subscriptions + 1
    await socket.disconnect()
    assert sample("realtime_connections") == connections
    assert sample("realtime_subscriptions") == subscriptions


async def test_unsubscribe_lowers_the_subscription_gauge(connect, alice, foo):
    """Unsubscribing (even twice) lowers the gauge once."""
    socket = await connect(alice)
    await subscribe(socket, foo)
    subscriptions = sample("realtime_subscriptions")
    for _ in range(2):
        await socket.send_json_to({"action": "unsubscribe", "object_type": "foo", "id": encode_id(foo.pk)})
        await receive_until(socket, "unsubscribed")
    assert sample("realtime_subscriptions") == subscriptions - 1


async def test_published_delivered_and_replayed_events_are_counted(connect, alice, bob, foo):
    """One change is published once and delivered once per subscriber; an in-band replay counts its events."""
    sockets = [await connect(alice), await connect(bob)]
    for socket in sockets:
        await subscribe(socket, foo)
    published, delivered = sample("realtime_events_published_total"), sample("realtime_events_delivered_total")
    foo.name = "changed"
    await database_sync_to_async(foo.save)()
    for socket in sockets:
        await receive_until(socket, "UPDATE_FOO")
    assert sample("realtime_events_published_total") == published + 1
    assert sample("realtime_events_delivered_total") == delivered + 2

    replays, replayed = sample("realtime_replays_total", via="ws"), sample("realtime_replayed_events_total", via="ws")
    frames = await subscribe(sockets[0], foo, since=1)
    assert len(frames) == 3  # bob added, renamed, then "subscribed"
    assert sample("realtime_replays_total", via="ws") == replays + 1
    assert sample("realtime_replayed_events_total", via="ws") == replayed + 2


def test_rest_replays_are_counted(client_for, alice, foo):
    """Reading the log over REST counts one replay of the events it returned."""
    replays = sample("realtime_replays_total", via="rest")
    replayed = sample("realtime_replayed_events_total", via="rest")
    response = client_for(alice).get("/api/notifications/", {"stream": f"foo.{encode_id(foo.pk)}", "since": 1})
    assert response.status_code == 200
    assert sample("realtime_replays_total", via="rest") == replays + 1
    assert sample("realtime_replayed_events_total", via="rest") == replayed + len(response.json()["results"])


def test_metrics_endpoint_serves_the_prometheus_format(client):
    """GET /metrics answers in the Prometheus text format with the realtime metrics."""
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    body = response.content.decode()
    for name in ("realtime_connections", "realtime_subscriptions", "realtime_events_delivered_total"):
        assert f"\n{name} " in body
    assert "realtime_push_queue_depth" not in body


def test_push_queue_depth_comes_from_the_configured_hook(client, settings):
    """REALTIME_PUSH_QUEUE_DEPTH names the function whose answer is exported."""
    settings.REALTIME = {"PUSH_QUEUE_DEPTH": "tests.realtime.test_metrics.seven"}
    assert "\nrealtime_push_queue_depth 7.0\n" in client.get("/metrics").content.decode()


def test_failing_push_queue_hook_leaves_the_gauge_out(client, settings):
    """A hook that raises (e.g. before the push tables exist) drops the gauge, never the whole scrape."""
    settings.REALTIME = {"PUSH_QUEUE_DEPTH": "tests.realtime.test_metrics.broken"}
    response = client.get("/metrics")
    assert response.status_code == 200
    assert "realtime_push_queue_depth" not in response.content.decode()


@pytest.mark.parametrize(
    ("authorization", "status"),
    [(None, 401), ("Bearer wrong", 401), ("Token s3cret-token", 401), ("Bearer s3cret-token", 200)],
)
def test_metrics_token_is_required_when_set(client, settings, authorization, status):
    """With REALTIME_METRICS_TOKEN set, only ``Authorization: Bearer <token>`` reads /metrics (others: 401)."""
    settings.REALTIME = {"METRICS_TOKEN": "s3cret-token"}
    headers = {"Authorization": authorization} if authorization else {}
    response = client.get("/metrics", headers=headers)
    assert response.status_code == status
    if status == 401:
        assert response["WWW-Authenticate"].startswith("Bearer")
        assert "realtime_connections" not in response.content.decode()


def test_production_without_a_token_refuses_metrics(client, settings):
    """With DEBUG off and no token, /metrics is refused (403) with what to set; with a token it is served."""
    settings.DEBUG = False
    response = client.get("/metrics")
    assert response.status_code == 403
    assert "REALTIME_METRICS_TOKEN" in response.content.decode()
    settings.REALTIME = {"METRICS_TOKEN": "s3cret-token"}
    assert client.get("/metrics", headers={"Authorization": "Bearer s3cret-token"}).status_code == 200


def test_database_queries_are_counted():
    """Every query on a database connection adds one to realtime_db_queries_total, an executemany too."""
    from django.contrib.auth import get_user_model
    from django.db import connection

    before = sample("realtime_db_queries_total")
    get_user_model().objects.count()
    get_user_model().objects.filter(pk=0).exists()
    table = connection.ops.quote_name(get_user_model()._meta.db_table)
    with connection.cursor() as cursor:  # DML: SQLite's executemany refuses anything else
        cursor.executemany(f"UPDATE {table} SET is_active = is_active WHERE id = %s", [(0,), (-1,)])
    assert sample("realtime_db_queries_total") == before + 3


def test_a_wrapper_pushed_around_the_first_query_is_the_one_popped():
    """The counter sits under wrappers callers push and pop, even when their query opened the connection."""
    from django.db import connection

    from realtime.metrics import count_query

    connection.close()
    seen = []

    def mine(execute, sql, params, many, context):
        seen.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(mine), connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    assert seen == ["SELECT 1"]
    assert connection.execute_wrappers == [count_query]
