"""A bare ASGI WebSocket application for daphne: the storm's reference (``bench.storm.daphne_floor``).

It accepts every socket (with the subprotocol the client offered first) and
answers each text frame with one small frame: no Django, no middleware, no
database, no channel layer. What daphne spends on a client of it is the least
any application on one daphne process can spend on a readmitted client.
"""

from __future__ import annotations

from typing import Any

ANSWER = '{"type": "subscribed", "results": []}'


async def application(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "websocket":
        return
    while True:
        message = await receive()
        if message["type"] == "websocket.connect":
            offered = scope.get("subprotocols") or [None]
            await send({"type": "websocket.accept", "subprotocol": offered[0]})
        elif message["type"] == "websocket.receive":
            await send({"type": "websocket.send", "text": ANSWER})
        else:
            return
