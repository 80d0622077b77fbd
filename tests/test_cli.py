"""`facegan` as a user starts it: start-up, the model list, and the refusal of an unknown model."""

import subprocess
import sys

from typer.testing import CliRunner

from facegan import registry
from facegan.cli import app

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


def test_unknown_model_is_refused_by_the_cli():
    result = train("stylegan9")
    assert result.exit_code == 2 and "stylegan9" in result.output
