"""curves.png, redrawn at epoch ends (at most every 30 s, and the last), and `compare --plot`."""

import numpy as np
import pytest
from helpers import TINY
from typer.testing import CliRunner

from facegan.cli import app
from facegan.imaging import read_image

runner = CliRunner()


def train(faces_npz, run, *options):
    result = runner.invoke(app, ["train", "dcgan", "--data", str(faces_npz), "--out", str(run), *TINY, *options])
    assert result.exit_code == 0, result.output


@pytest.mark.slow
def test_curves_png_is_drawn_at_each_epoch_end_and_changes(faces_npz, tmp_path):
    run = tmp_path / "run"
    train(faces_npz, run, "--epochs", "1", "--eval-every", "1", "--eval-images", "16")
    first = read_image(run / "curves.png")
    assert first.shape[0] > 300 and first.shape[1] > 500 and first.std() > 10  # four panels, drawn
    result = runner.invoke(app, ["train", "--resume", str(run), "--epochs", "3"])
    assert result.exit_code == 0, result.output
    last = read_image(run / "curves.png")
    assert last.shape == first.shape and not np.array_equal(first, last)


@pytest.mark.slow
def test_compare_plot_draws_one_figure_of_several_runs(faces_npz, tmp_path):
    for name in ("a", "b"):
        train(faces_npz, tmp_path / name, "--epochs", "2", "--eval-every", "0")
    result = runner.invoke(app, ["compare", str(tmp_path / "a"), str(tmp_path / "b"), "--plot", "g_loss"])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "compare_g_loss.png"
    assert read_image(tmp_path / "compare_g_loss.png").std() > 10
    result = runner.invoke(app, ["compare", str(tmp_path / "a"), "--plot", "g_loss", "--out", "plots/loss.png"])
    assert result.exit_code == 0 and result.stdout.strip() == "plots/loss.png"
    assert read_image(tmp_path / "plots" / "loss.png").std() > 10
    result = runner.invoke(app, ["compare", str(tmp_path / "a"), "--out", "table.png"])
    assert result.exit_code == 2 and "--out names the --plot's PNG" in result.stderr
    result = runner.invoke(app, ["compare", str(tmp_path / "a"), "--plot", "no_such_figure"])
    assert result.exit_code == 2 and "no run has the metric 'no_such_figure'" in result.output


def test_aegan_v4s_gan_weight_and_ae_slope_get_a_panel_of_their_own(tmp_path):
    """As the v4 notebook plots them: its beta (the GAN weight) and the slope of the AE loss it comes from."""
    from facegan.curves import draw_curves

    heights = {}
    for name, columns in (("v5", ["epoch", "step", "g_loss", "ae_loss", "gan_weight"]),
                          ("v4", ["epoch", "step", "g_loss", "ae_loss", "gan_weight", "ae_slope"])):
        run = tmp_path / name
        run.mkdir()
        rows = [[1, step, 0.5, 0.1 - step * 1e-3, min(1.0, step / 50), -1e-3 + step * 1e-5] for step in range(1, 101)]
        (run / "metrics.csv").write_text("\n".join(",".join(map(str, row[:len(columns)]))
                                                   for row in [columns, *rows]) + "\n")
        heights[name] = read_image(draw_curves(run)).shape[0]
    assert heights["v4"] > heights["v5"] * 1.5  # a second panel under the losses
