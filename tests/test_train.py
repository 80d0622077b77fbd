"""`facegan train` end to end: the run directory, autoencoders, resume, conditional models, small data, and every
input error."""

import csv
import json
import shutil

import keras
import numpy as np
import pytest
from helpers import TINY, working_in, write_faces
from typer.testing import CliRunner

from facegan.cli import app

runner = CliRunner()


def train(*args):
    return runner.invoke(app, ["train", *args])


@pytest.fixture(scope="module")
def whole_run(tmp_path_factory):
    """A dcgan run of 3 epochs on 40 faces, sampled and evaluated every 2 epochs, under the default name in a
    fresh folder; then a second run there. (the first run's directory, what `train` printed, the second's)"""
    root = tmp_path_factory.mktemp("whole")
    write_faces(root / "faces.npz")
    with working_in(root):
        first = train("dcgan", "--data", "faces.npz", "--epochs", "3", "--sample-every", "2", "--eval-every", "2",
                      *TINY)
        assert first.exit_code == 0, first.output
        second = train("dcgan", "--data", "faces.npz", "--epochs", "1", *TINY)
        assert second.exit_code == 0, second.output
    return root / "runs" / "001-dcgan", first.stdout, root / "runs" / "002-dcgan"


def test_runs_are_numbered_and_never_overwritten(whole_run):
    run, printed, second = whole_run
    assert printed.strip() == "runs/001-dcgan" and second.is_dir()


def test_config_json_records_the_settings_the_data_and_the_versions(whole_run):
    config = json.loads((whole_run[0] / "config.json").read_text())
    assert config["config"]["model"] == "dcgan" and config["config"]["precision"] == "float32"
    assert config["data"]["images"] == 40 and len(config["data"]["sha256"]) == 64
    assert {"tensorflow", "keras", "facegan"} <= set(config["versions"])


def test_the_logs_hold_every_step_and_every_epoch(whole_run):
    run = whole_run[0]
    metrics = (run / "metrics.csv").read_text().splitlines()
    assert metrics[0] == "epoch,step,d_loss,d_loss_real,d_loss_fake,d_acc_real,d_acc_fake,d_acc,g_loss,g_acc,skipped"
    assert [line.split(",")[1] for line in metrics[1:]] == [str(i) for i in range(1, 16)]  # 40 / 8 * 3 steps
    epochs = list(csv.DictReader(open(run / "epochs.csv")))
    assert [row["epoch"] for row in epochs] == ["1", "2", "3"]
    assert {"images_per_s", "wall_s", "diversity", "skipped"} <= set(epochs[0])
    assert [bool(row["swd"]) for row in epochs] == [False, True, True]  # --eval-every 2, and the last epoch
    assert [row["swd"] for row in epochs] == [row["swd_16"] for row in epochs]  # 16x16: one pyramid level


def test_grids_the_evolution_and_checkpoints_are_written_as_scheduled(whole_run):
    run = whole_run[0]
    assert sorted(p.name for p in (run / "samples").iterdir()) == ["best.png", "epoch_0002.png", "epoch_0003.png"]
    assert (run / "evolution.gif").stat().st_size > 0
    assert (run / "checkpoints" / "checkpoint").exists()
    assert not list(run.rglob("*.tmp*"))


def test_the_saved_networks_load_and_generate(whole_run):
    run = whole_run[0]
    generator = keras.saving.load_model(run / "generator.keras")
    assert generator(np.zeros((2, 8), np.float32)).shape == (2, 16, 16, 1)
    keras.saving.load_model(run / "discriminator.keras")


