"""The ceiling reference: a bare ``websockets`` broadcast server, no Django, no database, no channel layer.

Clients send ``{"action": "subscribe", "id": ...}`` and get ``{"type":
"subscribed"}``. A change is announced by ``{"action": "publish", "id",
"bar"}`` on any socket: the server encodes one ``UPDATE_FOO`` frame of the
same shape and size as the project's and hands it to ``websockets.broadcast``
for every subscriber of that id. Run: ``python -m bench.bare PORT``.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections import defaultdict
from datetime import UTC, datetime

from websockets.asyncio.server import ServerConnection, broadcast, serve

subscribers: dict[str, set[ServerConnection]] = defaultdict(set)
seqs: dict[str, int] = defaultdict(int)


def update_frame(object_id: str, bar: str, seq: int) -> str:
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return json.dumps(
        {
            "type": "UPDATE_FOO",
            "payload": {
                "id": object_id,
                "name": "bench object",
                "bar": bar,
                "owner": "bench",
                "members": [],
                "created_at": now,
                "updated_at": now,
            },
            "meta": {
                "stream": f"foo.{object_id}",
                "epoch": "k3Xw0a1b",
                "seq": seq,
                "event": "api:foo:changed",
                "object_type": "foo",
                "id": object_id,
                "at": now,
            },
        },
        separators=(",", ":"),
    )


async def handler(connection: ServerConnection) -> None:
    joined: set[str] = set()
    try:
        async for text in connection:
            message = json.loads(text)
            object_id = str(message.get("id"))
            if message.get("action") == "subscribe":
                subscribers[object_id].add(connection)
                joined.add(object_id)
                await connection.send('{"type":"subscribed"}')
            elif message.get("action") == "publish":
                seqs[object_id] += 1
                broadcast(subscribers[object_id], update_frame(object_id, message["bar"], seqs[object_id]))
    finally:
        for object_id in joined:
            subscribers[object_id].discard(connection)


async def main(port: int) -> None:
    async with serve(handler, "127.0.0.1", port, backlog=1024) as server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
