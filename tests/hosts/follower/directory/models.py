"""The follower's copy of the master's accounts, and the audit trail the end-to-end test checks."""

from __future__ import annotations

from django.db import models


class Member(models.Model):
    """An account of the master, as this service keeps it (``remote_id``: the master's public id)."""

    remote_id = models.CharField(max_length=64, unique=True)
    username = models.CharField(max_length=150)
    first_name = models.CharField(max_length=150, blank=True)
    last_name = models.CharField(max_length=150, blank=True)
    email = models.CharField(max_length=254, blank=True)
    is_active = models.BooleanField(default=True)

    def __str__(self) -> str:
        return self.username


class AppliedChange(models.Model):
    """One master event applied here, written in the same transaction: a second application would violate the key."""

    epoch = models.CharField(max_length=32)
    seq = models.BigIntegerField()
    action = models.CharField(max_length=64)
    remote_id = models.CharField(max_length=64)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["epoch", "seq"], name="applied_once")]

    def __str__(self) -> str:
        return f"{self.action} at {self.epoch}:{self.seq}"


class Resync(models.Model):
    """A full resync: the stream position it was read at and how many objects the master listed (``listed``)."""

    epoch = models.CharField(max_length=32)
    seq = models.BigIntegerField()
    listed = models.IntegerField()

    def __str__(self) -> str:
        return f"resync at {self.epoch}:{self.seq}"
