"""Streamlit widgets whose own English words follow the page's language.

Streamlit 1.67 draws some words itself: a multiselect's "Choose options" and "Select all",
and the file uploader's "Upload" button, its "50MB per file • PNG" hint and its drag-over
"Drag and drop a file here" (no parameter changes the uploader's; streamlit#13500). The
multiselect takes a placeholder; the uploader's words are replaced with CSS on its
``data-testid`` elements (checked in Chromium: the Portuguese shows, the English is not
drawn, files still upload; ``tests/test_browser_i18n.py``). Recheck the selectors after
upgrading Streamlit.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import streamlit as st

from core.base.i18n import _, language

_DROPZONE = '[data-testid="stFileUploaderDropzone"]'


def choose_many(label: str, options: Sequence[Any], **kwargs: Any) -> list:
    """``st.multiselect`` with its placeholder in the page's language (and no English "Select all")."""
    kwargs.setdefault("placeholder", _("Choose options"))
    if language() != "en":
        kwargs.setdefault("select_all", False)
    return st.multiselect(label, options, **kwargs)


def file_upload(label: str, *, type: Sequence[str], key: str, **kwargs: Any):  # noqa: A002 (Streamlit's name)
    """``st.file_uploader`` whose size and type hint is in the page's language."""
    up = st.file_uploader(label, type=list(type), key=key, **kwargs)
    if language() != "en":
        size = int(kwargs.get("max_upload_size") or st.get_option("server.maxUploadSize"))
        kinds = ", ".join(dict.fromkeys(t.lstrip(".").upper() for t in type))  # as Streamlit lists them
        hint = _("Up to {size} MB per file").format(size=size) + " • " + kinds
        cls = "st-key-" + re.sub(r"[^a-zA-Z0-9_-]", "-", key.strip())  # the class Streamlit gives a keyed widget
        box = f'.{cls} [data-testid="stFileUploaderDropzoneInstructions"] > div'
        # display:none takes the English out of the page and of screen readers; the ::after carries
        # the hint with the span's look (0.875rem, 70% of the text colour, one line).
        css(
            f"{box} > span {{ display: none; }} {box}::after {{ content: {_css_string(hint)}; font-size: 0.875rem;"
            " opacity: 0.7; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }"
        )
    return up


def uploader_words_css() -> str:
    """The CSS that writes every uploader's button and drag-over words in the page's language ("" in English)."""
    if language() == "en":
        return ""
    upload, one, many = (_css_string(w) for w in (_("Upload"), _("Drop the file here"), _("Drop the files here")))
    button = f'{_DROPZONE} [data-testid="stBaseButton-secondary"] [data-testid="stMarkdownContainer"]'
    drop = f"{_DROPZONE} > div:not([data-testid]) > span:only-child"  # the overlay while a file is dragged over
    return (
        f"{button} > p {{ display: none; }} {button}::after {{ content: {upload}; }}"
        f" {drop} {{ font-size: 0 !important; visibility: hidden; }}"
        f" {drop}::after {{ content: {one}; font-size: 0.875rem; visibility: visible; }}"
        f" {_DROPZONE}:has(> input[multiple]) > div:not([data-testid]) > span:only-child::after {{ content: {many}; }}"
    )


def _css_string(text: str) -> str:
    """``text`` as a CSS string literal."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\A ") + '"'


def css(rules: str) -> None:
    """Adds CSS rules to the page (a ``<style>`` block takes no room)."""
    # st.html's sanitizer drops a whole <style> whose text holds "<" before a letter or "/".
    st.html("<style>" + rules.replace("<", "\\3c ") + "</style>")
