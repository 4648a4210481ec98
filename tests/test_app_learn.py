"""AppTest of the app shell, the Home page and the Learn page."""

from __future__ import annotations

import io
import re
import shutil

import numpy as np
import pytest
from conftest import ROOT
from PIL import Image
from streamlit.testing.v1 import AppTest

from core.data.images import MAX_PIXELS
from core.teaching import filters

APP = str(ROOT / "streamlit_app.py")
TIMEOUT = 120  # the first run imports TensorFlow


def png(img: Image.Image, fmt: str = "PNG", **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def learn_page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.switch_page("pages/learn.py").run()
    assert not at.exception
    return at


def shapes(at: AppTest) -> str:
    found = [m.value for m in at.markdown if m.value.startswith("**Shapes:**")]
    assert found, "the Shapes line is missing"
    return found[0]


def texts(at: AppTest, kind: str) -> str:
    return "\n".join(e.value for e in getattr(at, kind))


def test_home_renders_and_says_what_to_do_without_data():
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    assert not at.exception
    assert "CNN Lab" in at.title[0].value
    assert "No data in" in texts(at, "info")
    assert "Nothing is training" in texts(at, "caption")


def test_home_and_sidebar_list_found_datasets(tmp_path, monkeypatch, mnist_npz, image_folder):
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(mnist_npz, data / "mnist.npz")
    shutil.copytree(image_folder, data / "shapes")
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    assert not at.exception
    md = texts(at, "markdown")
    assert "mnist.npz" in md and "shapes" in md
    assert "Images: `shapes`" in texts(at, "caption")


def test_learn_defaults_show_shapes_and_formula():
    at = learn_page()
    assert shapes(at) == "**Shapes:** input (128, 128) → convolution (126, 126) → pooling (63, 63)"
    latex = [x.value for x in at.latex]
    assert any("128 - 3" in x and "= 126" in x for x in latex)
    assert "cross-correlation" in texts(at, "markdown")


def test_changing_settings_updates_shapes():
    at = learn_page()
    at.slider(key="learn_stride").set_value(2).run()
    assert "convolution (63, 63)" in shapes(at)
    at.segmented_control(key="learn_padding").set_value("same").run()
    assert "convolution (64, 64) → pooling (32, 32)" in shapes(at)
    assert any(r"\lceil" in x.value and "= 64" in x.value for x in at.latex)
    at.selectbox(key="learn_kernel").set_value("gaussian blur 5x5").run()
    at.segmented_control(key="learn_padding").set_value("valid").run()
    assert "convolution (62, 62)" in shapes(at)  # floor((128 - 5) / 2) + 1
    at.slider(key="learn_pool_size").set_value(3).run()
    at.slider(key="learn_pool_stride").set_value(1).run()
    assert "pooling (60, 60)" in shapes(at)
    at.toggle(key="learn_pool_on").set_value(False).run()
    assert "pooling" not in shapes(at)
    at.select_slider(key="learn_card_size").set_value(32).run()
    assert shapes(at).startswith("**Shapes:** input (32, 32) → convolution (14, 14)")
    assert not at.exception


def test_a_custom_kernel_is_typed_cell_by_cell_and_a_bad_cell_is_named():
    at = learn_page()
    at.selectbox(key="learn_kernel").set_value("custom 3x3").run()
    assert at.text_input(key="learn_cell_3_sobel x_0_0").value == "-1"  # starts from the last preset
    box_blur = {(r, c): "1/9" for r in range(3) for c in range(3)}
    for (r, c), text in box_blur.items():
        at.text_input(key=f"learn_cell_3_sobel x_{r}_{c}").input(text)
    at.button[0].click().run()  # the form's Apply (the only button on the page)
    assert not at.error and not at.exception
    at.slider(key="conv_row").set_value(40).run()
    at.slider(key="conv_col").set_value(50).run()
    assert "Sum of products" in texts(at, "markdown")
    at.text_input(key="learn_cell_3_sobel x_1_2").input("abc")
    at.button[0].click().run()
    assert "Kernel cell at row 2, column 3: 'abc' is not a number." in texts(at, "error")
    assert not at.exception


def test_one_cell_arithmetic_matches_the_feature_map():
    at = learn_page()
    at.slider(key="conv_row").set_value(40).run()
    at.slider(key="conv_col").set_value(17).run()
    image = filters.synthetic_image(128)
    want = filters.convolve(image, filters.kernel_preset("sobel x"))[40, 17]
    line = next(m.value for m in at.markdown if m.value.startswith("Sum of products"))
    got = float(re.search(r"\*\*(-?[\d.]+)\*\*", line).group(1))
    assert got == pytest.approx(want, abs=1e-3)
    # Play advances the cell on each rerun (the fragment timer drives it in the browser).
    at.toggle(key="conv_play").set_value(True).run()
    assert at.slider(key="conv_col").value > 17
    assert not at.exception


def test_pooling_window_says_which_value_wins():
    at = learn_page()
    at.segmented_control(key="learn_pool_mode").set_value("avg").run()
    assert any("mean of the 4 values" in m.value for m in at.markdown)
    at.segmented_control(key="learn_pool_mode").set_value("max").run()
    assert any("largest value wins" in m.value for m in at.markdown)


def test_mnist_digit_source(tmp_path, mnist_npz):
    (tmp_path / "data").mkdir()
    shutil.copy(mnist_npz, tmp_path / "data" / "mnist.npz")
    at = learn_page()
    at.pills(key="learn_source").set_value("MNIST digit").run()
    assert not at.exception
    assert shapes(at).startswith("**Shapes:** input (28, 28) → convolution (26, 26)")


def _bad_uploads() -> dict[str, tuple[str, bytes, str]]:
    side = int((MAX_PIXELS * 2) ** 0.5)
    return {
        "text": ("notes.png", b"I am not an image", "not an image"),
        "truncated": ("cut.png", png(Image.new("L", (64, 64), 90))[:70], "corrupt or truncated"),
        "empty": ("empty.png", b"", "empty"),
        "bomb": ("bomb.png", png(Image.new("1", (side, side), 0)), "decompression bomb"),
    }


@pytest.mark.parametrize("case", list(_bad_uploads()))
def test_bad_upload_shows_an_error_and_the_page_keeps_working(case):
    name, data, message = _bad_uploads()[case]
    at = learn_page()
    at.pills(key="learn_source").set_value("Upload").run()
    at.file_uploader(key="learn_upload").upload(name, data, "image/png").run()
    assert not at.exception
    assert message in texts(at, "error")
    assert "test card" in texts(at, "error")
    assert shapes(at).startswith("**Shapes:** input (128, 128)")  # fell back to the test card
    at.slider(key="learn_stride").set_value(3).run()  # still live
    assert not at.exception and "convolution (42, 42)" in shapes(at)


def _odd_uploads() -> dict[str, tuple[bytes, str, str]]:
    frames = [Image.new("L", (40, 30), v) for v in (0, 255)]
    gif = io.BytesIO()
    frames[0].save(gif, "GIF", save_all=True, append_images=frames[1:])
    arr16 = (np.arange(40 * 30, dtype=np.uint16).reshape(30, 40) * 50).astype(np.uint16)
    big = Image.fromarray((np.random.default_rng(0).random((900, 1200)) * 255).astype(np.uint8))
    return {
        "animated.gif": (gif.getvalue(), "frames: showing the first", "input (30, 40)"),
        "16bit.png": (png(Image.fromarray(arr16)), "rescaled", "input (30, 40)"),
        "transparent.png": (png(Image.new("RGBA", (40, 30), (255, 0, 0, 0))), "Transparent", "input (30, 40)"),
        "large.jpg": (png(big, "JPEG"), "downscaled to 512x384", "input (384, 512)"),
    }


@pytest.mark.parametrize("case", list(_odd_uploads()))
def test_unusual_images_are_handled_with_a_notice(case):
    data, notice, shape = _odd_uploads()[case]
    at = learn_page()
    at.pills(key="learn_source").set_value("Upload").run()
    at.file_uploader(key="learn_upload").upload(case, data).run()
    assert not at.exception
    assert notice in texts(at, "info")
    assert shape in shapes(at)
    assert not at.error


def test_tiny_image_with_large_valid_kernel_explains_itself():
    at = learn_page()
    at.pills(key="learn_source").set_value("Upload").run()
    at.file_uploader(key="learn_upload").upload("tiny.png", png(Image.new("L", (3, 3), 200))).run()
    at.selectbox(key="learn_kernel").set_value("gaussian blur 5x5").run()
    assert not at.exception
    assert "does not fit in the 3x3 image" in texts(at, "error")
    at.segmented_control(key="learn_padding").set_value("same").run()
    assert not at.error
    assert "convolution (3, 3) → pooling (1, 1)" in shapes(at)


def test_bank_of_filters_reports_the_stack():
    at = learn_page()
    assert "Stack shape: (6, 126, 126)" in texts(at, "caption")
    at.multiselect(key="learn_bank").set_value(["sobel x", "gaussian blur 5x5"]).run()
    assert not at.exception
    assert "Stack shape: (2," in texts(at, "caption")
