"""Talk mode's core, without the app: the deck format (good files read, bad ones refused with their
line), the shipped decks and their translations, the library of decks, the live talk (presenter
only, damaged files read as no talk, a deck found only in the deck folders) and what a step needs
from this machine."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from conftest import ROOT, seed_run

from core.access.roles import LOCAL, Actor, NotAllowedError
from core.base.errors import InputError
from core.base.storage import write_json_atomic
from core.data.folders import data_dir
from core.models.presets import PRESETS
from core.runs.store import runs_dir
from core.talk.deck import MAX_DECK_BYTES, MAX_LINES, MAX_STEPS, MAX_TITLE, parse_deck, read_deck
from core.talk.library import SHIPPED, library, save_deck, user_folder
from core.talk.live import LIVE, LiveTalk, end_talk, go_to, live_talk, start_talk, talk_deck
from core.talk.needs import find_curves, find_image, find_model, missing
from core.talk.views import SAMPLES_PER_CLASS, VIEWS, ImageRef, check_view, image_ref

AUDIENCE = Actor("sess", False)
IMAGES_PRESET = next(name for name, p in PRESETS.items() if p.task == "images")
TABLE_PRESET = next(name for name, p in PRESETS.items() if p.task == "table")
MNIST_PRESET = next(name for name, p in PRESETS.items() if p.task == "mnist")


@pytest.fixture(autouse=True)
def fresh_decks(monkeypatch):
    """Each test sees a deck's file as it is now: no deck remembered from another test or a second ago."""
    from core.talk import live

    monkeypatch.setattr(live, "DECK_TTL_SECONDS", 0.0)
    live._DECKS.clear()


def default(kind: str, name: str):
    return VIEWS[kind][1][name][1]


def refusal(text: str) -> str:
    with pytest.raises(InputError) as info:
        parse_deck(text, "bad.md")
    return str(info.value)


def line_of(text: str, marker: str) -> int:
    """The 1-based line of ``text`` where ``marker`` first appears."""
    return next(i for i, line in enumerate(text.split("\n"), 1) if marker in line)


def with_view(view: str) -> str:
    return f"---\ntitle: T\n---\n\n## First\nSome words.\n\n## Second\n{view}\nNote:\nsay it\n"


