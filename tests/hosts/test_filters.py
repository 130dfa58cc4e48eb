"""The viewset's filter backends run for subscribers as for REST: a custom ``BaseFilterBackend`` and ``SearchFilter``.

``NoteViewSet`` hides other users' drafts with ``HideOthersDrafts`` and
filters by ``?search=`` (DRF's ``SearchFilter``, which DRF applies to the
detail view too): the socket's own query string is the request's.
"""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async

from tests.hosts.shapes.models import Note
from tests.hosts.twins import Target, Twin, assert_twins_agree

pytestmark = pytest.mark.django_db(transaction=True)


def shared_notes(owner, reader) -> dict[str, Target]:
    notes = {}
    for name, draft in [("plan", False), ("draft", True)]:
        note = Note.objects.create(owner=owner, title=name, draft=draft)
        note.readers.add(reader)
        notes[name] = Target("note", note, f"/hosts/notes/{note.pk}/")
    return notes


async def test_filter_backends_decide_as_for_rest(alice, bob, carol, connect):
    """Drafts only for their owner, ``?search=`` by title, nothing for a stranger: socket and REST agree."""
    targets = await sync_to_async(shared_notes)(alice, bob)
    twins = {
        "owner": Twin(alice, {"plan", "draft"}),
        "reader": Twin(bob, {"plan"}),
        "reader, search=pla": Twin(bob, {"plan"}, query="search=pla"),
        "owner, search=dra": Twin(alice, {"draft"}, query="search=dra"),
        "owner, search=zzz": Twin(alice, set(), query="search=zzz"),
        "stranger": Twin(carol, set()),
    }
    await assert_twins_agree(connect, twins, targets)
