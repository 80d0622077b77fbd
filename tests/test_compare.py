"""`facegan compare` over two runs in every format; missing figures are dashes, never 0."""

import csv
import io
import json
import shutil
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from facegan.cli import app

runner = CliRunner()


@pytest.fixture
def two_runs(trained_runs, tmp_path):
    runs = tmp_path / "runs"
    runs.mkdir()
    a = shutil.copytree(trained_runs["dcgan"], runs / "001-dcgan")
    b = shutil.copytree(trained_runs["aegan-v5"], runs / "002-aegan-v5")
    assert runner.invoke(app, ["blur", str(b), "--training-data"]).exit_code == 0  # only b has blur figures
    (b / "nearest.json").write_text(json.dumps({"copy_rate": 0.25, "distance": "l1", "held_out": 4}))
    return a, b


def test_json_has_every_figure_and_null_for_the_missing(two_runs):
    a, b = two_runs
    result = runner.invoke(app, ["compare", "--format", "json"])  # default: every run under ./runs
    assert result.exit_code == 0, result.output
    columns = json.loads(result.stdout)["runs"]
    summary = json.loads((a / "summary.json").read_text())
    assert columns[str(a.relative_to(a.parent.parent))]["g_loss"] == summary["g_loss"]
    run_a, run_b = columns.values()
    assert run_a["blur"] is None and run_a["copy_rate"] is None and run_a["ae_loss"] is None
    assert run_b["blur"] > 0 and run_b["blur_dataset_raw"] > 0 and run_b["copy_rate"] == 0.25
    assert run_b["model"] == "aegan-v5" and run_b["latent_dim"] == 8 and run_b["epochs"] == 2
    assert "nearest.held_out" in run_b and "nearest.distance" not in run_b  # numbers only


def test_markdown_is_a_valid_github_table_with_dashes(two_runs):
    a, b = two_runs
    result = runner.invoke(app, ["compare", str(a), str(b), "--format", "markdown"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    widths = {line.count(" | ") for line in lines if not line.startswith("| ---")}
    assert len(widths) == 1 and lines[1] == "| --- | --- | --- |"
    assert all(line.startswith("| ") and line.endswith(" |") for line in lines)
    blur_row = next(line for line in lines if line.startswith("| blur factor |"))
    assert blur_row.split(" | ")[1] == "-" and blur_row.split(" | ")[2] != "-"
    assert "| complexity (trainable / non-trainable) |" in result.stdout


def test_csv_transposed_and_sorted_loads_with_the_standard_library(two_runs):
    a, b = two_runs
    result = runner.invoke(app, ["compare", str(a), str(b), "--format", "csv", "--transpose", "--sort", "g_loss"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) == 2
    losses = [float(row["generator loss"]) for row in rows]
    assert losses == sorted(losses)
    assert {row["blur factor"] for row in rows} - {"-"} and "-" in {row["blur factor"] for row in rows}


def test_table_names_every_run(two_runs):
    a, b = two_runs
    result = runner.invoke(app, ["compare", str(a), str(b)], env={"COLUMNS": "200"})
    assert result.exit_code == 0 and a.name in result.stdout and "latent space nodes" in result.stdout


@pytest.mark.parametrize("args,message", [
    ([], "no run to compare"), (["nowhere"], "not a facegan run directory"),
])
def test_compare_errors(args, message):
    result = runner.invoke(app, ["compare", *args])
    assert result.exit_code == 2 and message in result.stderr


def test_unknown_sort_figure(two_runs):
    result = runner.invoke(app, ["compare", "--sort", "beauty"])
    assert result.exit_code == 2 and "cannot sort by 'beauty'" in result.stderr


def test_compare_does_not_import_tensorflow(two_runs):
    code = ("import sys; from typer.testing import CliRunner; from facegan.cli import app; "
            "r = CliRunner().invoke(app, ['compare', '--format', 'csv']); assert r.exit_code == 0, r.output; "
            "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