def write_deck(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def deck_text(deck_id: str, language: str, titles: list[str], title: str | None = None) -> str:
    head = f"---\nid: {deck_id}\nlanguage: {language}\ntitle: {title or deck_id}\n---\n"
    return head + "".join(f"## {t}\n@view learn stride={i + 1}\nNote:\nnote {i}\n" for i, t in enumerate(titles))


# ----------------------------------------------------------------------------- the format, good files


def test_a_header_gives_the_id_title_language_and_description():
    text = (
        '---\n# a comment in the header\nid: My-Talk\ntitle: "A talk: its title"\nlanguage: pt-BR\n'
        "description: One line.\n---\n## Step one\nHello\n"
    )
    deck = parse_deck(text, "x.md", default_id="file-name")
    assert (deck.id, deck.title, deck.language, deck.description) == ("my-talk", "A talk: its title", "pt_BR",
                                                                     "One line.")  # fmt: skip
    assert [s.title for s in deck.steps] == ["Step one"]
    assert deck.steps[0].line == line_of(text, "## Step one")


def test_without_a_header_the_title_is_the_hash_line_else_the_first_steps():
    text = "<!-- a comment -->\n\n# The big title\n\n## Step one\nHello\n## Step two\n"
    deck = parse_deck(text, "x.md", default_id="from-file")
    assert (deck.id, deck.title, deck.language, deck.description) == ("from-file", "The big title", "en", "")
    assert parse_deck("## Only a step\n", "x.md").title == "Only a step"


def test_the_id_defaults_to_the_files_name(tmp_path):
    path = write_deck(tmp_path, "my-talk.en.md", "## One\nHi\n")
    deck = read_deck(path)
    assert deck.id == "my-talk"
    assert deck.source == str(path) and not deck.shipped
    assert read_deck(write_deck(tmp_path, "Plain.md", "## One\n")).id == "plain"


def test_steps_have_their_lines_notes_and_view():
    text = (
        "## First\nline one\n\nline two\nNote: said on the same line\nand the next one\n@view learn\n"
        '## Second\n@view learn image=card:64 kernel="sobel x" stride=2 pool_size=3 relu=off bias=-0.5\n'
        "shown\nnote:\nlower-case notes\n"
        "## Third\nNote:\n\nonly after\n"
    )
    first, second, third = parse_deck(text, "x.md").steps
    assert first.lines == "line one\n\nline two"
    assert first.notes == "said on the same line\nand the next one\n@view learn"  # after Note:, all is notes
    assert first.view.kind == "slide"
    assert second.lines == "shown" and second.notes == "lower-case notes"
    assert third.lines == "" and third.notes == "only after"
    view = second.view
    assert view.kind == "learn" and view.line == line_of(text, "@view learn image")
    assert view.get("image") == ImageRef("card", 64)
    assert view.get("kernel") == "sobel x"
    assert (view.get("stride"), view.get("pool_size"), view.get("relu"), view.get("bias")) == (2, 3, False, -0.5)
    assert view.get("pool_stride") == 3  # Keras's default: the pool's size
    assert view.get("padding") == default("learn", "padding")


def test_a_views_defaults_are_filled():
    deck = parse_deck("## A\n@view learn\n## B\n@view predict image='chest-orientation/lateral#3'\n", "x.md")
    learn, predict = (s.view for s in deck.steps)
    for name in ("image", "kernel", "stride", "padding", "bias", "relu", "pool", "pool_size"):
        assert learn.get(name) == default("learn", name), name
    assert learn.get("pool_stride") == default("learn", "pool_size")
    assert predict.get("image") == ImageRef("folder", 3, "chest-orientation", "lateral")
    assert predict.get("model") == default("predict", "model")
    assert predict.get("rotate") == default("predict", "rotate")


def test_fenced_code_is_screen_text_not_steps_views_or_notes():
    text = (
        "## Code\nBefore\n```python\n## not a step\n@view learn stride=0\nNote: not a note\n```\nafter\n"
        "Note:\n```\n## not a step either\n```\nreal note\n## Next\n"
    )
    deck = parse_deck(text, "x.md")
    assert [s.title for s in deck.steps] == ["Code", "Next"]
    code = deck.steps[0]
    assert code.view.kind == "slide"
    assert "## not a step\n@view learn stride=0\nNote: not a note" in code.lines
    assert code.lines.endswith("```\nafter")
    assert code.notes == "```\n## not a step either\n```\nreal note"


def test_crlf_and_cr_line_endings_read_as_lf(tmp_path):
    text = "---\nid: ends\ntitle: Endings\n---\n## One\nfirst\nsecond\n@view learn stride=2\nNote:\nsay\n## Two\n"
    lf = read_deck(write_deck(tmp_path, "lf.md", text))
    for name, ending in (("crlf.md", "\r\n"), ("cr.md", "\r")):
        path = tmp_path / name
        path.write_bytes(text.replace("\n", ending).encode())
        deck = read_deck(path)
        assert (deck.id, deck.title, deck.steps) == (lf.id, lf.title, lf.steps)
        assert "\r" not in deck.steps[0].lines + deck.steps[0].notes


def test_a_bom_is_not_part_of_the_text(tmp_path):
    path = tmp_path / "bom.md"
    path.write_bytes(b"\xef\xbb\xbf---\nid: with-bom\ntitle: T\n---\n## One\n")
    deck = read_deck(path)
    assert (deck.id, deck.title, [s.title for s in deck.steps]) == ("with-bom", "T", ["One"])


# ----------------------------------------------------------------------------- the format, bad files


BAD_VIEWS = [
    ("@view film", "Expected a view in"),
    ("@view learn colour=red", "no setting 'colour'"),
    ("@view learn stride=0", "stride: Expected a number in 1..8"),
    ("@view learn stride=x", "stride: Expected a number in 1..8"),
    ("@view learn stride=1.5", "stride: Expected a number"),
    ("@view learn bias=nan", "bias: Expected a number"),
    ('@view learn kernel="nope"', "kernel: Expected one of"),
    ("@view learn image=../etc#1", "image: Expected an image as"),
    ("@view learn image=/etc/passwd#1", "image: Expected an image as"),
    (f"@view learn image=chest-orientation/lateral#{SAMPLES_PER_CLASS}", f"0..{SAMPLES_PER_CLASS - 1}"),
    ("@view learn image=mnist#10000", "0..9999"),
    ("@view learn image=card:33", "test card size"),
    ("@view learn image=photo", "image: Expected an image as"),
    ("@view learn stride=1 stride=2", "'stride' is given twice"),
    ("@view learn stride", "key=value"),
    ('@view learn kernel="sobel x', "cannot be read"),
    ("@view", "needs a view's name"),
    ("@view predict", "needs image="),
    ("@view predict image=card model=../x", "model: Expected shipped, a preset or a run id"),
    ("@view layers", "needs preset="),
    (f"@view curves preset={MNIST_PRESET} run=20261120-100000-x", "exactly one of preset, run"),
    ("@view curves metric=loss", "exactly one of preset, run"),
    (f"@view layers preset={TABLE_PRESET}", "table"),
    (f"@view train preset={TABLE_PRESET}", "table"),
    (f"@view layers preset={IMAGES_PRESET} data=mnist", "does not fit"),
    (f"@view train preset={MNIST_PRESET} data=chest-orientation", "does not fit"),
    ("@view train preset=no-such-preset", "preset: Expected one of"),
    ("@view hood layout=diagonal", "layout: Expected one of"),
    ("@view wall size=big", "takes none"),
]


@pytest.mark.parametrize(("view", "reason"), BAD_VIEWS, ids=[v for v, _r in BAD_VIEWS])
def test_a_bad_view_is_refused_with_its_line(view, reason):
    text = with_view(view)
    message = refusal(text)
    assert message.startswith("bad.md, line "), message
    assert f"line {line_of(text, '@view')}:" in message, message
    assert reason in message, message


def test_good_versions_of_the_refused_views_are_read():
    """The refusals above are about the value, not the setting: each setting takes a good value."""
    for view in (
        "@view learn stride=8 bias=1.5 kernel=identity image=chest-orientation/lateral#23",
        "@view learn image=mnist#9999 kernel=laplacian",
        "@view learn image=card:32 padding=same pool=off",
        "@view curves run=20261120-100000-x metric=loss",
        f"@view layers preset={IMAGES_PRESET} data=chest-orientation",
        f"@view train preset={MNIST_PRESET} data=mnist epochs=3",
        "@view predict image=mnist#7 model=shipped rotate=-180 flip=vertical gradcam=off",
        "@view hood layout=side",
        "@view wall",
    ):
        assert parse_deck(with_view(view), "x.md").steps[1].view.kind == view.split()[1], view


BAD_FILES = [
    ("hello\n## One\n", "hello", "before the first step"),
    ("# Title\n# Second title\n## One\n", "# Second", "before the first step"),
    ("---\ntitle: T\nauthor: me\n---\n## One\n", "author", "key: value"),
    ("---\ntitle: T\ntitle: U\n---\n## One\n", "title: U", "given twice"),
    ("---\ntitle: T\ndescription: no end\n\n", "---", "never ends"),
    ("---\ntitle: T\n## One\nwords\n", "words", "key: value"),  # a header that is not closed eats the steps
    ("## One\n@view learn\n@view learn stride=2\n", "stride=2", "at most one @view"),
    ("## One\ntext\n```python\ncode\n## Two\nmore\n", "```python", "never closed"),
    ("## One\n##   \n", "##   ", f"1 to {MAX_TITLE} characters"),
    (f"## One\n## {'x' * (MAX_TITLE + 1)}\n", "xxx", f"1 to {MAX_TITLE} characters"),
    ("---\ntitle: T\nlanguage: fr\n---\n## One\n", "language", "Expected language in"),
    ("---\ntitle: T\nid: Bad_Id\n---\n## One\n", "id:", "Received: bad_id"),
    ("---\nid: ../up\n---\n## One\n", "id:", "Expected an id"),
]


@pytest.mark.parametrize(("text", "marker", "reason"), BAD_FILES, ids=[r for _t, _m, r in BAD_FILES])
def test_a_bad_file_is_refused_with_its_line(text, marker, reason):
    message = refusal(text)
    assert f"bad.md, line {line_of(text, marker)}:" in message, message
    assert reason in message, message


def test_a_step_shows_at_most_max_lines_on_the_screen():
    fits = "## Intro\n\n## Long\n" + "".join(f"line {i}\n\n" for i in range(MAX_LINES)) + "Note:\n" + "n\n" * 99
    assert len(parse_deck(fits, "x.md").steps[1].lines.split("\n")) >= MAX_LINES  # blank lines and notes are free
    too_many = "## Intro\n\n## Long\n" + "".join(f"line {i}\n" for i in range(MAX_LINES + 1))
    message = refusal(too_many)
    assert f"line {line_of(too_many, '## Long')}:" in message
    assert f"at most {MAX_LINES} lines" in message and f"this one has {MAX_LINES + 1}" in message


def test_a_deck_has_at_most_max_steps():
    assert len(parse_deck("".join(f"## S{i}\n" for i in range(MAX_STEPS)), "x.md").steps) == MAX_STEPS
    text = "".join(f"## S{i}\n" for i in range(MAX_STEPS + 1))
    message = refusal(text)
    assert f"line {MAX_STEPS + 1}:" in message and f"at most {MAX_STEPS} steps" in message


@pytest.mark.parametrize("text", ["", "\n\n", "---\ntitle: T\n---\n", "<!-- only a comment -->\n", "# Title\n"])
def test_a_deck_without_a_step_is_refused(text):
    assert "has no step" in refusal(text)


def test_a_file_larger_than_the_limit_is_refused(tmp_path):
    head = "## One\nNote:\n"  # notes have no line limit: only the bytes count here
    fits = write_deck(tmp_path, "fits.md", head + "x" * (MAX_DECK_BYTES - len(head)))
    assert fits.stat().st_size == MAX_DECK_BYTES
    assert len(read_deck(fits).steps[0].notes) == MAX_DECK_BYTES - len(head)
    big = write_deck(tmp_path, "big.md", fits.read_text() + "x")
    with pytest.raises(InputError, match=f"big.md is larger than {MAX_DECK_BYTES // 1024} kB"):
        read_deck(big)
    with pytest.raises(InputError, match="big.md is larger than"):
        parse_deck(big.read_text(), "big.md")


def test_read_deck_refuses_with_the_line_too(tmp_path):
    with pytest.raises(InputError, match=f"many.md, line {MAX_STEPS + 1}: A deck has at most"):
        read_deck(write_deck(tmp_path, "many.md", "## One\n" * (MAX_STEPS + 1)))


@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"])
def test_non_utf8_bytes_are_refused_with_the_line_of_the_bad_byte(tmp_path, bom):
    path = tmp_path / "latin.md"
    path.write_bytes(bom + b"## One\nfine\n\xe9t\xe9\nmore\n")
    with pytest.raises(InputError) as info:
        read_deck(path)
    assert "latin.md, line 3:" in str(info.value) and "UTF-8" in str(info.value)


def test_a_file_name_that_is_no_id_is_refused(tmp_path):
    with pytest.raises(InputError, match="line 1: Expected an id of .* Received: my talk"):
        read_deck(write_deck(tmp_path, "My Talk.en.md", "## One\n"))
    assert read_deck(write_deck(tmp_path, "My Talk.md", "---\nid: fine\n---\n## One\n")).id == "fine"


def test_a_missing_file_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="Cannot read absent.md"):
        read_deck(tmp_path / "absent.md")


