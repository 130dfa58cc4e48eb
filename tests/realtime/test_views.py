"""REST endpoints of the realtime app: the notification log, inbox read state and WebSocket tickets."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async

from api.models import Foo
from realtime import views
from realtime.ids import encode_id
from realtime.inbox import inbox_unread_count
from realtime.log import notifications_prune, stream_reset
from realtime.models import Notification, Stream
from realtime.registry import registry
from realtime.streams import inbox_stream
from realtime.tickets import ticket_redeem

from .conftest import subscribe

pytestmark = pytest.mark.django_db

LOG = "/api/notifications/"


def rename(foo: Foo, count: int, prefix: str = "change") -> None:
    for i in range(count):
        foo.name = f"{prefix}-{i}"
        foo.save()


def stream_of(foo: Foo) -> str:
    return registry.stream_for(foo).name


def seqs(body: dict) -> list[int]:
    return [frame["meta"]["seq"] for frame in body["results"]]


# --- the log ----------------------------------------------------------------------


def test_paging_with_next_until_caught_up(client_for, alice, foo):
    """``since`` + ``limit`` page oldest-first; ``next`` links the following page until the head."""
    rename(foo, 23)  # the fixture's two events + 23 = 25
    client = client_for(alice)
    stream = Stream.objects.get(name=stream_of(foo))
    url = f"{LOG}?stream={stream.name}&since=1&limit=10"  # seq 2 shared the Foo: no replay reaches before it
    pages = []
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.content
        body = response.json()
        pages.append(seqs(body))
        assert (body["stream"], body["epoch"], body["seq"], body["recovered"]) == (stream.name, stream.epoch, 25, True)
        url = body["next"]
    assert pages == [list(range(2, 12)), list(range(12, 22)), list(range(22, 26))]


def test_next_carries_the_epoch_and_limit(client_for, alice, foo):
    """The ``next`` link keeps the page size and pins the epoch it started from."""
    rename(foo, 3)
    stream = Stream.objects.get(name=stream_of(foo))
    body = client_for(alice).get(LOG, {"stream": stream.name, "since": 1, "limit": 2}).json()
    assert body["next"] == (
        f"http://testserver/api/notifications/?stream={stream.name}&since=3&epoch={stream.epoch}&limit=2"
    )


def test_reset_between_pages_is_refused(client_for, alice, foo):
    """Following ``next`` after the stream was reset gets 410, not events of the new epoch."""
    rename(foo, 3)
    client = client_for(alice)
    first = client.get(LOG, {"stream": stream_of(foo), "since": 1, "limit": 2}).json()
    stream_reset(stream=registry.stream_for(foo))
    rename(foo, 1, prefix="new")
    response = client.get(first["next"])
    assert response.status_code == 410
    assert response.json()["recovered"] is False


def test_caught_up_page_is_empty_with_no_next(client_for, alice, foo):
    """``since`` at the head: no results, ``next`` is null."""
    body = client_for(alice).get(LOG, {"stream": stream_of(foo), "since": 2}).json()
    assert (body["results"], body["next"], body["seq"], body["recovered"]) == ([], None, 2, True)


def test_latest_page_without_since(client_for, alice, foo):
    """No ``since``: the newest ``limit`` events, oldest first, with nothing after them."""
    rename(foo, 28)  # seq 30
    body = client_for(alice).get(LOG, {"stream": stream_of(foo), "limit": 5}).json()
    assert seqs(body) == [26, 27, 28, 29, 30]
    assert body["next"] is None


def test_latest_page_without_since_starts_at_the_pruned_horizon(client_for, alice, foo):
    """No ``since`` on a pruned stream: what is retained, never a 410."""
    rename(foo, 8)  # seq 10
    notifications_prune(older_than_days=None, keep_per_stream=3)
    response = client_for(alice).get(LOG, {"stream": stream_of(foo), "limit": 5})
    assert response.status_code == 200
    assert seqs(response.json()) == [8, 9, 10]


def test_pruned_history_is_gone(client_for, alice, foo):
    """``since`` before the retained history: 410 with ``recovered: false`` and the head to reload from."""
    rename(foo, 8)
    notifications_prune(older_than_days=None, keep_per_stream=3)
    stream = Stream.objects.get(name=stream_of(foo))
    response = client_for(alice).get(LOG, {"stream": stream.name, "since": 5})
    assert response.status_code == 410
    body = response.json()
    assert (body["recovered"], body["reason"], body["seq"], body["epoch"]) == (False, "pruned", 10, stream.epoch)
    assert client_for(alice).get(LOG, {"stream": stream.name, "since": 7}).status_code == 200


def test_wrong_epoch_is_gone(client_for, alice, foo):
    """An ``epoch`` that is not the stream's: 410 with ``recovered: false``."""
    response = client_for(alice).get(LOG, {"stream": stream_of(foo), "since": 0, "epoch": "other"})
    assert response.status_code == 410
    assert (response.json()["recovered"], response.json()["reason"]) == (False, "epoch")


