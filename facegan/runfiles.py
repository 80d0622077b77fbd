"""A run directory's files read back as untrusted input: people edit config.json, copy runs between machines, and
disks fail. One reader per kind of file checks its structure and types against what facegan writes; a damaged file
is a `DamagedFile`, one line that names the file and what is wrong (the CLI prints it in red, exit code 2).

    config.json                       read_record, check_settings: an object whose "config" has each setting of
                                      its type (TrainConfig checks the values), and whose "data" is an object
    summary.json                      read_summary: text, numbers and the objects facegan writes
    eval.json, nearest.json, ...      read_figures: an object; `copy_rate` a number or null
    metrics.csv, epochs.csv, ...      read_table: UTF-8 text whose epoch and step cells are whole numbers

The checkpoint list is rebuilt from the checkpoints on disk when it is damaged (facegan.checkpoints), and
samples.npz and projected.npz have their reader in facegan.analysis.images.
"""

from __future__ import annotations

import csv
import io
import json
import re
import warnings
from pathlib import Path

from facegan import rundir
from facegan.errors import FaceganError, FaceganWarning


class DamagedFile(FaceganError):
    """A file of a run directory that facegan cannot have written as it is."""

    def __init__(self, path: Path, what: str):
        super().__init__(f"{path} is damaged: {what}")
        self.path = Path(path)


# the settings facegan has written to every config.json since its first version (the others have defaults that
# a run written before them was trained with: facegan.config.upgraded)
REQUIRED_SETTINGS = ("model", "data", "epochs", "batch_size", "image_size", "channels", "latent_dim", "seed")
# a TrainConfig annotation's types, and what they are called in a message
TYPES = {"int": (int,), "float": (int, float), "str": (str,), "bool": (bool,)}
WORDS = {"int": "a whole number", "float": "a number", "str": "text", "bool": "true or false", "None": "null"}
SUMMARY_TEXT = ("model", "status", "reason", "eval_metric", "precision")  # summary.json's text; the rest is figures
SUMMARY_OBJECTS = {"params": {"trainable": "int", "non_trainable": "int"},
                   "distribution": {"replicas": "int", "workers": "int"}, "eval_settings": {}}  # annotations
FIGURE = "float | None"  # a figure: a number, or null where it was never computed
WHOLE_COLUMNS = ("epoch", "step")  # the CSV logs' columns of whole numbers
KEY_COLUMNS = {rundir.METRICS: ("epoch", "step"), rundir.EPOCHS: ("epoch",), rundir.EVALS: ("step",),
               rundir.HEALTH: ("epoch", "step")}  # what each log's rows are found by


def read_json_object(path: Path) -> dict:
    """A JSON file that must hold an object."""
    try:
        value = json.loads(Path(path).read_bytes().decode("utf-8"))
    except UnicodeDecodeError:
        raise DamagedFile(path, "not UTF-8 text") from None
    except json.JSONDecodeError as error:
        raise DamagedFile(path, f"not JSON: {error.msg} (line {error.lineno}, column {error.colno})") from None
    if not isinstance(value, dict):
        raise DamagedFile(path, f"a JSON {type(value).__name__}, not an object")
    return value


def read_record(path: Path) -> dict:
    """config.json: {"config": {setting: value}, "data": {...}, ...} with the settings facegan always writes and the
    model's name as text (`check_settings` checks the others' types once older layouts are upgraded)."""
    record = read_json_object(path)
    config = record.get("config")
    if not isinstance(config, dict):
        raise DamagedFile(path, 'no "config" object')
    missing = [name for name in REQUIRED_SETTINGS if name not in config]
    if missing:
        raise DamagedFile(path, f"no {', '.join(missing)} in its config")
    if not isinstance(config["model"], str):
        raise DamagedFile(path, f"model is {json.dumps(config['model'])}, not text")
    if not isinstance(record.setdefault("data", {}), dict):  # what the data gave, where it was written
        raise DamagedFile(path, '"data" is not an object')
    return record


