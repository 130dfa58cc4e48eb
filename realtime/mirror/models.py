"""Stored state of a follower: where it stands in each stream it follows."""

from __future__ import annotations

from django.db import models


class MirrorPosition(models.Model):
    """The last event of a followed stream applied here: moved in the same transaction as the handler's writes."""

    #: The follower's name for the stream it follows (by default the stream's name, e.g. ``account``).
    name = models.CharField(max_length=150, unique=True)
    #: The master it follows (for people reading the table; the position is keyed by ``name``).
    master = models.CharField(max_length=500, blank=True, default="")
    #: The master stream's epoch the seq belongs to.
    epoch = models.CharField(max_length=32, blank=True, default="")
    #: The seq of the last event applied.
    seq = models.BigIntegerField(default=0)
    #: Full resyncs (a paged REST list of the type) so far.
    resyncs = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.name} at {self.epoch}:{self.seq}"
