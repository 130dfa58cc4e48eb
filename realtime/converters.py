"""URL path converter that turns a hashid segment into a primary key.

A segment that does not decode to exactly one number does not match the
route, so Django answers 404 before any view runs.
"""

from __future__ import annotations

from django.urls import register_converter

from realtime.ids import HASHID_REGEX, decode_id, encode_id


class HashidConverter:
    regex = HASHID_REGEX

    def to_python(self, value: str) -> int:
        pk = decode_id(value)
        if pk is None:
            raise ValueError(f"{value!r} is not a valid id")
        return pk

    def to_url(self, value: int | str) -> str:
        return encode_id(int(value))


register_converter(HashidConverter, "hashid")