def test_summary_json_holds_the_runs_figures(whole_run):
    run = whole_run[0]
    epochs = list(csv.DictReader(open(run / "epochs.csv")))
    summary = json.loads((run / "summary.json").read_text())
    assert summary["epochs"] == 3 and summary["latent_dim"] == 8 and summary["ae_loss"] is None
    assert summary["status"] == "completed" and summary["swd"] == pytest.approx(float(epochs[-1]["swd"]), rel=1e-6)
    assert summary["best_swd"] == pytest.approx(min(float(epochs[1]["swd"]), float(epochs[2]["swd"])), rel=1e-6)
    assert summary["eval_settings"]["images"] == 20 and summary["swd_real"] > 0  # two disjoint halves of 40
    assert summary["params"]["trainable"] == summary["params"]["networks"]["generator"]["trainable"]
    assert summary["params"]["non_trainable"] == (summary["params"]["networks"]["generator"]["non_trainable"]
                                                  + summary["params"]["networks"]["discriminator"]["total"])


def test_autoencoder_runs_save_the_encoder_and_show_reconstructions(faces_npz, tmp_path):
    result = train("aegan-v5", "--data", str(faces_npz), "--epochs", "1", "--out", "ae", *TINY)
    assert result.exit_code == 0, result.output
    encoder = keras.saving.load_model(tmp_path / "ae" / "encoder.keras")
    assert encoder(np.zeros((1, 16, 16, 3), np.float32)).shape == (1, 8)
    grid = keras.utils.load_img(tmp_path / "ae" / "samples" / "epoch_0001.png")
    assert grid.size == (8 * 66 + 2, 4 * 66 + 2)  # 16 inputs and 16 reconstructions, 8 a row, 16 px shown at 64
    assert "ae_loss,gan_loss,gan_weight" in (tmp_path / "ae" / "metrics.csv").read_text().splitlines()[0]


@pytest.mark.slow
def test_pretraining_phase_logs_only_the_autoencoder(faces_npz, tmp_path):
    result = train("aegan-v0", "--data", str(faces_npz), "--epochs", "2", "--pretrain-ae-epochs", "1",
                   "--out", "pre", *TINY)
    assert result.exit_code == 0, result.output
    rows = (tmp_path / "pre" / "epochs.csv").read_text().splitlines()
    header = rows[0].split(",")
    first, second = dict(zip(header, rows[1].split(","))), dict(zip(header, rows[2].split(",")))
    assert first["d_loss"] == "" and first["ae_loss"] != "" and second["d_loss"] != ""



def test_the_files_of_writes_killed_mid_way_are_removed_when_a_writer_starts(faces_npz, tmp_path):
    """A kill while config.json was being written leaves its temporary file beside the lock: the same command
    starts the run. A kill while a grid or a log was being replaced leaves its temporary file: --resume removes it."""
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "lock").write_text("")
    (tmp_path / "run" / ".config.json.k1ll3d.tmp").write_text("{")
    assert train("vae", "--data", str(faces_npz), "--epochs", "1", "--out", "run", *TINY).exit_code == 0
    assert not list((tmp_path / "run").glob(".*tmp*"))
    (tmp_path / "run" / "samples" / ".epoch_0002.png.k1ll3d.tmp").write_bytes(b"\x89PNG")
    (tmp_path / "run" / ".generator.tmp.keras").write_bytes(b"PK")
    assert train("--resume", "run", "--epochs", "2").exit_code == 0
    assert not list((tmp_path / "run").rglob(".*tmp*"))

def test_resume_drops_log_rows_written_after_the_last_checkpoint(faces_npz, tmp_path):
    assert train("vae", "--data", str(faces_npz), "--epochs", "1", "--out", "run", *TINY).exit_code == 0
    log = tmp_path / "run" / "metrics.csv"
    log.write_text(log.read_text() + "2,6,0.5,0.5,0.5\n2,7,0.4")  # a crash mid-epoch, mid-line
    assert train("--resume", "run", "--epochs", "2").exit_code == 0
    steps = [line.split(",")[1] for line in log.read_text().splitlines()[1:]]
    assert steps == [str(i) for i in range(1, 11)]


