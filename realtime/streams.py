"""Stream names and the channel-layer groups they are published to.

One stream per live object, ``<object_type>.<hashid>`` (``foo.jR3kq9Wz``), and
one inbox per user, ``user.<hashid>``. A stream's subscribers share the group
``<GROUP_PREFIX>.<stream>``; every socket of a user also joins that user's
control group, which carries permission rechecks.
"""

from __future__ import annotations

from dataclasses import dataclass

from realtime import protocol
from realtime.conf import realtime_settings
from realtime.ids import decode_id, encode_id

INBOX_PREFIX = "user"


@dataclass(frozen=True)
class StreamRef:
    """A stream's name and the subject it belongs to (an object, or a user for inboxes)."""

    name: str
    object_type: str
    object_id: int

    @property
    def is_inbox(self) -> bool:
        return self.object_type == protocol.INBOX

    @property
    def public_id(self) -> str:
        return encode_id(self.object_id)


def object_stream(object_type: str, pk: int) -> StreamRef:
    return StreamRef(f"{object_type}.{encode_id(pk)}", object_type, pk)


def inbox_stream(user_pk: int) -> StreamRef:
    return StreamRef(f"{INBOX_PREFIX}.{encode_id(user_pk)}", protocol.INBOX, user_pk)


def parse_stream(name: object) -> StreamRef | None:
    """Parse ``foo.<hashid>`` or ``user.<hashid>``; ``None`` when malformed (type unchecked)."""
    if not isinstance(name, str) or name.count(".") != 1:
        return None
    prefix, public_id = name.split(".")
    pk = decode_id(public_id)
    if not prefix or pk is None or prefix == protocol.INBOX:
        return None
    if prefix == INBOX_PREFIX:
        return inbox_stream(pk)
    return object_stream(prefix, pk)


def group_name(stream: str) -> str:
    return f"{realtime_settings.GROUP_PREFIX}.{stream}"


def user_group(user_pk: int) -> str:
    return f"{realtime_settings.GROUP_PREFIX}.u.{user_pk}"