def test_since_ahead_is_gone(client_for, alice, foo):
    """A ``since`` beyond the head is no position in the stream: 410."""
    response = client_for(alice).get(LOG, {"stream": stream_of(foo), "since": 3})
    assert response.status_code == 410
    assert response.json()["reason"] == "ahead"


def test_limit_is_capped_by_the_max_page_size(client_for, alice, foo, settings):
    """``limit`` above ``REST_MAX_PAGE_SIZE`` is cut to it."""
    settings.REALTIME = {"REST_MAX_PAGE_SIZE": 3}
    rename(foo, 5)
    body = client_for(alice).get(LOG, {"stream": stream_of(foo), "since": 1, "limit": 100}).json()
    assert seqs(body) == [2, 3, 4]
    assert body["next"] is not None


def test_default_page_size(client_for, alice, foo, settings):
    """Without ``limit`` a page holds ``REST_PAGE_SIZE`` events."""
    settings.REALTIME = {"REST_PAGE_SIZE": 4}
    rename(foo, 5)
    assert seqs(client_for(alice).get(LOG, {"stream": stream_of(foo), "since": 1}).json()) == [2, 3, 4, 5]


def test_a_page_costs_a_fixed_number_of_queries(client_for, alice, foo, django_assert_max_num_queries):
    """Serving a page of 100 events does not query per event."""
    rename(foo, 100)
    client = client_for(alice)
    with django_assert_max_num_queries(8):
        response = client.get(LOG, {"stream": stream_of(foo), "since": 1, "limit": 100})
    assert len(response.json()["results"]) == 100


def test_inbox_by_default(client_for, bob, foo):
    """Without ``stream`` the log is your own inbox (bob was told the Foo was shared with him)."""
    body = client_for(bob).get(LOG, {"since": 0}).json()
    assert body["stream"] == inbox_stream(bob.pk).name
    (frame,) = body["results"]
    assert frame["type"] == "CREATE_NOTIFICATION"
    assert frame["payload"]["object_id"] == encode_id(foo.pk)
    assert frame["meta"]["object_type"] == "inbox"


def test_inbox_of_a_user_without_notifications_is_empty(client_for, carol):
    """An inbox with no history yet is a valid, empty, caught-up stream."""
    body = client_for(carol).get(LOG).json()
    assert (body["stream"], body["results"], body["seq"], body["epoch"], body["next"]) == (
        inbox_stream(carol.pk).name,
        [],
        0,
        None,
        None,
    )


def test_member_reads_the_log_like_the_owner(client_for, bob, foo):
    """Whoever may see the object over REST may read its log (from the change that shared it with them)."""
    assert seqs(client_for(bob).get(LOG, {"stream": stream_of(foo), "since": 1}).json()) == [2]


@pytest.mark.parametrize("whose", ["foo", "inbox"])
def test_other_users_streams_are_not_found(client_for, carol, alice, foo, whose):
    """Another user's object stream or inbox: 404, exactly like an object that does not exist."""
    stream = stream_of(foo) if whose == "foo" else inbox_stream(alice.pk).name
    client = client_for(carol)
    forbidden = client.get(LOG, {"stream": stream, "since": 0})
    unknown = client.get(LOG, {"stream": f"foo.{encode_id(foo.pk + 1000)}", "since": 0})
    assert forbidden.status_code == unknown.status_code == 404
    assert forbidden.json() == unknown.json()


def test_deleted_objects_log_is_not_found(client_for, alice, foo):
    """Once the object is gone its stream is unreadable, as subscribing to it is."""
    name = stream_of(foo)
    foo.delete()
    assert client_for(alice).get(LOG, {"stream": name, "since": 0}).status_code == 404


