"""/healthz: a real round trip through the database and the channel layer, 503 when one fails."""

from __future__ import annotations

import pytest

from tests.servers import free_port

pytestmark = pytest.mark.django_db(transaction=True)

PUBSUB = "channels_redis.pubsub.RedisPubSubChannelLayer"
CORE = "channels_redis.core.RedisChannelLayer"


async def test_healthy_server_answers_200(async_client):
    """With the configured database and channel layer working, every check passes."""
    response = await async_client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert {name: check["ok"] for name, check in body["checks"].items()} == {"database": True, "channel_layer": True}


@pytest.mark.redis
@pytest.mark.parametrize("backend", [PUBSUB, CORE])
async def test_round_trip_through_redis(async_client, settings, backend):
    """Both channels-redis layers pass the check against a real Redis, repeatedly (channels are released)."""
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": backend, "CONFIG": {"hosts": [settings.REDIS_URL]}}}
    for _ in range(3):
        response = await async_client.get("/healthz")
        assert response.status_code == 200
        assert response.json()["checks"]["channel_layer"]["ok"] is True


@pytest.mark.parametrize("backend", [PUBSUB, CORE])
async def test_unreachable_channel_layer_answers_503(async_client, settings, backend):
    """A Redis that does not answer makes the server unhealthy, naming the failed check."""
    unreachable = f"redis://127.0.0.1:{free_port()}/0"
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": backend, "CONFIG": {"hosts": [unreachable]}}}
    response = await async_client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["channel_layer"]["ok"] is False
