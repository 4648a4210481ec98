"""Learn: convolution and pooling on a real image, with the arithmetic of one output cell."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from core.base.errors import InputError
from core.base.i18n import N_, _, number
from core.plots.grids import number_grid, number_tables_html
from core.plots.pictures import boxed, crop_around, diverging_rgb, enlarge, gray_rgb, symmetric_limit
from core.teaching import filters
from core.teaching.learn import (
    LayerSettings,
    Pipeline,
    feature_bank,
    kernel_start,
    kernel_text,
    next_cell,
    parse_kernel,
    run_pipeline,
)  # fmt: skip
from pages._data import data_status, folder_samples, load_path, load_upload, mnist_test_digits
from pages._i18n import localized
from pages._router import ensure_router
from pages._session import init_state
from pages._widgets import choose_many, file_upload

ensure_router()

SOURCES = [N_("Test card"), N_("MNIST digit"), N_("Dataset sample"), N_("Upload"), N_("Camera")]
CUSTOM = {N_("custom 3x3"): 3, N_("custom 5x5"): 5}
BANK_DEFAULT = ["sobel x", "sobel y", "laplacian", "sharpen", "box blur", "emboss"]
SWEEP_SECONDS = 0.8
ROBUST_PERCENTILE = 99.5
UPLOAD_TYPES = ["png", "jpg", "jpeg", "bmp", "gif", "webp", "tif", "tiff"]

# Every session key this page owns, in one place. DEFAULTS: the keys read before (or without) a
# widget, with their defaults. WIDGET_KEYS: keys of widgets and charts that start themselves (a
# default here would fight the widget's own). The custom kernel's form and cells add
# learn_kernel_form_<size>_<preset> and learn_cell_<size>_<preset>_<row>_<col>.
DEFAULTS = {
    "learn_source": "Test card",
    "learn_card_size": 128,
    "learn_mnist_index": 0,
    "learn_kernel": "sobel x",
    "learn_stride": 1,
    "learn_padding": "valid",
    "learn_bias": 0.0,
    "learn_relu": True,
    "learn_pool_on": True,
    "learn_pool_mode": "max",
    "learn_pool_size": 2,
    "learn_pool_stride": 2,
    "learn_pool_padding": "valid",
    "conv_row": 0,
    "conv_col": 0,
    "conv_play": False,
    "pool_row": 0,
    "pool_col": 0,
    "pool_play": False,
    "learn_large": False,
    "learn_last_preset": "sobel x",  # the preset a custom kernel starts from
}
WIDGET_KEYS = ("learn_folder", "learn_class", "learn_sample", "learn_upload", "learn_camera", "learn_custom_from",
               "learn_zoom", "learn_bank", "g_cell", "g_pool")  # fmt: skip


# ----- image sources --------------------------------------------------------------------


@st.cache_data(show_spinner=False)
def test_card(size: int) -> np.ndarray:
    return filters.synthetic_image(size)


def pick_image() -> tuple[np.ndarray, str]:
    """Renders the source widgets; returns a grayscale ``(H, W)`` image in [0, 1] and its name."""
    status = data_status()
    sources = [
        s for s in SOURCES if (s != "MNIST digit" or status["mnist"]) and (s != "Dataset sample" or status["folders"])
    ]
    if st.session_state.learn_source not in sources:
        st.session_state.learn_source = "Test card"
    source = st.pills(_("Image"), sources, key="learn_source", required=True, width="stretch", wrap=True, format_func=_)
    if not status["mnist"] and not status["folders"]:
        st.caption(_("MNIST digits and dataset samples appear here when the data folder has them (see Home)."))
    elif not status["mnist"]:
        st.caption(_("MNIST digits appear here when the data folder has them (see Home)."))
    elif not status["folders"]:
        st.caption(_("Dataset samples appear here when the data folder has them (see Home)."))

    image, name, error, notices = None, "", None, []
    if source == "MNIST digit":
        x, y = mnist_test_digits(status["mnist"][0])
        i = st.number_input(_("Test digit #"), 0, len(x) - 1, key="learn_mnist_index")
        image, name = x[i].astype(np.float32) / 255.0, _("MNIST test digit #{i} (a {label})").format(i=i, label=y[i])
    elif source == "Dataset sample":
        folder = st.selectbox(
            _("Dataset"), status["folders"], format_func=lambda p: p.rsplit("/", 1)[-1], key="learn_folder"
        )
        samples = folder_samples(folder)
        if not samples:
            error = _("{folder} has no image files.").format(folder=folder)
        else:
            cls = st.selectbox(_("Class"), list(samples), key="learn_class")
            j = st.slider(_("Sample"), 0, len(samples[cls]) - 1, 0, key="learn_sample")
            image, notices, error = load_path(samples[cls][j])
            name = f"{cls} / {samples[cls][j].rsplit('/', 1)[-1]}"
    elif source in ("Upload", "Camera"):
        if source == "Upload":
            upload = file_upload(
                _("Upload an image (PNG, JPEG, BMP, GIF, WebP, TIFF)"), type=UPLOAD_TYPES, key="learn_upload"
            )
        else:
            upload = st.camera_input(_("Take a picture"), key="learn_camera")
        if upload is None:
            st.caption(_("Waiting for an image; showing the test card meanwhile."))
        else:
            image, notices, error = load_upload(upload)
            name = getattr(upload, "name", None) or _("camera photo")
    else:
        st.select_slider(_("Test card size"), [32, 64, 128, 256, 512], key="learn_card_size")

    for notice in notices:
        st.info(notice, icon=":material/info:")
    if error:
        st.error(_("{error} Showing the test card instead.").format(error=error), icon=":material/error:")
    if image is None:
        size = st.session_state.learn_card_size
        image, name = test_card(size), _("test card {size}x{size}").format(size=size)
    return image, name


# ----- kernel and settings --------------------------------------------------------------


def pick_kernel() -> tuple[np.ndarray | None, str]:
    """Renders the kernel widgets; returns the kernel (None if the table is incomplete) and its name."""
    names = list(filters.KERNEL_PRESETS) + list(CUSTOM)
    choice = st.selectbox(_("Kernel"), names, key="learn_kernel", format_func=_)
    presets = list(filters.KERNEL_PRESETS)
    if choice not in CUSTOM:
        st.session_state.learn_last_preset = choice  # a custom kernel starts from it
        kernel, about = filters.KERNEL_PRESETS[choice]
        st.caption(_(about))
        st.dataframe(pd.DataFrame(kernel).round(3), hide_index=True, width="content")
        return kernel, choice
    size = CUSTOM[choice]
    last = st.session_state.learn_last_preset
    base = st.selectbox(_("Start from"), presets, index=presets.index(last), key="learn_custom_from", format_func=_)
    start = kernel_text(kernel_start(base, size))
    # In a form: typing never reruns the page, so no keystroke is lost to a rerun in flight
    # (live edits lost 3 to 7 of nine cells typed at a normal pace). One native text box a
    # cell, not a data grid: the grid dropped a keystroke typed while a busy CPU was still
    # drawing it (the first of nine cells, with a CPU hog beside the app); a text box cannot.
    with st.form(f"learn_kernel_form_{size}_{base}", border=False):
        st.caption(_("Type your numbers (Tab moves to the next cell), then press **Apply** or Enter."))
        cells = []
        with st.container(key=f"learn_kernel_cells_{size}"):
            for r in range(size):
                with st.container(horizontal=True, wrap=False, gap="small"):
                    cells.append([
                        st.text_input(
                            _("Kernel row {row}, column {col}").format(row=r + 1, col=c + 1),
                            value=start[r][c], key=f"learn_cell_{size}_{base}_{r}_{c}",
                            label_visibility="collapsed", width=64 if size == 3 else 56,
                        )
                        for c in range(size)
                    ])  # fmt: skip
        st.form_submit_button(_("Apply"), icon=":material/check:", type="primary")
    try:
        return parse_kernel(cells), choice
    except InputError as exc:
        st.error(str(exc))
        return None, choice


def pick_settings() -> LayerSettings:
    """Stride, padding, bias, ReLU and pooling widgets; returns what they are set to."""
    st.slider(_("Stride"), 1, 8, key="learn_stride")
    st.segmented_control(_("Padding"), list(filters.PADDINGS), key="learn_padding", required=True)
    st.slider(_("Bias (added to every output)"), -2.0, 2.0, step=0.05, key="learn_bias")
    st.toggle(
        "ReLU", key="learn_relu", help=_("max(x, 0) after the convolution, as a Conv2D layer with activation='relu'.")
    )
    st.divider()
    st.toggle(_("Pooling"), key="learn_pool_on")
    if st.session_state.learn_pool_on:
        st.segmented_control(
            _("Mode"),
            list(filters.POOL_MODES),
            key="learn_pool_mode",
            required=True,
            format_func=lambda m: {"max": "max", "avg": _("mean")}[m],
        )
        st.slider(_("Pool size"), 1, 6, key="learn_pool_size")
        st.slider(_("Pool stride"), 1, 6, key="learn_pool_stride", help=_("Keras's default stride is the pool size."))
        st.segmented_control(_("Pool padding"), list(filters.PADDINGS), key="learn_pool_padding", required=True)
    return layer_settings()


def layer_settings() -> LayerSettings:
    """The layers' settings as the widgets left them in the session state."""
    state = st.session_state
    return LayerSettings(
        stride=state.learn_stride, padding=state.learn_padding, bias=state.learn_bias, relu=state.learn_relu,
        pool=state.learn_pool_on, pool_mode=state.learn_pool_mode, pool_size=state.learn_pool_size,
        pool_stride=state.learn_pool_stride, pool_padding=state.learn_pool_padding,
    )  # fmt: skip