def test_image_refs_print_as_they_are_written():
    for text in ("card:64", "mnist#7", "chest-orientation/lateral#3"):
        assert str(image_ref(text)) == text
    assert image_ref("card") == ImageRef("card", 128)


def test_check_view_alone_refuses_without_a_line():
    with pytest.raises(InputError, match="Expected a view in"):
        check_view("slides", {})
    assert check_view("learn", {"pool_size": "4"}).get("pool_stride") == 4
    assert check_view("learn", {"pool_size": "4", "pool_stride": "1"}).get("pool_stride") == 1


# ----------------------------------------------------------------------------- the shipped decks

SHIPPED_FILES = sorted(SHIPPED.glob("*.md"))


def views_of(deck) -> list[tuple]:
    return [(s.view.kind, s.view.params) for s in deck.steps]


def test_there_are_shipped_decks():
    assert len(SHIPPED_FILES) >= 2


@pytest.mark.parametrize("path", SHIPPED_FILES, ids=[p.name for p in SHIPPED_FILES])
def test_each_shipped_deck_reads_and_its_name_says_its_id_and_language(path):
    deck = read_deck(path, shipped=True)
    deck_id, language = path.name.split(".")[:2]
    assert (deck.id, deck.language) == (deck_id, language)
    assert deck.shipped and deck.description and len(deck.steps) >= 3
    assert any(s.view.kind != "slide" for s in deck.steps)
    assert (SHIPPED / f"{deck_id}.en.md").is_file(), "every deck has its English file"


