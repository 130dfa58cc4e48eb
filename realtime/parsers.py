"""Request parsers that refuse input the database or the encoder would choke on, as a 400 instead of a 500.

DRF's parsers accept JSON nested a thousand levels deep (the decoder then
raises ``RecursionError``), lone UTF-16 surrogates (``"\\ud800"``: Python
strings hold them, UTF-8 cannot encode them, so the first ``.encode()`` or
database write fails) and NUL characters (PostgreSQL text cannot store
them). The parsers here refuse all three anywhere in a body, keys and values
alike, with a ``ParseError``, and the JSON parser also refuses numbers that
overflow to infinity. Put them first in ``REST_FRAMEWORK["DEFAULT_PARSER_CLASSES"]``
(the demo project does)::

    "DEFAULT_PARSER_CLASSES": [
        "realtime.parsers.StrictJSONParser",
        "realtime.parsers.StrictFormParser",
        "realtime.parsers.StrictMultiPartParser",
    ]

``max_depth`` is a class attribute (``get_max_depth()`` reads it): subclass
to change the bound. ``unsafe_text_reason()`` checks any decoded value, for
callers that decode JSON themselves.
"""

from __future__ import annotations

import codecs
import json
import math
import re
from collections.abc import Mapping
from typing import Any

from django.utils.datastructures import MultiValueDict
from rest_framework.exceptions import ParseError
from rest_framework.parsers import DataAndFiles, FormParser, JSONParser, MultiPartParser, get_encoding
from rest_framework.utils.json import strict_constant

#: Containers a body may nest: ``{"a": [1]}`` is 2 deep. The API's own bodies need 3.
MAX_DEPTH = 32

_UNSAFE_CHARACTER = re.compile("[\x00\ud800-\udfff]")


def unsafe_text_reason(value: Any, *, max_depth: int = MAX_DEPTH) -> str | None:
    """Why ``value`` (decoded JSON, or a form's fields) is refused, or ``None`` when it is safe.

    Refused: lists and dicts nested deeper than ``max_depth``, and a NUL or a
    lone surrogate in any string, dict key included. Walks iteratively, so
    any depth is checked without recursion.
    """
    pending: list[tuple[Any, int]] = [(value, 0)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, str):
            found = _UNSAFE_CHARACTER.search(item)
            if found:
                return (
                    "NUL characters are not allowed." if found.group() == "\x00" else "Lone surrogates are not allowed."
                )
        elif isinstance(item, (dict, list, tuple, MultiValueDict)):
            depth += 1
            if depth > max_depth:
                return f"Nested deeper than {max_depth} levels."
            if isinstance(item, MultiValueDict):
                children = [part for key, values in item.lists() for part in (key, *values)]
            elif isinstance(item, Mapping):
                children = [part for pair in item.items() for part in pair]
            else:
                children = list(item)
            pending.extend((child, depth) for child in children)
    return None


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"Number out of range: {text[:40]}")
    return number


class StrictInputMixin:
    """Refuse what ``unsafe_text_reason()`` refuses, after the parser's own decoding, with a ``ParseError``."""

    max_depth = MAX_DEPTH

    def get_max_depth(self) -> int:
        return self.max_depth

    def refuse_unsafe(self, data: Any) -> Any:
        reason = unsafe_text_reason(data, max_depth=self.get_max_depth())
        if reason is not None:
            raise ParseError(f"Parse error - {reason}")
        return data


class StrictJSONParser(StrictInputMixin, JSONParser):
    """``application/json``, as DRF's ``JSONParser``, plus the refusals above and no infinite numbers."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: dict[str, Any] | None = None) -> Any:
        encoding = get_encoding(parser_context or {})
        try:
            text = codecs.getreader(encoding)(stream).read()
            data = json.loads(text, parse_constant=strict_constant if self.strict else None, parse_float=_finite_float)
        except RecursionError:
            raise ParseError(f"JSON parse error - Nested deeper than {self.get_max_depth()} levels.") from None
        except ValueError as exc:  # includes UnicodeDecodeError and json.JSONDecodeError
            raise ParseError(f"JSON parse error - {exc}") from None
        return self.refuse_unsafe(data)


class StrictFormParser(StrictInputMixin, FormParser):
    """``application/x-www-form-urlencoded`` (the browsable API's forms), refusing NUL in names and values."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: dict[str, Any] | None = None) -> Any:
        return self.refuse_unsafe(super().parse(stream, media_type, parser_context))


class StrictMultiPartParser(StrictInputMixin, MultiPartParser):
    """``multipart/form-data``: the fields (and file field names) checked; file contents are left alone."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: dict[str, Any] | None = None) -> Any:
        parsed: DataAndFiles = super().parse(stream, media_type, parser_context)
        self.refuse_unsafe(parsed.data)
        self.refuse_unsafe(list(parsed.files))
        return parsed
