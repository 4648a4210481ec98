"""Português: the catalog covers every message the code marks, translations keep their
placeholders and markup, numbers follow the language, the core's errors follow the session,
and every page renders in both languages with no English left on it."""

from __future__ import annotations

import io
import json
import os
import re

import numpy as np
import pytest
from conftest import ROOT, seed_comparison, seed_run, stripes, synthetic_digits
from PIL import Image
from streamlit.testing.v1 import AppTest

from core.base import i18n
from core.base.errors import InputError
from core.base.i18n import _, ngettext, normalize, number, percent, set_language

APP = str(ROOT / "streamlit_app.py")
PO = i18n.LOCALES / "pt_BR" / "LC_MESSAGES" / f"{i18n.DOMAIN}.po"
PAGES = ["home", "learn", "hood", "train", "race", "curves", "predict", "evaluate", "join", "follow", "wall", "talk"]


@pytest.fixture(autouse=True)
def english_afterwards():
    yield
    set_language("en")


def portuguese_catalog():
    from babel.messages.pofile import read_po

    with PO.open("rb") as fh:
        return read_po(fh, locale="pt_BR")


def forms(message) -> list[tuple[str, str]]:
    """(English, Portuguese) pairs of one entry: one pair, or one per plural form."""
    ids = message.id if isinstance(message.id, tuple) else (message.id,)
    strs = message.string if isinstance(message.string, tuple) else (message.string,)
    return [(ids[min(i, len(ids) - 1)], s) for i, s in enumerate(strs)]


# ----- the catalog ---------------------------------------------------------------------------


def test_every_marked_message_has_a_portuguese_translation():
    """Fails when code marks a message (``_``, ``N_``, ``ngettext``) that the catalog does not
    translate. Fix: ``python -m core.base.i18n``, then translate the new entries in the .po file."""
    template, catalog = i18n.extract(), portuguese_catalog()
    assert len(template) > 600  # the extraction really reads core/ and pages/
    missing = []
    for m in template:
        if not m.id:
            continue
        entry = catalog.get(m.id)
        if entry is None or not all(s for _en, s in forms(entry)):
            missing.append(m.id)
    assert not missing, f"{len(missing)} messages have no Portuguese translation: {missing[:10]}"


PLACEHOLDER = re.compile(r"\{[a-z_0-9]*(?:[:!][^}]*)?\}")


@pytest.mark.parametrize(
    "what, measure",
    [
        ("placeholders", lambda s: sorted(set(PLACEHOLDER.findall(s)))),
        ("code spans", lambda s: s.count("`")),
        ("bold markers", lambda s: s.count("**")),
        ("line breaks", lambda s: s.count("  \n")),
        ("icons", lambda s: s.count(":material/")),
        ("LaTeX", lambda s: s.count("$")),
        ("edge spaces", lambda s: (s[:1].isspace(), s[-1:].isspace())),
    ],
)
def test_translations_keep_placeholders_and_markup(what, measure):
    broken = [
        (en, pt) for m in portuguese_catalog() if m.id for en, pt in forms(m) if pt and measure(en) != measure(pt)
    ]
    assert not broken, f"{what} differ: {broken[:5]}"


def test_the_catalog_is_brazilian_machine_learning_vocabulary():
    set_language("pt_BR")
    assert _("Learning rate") == "Taxa de aprendizado"
    assert _("epochs") == "épocas"
    assert "sobreajuste" in _("training data held out to watch overfitting")


# ----- numbers, plurals, language codes ------------------------------------------------------


@pytest.mark.parametrize(
    "lang, pct, big, decimal",
    [("en", "99.14%", "1,234", "0.5"), ("pt_BR", "99,14%", "1.234", "0,5")],
)
def test_numbers_and_percentages_follow_the_language(lang, pct, big, decimal):
    set_language(lang)
    assert percent(0.9914, 2) == pct
    assert number(1234) == big
    assert number(0.5, 1) == decimal


def test_plural_forms_follow_each_language():
    one, many = "{n} file skipped", "{n} files skipped"
    assert ngettext(one, many, 0) == many  # English: "0 files"
    set_language("pt_BR")
    pt = {n: ngettext(one, many, n) for n in (0, 1, 2)}
    assert pt[0] == pt[1] != pt[2]  # Portuguese: "0 arquivo ignorado", "2 arquivos ignorados"
    assert pt[2].format(n=2) != "2 files skipped"


