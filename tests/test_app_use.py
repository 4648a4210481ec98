"""AppTest of the Predict and Evaluate pages, with small models trained in the test."""

from __future__ import annotations

import io
import json
import shutil

import numpy as np
import pytest
from conftest import ROOT, stripes, synthetic_digits
from conftest import train_with_cli as train
from PIL import Image
from streamlit.testing.v1 import AppTest

from core.data.images import MAX_PIXELS

APP = str(ROOT / "streamlit_app.py")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """An MNIST run and a 2-class image run, trained once for the module."""
    root = tmp_path_factory.mktemp("use")
    runs, data = root / "runs", root / "data"
    data.mkdir()
    x, y = synthetic_digits(600, seed=1)
    xt, yt = synthetic_digits(100, seed=2)
    np.savez_compressed(data / "mnist.npz", x_train=x, y_train=y, x_test=xt, y_test=yt)
    mnist_id = train(
        ["--task", "mnist", "--data", str(data / "mnist.npz"), "--preset", "keras-convnet", "--epochs", "2"], runs
    )
    for cls in ("horizontal", "vertical"):
        (data / "stripes" / cls).mkdir(parents=True)
        for i in range(20):
            stripes(cls, 32, seed=i).save(data / "stripes" / cls / f"{i}.png")
    for cls in ("cats", "dogs"):  # a dataset whose classes differ from the image model's
        (data / "animals" / cls).mkdir(parents=True)
        for i in range(3):
            stripes("horizontal", 32, seed=i).save(data / "animals" / cls / f"{i}.png")
    img_id = train(["--task", "images", "--data", str(data / "stripes"), "--preset", "orientation-fast", "--epochs", "2",
                    "--image-size", "32"], runs)  # fmt: skip
    return {"root": root, "runs": runs, "data": data, "mnist": mnist_id, "images": img_id}


@pytest.fixture
def app_dirs(trained, tmp_path, monkeypatch):
    runs = tmp_path / "runs_copy"
    shutil.copytree(trained["runs"], runs)
    monkeypatch.setenv("CNNLAB_RUNS_DIR", str(runs))
    monkeypatch.setenv("CNNLAB_DATA_DIR", str(trained["data"]))
    return runs


def page(name: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180).run()
    at.switch_page(f"pages/{name}.py").run()
    assert not at.exception, at.exception
    return at


