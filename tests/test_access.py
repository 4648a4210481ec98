"""Who presents (core.access.roles.Connection), limits per address (core.access.limits), upload caps and
allowed hosts: the room's defences against one hostile visitor (issue 22)."""

from __future__ import annotations

import pytest

from core.access import limits
from core.access.roles import MIN_KEY_LENGTH, Connection, _Access, host_name
from core.base.errors import InputError
from core.room.network import allowed_hosts

LOCAL_BROWSER = Connection("127.0.0.1", "localhost:8501", ("host", "user-agent", "origin"))


@pytest.fixture
def open_server(monkeypatch):
    monkeypatch.delenv("CNNLAB_PRESENTER_KEY", raising=False)
    access = _Access()
    access.configure("localhost")
    return access


@pytest.mark.parametrize(
    "connection, presenter",
    [
        (LOCAL_BROWSER, True),
        (Connection("::1", "[::1]:8501", ("host",)), True),
        (Connection("127.0.0.1", "127.0.0.1:8501", ("host",)), True),
        (Connection(None), True),  # no network at all: an in-process run by this computer's user
        # a reverse proxy or tunnel agent on this machine: loopback peer, but it says it forwards
        (Connection("127.0.0.1", "localhost:8501", ("host", "x-forwarded-for")), False),
        (Connection("127.0.0.1", "localhost:8501", ("host", "forwarded")), False),
        (Connection("127.0.0.1", "localhost:8501", ("host", "x-real-ip")), False),
        (Connection("127.0.0.1", "localhost:8501", ("host", "via")), False),
        # ssh -R or an editor's port forwarding: loopback peer, no header, but another Host
        (Connection("127.0.0.1", "talk.example.org", ("host",)), False),
        (Connection("127.0.0.1", "abc.ngrok-free.app", ("host",)), False),
        (Connection("127.0.0.1", None, ()), False),  # no Host at all
        # uvicorn already replaced a trusted proxy's peer with the forwarded address
        (Connection("203.0.113.7", "localhost:8501", ("host",)), False),
        (Connection("127.0.0.2", "localhost:8501", ("host",)), False),  # only the loopback addresses we know
    ],
)
def test_a_keyless_localhost_server_presents_only_to_this_computers_own_connections(open_server, connection, presenter):
    actor = open_server.actor("s1", connection)
    assert actor.presenter is presenter
    assert actor.address == connection.peer


def test_a_proxied_visitor_cannot_prove_a_key_that_does_not_exist(open_server):
    proxied = Connection("127.0.0.1", "localhost:8501", ("host", "x-forwarded-for"))
    assert not open_server.grant("s1", "anything-at-all-long", "127.0.0.1")
    assert not open_server.actor("s1", proxied).presenter


def test_with_a_key_even_this_computer_must_prove_it(monkeypatch):
    monkeypatch.setenv("CNNLAB_PRESENTER_KEY", "a-long-enough-key")
    access = _Access()
    access.configure("localhost")
    assert not access.actor("s1", LOCAL_BROWSER).presenter
    assert access.grant("s1", "a-long-enough-key", None)
    assert access.actor("s1", LOCAL_BROWSER).presenter
    assert not access.actor("s2", LOCAL_BROWSER).presenter


@pytest.mark.parametrize("address", ["localhost", "0.0.0.0"])
def test_a_short_key_is_refused_and_nobody_presents(monkeypatch, capsys, address):
    short = "x" * (MIN_KEY_LENGTH - 1)
    monkeypatch.setenv("CNNLAB_PRESENTER_KEY", short)
    access = _Access()
    access.configure(address)
    assert access.problem and f"{MIN_KEY_LENGTH}" in access.problem
    assert "too short" in capsys.readouterr().err
    assert not access.generated and not access.open_access()
    assert not access.grant("s1", short, None)  # the short key does not work either
    assert not access.actor("s1", LOCAL_BROWSER).presenter  # not even on localhost
    monkeypatch.setenv("CNNLAB_PRESENTER_KEY", "y" * MIN_KEY_LENGTH)
    access.configure(address)  # a restart with a long one
    assert access.problem is None and access.grant("s1", "y" * MIN_KEY_LENGTH, None)


@pytest.mark.parametrize(
    "host, name",
    [("localhost:8501", "localhost"), ("[::1]:8501", "::1"), ("127.0.0.1", "127.0.0.1"), ("LOCALHOST", "localhost"),
     ("[::1", None), ("", None), (None, None)],
)  # fmt: skip
def test_host_names(host, name):
    assert host_name(host) == name


def test_key_attempts_are_counted_per_address_across_sessions(monkeypatch):
    monkeypatch.setenv("CNNLAB_PRESENTER_KEY", "the-right-key-123")
    access = _Access()
    access.configure("0.0.0.0")
    for i in range(limits.ADDRESS_RATES["key"].count):
        assert not access.grant(f"reload-{i}", "wrong", "198.51.100.4")  # a fresh session each time
    with pytest.raises(InputError, match="per network address"):
        access.grant("reload-new", "the-right-key-123", "198.51.100.4")
    assert access.grant("another-phone", "the-right-key-123", "198.51.100.5")


