"""Who may do what: the presenter and the audience (docs/ARCHITECTURE.md, "Who may do what").

A visitor is *audience* unless their web session proved the presenter key. Audience may
look, predict and join; only the presenter starts, stops or deletes runs, imports data or
writes notes. The check is :func:`require_presenter`, called by the core functions that do
those things, with the :class:`Actor` the page passes in; the command line and Python
callers act as :data:`LOCAL` (whoever runs them owns the machine).

Which sessions are presenters is kept here, in the server process, keyed by the session id
the runtime gives each browser tab: nothing a browser sends can set it, except the key.

A server with no key that listens on localhost only treats *this computer's user* as the
presenter, and only them: a connection is local when it comes from a loopback address, names
a loopback ``Host`` and carries no proxy header (:class:`Connection`). One that came through a
tunnel (ngrok, ``ssh -R``, an editor's port forwarding) or a reverse proxy on the same machine
names another host or carries ``X-Forwarded-For``/``Forwarded``: it is audience until it proves
the key.
"""

from __future__ import annotations

import hmac
import os
import secrets
import sys
import threading
from dataclasses import dataclass

from core.access.limits import take
from core.base.errors import InputError
from core.base.i18n import _

KEY_ENV = "CNNLAB_PRESENTER_KEY"
LOCAL_ADDRESSES = ("localhost", "127.0.0.1", "::1")
MIN_KEY_LENGTH = 12  # a short key is guessed; 5 attempts a minute per session and 10 per address
PROXY_HEADERS = ("x-forwarded-for", "forwarded", "x-real-ip", "x-forwarded-host", "x-forwarded-proto", "via",
                 "x-original-forwarded-for", "cf-connecting-ip", "true-client-ip")  # fmt: skip


class NotAllowedError(InputError):
    """An audience session asked for something only the presenter may do."""


@dataclass(frozen=True)
class Actor:
    """Who is asking: a web session (``session``) or the local user (``session`` None).

    ``address`` is the client's network address (the one the server saw, or the one a trusted
    proxy forwarded): limits are charged to it as well as to the session (``core.access.limits``).
    """

    session: str | None
    presenter: bool
    address: str | None = None


@dataclass(frozen=True)
class Connection:
    """Where a web session's connection came from: its peer address, ``Host`` and headers.

    ``peer`` is what the server saw (after uvicorn's trusted-proxy rewrite, if any); None when
    there is no network connection at all (an in-process test run).
    """

    peer: str | None
    host: str | None = None
    headers: tuple[str, ...] = ()  # the lower-cased names of the request's headers

    def is_local(self) -> bool:
        """From this computer, straight: loopback peer, loopback ``Host``, no proxy header."""
        if self.peer is None and self.host is None:
            return True  # no network at all: the process's own user (AppTest, scripts)
        if self.peer not in LOCAL_ADDRESSES:
            return False
        if any(h in PROXY_HEADERS for h in self.headers):
            return False
        return host_name(self.host) in LOCAL_ADDRESSES


def host_name(host: str | None) -> str | None:
    """``localhost`` from ``localhost:8501``, ``::1`` from ``[::1]:8501`` (lower case); None if malformed."""
    if not host:
        return None
    host = host.strip().lower()
    if host.startswith("["):
        end = host.find("]")
        return host[1:end] if end > 0 else None
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


class KeyTooShortError(ValueError):
    """``CNNLAB_PRESENTER_KEY`` is shorter than :data:`MIN_KEY_LENGTH`."""


LOCAL = Actor(None, True)  # the command line, tests, Python callers


def require_presenter(actor: Actor, action: str) -> None:
    """Raises :class:`NotAllowedError` unless ``actor`` is the presenter.

    Args:
        action: what was asked, for the message ("start a training").
    """
    if not isinstance(actor, Actor) or not actor.presenter:
        raise NotAllowedError(
            _("Only the presenter can {action}. Ask the speaker, or open the presenter view with the key.").format(
                action=_(action))
        )  # fmt: skip


class _Access:
    """The presenter key, how it was chosen, and the sessions that proved it."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.address: str | None = None
        self.key: str | None = None
        self.env_key: str | None = None
        self.generated = False
        self.problem: str | None = None  # why nobody can present (a key too short), for the pages
        self.presenters: set[str] = set()

    def configure(self, address: str | None) -> None:
        """Decides, once per server, how the presenter is recognised (the first page run calls it).

        - ``CNNLAB_PRESENTER_KEY`` set: that key (at least 12 characters, else nobody presents and
          ``self.problem`` says why: a short key would be guessed).
        - no key, server on localhost only: this computer's user is the presenter (:meth:`actor`).
        - no key, server on other addresses: a key is generated and printed in the server log.
        """
        env_key = os.environ.get(KEY_ENV) or None
        with self.lock:
            if self.address == (address or "") and (env_key is None and self.generated or env_key == self.env_key):
                return  # decided already (a changed address or key is decided again)
            self.address = address or ""
            self.env_key = env_key
            self.key = env_key
            self.generated = False
            self.problem = None
            if env_key is not None and len(env_key) < MIN_KEY_LENGTH:
                self.key = None  # nobody can present with it, and open access is off too (see open_access)
                self.problem = _(
                    "The presenter key in `{env}` has {n} characters: at least {min} are needed (a short key is "
                    "guessed). Nobody can present until the server is restarted with a longer one."
                ).format(env=KEY_ENV, n=len(env_key), min=MIN_KEY_LENGTH)
                print(f"CNN Lab: {KEY_ENV} is too short ({len(env_key)} characters, at least {MIN_KEY_LENGTH} "
                      "needed): the presenter view stays locked.", file=sys.stderr, flush=True)  # fmt: skip
                return
            if self.key is None and not self.local_only():
                self.key = secrets.token_urlsafe(9)
                self.generated = True
                print(
                    f"CNN Lab: this server listens on {self.address or 'every network address'} and "
                    f"{KEY_ENV} is not set. Presenter key for this run: {self.key}  (open "
                    f"http://<this machine>:<port>/?key={self.key} on the presenter's screen)",
                    file=sys.stderr,
                    flush=True,
                )

    def local_only(self) -> bool:
        return (self.address or "") in LOCAL_ADDRESSES

    def open_access(self) -> bool:
        """No key needed: a server that listens on localhost only, with no key configured.

        Even then only a :meth:`Connection.is_local` connection presents (see :meth:`actor`).
        """
        return self.key is None and self.env_key is None and self.local_only()

    def grant(self, session: str, key: str, address: str | None = None) -> bool:
        """Makes ``session`` the presenter when ``key`` is right (attempts are rate-limited per session and address)."""
        take("key", session, address=address)
        if self.key is None or not isinstance(key, str) or not hmac.compare_digest(key.encode(), self.key.encode()):
            return False
        with self.lock:
            self.presenters.add(session)
        return True

    def revoke(self, session: str) -> None:
        with self.lock:
            self.presenters.discard(session)

    def actor(self, session: str, connection: Connection | None = None) -> Actor:
        """``session`` as the core sees it: presenter if it proved the key, or if the server is open
        and the connection is this computer's own (``connection`` None: the same as local)."""
        connection = connection or Connection(None)
        local = self.open_access() and connection.is_local()
        address = connection.peer if connection.peer is not None else None
        return Actor(session, local or session in self.presenters, address)


ACCESS = _Access()
