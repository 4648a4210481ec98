"""The decks on offer: the shipped ones (``core/assets/decks``) and the data folder's (``decks/*.md``).

A deck's translations share its ``id`` (``xray-orientation.en.md``, ``xray-orientation.pt_BR.md``);
a list shows each id once, in the page's language when it has one. Files are read again only when
they change (every follower's phone asks for its deck in its own language).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from core.access.roles import Actor, require_presenter
from core.base.errors import InputError
from core.base.i18n import N_, _, language
from core.base.storage import write_bytes_atomic
from core.data.folders import data_dir
from core.talk.deck import ID_RE, MAX_DECK_BYTES, Deck, parse_deck, read_deck

SHIPPED = Path(__file__).resolve().parents[1] / "assets" / "decks"
USER_FOLDER = "decks"  # in the data folder
MAX_FILES = 100  # deck files read from one folder


@dataclass(frozen=True)
class Library:
    """Every readable deck, and each refused file with its reason (shown in the list, never raised)."""

    decks: tuple[Deck, ...]
    refused: tuple[tuple[str, str], ...]

    def choose(self, language: str) -> list[Deck]:
        """One deck per id, in ``language`` when there is one, else English, else any; shipped ones first."""
        out: dict[str, Deck] = {}
        rank = {language: 0, "en": 1}
        for deck in sorted(self.decks, key=lambda d: (not d.shipped, rank.get(d.language, 2))):
            out.setdefault(deck.id, deck)
        return list(out.values())

    def find(self, deck_id: str, language: str, steps: int | None = None) -> Deck | None:
        """The deck ``deck_id`` in ``language`` (else English, else any) with ``steps`` steps when given."""
        same = [d for d in self.decks if d.id == deck_id and (steps is None or len(d.steps) == steps)]
        rank = {language: 0, "en": 1}
        return min(same, key=lambda d: rank.get(d.language, 2), default=None)


def user_folder(root: str | Path | None = None) -> Path:
    """Where a presenter puts their own decks: ``decks/`` in the data folder."""
    return (Path(root) if root is not None else data_dir()) / USER_FOLDER


def _files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.suffix.lower() == ".md" and p.is_file())[:MAX_FILES]


_CACHE: dict[tuple, Library] = {}
_LOCK = threading.Lock()


def library(root: str | Path | None = None) -> Library:
    """Every deck, read once per change of the files (their names, sizes and times)."""
    files = [(p, True) for p in _files(SHIPPED)] + [(p, False) for p in _files(user_folder(root))]
    stamp = []
    for path, shipped in files:
        try:
            st = path.stat()
        except OSError:
            continue
        stamp.append((str(path), shipped, st.st_mtime_ns, st.st_size))
    key = (language(), *stamp)  # the refusals' words are in the reader's language
    with _LOCK:
        if key in _CACHE:
            return _CACHE[key]
    decks, refused, shipped_ids = [], [], set()
    for name, shipped, _mtime, _size in stamp:
        try:
            deck = read_deck(name, shipped=shipped)
        except InputError as exc:
            refused.append((Path(name).name, str(exc)))
            continue
        if not shipped and deck.id in shipped_ids:
            refused.append((Path(name).name, _("The id {id} is a shipped deck's: give yours another id.").format(
                id=deck.id)))  # fmt: skip
            continue
        if shipped:
            shipped_ids.add(deck.id)
        decks.append(deck)
    found = Library(tuple(decks), tuple(refused))
    with _LOCK:
        _CACHE.clear()  # one listing is current; an old one is never asked again
        _CACHE[key] = found
    return found


def save_deck(data: bytes, name: str, actor: Actor, root: str | Path | None = None) -> Deck:
    """Checks an uploaded deck and saves it in the data folder's ``decks/`` (presenter only).

    Its file is named by its id and language (``<id>.<language>.md``), replacing an earlier upload of
    the same id and language: a presenter fixing a typo uploads the file again.

    Raises:
        NotAllowedError: not the presenter.
        InputError: too large, not UTF-8, not a good deck (with the line), or a shipped deck's id.
    """
    require_presenter(actor, N_("add a deck"))
    if len(data) > MAX_DECK_BYTES:
        raise InputError(_("{source} is larger than {kb} kB: a deck is a text file of steps.").format(
            source=name, kb=MAX_DECK_BYTES // 1024))  # fmt: skip
    try:
        text = data.removeprefix(b"\xef\xbb\xbf").decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(_("{source}, line {line}: {reason}").format(
            source=name, line=data[: exc.start].count(b"\n") + 1, reason=_("This is not UTF-8 text."))) from None  # fmt: skip
    stem = Path(name).name.split(".")[0].lower()
    deck = parse_deck(text, Path(name).name, default_id=stem if ID_RE.match(stem) else "deck")
    if any(d.id == deck.id and d.shipped for d in library(root).decks):
        raise InputError(_("The id {id} is a shipped deck's: give yours another id.").format(id=deck.id))
    folder = user_folder(root)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{deck.id}.{deck.language}.md"
    write_bytes_atomic(path, text.encode("utf-8"))
    return read_deck(path)