def test_one_address_gets_its_allowance_however_many_sessions_it_opens():
    rate = limits.ADDRESS_RATES["room"]
    for i in range(rate.count):
        limits.take("room", f"session-{i}", address="192.0.2.9")
    with pytest.raises(InputError, match=f"at most {rate.count} submissions to the room per 1 min per network"):
        limits.take("room", "yet-another-session", address="192.0.2.9")
    limits.take("room", "yet-another-session", address="192.0.2.10")  # a neighbour is not slowed


def test_a_refused_action_spends_neither_allowance(monkeypatch):
    monkeypatch.setitem(limits.RATES, "room", limits.Rate(2, 60, "submissions to the room"))
    for _ in range(2):
        limits.take("room", "s1", address="a1")
    with pytest.raises(InputError, match="per visitor"):
        limits.take("room", "s1", address="a1")
    # the address paid for 2, not 3: its allowance is 30 minus what was really accepted
    assert limits.left("room", None, "a1") == pytest.approx(limits.ADDRESS_RATES["room"].count - 2, abs=0.01)


def test_command_line_callers_have_no_limit():
    for _ in range(1000):
        limits.take("room", None)
    assert limits.left("room", None) == float("inf")


MB = 1024**2


def test_the_upload_quota_names_what_is_full():
    quota = limits.UploadQuota(per_session=100 * MB, per_address=200 * MB, total=1000 * MB)
    quota.check(40 * MB, 60 * MB, 150 * MB, 500 * MB)  # exactly at the session's cap: fine
    with pytest.raises(InputError, match="this visitor already holds 61"):
        quota.check(40 * MB, 61 * MB, 150 * MB, 500 * MB)
    with pytest.raises(InputError, match="this network address already holds 170"):
        quota.check(40 * MB, 10 * MB, 170 * MB, 500 * MB)
    with pytest.raises(InputError, match="this server already holds 990"):
        quota.check(40 * MB, 0, 0, 990 * MB)


def test_allowed_hosts(monkeypatch):
    monkeypatch.delenv("CNNLAB_ALLOWED_HOSTS", raising=False)
    monkeypatch.delenv("CNNLAB_PUBLIC_URL", raising=False)
    assert allowed_hosts("localhost") == ["localhost", "127.0.0.1", "::1"]  # no tunnel named: loopback only
    assert allowed_hosts("0.0.0.0") is None  # on the network: any host (roles still make them audience)
    monkeypatch.setenv("CNNLAB_ALLOWED_HOSTS", "*.ngrok-free.app, talk.example.org")
    monkeypatch.setenv("CNNLAB_PUBLIC_URL", "https://cnn.example.net/")
    assert allowed_hosts("localhost") == ["localhost", "127.0.0.1", "::1", "*.ngrok-free.app", "talk.example.org",
                                          "cnn.example.net"]  # fmt: skip
    assert "talk.example.org" in allowed_hosts("0.0.0.0")


def test_a_sliding_window_never_lets_more_than_the_rate_through_in_any_window(monkeypatch):
    """A token bucket would let a fresh address send 30 at once and 30 more during the next minute."""
    clock = [1000.0]
    monkeypatch.setattr(limits.time, "monotonic", lambda: clock[0])
    accepted = []
    for step in range(600):  # one attempt every 0.5 s for 5 minutes, each from a new session (a reload)
        clock[0] = 1000.0 + step * 0.5
        try:
            limits.take("room", f"reload-{step}", address="203.0.113.50")
        except InputError as exc:
            assert "per network address" in str(exc) and "Try again in" in str(exc)
        else:
            accepted.append(clock[0])
    rate = limits.ADDRESS_RATES["room"]
    for t in accepted:  # any 60-s window starting at an accepted submission
        assert sum(1 for u in accepted if t <= u < t + rate.seconds) <= rate.count
    assert len(accepted) >= 4 * rate.count  # and it is a rate, not a ban: about 30 a minute get through


def test_the_wait_it_names_is_when_it_works_again(monkeypatch):
    clock = [500.0]
    monkeypatch.setattr(limits.time, "monotonic", lambda: clock[0])
    monkeypatch.setitem(limits.RATES, "room", limits.Rate(3, 60, "submissions to the room"))
    for _ in range(3):
        limits.take("room", "s1")
    with pytest.raises(InputError, match=r"Try again in (\d+) s") as refused:
        limits.take("room", "s1")
    wait = float(__import__("re").search(r"Try again in (\d+) s", str(refused.value)).group(1))
    clock[0] += wait + 0.5
    limits.take("room", "s1")  # works once that time has passed


def test_memory_stays_bounded_under_a_flood_of_sessions(monkeypatch):
    monkeypatch.setattr(limits, "MAX_KEYS", 100)
    for i in range(1000):
        limits.take("predict", f"session-{i}", address=f"198.51.100.{i % 250}")
    assert len(limits._SPENT) <= 100