def test_resume_of_a_run_stopped_before_its_first_checkpoint_starts_again(faces_npz, tmp_path):
    assert train("vae", "--data", str(faces_npz), "--epochs", "1", "--out", "run", *TINY).exit_code == 0
    for path in [tmp_path / "run" / "checkpoints", tmp_path / "run" / "epochs.csv"]:
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    log = tmp_path / "run" / "metrics.csv"
    log.write_text("\n".join(log.read_text().splitlines()[:3]))  # two steps logged, then killed
    result = train("--resume", "run", "--epochs", "1")
    assert result.exit_code == 0, result.output
    assert "starts again from step 0" in result.stderr
    assert [line.split(",")[1] for line in log.read_text().splitlines()[1:]] == [str(i) for i in range(1, 6)]


def test_the_same_command_again_continues_its_run_and_another_configuration_is_refused(faces_npz, tmp_path):
    """A job restarted with its own command line (a cluster's requeue) continues; --epochs is the new total, as
    with --resume; any other setting, or another model, is refused with what differs, and nothing changes."""
    command = ["vae", "--data", str(faces_npz), "--out", "run", *TINY]
    assert train(*command, "--epochs", "1").exit_code == 0
    log = tmp_path / "run" / "metrics.csv"
    logged = log.read_text()
    again = train(*command, "--epochs", "1")
    assert again.exit_code == 0, again.output
    assert "run holds a run of this configuration: continuing it" in again.stderr
    assert "resumed at epoch 1" in again.stderr and log.read_text() == logged  # complete: nothing trained twice
    longer = train(*command, "--epochs", "2")
    assert longer.exit_code == 0 and log.read_text().startswith(logged)
    assert [line.split(",")[1] for line in log.read_text().splitlines()[1:]] == [str(i) for i in range(1, 11)]
    for args, differ in (([*command, "--kl-weight", "0.5"], "(--kl-weight 5e-05 there, 0.5 here)"),
                         ([*command, "--seed", "3", "--latent-dim", "4"], "8 there, 4 here; --seed 0 there, 3 here)"),
                         (["dcgan", *command[1:]], "(model 'vae' there, 'dcgan' here)")):  # only the model said
        refused = train(*args, "--epochs", "2")
        assert refused.exit_code == 2 and len(refused.stderr.strip().splitlines()) == 1, refused.output
        assert differ in refused.stderr and "continue it with --resume run, or choose another --out" in refused.stderr
    assert log.read_text().count("\n") == 11


def test_the_ae_gan_weights_earlier_names_still_work_and_runs_written_with_them_resume(faces_npz, tmp_path):
    """--alpha, --beta, --beta-a and --beta-window (the notebooks' names) are hidden aliases of --ae-weight,
    --gan-weight, --slope-scale and --slope-window; a run whose config.json and logs use the earlier names resumes."""
    plan = train("aegan-v0", "--alpha", "0.5", "--beta", "0.25", "--dry-run")
    assert plan.exit_code == 0, plan.output
    assert {k: json.loads(plan.stdout)["config"][k] for k in ("ae_weight", "gan_weight")} == \
        {"ae_weight": 0.5, "gan_weight": 0.25}
    both = train("aegan-v0", "--alpha", "0.5", "--ae-weight", "0.5", "--dry-run")
    assert both.exit_code == 2 and "--alpha is the earlier name of --ae-weight: give one of them" in both.stderr
    assert "--alpha" not in runner.invoke(app, ["train", "--help"]).stdout

    result = train("aegan-v4", "--data", str(faces_npz), "--epochs", "1", "--beta-window", "2", "--out", "run", *TINY)
    assert result.exit_code == 0, result.output
    run = tmp_path / "run"
    record = json.loads((run / "config.json").read_text())
    for old, new in (("alpha", "ae_weight"), ("beta", "gan_weight"), ("beta_a", "slope_scale"),
                     ("beta_window", "slope_window")):
        record["config"][old] = record["config"].pop(new)
    (run / "config.json").write_text(json.dumps(record))
    for log in ("metrics.csv", "epochs.csv"):
        (run / log).write_text((run / log).read_text().replace("gan_weight", "beta", 1))
    assert train("--resume", "run", "--epochs", "2").exit_code == 0
    header = (run / "metrics.csv").read_text().splitlines()[0]
    assert "gan_weight" in header and "beta" not in header
    assert [row["step"] for row in csv.DictReader(open(run / "metrics.csv"))] == [str(i) for i in range(1, 11)]
    assert json.loads((run / "summary.json").read_text())["epochs"] == 2