@pytest.mark.parametrize("path", sorted(SHIPPED.glob("*.en.md")), ids=lambda p: p.name)
def test_a_translation_has_the_same_steps_and_views(path):
    translation = path.with_name(path.name.replace(".en.md", ".pt_BR.md"))
    if not translation.is_file():
        pytest.skip(f"no {translation.name} yet")
    en, pt = read_deck(path), read_deck(translation)
    assert pt.id == en.id and pt.language == "pt_BR"
    assert len(pt.steps) == len(en.steps)
    for i, (a, b) in enumerate(zip(views_of(en), views_of(pt))):
        assert a == b, f"step {i + 1}: {en.steps[i].title!r} / {pt.steps[i].title!r}"
    assert [s.title for s in pt.steps] != [s.title for s in en.steps], "the translation is translated"


# ----------------------------------------------------------------------------- the library


def test_the_data_folders_decks_are_listed_beside_the_shipped_ones():
    mine = write_deck(user_folder(), "mine.en.md", "---\ntitle: Mine\n---\n## Hello\n")
    lib = library()
    ours = [d for d in lib.decks if not d.shipped]
    assert [(d.id, d.title, d.source) for d in ours] == [("mine", "Mine", str(mine))]
    shipped = [d for d in lib.decks if d.shipped]
    assert {Path(d.source).parent for d in shipped} == {SHIPPED}
    assert {d.id for d in shipped} == {p.name.split(".")[0] for p in SHIPPED_FILES}
    assert "mine" in [d.id for d in lib.choose("en")]
    assert lib.find("mine", "en") == ours[0]
    assert library(data_dir()) is lib, "an unchanged folder is not read again"