# ----- display helpers ------------------------------------------------------------------


def show(rgb: np.ndarray, caption: str) -> None:
    big, _factor = enlarge(rgb, min_side=256)
    st.image(big, caption=caption, width="stretch")


def size_latex(axis: str, n: int, k: int, s: int, padding: str) -> str:
    """The output-size formula, then its numbers on a second line (one line was cut off on a projector)."""
    out = filters.output_size(n, k, s, padding)
    if padding == "same":
        before, after = filters.same_padding(n, k, s)
        return (rf"\begin{{aligned}} {axis}' &= \left\lceil \frac{{{axis}}}{{s}} \right\rceil \\ &= \left\lceil "
                rf"\frac{{{n}}}{{{s}}} \right\rceil = {out} \quad \text{{("
                + _("pads {before} before, {after} after").format(before=before, after=after) + r")} \end{aligned}")  # fmt: skip
    return (rf"\begin{{aligned}} {axis}' &= \left\lfloor \frac{{{axis} - k}}{{s}} \right\rfloor + 1 \\ &= \left\lfloor "
            rf"\frac{{{n} - {k}}}{{{s}}} \right\rfloor + 1 = {out} \end{{aligned}}")  # fmt: skip


def fmt(v: float) -> str:
    """A term of the sum, in the language's decimals: ``(-1.00)`` or ``(-1,00)``."""
    return f"({number(v, 2)})" if v < 0 else number(v, 2)