@pytest.mark.parametrize("name", ["nonsense", "bar.jR3kq9Wz", "foo.!!", "foo.", "user", "a.b.c", "x" * 151])
def test_malformed_or_unknown_stream_names(client_for, alice, foo, name):
    """A name that is no readable stream never errors: 404 (or 400 for an over-long value)."""
    response = client_for(alice).get(LOG, {"stream": name})
    assert response.status_code in {400, 404}
    assert response.status_code == (400 if len(name) > 150 else 404)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"since": "-1"}, "since"),
        ({"since": "abc"}, "since"),
        ({"limit": "0"}, "limit"),
        ({"limit": "many"}, "limit"),
        ({"epoch": "x" * 40, "since": "0"}, "epoch"),
    ],
)
def test_bad_parameters_are_field_errors(client_for, alice, foo, params, field):
    """Bad query parameters: 400 naming the field."""
    response = client_for(alice).get(LOG, {"stream": stream_of(foo), **params})
    assert response.status_code == 400
    assert list(response.json()) == [field]


def test_anonymous_is_unauthenticated(client_for, foo):
    """Without credentials the log answers 401."""
    assert client_for(None).get(LOG).status_code == 401
    assert client_for(None).get(LOG, {"stream": stream_of(foo), "since": 0}).status_code == 401


@pytest.mark.django_db(transaction=True)
async def test_rest_frames_equal_the_websocket_frames(connect, client_for, alice, foo):
    """The REST log returns exactly the frames the WebSocket delivered live and replays."""
    name = stream_of(foo)
    live_socket = await connect(alice)
    await subscribe(live_socket, foo, since=2)
    client = client_for(alice)
    for bar in ("x", "y", "z"):
        response = await sync_to_async(client.patch)(f"/api/foo/{encode_id(foo.pk)}", {"bar": bar}, format="json")
        assert response.status_code == 200
    live = [await live_socket.receive_json_from(timeout=5) for _ in range(3)]
    replay_socket = await connect(alice)
    *replayed, _ = await subscribe(replay_socket, foo, since=2)
    rest = (await sync_to_async(client.get)(LOG, {"stream": name, "since": 2})).json()["results"]
    assert [frame["payload"]["bar"] for frame in live] == ["x", "y", "z"]
    assert rest == live == replayed


# --- inbox read state -------------------------------------------------------------------


def inbox_entry(user, foo: Foo | None = None) -> Notification:
    """``user``'s only inbox entry, or the one about ``foo``."""
    entries = Notification.objects.filter(stream__name=inbox_stream(user.pk).name)
    return entries.get(object_id=foo.pk) if foo is not None else entries.get()


def read_url(notification: Notification) -> str:
    return f"{LOG}{encode_id(notification.pk)}"


def test_mark_read_and_unread(client_for, bob, foo):
    """PATCH ``read`` toggles one notification; the unread count follows."""
    client = client_for(bob)
    entry = inbox_entry(bob)
    assert client.get(f"{LOG}unread-count").json() == {"unread": 1}
    response = client.patch(read_url(entry), {"read": True}, format="json")
    assert response.status_code == 200
    assert (response.json()["id"], response.json()["read"]) == (encode_id(entry.pk), True)
    assert client.get(f"{LOG}unread-count").json() == {"unread": 0}
    assert client.patch(read_url(entry), {"read": False}, format="json").json()["read"] is False
    assert client.get(f"{LOG}unread-count").json() == {"unread": 1}


def test_inbox_page_carries_the_unread_count_up_to_its_seq(client_for, alice, bob, foo):
    """An inbox page counts its unread entries up to its own seq (the head); a later one is not counted; other streams
    have no count."""
    client = client_for(bob)
    page = client.get(LOG).json()
    assert (page["unread"], page["seq"]) == (1, 1)
    other = Foo.objects.create(owner=alice, name="second")
    other.members.add(bob)
    assert client.get(LOG, {"since": 0, "limit": 1}).json()["unread"] == 2
    assert inbox_unread_count(user=bob, through=1) == 1  # an entry committed after the page's head read
    client.patch(read_url(inbox_entry(bob, other)), {"read": True}, format="json")
    assert client.get(LOG).json()["unread"] == 1
    assert "unread" not in client.get(LOG, {"stream": stream_of(foo)}).json()


