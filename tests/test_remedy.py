"""One click from a finding to a pre-filled Train page (core.teaching.remedy, pages/_prefill.py)."""

from __future__ import annotations

import pytest

from core.models import get_preset
from core.teaching.remedy import remedy_for
from core.training import TrainConfig


def config(task: str = "mnist", preset: str = "mnist-mlp", **settings) -> dict:
    data = "/data/mnist.npz" if task == "mnist" else "/data/xrays"
    return TrainConfig.from_preset(task, data, preset, settings=settings).to_dict()


@pytest.mark.parametrize(
    ("kind", "factor"), [("diverged", 0.1), ("lr_too_high", 1 / 3), ("lr_too_low", 3.0), ("underfitting", 3.0)]
)
def test_learning_rate_findings_change_only_the_rate(kind, factor):
    old = config(learning_rate=0.003)
    remedy = remedy_for(kind, old)
    assert remedy.config.spec.learning_rate == pytest.approx(0.003 * factor, rel=0.02)
    # nothing else moved: same data, preset, layers, epochs, seed
    new = remedy.config.to_dict()
    assert {k: v for k, v in new.items() if k != "spec"} == {k: v for k, v in old.items() if k != "spec"}
    assert {k: v for k, v in new["spec"].items() if k != "learning_rate"} == {
        k: v for k, v in old["spec"].items() if k != "learning_rate"
    }
    assert remedy.changes[0].startswith("Learning rate: 0.003 -> ")


def test_a_rate_at_its_limit_has_no_remedy():
    assert remedy_for("lr_too_high", config(learning_rate=1e-7)) is None
    assert remedy_for("lr_too_low", config(learning_rate=10.0)) is None


def test_overfitting_adds_dropout_before_the_classifier_or_raises_it():
    added = remedy_for("overfitting", config(preset="mnist-mlp"))
    old_layers = get_preset("mnist-mlp").layers
    assert added.config.spec.layers[:-1] == old_layers
    assert added.config.spec.layers[-1].kind == "Dropout" and added.config.spec.layers[-1].rate == 0.3
    raised = remedy_for("overfitting", added.config.to_dict())
    assert raised.config.spec.layers[-1].rate == 0.5 and len(raised.config.spec.layers) == len(old_layers) + 1
    assert raised.changes == ("Dropout before the classifier: 30% -> 50%",)
    assert remedy_for("overfitting", raised.config.to_dict()) is None  # at the cap: nothing sensible to add


def test_overfitting_on_images_without_augmentation_turns_it_on():
    plain = config("images", "orientation-fast")
    plain["spec"]["augment"] = {}
    remedy = remedy_for("overfitting", plain)
    assert set(remedy.config.spec.augment) == {"rotation", "zoom", "translation"}
    assert remedy.config.spec.layers == TrainConfig.from_dict(plain).spec.layers


def test_healthy_trains_longer_unless_early_stopping_ended_it():
    assert remedy_for("healthy", config(epochs=5)).config.spec.epochs == 10
    assert remedy_for("healthy", config(epochs=5), early_stopped=True) is None
    for kind in ("early_stop", "too_early", "unreadable", "no such kind"):
        assert remedy_for(kind, config()) is None


@pytest.mark.parametrize("junk", [{}, {"spec": "x"}, {"spec": {"layers": "x"}}, None, {"api_compare": {}, **config()}])
def test_unreadable_or_hand_written_configs_have_no_remedy(junk):
    assert remedy_for("lr_too_high", junk) is None


def overfitting_run_on_curves(tmp_path):
    """An AppTest on Learning curves with one run whose curves say overfitting."""
    from conftest import ROOT, seed_run
    from streamlit.testing.v1 import AppTest

    from core.base.storage import write_json_atomic

    rows = [f"{e},{1 / e:.3f},0.9,{v},0.8,0.001,1.0\n" for e, v in enumerate([0.9, 0.5, 0.4, 0.45, 0.5, 0.6], 1)]
    path = seed_run(tmp_path / "runs", "20261120-100000-over", "completed", rows, epochs_done=6, epochs=6)
    write_json_atomic(path / "config.json", config(learning_rate=0.002, epochs=6))
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=180).run()
    return at.switch_page("pages/curves.py").run()


def test_the_curves_button_opens_train_pre_filled(tmp_path):
    at = overfitting_run_on_curves(tmp_path)
    assert not at.exception, at.exception
    button = next(b for b in at.button if b.key == "remedy_20261120-100000-over_overfitting")
    assert button.label == "Train again with more regularisation"
    button.click().run()
    assert not at.exception, at.exception
    assert any("Pre-filled from run **20261120-100000-over**" in i.value for i in at.info)
    assert at.toggle(key="train_edit_layers").value is True
    assert at.number_input(key="t_learning_rate_custom").value == 0.002  # the run's own values, not the preset's
    assert at.number_input(key="t_epochs_custom").value == 6
    layers = at.session_state["train_rows_mnist-mlp"]
    assert [r["kind"] for r in layers][-1] == "Dropout"
    at.switch_page("pages/train.py")  # AppTest reruns the page it was told, not the one the script switched to
    at.button(key="train_prefill_clear").click().run()
    assert not any("Pre-filled" in i.value for i in at.info)
    assert at.toggle(key="train_edit_layers").value is False
    assert at.number_input(key="t_learning_rate_mnist-mlp").value == 0.001  # the preset's own rate again


def test_the_audience_reads_the_advice_without_the_button(tmp_path, monkeypatch):
    monkeypatch.setenv("CNNLAB_PRESENTER_KEY", "k3y-for-the-talk")  # a visitor without the key is audience
    at = overfitting_run_on_curves(tmp_path)
    assert not at.exception, at.exception
    assert any("Dropout" in c.value for c in at.caption)  # the advice is there
    assert not [b for b in at.button if (b.key or "").startswith("remedy_")]
