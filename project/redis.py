"""The channels-redis ``hosts`` entry for ``REDIS_URL``, directly or through Redis Sentinel.

Without sentinels the URL is passed as it is. With ``REDIS_SENTINELS`` the
URL's host part names the master that Sentinel monitors (as django-redis
does: ``redis://:password@mymaster/0``), its password, user and database
apply to the master, and channels-redis asks the sentinels where the master
currently is, on every new connection, so a failover needs no restart.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured
from redis.asyncio.connection import parse_url

from project.env import env_str

SENTINEL_DEFAULT_PORT = 26379


def sentinel_address(entry: str, *, env_name: str) -> tuple[str, int]:
    """``"host:port"`` (or ``"host"``, port 26379) as ``(host, port)``."""
    host, _, port = entry.rpartition(":") if ":" in entry else (entry, ":", str(SENTINEL_DEFAULT_PORT))
    if not host or not port.isdigit():
        raise ImproperlyConfigured(f"{env_name}: {entry!r} is not host:port, e.g. sentinel-1.internal:26379.")
    return host, int(port)


def redis_host(url: str, *, sentinels: list[str], env_name: str, max_connections: int = 0) -> str | dict[str, Any]:
    """A ``CHANNEL_LAYERS[...]["CONFIG"]["hosts"]`` entry for ``url``, via ``sentinels`` when given.

    ``max_connections`` > 0 sizes redis-py's connection pool (per process and event loop; redis-py's
    default is 100, which the ``core`` layer exhausts with hundreds of sockets).
    """
    pool = {"max_connections": max_connections} if max_connections > 0 else {}
    if not sentinels:
        return {"address": url, **pool} if pool else url
    try:
        options = parse_url(url)
    except ValueError as exc:
        raise ImproperlyConfigured(f"REDIS_URL={url!r}: {exc}") from None
    master = options.pop("host", None)
    if not master:
        raise ImproperlyConfigured("With REDIS_SENTINELS, REDIS_URL must name the master: redis://mymaster/0.")
    options.pop("port", None)
    if options.pop("connection_class", None) is not None and url.startswith("rediss://"):
        options["ssl"] = True
    sentinel_password = env_str("REDIS_SENTINEL_PASSWORD", "")
    return {
        "master_name": master,
        "sentinels": [sentinel_address(entry, env_name=env_name) for entry in sentinels],
        "sentinel_kwargs": {"password": sentinel_password} if sentinel_password else None,
        **options,
        **pool,
    }