def test_an_entry_committed_while_the_page_is_built_is_not_in_its_unread(client_for, alice, bob, foo, monkeypatch):
    """An entry committed between the page's log read and its unread count is after the page's seq: not counted."""
    real_read = views.stream_read

    def read_then_share(**kwargs):
        history = real_read(**kwargs)
        other = Foo.objects.create(owner=alice, name="second")
        other.members.add(bob)  # bob's second inbox entry, seq 2
        return history

    monkeypatch.setattr(views, "stream_read", read_then_share)
    page = client_for(bob).get(LOG).json()
    monkeypatch.undo()
    assert (page["seq"], page["unread"], seqs(page)) == (1, 1, [1])
    assert client_for(bob).get(LOG, {"since": 1}).json()["unread"] == 2  # counted by the page that has it


def test_read_state_shows_in_the_log(client_for, bob, foo):
    """A notification read over REST is ``read: true`` when the log is fetched again."""
    client = client_for(bob)
    client.patch(read_url(inbox_entry(bob)), {"read": True}, format="json")
    (frame,) = client.get(LOG, {"since": 0}).json()["results"]
    assert frame["payload"]["read"] is True


def test_read_all(client_for, alice, bob, foo):
    """``read-all`` marks every unread notification read."""
    other = Foo.objects.create(owner=alice, name="second")
    other.members.add(bob)
    client = client_for(bob)
    assert client.get(f"{LOG}unread-count").json() == {"unread": 2}
    assert client.post(f"{LOG}read-all").json() == {"unread": 0}
    assert client.get(f"{LOG}unread-count").json() == {"unread": 0}


def test_read_state_of_someone_elses_notification_is_not_found(client_for, alice, bob, carol, foo):
    """Another user's notification, an event that is no inbox entry, and an unknown id: all 404."""
    entry = inbox_entry(bob)
    assert client_for(carol).patch(read_url(entry), {"read": True}, format="json").status_code == 404
    assert client_for(alice).patch(read_url(entry), {"read": True}, format="json").status_code == 404
    event = Notification.objects.filter(stream__name=stream_of(foo)).first()
    assert client_for(alice).patch(read_url(event), {"read": True}, format="json").status_code == 404
    missing = f"{LOG}{encode_id(entry.pk + 1000)}"
    assert client_for(bob).patch(missing, {"read": True}, format="json").status_code == 404
    entry.refresh_from_db()
    assert entry.read_at is None


def test_read_all_touches_only_your_own_inbox(client_for, alice, bob, carol):
    """``read-all`` by one user leaves other users' notifications unread."""
    shared = Foo.objects.create(owner=alice, name="both")
    shared.members.add(bob, carol)
    client_for(carol).post(f"{LOG}read-all")
    assert client_for(bob).get(f"{LOG}unread-count").json() == {"unread": 1}


def test_bad_read_body_is_a_field_error(client_for, bob, foo):
    """A ``read`` that is not a boolean: 400 naming the field."""
    response = client_for(bob).patch(read_url(inbox_entry(bob)), {"read": "perhaps"}, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["read"]


def test_read_state_needs_a_user(client_for, bob, foo):
    """Anonymous requests to the read-state endpoints: 401."""
    anonymous = client_for(None)
    assert anonymous.get(f"{LOG}unread-count").status_code == 401
    assert anonymous.post(f"{LOG}read-all").status_code == 401
    assert anonymous.patch(read_url(inbox_entry(bob)), {"read": True}, format="json").status_code == 401


# --- tickets ------------------------------------------------------------------------------


def test_ticket_is_issued_and_works_once(client_for, alice, settings):
    """``POST /api/realtime/ticket``: 201 with a ticket that authenticates one handshake as the caller."""
    settings.REALTIME = {"TICKET_TTL": 45}
    response = client_for(alice).post("/api/realtime/ticket")
    assert response.status_code == 201
    body = response.json()
    assert body["expires_in"] == 45
    assert ticket_redeem(key=body["ticket"]) == alice
    assert ticket_redeem(key=body["ticket"]) is None


def test_ticket_needs_a_user(client_for):
    """Anonymous clients get no ticket."""
    assert client_for(None).post("/api/realtime/ticket").status_code == 401