OLD_CHECKPOINT_KEYS = {"step", "epoch", "rollbacks", "best_swd", "best_epoch", "generator", "discriminator",
                       "g_optimizer", "d_optimizer"}  # what every checkpoint of a GAN run has held


@pytest.mark.slow
def test_a_run_in_the_earlier_layout_resumes(faces_npz, tmp_path):
    """Runs written before the batch size was settled in the config: config.json asked for a batch larger than
    the data, and its data record named the images of an epoch trained_images, with the batch beside it."""
    import tensorflow as tf

    assert train("dcgan", "--data", str(faces_npz), "--epochs", "1", "--out", "run", *TINY,
                 "--batch-size", "64").exit_code == 0
    checkpoint = tf.train.latest_checkpoint(str(tmp_path / "run" / "checkpoints"))
    assert OLD_CHECKPOINT_KEYS <= {name.split("/")[0] for name, _ in tf.train.list_variables(checkpoint)}
    record_path = tmp_path / "run" / "config.json"
    record = json.loads(record_path.read_text())
    record["config"]["batch_size"] = 64
    data = record["data"]
    data["trained_images"], data["batch_size"] = data.pop("images_per_epoch"), 40
    record_path.write_text(json.dumps(record))
    result = train("--resume", "run", "--epochs", "2")
    assert result.exit_code == 0, result.output
    assert "resumed at epoch 1, step 1" in result.stderr
    assert [row["step"] for row in csv.DictReader(open(tmp_path / "run" / "metrics.csv"))] == ["1", "2"]


def test_conditional_model_trains_on_labels(faces_npz, tmp_path):
    result = train("cgan", "--data", str(faces_npz), "--epochs", "1", "--out", "c", *TINY)
    assert result.exit_code == 0, result.output
    generator = keras.saving.load_model(tmp_path / "c" / "generator.keras")
    assert generator([np.zeros((2, 8), np.float32), np.eye(2, dtype=np.float32)]).shape == (2, 16, 16, 3)


def test_small_data_shrinks_the_batch_with_a_notice(tmp_path):
    np.save(tmp_path / "five.npy", np.zeros((5, 16, 16), np.uint8))
    result = train("vae", "--data", str(tmp_path / "five.npy"), "--epochs", "1", "--out", "s",
                   "--image-size", "16", "--batch-size", "64", "--precision", "float32")
    assert result.exit_code == 0, result.output
    assert "batches of 5" in result.stderr
    assert len((tmp_path / "s" / "metrics.csv").read_text().splitlines()) == 2


@pytest.mark.parametrize("args,message", [
    (["dcgan", "--data", "missing-folder"], "neither 'lfw'"),
    (["dcgan", "--data", "empty"], "no usable image"),
    (["cgan"], "needs class labels"),
    (["dcgan", "--epochs", "0"], "--epochs must be positive"),
    (["dcgan", "--channels", "2"], "--channels must be 1 or 3"),
    (["dcgan", "--out", "full"], "exists and is not empty"),
    ([], "give a MODEL"),
    (["--resume", "nowhere"], "not a facegan run directory"),
    (["--resume", "full", "--lr", "0.1"], "and --devices may be given"),
])
def test_input_errors_are_one_line_and_exit_code_2(tmp_path, args, message):
    (tmp_path / "empty").mkdir()
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("")
    result = train(*args)
    assert result.exit_code == 2, result.output
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "runs").exists()  # nothing written before the error