def sig3(v: float) -> str:
    """Three significant digits, in the language's decimals (2.31 or 2,31)."""
    return number(float(f"{v:.3g}"))


def cell_picker(prefix: str, oh: int, ow: int) -> tuple[int, int]:
    """Row/column sliders; while ``<prefix>_play`` is on, each run steps the cell forward.

    Call inside a fragment with ``run_every`` set while playing (the Play toggle itself sits
    outside the fragment, so switching it reruns the page and re-arms the timer).
    """
    row_key, col_key, play_key = f"{prefix}_row", f"{prefix}_col", f"{prefix}_play"
    st.session_state[row_key] = min(st.session_state[row_key], oh - 1)
    st.session_state[col_key] = min(st.session_state[col_key], ow - 1)
    if st.session_state[play_key]:
        st.session_state[row_key], st.session_state[col_key] = next_cell(
            st.session_state[row_key], st.session_state[col_key], oh, ow
        )
    a, b = st.columns(2)
    a.slider(_("Output row"), 0, max(oh - 1, 1), key=row_key, disabled=oh == 1)
    b.slider(_("Output column"), 0, max(ow - 1, 1), key=col_key, disabled=ow == 1)
    return min(st.session_state[row_key], oh - 1), min(st.session_state[col_key], ow - 1)


