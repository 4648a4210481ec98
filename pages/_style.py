"""The app's few CSS rules, injected once per page run by the router."""

from __future__ import annotations

from pages._widgets import css, uploader_words_css

# Why each rule:
# - kernel cells: Streamlit writes "Press Enter to submit form" inside a focused text box of a
#   form; in a 64-px kernel cell it covers the number being typed (and it is English only).
# - number grids (core.plots.grids.number_tables_html): side by side while they fit, then below
#   each other; a cell grows to fit its number, so numbers never overlap on a phone.
# - 1100 CSS px and less (a 1280x720 projector at 125% is 1024): Streamlit's 5rem side and 6rem
#   top paddings left half the width to the page; 4rem keeps its header (3.75rem) clear.
_CSS = """
[class*="st-key-learn_kernel_cells"] [data-testid="InputInstructions"] { display: none; }
.cnnlab-grids { display: flex; flex-wrap: wrap; gap: 0.75rem 1.5rem; align-items: flex-start; }
.cnnlab-grid { margin: 0; }
.cnnlab-grid figcaption { text-align: center; font-size: 1.1rem; margin-bottom: 0.25rem; }
.cnnlab-grid table { border-collapse: separate; border-spacing: 2px; margin: 0; border: none; }
.cnnlab-grid td { min-width: 3.2em; height: 2.6em; padding: 0.1em 0.3em; text-align: center; border: none;
  font-variant-numeric: tabular-nums; white-space: nowrap; }
@media (max-width: 1100px) {
  [data-testid="stMainBlockContainer"] { padding: 4rem 1.5rem 4rem 1.5rem; }
}
"""


def apply_style() -> None:
    """Adds the app's CSS to the page, with the uploader's words in the page's language."""
    css(_CSS + uploader_words_css())