@pytest.mark.parametrize(
    "code, expected",
    [("pt-BR", "pt_BR"), ("pt_br", "pt_BR"), ("pt", "pt_BR"), ("PT-PT", "pt_BR"), ("en-US", "en"), ("en", "en"),
     ("fr", None), ("", None), (None, None), (["pt"], None), ("<script>", None)],
)  # fmt: skip
def test_language_codes_from_links_and_browsers(code, expected):
    assert normalize(code) == expected


def test_an_unknown_language_falls_back_to_english():
    set_language("xx")
    assert i18n.language() == "en"
    assert _("Learning rate") == "Learning rate"


def test_core_errors_follow_the_language_of_the_session():
    from core.training import SETTINGS

    epochs = next(s for s in SETTINGS if s.name == "epochs")
    with pytest.raises(InputError, match=r"Expected epochs in 1\.\.1000\. Received: epochs=-3"):
        epochs.check(-3)
    set_language("pt_BR")
    with pytest.raises(InputError) as err:
        epochs.check(-3)
    assert "epochs=-3" in str(err.value) and "Expected" not in str(err.value) and "Esperado" in str(err.value)


def test_the_command_line_stays_english(tmp_path):
    from core.base.cli import run_module

    set_language("pt_BR")  # neither this process's language nor the system's reaches the CLI
    env = {**os.environ, "LANG": "pt_BR.UTF-8", "LANGUAGE": "pt_BR"}
    done = run_module("train", ["--task", "mnist", "--preset", "mnist-fast", "--epochs", "-3", "--runs-dir",
                                str(tmp_path)], env=env)  # fmt: skip
    assert done.code != 0 and "Expected epochs in 1..1000" in done.output["error"]


# ----- every page, in both languages ---------------------------------------------------------


@pytest.fixture
def content(tmp_path):
    """Data, runs and a room, so the pages show their full content (tables, charts, forms)."""
    from core.access.roles import LOCAL
    from core.room.active import open_room

    data = tmp_path / "data"
    data.mkdir()
    x, y = synthetic_digits(300, seed=1)
    xt, yt = synthetic_digits(100, seed=2)
    np.savez_compressed(data / "mnist.npz", x_train=x, y_train=y, x_test=xt, y_test=yt)
    for cls, o in (("horizontal", "h"), ("vertical", "v")):
        (data / "stripes" / cls).mkdir(parents=True)
        for i in range(6):
            stripes(o, seed=i).save(data / "stripes" / cls / f"{i}.png")
    (data / "stripes" / "vertical" / "broken.png").write_bytes(b"\x89PNG not really")
    runs = tmp_path / "runs"
    rows = [f"{e},{1 / e:.3f},{0.5 + e / 20:.3f},{1.2 / e:.3f},{0.45 + e / 20:.3f},0.001,1.0\n" for e in range(1, 5)]
    seed_run(runs, "20261120-100000-a", "completed", rows, metrics={"accuracy": 0.71, "loss": 0.4}, best_epoch=4,
             best_val_accuracy=0.65, epochs_done=4, epochs=5, early_stop_epoch=4)  # fmt: skip
    seed_run(runs, "20261120-110000-b", "stopped", rows[:2], lr=0.01, stop_reason="stop_file", epochs_done=2, epochs=5)
    seed_run(runs, "20261120-120000-c", "failed", [], error="The loss became NaN at epoch 2.")
    open_room("Minha palestra", "__default__", [str(d) for d in range(10)], LOCAL)
    seed_comparison(runs)


def digit_png() -> bytes:
    x, y = synthetic_digits(10, seed=5)
    buf = io.BytesIO()
    Image.fromarray(255 - x[3]).resize((112, 112)).save(buf, "PNG")
    return buf.getvalue()


def use(at: AppTest, page: str) -> None:
    """Opens the parts of a page that are hidden at first (forms, tables, explanations)."""
    if page == "train":
        at.toggle(key="train_edit_layers").set_value(True).run()
    elif page == "curves":
        at.multiselect(key="curves_selected").set_value(["20261120-100000-a", "20261120-110000-b"]).run()
    elif page == "follow":  # a talk on: the step's title, lines and live view (Learn's maps of an MNIST digit)
        from core.access.roles import LOCAL
        from core.talk.library import library
        from core.talk.live import go_to, start_talk

        start_talk(library().find("three-apis", "pt_BR"), LOCAL)
        go_to(1, LOCAL)
        at.run()
    elif page == "talk":
        at.button(key="talk_start_three-apis").click().run()  # the presenter's bar over the first step
    elif page == "predict":
        at.selectbox(key="predict_model").set_value("__default__").run()
        at.pills(key="predict_source_mnist").set_value("Upload").run()
        at.file_uploader(key="predict_upload").set_value([("a.png", digit_png(), "image/png")] * 2).run()