# ----- the page -------------------------------------------------------------------------


def intro() -> None:
    st.title(_("Convolution and pooling"))
    st.markdown(
        _("A convolution slides a small grid of weights (the **kernel**) over the image; each output cell is the sum "
          "of the image patch times the kernel. **Like Keras, this is a cross-correlation: the kernel is not flipped.**")
    )  # fmt: skip


def maps_view(image: np.ndarray, image_name: str, result: Pipeline, settings: LayerSettings, limit: float) -> None:
    """The input and the maps after each step, side by side (or two by two, one zoomed, for a projector)."""
    h, w = image.shape
    conv, act, pooled = result.conv, result.act, result.pooled
    large = st.toggle(_("Large view (for a projector)"), key="learn_large",
                      help=_("The maps two by two, and one of them as large as the page."))  # fmt: skip
    panels = [(_("Input"), gray_rgb(image, 0.0, 1.0),
               _("Input: {name}, shape ({h}, {w})").format(name=image_name, h=h, w=w))]  # fmt: skip
    if conv is not None:
        panels.append(
            (
                _("Feature map"),
                diverging_rgb(conv, limit),
                _("Feature map, shape {shape}").format(shape=conv.shape),
            )
        )
    if act is not None and settings.relu:
        panels.append(
            (_("After ReLU"), diverging_rgb(act, limit), _("After ReLU, shape {shape}").format(shape=act.shape))
        )
    if pooled is not None:
        mode = _("Max pooling") if settings.pool_mode == "max" else _("Average pooling")
        panels.append(
            (mode, diverging_rgb(pooled, limit), _("{mode}, shape {shape}").format(mode=mode, shape=pooled.shape))
        )
    if large:
        zoom = st.segmented_control(
            _("Zoom on"), [p[0] for p in panels], default=panels[-1][0], key="learn_zoom", wrap=True
        )
        for name, rgb, caption in panels:
            if name == zoom:
                big, _factor = enlarge(rgb, min_side=720)
                st.image(big, caption=caption, width="stretch")
        for row in range(0, len(panels), 2):
            for col, (_name, rgb, caption) in zip(st.columns(2), panels[row : row + 2]):
                with col:
                    show(rgb, caption)
    else:
        for col, (_name, rgb, caption) in zip(st.columns(4), panels):
            with col:
                show(rgb, caption)
    if result.conv_error:
        st.error(result.conv_error, icon=":material/error:")
    elif act is not None and not settings.relu:
        st.caption(_("ReLU is off: the pooling reads the raw feature map."))
    if result.pool_error:
        st.error(result.pool_error, icon=":material/error:")
    if conv is not None:
        st.caption(
            _("Colours: blue below zero, white at zero, red above, on one scale of ±{limit} for the three maps "
              "(stronger values are drawn at full colour). Feature map range {lo} .. {hi}. Computed in {ms} ms.").format(
                limit=sig3(limit), lo=sig3(conv.min()), hi=sig3(conv.max()), ms=number(result.milliseconds, 0))
        )  # fmt: skip


