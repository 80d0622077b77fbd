"""What a person watching `facegan train` reads: the finished epoch lines in 80 and 120 columns, the plain
lines of a log file, and warnings once per sign."""

import csv
import io
import re

import pytest
from rich.console import Console
from typer.testing import CliRunner

from facegan.cli import app
from facegan.commands.train import RichReporter

runner = CliRunner()
DCGAN_ROW = {"epoch": 4, "d_loss": -0.0594, "d_loss_real": -0.0884, "d_loss_fake": 0.029, "d_acc_real": 0.922,
             "d_acc_fake": 0.896, "d_acc": 0.909, "g_loss": 4.66, "g_acc": 0.104, "skipped": 2, "diversity": 0.716,
             "swd_32": 150.2, "swd_16": 80.1, "swd": 104.0, "images_per_s": 510.3, "wall_s": 0.42}
AEGAN_ROW = {"epoch": 4, "d_loss": 1.23, "d_loss_real": 0.6, "d_loss_fake": 0.63, "d_acc_real": 0.5, "d_acc_fake": 0.5,
             "d_acc": 0.5, "g_loss": 0.0345, "ae_loss": 0.0123, "gan_loss": 0.69, "gan_weight": float("nan"),
             "skipped": 0, "diversity": 0.2, "swd": 114.0, "images_per_s": 15.2, "wall_s": 3612.0}


def finished_lines(width: int, rows: list[dict]) -> list[str]:
    console = Console(width=width, record=True, force_terminal=True, file=io.StringIO())
    reporter = RichReporter(console)
    for row in rows:
        reporter.epoch_start(row["epoch"], 12, 5, 8)
        reporter.epoch_end(row["epoch"], 12, row)
    return [line for line in console.export_text().splitlines() if "━" not in line]  # the bars are transient


@pytest.mark.parametrize("width", [80, 120])
@pytest.mark.parametrize("row", [DCGAN_ROW, AEGAN_ROW])
def test_a_finished_epoch_keeps_its_essential_figures_in_full(width, row):
    lines = finished_lines(width, [row])
    assert all(len(line) <= width for line in lines) and "…" not in "".join(lines)
    text = " ".join(lines)
    assert re.search(r"epoch  4/12 +\d+ img/s +[\d.]+s +left +\d", text)
    for name in ("d_loss", "g_loss", "swd") + (("ae_loss",) if "ae_loss" in row else ()):
        assert re.search(rf"\b{name} +-?[\d.]+", text), name
    assert ("skipped" in text) == (row["skipped"] > 0)  # shown when not 0
    if width == 120:  # a wider terminal shows at least as much, and more where there is room
        def names(lines):
            return set(re.findall(r"\b([a-z_]+) +-?[\d.]", " ".join(lines)))
        narrow, wide = names(finished_lines(80, [row])), names(lines)
        assert narrow <= wide and (row is AEGAN_ROW or narrow < wide)


def test_a_figure_of_a_model_of_ones_own_shows_where_there_is_room():
    text = " ".join(finished_lines(300, [{**DCGAN_ROW, "d_entropy": 0.25}]))
    assert re.search(r"\bd_entropy +0\.25\b", text) and "swd_32" not in text


def test_numbers_keep_their_columns_from_epoch_to_epoch():
    later = {**DCGAN_ROW, "epoch": 5, "d_loss": 0.0435, "g_loss": 12.5, "swd": 98.0}
    first, second = [line for line in finished_lines(120, [DCGAN_ROW, later]) if line.startswith("epoch")]
    assert first.index("g_loss") == second.index("g_loss") and first.index("swd") == second.index("swd")


def test_log_files_get_one_plain_line_per_epoch_with_every_figure(faces_npz, tmp_path):
    result = runner.invoke(app, ["train", "dcgan", "--data", str(faces_npz), "--epochs", "2", "--out",
                                 str(tmp_path / "run"), "--image-size", "16", "--batch-size", "8", "--eval-every",
                                 "1", "--eval-images", "16", "--precision", "float32"])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("epoch ")]
    assert len(lines) == 2
    for name in ("d_loss", "d_loss_real", "d_loss_fake", "d_acc_real", "d_acc_fake", "d_acc", "g_loss", "g_acc",
                 "skipped", "diversity", "swd"):
        assert f" {name} " in lines[1]


@pytest.mark.slow
def test_a_health_sign_is_reported_when_it_begins_and_when_it_ends_not_every_epoch(faces_npz, tmp_path,
                                                                                   monkeypatch):
    from facegan.health import Sign
    from facegan.training import guard

    def sign_in_epochs_3_to_8(history, patience, min_diversity, images_per_epoch, saturating):  # six epochs, then ends
        epoch = len(history)
        return [Sign("mode_collapse", 3, f"diversity low at epoch {epoch}")] if 3 <= epoch <= 8 else []

    monkeypatch.setattr(guard, "signs", sign_in_epochs_3_to_8)
    run = tmp_path / "run"
    result = runner.invoke(app, ["train", "dcgan", "--data", str(faces_npz), "--epochs", "10", "--out", str(run),
                                 "--image-size", "16", "--batch-size", "8", "--eval-every", "0", "--precision",
                                 "float32"])
    assert result.exit_code == 0, result.output
    said = [line for line in result.output.splitlines() if "mode_collapse" in line]
    assert said == ["warning: epoch 3: mode_collapse: diversity low at epoch 3 (--on-collapse warn)",
                    "epoch 9: mode_collapse has ended (it began at epoch 3)"]
    logged = [(r["epoch"], r["action"]) for r in csv.DictReader(open(run / "health.csv"))]
    assert logged == [("3", "warn"), ("9", "none")]
