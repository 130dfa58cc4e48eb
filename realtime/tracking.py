"""Change tracking: model signals turned into logged, published events.

For each registered live model, a create, a save that changes a tracked
field (django-model-utils ``FieldTracker``), a delete, and a change to a
declared many-to-many field are logged in the same transaction as the
change, as one event per object per transaction: a second change of the
same object in that transaction (a PATCH that saves the row, then its
members) revises the first event to the final state instead of adding
intermediate ones. Registration makes the model's ``save()`` and
``delete()`` atomic so that holds for changes made anywhere: REST, admin,
shell, tasks. The bulk paths, which send no model signals
(``QuerySet.update()``, ``bulk_create()``, ``bulk_update()``), are logged
by ``realtime.writes``; raw SQL is not.

Which fields changed is told by django-model-utils' ``FieldTracker``: the
model's own, when it declares one covering the tracked fields, or one the
registration attaches to the model (``_realtime_tracker``), so models of
other apps need no change.

Changes to a ``visibility_fields`` field, or to a user's staff/active flags
and groups, make the affected subscriptions re-run the permission check.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_out
from django.db import models
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete
from model_utils import FieldTracker

from realtime.events import CHANGED, CREATED, DELETED
from realtime.log import notification_append, notification_revise
from realtime.pending import EVERYONE, pending_revisable
from realtime.publish import recheck_user_on_commit

if TYPE_CHECKING:
    from realtime.registry import LiveModel

_USER_ACCESS_FIELDS = {"is_active", "is_staff", "is_superuser"}


#: How a tracked change folds into an event of the same object appended earlier in the transaction.
_FOLD = {
    ("created", "changed"): "created",
    ("created", "deleted"): "deleted",
    ("changed", "changed"): "changed",
    ("changed", "deleted"): "deleted",
}


def object_event_record(
    live: LiveModel,
    instance: models.Model,
    action: str,
    *,
    recheck: list[Any] | str | None = None,
    visibility: bool = False,
) -> None:
    """Log a change of ``instance`` in the current transaction: one event per object per transaction.

    The first change appends an event; each later one in the same
    transaction revises it to the latest state (a create followed by
    changes stays a create; a delete ends it). ``recheck`` names users whose
    access the change may have revoked, ``visibility`` says it changed who
    may see the object (``realtime.log.notification_append``). A create is
    never a visibility change: there was no earlier state to see.
    """
    stream = live.get_stream(instance.pk)
    pending = pending_revisable(stream.name, object_id=stream.object_id)
    folded = _FOLD.get((pending.action, action)) if pending is not None else None
    final_action = folded or action
    deleted = final_action == DELETED
    event = live.get_event(final_action)
    payload = live.get_delete_payload(instance) if deleted else live.get_payload(instance)
    visibility = visibility and final_action != CREATED
    if folded is not None:
        notification = notification_revise(
            pending=pending,
            event=event,
            payload=payload,
            final=deleted,
            recheck=recheck,
            visibility=visibility,
            action=final_action,
        )
    else:
        notification = notification_append(
            stream=stream,
            event=event,
            payload=payload,
            object_type=live.object_type,
            object_id=stream.object_id,
            final=deleted,
            recheck=recheck,
            visibility=visibility,
            action=final_action,
            listed=True,
        )
    if live.type_stream:
        _record_on_type_stream(
            live, stream.object_id, event=event, payload=payload, action=final_action, fold=folded is not None
        )
    # The REST response of this write reports the position of the event it appended (StreamPositionField).
    instance.realtime_seq, instance.realtime_epoch = notification.seq, notification.stream.epoch


def _record_on_type_stream(
    live: LiveModel, object_id: str, *, event: Any, payload: Any, action: str, fold: bool
) -> None:
    """The same change on the type's own stream (every object's changes, in commit order), folded when the
    object's own event was."""
    stream = live.get_type_stream()
    pending = pending_revisable(stream.name, object_id=object_id) if fold else None
    if pending is not None:
        notification_revise(
            pending=pending, event=event, payload=payload, final=False, recheck=None, visibility=False, action=action
        )
        return
    # Never ``final``: the type's stream goes on after one of its objects is deleted.
    notification_append(
        stream=stream, event=event, payload=payload, object_type=live.object_type, object_id=object_id, action=action
    )


def field_tracker(live: LiveModel) -> str:
    """The attribute of the FieldTracker that tells ``live``'s changes: the model's own, or one attached now."""
    own = getattr(live.model, live.tracker_attr, None)
    if isinstance(own, FieldTracker) and set(live.tracked) <= set(own.fields):
        return live.tracker_attr
    existing = getattr(live.model, "_realtime_tracker", None)
    if isinstance(existing, FieldTracker) and set(live.tracked) <= set(existing.fields):
        return "_realtime_tracker"
    tracker = FieldTracker(fields=list(live.tracked))
    tracker.contribute_to_class(live.model, "_realtime_tracker")
    tracker.finalize_class(live.model)  # the model class is already prepared: finish what class_prepared would do
    return "_realtime_tracker"


