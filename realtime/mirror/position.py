"""Applying the master's events exactly once: each in the same transaction as the follower's stored position.

An event is applied only when its seq is the stored seq + 1 (in the stored
epoch); an event at or below the stored seq is a duplicate and ignored; an
event further ahead is a gap (page the REST log from the stored seq); an
event of another epoch after the stored seq means the master reset its
history (a full resync). The position row is locked for the transaction, so
two followers of the same stream on one database cannot both apply an event.
A crash before the commit leaves neither the handler's writes nor the new
position; after it, both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction

from realtime.mirror.handlers import MirrorHandler
from realtime.mirror.models import MirrorPosition

#: What a batch of events asks for next (``Outcome.needs``).
CATCH_UP = "catch_up"
RESYNC = "resync"


@dataclass(frozen=True)
class Outcome:
    """What ``events_apply`` did: applied and duplicate counts, the position after it, what is needed next."""

    applied: int
    duplicates: int
    epoch: str
    seq: int
    #: ``None``, ``CATCH_UP`` (a gap: page the log from ``seq``) or ``RESYNC`` (no position, or another epoch).
    needs: str | None = None


def position_get(*, name: str) -> MirrorPosition | None:
    return MirrorPosition.objects.filter(name=name).first()


def events_apply(*, name: str, events: list[dict[str, Any]], handler: MirrorHandler) -> Outcome:
    """Apply ``events`` (event frames, in order) that follow the stored position, in one transaction with it."""
    with transaction.atomic():
        position = MirrorPosition.objects.select_for_update().filter(name=name).first()
        if position is None:
            return Outcome(0, 0, "", 0, RESYNC)
        applied = duplicates = 0
        needs = None
        for event in events:
            meta = event["meta"]
            seq, epoch = int(meta["seq"]), meta.get("epoch") or ""
            if seq <= position.seq:
                duplicates += 1  # seqs never go back, not even across a reset: seen already
                continue
            if position.epoch and epoch != position.epoch:
                needs = RESYNC
                break
            if seq > position.seq + 1:
                needs = CATCH_UP
                break
            handler.apply(event)
            position.seq, position.epoch = seq, epoch
            applied += 1
        if applied:
            position.save(update_fields=["seq", "epoch", "updated_at"])
        return Outcome(applied, duplicates, position.epoch, position.seq, needs)


def resync_apply(
    *, name: str, master: str, objects: list[dict[str, Any]], epoch: str, seq: int, handler: MirrorHandler
) -> MirrorPosition:
    """Replace the local copy with ``objects`` (the master's whole list) and store the position they were read at.

    ``epoch``/``seq`` are the stream's head read before the list, so every
    change after it is applied afterwards (the handler's upserts make a
    change the list already showed harmless).
    """
    with transaction.atomic():
        position, _ = MirrorPosition.objects.select_for_update().get_or_create(name=name)
        handler.resync(objects, epoch=epoch, seq=seq)
        position.master, position.epoch, position.seq = master, epoch, seq
        position.resyncs += 1
        position.save()
        return position
