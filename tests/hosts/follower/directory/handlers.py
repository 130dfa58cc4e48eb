"""The handlers ``manage.py follow`` applies the master's ``account`` stream with.

``MemberHandler`` is all a real service needs. ``AuditedMemberHandler`` also
records each applied event (its ``(epoch, seq)`` is unique) and each resync,
in the same transaction, for the end-to-end test; ``MIRROR_TEST_APPLY_DELAY``
(seconds) slows each application down, so a test can kill the follower in
the middle of a stream.
"""

from __future__ import annotations

import os
import time
from typing import Any

from realtime.mirror.handlers import ModelMirrorHandler
from tests.hosts.follower.directory.models import AppliedChange, Member, Resync


class MemberHandler(ModelMirrorHandler):
    model = Member
    fields = ("username", "first_name", "last_name", "email", "is_active")
    list_path = "/api/accounts/"


class AuditedMemberHandler(MemberHandler):
    def apply(self, event: dict[str, Any]) -> None:
        delay = float(os.environ.get("MIRROR_TEST_APPLY_DELAY", "0"))
        if delay:
            time.sleep(delay)
        super().apply(event)
        meta = event["meta"]
        AppliedChange.objects.create(
            epoch=meta["epoch"], seq=meta["seq"], action=event["type"], remote_id=self.get_remote_id(event["payload"])
        )

    def resync(self, objects: list[dict[str, Any]], *, epoch: str, seq: int) -> None:
        super().resync(objects, epoch=epoch, seq=seq)
        Resync.objects.create(epoch=epoch, seq=seq, listed=len(objects))