def test_a_bad_deck_is_refused_with_its_reason_and_the_others_stay():
    folder = user_folder()
    write_deck(folder, "a-good.md", "## One\n")
    text = "## One\n\n@view learn stride=99\n"
    write_deck(folder, "b-bad.md", text)
    write_deck(folder, "c-good.md", "## One\n")
    write_deck(folder, "notes.txt", "not a deck")
    lib = library()
    assert [d.id for d in lib.decks if not d.shipped] == ["a-good", "c-good"]
    refused = {name: why for name, why in lib.refused if not (SHIPPED / name).exists()}
    assert list(refused) == ["b-bad.md"]
    assert f"line {line_of(text, '@view')}" in refused["b-bad.md"] and "stride" in refused["b-bad.md"]


def test_a_data_deck_cannot_take_a_shipped_id():
    shipped_id = SHIPPED_FILES[0].name.split(".")[0]
    write_deck(user_folder(), "copy.md", f"---\nid: {shipped_id}\nlanguage: pt_BR\n---\n## Mine\n")
    lib = library()
    refused = dict(lib.refused)
    assert "copy.md" in refused and shipped_id in refused["copy.md"]
    assert not any(d.source.endswith("copy.md") for d in lib.decks)
    assert all(d.shipped for d in lib.decks if d.id == shipped_id)


def test_choose_prefers_the_languages_translation_else_english():
    folder = user_folder()
    write_deck(folder, "both.en.md", deck_text("both", "en", ["One", "Two"], "Both in English"))
    write_deck(folder, "both.pt_BR.md", deck_text("both", "pt_BR", ["Um", "Dois"], "Ambos em português"))
    write_deck(folder, "solo.en.md", deck_text("solo", "en", ["Only"], "Only English"))
    lib = library()

    def titles(language: str) -> dict:
        return {d.id: d.title for d in lib.choose(language) if d.id in ("both", "solo")}

    assert titles("pt_BR") == {"both": "Ambos em português", "solo": "Only English"}
    assert titles("en") == {"both": "Both in English", "solo": "Only English"}
    ids = [d.id for d in lib.choose("pt_BR")]
    assert len(ids) == len(set(ids)), "each id once"
    shipped = [d.shipped for d in lib.choose("pt_BR")]
    assert shipped == sorted(shipped, reverse=True), "shipped decks first"
    assert lib.find("both", "pt_BR").language == "pt_BR"
    assert lib.find("both", "pt_BR", steps=3) is None
    assert lib.find("solo", "pt_BR").language == "en"


def test_a_changed_file_is_read_again():
    path = write_deck(user_folder(), "edit.md", "---\ntitle: Before\n---\n## One\n")
    assert [d.title for d in library().decks if d.id == "edit"] == ["Before"]
    stamp = path.stat().st_mtime_ns
    path.write_text("---\ntitle: Later!\n---\n## One\n")  # the same size: only the time tells
    assert path.stat().st_size == len("---\ntitle: Before\n---\n## One\n")
    os.utime(path, ns=(stamp + 2_000_000_000, stamp + 2_000_000_000))
    assert [d.title for d in library().decks if d.id == "edit"] == ["Later!"]
    path.unlink()
    assert "edit" not in [d.id for d in library().decks]


# ----------------------------------------------------------------------------- the live talk


@pytest.fixture
def my_deck():
    return read_deck(write_deck(user_folder(), "live.en.md", deck_text("live", "en", ["One", "Two", "Three"])))


def test_the_audience_cannot_start_move_or_end_a_talk(my_deck):
    with pytest.raises(NotAllowedError):
        start_talk(my_deck, AUDIENCE)
    assert not (data_dir() / LIVE).exists() and live_talk() is None
    start_talk(my_deck, LOCAL)
    before = (data_dir() / LIVE).read_bytes()
    for attempt in (lambda: start_talk(my_deck, AUDIENCE, step=2), lambda: go_to(2, AUDIENCE),
                    lambda: end_talk(AUDIENCE), lambda: end_talk(None)):  # fmt: skip
        with pytest.raises(NotAllowedError):
            attempt()
        assert (data_dir() / LIVE).read_bytes() == before
    assert live_talk().step == 0