def png(img: Image.Image, fmt: str = "PNG", **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def digit_photo(position_class: int) -> Image.Image:
    """A white-background photo of the synthetic class (dark block), as a user would upload."""
    x, y = synthetic_digits(10, seed=5)
    i = int(np.flatnonzero(y == position_class)[0])
    return Image.fromarray(255 - x[i]).resize((140, 140))


def headings(at) -> list[str]:
    return [m.value for m in at.markdown if m.value.startswith("### ")]


def test_predict_uploads_one_image_with_explanations(app_dirs, trained):
    at = page("predict")
    at.selectbox(key="predict_model").set_value(trained["mnist"]).run()
    at.pills(key="predict_source_mnist").set_value("Upload").run()
    at.file_uploader(key="predict_upload").upload("three.png", png(digit_photo(3)), "image/png").run()
    assert not at.exception
    assert headings(at) and headings(at)[0].startswith("### ")
    assert len(at.get("plotly_chart")) == 1  # the probability bars
    at.selectbox(key="maps_layer").set_value(at.selectbox(key="maps_layer").options[0]).run()
    assert not at.exception


def font_digit(digit: str) -> Image.Image:
    """A printed digit, black on white, as a phone photo of a written one would look."""
    from PIL import ImageDraw, ImageFont

    img = Image.new("L", (140, 140), 255)
    ImageDraw.Draw(img).text((35, 0), digit, fill=0, font=ImageFont.load_default(size=120))
    return img


def test_predict_shows_the_shipped_models_label_for_each_upload(app_dirs):
    at = page("predict")
    at.selectbox(key="predict_model").set_value("__default__").run()
    at.pills(key="predict_source_mnist").set_value("Upload").run()
    for digit in "3702":
        at.file_uploader(key="predict_upload").upload(f"{digit}.png", png(font_digit(digit)), "image/png").run()
        assert not at.exception
        heading = headings(at)[0]
        assert heading.startswith(f"### {digit}  \nconfidence **"), heading
        assert float(heading.split("**")[1].rstrip("%")) > 90


def test_predict_many_images_table_and_bad_files(app_dirs, trained):
    at = page("predict")
    at.selectbox(key="predict_model").set_value(trained["mnist"]).run()
    at.pills(key="predict_source_mnist").set_value("Upload").run()
    side = int((MAX_PIXELS * 2) ** 0.5)
    frames = [digit_photo(1).convert("L"), Image.new("L", (140, 140), 255)]
    gif = io.BytesIO()
    frames[0].save(gif, "GIF", save_all=True, append_images=frames[1:])
    rgba = digit_photo(4).convert("RGBA")
    files = [
        ("a.png", png(digit_photo(0)), "image/png"),
        ("b.jpg", png(digit_photo(7).convert("RGB"), "JPEG"), "image/jpeg"),
        ("anim.gif", gif.getvalue(), "image/gif"),
        ("alpha.png", png(rgba), "image/png"),
        ("sixteen.png", png(Image.fromarray(np.asarray(digit_photo(2), dtype=np.uint16) * 257)), "image/png"),
        ("notes.png", b"not an image at all", "image/png"),
        ("cut.png", png(digit_photo(5))[:80], "image/png"),
        ("bomb.png", png(Image.new("1", (side, side), 0)), "image/png"),
        ("blank.png", png(Image.new("L", (50, 50), 255)), "image/png"),
    ]
    at.file_uploader(key="predict_upload").set_value(files).run()
    assert not at.exception
    errors = " ".join(e.value for e in at.error)
    for bad, why in [
        ("notes.png", "not an image"),
        ("cut.png", "corrupt"),
        ("bomb.png", "decompression bomb"),
        ("blank.png", "No digit found"),
    ]:
        assert bad in errors and why in errors
    table = at.dataframe[0].value
    assert table["image"].tolist() == ["a.png", "b.jpg", "anim.gif", "alpha.png", "sixteen.png"]
    assert table["confidence"].between(0, 1).all()
    assert at.get("download_button")


def bars(at) -> np.ndarray:
    """The class probabilities the page draws (the probability bars' lengths)."""
    return np.array(json.loads(at.get("plotly_chart")[0].proto.spec)["data"][0]["x"], dtype=np.float64)


def test_probes_change_the_probabilities(app_dirs, trained):
    """Occluding 80% of the sample redraws the bars with the model's probabilities for the occluded image."""
    from core.runs.store import Run
    from core.serving.inference import Probe
    from core.tasks import serve

    served = serve(Run(app_dirs / trained["mnist"]))
    sample = Image.fromarray(np.load(trained["data"] / "mnist.npz")["x_test"][0])  # the page's first test digit
    occluded = Probe(occlude=(0.5, 0.5, 0.8))  # the page's patch at its default row and column, size 0.8
    _x, plain, _v = served.examine_images([sample])
    _x, probed, (verdict,) = served.examine_images([sample], occluded)
    assert np.abs(probed[0] - plain[0]).max() > 1e-3  # the patch changes what the model says

    at = page("predict")
    at.selectbox(key="predict_model").set_value(trained["mnist"]).run()
    at.pills(key="predict_source_mnist").set_value("Sample").run()
    np.testing.assert_allclose(bars(at), plain[0], atol=1e-5)
    at.checkbox(key="p_occlude").check().run()
    at.slider(key="p_occ_size").set_value(0.8).run()
    assert not at.exception
    np.testing.assert_allclose(bars(at), probed[0], atol=1e-5)  # the bars are the occluded image's
    label = served.spec.class_names[int(probed[0].argmax())]
    answer = "### I don't know" if verdict.unfamiliar else f"### {label}  \nconfidence"
    assert headings(at)[0].startswith(answer)  # the occluded image's answer (or its "I don't know")


def test_missing_or_broken_checkpoint_is_a_clear_message(app_dirs, trained):
    (app_dirs / trained["images"] / "best.keras").write_bytes(b"broken")
    (app_dirs / trained["images"] / "final.keras").unlink(missing_ok=True)
    at = page("predict")
    at.selectbox(key="predict_model").set_value(trained["images"]).run()
    assert not at.exception
    assert "cannot be used" in at.error[0].value and "Could not load" in at.error[0].value
    (app_dirs / trained["images"] / "best.keras").unlink()
    at = page("evaluate")
    assert not at.exception  # the run without a checkpoint is simply not offered
    assert trained["images"] not in at.selectbox(key="eval_model").options


def test_evaluate_shows_metrics_matrix_and_gallery(app_dirs, trained):
    at = page("evaluate")
    at.selectbox(key="eval_model").set_value(trained["mnist"]).run()
    assert not at.exception
    labels = {m.label: m.value for m in at.metric}
    assert labels["Images"] == "100" and labels["Accuracy"].endswith("%")
    cm = json.loads((app_dirs / trained["mnist"] / "metrics.json").read_text())["confusion_matrix"]
    at.selectbox(key="eval_mode").set_value("all").run()
    for true, pred in ((3, 3), (3, 5), (8, 8)):
        at.selectbox(key="eval_true").set_value(str(true)).run()
        at.selectbox(key="eval_pred").set_value(str(pred)).run()
        assert not at.exception
        n = cm[true][pred]
        assert any(c.value.startswith(f"{n:,} image{'' if n == 1 else 's'} match") for c in at.caption), (true, pred)
    assert cm[3][3] > 0  # the diagonal cell really holds images
    # TensorFlow Lite is converted on request only (1 to 3 s of every first view before).
    downloads = lambda: [d.proto.label for d in at.get("download_button")]  # noqa: E731
    assert not any("TensorFlow Lite" in label for label in downloads())
    at.button(key="export_tflite_go").click().run()
    assert not at.exception
    assert any(label.startswith("TensorFlow Lite for phones (") for label in downloads()), downloads()
    assert not [b for b in at.button if b.key == "export_tflite_go"]  # converted: the button has done its work


def test_evaluate_on_a_dataset_with_other_classes(app_dirs, trained):
    other = trained["data"] / "animals"
    at = page("evaluate")
    at.selectbox(key="eval_model").set_value(trained["images"]).run()
    assert {m.label for m in at.metric} == {"Accuracy", "Loss", "Images"}
    at.selectbox(key="eval_target").set_value(str(other)).run()
    assert not at.exception
    assert "do not match the model's" in at.error[0].value


def test_evaluate_on_an_uploaded_zip(app_dirs, trained):
    import zipfile

    def zipped(classes: tuple[str, str]) -> bytes:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            for cls, orient in zip(classes, ("horizontal", "vertical")):
                for i in range(4):
                    zf.writestr(f"{cls}/{i}.png", png(stripes(orient, 32, seed=50 + i)))
        return buf.getvalue()

    at = page("evaluate")
    at.selectbox(key="eval_model").set_value(trained["images"]).run()
    at.selectbox(key="eval_target").set_value("Upload a zip").run()
    at.file_uploader(key="eval_zip").upload("fresh.zip", zipped(("horizontal", "vertical")), "application/zip").run()
    at.button(key="eval_import").click().run()
    assert not at.exception
    assert "Imported fresh" in at.success[0].value
    assert {m.label: m.value for m in at.metric}["Images"] == "8"
    at.file_uploader(key="eval_zip").upload("pets.zip", zipped(("cats", "dogs")), "application/zip").run()
    at.button(key="eval_import").click().run()
    assert not at.exception and "do not match the model's" in at.error[0].value
    for name in ("fresh", "pets"):
        shutil.rmtree(trained["data"] / name, ignore_errors=True)


def gradcam_caption(at) -> str:
    return next(c for el in at.get("image") for c in el.captions if c.startswith("Grad-CAM for"))


def test_gradcam_follows_the_prediction_unless_the_person_chose(app_dirs, trained):
    at = page("predict")
    at.selectbox(key="predict_model").set_value("__default__").run()
    at.pills(key="predict_source_mnist").set_value("Upload").run()
    for digit in "370":  # a new input: the explained class follows the prediction
        at.file_uploader(key="predict_upload").upload(f"{digit}.png", png(font_digit(digit)), "image/png").run()
        assert headings(at)[0].startswith(f"### {digit}")
        assert gradcam_caption(at).startswith(f"Grad-CAM for '{digit}'"), gradcam_caption(at)
    at.selectbox(key="cam_class").set_value("5").run()  # the person's choice stays for this input
    assert gradcam_caption(at).startswith("Grad-CAM for '5'")
    layers = at.selectbox(key="cam_layer").options
    at.selectbox(key="cam_layer").set_value(layers[0]).run()
    assert f"at {layers[0]}" in gradcam_caption(at)
    at.selectbox(key="predict_model").set_value(trained["mnist"]).run()  # another model: its last conv layer
    at.pills(key="predict_source_mnist").set_value("Upload").run()
    at.file_uploader(key="predict_upload").upload("2.png", png(font_digit("2")), "image/png").run()
    convs = [name for name in at.selectbox(key="cam_layer").options if name.startswith("conv2d")]
    assert at.selectbox(key="cam_layer").value == convs[-1]  # the last conv layer, not the old choice
    assert not at.exception


@pytest.mark.parametrize("name,key", [("predict", "predict_model"), ("evaluate", "eval_model")])
def test_the_best_model_on_the_newest_runs_data_is_proposed_first(tmp_path, monkeypatch, name, key):
    """After a race the newest run is its weakest racer: Predict and Evaluate propose the best one, named with its
    data and test accuracy (issue 27)."""
    from core.serving.default_model import DEFAULT_RUN_DIR

    monkeypatch.setenv("CNNLAB_RUNS_DIR", str(tmp_path / "runs"))
    for run_id, accuracy in (("20260101-000001-fast", 0.9955), ("20260101-000002-mlp", 0.92)):  # the mlp is newest
        shutil.copytree(DEFAULT_RUN_DIR, tmp_path / "runs" / run_id)
        metrics = json.loads((tmp_path / "runs" / run_id / "metrics.json").read_text())
        (tmp_path / "runs" / run_id / "metrics.json").write_text(json.dumps({**metrics, "accuracy": accuracy}))
    at = page(name)
    model = at.selectbox(key=key)
    assert model.value == "20260101-000001-fast"  # 99.55%, above the shipped model's 99.14% and the newest 92%
    assert model.options[0].startswith("20260101-000002-mlp: MNIST, mnist-fast, test acc 92")
    assert any(o.startswith("20260101-000001-fast: MNIST, mnist-fast, test acc 99.") for o in model.options)
