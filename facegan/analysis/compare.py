"""The metrics table of the original experiments, over run directories. Reads files only.

Rows: the original table (blur factor with the data's alongside, discriminator losses and
accuracies, generator loss, complexity, latent size), then model, epochs, images/s, wall time,
the evaluations during training, and every number that an analysis command stored in the run as
`<command>.json` (eval.swd, ...). A figure never computed is None (shown as "-"), never 0.
SWD figures are comparable only when computed with the same settings (images, projections,
seed, data, ...); `not_comparable` names the figures whose settings differ between the runs.
"""

from __future__ import annotations

from pathlib import Path

from facegan import rundir, runfiles
from facegan.config import EVAL_METRICS
from facegan.errors import FaceganError

# key -> label, in the order of the original metrics table
ROWS = {
    "blur": "blur factor", "blur_dataset_raw": "blur factor, dataset raw",
    "d_loss_real": "discriminator loss real", "d_loss_fake": "discriminator loss fake",
    "d_acc_real": "discriminator accuracy real", "d_acc_fake": "discriminator accuracy fake",
    "g_loss": "generator loss", "ae_loss": "autoencoder loss",
    "complexity": "complexity (trainable / non-trainable)", "latent_dim": "latent space nodes",
    "model": "model", "epochs": "epochs", "images_per_s": "images/s", "wall_s": "wall time (s)",
    "strategy": "strategy", "replicas": "replicas", "workers": "workers",
    "copy_rate": "nearest-neighbour copy rate",
    "status": "status", "swd": "SWD x1e3 (last evaluation)", "best_swd": "SWD x1e3, best",
    "best_epoch": "best epoch", "swd_real": "SWD x1e3, real vs real", "eval_metric": "judged by",
    "fid": "FID (last evaluation)", "best_fid": "FID, best", "fid_real": "FID, real vs real",
    "kid": "KID (last evaluation)", "best_kid": "KID, best", "kid_real": "KID, real vs real",
}
# the figures of the evaluations during training: the last, the best and the noise floor of each metric
EVALUATED = {f"{kind}{name}{real}" for name in EVAL_METRICS for kind, real in (("", ""), ("best_", ""), ("", "_real"))}
OWN_FILES = {rundir.CONFIG, rundir.SUMMARY, rundir.BLUR}
TABLE_FIGURES = {rundir.NEAREST: {"copy_rate"}}  # figures of other files that fill a row of the table
# the figures of each settings block: (file, key of its settings, does a figure key belong to it)
SETTINGS = [(rundir.SUMMARY, "eval_settings", lambda key: key in EVALUATED),
            (rundir.EVAL, "settings", lambda key: key.startswith("eval."))]


def _read(path: Path) -> dict:
    """A JSON file of a run by its reader ({} where there is none); a damaged one is said in a warning and its
    figures are left out, so that one damaged run among many leaves the others' table."""
    reader = {rundir.SUMMARY: runfiles.read_summary, rundir.CONFIG: runfiles.read_record}.get(
        path.name, runfiles.read_figures)
    return runfiles.read_or_warn(path, reader, "its figures are left out") or {}


def figures(run: Path) -> dict:
    """Every figure of one run, keyed as in ROWS (plus '<file>.<key>' for other stored figures). How the run
    was distributed comes from its last process (summary.json), else from its start (config.json)."""
    summary, blur, config = _read(run / rundir.SUMMARY), _read(run / rundir.BLUR), _read(run / rundir.CONFIG)
    params = summary.get("params")
    distribution = summary.get("distribution") or config.get("distribution") or {}
    row = {key: summary.get(key) for key in ROWS}
    row.update(model=summary.get("model") or config.get("config", {}).get("model"),
               blur=blur.get("blur"), blur_dataset_raw=blur.get("dataset_raw"),
               complexity=f"{params['trainable']:,} / {params['non_trainable']:,}" if params else None,
               **{key: distribution.get(key, row[key]) for key in ("strategy", "replicas", "workers")})
    for path in sorted(run.glob("*.json")):
        if path.name in OWN_FILES:
            continue
        for key, value in _read(path).items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                row[key if key in TABLE_FIGURES.get(path.name, ()) else f"{path.stem}.{key}"] = value
    return row


def table(runs: list[Path], sort: str | None = None) -> tuple[list[str], dict[str, dict]]:
    """(row keys, {run name: figures}) with runs sorted by the figure `sort` (missing ones last)."""
    columns = {str(run): figures(run) for run in runs}
    keys = list(ROWS) + sorted({k for row in columns.values() for k in row} - set(ROWS))
    if sort is not None:
        if sort not in keys:
            raise FaceganError(f"cannot sort by {sort!r}; metrics: {', '.join(keys)}")
        present = {name: row for name, row in columns.items() if row.get(sort) is not None}
        missing = {name: row for name, row in columns.items() if row.get(sort) is None}
        columns = {**dict(sorted(present.items(), key=lambda item: item[1][sort])), **missing}
    return keys, columns


def not_comparable(runs: list[Path], keys: list[str]) -> dict[str, list[str]]:
    """{figure: the names of the settings that differ} for figures whose runs computed them differently."""
    found = {}
    for file, settings_key, belongs in SETTINGS:
        blocks = [block for run in runs if (block := _read(run / file).get(settings_key))]
        differing = sorted({name for block in blocks for name in block
                            if any(other.get(name) != block.get(name) for other in blocks)})
        if differing:
            found.update({key: differing for key in keys if belongs(key)})
    return found


def label(key: str, marked=()) -> str:
    return ROWS.get(key, key) + (" [not comparable]" if key in marked else "")


def cell(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1e4 else f"{value:,.0f}"
    return str(value)


def cells(keys: list[str], columns: dict[str, dict], transpose: bool, marked=()) -> list[list[str]]:
    """Header + body as strings: one column per run, or with transpose one row per run; the labels of
    `marked` figures say that they are not comparable."""
    if transpose:
        return [["run", *(label(k, marked) for k in keys)]] + [[name, *(cell(row.get(k)) for k in keys)]
                                                              for name, row in columns.items()]
    return [["figure", *columns]] + [[label(k, marked), *(cell(row.get(k)) for row in columns.values())]
                                     for k in keys]


def markdown(rows: list[list[str]]) -> str:
    def line(row: list[str]) -> str:
        return "| " + " | ".join(text.replace("|", "\\|") for text in row) + " |"

    return "\n".join([line(rows[0]), "|" + " --- |" * len(rows[0]), *map(line, rows[1:])])