def test_the_presenter_starts_moves_and_ends_a_talk(my_deck):
    talk = start_talk(my_deck, LOCAL)
    assert (talk.deck, talk.file, talk.language, talk.steps, talk.step) == ("live", my_deck.source, "en", 3, 0)
    assert live_talk() == talk
    first = talk.signature
    moved = go_to(1, LOCAL)
    assert moved.step == 1 and live_talk() == moved and moved.signature != first
    assert moved.started == talk.started and moved.moved >= talk.moved
    assert go_to(1, LOCAL) == moved, "the same step is no move"
    assert go_to(99, LOCAL).step == len(my_deck.steps) - 1
    assert go_to(-5, LOCAL).step == 0
    assert live_talk().step == 0
    again = start_talk(my_deck, LOCAL)
    assert again.step == 0 and again.signature != first, "a restarted deck is a new talk to the followers"
    assert again.started > talk.started
    assert start_talk(my_deck, LOCAL, step=7).step == len(my_deck.steps) - 1
    end_talk(LOCAL)
    assert live_talk() is None and not (data_dir() / LIVE).exists()
    end_talk(LOCAL)  # ending twice is fine
    with pytest.raises(InputError, match="No talk is on"):
        go_to(1, LOCAL)


GOOD = {"deck": "live", "file": "x.md", "language": "en", "steps": 3, "step": 1, "started": 1.0, "moved": 2.0}
PLANTED = [
    ("good", json.dumps(GOOD)),
    ("not json", "{this is not json"),
    ("empty", ""),
    ("a list", json.dumps([GOOD])),
    ("no step", json.dumps({k: v for k, v in GOOD.items() if k != "step"})),
    ("steps text", json.dumps({**GOOD, "steps": "three"})),
    ("step null", json.dumps({**GOOD, "step": None})),
    ("step a list", json.dumps({**GOOD, "step": [1]})),
    ("started text", json.dumps({**GOOD, "started": "yesterday"})),
    ("step past the end", json.dumps({**GOOD, "step": 3})),
    ("step negative", json.dumps({**GOOD, "step": -1})),
    ("no steps", json.dumps({**GOOD, "steps": 0, "step": 0})),
    ("too large", json.dumps({**GOOD, "deck": "x" * 20_000})),
]


@pytest.mark.parametrize(("case", "content"), PLANTED, ids=[c for c, _t in PLANTED])
def test_a_damaged_or_planted_talk_file_reads_as_no_talk(case, content):
    folder = data_dir()
    folder.mkdir(parents=True)
    (folder / LIVE).write_text(content)
    talk = live_talk()
    if case == "good":
        assert talk == LiveTalk(**GOOD)
    else:
        assert talk is None


def plant(talk: dict) -> LiveTalk:
    write_json_atomic(data_dir() / LIVE, talk)
    found = live_talk()
    assert found is not None
    return found


def test_talk_deck_reads_only_the_deck_folders(tmp_path, my_deck):
    elsewhere = write_deck(tmp_path / "elsewhere", "ghost.en.md", deck_text("ghost", "en", ["A", "B", "C"]))
    base = {**GOOD, "deck": "ghost", "steps": 3, "step": 0}
    assert talk_deck(plant({**base, "file": "/etc/passwd", "steps": 1}), "en") is None
    assert talk_deck(plant({**base, "file": str(elsewhere)}), "en") is None
    sneaky = user_folder() / ".." / ".." / "elsewhere" / "ghost.en.md"
    assert sneaky.resolve() == elsewhere.resolve()
    assert talk_deck(plant({**base, "file": str(sneaky)}), "en") is None
    # the same planted talk, with the file in the data folder's decks: read (the deck folder is the test)
    inside = write_deck(user_folder(), "renamed.md", elsewhere.read_text())
    assert talk_deck(plant({**base, "deck": "unknown", "file": str(inside)}), "en").source == str(inside)
    assert talk_deck(plant({**base, "deck": "unknown", "file": str(inside), "steps": 2}), "en") is None
    shipped = read_deck(SHIPPED_FILES[0])
    found = talk_deck(plant({**base, "deck": "unknown", "file": str(SHIPPED_FILES[0]),
                             "steps": len(shipped.steps)}), "en")  # fmt: skip
    assert found is not None and found.steps == shipped.steps


