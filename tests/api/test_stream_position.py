"""REST responses carry the object's stream position (``stream: {name, seq, epoch}``), consistent with the log."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from api.models import Foo
from realtime.ids import encode_id
from realtime.models import Notification, Stream

pytestmark = pytest.mark.django_db


def detail(foo: Foo) -> str:
    return f"/api/foo/{encode_id(foo.pk)}"


def position(foo: Foo) -> dict:
    """The stream position as the log has it."""
    name = f"foo.{encode_id(foo.pk)}"
    row = Stream.objects.filter(name=name).first()
    return {"name": name, "seq": row.seq if row else 0, "epoch": row.epoch if row else None}


def logged_state(foo: Foo, seq: int) -> dict:
    """The object's state as the event at ``seq`` carried it."""
    return Notification.objects.get(stream__name=f"foo.{encode_id(foo.pk)}", seq=seq).payload


def test_detail_carries_the_stream_position(client_for, alice, bob, foo):
    """GET of one Foo: ``stream`` names the stream and its current seq and epoch, for owner and member alike."""
    for user in (alice, bob):
        body = client_for(user).get(detail(foo)).json()
        assert (
            body["stream"]
            == position(foo)
            == {"name": f"foo.{encode_id(foo.pk)}", "seq": 2, "epoch": body["stream"]["epoch"]}
        )
        assert body["stream"]["epoch"]


def test_object_without_history_is_at_seq_zero(client_for, alice):
    """A Foo nothing was logged for yet (written around the ORM's managers, like raw SQL) is at seq 0, no epoch."""
    (foo,) = Foo._base_manager.bulk_create([Foo(owner=alice, name="quiet")])
    assert client_for(alice).get(detail(foo)).json()["stream"] == {
        "name": f"foo.{encode_id(foo.pk)}",
        "seq": 0,
        "epoch": None,
    }


def test_detail_state_is_the_state_at_its_seq(client_for, alice, foo):
    """The object in a GET response is exactly the state the event at its ``seq`` carried."""
    foo.name = "renamed"
    foo.save()
    body = client_for(alice).get(detail(foo)).json()
    position_ = body.pop("stream")
    assert body == logged_state(foo, position_["seq"])


def test_list_items_carry_their_own_positions(client_for, alice, bob, foo):
    """Every item of the list carries its own stream's position."""
    other = Foo.objects.create(owner=alice, name="other")
    for _ in range(3):
        other.bar += "x"
        other.save()
    (quiet,) = Foo.objects.bulk_create([Foo(owner=alice, name="quiet")])
    results = client_for(alice).get("/api/foo/").json()["results"]
    by_id = {item["id"]: item["stream"] for item in results}
    assert by_id == {encode_id(f.pk): position(f) for f in (foo, other, quiet)}
    assert by_id[encode_id(other.pk)]["seq"] == 4


def test_patch_response_carries_the_seq_of_its_event(client_for, alice, foo):
    """A tracked PATCH answers with the seq of the event it appended, and the state that event carried."""
    response = client_for(alice).patch(detail(foo), {"bar": "changed"}, format="json")
    body = response.json()
    position_ = body.pop("stream")
    assert position_ == position(foo)
    assert position_["seq"] == 3
    assert body == logged_state(foo, 3)


def test_patch_that_changes_nothing_keeps_the_seq(client_for, alice, foo):
    """A PATCH that changes no tracked field appends nothing; the response's seq is unchanged."""
    body = client_for(alice).patch(detail(foo), {"bar": "one"}, format="json").json()
    assert body["stream"]["seq"] == 2
    assert Notification.objects.filter(stream__name=body["stream"]["name"]).count() == 2


def test_put_changing_fields_and_members_answers_with_its_one_event(client_for, alice, foo):
    """A PUT changing a field and the members appends one event with the final state; the response is at it."""
    response = client_for(alice).put(detail(foo), {"name": "put", "bar": "", "members": []}, format="json")
    body = response.json()
    position_ = body.pop("stream")
    assert position_["seq"] == 3 == position(foo)["seq"]
    assert body == logged_state(foo, 3)


@pytest.mark.parametrize(("members", "seq"), [([], 1), (["bob"], 1)])
def test_create_response_carries_the_new_streams_position(client_for, alice, bob, members, seq):
    """POST answers with the new stream's position: one created event, members included (1)."""
    response = client_for(alice).post("/api/foo/", {"name": "new", "members": members}, format="json")
    assert response.status_code == 201
    body = response.json()
    foo = Foo.objects.get()
    position_ = body.pop("stream")
    assert position_ == position(foo)
    assert position_["seq"] == seq
    assert body == logged_state(foo, seq)


def test_event_payloads_do_not_carry_the_stream_field(foo):
    """The REST-only ``stream`` field stays out of logged payloads (their ``meta`` has the position)."""
    assert all("stream" not in n.payload for n in Notification.objects.filter(stream__name=position(foo)["name"]))


def count_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_list_queries_do_not_grow_with_the_page(client_for, alice, bob, foo):
    """Listing 2 or 20 Foos with their positions costs the same number of queries."""
    client = client_for(alice)
    Foo.objects.create(owner=alice, name="second").members.add(bob)
    few = count_queries(client, "/api/foo/")
    for i in range(18):
        Foo.objects.create(owner=alice, name=f"more-{i}").members.add(bob)
    assert Foo.objects.count() == 20
    assert count_queries(client, "/api/foo/") == few
    assert few <= 5


def test_detail_reads_the_position_in_the_same_statement_as_the_object(client_for, alice, foo):
    """GET of one Foo reads its stream position inside the object's own SELECT (one snapshot), in few queries."""
    with CaptureQueriesContext(connection) as queries:
        assert client_for(alice).get(detail(foo)).status_code == 200
    reading_stream = [q["sql"] for q in queries.captured_queries if "realtime_stream" in q["sql"]]
    assert len(reading_stream) == 1
    assert '"api_foo"' in reading_stream[0]
    assert len(queries) <= 3


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_update_cannot_write_back_a_stale_row(client_for, alice, monkeypatch):
    """A PATCH holds the row it read: a rename committed meanwhile is neither lost nor left out of the log."""
    import threading

    from django.db import connections

    from api.views import FooViewSet

    foo = Foo.objects.create(owner=alice, name="original")
    read, go_on = threading.Event(), threading.Event()
    real_perform_update = FooViewSet.perform_update

    def stalled_perform_update(self, serializer):
        read.set()  # the row has been read (and, with the fix, locked)
        go_on.wait(10)
        real_perform_update(self, serializer)

    monkeypatch.setattr(FooViewSet, "perform_update", stalled_perform_update)
    responses = []

    def patch_same_name():
        responses.append(client_for(alice).patch(f"/api/foo/{encode_id(foo.pk)}", {"name": "original"}, format="json"))
        connections.close_all()

    def rename():
        other = Foo.objects.get(pk=foo.pk)
        other.name = "renamed"
        other.save()
        connections.close_all()

    patcher = threading.Thread(target=patch_same_name)
    patcher.start()
    assert read.wait(10)
    renamer = threading.Thread(target=rename)
    renamer.start()
    renamer.join(1)  # with the row locked, the rename waits for the PATCH to commit
    go_on.set()
    patcher.join(10)
    renamer.join(10)
    assert responses[0].status_code == 200
    foo.refresh_from_db()
    assert foo.name == "renamed"
    changes = Notification.objects.filter(stream__name=f"foo.{encode_id(foo.pk)}", event="api:foo:changed")
    assert [n.payload["name"] for n in changes.order_by("seq")] == ["renamed"]
