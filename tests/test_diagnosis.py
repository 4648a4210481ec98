"""Curves in plain words (core.teaching.diagnosis): one constructed history of each kind, and the shipped run."""

from __future__ import annotations

import pytest

from core.base.i18n import set_language
from core.runs.store import Run
from core.serving.default_model import DEFAULT_RUN_DIR
from core.teaching.diagnosis import diagnose


def history(loss, val_loss) -> list[dict]:
    return [{"epoch": str(i + 1), "loss": str(a), "val_loss": str(b)} for i, (a, b) in enumerate(zip(loss, val_loss))]


def kinds(findings) -> list[str]:
    return [f.kind for f in findings]


def test_overfitting_names_the_epoch_and_the_evidence():
    found = diagnose(history([1.0, 0.5, 0.3, 0.2, 0.1, 0.05], [0.9, 0.5, 0.4, 0.45, 0.5, 0.6]))
    assert kinds(found) == ["overfitting"]
    assert found[0].title == "Overfitting from epoch 4"
    assert found[0].evidence == (
        "val_loss rose 3 epochs in a row after epoch 3 (0.4000 to 0.6000) while loss kept falling (0.3000 to 0.0500)."
    )
    assert "Dropout" in found[0].advice


def test_a_single_bump_in_validation_loss_is_not_overfitting():
    assert kinds(diagnose(history([1.0, 0.5, 0.3, 0.2], [0.9, 0.5, 0.55, 0.4]))) == ["healthy"]


def test_a_jump_in_training_loss_says_the_learning_rate_is_too_high():
    found = diagnose(history([1.0, 0.5, 2.0, 1.5], [0.9, 0.6, 1.8, 1.4]))
    assert kinds(found) == ["lr_too_high"] and "jumped from 0.5000 to 2.0000 at epoch 3" in found[0].evidence


def test_a_loss_that_is_not_a_number_is_divergence():
    found = diagnose(history([1.0, 0.5, float("nan")], [0.9, 0.6, float("nan")]))
    assert kinds(found) == ["diverged"] and "epoch 3" in found[0].evidence
    assert kinds(diagnose(history([1.0, 0.5], [0.9, 0.6]), {"stop_reason": "nan", "epoch": 3})) == ["diverged"]


def test_high_and_flat_is_underfitting():
    found = diagnose(history([2.30, 2.00, 1.80, 1.795, 1.79], [2.3, 2.0, 1.85, 1.84, 1.84]))
    assert kinds(found) == ["underfitting"] and "78%" in found[0].evidence  # 1.79 / 2.30


def test_slow_and_steady_says_the_learning_rate_may_be_too_low():
    found = diagnose(history([1.0, 0.92, 0.85, 0.79, 0.73], [1.0, 0.93, 0.86, 0.8, 0.75]))
    assert kinds(found) == ["lr_too_low"] and "by 7% to 8% each time" in found[0].evidence


def test_early_stopping_is_reported_with_the_best_epoch():
    status = {"status": "completed", "epochs_done": 6, "epochs": 50}
    plateau = history([1.0, 0.5, 0.3, 0.2, 0.15, 0.1], [0.9, 0.5, 0.4, 0.41, 0.405, 0.406])
    found = diagnose(plateau, status)
    assert kinds(found) == ["healthy", "early_stop"]
    assert "stopped at epoch 6 of 50" in found[1].evidence and "since epoch 3" in found[1].evidence
    rising = history([1.0, 0.5, 0.3, 0.2, 0.15, 0.1], [0.9, 0.5, 0.4, 0.41, 0.42, 0.43])
    assert kinds(diagnose(rising, status)) == ["overfitting", "early_stop"]
    stopped = {**status, "stop_reason": "stop_file"}  # stopped by a person: not early stopping
    assert "early_stop" not in kinds(diagnose(history([1, 0.5, 0.3], [0.9, 0.5, 0.4]), stopped))


def test_too_few_epochs_say_too_early_and_junk_says_unreadable():
    assert kinds(diagnose([])) == ["too_early"]
    assert kinds(diagnose(history([1.0, 0.5], [0.9, 0.6]))) == ["too_early"]
    junk = [{"epoch": "nan", "loss": "1", "val_loss": ""}, {"loss": "0.5"}, {"loss": "", "val_loss": "inf"}]
    found = diagnose(junk)  # missing values are not divergence
    assert kinds(found) == ["unreadable"] and "1, 2, 3" in found[0].evidence


