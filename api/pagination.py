"""The page size bounds of the API's list endpoints (``REST_FRAMEWORK["DEFAULT_PAGINATION_CLASS"]``).

DRF's ``LimitOffsetPagination`` has no ``max_limit`` by default, so
``?limit=9223372036854775808`` reached the database as ``LIMIT`` and failed
there (bigint out of range: a 500). Here ``?limit=`` is capped at
``settings.API_MAX_PAGE_SIZE``; as in DRF, a limit or offset that is not a
non-negative integer falls back to the default page and to offset 0, and an
offset past the end is an empty page.
"""

from __future__ import annotations

from django.conf import settings
from rest_framework.pagination import LimitOffsetPagination


class BoundedLimitOffsetPagination(LimitOffsetPagination):
    """``?limit=&offset=`` paging with ``limit`` capped at ``API_MAX_PAGE_SIZE``."""

    @property
    def max_limit(self) -> int:
        """Read per request (DRF has a class attribute), so settings overrides apply."""
        return settings.API_MAX_PAGE_SIZE
