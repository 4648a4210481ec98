"""Who may do what: the presenter and the audience (DESIGN.md "Who may do what").

A visitor is *audience* unless their web session proved the presenter key. Audience may
look, predict and join; only the presenter starts, stops or deletes runs, imports data or
writes notes. The check is :func:`require_presenter`, called by the core functions that do
those things, with the :class:`Actor` the page passes in; the command line and Python
callers act as :data:`LOCAL` (whoever runs them owns the machine).

Which sessions are presenters is kept here, in the server process, keyed by the session id
the runtime gives each browser tab: nothing a browser sends can set it, except the key.
"""

from __future__ import annotations

import hmac
import os
import secrets
import sys
import threading
from dataclasses import dataclass

from core.errors import InputError
from core.i18n import _
from core.limits import take

KEY_ENV = "CNNLAB_PRESENTER_KEY"
LOCAL_ADDRESSES = ("localhost", "127.0.0.1", "::1")


class NotAllowedError(InputError):
    """An audience session asked for something only the presenter may do."""


@dataclass(frozen=True)
class Actor:
    """Who is asking: a web session (``session``) or the local user (``session`` None)."""

    session: str | None
    presenter: bool


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
        self.generated = False
        self.presenters: set[str] = set()

    def configure(self, address: str | None) -> None:
        """Decides, once per server, how the presenter is recognised (the first page run calls it).

        - ``CNNLAB_PRESENTER_KEY`` set: that key.
        - no key, server on localhost only: everyone who can reach it is the presenter.
        - no key, server on other addresses: a key is generated and printed in the server log.
        """
        env_key = os.environ.get(KEY_ENV) or None
        with self.lock:
            if self.address == (address or "") and (env_key is None and self.generated or env_key == self.key):
                return  # decided already (a changed address or key is decided again)
            self.address = address or ""
            self.key = env_key
            self.generated = False
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
        """No key needed: a server only this machine can reach, with no key configured."""
        return self.key is None and self.local_only()

    def grant(self, session: str, key: str) -> bool:
        """Makes ``session`` the presenter when ``key`` is right (attempts are rate-limited)."""
        take("key", session)
        if self.key is None or not isinstance(key, str) or not hmac.compare_digest(key.encode(), self.key.encode()):
            return False
        with self.lock:
            self.presenters.add(session)
        return True

    def revoke(self, session: str) -> None:
        with self.lock:
            self.presenters.discard(session)

    def actor(self, session: str) -> Actor:
        return Actor(session, self.open_access() or session in self.presenters)


ACCESS = _Access()
