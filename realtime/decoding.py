"""Decoding client frames: from WebSocket text to a message dict, refusing anything the server can't safely handle.

A frame is refused when it is binary, larger than ``REALTIME["MAX_FRAME_BYTES"]``,
not JSON, not a JSON object, nested deeper than ``MAX_DEPTH``, or when any
string in it (key or value) is not encodable as UTF-8: JSON's ``\\ud800``
escape decodes to a lone surrogate, which would crash the reply that echoes
it. Each refusal is a ``FrameRefused`` with the message for the client's
``invalid`` error, except an oversized frame (``FrameTooBig``), which closes
the socket: the server does not parse it at all.
"""

from __future__ import annotations

import json
from typing import Any

#: Deepest nesting of arrays and objects a client message may have (real messages use 2 or 3).
MAX_DEPTH = 16


class FrameRefused(ValueError):
    """A frame that is not a message the protocol accepts; ``str(exc)`` is the client-facing reason."""


class FrameTooBig(FrameRefused):
    """A frame over the size limit (the socket is closed with ``CLOSE_MESSAGE_TOO_BIG``)."""


def decode_message(*, text: str | None, max_bytes: int) -> dict[str, Any]:
    """Return the frame as a dict, or raise ``FrameRefused`` saying why it is not a message."""
    if text is None:
        raise FrameRefused("Binary frames are not supported; send JSON text.")
    # len(text) <= bytes; only encode when the characters alone don't decide it.
    if len(text) > max_bytes or (len(text) * 4 > max_bytes and len(text.encode("utf-8", "surrogatepass")) > max_bytes):
        raise FrameTooBig(f"Frames are limited to {max_bytes} bytes.")
    try:
        message = json.loads(text)
    except RecursionError:
        raise FrameRefused(f"The frame is nested too deeply (at most {MAX_DEPTH} levels).") from None
    except ValueError:
        raise FrameRefused("The frame is not valid JSON.") from None
    if not isinstance(message, dict):
        raise FrameRefused("A message must be a JSON object.")
    _check(message)
    return message


def _check(message: dict[str, Any]) -> None:
    """Walk the message without recursion: bounded depth, and every string encodable as UTF-8."""
    stack: list[tuple[Any, int]] = [(message, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            if not _encodable(value):
                raise FrameRefused("The frame contains a lone surrogate (\\ud800-\\udfff), which is not text.")
        elif isinstance(value, dict | list):
            if depth > MAX_DEPTH:
                raise FrameRefused(f"The frame is nested too deeply (at most {MAX_DEPTH} levels).")
            items = value.items() if isinstance(value, dict) else ((None, item) for item in value)
            for key, item in items:
                if key is not None and not _encodable(key):
                    raise FrameRefused("The frame contains a lone surrogate (\\ud800-\\udfff), which is not text.")
                stack.append((item, depth + 1))


def _encodable(text: str) -> bool:
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
