"""`facegan models`: the registry as a table. Imports no TensorFlow."""

from __future__ import annotations

from rich import box
from rich.table import Table

from facegan import registry
from facegan.commands import out

NETWORKS = ("generator", "discriminator", "encoder")


def models():
    """List every registered model with its image size, latent size and parameter counts.

    Example: facegan models
    """
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, padding=(0, 1), collapse_padding=True,
                  caption="parameters: total (trainable, where fewer)")
    table.add_column("model", min_width=20, max_width=20, overflow="fold")
    table.add_column("image", no_wrap=True)
    table.add_column("latent", no_wrap=True, justify="right")
    for net in NETWORKS:
        table.add_column(net, no_wrap=True, justify="right")
    for name in registry.names():
        spec = registry.get(name)
        size, channels = spec.defaults["image_size"], spec.defaults["channels"]
        counts = [format_count(*spec.params[net]) if net in spec.params else "-" for net in NETWORKS]
        table.add_row(f"[bold]{name}[/bold]\n[dim]{spec.description}[/dim]", f"{size}x{size}x{channels}",
                      str(spec.defaults["latent_dim"]), *counts, end_section=True)
    out.print(table)


def format_count(total: int, trainable: int) -> str:
    return f"{total:,}" if total == trainable else f"{total:,}\n({trainable:,})"