def sizes_view(image: np.ndarray, kernel: np.ndarray | None, result: Pipeline, settings: LayerSettings) -> None:
    """The chain of shapes, and the output-size formulas with their numbers."""
    h, w = image.shape
    shapes = [_("input ({h}, {w})").format(h=h, w=w)]
    if result.conv is not None:
        shapes.append(_("convolution {shape}").format(shape=result.conv.shape))
    if result.pooled is not None:
        shapes.append(_("pooling {shape}").format(shape=result.pooled.shape))
    st.markdown(_("**Shapes:** {chain}").format(chain=" → ".join(shapes)))

    kh, kw = kernel.shape if kernel is not None else (3, 3)
    st.markdown(_("**Output size** (kernel k = {kh}x{kw}, stride s = {s}, padding '{padding}')").format(
        kh=kh, kw=kw, s=settings.stride, padding=settings.padding))  # fmt: skip
    st.latex(size_latex("H", h, kh, settings.stride, settings.padding))
    if (w, kw) != (h, kh):
        st.latex(size_latex("W", w, kw, settings.stride, settings.padding))
    if result.act is not None and settings.pool:
        ah, _aw = result.act.shape
        st.markdown(
            _("**After pooling** (window {size}, stride {stride}, padding '{padding}')").format(
                size=settings.pool_size, stride=settings.pool_stride, padding=settings.pool_padding)
        )  # fmt: skip
        st.latex(size_latex("H", ah, settings.pool_size, settings.pool_stride, settings.pool_padding).replace("H", "P"))


def conv_cell_tab(image: np.ndarray, kernel: np.ndarray, conv: np.ndarray, settings: LayerSettings,
                  limit: float) -> None:  # fmt: skip
    """One output cell of the convolution, step by step: the patch, the kernel, the products, the sum."""
    st.toggle(_("Play: sweep the kernel over the image"), key="conv_play")
    kh, kw = kernel.shape

    @st.fragment(run_every=SWEEP_SECONDS if st.session_state.conv_play else None)
    @localized
    def conv_cell_view() -> None:
        r, c = cell_picker("conv", *conv.shape)
        cell = filters.conv_cell(image, kernel, r, c, settings.stride, settings.padding, settings.bias)
        win = cell.window
        left, right = st.columns(2)  # the two pictures side by side, the three grids below them
        with left:
            margin = max(kh, kw, 4)
            crop, t, lf = crop_around(image, win.top, win.left, kh, kw, margin)
            st.image(
                boxed(gray_rgb(crop, 0, 1), t, lf, kh, kw),
                caption=_("Input around the window (orange)"),
                width="stretch",
            )
        with right:
            st.image(
                boxed(diverging_rgb(conv, limit), r, c, 1, 1),
                caption=_("Output cell ({r}, {c}) in the feature map").format(r=r, c=c),
                width="stretch",
            )
        st.html(
            number_tables_html([
                {"values": win.values, "title": _("Input patch"), "diverging": False, "mask": win.inside,
                 "value_range": (0.0, 1.0)},
                {"values": kernel, "title": _("Kernel")},
                {"values": cell.products, "title": _("Patch x kernel")},
            ])
        )  # fmt: skip
        terms = " + ".join(f"{fmt(p)}×{fmt(k)}" for p, k in zip(win.values.ravel(), kernel.ravel()))
        st.markdown(f"<small>{terms}</small>", unsafe_allow_html=True)
        total = float(cell.products.sum())
        line = _("Sum of products = **{total}**").format(total=number(total, 3))
        if settings.bias:
            line += ", " + _("plus bias {bias} = **{value}**").format(
                bias=("+" if settings.bias >= 0 else "") + number(settings.bias, 2), value=number(cell.value, 3)
            )
        if settings.relu:
            line += "; " + _("after ReLU: **{value}**").format(value=number(max(cell.value, 0.0), 3))
        st.markdown(line)
        if not win.inside.all():
            st.caption(_("Cells marked 'pad' lie outside the image: 'same' padding reads them as 0."))

    conv_cell_view()


