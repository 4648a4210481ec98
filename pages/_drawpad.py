"""A minimal drawing pad (mouse, pen or finger) built on ``st.components.v2``.

No third-party package: the canvas lives in the page and sends a PNG data URL back as
component state when a stroke ends (and an empty string when cleared).
"""

from __future__ import annotations

import streamlit as st
from PIL import Image

from core.base.i18n import _
from core.data.images import PixelBudget, decode_png_data_url

HTML = """
<div class="pad">
  <canvas width="280" height="280"></canvas>
  <button type="button">Clear</button>
</div>
"""

CSS = """
.pad { display: flex; flex-direction: column; gap: 6px; align-items: flex-start; }
canvas { background: #fff; border: 2px solid #1f5fd6; border-radius: 8px; touch-action: none; cursor: crosshair; }
button { font: inherit; padding: 4px 14px; border-radius: 6px; border: 1px solid #999; background: #f2f4f7; cursor: pointer; }
"""

JS = """
export default function(component) {
  const { setStateValue, parentElement, data } = component;
  const canvas = parentElement.querySelector('canvas');
  const clear = parentElement.querySelector('button');
  if (data && data.clear) { clear.textContent = data.clear; }  // the button's word, in the page's language
  const ctx = canvas.getContext('2d');
  ctx.lineWidth = 20; ctx.lineCap = 'round'; ctx.lineJoin = 'round'; ctx.strokeStyle = '#000';
  let drawing = false;
  const at = (e) => { const r = canvas.getBoundingClientRect();
    return [(e.clientX - r.left) * canvas.width / r.width, (e.clientY - r.top) * canvas.height / r.height]; };
  const down = (e) => { drawing = true; canvas.setPointerCapture(e.pointerId);
    const [x, y] = at(e); ctx.beginPath(); ctx.moveTo(x, y); ctx.lineTo(x + 0.1, y + 0.1); ctx.stroke(); };
  const move = (e) => { if (!drawing) return; const [x, y] = at(e); ctx.lineTo(x, y); ctx.stroke(); };
  const up = () => { if (!drawing) return; drawing = false; setStateValue('png', canvas.toDataURL('image/png')); };
  const wipe = () => { ctx.clearRect(0, 0, canvas.width, canvas.height); setStateValue('png', ''); };
  canvas.addEventListener('pointerdown', down);
  canvas.addEventListener('pointermove', move);
  canvas.addEventListener('pointerup', up);
  canvas.addEventListener('pointerleave', up);
  clear.addEventListener('click', wipe);
  return () => {
    canvas.removeEventListener('pointerdown', down); canvas.removeEventListener('pointermove', move);
    canvas.removeEventListener('pointerup', up); canvas.removeEventListener('pointerleave', up);
    clear.removeEventListener('click', wipe);
  };
}
"""

_pad = st.components.v2.component("cnnlab_drawpad", html=HTML, css=CSS, js=JS)


MAX_PAD_BYTES = 2 * 1024 * 1024  # a 280x280 drawing is a few kB; anything bigger was not drawn here


def draw_pad(key: str, budget: PixelBudget | None = None) -> Image.Image | None:
    """Shows the pad; returns the drawing (white background, black ink) or None if empty.

    What comes back from the browser is untrusted (a crafted message can hold anything): it
    goes through the same checked decoder as an upload.

    Raises:
        InputError: the pad sent something that is not a drawing.
    """
    result = _pad(key=key, data={"clear": _("Clear")}, on_png_change=lambda: None)
    data = getattr(result, "png", None) if result is not None else None
    return decode_png_data_url(data, MAX_PAD_BYTES, budget) if data else None
