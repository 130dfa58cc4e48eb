"""Per-user limits of one process (``realtime.quotas``): the socket cap and the message bucket of a user's sockets."""

from __future__ import annotations

import asyncio

import pytest

from realtime.quotas import UserQuotas, get_user_quotas


@pytest.fixture
def limits(settings):
    settings.REALTIME = {"MAX_SOCKETS_PER_USER": 2, "USER_RATE_LIMIT": 0.001, "USER_RATE_BURST": 3}


def test_a_user_may_open_up_to_the_cap(limits):
    """The third socket of a user is refused at MAX_SOCKETS_PER_USER=2, and not counted."""
    quotas = UserQuotas()
    assert quotas.open(1, "a")
    assert quotas.open(1, "b")
    assert not quotas.open(1, "c")
    assert quotas.sockets["1"] == {"a", "b"}


def test_closing_a_socket_frees_its_place(limits):
    """Once one socket closes, the user may open another."""
    quotas = UserQuotas()
    quotas.open(1, "a")
    quotas.open(1, "b")
    quotas.close(1, "a")
    assert quotas.open(1, "c")


def test_the_cap_is_per_user(limits):
    """Another user's sockets do not count against this one's."""
    quotas = UserQuotas()
    quotas.open(1, "a")
    quotas.open(1, "b")
    assert quotas.open(2, "c")


def test_counting_the_same_socket_twice_takes_one_place(limits):
    """``open`` of a channel already counted succeeds without taking another place."""
    quotas = UserQuotas()
    quotas.open(1, "a")
    quotas.open(1, "b")
    assert quotas.open(1, "a")
    assert quotas.sockets["1"] == {"a", "b"}


def test_a_cap_of_zero_means_no_cap(settings):
    """MAX_SOCKETS_PER_USER=0 turns the cap off."""
    settings.REALTIME = {"MAX_SOCKETS_PER_USER": 0}
    quotas = UserQuotas()
    assert all(quotas.open(1, f"socket-{n}") for n in range(100))


def test_user_keys_are_strings_of_the_pk(limits):
    """A pk given as int or str is the same user (scopes and layer messages differ in type)."""
    quotas = UserQuotas()
    quotas.open(1, "a")
    quotas.open("1", "b")
    assert not quotas.open(1, "c")


def test_the_message_bucket_is_shared_by_a_users_sockets_and_separate_between_users(limits):
    """USER_RATE_BURST=3: three messages in all, from any of the user's sockets; another user has their own three."""
    quotas = UserQuotas()
    quotas.open(1, "a")
    quotas.open(1, "b")
    assert [quotas.allow_message(1) for _ in range(3)] == [True, True, True]
    assert not quotas.allow_message(1)
    assert [quotas.allow_message(2) for _ in range(3)] == [True, True, True]


def test_the_last_socket_closing_forgets_the_user(limits):
    """No state is left behind a user with no socket: neither the socket set nor the bucket."""
    quotas = UserQuotas()
    quotas.open(1, "a")
    quotas.allow_message(1)
    quotas.close(1, "a")
    assert "1" not in quotas.sockets
    assert "1" not in quotas.buckets


def test_a_refused_open_leaves_nothing_behind(settings):
    """After a refused open, closing the one counted socket forgets the user."""
    settings.REALTIME = {"MAX_SOCKETS_PER_USER": 1}
    quotas = UserQuotas()
    quotas.open(1, "a")
    assert not quotas.open(1, "b")
    quotas.close(1, "a")
    assert quotas.sockets == {}


def test_closing_an_unknown_socket_is_harmless(limits):
    """``close`` of a socket that was never counted (refused at the cap) changes nothing."""
    quotas = UserQuotas()
    quotas.open(1, "a")
    quotas.close(1, "never-opened")
    quotas.close(2, "never-opened")
    assert quotas.sockets == {"1": {"a"}}


def test_each_event_loop_has_its_own_quotas():
    """``get_user_quotas`` is one object per running loop (one per process under daphne)."""

    async def twice() -> tuple[UserQuotas, UserQuotas]:
        return get_user_quotas(), get_user_quotas()

    first, again = asyncio.run(twice())
    other, _ = asyncio.run(twice())
    assert first is again
    assert first is not other