def connect_live_model(live: LiveModel) -> None:
    """Connect the signal receivers that turn ``live.model`` changes into events."""
    model = live.model
    visibility = set(live.visibility)
    tracker_attr = field_tracker(live)
    uid = f"realtime:{model._meta.label}"

    def on_save(sender: type[models.Model], instance: models.Model, created: bool, raw: bool, **kwargs: Any) -> None:
        if raw:
            return
        if created:
            object_event_record(live, instance, CREATED)
            return
        changed = set(getattr(instance, tracker_attr).changed())
        if changed:
            affects = bool(changed & visibility)
            object_event_record(live, instance, CHANGED, recheck=EVERYONE if affects else None, visibility=affects)

    def on_delete(sender: type[models.Model], instance: models.Model, **kwargs: Any) -> None:
        object_event_record(live, instance, DELETED)

    post_save.connect(on_save, sender=model, weak=False, dispatch_uid=f"{uid}:save")
    post_delete.connect(on_delete, sender=model, weak=False, dispatch_uid=f"{uid}:delete")
    for field_name in live.m2m:
        _connect_m2m(live, field_name, field_name in visibility)


def _connect_m2m(live: LiveModel, field_name: str, affects_visibility: bool) -> None:
    field = live.model._meta.get_field(field_name)
    through = field.remote_field.through
    # Removing users from the field revokes exactly them; removing anything else may revoke anyone.
    of_users = field.related_model._meta.label == get_user_model()._meta.label
    leaving: dict[int, set[Any]] = {}

    def on_m2m(
        sender: type[models.Model],
        instance: models.Model,
        action: str,
        reverse: bool,
        pk_set: set[Any] | None,
        **kwargs: Any,
    ) -> None:
        if action in {"pre_clear", "pre_remove"}:
            # Remember who is really about to go: post_clear has no pk_set, and remove's pk_set
            # is what was asked for, including ids that were never related (no change, no event).
            related = getattr(instance, field.remote_field.get_accessor_name() if reverse else field_name)
            if action == "pre_remove":
                related = related.filter(pk__in=pk_set or ())
            leaving[id(instance)] = set(related.values_list("pk", flat=True))
            return
        if action not in {"post_add", "post_remove", "post_clear"}:
            return
        affected = set(pk_set or ()) if action == "post_add" else leaving.pop(id(instance), set())
        if not affected:
            return
        removed = action != "post_add"
        if reverse:
            # instance is on the other side (e.g. a user); every affected live object changed.
            recheck = ([instance.pk] if of_users else EVERYONE) if removed and affects_visibility else None
            for obj in live.model._default_manager.filter(pk__in=affected):
                object_event_record(live, obj, CHANGED, recheck=recheck, visibility=affects_visibility)
        else:
            recheck = (sorted(affected, key=str) if of_users else EVERYONE) if removed and affects_visibility else None
            object_event_record(live, instance, CHANGED, recheck=recheck, visibility=affects_visibility)

    m2m_changed.connect(on_m2m, sender=through, weak=False, dispatch_uid=f"realtime:{through._meta.label}")


def connect_user_rechecks() -> None:
    """Recheck a user's sockets when their flags, groups, permissions or credentials change, or they go.

    The recheck re-verifies each socket's credential (``realtime.auth.scope_user``): after a logout,
    a password change or a deleted API token the sockets that used it are closed.
    """
    user_model = get_user_model()

    def on_logout(sender: Any, user: models.Model | None = None, **kwargs: Any) -> None:
        if user is not None:
            recheck_user_on_commit(user.pk)

    def on_token_delete(sender: Any, instance: models.Model, **kwargs: Any) -> None:
        recheck_user_on_commit(instance.user_id)

    user_logged_out.connect(on_logout, weak=False, dispatch_uid="realtime:user-logout")
    if apps.is_installed("rest_framework.authtoken"):
        from rest_framework.authtoken.models import Token

        post_delete.connect(on_token_delete, sender=Token, weak=False, dispatch_uid="realtime:token-delete")

    def on_user_save(sender: type[models.Model], instance: models.Model, raw: bool, **kwargs: Any) -> None:
        update_fields = kwargs.get("update_fields")
        if raw or kwargs.get("created"):
            return
        if update_fields is None or _USER_ACCESS_FIELDS & set(update_fields):
            recheck_user_on_commit(instance.pk)

    def on_user_delete(sender: type[models.Model], instance: models.Model, **kwargs: Any) -> None:
        recheck_user_on_commit(instance.pk)

    def on_membership(sender: type[models.Model], instance: models.Model, action: str, reverse: bool, **kwargs):
        if action not in {"post_add", "post_remove", "post_clear"}:
            return
        if not reverse:
            recheck_user_on_commit(instance.pk)
        else:
            for pk in kwargs.get("pk_set") or ():
                recheck_user_on_commit(pk)

    post_save.connect(on_user_save, sender=user_model, weak=False, dispatch_uid="realtime:user-save")
    pre_delete.connect(on_user_delete, sender=user_model, weak=False, dispatch_uid="realtime:user-delete")
    for name in ("groups", "user_permissions"):
        field = getattr(user_model, name, None)
        if field is not None:
            m2m_changed.connect(on_membership, sender=field.through, weak=False, dispatch_uid=f"realtime:user-{name}")
