"""Languages: English (the source) and Brazilian Portuguese, with gettext catalogs and Babel.

Messages are written in English in the code and marked with ``_()`` (translated now),
``N_()`` (declared once, translated where shown) or ``ngettext()`` (plural forms). The
catalog is ``core/locales/pt_BR/LC_MESSAGES/cnnlab.po``; it is compiled in memory when first
used (no compiled file to keep in step). Numbers and percentages follow the language
(``99,14%`` and ``1.234`` in Portuguese).

The language is per web session: pages call :func:`set_language` at the start of each run,
and the core's messages (errors a page shows) follow it. The command line stays in English.

Maintenance: ``python -m core.base.i18n`` extracts every marked message into ``cnnlab.pot`` and
adds the new ones to the Portuguese catalog, untranslated, for a translator to fill in.
"""

from __future__ import annotations

import contextvars
import gettext
import io
import sys
from functools import lru_cache
from pathlib import Path

LOCALES = Path(__file__).resolve().parents[1] / "locales"
DOMAIN = "cnnlab"
LANGUAGES = {"en": "English", "pt_BR": "Português (Brasil)"}
DEFAULT = "en"
SOURCES = ("core", "pages", "streamlit_app.py")  # where marked messages live (from the project root)

_LANGUAGE: contextvars.ContextVar[str] = contextvars.ContextVar("cnnlab_language", default=DEFAULT)


def normalize(code: object) -> str | None:
    """A supported language for a code such as ``pt-BR``, ``pt_br``, ``pt`` or ``en-US`` (else None)."""
    if not isinstance(code, str) or not code.strip():
        return None
    code = code.strip().replace("-", "_").lower()
    if code.startswith("pt"):
        return "pt_BR"
    if code.startswith("en"):
        return "en"
    return None


def set_language(code: str) -> None:
    _LANGUAGE.set(normalize(code) or DEFAULT)


def language() -> str:
    return _LANGUAGE.get()


@lru_cache(maxsize=4)
def _translations(lang: str) -> gettext.NullTranslations:
    po = LOCALES / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
    if lang == DEFAULT or not po.is_file():
        return gettext.NullTranslations()
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with po.open("rb") as fh:
        catalog = read_po(fh, locale=lang)
    buf = io.BytesIO()
    write_mo(buf, catalog, use_fuzzy=False)
    buf.seek(0)
    return gettext.GNUTranslations(buf)


def _(message: str) -> str:
    """``message`` in the current language."""
    return _translations(language()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The singular or plural form for ``n``, in the current language's plural rules."""
    return _translations(language()).ngettext(singular, plural, n)


def N_(message: str) -> str:  # noqa: N802 - the gettext convention
    """Marks a message for translation where it is shown (a constant declared at import)."""
    return message


def number(value: float, digits: int | None = None) -> str:
    """``1234.5`` as ``1,234.5`` or ``1.234,5``; ``digits`` fixes the decimals."""
    from babel.numbers import format_decimal

    fmt = None if digits is None else "#,##0" + ("." + "0" * digits if digits else "")
    return format_decimal(value, format=fmt, locale=language())


def duration(seconds: float) -> str:
    """A time a person reads at a glance: "40 s", "3 min", "1.5 h" (never "0.1 min")."""
    if seconds < 90:
        return _("{n} s").format(n=number(max(seconds, 1), 0))
    if seconds < 90 * 60:
        return _("{n} min").format(n=number(seconds / 60, 0))
    return _("{n} h").format(n=number(seconds / 3600, 1))


def percent(value: float, digits: int = 1) -> str:
    """``0.9914`` as ``99.1%`` or ``99,1%`` (``digits`` decimals)."""
    from babel.numbers import format_percent

    return format_percent(value, format="#,##0" + ("." + "0" * digits if digits else "") + "%", locale=language())


# ----- catalog maintenance ------------------------------------------------------------------


def extract(root: Path | None = None):
    """Every marked message in the sources, as a Babel catalog."""
    from babel.messages.catalog import Catalog
    from babel.messages.extract import extract_from_dir, extract_from_file

    root = root or LOCALES.parents[1]
    keywords = {"_": None, "N_": None, "ngettext": (1, 2)}
    catalog = Catalog(project="CNN Lab", domain=DOMAIN)
    for source in SOURCES:
        path = root / source
        found = (
            extract_from_dir(path, method_map=[("**.py", "python")], keywords=keywords, comment_tags=("i18n:",))
            if path.is_dir()
            else ((str(path), *m) for m in extract_from_file("python", path, keywords=keywords))
        )
        for entry in found:
            filename, lineno, message, comments = entry[0], entry[1], entry[2], entry[3]
            catalog.add(message, locations=[(str(Path(source) / filename) if path.is_dir() else source, lineno)],
                        auto_comments=comments)  # fmt: skip
    return catalog


def update() -> dict:
    """Writes ``cnnlab.pot`` and merges it into the Portuguese catalog (new messages untranslated)."""
    from babel.messages.pofile import read_po, write_po

    template = extract()
    with (LOCALES / f"{DOMAIN}.pot").open("wb") as fh:
        write_po(fh, template, omit_header=False, sort_output=True, include_lineno=False, width=120)
    po = LOCALES / "pt_BR" / "LC_MESSAGES" / f"{DOMAIN}.po"
    with po.open("rb") as fh:
        catalog = read_po(fh, locale="pt_BR")
    catalog.update(template, no_fuzzy_matching=True)
    with po.open("wb") as fh:
        write_po(fh, catalog, sort_output=True, ignore_obsolete=True, include_lineno=False, width=120)
    missing = [m.id for m in catalog if m.id and not m.string]
    return {"messages": len(template), "untranslated": len(missing)}


if __name__ == "__main__":
    print(update(), file=sys.stderr)