def test_a_value_outside_a_fixed_choice_is_refused_with_the_choices(tmp_path):
    result = train("dcgan", "--precision", "float8")
    assert result.exit_code == 2 and "'float8' is not one of" in result.stderr and "'bfloat16'" in result.stderr
    assert not (tmp_path / "runs").exists()

@pytest.mark.slow
def test_celeba_conditional_run_on_real_faces(celeba_2k, tmp_path):
    result = train("cgan", "--data", str(celeba_2k), "--label", "Smiling", "--epochs", "1", "--out", "celeba",
                   "--image-size", "16", "--batch-size", "256", "--precision", "float32")
    assert result.exit_code == 0, result.output
    config = json.loads((tmp_path / "celeba" / "config.json").read_text())
    assert config["data"]["images"] == 2000 and config["config"]["num_classes"] == 2


def test_sample_every_an_image_count_writes_grids_inside_epochs(faces_npz, tmp_path):
    # 40 faces, batch 8: 5 steps an epoch; 20 images are passed at steps 3, 5, 8 and 10 (24, 40, 64, 80 images)
    result = train("dcgan", "--data", str(faces_npz), "--epochs", "2", "--sample-every", "0.02k", "--eval-every", "0",
                   "--out", "run", *TINY)
    assert result.exit_code == 0, result.output
    grids = sorted(p.name for p in (tmp_path / "run" / "samples").iterdir())
    assert grids == ["epoch_0002.png", "step_00000003.png", "step_00000005.png", "step_00000008.png",
                     "step_00000010.png"]
    assert json.loads((tmp_path / "run" / "config.json").read_text())["config"]["sample_every"] == "0.02k"
    refused = train("dcgan", "--data", str(faces_npz), "--sample-every", "5x", *TINY)
    assert refused.exit_code == 2 and "--sample-every takes epochs (10) or images (50k, 2M)" in refused.stderr


@pytest.mark.slow
def test_a_signal_writes_the_grid_of_the_current_state(faces_npz, tmp_path):
    import signal
    import threading

    threading.Timer(4.0, lambda: signal.raise_signal(signal.SIGINT)).start()  # while the first epochs run
    result = train("dcgan", "--data", str(faces_npz), "--epochs", "1000", "--eval-every", "0", "--out", "run", *TINY)
    assert result.exit_code == 130, result.output
    step = int(json.loads((tmp_path / "run" / "summary.json").read_text())["reason"].split()[-1])
    assert (tmp_path / "run" / "samples" / f"step_{step:08d}.png").exists()


def test_eval_every_an_image_count_evaluates_inside_epochs(faces_npz, tmp_path):
    # 40 faces, batch 8: 5 steps an epoch; 20 images are passed at steps 3, 5, 8 and 10; the last epoch's end too
    result = train("dcgan", "--data", str(faces_npz), "--epochs", "2", "--eval-every", "0.02k", "--eval-images", "8",
                   "--checkpoint-minutes", "0", "--out", "run", *TINY)
    assert result.exit_code == 0, result.output
    run = tmp_path / "run"
    evaluations = list(csv.DictReader(open(run / "evals.csv")))
    assert [(int(r["epoch"]), int(r["step"]), int(r["images"])) for r in evaluations] == \
        [(1, 3, 24), (1, 5, 40), (2, 8, 64), (2, 10, 80)]  # steps 5 and 10 end epochs: evaluated there, once
    epochs = list(csv.DictReader(open(run / "epochs.csv")))
    assert [r["swd"] for r in epochs] == [evaluations[1]["swd"], evaluations[3]["swd"]]
    summary = json.loads((run / "summary.json").read_text())
    assert summary["best_swd"] == pytest.approx(min(float(r["swd"]) for r in evaluations), rel=1e-6)
    assert (run / "samples" / "best.png").exists()
