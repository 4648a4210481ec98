"""core.plots.pictures and core.plots.grids: colour maps, enlargement, boxes and number grids."""

import re

import numpy as np

from core.plots import grids, pictures


def test_diverging_keeps_zero_white_and_signs_apart():
    x = np.array([[0.0, 2.0, -2.0, 1.0, -1.0, 5.0]])
    rgb = pictures.diverging_rgb(x, limit=2.0)
    assert rgb.dtype == np.uint8 and rgb.shape == (1, 6, 3)
    np.testing.assert_array_equal(rgb[0, 0], pictures.DIVERGING[1])  # zero is white
    np.testing.assert_array_equal(rgb[0, 1], pictures.DIVERGING[2])  # +limit is full red
    np.testing.assert_array_equal(rgb[0, 2], pictures.DIVERGING[0])  # -limit is full blue
    np.testing.assert_array_equal(rgb[0, 5], rgb[0, 1])  # beyond the limit: clipped
    assert rgb[0, 3, 0] > rgb[0, 3, 2] and rgb[0, 4, 2] > rgb[0, 4, 0]  # half-red, half-blue
    # Without a limit the largest magnitude sets the scale; an all-zero map stays white.
    np.testing.assert_array_equal(pictures.diverging_rgb(np.array([[-3.0, 1.0]]))[0, 0], pictures.DIVERGING[0])
    assert (pictures.diverging_rgb(np.zeros((2, 2))) == 247).all()


def test_gray_rgb_range():
    g = pictures.gray_rgb(np.array([[0.0, 0.5, 1.0]]), 0, 1)
    assert g[0, :, 0].tolist() == [0, 128, 255] and (g[..., 0] == g[..., 2]).all()


def test_enlarge_and_box():
    rgb = np.zeros((28, 20, 3), np.uint8)
    big, f = pictures.enlarge(rgb, min_side=200)
    assert f == 10 and big.shape == (280, 200, 3)
    assert pictures.enlarge(np.zeros((512, 512, 3), np.uint8))[1] == 1
    boxed = pictures.draw_box(np.zeros((10, 10, 3), np.uint8), 2, 3, 4, 5, thickness=1)
    edge = (boxed == pictures.HIGHLIGHT).all(axis=2)
    assert edge[2, 3:8].all() and edge[5, 3:8].all() and edge[2:6, 3].all() and edge[2:6, 7].all()
    assert not edge[3:5, 4:7].any()  # only the outline
    clipped = pictures.draw_box(np.zeros((10, 10, 3), np.uint8), -1, -1, 3, 3, thickness=1)
    assert (clipped == pictures.HIGHLIGHT).all(axis=2).sum() > 0


def test_crop_around_clips_to_the_image():
    x = np.arange(100).reshape(10, 10)
    crop, top, left = pictures.crop_around(x, 0, 8, 3, 3, margin=2)
    assert crop.shape == (5, 4) and (top, left) == (0, 2)
    assert crop[top, left] == x[0, 8]


def test_number_grid_writes_every_value_and_marks_padding():
    values = np.array([[0.5, -1.0], [0.0, 2.25]])
    fig = grids.number_grid(values, "patch", mask=np.array([[True, False], [True, True]]), mark=(1, 1))
    text = fig.data[0].text
    assert text[0][0] == "0.5" and text[0][1] == "pad" and text[1][1] == "2.25"  # padding reads 0
    assert fig.data[0].zmin == -2.25 and fig.data[0].zmax == 2.25
    assert len(fig.layout.shapes) == 1


def test_number_tables_write_every_cell_with_zero_white_and_padding_marked():
    kernel = np.arange(25, dtype=float).reshape(5, 5) - 12
    out = grids.number_tables_html([
        {"values": np.full((5, 5), 0.5), "title": "patch <1>", "diverging": False, "value_range": (0.0, 1.0),
         "mask": np.eye(5, dtype=bool)},
        {"values": kernel, "title": "kernel"},
    ])  # fmt: skip
    assert out.count("<table>") == 2 and "patch &lt;1&gt;" in out  # titles are escaped
    cells = re.findall(r'<td style="background:rgb\((\d+),(\d+),(\d+)\);color:(#\w+)">([^<]*)</td>', out)
    assert len(cells) == 50
    patch, kern = cells[:25], cells[25:]
    assert [c[4] for c in patch].count("pad") == 20 and patch[0][4] == "0.5"
    assert [c[4] for c in kern] == [str(v) for v in range(-12, 13)]
    assert kern[12][:3] == ("247", "247", "247")  # zero stays white
    assert int(kern[0][2]) > int(kern[0][0]) and int(kern[24][0]) > int(kern[24][2])  # blue below, red above
    assert kern[0][3] == "#fff" and kern[12][3] == "#222"  # ink readable on dark and light cells


def test_boxed_keeps_one_cell_visible_on_a_large_map():
    out = pictures.boxed(np.zeros((512, 512, 3), np.uint8), 200, 300, 1, 1)
    edge = (out == pictures.HIGHLIGHT).all(axis=2)
    rows, cols = np.nonzero(edge)
    assert rows.max() - rows.min() + 1 >= 512 // 12 and cols.max() - cols.min() + 1 >= 512 // 12
    assert rows.min() <= 200 <= rows.max() and cols.min() <= 300 <= cols.max()  # centred on the cell


def test_a_negative_zero_product_reads_0_not_minus_0():
    """A negative kernel weight times a black pixel is -0.0: the Learn grid wrote "-0" (issue 27)."""
    products = np.array([[-1.0, 0.5], [2.0, 1.0]]) * np.array([[0.0, 1.0], [0.5, 0.0]])
    assert np.signbit(products[0, 0])  # -0.0 indeed
    text = grids.number_grid(products, "patch x kernel").data[0].text
    assert text[0][0] == "0" and text[1][1] == "0" and text[1][0] == "1"


def test_the_walls_confusion_matrix_fits_its_frame_and_the_race_title_is_short():
    from core.plots.race import RaceLine, race_figure
    from core.plots.results import confusion_figure

    names = [str(d) for d in range(10)]
    cm = np.eye(10, dtype=int).tolist()
    tall, framed = confusion_figure(cm, names), confusion_figure(cm, names, height=330)
    assert tall.layout.height >= 580 and framed.layout.height == 330  # under a 576-px projector's fold
    assert framed.data[0].textfont.size < tall.data[0].textfont.size  # numbers sized to the smaller cells
    fig = race_figure([RaceLine("fast", [(10.0, 0.9)], None)], 0.98, None, None, height=400)
    assert len(fig.layout.title.text) <= 40 and fig.layout.title.subtitle.text  # Plotly never wraps a title
    assert fig.layout.height == 400
