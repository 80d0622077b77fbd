"""The run's CSV logs: written with the csv module, read back as floats, cut back after a crash."""

import csv
import math

import pytest

from facegan import files
from facegan.runlog import RunLog, read_rows, truncate_rows


def test_text_with_commas_and_quotes_survives_a_truncation(tmp_path):
    path = tmp_path / "health.csv"
    detail = 'loss "nan", then inf, twice'
    files.append_csv(path, ["epoch", "step", "detail"], [[1, 5, detail], [2, 10, "fine"]])
    truncate_rows(path, "step", 5)
    assert list(csv.DictReader(open(path))) == [{"epoch": "1", "step": "5", "detail": detail}]


def test_a_line_cut_short_by_a_crash_is_left_out(tmp_path):
    path = tmp_path / "metrics.csv"
    files.append_csv(path, ["epoch", "step", "loss"], [[1, 1, 0.5], [1, 2, 0.25]])
    with open(path, "a") as f:
        f.write("1,3,0.12")  # no newline: the write was interrupted
    assert [row["step"] for row in read_rows(path)] == ["1", "2"]
    truncate_rows(path, "step", 10)
    assert path.read_text() == "epoch,step,loss\n1,1,0.5\n1,2,0.25\n"


def test_the_history_is_floats_with_nan_for_empty_cells(tmp_path):
    log = RunLog(tmp_path, ["g_loss"], ["epoch", "g_loss", "swd"])
    log.append_epoch({"epoch": 1, "g_loss": 0.123456789, "swd": math.nan})
    log.append_epoch({"epoch": 2, "g_loss": 2.0, "swd": 90.5})
    assert (tmp_path / "epochs.csv").read_text() == "epoch,g_loss,swd\n1,0.1234568,\n2,2,90.5\n"
    log.truncate(step=0, epoch=1)
    assert len(log.history) == 1 and log.history[0]["g_loss"] == 0.1234568 and math.isnan(log.history[0]["swd"])
    assert (tmp_path / "epochs.csv").read_text() == "epoch,g_loss,swd\n1,0.1234568,\n"


@pytest.mark.slow
def test_a_cell_that_is_not_a_number_reads_as_nan_and_a_resume_goes_on(faces_npz, tmp_path):
    """A hand-edited epochs.csv (diversity 'abc' in a kept row) stopped `--resume` with a ValueError traceback."""
    from typer.testing import CliRunner

    from facegan.cli import app

    run = tmp_path / "run"
    tiny = ["--image-size", "16", "--latent-dim", "8", "--batch-size", "8", "--precision", "float32"]
    result = CliRunner().invoke(app, ["train", "dcgan", "--data", str(faces_npz), "--epochs", "2", "--out", str(run),
                                      *tiny])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(open(run / "epochs.csv")))
    rows[0]["diversity"] = "abc"
    files.append_csv(run / "edited.csv", list(rows[0]), [list(row.values()) for row in rows])
    (run / "edited.csv").replace(run / "epochs.csv")
    result = CliRunner().invoke(app, ["train", "--resume", str(run), "--epochs", "3"])
    assert result.exit_code == 0, result.output
    assert [row["epoch"] for row in csv.DictReader(open(run / "epochs.csv"))] == ["1", "2", "3"]
    log = RunLog(run, ["g_loss"], list(rows[0]), write=False)
    log.truncate(step=15, epoch=3)
    assert math.isnan(log.history[0]["diversity"]) and log.history[1]["diversity"] >= 0


def test_a_worker_that_is_not_the_chief_writes_nothing(tmp_path):
    log = RunLog(tmp_path, ["g_loss"], ["epoch", "g_loss"], write=False)
    log.append_steps(1, 1, {"g_loss": [0.5]})
    log.append_epoch({"epoch": 1, "g_loss": 0.5})
    log.health(1, 1, "rollback", "detail", "rollback")
    log.summary({"status": "completed"})
    assert list(tmp_path.iterdir()) == [] and log.history == [{"epoch": 1.0, "g_loss": 0.5}]


def test_written_files_get_the_permissions_open_would_give(tmp_path):
    import os

    from facegan import files

    files.write_text(tmp_path / "a.json", "{}")
    (tmp_path / "b.json").write_text("{}")
    assert os.stat(tmp_path / "a.json").st_mode & 0o777 == os.stat(tmp_path / "b.json").st_mode & 0o777
