"""A deck: a Markdown file of steps, each with a title, a few lines, speaker notes and a live view.

The format (the README's "Write a deck" shows an example)::

    ---                               optional header, ``key: value`` lines
    id: my-talk                       shared by a deck's translations (default: the file's name)
    title: My talk                    (default: the first ``# Title`` line, else the first step's)
    language: en                      en or pt_BR (default en)
    description: One line for the list.
    ---
    ## The first step's title          every step starts with a level-2 heading
    A few Markdown lines for the screen (and the audience's phones).
    @view learn image=card kernel="sobel x" stride=2    the live view; at most one; none = a slide
    Note:                             the rest of the step is the speaker's notes (as in reveal.js)
    What to say here.

A bad file is refused with an :class:`InputError` that names the line and the reason; nothing is
guessed. The views and their settings are checked by :mod:`core.talk.views`.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from core.base.errors import InputError
from core.base.i18n import LANGUAGES, _, normalize
from core.talk.views import View, check_view

MAX_DECK_BYTES = 256 * 1024  # a deck is text: a talk of 100 steps is about 40 kB
MAX_STEPS = 200
MAX_LINES = 30  # screen lines in a step: it is read from the back of a room (and on a phone)
MAX_TITLE = 120
HEADER_KEYS = ("id", "title", "language", "description")
ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
_STEP = re.compile(r"^##(?!#)\s*(.*)$")
_NOTE = re.compile(r"^note:\s*(.*)$", re.IGNORECASE)


@dataclass(frozen=True)
class Step:
    """One step of a deck: what the screen shows, what the speaker reads, and the app's live view."""

    title: str
    lines: str  # Markdown for the screen
    notes: str  # Markdown for the speaker only
    view: View
    line: int  # where the step starts in its file (1-based)


@dataclass(frozen=True)
class Deck:
    """A parsed deck: ``source`` is where it came from (a path, for messages and the live talk)."""

    id: str
    title: str
    language: str
    description: str
    steps: tuple[Step, ...]
    source: str = ""
    shipped: bool = field(default=False, compare=False)


def _refuse(source: str, line: int, reason: str) -> InputError:
    return InputError(_("{source}, line {line}: {reason}").format(source=source, line=line, reason=reason))


def _header(lines: list[str], source: str) -> tuple[dict, int, dict]:
    """The ``---`` header's keys, the index of the first line after it, and each key's line."""
    if not lines or lines[0].strip() != "---":
        return {}, 0, {}
    found: dict[str, str] = {}
    where: dict[str, int] = {}
    for i, raw in enumerate(lines[1:], start=1):
        text = raw.strip()
        if text == "---":
            return found, i + 1, where
        if not text or text.startswith("#"):
            continue
        key, sep, value = text.partition(":")
        key = key.strip().lower()
        if not sep or key not in HEADER_KEYS:
            raise _refuse(source, i + 1, _("Expected a header line 'key: value' with a key in {keys}. Received: "
                                           "{text}").format(keys=", ".join(HEADER_KEYS), text=text[:80]))  # fmt: skip
        if key in found:
            raise _refuse(source, i + 1, _("'{key}' is given twice.").format(key=key))
        found[key] = value.strip().strip("\"'")
        where[key] = i + 1
    raise _refuse(source, 1, _("The header that starts with '---' never ends: close it with a line '---'."))


def _view_line(text: str, source: str, line: int) -> View:
    try:
        words = shlex.split(text[len("@view") :])
    except ValueError as exc:  # an open quote
        raise _refuse(source, line, _("The @view line cannot be read ({problem}).").format(problem=exc)) from None
    if not words:
        raise _refuse(source, line, _("@view needs a view's name, as in '@view learn kernel=\"sobel x\"'."))
    params: dict[str, str] = {}
    for word in words[1:]:
        key, sep, value = word.partition("=")
        if not sep or not key:
            raise _refuse(source, line, _("Expected settings as key=value. Received: {word}").format(word=word[:60]))
        if key in params:
            raise _refuse(source, line, _("'{key}' is given twice.").format(key=key))
        params[key] = value
    try:
        return check_view(words[0], params, line)
    except InputError as exc:
        raise _refuse(source, line, str(exc)) from None


@dataclass
class _Draft:
    title: str
    line: int
    screen: list[str] = field(default_factory=list)
    notes: list[str] | None = None
    view: View | None = None

    def step(self, source: str) -> Step:
        shown = [s for s in self.screen if s.strip()]
        if len(shown) > MAX_LINES:
            raise _refuse(source, self.line, _("A step shows at most {n} lines on the screen; this one has {m}. Move "
                                               "the rest into its notes (after 'Note:').").format(n=MAX_LINES,
                                                                                              m=len(shown)))  # fmt: skip
        return Step(self.title, "\n".join(self.screen).strip("\n"), "\n".join(self.notes or []).strip("\n"),
                    self.view or View("slide", {}, self.line), self.line)  # fmt: skip


