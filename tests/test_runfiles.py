"""A run directory read as untrusted input: config.json, summary.json, the analysis commands' JSON files and the
CSV logs damaged (cut off, garbled, of the wrong types, keys missing), by hand and by Hypothesis, through every
command that reads a run. Each damage is one red line naming the file and what is wrong, exit code 2, or, where a
command can go on without the file (compare, eval's stored copy rate), one warning and the rest of its output:
never a traceback. The fuzzing runs every command that reads a run: sample, eval, compare, nearest, blur, walk,
arithmetic, export and train --resume."""

import json
import shutil

import numpy as np
import pytest
from helpers import TINY, working_in, write_faces
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from facegan.cli import app
from facegan.errors import FaceganWarning

runner = CliRunner()


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A finished dcgan run, evaluated during training, with eval.json, blur.json, nearest.json and a
    samples.npz of its own; and its data."""
    with working_in(tmp_path_factory.mktemp("finished")) as root:
        data = write_faces(root / "faces.npz")
        for args in (["train", "dcgan", "--data", str(data), "--epochs", "2", "--eval-every", "1", "--out", "run",
                      *TINY], ["eval", "run", "-n", "16", "--metric", "swd"], ["blur", "run"],
                     ["nearest", "run", "-n", "2"], ["sample", "run", "-n", "2", "--out", "run/samples/kept"]):
            result = runner.invoke(app, args)
            assert result.exit_code == 0, (args, result.output)
    return root / "run"


def damaged_copy(finished, tmp_path, name: str, content) -> str:
    """A copy of the finished run with `name` replaced by `content` (text or bytes); its path."""
    run = tmp_path / "damaged"
    for folder in (run, *(tmp_path / out for out in "sfwae")):  # the run, and what the fuzzed commands wrote
        shutil.rmtree(folder, ignore_errors=True)
    shutil.copytree(finished, run)
    (run / name).write_bytes(content.encode() if isinstance(content, str) else content)
    return str(run)


def edited_config(finished, edit) -> str:
    record = json.loads((finished / "config.json").read_text())
    edit(record)
    return json.dumps(record)


def refused(args: list[str]) -> str:
    """The one line a command refused with (exit code 2, no traceback)."""
    result = runner.invoke(app, args)
    assert result.exit_code == 2, (args, result.output)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), (args, result.stderr)
    return lines[0]


def half(path) -> str:
    text = path.read_text()
    return text[: len(text) // 2]


@pytest.mark.parametrize("damage,commands,said", [
    ("cut", [["sample", "RUN"], ["eval", "RUN", "-n", "8"], ["train", "--resume", "RUN"]],
     "RUN/config.json is damaged: not JSON: "),
    ("{}", [["eval", "RUN", "-n", "8"], ["sample", "RUN"], ["nearest", "RUN"], ["blur", "RUN", "--generate", "4"]],
     'RUN/config.json is damaged: no "config" object'),
    ("eight", [["sample", "RUN"], ["train", "--resume", "RUN"], ["nearest", "RUN"]],
     'RUN/config.json is damaged: latent_dim is "eight", not a whole number'),
    ("size", [["sample", "RUN"], ["eval", "RUN", "-n", "8"]],
     "RUN/config.json is damaged: --image-size 17 does not fit dcgan"),
    ("unknown", [["sample", "RUN"]], "RUN/config.json is damaged: facegan has no setting colour"),
    ("no model", [["sample", "RUN"], ["eval", "RUN", "-n", "8"]], "RUN/config.json is damaged: no model in its config"),
])
def test_a_damaged_config_json_is_one_line_naming_it_in_every_command(finished, tmp_path, damage, commands, said):
    content = {"cut": half(finished / "config.json"), "{}": "{}",
               "eight": edited_config(finished, lambda r: r["config"].update(latent_dim="eight")),
               "size": edited_config(finished, lambda r: r["config"].update(image_size=17)),
               "unknown": edited_config(finished, lambda r: r["config"].update(colour=1)),
               "no model": edited_config(finished, lambda r: r["config"].pop("model"))}[damage]
    run = damaged_copy(finished, tmp_path, "config.json", content)
    for command in commands:
        assert refused([arg.replace("RUN", run) for arg in command]).startswith(f"error: {said.replace('RUN', run)}")


def test_the_same_command_on_a_damaged_run_is_one_line_too(finished, tmp_path):
    run = damaged_copy(finished, tmp_path, "config.json", "[1, 2]")
    line = refused(["train", "dcgan", "--data", "faces.npz", "--out", run])
    assert line == f"error: {run}/config.json is damaged: a JSON list, not an object"


def test_compare_leaves_out_a_damaged_summary_says_so_and_shows_the_other_runs(finished, tmp_path):
    run = damaged_copy(finished, tmp_path, "summary.json", half(finished / "summary.json"))
    with pytest.warns(FaceganWarning, match=r"summary.json is damaged: not JSON: .+; its figures are left out"):
        result = runner.invoke(app, ["compare", run, str(finished), "--format", "json"])
    assert result.exit_code == 0, result.output
    runs = json.loads(result.stdout)["runs"]
    assert runs[str(finished)]["g_loss"] is not None and runs[run]["g_loss"] is None
    assert runs[run]["model"] == "dcgan"  # from its config.json
    with pytest.warns(FaceganWarning, match=r'params is "many", not an object'):
        damaged_copy(finished, tmp_path, "summary.json",
                     json.dumps({**json.loads((finished / "summary.json").read_text()), "params": "many"}))
        assert runner.invoke(app, ["compare", run, str(finished)]).exit_code == 0


def test_eval_goes_on_without_a_damaged_copy_rate(finished, tmp_path):
    run = damaged_copy(finished, tmp_path, "nearest.json", '{"copy_rate": "high"}')
    with pytest.warns(FaceganWarning, match='nearest.json is damaged: copy_rate is "high", not a number; eval goes on'):
        result = runner.invoke(app, ["eval", run, "-n", "8", "--metric", "swd", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["copy_rate"] is None


@pytest.mark.parametrize("log,row,column,value", [("metrics.csv", "1,x,0.5", "step", "x"),
                                                   ("epochs.csv", "one,0.5", "epoch", "one")])
def test_a_log_row_that_facegan_cannot_have_written_is_one_line_before_resume_writes(finished, tmp_path, log, row,
                                                                                    column, value):
    lines = (finished / log).read_text().splitlines()
    cells = lines[1].split(",")
    cells[:len(row.split(","))] = row.split(",")
    run = damaged_copy(finished, tmp_path, log, "\n".join([lines[0], ",".join(cells), *lines[2:]]) + "\n")
    before = (tmp_path / "damaged" / log).read_bytes()
    assert refused(["train", "--resume", run, "--epochs", "3"]) == \
        f"error: {run}/{log} is damaged: row 1's {column} is {value!r}, not a whole number"
    assert (tmp_path / "damaged" / log).read_bytes() == before


def test_compare_plot_leaves_out_a_run_with_a_damaged_epochs_csv_and_draws_the_others(finished, tmp_path):
    run = damaged_copy(finished, tmp_path, "epochs.csv", "epoch,g_loss\nx,0.5\n")
    with pytest.warns(FaceganWarning, match="epochs.csv is damaged: .+; damaged is left out of the plot"):
        result = runner.invoke(app, ["compare", run, str(finished), "--plot", "g_loss", "--out", "plot.png"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "plot.png").stat().st_size > 0


def test_a_log_that_is_not_text_is_one_line(finished, tmp_path):
    run = damaged_copy(finished, tmp_path, "epochs.csv", b"epoch,g_loss\n1,\xff\xfe\n")
    assert refused(["train", "--resume", run]) == f"error: {run}/epochs.csv is damaged: not UTF-8 text (byte 15)"


def test_an_empty_folder_is_one_line_as_every_commands_image_source(finished, tmp_path):
    (tmp_path / "empty").mkdir()
    np.save(tmp_path / "other.npy", np.zeros((4, 16, 16), np.uint8))
    run = str(finished)
    for command in (["eval", "empty", "other.npy"], ["eval", "other.npy", "empty"], ["eval", run, "--data", "empty"],
                    ["nearest", run, "--data", "empty"], ["blur", "empty"], ["dataset", "empty", "x.npy"],
                    ["train", "dcgan", "--data", "empty"], ["arithmetic", run, "--plus", "empty"],
                    ["project", run, "empty"]):
        assert refused(command)


# --- fuzzing ------------------------------------------------------------------------------------------------------

FILES = ["config.json", "summary.json", "eval.json", "nearest.json", "blur.json", "metrics.csv", "epochs.csv",
         "evals.csv", "checkpoints/checkpoint", "samples/kept/samples.npz"]
json_values = st.recursive(st.none() | st.booleans() | st.integers(-3, 2 ** 40) | st.floats() | st.text(max_size=5),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                                        max_size=3), max_leaves=6)


@st.composite
def damages(draw, finished):
    """(file, its damaged bytes): cut off, bytes flipped, or, for a JSON file, a key's value replaced by any
    JSON value or the key removed (at the top or one level down)."""
    name = draw(st.sampled_from(FILES))
    data = bytearray((finished / name).read_bytes())
    kind = draw(st.sampled_from(["cut", "flip", "value", "remove"] if name.endswith(".json") else ["cut", "flip"]))
    if kind == "cut":
        return name, bytes(data[: draw(st.integers(0, len(data) - 1))])
    if kind == "flip":
        for index in draw(st.lists(st.integers(0, len(data) - 1), min_size=1, max_size=4)):
            data[index] = draw(st.integers(0, 255))
        return name, bytes(data)
    record = json.loads(data)
    target = record
    inner = [key for key, value in record.items() if isinstance(value, dict) and value]
    if inner and draw(st.booleans()):
        target = record[draw(st.sampled_from(inner))]
    key = draw(st.sampled_from(sorted(target)))
    if kind == "value":
        target[key] = draw(json_values)
    else:
        del target[key]
    return name, json.dumps(record).encode()


READERS = [["sample", "RUN", "-n", "2", "--out", "s"], ["sample", "RUN", "--from", "RUN/samples/kept/samples.npz",
                                                         "--out", "f"],
           ["eval", "RUN", "-n", "8", "--metric", "swd"], ["compare", "RUN"], ["nearest", "RUN", "-n", "2"],
           ["blur", "RUN"], ["walk", "RUN", "--seeds", "1,2", "--steps", "2", "--out", "w"],
           ["arithmetic", "RUN", "--plus", "RUN/samples/kept/samples.npz:0", "--out", "a"],
           ["export", "RUN", "--out", "e"], ["train", "--resume", "RUN", "--epochs", "3"]]


@pytest.mark.slow
def test_any_damage_to_any_file_of_a_run_is_a_result_a_warning_or_one_line_in_every_command(finished, tmp_path):
    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
    @given(damage=damages(finished))
    def property(damage):
        name, content = damage
        run = damaged_copy(finished, tmp_path, name, content)
        for command in READERS:
            result = runner.invoke(app, [arg.replace("RUN", run) for arg in command])
            assert isinstance(result.exception, (SystemExit, type(None))), (name, command, result.output)
            assert result.exit_code in (0, 2), (name, command, result.output)
            if result.exit_code == 2:
                lines = result.stderr.strip().splitlines()
                assert lines[-1].startswith("error: ") and "Traceback" not in result.stderr, (name, command, lines)

    property()
