"""Inbox notifications for the people a Foo is shared with."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import m2m_changed
from django.dispatch import receiver

from api import events
from api.models import Foo
from realtime.ids import encode_id


def foo_shared_notify(*, foo: Foo, user_ids: list[int]) -> None:
    """Tell each user in ``user_ids`` (in their inbox, and by push) that ``foo`` is now shared with them."""
    events.events.send(
        events.FOO_SHARED,
        users=[pk for pk in user_ids if pk != foo.owner_id],
        subject=foo,
        payload={"name": foo.name, "owner": foo.owner.get_username()},
        title=f"{foo.owner.get_username()} shared “{foo.name}” with you",
        body=foo.bar,
        icon="/static/api/share.svg",
        client_action=f"/foo/{encode_id(foo.pk)}",
        push=True,
    )


@receiver(m2m_changed, sender=Foo.members.through, dispatch_uid="api:foo-shared")
def _on_members_added(sender: type, instance: Any, action: str, reverse: bool, pk_set: set[int], **kwargs: Any) -> None:
    if action != "post_add" or not pk_set:
        return
    if reverse:
        for foo in Foo.objects.select_related("owner").filter(pk__in=pk_set):
            foo_shared_notify(foo=foo, user_ids=[instance.pk])
    else:
        foo_shared_notify(foo=instance, user_ids=sorted(pk_set))
