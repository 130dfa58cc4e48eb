"""Stream names and the channel-layer groups they are published to.

One stream per live object, ``<object_type>.<public id>`` (``foo.jR3kq9Wz``
for a model whose REST API speaks hashids, ``snippet.42`` or
``recipe.0b9e…`` otherwise: the id the object's REST API uses, see
``LiveModel.get_public_id``), and one inbox per user, ``user.<id>``. A
stream's subscribers share the group ``<GROUP_PREFIX>.<stream>``; every
socket of a user also joins that user's control group, which carries
permission rechecks.

``object_id`` is the object's primary key as the database compares it with
text (``str`` of its database value): the key that REST responses use to
read the stream's position in the same statement as the object.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

from realtime import protocol
from realtime.conf import realtime_settings
from realtime.ids import decode_id, encode_id

INBOX_PREFIX = "user"

#: What channels accepts as a group name (and its length limit).
_GROUP_NAME = re.compile(r"^[a-zA-Z\d\-_.]+$")
_GROUP_MAX = 99


@dataclass(frozen=True)
class StreamRef:
    """A stream's name and the subject it belongs to (an object, or a user for inboxes)."""

    name: str
    object_type: str
    #: The subject's primary key as text (its database value).
    object_id: str

    @property
    def is_inbox(self) -> bool:
        return self.object_type == protocol.INBOX

    @property
    def is_type(self) -> bool:
        """A type's stream (every object of the type): named just like the type."""
        return self.name == self.object_type

    @property
    def public_id(self) -> str:
        """The subject's id as clients know it (the part of the name after the type; empty for a type's stream)."""
        return self.name.split(".", 1)[1] if "." in self.name else ""


def user_public_id(user_pk: Any) -> str:
    """A user's id in inbox stream names: a hashid for integer keys, the key itself otherwise."""
    return encode_id(user_pk) if isinstance(user_pk, int) else str(user_pk)


def inbox_stream(user_pk: Any) -> StreamRef:
    return StreamRef(f"{INBOX_PREFIX}.{user_public_id(user_pk)}", protocol.INBOX, str(user_pk))


def parse_inbox(public_id: str) -> StreamRef | None:
    """The inbox named ``user.<public_id>``, or ``None`` when the id is malformed."""
    from django.contrib.auth import get_user_model

    pk_field = get_user_model()._meta.pk
    if pk_field.get_internal_type() in {"AutoField", "BigAutoField", "SmallAutoField", "IntegerField"}:
        pk = decode_id(public_id)
        return None if pk is None else inbox_stream(pk)
    try:
        pk = pk_field.to_python(public_id)
    except Exception:
        return None
    return None if pk is None or str(pk) != public_id else inbox_stream(pk)


def _group(kind: str, name: str) -> str:
    group = f"{realtime_settings.GROUP_PREFIX}.{kind}{name}"
    if len(group) <= _GROUP_MAX and _GROUP_NAME.match(group):
        return group
    # Ids with characters channels does not allow in group names (or too long): a digest of the name.
    return f"{realtime_settings.GROUP_PREFIX}.{kind}h.{hashlib.sha256(name.encode()).hexdigest()[:40]}"


def group_name(stream: str) -> str:
    return _group("", stream)


def user_group(user_pk: Any) -> str:
    return _group("u.", str(user_pk))


def type_group(object_type: str) -> str:
    """The group every tracked change of an object of ``object_type`` is also published to (for live lists)."""
    return _group("t.", object_type)