def pool_cell_tab(act: np.ndarray, pooled: np.ndarray, settings: LayerSettings, limit: float) -> None:
    """One pooling window: its values, which one wins (max) or their mean (avg), and where it lies."""
    st.toggle(_("Play: sweep the window over the map"), key="pool_play")

    @st.fragment(run_every=SWEEP_SECONDS if st.session_state.pool_play else None)
    @localized
    def pool_cell_view() -> None:
        r, c = cell_picker("pool", *pooled.shape)
        size = settings.pool_size
        cell = filters.pool_cell(act, r, c, size, settings.pool_stride, settings.pool_mode, settings.pool_padding)
        left, right = st.columns([1, 2])
        with left:
            win = cell.window
            crop, t, lf = crop_around(act, win.top, win.left, size, size, max(3 * size, 6))
            st.image(
                boxed(diverging_rgb(crop, limit), t, lf, size, size),
                caption=_("The window (orange), zoomed in"),
                width="stretch",
            )
            st.image(
                boxed(diverging_rgb(act, limit), win.top, win.left, size, size),
                caption=_("Where it lies on the map being pooled"),
                width="stretch",
            )
        with right:
            st.plotly_chart(
                number_grid(cell.window.values, _("Window"), mask=cell.window.inside, mark=cell.winner),
                config={"displayModeBar": False},
                width="content",
                key="g_pool",
            )
            if cell.mode == "max":
                st.markdown(_("The largest value wins (green): **{value}**.").format(value=number(cell.value, 3)))
            else:
                n = int(cell.window.inside.sum())
                st.markdown(
                    _("The mean of the {n} values inside the image: **{value}**.").format(
                        n=n, value=number(cell.value, 3)
                    )
                )
            if not cell.window.inside.all():
                st.caption(
                    _("'pad' cells lie outside the map: they never win a max and are not counted in an average.")
                )

    pool_cell_view()


def bank_tab(image: np.ndarray, settings: LayerSettings) -> None:
    """Several preset kernels on the same image: the stack of feature maps a first layer makes."""
    st.caption(
        _("The first layer of a CNN applies many kernels to the same image and stacks the results: one feature map "
          "per kernel (here with your stride, padding and ReLU; a trained layer learns its kernels).")
    )  # fmt: skip
    # The default in the widget, not set in the session first: with the session holding it, a fresh
    # server's first visitor clicking early found the bank emptied in 5 browser runs of 6 with a CPU
    # hog beside the app (the widget's own default, [], sent back, as far as we can tell); 0 of 4 now.
    bank = choose_many(_("Kernels"), list(filters.KERNEL_PRESETS), default=BANK_DEFAULT, key="learn_bank",
                       format_func=_)  # fmt: skip
    maps, error = feature_bank(image, bank, settings.stride, settings.padding, settings.relu)
    if error:
        st.error(error, icon=":material/error:")
    if maps:
        st.caption(
            _("Stack shape: ({n}, {h}, {w}) (channels first here; Keras puts channels last).").format(
                n=len(maps), h=maps[0][1].shape[0], w=maps[0][1].shape[1])
        )  # fmt: skip
    cols = st.columns(4)
    for i, (name, fmap) in enumerate(maps):
        with cols[i % 4]:
            show(
                diverging_rgb(fmap, symmetric_limit(fmap, ROBUST_PERCENTILE)),
                f"{_(name)}: {number(fmap.min(), 2)} .. {number(fmap.max(), 2)}",
            )


def main() -> None:
    init_state(DEFAULTS)
    intro()
    settings_col, view_col = st.columns([1.5, 3], gap="medium")
    with settings_col:
        image, image_name = pick_image()
        st.divider()
        kernel, _kernel_name = pick_kernel()
        settings = pick_settings()
    result = run_pipeline(image, kernel, settings)
    with view_col:
        # 99.5th percentile: a few extreme cells (an image border) must not wash out the rest.
        limit = symmetric_limit(result.conv, ROBUST_PERCENTILE) if result.conv is not None else 1.0
        maps_view(image, image_name, result, settings, limit)
        sizes_view(image, kernel, result, settings)
        tab_cell, tab_pool, tab_bank = st.tabs(
            [_("One cell, step by step"), _("One pooling window"), _("A bank of filters")]
        )
        with tab_cell:
            if result.conv is None:
                st.info(_("Fix the settings above to see the arithmetic."))
            else:
                conv_cell_tab(image, kernel, result.conv, settings, limit)
        with tab_pool:
            if result.pooled is None:
                st.info(_("Turn pooling on (and fix any error above) to see one pooling window."))
            else:
                pool_cell_tab(result.act, result.pooled, settings, limit)
        with tab_bank:
            bank_tab(image, settings)


main()
