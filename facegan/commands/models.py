"""`facegan models [MODEL]`: the registry as a table, or one model's defaults and layers. The table imports no
TensorFlow; one model's layers are built to be shown."""

from __future__ import annotations

import json
from typing import Annotated, Optional

import typer
from rich import box
from rich.table import Table

from facegan import registry
from facegan.commands import import_tensorflow, out, user_errors


def models(
    model: Annotated[Optional[str], typer.Argument(help="Show this model's defaults and layers.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="As JSON.")] = False,
):
    """List every registered model with its image size, latent size and parameter counts; or, given MODEL,
    its default settings and the layers of its networks.

    Examples:
      facegan models
      facegan models dcgan
      facegan models --json
      facegan models aegan-v5 --json
    """
    if model is None and as_json:
        print(json.dumps([registry_record(name) for name in registry.names()], indent=2))
        return
    if model is None:
        out.print(registry_table())
        return
    with user_errors():
        from facegan.config import COMMON_SETTINGS, TrainConfig, option_name

        spec = registry.get(model)
        cfg = TrainConfig.resolve(model).to_dict()
        import_tensorflow()
        networks = {name: layer_rows(net) for name, net in spec.build_networks(TrainConfig.resolve(model)).items()}
    if as_json:
        print(json.dumps({"model": model, "description": spec.description, "family": spec.family,
                          "defaults": {name: cfg[name] for name in (*spec.settings, *COMMON_SETTINGS)},
                          "networks": networks}, indent=2))
        return
    out.print(f"[bold]{model}[/bold]: {spec.description}")
    for title, names in ((f"{model}'s own", spec.settings), ("every model's", COMMON_SETTINGS)):
        table = Table(box=box.SIMPLE_HEAD, title=f"{title} settings: facegan train OPTION")
        table.add_column("option")
        table.add_column("default")
        for name in names:  # "-": unset, the option's help says what that does
            table.add_row(option_name(name), "-" if cfg[name] in ("", None) else str(cfg[name]))
        out.print(table)
    for name, rows in networks.items():
        table = Table(box=box.SIMPLE_HEAD, title=f"{name}: {sum(r['params'] for r in rows):,} parameters")
        for column in ("layer", "type", "output", "params"):
            table.add_column(column, justify="right" if column == "params" else "left")
        for row in rows:
            table.add_row(row["layer"], row["type"], row["output"], f"{row['params']:,}")
        out.print(table)


def layer_rows(network) -> list[dict]:
    return [{"layer": layer.name, "type": type(layer).__name__,
             "output": str(tuple(getattr(layer, "output", None).shape)) if hasattr(layer, "output") else "",
             "params": int(layer.count_params())} for layer in network.layers]


def registry_table() -> Table:
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, padding=(0, 1), collapse_padding=True,
                  caption=f"Start with {registry.START}: the best faces for the least training. Parameters: total "
                          "(trainable, where fewer); `facegan models MODEL` for one model's defaults and layers")
    table.add_column("model", min_width=20, max_width=20, overflow="fold")
    table.add_column("image", no_wrap=True)
    table.add_column("latent", no_wrap=True, justify="right")
    networks = registry.all_networks()
    for net in networks:
        table.add_column(net, no_wrap=True, justify="right")
    for name in registry.names():
        spec = registry.get(name)
        size, channels = spec.defaults["image_size"], spec.defaults["channels"]
        counts = [format_count(*spec.params[net]) if net in spec.params else "-" for net in networks]
        start = " [green](start here)[/green]" if name == registry.START else ""
        table.add_row(f"[bold]{name}[/bold]{start}\n[dim]{spec.description}[/dim]", f"{size}x{size}x{channels}",
                      str(spec.defaults["latent_dim"]), *counts, end_section=True)
    return table


def registry_record(name: str) -> dict:
    """A model's line of the registry table, as JSON: defaults of its shape, and its networks' parameter counts."""
    spec = registry.get(name)
    return {"model": name, "description": spec.description, "family": spec.family, "start_here": name == registry.START,
            "image_size": spec.defaults["image_size"], "channels": spec.defaults["channels"],
            "latent_dim": spec.defaults["latent_dim"],
            "params": {net: {"total": total, "trainable": trainable}
                       for net, (total, trainable) in spec.params.items()}}


def format_count(total: int, trainable: int) -> str:
    return f"{total:,}" if total == trainable else f"{total:,}\n({trainable:,})"
