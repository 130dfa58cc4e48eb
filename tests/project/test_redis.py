"""REDIS_URL and REDIS_SENTINELS become a channels-redis host entry that reaches a real master through Sentinel."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from channels_redis.core import RedisChannelLayer
from channels_redis.pubsub import RedisPubSubChannelLayer
from django.core.exceptions import ImproperlyConfigured

from project.redis import redis_host
from tests.conftest import IN_CI
from tests.project.test_settings import run_settings
from tests.servers import free_port


def test_plain_url_is_passed_through():
    """Without sentinels the URL is the host entry, unchanged."""
    assert redis_host("redis://127.0.0.1:6379/2", sentinels=[], env_name="REDIS_SENTINELS") == (
        "redis://127.0.0.1:6379/2"
    )


def test_sentinel_entry_names_the_master_and_its_options(monkeypatch):
    """With sentinels the URL's host is the master name; password, database and TLS apply to the master."""
    monkeypatch.setenv("REDIS_SENTINEL_PASSWORD", "s3cret")
    host = redis_host("rediss://:pw@mymaster/3", sentinels=["s1:26379", "s2"], env_name="REDIS_SENTINELS")
    assert host == {
        "master_name": "mymaster",
        "sentinels": [("s1", 26379), ("s2", 26379)],
        "sentinel_kwargs": {"password": "s3cret"},
        "password": "pw",
        "db": 3,
        "ssl": True,
    }


def test_bad_sentinel_address_fails_loudly():
    """A sentinel entry that is not host:port is a start-up error naming the variable."""
    with pytest.raises(ImproperlyConfigured, match="REDIS_SENTINELS"):
        redis_host("redis://mymaster/0", sentinels=["s1:port"], env_name="REDIS_SENTINELS")


def test_sentinels_without_redis_url_refuse_to_start():
    """REDIS_SENTINELS alone is a start-up error that says what REDIS_URL must be."""
    result = run_settings(REDIS_SENTINELS="127.0.0.1:26379", REDIS_URL="")
    assert result.returncode != 0
    assert "REDIS_URL=redis://" in result.stderr


def _wait_for(check, what: str, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except redis.RedisError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not come up within {timeout}s")


@pytest.fixture
def sentinel(tmp_path: Path) -> Iterator[str]:
    """A private Redis master and one Sentinel monitoring it as ``mymaster``, on free ports; yields host:port."""
    server = shutil.which("redis-server")
    if server is None:
        if IN_CI:
            pytest.fail("CI=true but redis-server is not installed", pytrace=False)
        pytest.skip("needs the redis-server binary")
    master_port, sentinel_port = free_port(), free_port()
    config = tmp_path / "sentinel.conf"
    config.write_text(
        f"port {sentinel_port}\nbind 127.0.0.1\ndir {tmp_path}\nsentinel monitor mymaster 127.0.0.1 {master_port} 1\n"
    )
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    master = subprocess.Popen(
        [server, "--port", str(master_port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], **quiet
    )
    watcher = subprocess.Popen([server, str(config), "--sentinel"], **quiet)
    try:
        _wait_for(lambda: redis.Redis(port=master_port).ping(), "the Redis master")
        _wait_for(lambda: redis.Redis(port=sentinel_port).sentinel_get_master_addr_by_name("mymaster"), "the sentinel")
        yield f"127.0.0.1:{sentinel_port}"
    finally:
        for process in (watcher, master):
            process.terminate()
            process.wait(timeout=10)


@pytest.mark.parametrize("layer_class", [RedisPubSubChannelLayer, RedisChannelLayer])
async def test_channel_layer_reaches_the_master_through_sentinel(sentinel, layer_class):
    """Both channels-redis layers send and receive through the master that Sentinel names."""
    layer = layer_class(hosts=[redis_host("redis://mymaster/0", sentinels=[sentinel], env_name="REDIS_SENTINELS")])
    try:
        channel = await layer.new_channel()
        await layer.send(channel, {"type": "hello", "n": 1})
        assert await layer.receive(channel) == {"type": "hello", "n": 1}
    finally:
        await layer.flush()