def shown_texts(at: AppTest) -> list[str]:
    """Every text a person reads: element bodies, labels, help, options, captions, chart texts."""
    from google.protobuf.message import Message

    fields = {"body", "label", "help", "options", "placeholder", "caption", "text", "title", "formatted_options",
              "display_value", "value", "content"}  # fmt: skip
    out: list[str] = []

    def from_proto(msg: Message) -> None:
        for f, v in msg.ListFields():
            values = v if f.is_repeated else [v]
            if f.message_type:
                for m in values:
                    from_proto(m)
            elif f.type == f.TYPE_STRING and f.name in fields:
                out.extend(s for s in values if s)
            elif f.name == "spec" and f.type == f.TYPE_STRING:  # a Plotly figure, as JSON
                from_chart(json.loads(v))

    def from_chart(obj, key: str = "") -> None:
        if isinstance(obj, dict):
            for k, v in obj.items():
                from_chart(v, k)
        elif isinstance(obj, list):
            for v in obj:
                from_chart(v, key)
        elif isinstance(obj, str) and key in ("text", "hovertemplate", "ticktext"):
            out.append(re.sub(r"%\{[^}]*\}|<[^>]*>", " ", obj))

    def walk(node) -> None:
        proto = getattr(node, "proto", None)
        if isinstance(proto, Message):
            from_proto(proto)
        children = getattr(node, "children", None)
        for child in children.values() if isinstance(children, dict) else ():
            walk(child)

    walk(at._tree)
    # the app's CSS (pages/_style.py) and scripts (the talk's keys and clock) are not read by anyone
    styles = re.compile(r"<style>.*?</style>|<script>.*?</script>", re.S)
    tags = re.compile(r"</?[a-zA-Z][^>]*>")  # st.html's markup: people read its text, not its attributes
    return [t for t in (tags.sub(" ", styles.sub("", t)).strip() for t in out) if t]


# Words that Portuguese does not use: one of them in a shown text is English left behind.
ENGLISH = re.compile(r"\b(the|and|of|is|are|was|to|with|your|this|that|from|you|it|in|on|an|be|has|not|what|"
                     r"which|here|yet|only|no longer|run|runs|click|choose|upload|train|training|image|images|layer|"
                     r"layers|model|loss|accuracy|learning|rate|epoch|epochs|batch|test|stop|save)\b",
                     re.IGNORECASE)  # fmt: skip
NAMES = re.compile(r"`[^`]*`|\$\$.*?\$\$|https?://\S+|\S+\.(?:png|npz|keras|json|csv)\b|\b\d{8}-\d{6}-\w+", re.S)
NAMES_AND_CODE = {  # proper names and code the app shows in any language
    "Simple MNIST convnet", "mnist-fast", "mnist-tutorial", "mnist-mlp", "keras-convnet", "hello world",
    "The loss became NaN at epoch 2.",  # a failed run's error, written in English by the training process
}  # fmt: skip


def english_left(texts: list[str]) -> list[str]:
    catalog = portuguese_catalog()
    english = {en for m in catalog if m.id for en, pt in forms(m) if pt and pt != en}
    left = []
    for text in dict.fromkeys(texts):
        plain = NAMES.sub(" ", text)
        for name in NAMES_AND_CODE:
            plain = plain.replace(name, " ")
        if text in english or ENGLISH.search(plain):
            left.append(text)
    return left


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("lang", ["en", "pt-BR"])
def test_every_page_renders_in_both_languages_with_no_english_left_in_portuguese(page, lang, content):
    set_language(lang)  # AppTest calls widgets' format functions in this thread, not the script's
    at = AppTest.from_file(APP, default_timeout=240)
    at.query_params["lang"] = lang
    at.run()
    at.switch_page(f"pages/{page}.py").run()
    use(at, page)
    assert not at.exception, at.exception
    texts = shown_texts(at)
    assert len(texts) > 8  # the page really showed something
    if lang == "en":
        assert at.segmented_control(key="lang").value == "en"
        assert any(ENGLISH.search(t) for t in texts)  # the detector sees English where there is some
    else:
        assert at.segmented_control(key="lang").value == "pt_BR"
        assert english_left(texts) == []