def check_settings(path: Path, settings: dict, annotations: dict[str, str]) -> None:
    """Each setting of the type its TrainConfig annotation names ("int", "float | None", ...), and no other."""
    unknown = sorted(set(settings) - set(annotations))
    if unknown:
        raise DamagedFile(path, f"facegan has no setting {', '.join(unknown)}")
    for name, value in settings.items():
        if not of_type(value, annotations[name]):
            wanted = " or ".join(WORDS[kind.strip()] for kind in annotations[name].split("|"))
            raise DamagedFile(path, f"{name} is {json.dumps(value)}, not {wanted}")


def of_type(value, annotation: str) -> bool:
    """Whether a JSON value fits a TrainConfig annotation such as "float | None" (a bool is no number)."""
    names = [name.strip() for name in annotation.split("|")]
    if value is None:
        return "None" in names
    return not (isinstance(value, bool) and "bool" not in names) and \
        any(isinstance(value, TYPES[name]) for name in names if name in TYPES)


def read_summary(path: Path) -> dict:
    """summary.json: text where facegan writes text, the objects it writes, and figures (numbers or null)."""
    summary = read_json_object(path)
    for key, value in summary.items():
        if key in SUMMARY_OBJECTS:
            if not isinstance(value, dict):
                raise DamagedFile(path, f"{key} is {json.dumps(value)}, not an object")
            for inner, kind in SUMMARY_OBJECTS[key].items():
                if inner in value and not of_type(value[inner], kind):
                    raise DamagedFile(path, f"{key}.{inner} is {json.dumps(value[inner])}, not {WORDS[kind]}")
        elif key in SUMMARY_TEXT:
            if not (value is None or isinstance(value, str)):
                raise DamagedFile(path, f"{key} is {json.dumps(value)}, not text")
        elif not of_type(value, FIGURE):
            raise DamagedFile(path, f"{key} is {json.dumps(value)}, not a number")
    return summary


def read_figures(path: Path) -> dict:
    """What an analysis command stored (eval.json, blur.json, nearest.json, ...): an object, whose copy rate,
    where it has one, is a number or null."""
    figures = read_json_object(path)
    if not of_type(figures.get("copy_rate"), FIGURE):
        raise DamagedFile(path, f"copy_rate is {json.dumps(figures['copy_rate'])}, not a number")
    return figures


def read_or_warn(path: Path, reader, consequence: str):
    """reader(path), for a command that can go on without the file: None where there is none, or where it is
    damaged, which a warning says, with the `consequence` ("its figures are left out")."""
    if not Path(path).is_file():
        return None
    try:
        return reader(path)
    except DamagedFile as error:
        warnings.warn(f"{error}; {consequence}", FaceganWarning, stacklevel=3)
        return None


def read_table(path: Path) -> tuple[list[str], list[dict]]:
    """(header, complete rows as {column: text}) of a CSV log; a last line cut short by a crash is left out.
    A file that is not UTF-8 text, a header without the columns its rows are found by, or a row whose epoch or
    step is not a whole number, is damaged."""
    if not path.exists():
        return [], []
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as error:
        raise DamagedFile(path, f"not UTF-8 text (byte {error.start})") from None
    text = text[:text.rfind("\n") + 1]  # up to the end of the last complete line
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, [])
    missing = [column for column in KEY_COLUMNS.get(path.name, ()) if header and column not in header]
    if missing:
        raise DamagedFile(path, f"its header {','.join(header)[:60]!r} has no {' and no '.join(missing)} column")
    rows = [dict(zip(header, row)) for row in reader if len(row) == len(header)]
    for number, row in enumerate(rows, 1):
        for column in WHOLE_COLUMNS:
            if column in row and not re.fullmatch(r"\d+", row[column]):
                raise DamagedFile(path, f"row {number}'s {column} is {row[column]!r}, not a whole number")
    return header, rows
