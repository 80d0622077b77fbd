"""The shape of the code that the README promises: data flows one way, and only the command layer talks to a
terminal."""

import ast
import subprocess
import sys
from pathlib import Path

import facegan

PACKAGE = Path(facegan.__file__).parent


def modules_loaded_by(statement: str) -> set[str]:
    """The modules that `statement` imports, in a fresh interpreter."""
    code = f"import sys; {statement}; print('\\n'.join(sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return set(result.stdout.split())


def test_the_training_loop_imports_nothing_from_analysis():
    loaded = modules_loaded_by("import facegan.train")
    assert "facegan.train" in loaded and "facegan.metrics.swd" in loaded
    assert sorted(name for name in loaded if name.startswith("facegan.analysis")) == []


def imported_packages(path: Path) -> set[str]:
    """The top-level packages a source file imports (Keras imports Rich itself, so sys.modules cannot tell)."""
    tree = ast.parse(path.read_text())
    names = [alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names]
    names += [node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module]
    return {name.split(".")[0] for name in names}


def test_library_code_imports_neither_typer_nor_rich():
    library = [path for path in PACKAGE.rglob("*.py")
               if path.name not in ("cli.py", "__main__.py") and "commands" not in path.relative_to(PACKAGE).parts]
    assert {"train.py", "checkpoints.py", "compare.py", "runlog.py"} <= {path.name for path in library}
    offenders = {path.name: imported_packages(path) & {"typer", "rich"} for path in library}
    assert {name: found for name, found in offenders.items() if found} == {}
    assert "rich" in imported_packages(PACKAGE / "commands" / "train.py")  # the check can see an import


def test_measuring_and_comparing_start_no_tensorflow():
    loaded = modules_loaded_by("import facegan.metrics.blur, facegan.metrics.swd, facegan.analysis.compare, "
                               "facegan.analysis.blur, facegan.runlog, facegan.config")
    assert "tensorflow" not in loaded and "keras" not in loaded
