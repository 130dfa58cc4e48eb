"""An httpx transport that connects only to addresses it has checked: the send-time SSRF guard.

For webhook and Web Push requests (URLs chosen by users) the connection
pool's network backend is ``CheckedNetworkBackend``: to open a connection
it resolves the host once, refuses the whole connection if *any* resolved
address is not allowed (``realtime.push.addresses.address_refusal``:
raises ``TargetRefused``), then connects to the checked addresses
themselves, in order. The name is never resolved a second time, so DNS
rebinding (a name that answers a public address to the check and an
internal one to the connect) cannot slip through, while the request keeps
the original name for TLS (SNI and certificate verification) and the
``Host`` header: httpcore takes both from the URL, not from the socket.
Redirects are never followed, and proxies from the environment are not
used for these clients (``PushBackend.get_client``): a proxy would do the
connecting itself, unchecked.

This module imports httpx and httpcore, so it is imported only where a
client is built.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import httpcore
import httpx

from realtime.push.addresses import TargetRefused, address_refusal

Resolver = Callable[[str, int], Awaitable[list[str]]]


async def system_resolve(host: str, port: int) -> list[str]:
    """The addresses ``host`` resolves to (the system resolver, as a connect would use it), in its order."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class CheckedNetworkBackend(httpcore.AsyncNetworkBackend):
    """Resolve once, check every address, connect to a checked one."""

    def __init__(self, *, resolve: Resolver = system_resolve) -> None:
        self.resolve = resolve
        self.inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109  (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            addresses = await asyncio.wait_for(self.resolve(host, port), timeout)
        except TimeoutError:
            raise httpcore.ConnectTimeout(f"resolving {host} timed out") from None
        except OSError as exc:
            raise httpcore.ConnectError(f"{host} does not resolve: {exc}") from None
        if not addresses:
            raise httpcore.ConnectError(f"{host} does not resolve")
        for address in addresses:
            if reason := address_refusal(address):
                shown = host if host == address else f"{host} resolves to {address}, which"
                raise TargetRefused(f"Refused to connect: {shown} is not allowed ({reason}).")
        failure: Exception | None = None
        for address in addresses:
            try:
                return await self.inner.connect_tcp(
                    address, port, timeout=timeout, local_address=local_address, socket_options=socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        assert failure is not None
        raise failure

    async def connect_unix_socket(self, *args: Any, **kwargs: Any) -> httpcore.AsyncNetworkStream:
        raise TargetRefused("Unix sockets are never push targets.")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


class CheckedTransport(httpx.AsyncHTTPTransport):
    """``httpx.AsyncHTTPTransport`` whose connection pool connects through ``CheckedNetworkBackend``."""

    def __init__(
        self,
        *,
        ssl_context: ssl.SSLContext,
        http1: bool = True,
        http2: bool = False,
        limits: httpx.Limits = httpx.Limits(max_connections=100, max_keepalive_connections=20),  # noqa: B008
        resolve: Resolver = system_resolve,
    ) -> None:
        # httpx builds its pool in __init__ and exposes no network backend option: build the pool ourselves.
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            http1=http1,
            http2=http2,
            network_backend=CheckedNetworkBackend(resolve=resolve),
        )
