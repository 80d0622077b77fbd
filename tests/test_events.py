"""TensorBoard events: a view of the CSV logs, with each step once, also after a resume and a rollback."""

import csv
from collections import defaultdict

import pytest
import tensorflow as tf
from helpers import TINY
from typer.testing import CliRunner

from facegan.cli import app

runner = CliRunner()


def read_events(run) -> dict:
    """{tag: [(step, value)]} of every event file of the run; images as their PNG bytes, text as text."""
    tags = defaultdict(list)
    for path in sorted((run / "tensorboard").glob("events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(str(path)):
            for value in event.summary.value:
                if value.HasField("simple_value"):
                    tags[value.tag].append((event.step, value.simple_value))
                elif value.HasField("image"):
                    tags[value.tag].append((event.step, value.image.encoded_image_string))
                elif value.metadata.plugin_data.plugin_name == "text":
                    tags[value.tag].append((event.step, tf.make_ndarray(value.tensor).item().decode()))
                else:
                    tags[value.metadata.plugin_data.plugin_name].append((event.step, None))
    return tags


def rows(path):
    return list(csv.DictReader(open(path))) if path.exists() else []


def assert_events_match_the_csvs(run) -> dict:
    events = read_events(run)
    steps = rows(run / "metrics.csv")
    assert [s for s, _ in events["step/d_loss"]] == [int(r["step"]) for r in steps]  # each step once, in order
    assert [v for _, v in events["step/d_loss"]] == pytest.approx([float(r["d_loss"]) for r in steps], rel=1e-6)
    last = {int(r["epoch"]): int(r["step"]) for r in steps}
    epochs = rows(run / "epochs.csv")
    assert [s for s, _ in events["epoch/diversity"]] == [last[int(r["epoch"])] for r in epochs]
    assert [s for s, _ in events["epoch/images_per_s"]] == [last[int(r["epoch"])] for r in epochs]
    assert [s for s, _ in events["eval/swd"]] == [int(r["step"]) for r in rows(run / "evals.csv")]
    assert [s for s, _ in events["health"]] == [int(r["step"]) for r in rows(run / "health.csv")]
    assert len(events["hparams"]) == 2  # the experiment and this run's values
    return events


def test_a_run_writes_every_figure_grid_and_its_config_as_events(faces_npz, tmp_path):
    run = tmp_path / "run"
    result = runner.invoke(app, ["train", "dcgan", "--data", str(faces_npz), "--epochs", "3", "--out", str(run),
                                 "--eval-every", "1", "--eval-images", "16", *TINY])
    assert result.exit_code == 0, result.output
    events = assert_events_match_the_csvs(run)
    assert len(events["eval/swd"]) == 3 and len(events["eval/swd_16"]) == 3
    grids = sorted((run / "samples").glob("epoch_*.png"))
    assert [png for _, png in events["samples"]] == [p.read_bytes() for p in grids]  # the grids, as written


@pytest.mark.slow
def test_after_a_resume_from_an_older_checkpoint_each_step_is_one_event(faces_npz, tmp_path):
    run = tmp_path / "run"
    result = runner.invoke(app, ["train", "dcgan", "--data", str(faces_npz), "--epochs", "3", "--out", str(run),
                                 "--eval-every", "0", *TINY])
    assert result.exit_code == 0, result.output
    newest = run / "checkpoints" / "ckpt-15.data-00000-of-00001"
    newest.write_bytes(newest.read_bytes()[:100])  # resume goes back to step 10: steps 11-15 are made again
    result = runner.invoke(app, ["train", "--resume", str(run), "--epochs", "4"])
    assert result.exit_code == 0, result.output
    events = assert_events_match_the_csvs(run)
    assert [s for s, _ in events["step/d_loss"]] == list(range(1, 21))


def test_after_a_rollback_each_step_is_one_event_and_the_rollback_is_text(faces_npz, tmp_path):
    run = tmp_path / "run"
    result = runner.invoke(app, ["train", "dcgan", "--data", str(faces_npz), "--epochs", "4", "--out", str(run),
                                 "--eval-every", "0", "--lr", "1e12", "--bad-steps", "2", "--max-rollbacks", "1",
                                 *TINY])
    assert result.exit_code == 3, result.output  # diverged, rolled back once, diverged again, stopped
    events = assert_events_match_the_csvs(run)
    assert any("rollback" in text for _, text in events["health"])