def test_talk_deck_finds_the_followers_translation_with_the_same_steps(my_deck):
    folder = user_folder()
    write_deck(folder, "live.pt_BR.md", deck_text("live", "pt_BR", ["Um", "Dois", "Três"]))
    talk = start_talk(my_deck, LOCAL)
    assert [s.title for s in talk_deck(talk, "pt_BR").steps] == ["Um", "Dois", "Três"]
    assert talk_deck(talk, "en") == my_deck
    write_deck(folder, "live.pt_BR.md", deck_text("live", "pt_BR", ["Um", "Dois"]))  # now a step short
    os.utime(folder / "live.pt_BR.md", ns=(1, 1))
    assert talk_deck(talk, "pt_BR") == my_deck, "a translation with other steps is not the talk's"


@pytest.mark.parametrize("path", sorted(SHIPPED.glob("*.en.md")), ids=lambda p: p.name)
def test_a_shipped_talk_follows_in_portuguese_when_translated(path):
    deck = read_deck(path, shipped=True)
    talk = start_talk(deck, LOCAL)
    followed = talk_deck(talk, "pt_BR")
    translation = path.with_name(path.name.replace(".en.md", ".pt_BR.md"))
    expected = "pt_BR" if translation.is_file() and len(read_deck(translation).steps) == len(deck.steps) else "en"
    assert followed is not None and followed.id == deck.id and followed.language == expected


# ----------------------------------------------------------------------------- what a step needs


def test_find_image_without_mnist_says_so(mnist_npz):
    ref = image_ref("mnist#7")
    message = find_image(ref)
    assert isinstance(message, str) and "mnist.npz" in message and "digit 7" in message
    data_dir().mkdir(parents=True)
    shutil.copy(mnist_npz, data_dir() / "mnist.npz")
    found = find_image(ref)
    assert not isinstance(found, str) and found.path == str(data_dir() / "mnist.npz") and found.ref == ref
    assert not isinstance(find_image(image_ref("card:64")), str)


def test_find_image_in_a_folder_says_what_is_missing(image_folder, tmp_path):
    root = tmp_path  # the fixture's folder is tmp_path/stripes
    absent = find_image(image_ref("chest-orientation/lateral#0"), root)
    assert isinstance(absent, str) and "chest-orientation" in absent and str(root) in absent
    no_class = find_image(image_ref("stripes/diagonal#0"), root)
    assert isinstance(no_class, str) and "diagonal" in no_class
    files = sorted(p for p in (image_folder / "vertical").iterdir() if p.suffix == ".png")
    beyond = find_image(image_ref(f"stripes/vertical#{len(files)}"), root)
    assert isinstance(beyond, str) and f"has {len(files)} images" in beyond
    last = find_image(image_ref(f"stripes/vertical#{len(files) - 1}"), root)
    assert not isinstance(last, str) and last.path == str(files[-1]) and last.folder == str(image_folder)
    assert missing(check_view("learn", {"image": "stripes/vertical#0"}), root) is None
    assert missing(check_view("learn", {"image": f"stripes/vertical#{len(files)}"}), root) == beyond


def test_missing_for_train_and_layers_views(tmp_path):
    train = check_view("train", {"preset": IMAGES_PRESET, "data": "chest-orientation"})
    message = missing(train, tmp_path)
    assert isinstance(message, str) and "chest-orientation" in message and str(tmp_path) in message
    assert missing(check_view("layers", {"preset": IMAGES_PRESET, "data": "chest-orientation"}), tmp_path) == message
    (tmp_path / "chest-orientation").mkdir()
    assert missing(train, tmp_path) is None
    assert missing(check_view("train", {"preset": MNIST_PRESET, "data": "mnist"}), tmp_path) is None
    assert missing(check_view("layers", {"preset": IMAGES_PRESET}), tmp_path / "nowhere") is None
    assert missing(check_view("wall", {}), tmp_path / "nowhere") is None


def test_find_model_without_a_trained_run_says_so():
    message = find_model("orientation-fast")
    assert isinstance(message, str) and "orientation-fast" in message and "none yet" in message
    assert "not on this machine" in find_model("20261120-100000-gone")
    assert "not on this machine" in find_model("..")