def parse_deck(text: str, source: str = "deck", default_id: str = "deck", default_language: str = "en") -> Deck:
    """Reads a deck from its text.

    Args:
        source: the file's name, for messages.
        default_id: the deck's id when the header gives none (the file's name).
        default_language: the deck's language when the header gives none (``talk.pt_BR.md``: pt_BR).

    Raises:
        InputError: the first problem, with its line: a bad header, text before the first step, an
            unknown view or setting, too many lines or steps, no step at all.
    """
    if len(text.encode("utf-8", "replace")) > MAX_DECK_BYTES:
        raise InputError(_("{source} is larger than {kb} kB: a deck is a text file of steps.").format(
            source=source, kb=MAX_DECK_BYTES // 1024))  # fmt: skip
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    header, start, where = _header(lines, source)
    title = header.get("title", "")
    drafts: list[_Draft] = []
    fence = 0  # the line of an open ``` block (0: none); inside it nothing is a heading, a view or a note
    for i in range(start, len(lines)):
        raw, n = lines[i], i + 1
        text = raw.strip()
        if text.startswith("```"):
            fence = 0 if fence else n
        step = None if fence else _STEP.match(text)
        if step:
            name = step.group(1).strip()
            if not name or len(name) > MAX_TITLE:
                raise _refuse(source, n, _("A step's title is 1 to {n} characters.").format(n=MAX_TITLE))
            if len(drafts) >= MAX_STEPS:
                raise _refuse(source, n, _("A deck has at most {n} steps.").format(n=MAX_STEPS))
            drafts.append(_Draft(name, n))
            continue
        if not drafts:
            if not text or (text.startswith("<!--") and text.endswith("-->")):
                continue
            if text.startswith("# ") and not title:
                title = text[2:].strip()
                continue
            raise _refuse(source, n, _("Text before the first step: start each step with a line '## Title'."))
        draft = drafts[-1]
        if draft.notes is not None:
            draft.notes.append(raw)
        elif not fence and text.startswith("@view"):
            if draft.view is not None:
                raise _refuse(source, n, _("A step has at most one @view line."))
            draft.view = _view_line(text, source, n)
        elif not fence and (note := _NOTE.match(text)):
            draft.notes = [note.group(1)] if note.group(1) else []
        else:
            draft.screen.append(raw)
    if fence:
        raise _refuse(source, fence, _("A ``` block is never closed."))
    if not drafts:
        raise InputError(_("{source} has no step: start each step with a line '## Title'.").format(source=source))
    language = normalize(header.get("language", default_language))
    if header.get("language") and (language is None or language not in LANGUAGES):
        raise _refuse(source, where.get("language", 1), _("Expected language in {choices}. Received: {value}")
                      .format(choices=", ".join(LANGUAGES), value=header["language"][:20]))  # fmt: skip
    deck_id = header.get("id", default_id).lower()
    if not ID_RE.match(deck_id):
        raise _refuse(source, where.get("id", 1), _("Expected an id of lowercase letters, digits and dashes. "
                                                    "Received: {value}").format(value=deck_id[:70]))  # fmt: skip
    steps = tuple(d.step(source) for d in drafts)
    return Deck(deck_id, title or steps[0].title, language or "en", header.get("description", ""), steps, source)


def read_deck(path: str | Path, shipped: bool = False) -> Deck:
    """Reads a deck file (at most :data:`MAX_DECK_BYTES`, UTF-8).

    Raises:
        InputError: the file cannot be read, is too large, is not UTF-8 text, or is not a good deck.
    """
    path = Path(path)
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_DECK_BYTES + 1)
    except OSError as exc:
        raise InputError(_("Cannot read {name}: {problem}").format(name=path.name, problem=exc.strerror)) from None
    if len(data) > MAX_DECK_BYTES:
        raise InputError(_("{source} is larger than {kb} kB: a deck is a text file of steps.").format(
            source=path.name, kb=MAX_DECK_BYTES // 1024))  # fmt: skip
    data = data.removeprefix(b"\xef\xbb\xbf")  # a BOM (the error's position counts from after it)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise _refuse(path.name, line, _("This is not UTF-8 text.")) from None
    parts = path.name.split(".")
    named = normalize(parts[1]) if len(parts) > 2 else None  # talk.pt_BR.md
    deck = parse_deck(text, path.name, default_id=parts[0].lower(),
                      default_language=named if named in LANGUAGES else "en")  # fmt: skip
    return Deck(deck.id, deck.title, deck.language, deck.description, deck.steps, str(path), shipped)
