"""The shape of the code that docs/layout.md promises: data flows one way, each package keeps to its side of a
boundary, only the command layer talks to a terminal, and modules and functions stay short."""

import ast
import subprocess
import sys
from pathlib import Path

import facegan

PACKAGE = Path(facegan.__file__).parent
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60  # a command's Typer option signature is not counted, only its body
LONG_BY_DESIGN = {"training/loop.py:fit": 110}  # the loop, read top to bottom in one function, phase by phase


def modules_loaded_by(statement: str) -> set[str]:
    """The modules that `statement` imports, in a fresh interpreter."""
    code = f"import sys; {statement}; print('\\n'.join(sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return set(result.stdout.split())


def imported_modules(path: Path) -> set[str]:
    """The modules a source file imports, by their full names (Keras imports Rich itself, so sys.modules
    cannot tell what a file imports)."""
    tree = ast.parse(path.read_text())
    names = [alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names]
    names += [node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module]
    return set(names)


def imported_packages(path: Path) -> set[str]:
    return {name.split(".")[0] for name in imported_modules(path)}


def test_training_imports_nothing_from_analysis_or_the_commands():
    loaded = modules_loaded_by("import facegan.training")
    assert "facegan.training.loop" in loaded and "facegan.metrics.swd" in loaded
    assert sorted(name for name in loaded if name.startswith(("facegan.analysis", "facegan.commands"))) == []
    sources = sorted((PACKAGE / "training").glob("*.py"))
    assert len(sources) >= 6
    for path in sources:
        assert {name for name in imported_modules(path)
                if name.startswith(("facegan.analysis", "facegan.commands"))} == set(), path.name


def test_the_data_package_needs_tensorflow_only_in_its_pipeline():
    loaded = modules_loaded_by("import facegan.data, facegan.data.cache, facegan.data.celeba, facegan.data.sources; "
                               "facegan.data.survey('lfw', 32, 1)")
    assert "facegan.data.cache" in loaded and "tensorflow" not in loaded and "keras" not in loaded
    users = {path.name for path in (PACKAGE / "data").glob("*.py") if "tensorflow" in imported_packages(path)}
    assert users == {"pipeline.py"}


def test_library_code_imports_neither_typer_nor_rich():
    library = [path for path in PACKAGE.rglob("*.py")
               if path.name not in ("cli.py", "__main__.py") and "commands" not in path.relative_to(PACKAGE).parts]
    assert {"loop.py", "checkpoints.py", "compare.py", "runlog.py"} <= {path.name for path in library}
    offenders = {path.name: imported_packages(path) & {"typer", "rich"} for path in library}
    assert {name: found for name, found in offenders.items() if found} == {}
    assert "rich" in imported_packages(PACKAGE / "commands" / "train.py")  # the check can see an import


def test_measuring_and_comparing_start_no_tensorflow():
    loaded = modules_loaded_by("import facegan.metrics.blur, facegan.metrics.swd, facegan.analysis.compare, "
                               "facegan.analysis.blur, facegan.runlog, facegan.config")
    assert "tensorflow" not in loaded and "keras" not in loaded


def test_importing_the_commands_changes_no_global_state():
    """The warning hook is installed by the CLI's callback, when a command runs, not by an import."""
    code = ("import warnings; before = warnings.formatwarning; import facegan.cli; "
            "assert warnings.formatwarning is before; "
            "from typer.testing import CliRunner; CliRunner().invoke(facegan.cli.app, ['models']); "
            "from facegan.commands import format_warning; assert warnings.formatwarning is format_warning")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def function_lengths(path: Path):
    """(name, lines) of every function in a module: from `def` to its end, or for a command (whose Typer option
    signature may be long) from its body's first line."""
    command = "commands" in path.relative_to(PACKAGE).parts
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            start = node.body[0].lineno if command else node.lineno
            yield node.name, node.end_lineno - start + 1


def test_modules_and_functions_stay_short():
    sources = sorted(PACKAGE.rglob("*.py"))
    lines = {str(p.relative_to(PACKAGE)): len(p.read_text().splitlines()) for p in sources}
    long_modules = {name: n for name, n in lines.items() if n > MAX_MODULE_LINES}
    assert long_modules == {}
    long_functions = {f"{p.relative_to(PACKAGE)}:{name}": lines for p in sources
                      for name, lines in function_lengths(p)
                      if lines > LONG_BY_DESIGN.get(f"{p.relative_to(PACKAGE)}:{name}", MAX_FUNCTION_LINES)}
    assert long_functions == {}