def test_the_switch_changes_the_language_and_the_link(content):
    at = AppTest.from_file(APP, default_timeout=240).run()
    at.switch_page("pages/curves.py").run()
    assert at.title[0].value == "Learning curves"
    at.segmented_control(key="lang").set_value("pt_BR").run()
    assert not at.exception
    assert at.title[0].value == "Curvas de aprendizado"
    assert at.query_params["lang"] == "pt-BR"  # a reload or a shared link keeps it
    at.segmented_control(key="lang").set_value("en").run()
    assert at.title[0].value == "Learning curves"


def test_the_wall_code_opens_the_join_page_in_the_talks_language(content):
    at = AppTest.from_file(APP, default_timeout=240)
    at.query_params["lang"] = "pt-BR"
    at.run()
    at.switch_page("pages/wall.py").run()
    assert any("/join?lang=pt-BR" in m.value for m in at.markdown)


def test_the_browsers_language_is_the_default(monkeypatch):
    from pages import _i18n

    class Context:
        locale = "pt-BR"

    fake_st = type("St", (), {"session_state": {}, "query_params": {}, "context": Context()})
    monkeypatch.setattr(_i18n, "st", fake_st)
    assert _i18n.init_language() == "pt_BR"
    fake_st.query_params = {"lang": "en"}  # a link wins over the browser
    assert _i18n.init_language() == "en"


def test_a_bad_upload_is_named_once_in_portuguese(content):
    """The core names the file in its message: no English word, no name pasted into a word."""
    set_language("pt_BR")
    at = AppTest.from_file(APP, default_timeout=240)
    at.query_params["lang"] = "pt-BR"
    at.run()
    at.switch_page("pages/predict.py").run()
    at.selectbox(key="predict_model").set_value("__default__").run()
    at.pills(key="predict_source_mnist").set_value("Upload").run()
    at.file_uploader(key="predict_upload").set_value([("ruim.png", b"not an image at all", "image/png")]).run()
    assert not at.exception
    errors = [e.value for e in at.error]
    assert any(e.startswith("ruim.png não é um arquivo de imagem") for e in errors), errors
    assert all(e.count("ruim.png") == 1 for e in errors)


def test_no_message_hides_inside_an_f_string():
    """Extraction cannot see ``_("...")`` inside an f-string (Python tokenizes the f-string whole),
    so such a message would stay English: write it outside the f-string."""
    import ast

    hidden = []
    for path in [*ROOT.glob("core/**/*.py"), *ROOT.glob("pages/*.py"), ROOT / "streamlit_app.py"]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.JoinedStr):
                for call in ast.walk(node):
                    if (isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id in ("_", "N_")
                            and call.args and isinstance(call.args[0], ast.Constant)):  # fmt: skip
                        hidden.append(f"{path.relative_to(ROOT)}:{call.lineno} {call.args[0].value!r}")
    assert hidden == []


def test_durations_read_at_a_glance():
    """Issue 27: "~0.1 min for 1 epochs" became "about 6 s for 1 epoch"."""
    from core.base.i18n import duration, set_language

    set_language("en")
    assert [duration(s) for s in (0.3, 6.2, 89, 300, 5399, 5400)] == ["1 s", "6 s", "89 s", "5 min", "90 min",
                                                                      "1.5 h"]  # fmt: skip
    set_language("pt_BR")
    try:
        assert duration(5400) == "1,5 h"
    finally:
        set_language("en")


def test_no_english_leftovers_in_the_runs_table_and_the_predict_sources():
    """Issue 27: the runs table's headers read "status / dataset / preset" in Portuguese, and Upload and Send were
    both "Enviar"."""
    from core.base.i18n import _, set_language

    set_language("pt_BR")
    try:
        for word in ("status", "dataset", "preset", "Preset", "Upload"):
            assert _(word) != word, word
        assert _("Upload") not in _("Send my digit") and _("Upload") not in _("Send this photo")
        said = _("Read as {encoding}, fields separated by a {delimiter}, decimal {decimal}.")
        assert "decimal {decimal}" not in said  # "decimal ponto" read as nonsense
    finally:
        set_language("en")