def test_find_model_finds_the_newest_finished_run_with_a_checkpoint():
    root = runs_dir()
    root.mkdir(parents=True)

    def run(run_id: str, status: str, preset: str = "orientation-fast", checkpoint: bool = True) -> str:
        path = seed_run(root, run_id, status, preset=preset)
        if checkpoint:
            (path / "best.keras").touch()
        return run_id

    older = run("20261120-100000-orientation-fast", "completed")
    newest = run("20261121-100000-orientation-fast", "stopped")
    run("20261122-100000-failed", "failed")
    run("20261123-100000-no-checkpoint", "completed", checkpoint=False)
    run("20261124-100000-running", "running")
    run("20261125-100000-other", "completed", preset=MNIST_PRESET)
    found = find_model("orientation-fast")
    assert not isinstance(found, str) and found.id == newest
    assert find_model(older).id == older
    assert isinstance(find_model("20261123-100000-no-checkpoint"), str)
    curves = find_curves(check_view("curves", {"preset": "orientation-fast"}))
    assert [r.id for r in curves] == ["20261124-100000-running"], "curves show the run in progress"
    assert [r.id for r in find_curves(check_view("curves", {"run": older}))] == [older]
    assert isinstance(find_curves(check_view("curves", {"run": "20261120-100000-gone"})), str)
    untrained = next(name for name, p in PRESETS.items() if p.task == "images" and name != "orientation-fast")
    assert "No run of" in find_curves(check_view("curves", {"preset": untrained}))


def test_the_readme_example_deck_is_a_good_deck():
    """The README's five-step example parses as written (the documentation stays true)."""
    import re

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"````markdown\n(.*?)\n````", readme, re.S)
    assert block, "the README shows an example deck"
    deck = parse_deck(block.group(1), "README.md")
    assert deck.id == "my-first-talk" and len(deck.steps) == 5
    assert [s.view.kind for s in deck.steps] == ["slide", "learn", "learn", "layers", "predict"]
    assert deck.steps[0].notes and deck.steps[4].notes


def test_an_uploaded_deck_is_checked_then_saved_by_its_id_and_language_presenter_only():
    good = b"---\nid: my-talk\nlanguage: pt_BR\n---\n## Ola\nOi.\n"
    with pytest.raises(NotAllowedError):
        save_deck(good, "talk.md", Actor("phone", False))
    assert not user_folder().exists()
    deck = save_deck(good, "whatever.md", LOCAL)
    assert Path(deck.source) == user_folder() / "my-talk.pt_BR.md" and deck.title == "Ola"
    assert library().find("my-talk", "pt_BR").title == "Ola"
    save_deck(good.replace(b"Ola", b"Ola de novo"), "again.md", LOCAL)  # the same id and language: replaced
    assert [d.title for d in library().decks if d.id == "my-talk"] == ["Ola de novo"]
    with pytest.raises(InputError, match=r"bad\.md, line 2: .*stride"):
        save_deck(b"## One\n@view learn stride=0\n", "bad.md", LOCAL)
    with pytest.raises(InputError, match="shipped"):
        save_deck(b"---\nid: three-apis\n---\n## Mine\n", "mine.md", LOCAL)
    with pytest.raises(InputError, match="line 3: .*UTF-8"):
        save_deck(b"## One\nok\n\xff\xfe\n", "latin.md", LOCAL)
    with pytest.raises(InputError, match="larger than"):
        save_deck(b"## A\n" + b"x" * MAX_DECK_BYTES, "big.md", LOCAL)
    assert sorted(p.name for p in user_folder().iterdir()) == ["my-talk.pt_BR.md"]  # nothing else written


def test_the_live_deck_is_remembered_for_a_moment_so_polls_do_not_list_folders(monkeypatch, my_deck):
    from core.talk import live

    talk = start_talk(my_deck, LOCAL)
    monkeypatch.setattr(live, "DECK_TTL_SECONDS", 60.0)
    first = talk_deck(talk, "en")

    def listing(*args, **kwargs):
        raise AssertionError("the deck folders were listed again")

    monkeypatch.setattr(live, "library", listing)
    assert talk_deck(talk, "en") is first
    monkeypatch.setattr(live, "DECK_TTL_SECONDS", 0.0)
    with pytest.raises(AssertionError, match="listed again"):
        talk_deck(talk, "en")


def test_a_predict_step_whose_image_does_not_fit_its_model_says_so(tmp_path):
    """The shipped model reads digits: a dataset's image for it is named as the problem (the presenter's Predict
    page would show something else than the phones), and a test card is refused when the deck is read."""
    folder = data_dir() / "xrays" / "frontal"
    folder.mkdir(parents=True)
    (folder / "a.png").write_bytes(b"")  # found by name; never decoded here
    (data_dir() / "xrays" / "lateral").mkdir()
    view = check_view("predict", {"image": "xrays/frontal#0", "model": "shipped"})
    problem = missing(view)
    assert problem is not None and "xrays/frontal#0" in problem and "MNIST" in problem
    with pytest.raises(InputError, match="predict view"):
        check_view("predict", {"image": "card"})
