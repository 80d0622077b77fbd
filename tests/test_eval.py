"""`facegan eval`, the evaluations during training, the best checkpoint, and `compare` on SWD figures."""

import json
import shutil

import pytest
from typer.testing import CliRunner

from facegan.cli import app

runner = CliRunner()


@pytest.fixture
def runs(trained_runs, tmp_path) -> dict:
    """Private copies of the trained runs (eval writes into them)."""
    return {name: shutil.copytree(path, tmp_path / name) for name, path in trained_runs.items()}


def evaluate(*args) -> dict:
    result = runner.invoke(app, ["eval", *map(str, args), "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_eval_reproduces_the_figure_training_logged_for_the_same_settings(runs):
    run = runs["dcgan"]
    summary = json.loads((run / "summary.json").read_text())
    assert summary["eval_settings"]["images"] == 20  # 40 faces: two real sets of 20
    figures = evaluate(run, "--n", "20")
    assert figures["swd"] == pytest.approx(summary["swd"], rel=1e-9)
    assert figures["swd_real"] == pytest.approx(summary["swd_real"], rel=1e-9)
    assert figures["swd_16"] == figures["swd"] and figures["swd_real"] < figures["swd"]  # 2 epochs: far from data
    settings = figures["settings"]
    assert (settings["images"], settings["projections"], settings["levels"], settings["generated"]) == \
        (20, 512, [16], "samples")
    assert json.loads((run / "eval.json").read_text())["swd"] == figures["swd"]
    assert figures["blur"] > 0 and figures["blur_real"] > 0 and figures["copy_rate"] is None


def test_the_seed_fixes_the_figure(runs):
    first = evaluate(runs["dcgan"], "--n", "8", "--seed", "3")
    again = evaluate(runs["dcgan"], "--n", "8", "--seed", "3")
    other = evaluate(runs["dcgan"], "--n", "8", "--seed", "4")
    assert first["swd"] == again["swd"] and first["swd"] != other["swd"]


def test_autoencoders_are_measured_on_reconstructions_and_the_copy_rate_is_reported(runs):
    run = runs["aegan-v5"]
    (run / "nearest.json").write_text(json.dumps({"copy_rate": 0.25}))
    figures = evaluate(run, "--n", "20")
    assert figures["settings"]["generated"] == "reconstructions" and figures["copy_rate"] == 0.25
    table = runner.invoke(app, ["eval", str(run), "--n", "20"])
    assert "SWD x1e3, mean" in table.stdout and "25.0%" in table.stdout


def test_the_best_checkpoint_holds_the_best_evaluation(runs):
    run = runs["dcgan"]
    summary = json.loads((run / "summary.json").read_text())
    assert (run / "samples" / "best.png").exists() and (run / "checkpoints" / "best" / "checkpoint").exists()
    assert evaluate(run, "--n", "20", "--best")["swd"] == pytest.approx(summary["best_swd"], rel=1e-9)
    result = runner.invoke(app, ["sample", str(run), "--best", "-n", "4", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["checkpoint"] == "best"


def test_a_run_without_evaluations_has_no_best_checkpoint(faces_npz):
    assert runner.invoke(app, ["train", "vae", "--data", str(faces_npz), "--epochs", "1", "--out", "plain",
                               "--eval-every", "0", "--image-size", "16", "--latent-dim", "8",
                               "--precision", "float32"]).exit_code == 0
    result = runner.invoke(app, ["eval", "plain", "--best"])
    assert result.exit_code == 2 and "no best checkpoint" in result.stderr


def test_compare_marks_swd_figures_computed_with_different_settings(runs):
    evaluate(runs["dcgan"], "--n", "20")
    evaluate(runs["aegan-v5"], "--n", "10")
    result = runner.invoke(app, ["compare", str(runs["dcgan"]), str(runs["aegan-v5"]), "--format", "json"])
    differ = json.loads(result.stdout)["not_comparable"]
    assert differ["eval.swd"] == ["generated", "images"]
    assert differ["best_swd"] == ["generated"]  # training used 20 images for both: samples against reconstructions
    table = runner.invoke(app, ["compare", str(runs["dcgan"]), str(runs["aegan-v5"]), "--format", "csv"])
    assert "eval.swd [not comparable]," in table.stdout and "\"SWD x1e3, best [not comparable]\"," in table.stdout
    assert "\nepochs,2,2" in table.stdout  # other figures unmarked
    assert "not comparable" in table.stderr
    shown = runner.invoke(app, ["compare", str(runs["dcgan"]), str(runs["aegan-v5"])])
    assert "[not" in shown.stdout and "comparable]" in shown.stdout  # the table's labels say it too (folded)


def test_same_settings_are_comparable(runs):
    evaluate(runs["dcgan"], "--n", "20")
    shutil.copytree(runs["dcgan"], runs["dcgan"].parent / "again")
    again = runs["dcgan"].parent / "again"
    result = runner.invoke(app, ["compare", str(runs["dcgan"]), str(again), "--format", "json"])
    assert json.loads(result.stdout)["not_comparable"] == {}
