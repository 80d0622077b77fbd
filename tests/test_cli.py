"""`facegan` as a user starts it: start-up, the model list, the settings each model takes, and the refusal of an
unknown model or of a setting the model does not take."""

import dataclasses
import json
import os
import re
import shutil
import subprocess
import sys

import pytest
import typer
from typer.testing import CliRunner

from facegan import registry
from facegan.cli import app
from facegan.config import COMMON_SETTINGS, RECORDED, TrainConfig, option_name

runner = CliRunner()


def train(*args):
    return runner.invoke(app, ["train", *args])


def test_help_and_models_do_not_import_tensorflow():
    code = ("import sys; from facegan.cli import app; from typer.testing import CliRunner; "
            "r = CliRunner().invoke(app, ['models']); assert r.exit_code == 0, r.output; "
            "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules; print(r.output)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    for name in registry.names():
        assert name in result.stdout
    assert "3,576,576" in result.stdout  # the DCGAN generator
    help_text = subprocess.run([sys.executable, "-m", "facegan", "--help"], capture_output=True, text=True)
    assert help_text.returncode == 0 and "train" in help_text.stdout


TF_LINE = re.compile(r"^[IWE]\d{4} |absl::InitializeLog", re.M)  # TensorFlow's C++ log lines, before logging starts


@pytest.mark.slow
def test_tensorflows_start_up_lines_are_hidden_unless_its_log_level_is_set(trained_runs, tmp_path):
    """Every command that starts TensorFlow keeps its start-up lines off stderr; TF_CPP_MIN_LOG_LEVEL=0 (for a GPU
    user looking for a driver's error) shows them."""
    run = str(shutil.copytree(trained_runs["dcgan"], tmp_path / "run"))  # the commands write into it: a copy
    quiet = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    for command in (["sample", run, "--seeds", "1,2", "--out", "s"], ["walk", run, "--seeds", "1,2", "--steps", "2",
                    "--out", "w"], ["eval", run, "-n", "8", "--metric", "swd"], ["nearest", run, "-n", "2"],
                    ["blur", run, "--generate", "4"], ["arithmetic", run, "--plus", "s/samples.npz:0", "--out", "a"],
                    ["export", run, "--out", "e"], ["models", "dcgan"]):
        result = subprocess.run([sys.executable, "-m", "facegan", *command], capture_output=True, text=True, env=quiet)
        assert result.returncode == 0, result.stderr
        assert not TF_LINE.search(result.stderr), (command, result.stderr)
    shown = subprocess.run([sys.executable, "-m", "facegan", "sample", run, "-n", "1", "--out", "s0"],
                           capture_output=True, text=True, env={**quiet, "TF_CPP_MIN_LOG_LEVEL": "0"})
    assert shown.returncode == 0 and TF_LINE.search(shown.stderr), shown.stderr


def test_unknown_model_is_refused_by_the_cli():
    result = train("stylegan9")
    assert result.exit_code == 2 and "stylegan9" in result.output


def test_version():
    import tensorflow as tf

    import facegan
    from facegan.distribute import resolve_precision

    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    first, second = result.stdout.splitlines()
    assert first == f"facegan {facegan.__version__}"
    assert second == f"TensorFlow {tf.__version__}; GPUs: none; --precision auto: {resolve_precision('auto')}"



COMMANDS = [command.name for command in app.registered_commands]  # every command, a new one included


@pytest.mark.parametrize("command", [[], *([c] for c in COMMANDS)])
def test_every_help_screen_fits_80_columns_with_clicks_metavars(command):
    result = runner.invoke(app, [*command, "--help"], env={"COLUMNS": "80"}, terminal_width=80)
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert max(map(len, lines)) <= 80
    assert not [line for line in lines if re.search(r"<(int|float|str|bool|path|list)", line)]
    text = [line.strip() for line in lines[:next(i for i, line in enumerate(lines) if line.startswith("╭"))]]
    prose = [line for line in text if not line.startswith(("facegan ", "--", "Examples:"))]  # one example a line
    ragged = [a for a, b in zip(prose, prose[1:]) if a and b and len(a) < 50]
    assert not ragged, ragged  # a short line, then more of its paragraph: wrapped by hand, not by the terminal
    wide = runner.invoke(app, [*command, "--help"], env={"COLUMNS": "400"}, terminal_width=400).stdout
    assert not re.search(r"\(default[: ]", wide) and "default: False" not in wide  # one style: [default: ...]


def test_an_option_name_means_one_kind_of_thing_in_every_command():
    """An option is an on/off flag in every command that has it, or takes a value in every one (--data names a data
    source everywhere); hidden earlier names kept for old scripts aside."""
    kinds = {}
    for name, command in typer.main.get_command(app).commands.items():
        for param in command.params:
            if isinstance(param, typer.core.TyperOption) and not param.hidden:
                for option in param.opts:
                    kinds.setdefault(option, {}).setdefault(param.is_flag, []).append(name)
    mixed = {option: found for option, found in kinds.items() if len(found) > 1}
    assert not mixed, mixed
    assert set(kinds["--data"]) == {False} and len(kinds["--data"][False]) >= 3


def test_fixed_choices_are_listed_and_defaults_said_once():
    train_help = runner.invoke(app, ["train", "--help"], env={"COLUMNS": "200"}, terminal_width=200).stdout
    for choices in ("[auto|float32|bfloat16|float16]", "[auto|single|mirrored|multiworker]", "[warn|stop|rollback]",
                    "[bce|bce-logits|bce-probs|hinge|relativistic|dual-contrastive]", "[batch|threshold]",
                    "[train|valid|test|all]"):
        assert choices in train_help
    assert "others none" in train_help and "others )" not in train_help
    strategy = next(line for line in train_help.splitlines() if "--strategy" in line)
    assert strategy.count("default") == 1
    export_help = runner.invoke(app, ["export", "--help"], env={"COLUMNS": "200"}, terminal_width=200).stdout
    assert "[saved_model|keras]" in export_help
    sample_help = runner.invoke(app, ["sample", "--help"], env={"COLUMNS": "200"}, terminal_width=200).stdout
    assert "--num" in sample_help and "-n" in sample_help and " --n " not in sample_help

def test_train_help_groups_its_options_in_panels_that_say_each_default():
    result = runner.invoke(app, ["train", "--help"], env={"COLUMNS": "200"}, terminal_width=200)
    assert result.exit_code == 0
    panels = {}
    for line in result.stdout.splitlines():
        if line.startswith("╭─ "):
            panel = line.split("─ ")[1].split(" ─")[0]
        elif line.startswith("│ --"):
            panels[line.split()[1]] = panel
    assert {"Model", "Data", "Optimization", "Evaluation and the health guard", "Precision and devices",
            "Output and resume"} <= set(panels.values())
    assert panels["--lr"] == "Optimization" and panels["--data"] == "Data" and panels["--resume"] == "Output and resume"
    assert ("Adam learning rate. [default: the model's: aegan-v0, aegan-v1, aegan-v4, aegan-v5 0.0001; vae 0.001; "
            "cgan 5e-05; others 0.0002]") in result.stdout
    assert "Newest checkpoints kept. [default: 3]" in result.stdout
    assert "[default: no-xla]" in result.stdout and "(default" not in result.stdout


def test_dry_run_prints_the_plan_and_writes_nothing(faces_npz, tmp_path):
    before = sorted(tmp_path.rglob("*"))
    result = train("dcgan", "--data", str(faces_npz), "--image-size", "16", "--batch-size", "8", "--dry-run",
                   "--out", str(tmp_path / "run"))
    assert result.exit_code == 0, result.output
    planned = json.loads(result.stdout)
    assert planned["config"]["model"] == "dcgan" and planned["config"]["precision"] in ("float32", "bfloat16")
    assert planned["data"]["items"] == 40 and planned["data"]["decoded"] is False
    assert planned["steps_per_epoch"] == 5 and planned["distribution"]["replicas"] == 1
    assert planned["accelerators"] == {"gpus": [], "auto_precision": planned["config"]["precision"]}
    assert sorted(tmp_path.rglob("*")) == before  # no run directory, no cache entry


def test_models_model_shows_one_models_defaults_and_layers():
    result = runner.invoke(app, ["models", "dcgan", "--json"])
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert shown["defaults"]["dropout"] == 0.3
    generator = shown["networks"]["generator"]
    assert sum(layer["params"] for layer in generator) == registry.get("dcgan").params["generator"][0]
    assert generator[-1]["output"] == "(None, 64, 64, 1)"



def train_options() -> set[str]:
    """Every option name of `facegan train`."""
    train = typer.main.get_command(app).commands["train"]
    return {name.split("/")[0] for param in train.params for name in param.opts}


def test_models_model_lists_only_the_settings_the_model_takes():
    result = runner.invoke(app, ["models", "fastgan", "--json"])
    assert result.exit_code == 0, result.output
    shown = set(json.loads(result.stdout)["defaults"])
    assert shown == {*registry.get("fastgan").settings, *COMMON_SETTINGS}
    assert not shown & {"kl_weight", "gp_weight", "aegan_loss", "slope_scale", "critic_steps", "alternate"}


@pytest.mark.parametrize("name", registry.names())
def test_every_setting_of_a_model_is_an_option_of_train(name):
    assert {option_name(setting) for setting in (*registry.get(name).settings, *COMMON_SETTINGS)} <= train_options()


def test_every_config_field_is_taken_by_every_model_or_named_by_models_or_set_by_facegan():
    own = {setting for name in registry.names() for setting in registry.get(name).settings}
    fields = {field.name for field in dataclasses.fields(TrainConfig)}
    assert fields == own | set(COMMON_SETTINGS) | set(RECORDED) and not own & set(COMMON_SETTINGS)


def test_a_setting_the_model_does_not_take_is_refused_in_one_line_naming_its_settings(tmp_path):
    result = runner.invoke(app, ["train", "vae", "--gan-loss", "hinge", "--out", str(tmp_path / "run")])
    assert result.exit_code == 2 and len(result.stderr.strip().splitlines()) == 1, result.output
    assert "vae does not take --gan-loss" in result.stderr and "--kl-weight" in result.stderr
    assert not (tmp_path / "run").exists()


def test_the_model_table_has_a_column_for_every_network():
    result = runner.invoke(app, ["models"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "decoder" in result.stdout and f"{registry.get('fastgan').params['decoder'][0]:,}" in result.stdout


def test_models_json_lists_every_model():
    result = runner.invoke(app, ["models", "--json"])
    assert result.exit_code == 0, result.output
    listed = json.loads(result.stdout)
    assert [m["model"] for m in listed] == registry.names()
    dcgan = listed[registry.names().index("dcgan")]
    assert dcgan["params"]["generator"]["total"] == registry.get("dcgan").params["generator"][0]
    assert (dcgan["image_size"], dcgan["channels"]) == (64, 1)
    assert [m["model"] for m in listed if m["start_here"]] == ["fastgan"]


def test_the_model_table_says_which_model_to_start_with():
    result = runner.invoke(app, ["models"], env={"COLUMNS": "200"})
    assert "fastgan (start here)" in result.stdout and result.stdout.count("(start here)") == 1
    assert "Start with fastgan" in result.stdout

def test_the_readmes_first_command_trains_long_enough_to_learn(tmp_path):
    """The quick start's command, as the README writes it, makes at least 300 steps (fastgan's 360 give faces;
    the 5 steps of an earlier first command gave gray tiles)."""
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    first = next(line for line in readme.splitlines() if line.startswith("pip install -e . && facegan train "))
    args = first.split("facegan train ", 1)[1].split()
    result = train(*args, "--dry-run")
    assert result.exit_code == 0, result.output
    planned = json.loads(result.stdout)
    assert planned["steps_per_epoch"] * planned["config"]["epochs"] >= 300