@pytest.mark.parametrize("lang, word", [("en", "Trained in 2 epochs"), ("pt_BR", "Treinado em 2 épocas")])
def test_the_shipped_run_is_read_in_the_sessions_language(lang, word):
    run = Run(DEFAULT_RUN_DIR)  # the shipped MNIST model: its recipe's 2 epochs, all done
    set_language(lang)
    try:
        found = diagnose(run.history(), run.status())
    finally:
        set_language("en")
    assert kinds(found) == ["one_pass"] and word == found[0].title


def test_the_curves_page_reads_each_selected_run_in_plain_words(tmp_path):
    from conftest import ROOT, seed_run
    from streamlit.testing.v1 import AppTest

    rows = [f"{e},{1 / e:.3f},0.9,{v},0.8,0.001,1.0\n" for e, v in enumerate([0.9, 0.5, 0.4, 0.45, 0.5, 0.6], 1)]
    seed_run(tmp_path / "runs", "20261120-100000-over", "completed", rows, epochs_done=6, epochs=6)
    seed_run(tmp_path / "runs", "20261120-110000-short", "completed", rows[:1], epochs_done=1, epochs=6)
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=180).run()
    at.switch_page("pages/curves.py").run()
    at.multiselect(key="curves_selected").set_value(["20261120-100000-over", "20261120-110000-short"]).run()
    assert not at.exception, at.exception
    shown = "\n".join(m.value for m in at.markdown)
    assert "In plain words" in shown
    assert "**Overfitting from epoch 4**: val_loss rose 3 epochs in a row after epoch 3" in shown
    assert "**Too early to say**: Only 1 epoch so far." in shown
    assert any("Dropout" in c.value for c in at.caption)


# ----- issue 27: what misled a speaker ------------------------------------------------------------


def test_a_one_epoch_recipe_that_finished_is_read_not_called_too_early():
    from core.teaching.remedy import remedy_for

    rows = [{"epoch": "1", "loss": "0.52", "val_loss": "0.061", "val_accuracy": "0.9894"}]
    done = {"status": "completed", "epochs_done": 1, "epochs": 1}
    (found,) = diagnose(rows, done)
    assert found.kind == "one_pass" and found.title == "Trained in 1 epoch"
    assert found.evidence.startswith("Its recipe is 1 epoch(s): validation accuracy 98.9%, validation loss 0.0610.")
    assert kinds(diagnose(rows, {**done, "status": "running"})) == ["too_early"]  # still going: too early indeed
    config = Run(DEFAULT_RUN_DIR).config()
    config = {**config, "spec": {**config["spec"], "epochs": 1}}  # today's mnist-fast: one epoch
    remedy = remedy_for("one_pass", config)
    assert remedy.config.spec.epochs == 3 and remedy.changes == ("Epochs: 1 -> 3",)
    assert remedy.label == "Train again for 3 epochs, to see the curves"


def test_tiny_losses_moving_by_noise_are_neither_a_high_rate_nor_overfitting():
    """A 100%-accurate penguins run: loss 0.0024 -> 0.0054 is noise, not a learning rate too high."""
    found = diagnose(history([0.3, 0.01, 0.0024, 0.0054, 0.004], [0.2, 0.004, 0.002, 0.003, 0.0035]))
    assert kinds(found) == ["healthy"]
    assert kinds(diagnose(history([1.0, 0.5, 2.0, 1.5], [0.9, 0.6, 1.8, 1.4]))) == ["lr_too_high"]  # a real jump


def test_a_model_that_barely_beats_its_baseline_says_so_first():
    """The 50% run on penguins' `year`: its baseline, always 2009, scores 26.9%."""
    rows = history([1.1, 1.0, 0.95, 0.9], [1.1, 1.05, 1.0, 0.98])
    weak = {"accuracy": 0.5, "baseline": {"accuracy": 0.269, "prediction": 2009}}
    found = diagnose(rows, {}, weak)
    assert found[0].kind == "near_baseline" and found[0].title == "Barely better than guessing"
    assert found[0].evidence == "Test accuracy 50.0%, against 26.9% by always answering 2009."
    assert "near_baseline" not in kinds(diagnose(rows, {}, {"accuracy": 1.0, "baseline": weak["baseline"]}))
    regression = {"r2": 0.12, "mae": 60.0, "baseline": {"mae": 61.0, "r2": 0.0, "prediction": 150.0}}
    assert (
        diagnose(rows, {}, regression)[0].evidence
        == "Test R² 0.12: always answering the mean scores 0, a perfect model 1."
    )
    assert "near_baseline" not in kinds(diagnose(rows, {}, {**regression, "r2": 0.6}))
    assert "near_baseline" not in kinds(diagnose(rows, {}, {"accuracy": 0.5}))  # an image run has no baseline
