"""The app's few CSS rules, injected once per page run by the router."""

from __future__ import annotations

import streamlit as st

# Why each rule:
# - kernel cells: Streamlit writes "Press Enter to submit form" inside a focused text box of a
#   form; in a 64-px kernel cell it covers the number being typed (and it is English only).
_CSS = """
[class*="st-key-learn_kernel_cells"] [data-testid="InputInstructions"] { display: none; }
"""


def apply_style() -> None:
    """Adds the app's CSS to the page (a ``<style>`` block takes no room)."""
    st.html(f"<style>{_CSS}</style>")
