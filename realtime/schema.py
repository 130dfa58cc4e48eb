"""OpenAPI annotations of realtime's REST views and fields: drf-spectacular's when installed, no-ops otherwise.

drf-spectacular is optional (``pip install django-realtime-subscriptions[schema]``):
a host project that documents its API with it gets realtime's endpoints
described as precisely as its own; one that does not need not install it,
and the decorators below then leave what they decorate unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

try:
    from drf_spectacular.types import OpenApiTypes
    from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field

    #: drf-spectacular is installed (what realtime.asyncapi needs for its payload schemas).
    SPECTACULAR = True
except ImportError:  # pragma: no cover - exercised in a subprocess by tests/integration/test_wheel.py
    SPECTACULAR = False

    class OpenApiTypes:  # type: ignore[no-redef]
        """The type names realtime uses, as plain values."""

        STR = "string"
        OBJECT = "object"

    def OpenApiResponse(response: Any = None, description: str = "", **kwargs: Any) -> Any:  # type: ignore[no-redef]
        return response

    def extend_schema(*args: Any, **kwargs: Any) -> Callable[[Any], Any]:  # type: ignore[no-redef]
        return lambda target: target

    def extend_schema_field(*args: Any, **kwargs: Any) -> Callable[[Any], Any]:  # type: ignore[no-redef]
        return lambda target: target


__all__ = ["SPECTACULAR", "OpenApiResponse", "OpenApiTypes", "extend_schema", "extend_schema_field"]
